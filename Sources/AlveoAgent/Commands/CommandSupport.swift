import AlveoCore
import AlveoOutput
import AlveoTrace
import Foundation
import Logging

/// The commands of `alveo` as AlveoAgent runs them: the CLI (Sources/alveo) parses the options and
/// calls these; each prints what it has to say and ends by returning, or by throwing `CommandExit`.
package enum Commands {}

extension Commands {
    /// The configuration at `path`, or exit 78 with the reason. `starting`: `alveo run` refuses to
    /// start; under systemd the line is logged as critical (`<2>`), as the agent's own log lines carry
    /// their priority there.
    package static func loadConfig(_ path: String, starting: Bool = false) throws(CommandExit) -> AgentConfig {
        do {
            return try AgentConfig.load(path: path)
        } catch {
            let journald = starting && ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil
            Console.error("\(journald ? "<2>" : "")error: \(error)\(starting ? " (alveo run does not start)" : "")")
            throw CommandExit(.config)
        }
    }

    /// Opens the journal and starts the forwarders (replay and deliver); exit 74 when that fails.
    static func startOutputs(_ config: AgentConfig, clock: @escaping @Sendable () -> Double,
                             wallTime: @escaping @Sendable () -> String? = { nil },
                             emit: @escaping @Sendable ([AlarmEvent]) -> Void) throws(CommandExit) -> OutputPipeline
    {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        do {
            let outputs = try OutputPipeline(config: config.outputs, logger: Logger(label: "alveo"), clock: clock, wallTime: wallTime,
                                             emit: emit)
            outputs.start()
            return outputs
        } catch {
            Console.error("error: \(error)")
            throw CommandExit(.ioError)
        }
    }

    /// Opens a raw trace for reading, or says why not (exit 65).
    static func openTrace(_ path: String) throws(CommandExit) -> RawTraceReader {
        do { return try RawTraceReader(path: path) } catch {
            Console.error("error: \(error)")
            throw CommandExit(.dataError)
        }
    }

    /// The wall clock of a replay's t = 0: `start` (RFC 3339), else a raw trace's recording start, else now.
    static func replayStart(_ start: String?, source: String) throws(CommandExit) -> Date {
        if let start {
            guard let date = PCD04Message.parseRFC3339(start) else {
                throw .usage("--start must be an RFC 3339 time such as 2026-11-25T16:00:00Z")
            }
            return date
        }
        if source != "-", TraceReplay.isTrace(path: source), var reader = try? RawTraceReader(path: source), let first = reader.next() {
            let nanoseconds = first.wallNanoseconds - Int64(saturating: first.monotonic * 1e9)
            return Date(timeIntervalSince1970: Double(nanoseconds) / 1e9)
        }
        return Date()
    }

    /// Whether `text` is an RFC 3339 time (the commands' --start, --from, --to).
    package static func isRFC3339(_ text: String) -> Bool { PCD04Message.parseRFC3339(text) != nil }
}

/// The event writer shared with the agent's emit callback (called from one task at a time).
final class SharedWriter: @unchecked Sendable {
    // @unchecked: the writer is only touched under `lock`.
    private let lock = NSLock()
    private let writer: EventWriter

    init(_ writer: EventWriter) { self.writer = writer }

    func write(_ events: [AlarmEvent]) {
        lock.withLock { events.forEach(writer.write) }
    }

    func flush() {
        lock.withLock { writer.flush() }
    }
}
