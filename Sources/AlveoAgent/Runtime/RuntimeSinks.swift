import AlveoCore
import AlveoIO
import AlveoOutput
import AlveoTrends
import Foundation
import Logging
import Metrics
import Synchronization

/// Where the events of every source go, live devices, a raw trace or a scenario alike: the journal and
/// its forwarders (`OutputPipeline`), the trend store, stdout and the metrics. An event is journaled
/// (fsync) first, and only then printed: it counts as recorded once journaled. The sources differ only
/// in the clock the sinks stamp with (`Clock`), in how the trend store is written (its own thread live,
/// in batches on the caller's thread in a replay) and in how a run ends (`finish(stopEvents:)` live,
/// `finishReplay()`).
final class RuntimeSinks {
    /// The time the sinks stamp with.
    enum Clock: Sendable {
        /// The agent's clock for the outputs' own alarms, the wall clock for the journal's `wall_time`
        /// and beside each printed event (`alveo run`).
        case live(AgentClock)
        /// Virtual time from 0 at `origin` (a replay): each journal line carries the time its event was
        /// detected on that clock, so that the same `--start` gives the same journal; printed events
        /// carry no wall time, so that replays stay byte-identical.
        case virtual(origin: Date)
    }

    /// The trend store's writer.
    enum Trends {
        /// Live: its own thread, retried, bounded, retention applied (`TrendWriter`).
        case live(TrendWriter)
        /// A replay: synchronous batches; a failure fails the replay (`TrendBatchWriter`).
        case batch(TrendBatchWriter)

        func append(_ rows: [TrendRow]) {
            switch self {
            case .live(let writer): writer.append(rows)
            case .batch(let writer): writer.append(rows)
            }
        }
    }

    /// The journal and its forwarders; nil without a clinical run (`alveo record`) or a configuration's outputs.
    let outputs: OutputPipeline?
    let trends: Trends?
    let clock: Clock
    private let stdout: SharedWriter
    /// Counts `alveo_alarm_events_total` (live: a replay has no metrics).
    private let countsEvents: Bool
    /// Virtual time: the t of the latest event recorded (the outputs' own alarms take it as theirs).
    private let virtualNow: VirtualNow

    /// The t of the latest event a replay recorded, shared with the outputs' clock.
    final class VirtualNow: Sendable {
        private let t = Mutex(0.0)
        var seconds: Double { t.withLock { $0 } }
        func set(_ seconds: Double) { t.withLock { $0 = seconds } }
    }

    private init(outputs: OutputPipeline?, trends: Trends?, clock: Clock, stdout: SharedWriter, countsEvents: Bool, virtualNow: VirtualNow) {
        self.outputs = outputs
        self.trends = trends
        self.clock = clock
        self.stdout = stdout
        self.countsEvents = countsEvents
        self.virtualNow = virtualNow
    }

    /// The live run's sinks, opened and started. A journal that cannot be opened (a read-only or missing
    /// file system) does not stop the monitoring: alarms go to stdout, technical.journal_failed to
    /// every output that works, and the journal is tried again every few seconds (issue 23; before,
    /// the agent exited 74 and systemd restarted it forever, with no alarm anywhere). The trend store
    /// (docs/trends.md) is written from its own thread, so the loop never waits on it; opened on that
    /// thread (again every 10 s while it cannot be), one that cannot be opened or written raises
    /// technical.trend_store_failed, its rows wait in memory, monitoring goes on. `clinical: false`
    /// (`alveo record`): stdout only.
    static func live(config: AgentConfig, clinical: Bool, logger: Logger, clock: AgentClock, format: EventFormat) throws(JournalError) -> RuntimeSinks {
        // Each event line carries the wall-clock time beside the agent's t, and is written at once.
        let stdout = SharedWriter(EventWriter(format: format, flushEach: true, wallClock: true))
        let outputs = clinical ? try OutputPipeline(config: config.outputs, logger: logger, clock: { clock.seconds() },
                                                    wallTime: { PCD04Message.rfc3339(Date()) }, tolerateUnopenedJournal: true,
                                                    emit: { stdout.write($0) }) : nil
        if let reason = outputs?.journalUnopened {
            logger.critical("THE ALARM JOURNAL CANNOT BE OPENED: \(reason). Alveo monitors on WITHOUT it: alarms go to stdout, technical.journal_failed to the central station; nothing is recorded on disk until it can be opened (tried every 5 s)")
        }
        outputs?.start()
        var trends: Trends?
        if clinical, let path = config.trends.path {
            let directory = (path as NSString).deletingLastPathComponent
            let writer = TrendWriter(path: path, rawRetention: config.trends.rawRetention, summaryRetention: config.trends.summaryRetention,
                                     minFreeBytes: UInt64(config.trends.minFreeMB * 1_048_576),
                                     freeSpace: { SystemHealth.freeBytes(at: directory.isEmpty ? "." : directory) }) {
                () throws(TrendStoreError) in try TrendStore(path: path)
            }
            writer.start()
            trends = .live(writer)
        }
        return RuntimeSinks(outputs: outputs, trends: trends, clock: .live(clock), stdout: stdout, countsEvents: true, virtualNow: VirtualNow())
    }

    /// A replay's sinks: stdout (buffered unless `flushEach`), the configuration's outputs if there is
    /// one (exit 74 when the journal cannot be opened), and the trend store at `trendsPath` (exit 74).
    static func replay(config: AgentConfig?, origin: Date, format: EventFormat, flushEach: Bool, trendsPath: String?) throws(CommandExit) -> RuntimeSinks {
        let stdout = SharedWriter(EventWriter(format: format, flushEach: flushEach))
        let now = VirtualNow()
        let wall: @Sendable (Double) -> String = { PCD04Message.rfc3339(origin.addingTimeInterval($0)) }
        let outputs = try config.map { config throws(CommandExit) in
            try Commands.startOutputs(config, clock: { now.seconds }, wallTime: { wall(now.seconds) }, emit: { stdout.write($0) })
        }
        var trends: Trends?
        if let trendsPath {
            do { trends = .batch(TrendBatchWriter(store: try TrendStore(path: trendsPath))) } catch {
                outputs?.stop()
                Console.error("error: \(error)")
                throw CommandExit(.ioError)
            }
        }
        return RuntimeSinks(outputs: outputs, trends: trends, clock: .virtual(origin: origin), stdout: stdout, countsEvents: false, virtualNow: now)
    }

    /// Where the loop's trend rows go (`BedsideLoop.recordTrends`), with t = 0 at `origin` (Unix
    /// seconds); nil without a trend store.
    func trendOutput(origin: Double) -> TrendOutput? {
        guard let trends else { return nil }
        return TrendOutput(origin: origin) { trends.append($0) }
    }

    /// The wall-clock time the journal stamps on what happens at `t`: now live, `origin + t` in a replay.
    func wallTime(at t: Double) -> String {
        switch clock {
        case .live: PCD04Message.rfc3339(Date())
        case .virtual(let origin): PCD04Message.rfc3339(origin.addingTimeInterval(t))
        }
    }

    /// Journals the events (fsync), then prints them and counts them. Live, they share the one wall
    /// time `wallTime` (default: now); in a replay each is stamped with the time it was detected.
    func record(_ events: [AlarmEvent], wallTime: String? = nil) {
        guard !events.isEmpty else { return }
        if let outputs {
            switch clock {
            case .live:
                outputs.record(events, wallTime: wallTime ?? self.wallTime(at: 0))
            case .virtual:
                for event in events {
                    virtualNow.set(event.t)
                    outputs.record([event], wallTime: wallTime ?? self.wallTime(at: event.t))
                }
            }
        }
        stdout.write(events)
        if countsEvents {
            for event in events {
                Counter(label: "alveo_alarm_events_total", dimensions: [("rule", event.rule.id), ("phase", event.phase.rawValue)]).increment()
            }
        }
    }

    /// Journals a charted or laboratory row of a scenario the loop accepted, at `t` (the record of who
    /// did what, when).
    func recordEntry(_ row: Observation, t: Double) {
        outputs?.recordEntry(row, t: t, wallTime: wallTime(at: t))
    }

    /// Journals an entry from a person or the hospital as the loop took it, at `t`, before its events.
    func recordInput(_ json: [UInt8], t: Double, wallTime: String) {
        outputs?.recordInput(json, t: t, wallTime: wallTime)
    }

    /// Writes out what stdout holds.
    func flush() { stdout.flush() }

    /// The start of a live clinical run: the journal marks it started at `started`, and what the
    /// previous run left in force is reconciled (docs/integration.md §2.8): the lifecycle entry
    /// (`RunLifecycle.reconciliation`) is handed to `take`, which records it in the trace and gives it
    /// to the loop, and the events are recorded here. Returns the previous run and the events (nil: no
    /// journal, or a new one).
    func begin(bed: String?, started: Date, take: (LifecycleEntry) -> [AlarmEvent]) -> (previous: PreviousRun, events: [AlarmEvent])? {
        guard let outputs else { return nil }
        outputs.appendMarker("started", wallTime: PCD04Message.rfc3339(started))
        guard let previous = outputs.previousRun else { return nil }
        // As the trace will hold it (evidence keys sorted), so that replay gives the same bytes.
        let composed = RunLifecycle.reconciliation(previous, bed: bed, now: started)
        let events = take(LifecycleEntry.decode(composed.json()) ?? composed)
        record(events)
        return (previous, events)
    }

    /// The end of a live clinical run, after the loop took its stop: the stop's events journaled and
    /// printed, the agent's own alarms ended, the stop marked; nothing held in memory is lost (a journal
    /// still failing gets a few more seconds, then what it could not take goes to the spill directory or
    /// stderr, reported); the trend store written out; then the station hears that the bed is
    /// unwatched: the outputs are drained, up to the shutdown budget.
    func finish(stopEvents events: [AlarmEvent], config: AgentConfig, logger: Logger) {
        guard let outputs else { return }
        let wall = PCD04Message.rfc3339(Date())
        record(events, wallTime: wall)
        outputs.endOwnAlarms()
        outputs.appendMarker("stopped", wallTime: wall)
        outputs.finishJournal(timeout: min(config.outputs.shutdownBudget, .seconds(5)), logger: logger)
        stopTrends()  // what is queued is written before the process ends
        // Blocks this task up to the budget: the service group is stopping, nothing else waits on it.
        if !outputs.drain(timeout: config.outputs.shutdownBudget) {
            logger.warning("stopping before every alarm event was delivered: \(outputs.undelivered) wait in the journal for the next run or alveo deliver")
        }
    }

    /// Live: the trend store's writer (its state for technical.trend_store_failed and the metrics).
    var liveTrendWriter: TrendWriter? {
        if case .live(let writer) = trends { writer } else { nil }
    }

    /// Live: stops the trend store's thread once what is queued is written.
    func stopTrends() {
        if case .live(let writer) = trends { writer.stop() }
    }

    /// The end of a replay: the trend store written out (74 when it fails); with outputs, anything the
    /// journal could not take fails the replay (74); then every journaled event is delivered within
    /// `drainTimeout` seconds, or the replay fails (75).
    func finishReplay(drainTimeout: Double) throws(CommandExit) {
        if case .batch(let writer) = trends {
            do { try writer.finish() } catch {
                Console.error("error: \(error)")
                throw CommandExit(.ioError)
            }
        }
        guard let outputs else { return }
        // Alarm events the journal could not take (disk full, read-only) were printed but are held in
        // memory: one more try, then a replay that leaves any of them unjournaled fails.
        outputs.retryJournal()
        let unjournaled = outputs.unjournaled
        if unjournaled.held + unjournaled.dropped > 0 {
            stdout.flush()
            // The station hears of it before the process ends: that message is in no file.
            outputs.waitForUnjournaled(timeout: .clampedSeconds(drainTimeout))
            Console.error("error: \(unjournaled.held + unjournaled.dropped) journal item(s) (alarm events, charted entries) could not be written to the journal; the events were printed above but are not in the journal and will not reach the central station (see technical.journal_failed)")
            throw CommandExit(.ioError)
        }
        let drained = outputs.drain(timeout: .clampedSeconds(drainTimeout))
        stdout.flush()
        if !drained {
            Console.error("error: \(outputs.undelivered) journaled events not delivered within \(drainTimeout) s; they stay in the journal and are delivered on the next start")
            throw CommandExit(.tempFail)
        }
    }

    /// Stops the forwarders (after the message in flight; what is undelivered stays in the journal).
    func stop() { outputs?.stop() }
}
