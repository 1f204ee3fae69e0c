import AlveoCore
import AlveoOutput
import Foundation
import Logging

/// The journal and the forwarders reading it. Every event is appended (and fsync'ed) before anything
/// else happens to it; forwarders deliver from the journal on their own threads.
public final class OutputPipeline {
    public let journal: Journal?
    public let forwarders: [JournalForwarder]
    private let logger: Logger

    public init(config: OutputConfig, logger: Logger) throws(JournalError) {
        self.logger = logger
        guard let directory = config.journalDirectory else {
            journal = nil
            forwarders = []
            return
        }
        let journal = try Journal(directory: directory, segmentMaxBytes: config.segmentMaxBytes)
        for warning in journal.recovery { logger.warning("journal recovered: \(warning)") }
        self.journal = journal
        var wires: [any ForwardingProtocol] = []
        if let hl7 = config.hl7 { wires.append(HL7Protocol(settings: hl7)) }
        if let syslog = config.syslog { wires.append(SyslogProtocol(settings: syslog)) }
        forwarders = wires.map { JournalForwarder(wire: $0, journalDirectory: directory, logger: logger) }
    }

    public func start() { forwarders.forEach { $0.start() } }

    public func stop() { forwarders.forEach { $0.stop() } }

    /// The lowest delivery position of all forwarders: everything up to it reached every receiver.
    private var deliveredEverywhere: Int64 {
        forwarders.map(\.position).min() ?? (journal?.lastSeq ?? 0)
    }

    /// Appends the events to the journal and wakes the forwarders. A journal failure is logged as
    /// critical and reported to the caller; the events still go to stdout.
    @discardableResult
    public func record(_ events: [AlarmEvent], wallTime: String?) -> Bool {
        guard let journal else { return true }
        var ok = true
        for event in events {
            do {
                try journal.append(event, wallTime: wallTime)
            } catch {
                ok = false
                logger.critical("alarm event NOT journaled: \(error)", metadata: ["rule": "\(event.rule.id)", "alarm_id": "\(event.alarmID)"])
            }
        }
        forwarders.forEach { $0.wake() }
        if !forwarders.isEmpty { journal.prune(deliveredUpTo: deliveredEverywhere) }
        return ok
    }

    /// Entries journaled but not yet delivered by every forwarder.
    public var undelivered: Int64 {
        guard let journal else { return 0 }
        return journal.lastSeq - deliveredEverywhere
    }

    /// Waits until every forwarder has delivered the whole journal, up to `timeout`.
    public func drain(timeout: Duration) -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while undelivered > 0 {
            if clock.now >= deadline { return false }
            forwarders.forEach { $0.wake() }
            usleep(20_000)
        }
        return true
    }
}
