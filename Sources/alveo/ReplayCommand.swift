import AlveoAgent
import ArgumentParser

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay a scenario CSV or a raw device trace (.alvtrace) through the clinical core on virtual time; alarm events go to stdout.")

    @Option(name: .long, help: "Agent configuration (YAML); a patient section is enough. A raw trace carries its own: with one, only this file's outputs: (journal, forwarders) are used, to replay a recording into a test station.")
    var config: String = ""

    @Option(name: .long, help: "Output format: jsonl (one JSON event per line) or text (for people).")
    var format: String = "jsonl"

    @Argument(help: "Scenario CSV (t,source,parameter,value) or raw trace recorded by `alveo run --record` or `alveo record`; - reads a raw trace from standard input (e.g. zstd -dc TRACE.zst | alveo replay -).")
    var scenario: String

    func validate() throws {
        guard EventFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be one of: \(EventFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let speed, !(speed > 0 && speed <= 1_000_000) { throw ValidationError("--speed must be in (0, 1000000]") }
        guard drainTimeout >= 0, drainTimeout <= 86_400 else { throw ValidationError("--drain-timeout must be 0...86400 s") }
    }

    @Option(name: .long, help: "With outputs configured: seconds to wait at the end for every journaled event to be delivered.")
    var drainTimeout: Double = 60

    @Option(name: .long, help: "With outputs configured: the wall-clock time (RFC 3339, e.g. 2026-11-25T16:00:00Z) that t = 0 maps to; each journaled event, and so each PCD-04 and syslog message, carries the time it was detected on that clock. Default: a raw trace's recording start; for a scenario, when the replay starts.")
    var start: String?

    @Option(name: .long, help: "Also write the replay's trends (every accepted value, derived values, positions, alarm events) to this SQLite trend store, on the --start clock (docs/trends.md); alveo report reads it.")
    var trends: String?

    @Option(name: .long, help: "Replay at this many times real time (1 = real time, for demonstrations); default: as fast as the machine allows.")
    var speed: Double?

    func run() async throws {
        try await command {
            let sinks = BedsideRuntime.Sinks(format: EventFormat(rawValue: format)!, configPath: config, trendsPath: trends, start: start,
                                             drainTimeout: drainTimeout)
            try await BedsideRuntime(source: BedsideRuntime.Source(path: scenario), sinks: sinks, speed: speed).run()
        }
    }
}
