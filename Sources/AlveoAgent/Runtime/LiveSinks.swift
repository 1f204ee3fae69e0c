import AlveoCore
import AlveoIO
import AlveoOutput
import AlveoTrends
import Foundation
import Logging

/// Where the live runtime's events go: the journal and its forwarders (`OutputPipeline`), the trend
/// store's writer thread, and stdout (`emit`). An event is journaled (fsync) first, and only then
/// printed: it counts as recorded once journaled. A run that polls and records only (`alveo record`)
/// has none of them.
struct LiveSinks {
    let outputs: OutputPipeline?
    let trendWriter: TrendWriter?
    private let emit: @Sendable ([AlarmEvent]) -> Void
    private let config: AgentConfig
    private let logger: Logger

    /// Opens and starts them. A journal that cannot be opened (a read-only or missing file system) does
    /// not stop the monitoring: alarms go to stdout, technical.journal_failed to every output that
    /// works, and the journal is tried again every few seconds (issue 23; before, the agent exited 74
    /// and systemd restarted it forever, with no alarm anywhere). The trend store (docs/trends.md) is
    /// written from its own thread, so the loop never waits on it; opened on that thread (again every
    /// 10 s while it cannot be), one that cannot be opened or written raises
    /// technical.trend_store_failed, its rows wait in memory, monitoring goes on.
    init(config: AgentConfig, clinical: Bool, logger: Logger, clock: AgentClock, emit: @escaping @Sendable ([AlarmEvent]) -> Void) throws {
        self.config = config
        self.logger = logger
        self.emit = emit
        outputs = clinical ? try OutputPipeline(config: config.outputs, logger: logger, clock: { clock.seconds() },
                                                wallTime: { PCD04Message.rfc3339(Date()) }, tolerateUnopenedJournal: true, emit: emit) : nil
        if let reason = outputs?.journalUnopened {
            logger.critical("THE ALARM JOURNAL CANNOT BE OPENED: \(reason). Alveo monitors on WITHOUT it: alarms go to stdout, technical.journal_failed to the central station; nothing is recorded on disk until it can be opened (tried every 5 s)")
        }
        outputs?.start()
        if clinical, let path = config.trends.path {
            let directory = (path as NSString).deletingLastPathComponent
            let writer = TrendWriter(path: path, rawRetention: config.trends.rawRetention, summaryRetention: config.trends.summaryRetention,
                                     minFreeBytes: UInt64(config.trends.minFreeMB * 1_048_576),
                                     freeSpace: { SystemHealth.freeBytes(at: directory.isEmpty ? "." : directory) }) {
                () throws(TrendStoreError) in try TrendStore(path: path)
            }
            writer.start()
            trendWriter = writer
        } else {
            trendWriter = nil
        }
    }

    /// Journals the events (fsync), then prints them.
    func record(_ events: [AlarmEvent], wallTime: String = PCD04Message.rfc3339(Date())) {
        guard let outputs, !events.isEmpty else { return }
        outputs.record(events, wallTime: wallTime)
        emit(events)
    }

    /// The end of a clinical run, after the loop took its stop: the stop's events journaled and
    /// printed, the agent's own alarms ended, the stop marked; nothing held in memory is lost (a journal
    /// still failing gets a few more seconds, then what it could not take goes to the spill directory or
    /// stderr, reported); the trend store written out; then the station hears that the bed is
    /// unwatched: the outputs are drained, up to the shutdown budget.
    func finish(stopEvents events: [AlarmEvent]) {
        guard let outputs else { return }
        let wall = PCD04Message.rfc3339(Date())
        record(events, wallTime: wall)
        outputs.endOwnAlarms()
        outputs.appendMarker("stopped", wallTime: wall)
        outputs.finishJournal(timeout: min(config.outputs.shutdownBudget, .seconds(5)), logger: logger)
        trendWriter?.stop()  // what is queued is written before the process ends
        // Blocks this task up to the budget: the service group is stopping, nothing else waits on it.
        if !outputs.drain(timeout: config.outputs.shutdownBudget) {
            logger.warning("stopping before every alarm event was delivered: \(outputs.undelivered) wait in the journal for the next run or alveo deliver")
        }
    }
}
