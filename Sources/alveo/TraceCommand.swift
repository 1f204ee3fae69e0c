import AlveoAgent
import AlveoCore
import AlveoDevices
import AlveoIO
import AlveoOutput
import AlveoTrace
import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

struct Trace: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with raw device traces recorded by `alveo run --record` or `alveo record`.",
        subcommands: [Info.self, Dump.self, Export.self])

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Summarize a trace: when it was recorded, whether it ended cleanly, and what each device sent, received and failed.")

        @Flag(help: "Also print the configuration the run used and the Modbus profiles its devices were decoded with (YAML, as recorded).")
        var showConfig = false

        @Argument(help: "The .alvtrace file; - reads it from standard input (e.g. gzip -dc TRACE.gz | alveo trace info -).")
        var trace: String

        func run() throws {
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
                    if !config.serialDevices.isEmpty || !config.devices.isEmpty { out += "configured devices:\n" }
                    for device in config.serialDevices {
                        out += "  \(device.id): \(device.driver.name) on \(device.path) at \(device.settings.baud) baud\n"
                    }
                    for device in config.devices {
                        out += "  \(device.id): Modbus unit \(device.unitID) at \(device.endpoint), profile \(device.profile.name)\n"
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
            try writeStandardOutput(out)
        }
    }

    struct Dump: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a trace's records for people, one a line: time, wall-clock time (UTC), device, and the bytes or registers.",
            discussion: """
                Bytes are shown as text: printable ASCII as is, \\r \\n \\t \\\\ \\", anything else as \\xNN. Register blocks \
                show the table, the 0-based addresses and the words in hex. Streams: fine on a trace of days.
                """)

        @Option(name: .long, help: "Only this device's records (repeatable).")
        var device: [String] = []

        @Option(name: .long, help: "Only records at or after this time: agent seconds (192.5), agent time as `trace info` shows it (0:03:12), or wall-clock UTC (2026-11-25T03:12:00Z).")
        var from: String?

        @Option(name: .long, help: "Only records at or before this time, in the same forms as --from.")
        var to: String?

        @Flag(help: "Leave out the agent's clock ticks.")
        var noTicks = false

        @Argument(help: "The .alvtrace file; - reads it from standard input (e.g. gzip -dc TRACE.gz | alveo trace dump -).")
        var trace: String

        func validate() throws {
            for (name, text) in [("--from", from), ("--to", to)] {
                if let text, TraceTimeBound(text) == nil {
                    throw ValidationError("\(name) \(text): give agent seconds (192.5), h:mm:ss (0:03:12) or a UTC time (2026-11-25T03:12:00Z)")
                }
            }
            if let from = from.flatMap(TraceTimeBound.init), let to = to.flatMap(TraceTimeBound.init), from.isLater(than: to) == true {
                throw ValidationError("--from is after --to")
            }
        }

        func run() throws {
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
                    try writeStandardOutput(out)
                    out.removeAll(keepingCapacity: true)
                }
            }
            try writeStandardOutput(out)
            for damage in reader.damage { printError("warning: \(trace): \(damage)") }
            if let problem = reader.problem { printError("warning: \(trace): \(problem); read the \(index) records before it") }
            if listed == 0, start != nil || end != nil || !devices.isEmpty {
                printError("note: \(trace): no record matches (`alveo trace info` shows the devices and the times the trace covers)")
            }
            for id in devices.subtracting(seen).sorted() {
                let known = seen.subtracting([""]).sorted().joined(separator: ", ")
                printError("warning: \(trace): no records from device \(id) in what was read (devices seen: \(known.isEmpty ? "none" : known))")
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a trace's decoded values as a scenario CSV (t,source,parameter,value) to stdout.")

        @Flag(help: "Scenario CSV (the only format so far).")
        var csv = false

        @Argument(help: "The .alvtrace file; - reads it from standard input (e.g. gzip -dc TRACE.gz | alveo trace export --csv -).")
        var trace: String

        func validate() throws {
            guard csv else { throw ValidationError("choose an output format: --csv") }
        }

        func run() throws {
            var out = "# exported from \(TraceListing.escaped(trace)) by alveo trace export: decoded device values, times in seconds\n"
            out += "t,source,parameter,value\n"
            // Written out every 64 KiB: a week of devices is gigabytes of CSV, never held whole.
            var readerGone = false
            do {
                let summary = try TraceReplay.run(path: trace, observations: { t, group in
                    if out.utf8.count > 65_536, !readerGone {
                        do { try writeStandardOutput(out) } catch { readerGone = true }
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
                        // Kept as the decimal text the device sent when it is one, so the exported
                        // row is rejected again on replay; any other text as a number no device sends.
                        case .unusable(let text): text.utf8.allSatisfy({ Array("0123456789+-.eE".utf8).contains($0) }) && !text.isEmpty ? text : "1e999"
                        }
                        out += "\(JSONValue.formatted(t)),\(observation.source),\(observation.parameter.name),\(value)\n"
                    }
                }, sink: { _ in })
                if readerGone { return }
                try writeStandardOutput(out)
                for damage in summary.damage { printError("warning: \(trace): \(damage)") }
                if let warning = summary.warning { printError("warning: \(trace): \(warning)") }
            } catch let exit as ExitCode {
                throw exit
            } catch {
                printError("error: \(error)")
                throw ExitCode(.dataError)
            }
        }
    }
}
