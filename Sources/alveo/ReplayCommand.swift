import AlveoAgent
import AlveoCore
import AlveoDevices
import AlveoIO
import AlveoOutput
import AlveoTrace
import AlveoTrends
import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

struct Replay: ParsableCommand {
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

    /// The wall clock of t = 0: --start, else the trace's first record, else now.
    func startTime() throws -> Date { try replayStart(start, source: scenario) }

    /// The trend store and its writer for --trends, if given.
    func openTrends(_ base: Date) throws -> (TrendBatchWriter, TrendOutput)? {
        guard let trends else { return nil }
        do {
            let writer = TrendBatchWriter(store: try TrendStore(path: trends))
            return (writer, TrendOutput(origin: base.timeIntervalSince1970) { writer.append($0) })
        } catch {
            printError("error: \(error)")
            throw ExitCode(.ioError)
        }
    }

    func closeTrends(_ trends: (TrendBatchWriter, TrendOutput)?) throws {
        guard let (writer, _) = trends else { return }
        do { try writer.finish() } catch {
            printError("error: \(error)")
            throw ExitCode(.ioError)
        }
    }

    @Option(name: .long, help: "Replay at this many times real time (1 = real time, for demonstrations); default: as fast as the machine allows.")
    var speed: Double?

    /// Sleeps until virtual time `t` is due at `speed`; nil when replaying flat out.
    func pacer() -> ((Double) -> Void)? {
        guard let speed else { return nil }
        let clock = ContinuousClock()
        let start = clock.now
        return { t in
            let due = start.advanced(by: .clampedSeconds(t / speed))
            let wait = clock.now.duration(to: due)
            if wait > .zero { Thread.sleep(forTimeInterval: Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18) }
        }
    }

    func run() throws {
        if TraceReplay.isTrace(path: scenario) {
            // A raw device trace carries its own configuration: only --config's outputs are used.
            let writer = SharedWriter(EventWriter(format: EventFormat(rawValue: format)!, flushEach: speed != nil))
            let scenarioTime = Mutex(0.0)
            let base = try startTime()
            let wall: @Sendable (Double) -> String = { PCD04Message.rfc3339(base.addingTimeInterval($0)) }
            let outputs = config.isEmpty ? nil
                : try startOutputs(try loadConfig(config), clock: { scenarioTime.withLock { $0 } },
                                   wallTime: { wall(scenarioTime.withLock { $0 }) }, emit: { writer.write($0) })
            defer { outputs?.stop() }
            let trendStore = try openTrends(base)
            do {
                let summary = try TraceReplay.run(path: scenario, pace: pacer(), trends: trendStore?.1) { event in
                    scenarioTime.withLock { $0 = event.t }
                    outputs?.record([event], wallTime: wall(event.t))
                    writer.write([event])
                }
                writer.flush()
                // For the engineer reading a trace: what each device gave (as the live agent logs at stop).
                for (id, tally) in summary.devices.sorted(by: { $0.key < $1.key }) {
                    printError("\(id): decoded \(tally.decoded), rejected \(tally.rejected), skipped bytes \(tally.skippedBytes), failed reads \(tally.failed)")
                }
                for damage in summary.damage {
                    printError("warning: \(scenario): \(damage); the records in it are lost, so events near it may differ from the live run")
                }
                if let warning = summary.warning { printError("warning: \(scenario): \(warning); replayed the \(summary.records) records before it") }
                if summary.warning == nil, !summary.ended {
                    printError("note: \(scenario): no end record: the recording was cut off (power loss, kill -9) or is still being written; replayed to its last record")
                }
                reportActive(summary.active)
                if let stopped = summary.recordingStopped {
                    printError("note: \(scenario): \(TraceListing.escaped(stopped)); the replay ends there, the live agent ran on after it")
                }
            } catch {
                writer.flush()
                printError("error: \(error)")
                throw ExitCode(.dataError)
            }
            try closeTrends(trendStore)
            if let outputs { try finish(outputs, writer) }
            return
        }
        if let problem = TraceReplay.notATrace(path: scenario, csvExpected: !config.isEmpty) {
            printError("error: \(problem)")
            throw ExitCode(.noInput)
        }
        if config.isEmpty {
            throw ValidationError("--config is required to replay a scenario CSV (a raw trace carries its own configuration)")
        }
        let agentConfig = try loadConfig(config)
        let writer = SharedWriter(EventWriter(format: EventFormat(rawValue: format)!, flushEach: speed != nil))
        let scenarioTime = Mutex(0.0)
        let base = try startTime()
        let wall: @Sendable (Double) -> String = { PCD04Message.rfc3339(base.addingTimeInterval($0)) }
        let outputs = try startOutputs(agentConfig, clock: { scenarioTime.withLock { $0 } },
                                       wallTime: { wall(scenarioTime.withLock { $0 }) }, emit: { writer.write($0) })
        defer { outputs.stop() }
        let trendStore = try openTrends(base)
        do {
            // Journal entries carry the virtual time on the --start clock: the same --start gives the
            // same journal, and each message the time its event was detected.
            let summary = try ScenarioReplay.run(config: agentConfig, scenarioPath: scenario, manualEntry: { t, row in
                outputs.recordEntry(row, t: t, wallTime: wall(t))
            }, pace: pacer(), trends: trendStore?.1) { event in
                scenarioTime.withLock { $0 = event.t }
                outputs.record([event], wallTime: wall(event.t))
                writer.write([event])
            }
            writer.flush()
            reportActive(summary.active)
        } catch {
            writer.flush()
            printError("error: \(error)")
            throw ExitCode(.dataError)
        }
        try closeTrends(trendStore)
        try finish(outputs, writer)
    }

    /// What was still in force at the end: replay invents no ends (the live agent ends alarms only at
    /// a stop, which a trace then holds), so they are listed for the reader instead.
    func reportActive(_ active: [ClinicalCore.ActiveAlarm]) {
        guard !active.isEmpty else { return }
        let list = active.map { alarm in
            let state = alarm.latched ? "latched" : (alarm.acknowledged ? "acknowledged" : "active")
            return "\(alarm.rule.id)\(alarm.source.map { "[\($0)]" } ?? "") A\(alarm.alarmID) \(alarm.priority.name) \(state) since t=\(JSONValue.formatted(alarm.since))"
        }
        printError("note: \(active.count) alarm(s) in force at the end of the replay, not ended: \(list.joined(separator: ", "))")
    }

    /// The end of a replay with outputs: anything the journal could not take fails the replay (74);
    /// then every journaled event is delivered within --drain-timeout, or the replay fails (75).
    func finish(_ outputs: OutputPipeline, _ writer: SharedWriter) throws {
        // Alarm events the journal could not take (disk full, read-only) were printed but are held in
        // memory: one more try, then a replay that leaves any of them unjournaled fails.
        outputs.retryJournal()
        let unjournaled = outputs.unjournaled
        if unjournaled.held + unjournaled.dropped > 0 {
            writer.flush()
            // The station hears of it before the process ends: that message is in no file.
            outputs.waitForUnjournaled(timeout: .clampedSeconds(drainTimeout))
            printError("error: \(unjournaled.held + unjournaled.dropped) journal item(s) (alarm events, charted entries) could not be written to the journal; the events were printed above but are not in the journal and will not reach the central station (see technical.journal_failed)")
            throw ExitCode(.ioError)
        }
        let drained = outputs.drain(timeout: .clampedSeconds(drainTimeout))
        writer.flush()
        if !drained {
            printError("error: \(outputs.undelivered) journaled events not delivered within \(drainTimeout) s; they stay in the journal and are delivered on the next start")
            throw ExitCode(.tempFail)
        }
    }
}
