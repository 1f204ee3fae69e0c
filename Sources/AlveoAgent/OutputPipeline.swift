import AlveoCore
import AlveoOutput
import Foundation
import Logging

/// Appends to the journal from the agent and from forwarder threads (under one lock), and raises the
/// agent's own technical alarm when a receiver refuses a message (`technical.delivery_failed`, one per
/// forwarder, ended by that forwarder's next delivery).
final class JournalWriter: @unchecked Sendable {
    // @unchecked: every access to `journal`, `failing` and `nextAlarmID` is under `lock`.
    private let lock = NSLock()
    let journal: Journal
    private let logger: Logger
    private var failing: [String: Int] = [:]
    /// Agent alarms are numbered apart from the core's (1, 2, …) so the two never collide.
    private var nextAlarmID = 1_000_001
    var emit: @Sendable ([AlarmEvent]) -> Void = { _ in }
    var clock: @Sendable () -> Double = { 0 }
    var wallTime: @Sendable () -> String? = { nil }

    init(journal: Journal, logger: Logger) {
        self.journal = journal
        self.logger = logger
    }

    var lastSeq: Int64 { lock.withLock { journal.lastSeq } }

    @discardableResult
    func append(_ events: [AlarmEvent], wallTime: String?) -> Bool {
        lock.withLock { appendLocked(events, wallTime: wallTime) }
    }

    private func appendLocked(_ events: [AlarmEvent], wallTime: String?) -> Bool {
        var ok = true
        for event in events {
            do {
                try journal.append(event, wallTime: wallTime)
            } catch {
                ok = false
                logger.critical("alarm event NOT journaled: \(error)", metadata: ["rule": "\(event.rule.id)", "alarm_id": "\(event.alarmID)"])
            }
        }
        return ok
    }

    func appendEntry(_ observation: Observation, t: Double, wallTime: String?) {
        lock.withLock {
            do {
                try journal.append(entry: observation, t: t, wallTime: wallTime)
            } catch {
                logger.critical("charted entry NOT journaled: \(error)", metadata: ["parameter": "\(observation.parameter.name)"])
            }
        }
    }

    func prune(deliveredUpTo seq: Int64) {
        lock.withLock { journal.prune(deliveredUpTo: seq) }
    }

    func refused(forwarder: String, seq: Int64, reason: String, parked: Bool) {
        let event: AlarmEvent? = lock.withLock {
            guard failing[forwarder] == nil else { return nil }
            let id = nextAlarmID
            nextAlarmID += 1
            failing[forwarder] = id
            let event = AlarmEvent(
                t: clock(), alarmID: id, rule: .deliveryFailed, source: forwarder, parameter: nil, phase: .start,
                priority: .medium, state: .active, acknowledged: false, reason: nil,
                text: parked
                    ? "The central station (\(forwarder)) refused alarm message \(seq): \(reason). It is kept in the journal's \(forwarder)-parked.jsonl; check the receiving interface, alarms may not reach the station."
                    : "The central station (\(forwarder)) keeps refusing alarm message \(seq): \(reason). Later alarms wait behind it; check the receiving interface now.",
                evidence: [("journal_seq", .number(Double(seq))), ("reason", .string(reason))])
            _ = appendLocked([event], wallTime: wallTime())
            return event
        }
        if let event { emit([event]) }
    }

    func delivered(forwarder: String, seq: Int64) {
        let event: AlarmEvent? = lock.withLock {
            guard let id = failing[forwarder] else { return nil }
            failing[forwarder] = nil
            let event = AlarmEvent(
                t: clock(), alarmID: id, rule: .deliveryFailed, source: forwarder, parameter: nil, phase: .end,
                priority: .medium, state: .inactive, acknowledged: false, reason: nil,
                text: "The central station (\(forwarder)) accepts alarm messages again (journal entry \(seq) delivered).",
                evidence: [("journal_seq", .number(Double(seq)))])
            _ = appendLocked([event], wallTime: wallTime())
            return event
        }
        if let event { emit([event]) }
    }
}

/// The journal and the forwarders reading it. Every event is appended (and fsync'ed) before anything
/// else happens to it; forwarders deliver from the journal on their own threads.
public final class OutputPipeline {
    let writer: JournalWriter?
    public let forwarders: [JournalForwarder]

    /// `emit` receives the agent's own alarms (delivery failures) for stdout; `clock` gives their t;
    /// `wallTime` stamps their journal entries (nil in replay).
    public init(config: OutputConfig, logger: Logger, clock: @escaping @Sendable () -> Double = { 0 },
                wallTime: @escaping @Sendable () -> String? = { nil },
                emit: @escaping @Sendable ([AlarmEvent]) -> Void = { _ in }) throws(JournalError)
    {
        guard let directory = config.journalDirectory else {
            writer = nil
            forwarders = []
            return
        }
        let journal = try Journal(directory: directory, segmentMaxBytes: config.segmentMaxBytes)
        for warning in journal.recovery { logger.warning("journal recovered: \(warning)") }
        let writer = JournalWriter(journal: journal, logger: logger)
        writer.emit = emit
        writer.clock = clock
        writer.wallTime = wallTime
        self.writer = writer
        var wires: [any ForwardingProtocol] = []
        if let hl7 = config.hl7 { wires.append(HL7Protocol(settings: hl7, runID: journal.runID)) }
        if let syslog = config.syslog { wires.append(SyslogProtocol(settings: syslog)) }
        forwarders = wires.map { wire in
            let name = wire.name
            return JournalForwarder(wire: wire, journalDirectory: directory, logger: logger,
                                    onParked: { seq, reason in writer.refused(forwarder: name, seq: seq, reason: reason, parked: true) },
                                    onStuck: { seq, reason in writer.refused(forwarder: name, seq: seq, reason: reason, parked: false) },
                                    onDelivered: { seq in writer.delivered(forwarder: name, seq: seq) })
        }
    }

    /// The journal's last sequence number (0 without a journal).
    public var lastSeq: Int64 { writer?.lastSeq ?? 0 }

    public func start() { forwarders.forEach { $0.start() } }

    public func stop() { forwarders.forEach { $0.stop() } }

    /// The lowest delivery position of all forwarders: everything up to it reached every receiver.
    private var deliveredEverywhere: Int64 {
        forwarders.map(\.position).min() ?? (writer?.lastSeq ?? 0)
    }

    /// Appends the events to the journal and wakes the forwarders. A journal failure is logged as
    /// critical and reported to the caller; the events still go to stdout.
    @discardableResult
    public func record(_ events: [AlarmEvent], wallTime: String?) -> Bool {
        guard let writer else { return true }
        let ok = writer.append(events, wallTime: wallTime)
        forwarders.forEach { $0.wake() }
        if !forwarders.isEmpty { writer.prune(deliveredUpTo: deliveredEverywhere) }
        return ok
    }

    /// Journals a charted or lab entry the core accepted (the record of who did what, when).
    public func recordEntry(_ observation: Observation, t: Double, wallTime: String?) {
        guard let writer else { return }
        writer.appendEntry(observation, t: t, wallTime: wallTime)
        forwarders.forEach { $0.wake() }
    }

    /// Entries journaled but not yet delivered by every forwarder.
    public var undelivered: Int64 {
        guard let writer else { return 0 }
        return writer.lastSeq - deliveredEverywhere
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
        if let writer, !forwarders.isEmpty { writer.prune(deliveredUpTo: deliveredEverywhere) }
        return true
    }
}
