import AlveoAgent
import AlveoCore
import AlveoTrace
import ArgumentParser
import Foundation
import NIOHTTP1

/// Where the running agent's control API is, and how to print its answers.
struct ControlOptions: ParsableArguments {
    @Option(name: .long, help: "The agent's control socket (default: the --config file's control.socket, else \(ControlConfig.defaultSocketPath)).")
    var socket: String?

    @Option(name: .long, help: "The agent's configuration, to find its control socket.")
    var config: String?

    @Flag(name: .long, help: "Print the agent's answer as JSON (docs/control-api.md).")
    var json = false

    func socketPath() throws -> String {
        if let socket {
            // sockaddr_un holds 108 bytes with the terminating zero; the agent takes at most 103.
            guard socket.utf8.count < 104 else { throw ValidationError("--socket: at most 103 bytes") }
            return socket
        }
        if let config { return try loadConfig(config).control.socketPath }
        return ControlConfig.defaultSocketPath
    }

    /// Refuses, before anything is sent, a text option the agent would refuse (`--by`, `--source`,
    /// `--id`, …: 1 to 128 bytes, no control characters): exit 65, as for the agent's 422.
    func checkText(_ options: [(name: String, value: String?)]) throws {
        for (name, value) in options {
            guard let value, let problem = ControlServer.textProblem(value) else { continue }
            printError("error: \(name): \(problem)")
            throw ExitCode(.dataError)
        }
    }

    /// Sends the request; exits with the reason when the agent cannot be reached or refuses.
    func send(_ method: HTTPMethod, _ path: String, body: [String: Any]? = nil) async throws -> [String: Any] {
        let payload: [UInt8]?
        do {
            payload = try body.map { Array(try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys])) }
        } catch {
            printError("error: the request cannot be written as JSON: \(error)")
            throw ExitCode(.dataError)
        }
        let reply: ControlClient.Reply
        let socket = try socketPath()
        do {
            reply = try await ControlClient.request(socket: socket, method: method, path: path, json: payload)
        } catch {
            printError("error: \(error)")
            switch error {
            case .notRunning: throw ExitCode(.unavailable)
            case .permissionDenied: throw ExitCode(.noPermission)
            case .failed: throw ExitCode(.unavailable)
            }
        }
        let object = (try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any]) ?? [:]
        guard reply.status == 200 else {
            let reason = object["error"] as? String ?? "HTTP \(reply.status)"
            printError("error: \(reason)")
            switch reply.status {
            case 400, 413, 422: throw ExitCode(.dataError)
            case 409: throw ExitCode(.refused)
            default: throw ExitCode(.unavailable)
            }
        }
        if json { try writeStandardOutput(String(decoding: reply.body, as: UTF8.self)) }
        return object
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what the running agent sees: patient, values, P/F, alarms, devices, outputs.")

    @OptionGroup var control: ControlOptions

    func run() async throws {
        let status = try await control.send(.GET, "/v1/status")
        if control.json { return }
        try writeStandardOutput(StatusText.render(status))
    }
}

struct Ack: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ack",
        abstract: "Acknowledge the alarms of a rule at the running agent (a latched alarm ends; an active one stops re-announcing).")

    @Argument(help: "The rule, e.g. oxygenation.spo2_low.")
    var rule: String

    @Option(name: .long, help: "Only this source's alarm (technical alarms are per source).")
    var source: String?

    @Option(name: .long, help: "Who acknowledges (journaled and sent with the record).")
    var by: String?

    @OptionGroup var control: ControlOptions

    func run() async throws {
        try control.checkText([("--source", source), ("--by", by)])
        var body: [String: Any] = ["rule": rule]
        if let source { body["source"] = source }
        if let by { body["by"] = by }
        let reply = try await control.send(.POST, "/v1/ack", body: body)
        if control.json { return }
        try writeStandardOutput(EntryText.render(reply, done: "acknowledged"))
    }
}

struct Chart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Chart values at the running agent: pao2=62 hb=8.1 hemoptysis=50 position=prone creatinine=2.1.",
        discussion: """
            Values are in Alveo's units (PaO2 mmHg, Hb g/dL, creatinine mg/dL, haemoptysis ml) unless a unit follows \
            the number: pao2=8.2kPa, hb=81g/L, creatinine=180umol/L. --sampled gives when the sample was taken: a \
            clock time today (10:02; yesterday when later than now), a time ago (-25min, -90s, -2h) or an RFC 3339 \
            UTC time. A blood gas of 10:02 uses the FiO2 of 10:02. Samples in the future or older than \
            max_sample_age_s (6 h) are refused.
            """)

    @Argument(help: "PARAMETER=VALUE, e.g. pao2=62.")
    var values: [String]

    @Option(name: .long, parsing: .unconditional, help: "When sampled: 10:02, -25min or 2026-11-29T10:02:00Z (default: now).")
    var sampled: String?

    @Option(name: .long, help: "Who charts (journaled with the entry).")
    var by: String?

    @OptionGroup var control: ControlOptions

    func validate() throws {
        guard !values.isEmpty, values.count <= 32 else { throw ValidationError("give 1 to 32 PARAMETER=VALUE") }
        for value in values where value.split(separator: "=", maxSplits: 1).count != 2 {
            throw ValidationError("'\(Shown.text(value.utf8))' is not PARAMETER=VALUE (e.g. pao2=62)")
        }
        if let sampled, SampleTime.parse(sampled, now: Date()) == nil {
            throw ValidationError("--sampled '\(Shown.text(sampled.utf8))': give 10:02, -25min or 2026-11-29T10:02:00Z")
        }
    }

    func run() async throws {
        try control.checkText([("--by", by)])
        var given: [String: String] = [:]
        for value in values {
            let parts = value.split(separator: "=", maxSplits: 1)
            given[String(parts[0])] = String(parts[1])
        }
        var body: [String: Any] = ["values": given]
        if let sampled, let when = SampleTime.parse(sampled, now: Date()) {
            body["sampled"] = UTCTime.rfc3339(millisecondsSince1970: Int64(saturating: (when.timeIntervalSince1970 * 1000).rounded(.down)))
        }
        if let by { body["by"] = by }
        let reply = try await control.send(.POST, "/v1/chart", body: body)
        if control.json { return }
        try writeStandardOutput(EntryText.render(reply, done: "charted"))
    }
}

struct PatientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patient", abstract: "Set or discharge the patient at the running agent.",
        subcommands: [Set.self, Discharge.self])

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set the patient: with an identifier other than the current one, a new patient (the previous one's alarms end); else the same patient, better known (conditions add up).")

        @Option(name: .long, help: "male or female.") var sex: String?
        @Option(name: .long, help: "Height in cm (for the predicted body weight; adults, 130-250 cm).") var heightCm: Double?
        @Option(name: .long, help: "A predicted body weight entered by hand, kg (20-150), for a patient the ARDSNet formula does not fit.") var pbwKg: Double?
        @Option(name: .long, help: "Conditions, comma separated: diffuse_alveolar_hemorrhage, anca_vasculitis, anti_gbm, sle.") var conditions: String?
        @Option(name: .long, help: "The patient identifier (PID-3 of the messages to the station).") var id: String?
        @Option(name: .long, help: "The identifier's assigning authority.") var idAuthority: String?
        @Option(name: .long, help: "The name, FAMILY^GIVEN.") var name: String?
        @Option(name: .long, help: "Who sets it (journaled).") var by: String?
        @OptionGroup var control: ControlOptions

        func validate() throws {
            if let pbwKg, !(pbwKg.isFinite && Patient.pbwRangeKg.contains(pbwKg)) {
                throw ValidationError("--pbw-kg must be \(Int(Patient.pbwRangeKg.lowerBound))-\(Int(Patient.pbwRangeKg.upperBound))")
            }
            // The adult range is checked by the agent, which knows whether this patient's PBW was entered by hand.
            if let heightCm, let problem = Patient.heightProblem(heightCm, pbwGiven: true) {
                throw ValidationError("--height-cm: \(problem)")
            }
        }

        func run() async throws {
            try control.checkText([("--id", id), ("--id-authority", idAuthority), ("--name", name), ("--by", by)])
            var body: [String: Any] = [:]
            if let sex { body["sex"] = sex }
            if let heightCm { body["height_cm"] = heightCm }
            if let pbwKg { body["pbw_kg"] = pbwKg }
            if let conditions { body["conditions"] = conditions.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            if let id { body["id"] = id }
            if let idAuthority { body["id_authority"] = idAuthority }
            if let name { body["name"] = name }
            if let by { body["by"] = by }
            let reply = try await control.send(.POST, "/v1/patient", body: body)
            if control.json { return }
            try writeStandardOutput(EntryText.render(reply, done: "patient set"))
        }
    }

    struct Discharge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The patient has left the bed: their alarms end and the bed waits for its next patient.")

        @Option(name: .long, help: "Who discharges (journaled).") var by: String?
        @OptionGroup var control: ControlOptions

        func run() async throws {
            try control.checkText([("--by", by)])
            let reply = try await control.send(.POST, "/v1/patient/discharge", body: by.map { ["by": $0] } ?? [:])
            if control.json { return }
            try writeStandardOutput(EntryText.render(reply, done: "discharged"))
        }
    }
}

/// `--sampled`: a clock time today (yesterday when later than now), a time ago, or RFC 3339 UTC.
enum SampleTime {
    static func parse(_ text: String, now: Date) -> Date? {
        guard text.utf8.count <= 40 else { return nil }
        if let milliseconds = UTCTime.parse(rfc3339: text) { return Date(timeIntervalSince1970: Double(milliseconds) / 1000) }
        if text.hasPrefix("-") {
            let body = text.dropFirst()
            let units: [(String, Double)] = [("min", 60), ("m", 60), ("s", 1), ("h", 3600)]
            for (suffix, scale) in units where body.hasSuffix(suffix) {
                guard let amount = Double(body.dropLast(suffix.count)), amount.isFinite, amount >= 0, amount <= 7 * 86_400 else { return nil }
                return now.addingTimeInterval(-amount * scale)
            }
            return nil
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count), let hour = Int(parts[0]), let minute = Int(parts[1]), (0..<24).contains(hour), (0..<60).contains(minute) else { return nil }
        let second = parts.count == 3 ? Int(parts[2]) : 0
        guard let second, (0..<60).contains(second) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone.current
        guard var date = calendar.date(bySettingHour: hour, minute: minute, second: second, of: now) else { return nil }
        if date.timeIntervalSince(now) > 60 { date = date.addingTimeInterval(-86_400) }
        return date
    }
}

/// What `ack`, `chart` and `patient` print for people.
enum EntryText {
    static func render(_ reply: [String: Any], done: String) -> String {
        let events = reply["events"] as? [[String: Any]] ?? []
        var out = "\(done) at t=\(JSONValue.formatted((reply["t"] as? NSNumber)?.doubleValue ?? 0)) s"
        if let sampled = (reply["sampled_t"] as? NSNumber)?.doubleValue { out += " (sampled at t=\(JSONValue.formatted(sampled)) s)" }
        out += events.isEmpty ? "; no alarm changed\n" : "; \(events.count) event(s):\n"
        for event in events {
            out += "  \(event["phase"] ?? "")  \(event["priority"] ?? "")  \(event["rule"] ?? "")  \(TraceListing.escapedLines(event["text"] as? String ?? ""))\n"
        }
        return out
    }
}

/// `alveo status` for people.
enum StatusText {
    static func render(_ status: [String: Any]) -> String {
        func text(_ value: Any?) -> String {
            switch value {
            case let number as NSNumber: JSONValue.formatted(number.doubleValue)
            case let string as String: TraceListing.escapedLines(string)
            case nil, is NSNull: "-"
            default: "\(value!)"
            }
        }
        var out = ""
        let agent = status["agent"] as? [String: Any] ?? [:]
        out += "alveo \(text(agent["version"])), up \(text(agent["uptime_s"])) s (started \(text(agent["started"]))); libmodbus \(text(agent["libmodbus"])), libserialport \(text(agent["libserialport"])), \(text(agent["openssl"]))\n"
        if let recording = agent["recording"] as? String { out += "recording to \(TraceListing.escapedLines(recording))\n" }
        let patient = status["patient"] as? [String: Any] ?? [:]
        let conditions = (patient["conditions"] as? [String] ?? []).joined(separator: ", ")
        out += "patient \(text(patient["id"])) \(text(patient["name"])): \(text(patient["sex"])), \(text(patient["height_cm"])) cm, PBW \(text(patient["pbw_kg"])) kg, 6 ml/kg = \(text(patient["vt_target_ml"])) ml\(conditions.isEmpty ? "" : "; \(conditions)")\n"
        out += "values:\n"
        for value in status["values"] as? [[String: Any]] ?? [] {
            out += "  \(text(value["parameter"])) \(text(value["value"])) \(text(value["unit"])) from \(text(value["source"])), \(text(value["age_s"])) s ago\n"
        }
        if let position = status["position"] as? [String: Any] { out += "position \(text(position["position"])) since t=\(text(position["since_t"])) s\n" }
        if let pf = status["pf"] as? [String: Any] {
            let from = pf["kind"] as? String == "measured" ? "PaO2 \(text(pf["pao2_mmhg"])) mmHg of t=\(text(pf["pao2_t"])) s" : "SpO2 \(text(pf["spo2_pct"])) % (PaO2 ~\(text(pf["pao2_imputed_mmhg"])) mmHg)"
            out += "P/F \(text(pf["value"])) (\(text(pf["kind"])): \(from) on FiO2 \(text(pf["fio2_fraction"])) of t=\(text(pf["fio2_t"])) s)\n"
        } else {
            out += "P/F unknown\n"
        }
        let alarms = status["alarms"] as? [[String: Any]] ?? []
        out += alarms.isEmpty ? "no active alarm\n" : "alarms:\n"
        for alarm in alarms {
            let state = [alarm["latched"] as? Bool == true ? "latched" : nil, alarm["acknowledged"] as? Bool == true ? "acknowledged" : nil].compactMap { $0 }.joined(separator: ", ")
            let source = alarm["source"] as? String
            out += "  #\(text(alarm["alarm_id"])) \(text(alarm["priority"])) \(text(alarm["rule"]))\(source.map { "[\(TraceListing.escapedLines($0))]" } ?? "") for \(text(alarm["active_for_s"])) s\(state.isEmpty ? "" : " (\(state))")\n"
        }
        out += "devices:\n"
        for device in status["devices"] as? [[String: Any]] ?? [] {
            let line = device["connected"] as? Bool == true ? "connected" : "not connected"
            out += "  \(text(device["id"])) (\(text(device["kind"]))): \(line)\(device["silent"] as? Bool == true ? ", SILENT" : ""), last good \(text(device["last_good_age_s"])) s ago, sensor \(text(device["sensor"]))"
            out += "; polls \(text(device["polls"])), frames \(text(device["frames"])), failures \(text(device["failures"])), rejected frames \(text(device["rejected_frames"])), rejected values \(text(device["rejected_values"]))"
            if let identification = device["identification"] as? String { out += "; device \(TraceListing.escapedLines(identification))" }
            if let link = device["link"] as? String { out += "; link \(TraceListing.escapedLines(link))" }
            if let problem = device["last_problem"] as? String { out += "; last problem: \(TraceListing.escapedLines(problem))" }
            out += "\n"
        }
        if let outputs = status["outputs"] as? [String: Any], let journal = outputs["journal"] as? [String: Any] {
            out += "journal \(text(journal["directory"])): up to \(text(journal["last_seq"])), \(text(journal["free_bytes"])) bytes free"
            if (journal["held_in_memory"] as? NSNumber)?.intValue ?? 0 > 0 { out += ", \(text(journal["held_in_memory"])) held in memory (it cannot be written)" }
            out += "\n"
            for forwarder in outputs["forwarders"] as? [[String: Any]] ?? [] {
                out += "  \(text(forwarder["name"])) \(text(forwarder["host"])):\(text(forwarder["port"])): \(forwarder["connected"] as? Bool == true ? "connected" : "not connected"), delivered up to \(text(forwarder["delivered_up_to"])), backlog \(text(forwarder["backlog"])), last delivery \(text(forwarder["last_delivery"]))"
                if let problem = forwarder["last_problem"] as? String { out += "; last problem: \(TraceListing.escapedLines(problem))" }
                out += "\n"
            }
        }
        if let inputs = status["inputs"] as? [String: Any], let hl7 = inputs["hl7"] as? [String: Any] {
            out += "hl7 listener \(text(hl7["address"]))\(hl7["tls"] as? Bool == true ? " (TLS)" : ""): \(hl7["listening"] as? Bool == true ? "listening" : "NOT LISTENING")"
            out += ", \(text(hl7["open_connections"])) open; accepted \(text(hl7["accepted"])), nothing to do \(text(hl7["ignored"])), refused \(text(hl7["rejected"])), unanswered \(text(hl7["unanswered"])); last message \(text(hl7["last_message"]))"
            if let problem = hl7["last_problem"] as? String { out += "; last problem: \(TraceListing.escapedLines(problem))" }
            out += "\n"
        }
        return out
    }
}
