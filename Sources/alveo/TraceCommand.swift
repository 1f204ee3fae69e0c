import AlveoAgent
import ArgumentParser

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
            try command { try Commands.traceInfo(trace: trace, showConfig: showConfig) }
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
                if let text, !Commands.isTraceTime(text) {
                    throw ValidationError("\(name) \(text): give agent seconds (192.5), h:mm:ss (0:03:12) or a UTC time (2026-11-25T03:12:00Z)")
                }
            }
            if let from, let to, Commands.traceTime(from, isLaterThan: to) {
                throw ValidationError("--from is after --to")
            }
        }

        func run() throws {
            try command { try Commands.traceDump(trace: trace, device: device, from: from, to: to, noTicks: noTicks) }
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
            try command { try Commands.traceExport(trace: trace) }
        }
    }
}
