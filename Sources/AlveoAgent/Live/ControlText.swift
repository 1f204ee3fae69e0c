import AlveoCore
import AlveoTrace
import Foundation

/// What `ack`, `chart` and `patient` print for people.
package enum EntryText {
    package static func render(_ reply: EntryAnswer, done: String) -> String {
        let events = reply.events
        var out = "\(done) at t=\(JSONValue.formatted(reply.t ?? 0)) s"
        if let sampled = reply.sampledT { out += " (sampled at t=\(JSONValue.formatted(sampled)) s)" }
        out += events.isEmpty ? "; no alarm changed\n" : "; \(events.count) event(s):\n"
        for event in events {
            out += "  \(event.phase ?? "")  \(event.priority ?? "")  \(event.rule ?? "")  \(TraceListing.escapedLines(event.text ?? ""))\n"
        }
        return out
    }
}

/// `alveo status` for people.
package enum StatusText {
    package static func render(_ status: StatusAnswer) -> String {
        func text(_ value: String?) -> String { value.map(TraceListing.escapedLines) ?? "-" }
        func text(_ value: Double?) -> String { value.map(JSONValue.formatted) ?? "-" }
        func text(_ value: some BinaryInteger) -> String { JSONValue.formatted(Double(value)) }
        func text(_ value: Int64?) -> String { value.map { JSONValue.formatted(Double($0)) } ?? "-" }
        var out = ""
        let agent = status.agent
        out += "alveo \(text(agent.version)), up \(text(agent.uptimeS)) s (started \(text(agent.started))); libmodbus \(text(agent.libmodbus)), libserialport \(text(agent.libserialport)), \(text(agent.openssl))\n"
        if let recording = agent.recording { out += "recording to \(TraceListing.escapedLines(recording))\n" }
        let patient = status.patient
        let conditions = patient.conditions.joined(separator: ", ")
        out += "patient \(text(patient.id)) \(text(patient.name)): \(text(patient.sex)), \(text(patient.heightCm)) cm, PBW \(text(patient.pbwKg)) kg, 6 ml/kg = \(text(patient.vtTargetMl)) ml\(conditions.isEmpty ? "" : "; \(conditions)")\n"
        out += "values:\n"
        for value in status.values {
            out += "  \(text(value.parameter)) \(text(value.value)) \(text(value.unit)) from \(text(value.source)), \(text(value.ageS)) s ago\n"
        }
        out += "position \(text(status.position.position)) since t=\(text(status.position.sinceT)) s\n"
        if let pf = status.pf {
            let from = pf.measured ? "PaO2 \(text(pf.pao2Mmhg)) mmHg of t=\(text(pf.pao2T)) s" : "SpO2 \(text(pf.spo2Pct)) % (PaO2 ~\(text(pf.pao2ImputedMmhg)) mmHg)"
            out += "P/F \(text(pf.value)) (\(text(pf.kind)): \(from) on FiO2 \(text(pf.fio2Fraction)) of t=\(text(pf.fio2T)) s)\n"
        } else {
            out += "P/F unknown\n"
        }
        if let map = status.map {
            out += "MAP \(text(map.valueMmhg)) mmHg (\(map.source == "nibp" ? "cuff" : "arterial line") from \(text(map.device)) of t=\(text(map.t)) s)\n"
        }
        if let ecmo = status.ecmo {
            out += ecmo.mode == "none" ? "ECMO none since t=\(text(ecmo.sinceT)) s\n"
                : "ECMO \(text(ecmo.mode.uppercased())) since t=\(text(ecmo.sinceT)) s: the P/F rules and the prone prompts are not evaluated\n"
        }
        out += status.alarms.isEmpty ? "no active alarm\n" : "alarms:\n"
        for alarm in status.alarms {
            let state = [alarm.latched ? "latched" : nil, alarm.acknowledged ? "acknowledged" : nil].compactMap { $0 }.joined(separator: ", ")
            var line = "  #\(text(alarm.alarmId)) \(text(alarm.priority)) \(text(alarm.rule))\(alarm.source.map { "[\(TraceListing.escapedLines($0))]" } ?? "") for \(text(alarm.activeForS)) s\(state.isEmpty ? "" : " (\(state))")"
            if alarm.acknowledged, alarm.acknowledgedBy != nil || alarm.acknowledgedVia != nil {
                line += "; acknowledged by \(text(alarm.acknowledgedBy)) via \(text(alarm.acknowledgedVia))"
            }
            if let station = alarm.station {
                line += "; station: \(text(station.status))"
                if let person = station.person { line += " by \(TraceListing.escapedLines(person))" }
                if let device = station.device { line += " on \(TraceListing.escapedLines(device))" }
                if let time = station.time { line += " at \(TraceListing.escapedLines(time))" }
            }
            out += line + "\n"
        }
        out += "devices:\n"
        for device in status.devices {
            let line = device.connected ? "connected" : "not connected"
            out += "  \(text(device.id)) (\(text(device.kind))): \(line)\(device.silent ? ", SILENT" : ""), last good \(text(device.lastGoodAgeS)) s ago, sensor \(text(device.sensor))"
            out += "; polls \(text(device.polls)), frames \(text(device.frames)), failures \(text(device.failures)), rejected frames \(text(device.rejectedFrames)), rejected values \(text(device.rejectedValues))"
            if let identification = device.identification { out += "; device \(TraceListing.escapedLines(identification))" }
            if let link = device.link { out += "; link \(TraceListing.escapedLines(link))" }
            if let problem = device.lastProblem { out += "; last problem: \(TraceListing.escapedLines(problem))" }
            out += "\n"
        }
        if let journal = status.outputs.journal {
            out += "journal \(text(journal.directory)): up to \(text(journal.lastSeq)), \(text(journal.freeBytes)) bytes free"
            if journal.heldInMemory > 0 { out += ", \(text(journal.heldInMemory)) held in memory (it cannot be written)" }
            out += "\n"
            for forwarder in status.outputs.forwarders ?? [] {
                out += "  \(text(forwarder.name)) \(text(forwarder.host)):\(text(forwarder.port)): \(forwarder.connected ? "connected" : "not connected"), delivered up to \(text(forwarder.deliveredUpTo)), backlog \(text(forwarder.backlog)), last delivery \(text(forwarder.lastDelivery))"
                if let problem = forwarder.lastProblem { out += "; last problem: \(TraceListing.escapedLines(problem))" }
                out += "\n"
            }
        }
        if let hl7 = status.inputs.hl7 {
            out += "hl7 listener \(text(hl7.address))\(hl7.tls ? " (TLS)" : ""): \(hl7.listening ? "listening" : "NOT LISTENING")"
            out += ", \(text(hl7.openConnections)) open; accepted \(text(hl7.accepted)), nothing to do \(text(hl7.ignored)), refused \(text(hl7.rejected)), unanswered \(text(hl7.unanswered)); last message \(text(hl7.lastMessage))"
            if let problem = hl7.lastProblem { out += "; last problem: \(TraceListing.escapedLines(problem))" }
            out += "\n"
        }
        return out
    }
}

/// `--sampled`: a clock time today (yesterday when later than now), a time ago, or RFC 3339 UTC.
package enum SampleTime {
    package static func parse(_ text: String, now: Date) -> Date? {
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

    /// As the control API takes it: RFC 3339 UTC to the millisecond below.
    package static func rfc3339(_ date: Date) -> String {
        UTCTime.rfc3339(millisecondsSince1970: Int64(saturating: (date.timeIntervalSince1970 * 1000).rounded(.down)))
    }
}

extension ChartRequest {
    /// `alveo chart`'s arguments: PARAMETER=VALUE each (as text: the agent reads the number and its unit).
    package init(arguments: [String], sampled: Date?, by: String?) {
        var given: [String: ChartValue] = [:]
        for argument in arguments {
            let parts = argument.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            given[String(parts[0])] = .text(String(parts[1]))
        }
        self.init(values: given, sampled: sampled.map(SampleTime.rfc3339), by: by)
    }

    /// Why `argument` is not PARAMETER=VALUE, or nil.
    package static func argumentProblem(_ argument: String) -> String? {
        argument.split(separator: "=", maxSplits: 1).count == 2 ? nil : "'\(Shown.text(argument.utf8))' is not PARAMETER=VALUE (e.g. pao2=62)"
    }
}

extension PatientRequest {
    /// What `alveo patient set` refuses before sending: a PBW out of range, a height no adult has.
    /// The adult range is checked by the agent, which knows whether this patient's PBW was entered by hand.
    package static func optionProblem(heightCm: Double?, pbwKg: Double?) -> String? {
        if let pbwKg, !(pbwKg.isFinite && Patient.pbwRangeKg.contains(pbwKg)) {
            return "--pbw-kg must be \(Int(Patient.pbwRangeKg.lowerBound))-\(Int(Patient.pbwRangeKg.upperBound))"
        }
        if let heightCm, let problem = Patient.heightProblem(heightCm, pbwGiven: true) { return "--height-cm: \(problem)" }
        return nil
    }
}
