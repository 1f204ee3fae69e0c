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

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
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

/// Opens the journal and starts the forwarders (replay and deliver); exit 74 when that fails.
func startOutputs(_ config: AgentConfig, clock: @escaping @Sendable () -> Double,
                  wallTime: @escaping @Sendable () -> String? = { nil },
                  emit: @escaping @Sendable ([AlarmEvent]) -> Void) throws -> OutputPipeline
{
    LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
    do {
        let outputs = try OutputPipeline(config: config.outputs, logger: Logger(label: "alveo"), clock: clock, wallTime: wallTime,
                                         emit: emit)
        outputs.start()
        return outputs
    } catch {
        printError("error: \(error)")
        throw ExitCode(.ioError)
    }
}

/// `starting`: `alveo run` refuses to start; under systemd the line is logged as critical (`<2>`), as
/// the agent's own log lines carry their priority there.
func loadConfig(_ path: String, starting: Bool = false) throws -> AgentConfig {
    do {
        return try AgentConfig.load(path: path)
    } catch {
        let journald = starting && ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil
        printError("\(journald ? "<2>" : "")error: \(error)\(starting ? " (alveo run does not start)" : "")")
        throw ExitCode(.config)
    }
}

/// Opens a raw trace for reading, or says why not (exit 65).
func openTrace(_ path: String) throws -> RawTraceReader {
    do { return try RawTraceReader(path: path) } catch {
        printError("error: \(error)")
        throw ExitCode(.dataError)
    }
}

/// Writes to stdout; when the reader has gone (`alveo trace dump T | head`: EPIPE, SIGPIPE being
/// ignored) it stops the command quietly with success instead of trapping.
func writeStandardOutput(_ text: String) throws {
    do { try FileHandle.standardOutput.write(contentsOf: Data(text.utf8)) } catch { throw ExitCode.success }
}

func printError(_ message: String) {
    // try?: a reader that has gone (`alveo replay T 2>&1 | head`) must not make Alveo trap.
    try? FileHandle.standardError.write(contentsOf: Data((message + "\n").utf8))
}

/// The wall clock of a replay's t = 0: `start` (RFC 3339), else a raw trace's recording start, else now.
func replayStart(_ start: String?, source: String) throws -> Date {
    if let start {
        guard let date = PCD04Message.parseRFC3339(start) else {
            throw ValidationError("--start must be an RFC 3339 time such as 2026-11-25T16:00:00Z")
        }
        return date
    }
    if source != "-", TraceReplay.isTrace(path: source), var reader = try? RawTraceReader(path: source), let first = reader.next() {
        let nanoseconds = first.wallNanoseconds - Int64(saturating: first.monotonic * 1e9)
        return Date(timeIntervalSince1970: Double(nanoseconds) / 1e9)
    }
    return Date()
}
