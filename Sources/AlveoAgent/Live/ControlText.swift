import AlveoCore
import AlveoIO
import AlveoTrace
import Foundation

/// What `ack`, `chart` and `patient` print for people: when (the box's local time), and what changed.
package enum EntryText {
    /// `now`, `local`: the wall clock the answer arrived at and the zone it is shown in (tests fix them).
    package static func render(_ reply: EntryAnswer, done: String, now: Date = Date(),
                               local: @escaping @Sendable (Date) -> LocalTime = { LocalTime($0) }) -> String {
        let events = reply.events
        // The answer is written when the loop took the entry: its `t` is now.
        let time = PeopleTime(agentNow: reply.t ?? 0, now: now, local: local)
        var out = "\(done) at \(time.clock(t: reply.t ?? 0))"
        if let sampled = reply.sampledT {
            let before = (reply.t ?? 0) - sampled
            out += before >= 1 ? " (sampled at \(time.clock(t: sampled)), \(Fmt.duration(before)) before)" : " (sampled now)"
        }
        out += events.isEmpty ? "; no alarm changed\n" : "; \(events.count) \(events.count == 1 ? "event" : "events"):\n"
        for event in events {
            out += "  \(event.phase ?? "")  \(event.priority ?? "")  \(event.rule ?? "")  \(TraceListing.escapedLines(event.text ?? ""))\n"
        }
        return out
    }
}

/// `alveo status` for people: wall-clock times in the box's zone and ages, sizes in MB/GB, values in the
/// units the bedside reads (FiO2 in %), no placeholders. `--json` keeps the machine form (control-api.md).
package enum StatusText {
    /// Parameters as clinicians write them.
    static let titles: [String: String] = [
        "spo2": "SpO2", "pulse_rate": "pulse", "fio2": "FiO2", "vt": "Vt", "pplat": "Pplat", "peep": "PEEP", "ppeak": "Ppeak",
        "rr": "RR", "pao2": "PaO2", "hb": "Hb", "hemoptysis": "haemoptysis", "creatinine": "creatinine", "map": "MAP",
        "nibp_map": "cuff MAP", "heart_rate": "HR", "ph": "pH", "paco2": "PaCO2",
    ]

    /// `now`, `local`: the wall clock the answer arrived at and the zone it is shown in (tests fix them).
    package static func render(_ status: StatusAnswer, now: Date = Date(),
                               local: @escaping @Sendable (Date) -> LocalTime = { LocalTime($0) }) -> String {
        func text(_ value: String) -> String { TraceListing.escapedLines(value) }
        func number(_ value: Double) -> String { JSONValue.formatted(value) }
        func number(_ value: some BinaryInteger) -> String { JSONValue.formatted(Double(value)) }
        /// "FiO2 60 %", "PEEP 12 cmH2O", "pH 7.31".
        func percent(_ fraction: Double) -> String { JSONValue.formatted((fraction * 1000).rounded() / 10) }
        let agent = status.agent
        let time = PeopleTime(agentNow: agent.t ?? agent.uptimeS ?? 0, now: now, local: local)
        func at(_ t: Double?) -> String { t.map { time.clockAndAgo(t: $0) } ?? "an unknown time" }
        var out = ""

        out += "alveo \(text(agent.version)), up \(agent.uptimeS.map(Fmt.duration) ?? "for an unknown time")"
        out += " (since \(text(time.clock(rfc3339: agent.started)))); times in \(time.zone)\n"
        out += "libmodbus \(text(agent.libmodbus)), libserialport \(text(agent.libserialport)), \(text(agent.openssl))\n"
        if let recording = agent.recording { out += "recording to \(text(recording))\n" }

        let patient = status.patient
        var who = [patient.id.map { text($0) + (patient.idAuthority.map { " (\(text($0)))" } ?? "") }, patient.name.map(text)].compactMap { $0 }
        if who.isEmpty { who = ["not identified"] }
        var body = [patient.sex ?? "sex not given", patient.heightCm.map { "\(number($0)) cm" } ?? "height not given"]
        if let pbw = patient.pbwKg {
            body.append("PBW \(number(pbw)) kg\(patient.pbwByHand ? " (entered)" : "")")
            if let target = patient.vtTargetMl { body.append("\(number(patient.vtTargetMlPerKg ?? 6)) ml/kg = \(number(target)) ml") }
        } else {
            body.append("PBW unknown (needs sex and height)")
        }
        let conditions = patient.conditions.joined(separator: ", ")
        out += "patient \(who.joined(separator: " ")): \(body.joined(separator: ", "))\(conditions.isEmpty ? "" : "; \(conditions)")\n"

        out += status.values.isEmpty ? "no current value\n" : "values:\n"
        for value in status.values {
            let title = titles[value.parameter] ?? text(value.parameter)
            var shown = value.value.map(number) ?? "no value"
            var unit = value.unit
            if unit == "fraction", let fraction = value.value {
                shown = percent(fraction)
                unit = "%"
            }
            // "HR 112/min", "PEEP 12 cmH2O", "pH 7.31".
            let unitText = unit.isEmpty || unit == "pH" || value.value == nil ? "" : unit.hasPrefix("/") ? text(unit) : " \(text(unit))"
            out += "  \(title) \(shown)\(unitText)\(value.source.map { " from \(text($0))" } ?? ""), \(value.t.map { time.clockAndAgo(t: $0) } ?? "time unknown")\n"
        }
        out += "position \(text(status.position.position))\(status.position.sinceT.map { " since \(time.clockAndAgo(t: $0))" } ?? "")\n"
        if let pf = status.pf {
            let from = pf.measured
                ? "PaO2 \(pf.pao2Mmhg.map(number) ?? "?") mmHg of \(at(pf.pao2T))"
                : "SpO2 \(pf.spo2Pct.map(number) ?? "?") %, PaO2 ~\(pf.pao2ImputedMmhg.map(number) ?? "?") mmHg"
            let fio2 = pf.fio2Fraction.map { "FiO2 \(percent($0)) %" } ?? "FiO2 unknown"
            out += "P/F \(pf.value.map(number) ?? "?") (\(text(pf.kind)): \(from); \(fio2) of \(at(pf.fio2T)))\n"
        } else {
            out += "P/F unknown\n"
        }
        if let map = status.map {
            let device = map.device.map { " from \(text($0))" } ?? ""
            out += "MAP \(map.valueMmhg.map(number) ?? "?") mmHg (\(map.source == "nibp" ? "cuff" : "arterial line")\(device), \(at(map.t)))\n"
        }
        if let ecmo = status.ecmo {
            let since = ecmo.sinceT.map { " since \(time.clockAndAgo(t: $0))" } ?? ""
            out += ecmo.mode == "none" ? "ECMO none\(since)\n"
                : "ECMO \(text(ecmo.mode.uppercased()))\(since): the P/F rules and the prone prompts are not evaluated\n"
        }

        out += status.alarms.isEmpty ? "no active alarm\n" : "alarms:\n"
        for alarm in status.alarms {
            let state = [alarm.latched ? "latched" : nil, alarm.acknowledged ? "acknowledged" : nil].compactMap { $0 }.joined(separator: ", ")
            var line = "  #\(alarm.alarmId) \(text(alarm.priority)) \(text(alarm.rule))\(alarm.source.map { "[\(text($0))]" } ?? "")"
            if let since = alarm.sinceT { line += " since \(time.clock(t: since))" }
            if let activeFor = alarm.activeForS { line += " (\(Fmt.duration(activeFor)))" }
            if !state.isEmpty { line += ", \(state)" }
            if alarm.acknowledged, alarm.acknowledgedBy != nil || alarm.acknowledgedVia != nil {
                line += "; acknowledged"
                if let by = alarm.acknowledgedBy { line += " by \(text(by))" }
                if let via = alarm.acknowledgedVia { line += " via \(text(via))" }
            }
            if let station = alarm.station {
                line += "; station: \(text(station.status))"
                if let person = station.person { line += " by \(text(person))" }
                if let device = station.device { line += " on \(text(device))" }
                if let reported = station.time { line += " at \(text(reported))" }
            }
            out += line + "\n"
        }

        out += status.devices.isEmpty ? "no device\n" : "devices:\n"
        for device in status.devices {
            let lastGood = device.lastGoodT.map { "last good value \(time.clockAndAgo(t: $0))" } ?? "no good value yet"
            out += "  \(text(device.id)) (\(text(device.kind))): \(device.connected ? "connected" : "not connected")\(device.silent ? ", SILENT" : ""), \(lastGood)"
            if device.sensor != "ok" { out += ", sensor \(text(device.sensor))" }
            out += "; polls \(number(device.polls)), frames \(number(device.frames)), failures \(number(device.failures)), rejected frames \(number(device.rejectedFrames)), rejected values \(number(device.rejectedValues))"
            if let identification = device.identification { out += "; device \(text(identification))" }
            if let link = device.link { out += "; link \(text(link))" }
            if let problem = device.lastProblem { out += "; last problem: \(text(problem))" }
            out += "\n"
        }
        if let journal = status.outputs.journal {
            out += "journal \(text(journal.directory)): up to entry \(number(journal.lastSeq))"
            out += journal.freeBytes.map { ", \(ByteSize.text($0)) free" } ?? ", free space unknown"
            if journal.heldInMemory > 0 { out += ", \(number(journal.heldInMemory)) held in memory (it cannot be written)" }
            out += "\n"
            for forwarder in status.outputs.forwarders ?? [] {
                out += "  \(text(forwarder.name)) \(text(forwarder.host)):\(forwarder.port): \(forwarder.connected ? "connected" : "not connected"), delivered up to \(number(forwarder.deliveredUpTo)), backlog \(number(forwarder.backlog))"
                out += forwarder.lastDelivery.map { ", last delivery \(time.clockAndAgo(rfc3339: $0))" } ?? ", nothing delivered yet"
                if let problem = forwarder.lastProblem { out += "; last problem: \(text(problem))" }
                out += "\n"
            }
        }
        if let hl7 = status.inputs.hl7 {
            out += "hl7 listener \(text(hl7.address))\(hl7.tls ? " (TLS)" : ""): \(hl7.listening ? "listening" : "NOT LISTENING")"
            out += ", \(number(hl7.openConnections)) open; accepted \(number(hl7.accepted)), nothing to do \(number(hl7.ignored)), refused \(number(hl7.rejected)), unanswered \(number(hl7.unanswered))"
            out += hl7.lastMessage.map { "; last message \(time.clockAndAgo(rfc3339: $0))" } ?? "; no message yet"
            if let problem = hl7.lastProblem { out += "; last problem: \(text(problem))" }
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
