import AlveoCore
import AlveoOutput
import Foundation
import Logging

/// Appends to the journal from the agent and from forwarder threads (under one lock), and raises the
/// agent's own technical alarm when a receiver refuses a message (`technical.delivery_failed`, one per
/// forwarder). A message still being resent (`AE` three times) ends the alarm when it is delivered; a
/// parked message (`AR`) keeps it active until someone has reviewed the parked file and moved it away:
/// a lost alarm message must not be announced and withdrawn in the same breath.
final class JournalWriter: @unchecked Sendable {
    // @unchecked: every access to `journal`, `failing` and `nextAlarmID` is under `lock`.
    private let lock = NSLock()
    let journal: Journal
    private let logger: Logger
    private enum Failure {
        /// A message is parked: active while the forwarder's parked file holds messages.
        case parked
        /// A message is refused again and again: active until it is delivered.
        case stuck
    }
    private var failing: [String: (id: Int, failure: Failure)] = [:]
    /// Agent alarms are numbered apart from the core's (1, 2, …) so the two never collide.
    private var nextAlarmID = 1_000_001
    var emit: @Sendable ([AlarmEvent]) -> Void = { _ in }
    var clock: @Sendable () -> Double = { 0 }
    var wallTime: @Sendable () -> String? = { nil }

    init(journal: Journal, logger: Logger) {
        self.journal = journal
        self.logger = logger
    }

    /// The file a forwarder parks refused messages in (`JournalForwarder`).
    func parkedFile(_ forwarder: String) -> String { journal.directory + "/\(forwarder)-parked.jsonl" }

    /// Parked messages not yet reviewed: the parked file is there and not empty.
    private func parkedWaiting(_ forwarder: String) -> Int {
        guard let data = FileManager.default.contents(atPath: parkedFile(forwarder)) else { return 0 }
        return data.split(separator: UInt8(ascii: "\n")).count
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
        let text = parked
            ? "The central station (\(forwarder)) refused alarm message \(seq): \(reason). It is kept in the journal's \(forwarder)-parked.jsonl; check the receiving interface, alarms may not reach the station. This alarm ends once the parked file has been reviewed and moved away."
            : "The central station (\(forwarder)) keeps refusing alarm message \(seq): \(reason). Later alarms wait behind it; check the receiving interface now."
        raise(forwarder: forwarder, failure: parked ? .parked : .stuck, text: text,
              evidence: [("journal_seq", .number(Double(seq))), ("reason", .string(reason))])
    }

    /// At start: messages parked by an earlier run and not yet reviewed raise the alarm again.
    func raiseIfParkedWaiting(forwarder: String) {
        let waiting = lock.withLock { parkedWaiting(forwarder) }
        guard waiting > 0 else { return }
        raise(forwarder: forwarder, failure: .parked,
              text: "\(waiting) alarm message(s) refused by the central station (\(forwarder)) wait for review in the journal's \(forwarder)-parked.jsonl: they may not have reached the station. This alarm ends once the parked file has been reviewed and moved away.",
              evidence: [("parked_messages", .number(Double(waiting)))])
    }

    private func raise(forwarder: String, failure: Failure, text: String, evidence: [(String, JSONValue)]) {
        let event: AlarmEvent? = lock.withLock {
            if let active = failing[forwarder] {
                // One alarm per forwarder; a parked message makes an active one wait for the review too.
                if failure == .parked { failing[forwarder] = (active.id, .parked) }
                return nil
            }
            let id = nextAlarmID
            nextAlarmID += 1
            failing[forwarder] = (id, failure)
            let event = AlarmEvent(
                t: clock(), alarmID: id, rule: .deliveryFailed, source: forwarder, parameter: nil, phase: .start,
                priority: .medium, state: .active, acknowledged: false, reason: nil, text: text, evidence: evidence)
            _ = appendLocked([event], wallTime: wallTime())
            return event
        }
        if let event { emit([event]) }
    }

    func delivered(forwarder: String, seq: Int64) {
        end(forwarder: forwarder) { failure in
            guard failure == .stuck || parkedWaiting(forwarder) == 0 else { return nil }
            return ("The central station (\(forwarder)) accepts alarm messages again (journal entry \(seq) delivered).",
                    [("journal_seq", .number(Double(seq)))])
        }
    }

    /// Ends a parked-message alarm once its parked file has been moved away (called every second by
    /// the live agent).
    func checkParked() {
        for forwarder in lock.withLock({ Array(failing.keys) }) {
            end(forwarder: forwarder) { failure in
                guard failure == .parked, parkedWaiting(forwarder) == 0 else { return nil }
                return ("The parked alarm messages of \(forwarder) were reviewed (\(forwarder)-parked.jsonl moved away).", [])
            }
        }
    }

    /// Ends the forwarder's alarm if `ending` gives the end's text and evidence (under the lock).
    private func end(forwarder: String, ending: (Failure) -> (String, [(String, JSONValue)])?) {
        let event: AlarmEvent? = lock.withLock {
            guard let active = failing[forwarder], let (text, evidence) = ending(active.failure) else { return nil }
            failing[forwarder] = nil
            let event = AlarmEvent(
                t: clock(), alarmID: active.id, rule: .deliveryFailed, source: forwarder, parameter: nil, phase: .end,
                priority: .medium, state: .inactive, acknowledged: false, reason: nil, text: text, evidence: evidence)
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
        for wire in wires { writer.raiseIfParkedWaiting(forwarder: wire.name) }
    }

    /// Ends a `technical.delivery_failed` for parked messages once the parked file has been moved
    /// away; the live agent calls it every second.
    public func checkParked() { writer?.checkParked() }

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
