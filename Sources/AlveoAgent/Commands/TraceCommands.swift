import AlveoCore
import AlveoDevices
import AlveoIO
import AlveoTrace
import Foundation

extension Commands {
    /// `alveo trace info TRACE`: when it was recorded, whether it ended cleanly, what each device sent,
    /// received and failed; `showConfig`: the configuration and profiles as recorded.
    package static func traceInfo(trace: String, showConfig: Bool) throws(CommandExit) {
        var reader = try openTrace(trace)
        var summary = TraceSummary()
        var profiles: [String: String] = [:]
        while let record = reader.next() {
            summary.add(record)
            if record.kind == .profile { profiles[record.device] = String(decoding: record.payload, as: UTF8.self) }
        }
        var out = summary.text(path: trace, problem: reader.problem, damage: reader.damage)
        if let yaml = summary.configuration {
            do {
                let config = try AgentConfig.parse(yaml: yaml, file: trace, profiles: profiles, readOutputs: false)
                if !config.allDeviceIDs.isEmpty { out += "configured devices:\n" }
                for device in config.serialDevices {
                    out += device.lan == nil ? "  \(device.id): \(device.driver.name) on \(device.path) at \(device.settings.baud) baud\n"
                        : "  \(device.id): \(device.driver.name) on the LAN, \(device.path)\n"
                }
                for device in config.devices {
                    out += "  \(device.id): Modbus unit \(device.unitID) at \(device.endpoint), profile \(device.profile.name)\n"
                }
                for device in config.gatewayDevices {
                    out += "  \(device.id): through the device gateway (IHE PCD-01), OBX-18 \(TraceListing.escaped(device.equipment))\n"
                }
            } catch {
                out += "the recorded configuration does not parse: \(error)\n"
            }
            if showConfig {
                out += "configuration:\n" + TraceListing.escapedLines(yaml) + (yaml.hasSuffix("\n") ? "" : "\n")
                for (id, text) in profiles.sorted(by: { $0.key < $1.key }) {
                    out += "profile of \(TraceListing.escaped(id)):\n" + TraceListing.escapedLines(text) + (text.hasSuffix("\n") ? "" : "\n")
                }
            }
        } else {
            out += "no configuration record: this trace cannot be replayed\n"
        }
        try Console.write(out)
    }

    /// Whether `text` is a time `alveo trace dump --from/--to` takes (agent seconds, h:mm:ss, UTC).
    package static func isTraceTime(_ text: String) -> Bool { TraceTimeBound(text) != nil }

    /// Whether the trace time `from` is later than `to` (both as `isTraceTime` takes them).
    package static func traceTime(_ from: String, isLaterThan to: String) -> Bool {
        guard let from = TraceTimeBound(from), let to = TraceTimeBound(to) else { return false }
        return from.isLater(than: to) == true
    }

    /// `alveo trace dump TRACE`: the records for people, one a line.
    package static func traceDump(trace: String, device: [String], from: String?, to: String?, noTicks: Bool) throws(CommandExit) {
        var reader = try openTrace(trace)
        let devices = Set(device)
        let start = from.flatMap(TraceTimeBound.init), end = to.flatMap(TraceTimeBound.init)
        var listed = 0
        var seen: Set<String> = []
        var out = ""
        var index = 0
        while let record = reader.next() {
            index += 1
            seen.insert(record.device)
            if !devices.isEmpty, !devices.contains(record.device) { continue }
            if let start, start.isAfter(record) { continue }
            if let end, end.isBefore(record) {
                // Records are in the order the core took them: times can step back a hair between
                // threads, never by seconds.
                if end.secondsPast(record) > 10 { break }
                continue
            }
            listed += 1
            if noTicks, record.kind == .tick { continue }
            out += TraceListing.line(record, index: index)
            out += "\n"
            if out.utf8.count >= 1 << 16 {
                try Console.write(out)
                out.removeAll(keepingCapacity: true)
            }
        }
        try Console.write(out)
        for damage in reader.damage { Console.error("warning: \(trace): \(damage)") }
        if let problem = reader.problem { Console.error("warning: \(trace): \(problem); read the \(index) records before it") }
        if listed == 0, start != nil || end != nil || !devices.isEmpty {
            Console.error("note: \(trace): no record matches (`alveo trace info` shows the devices and the times the trace covers)")
        }
        for id in devices.subtracting(seen).sorted() {
            let known = seen.subtracting([""]).sorted().joined(separator: ", ")
            Console.error("warning: \(trace): no records from device \(id) in what was read (devices seen: \(known.isEmpty ? "none" : known))")
        }
    }

    /// `alveo trace export --csv TRACE`: the decoded values as a scenario CSV on stdout.
    package static func traceExport(trace: String) throws(CommandExit) {
        var out = "# exported from \(TraceListing.escaped(trace)) by alveo trace export: decoded device values, times in seconds\n"
        out += "t,source,parameter,value\n"
        // Written out every 64 KiB: a week of devices is gigabytes of CSV, never held whole.
        var readerGone = false
        do {
            let summary = try TraceReplay.run(path: trace, observations: { t, group in
                if out.utf8.count > 65_536, !readerGone {
                    do { try Console.write(out) } catch { readerGone = true }
                    out = ""
                }
                if readerGone { return }
                for observation in group {
                    let value: String = switch observation.value {
                    case .number(let number): JSONValue.formatted(number)
                    case .noData: ""
                    case .position(let position): position.rawValue
                    case .sensor(let state): state.rawValue
                    case .ack(let rule): rule.id
                    case .ecmo(let mode): mode.rawValue
                    case .yesNo(let yes): yes ? "yes" : "no"
                    // Kept as the decimal text the device sent when it is one, so the exported
                    // row is rejected again on replay; any other text as a number no device sends.
                    case .unusable(let text): text.utf8.allSatisfy({ Array("0123456789+-.eE".utf8).contains($0) }) && !text.isEmpty ? text : "1e999"
                    }
                    out += "\(JSONValue.formatted(t)),\(observation.source),\(observation.parameter.name),\(value)\n"
                }
            }, sink: { _ in })
            if readerGone { return }
            try Console.write(out)
            for damage in summary.damage { Console.error("warning: \(trace): \(damage)") }
            if let warning = summary.warning { Console.error("warning: \(trace): \(warning)") }
        } catch let exit as CommandExit {
            throw exit
        } catch {
            Console.error("error: \(error)")
            throw CommandExit(.dataError)
        }
    }
}
