import AlveoCore
import AlveoIO
import Foundation
import Logging
import Metrics

/// Appends to the journal from the agent and from forwarder threads (under one lock), and raises the
/// agent's own technical alarms:
/// - `technical.delivery_failed` when a receiver refuses a message (one per forwarder). A message still
///   being resent (`AE` three times) ends the alarm when it is delivered; a parked message (`AR`)
///   keeps it active until someone has reviewed the parked file and moved it away: a lost alarm
///   message must not be announced and withdrawn in the same breath.
/// - `technical.journal_failed` when the journal cannot be written (disk full, read-only, I/O error).
///   What could not be written is held in memory, in order (up to `backlogLimit` items), and written
///   again at every append and every `retry()` (each second live); once it is all written the alarm
///   ends. Its start goes to stdout at once and, since the forwarders read the journal, is also handed
///   to every forwarder directly (`JournalEntry.unjournaledID`), so the station hears of it too.
package final class JournalWriter: @unchecked Sendable {
    // @unchecked: every access to `journal`, `failing`, `alarms`, `ownSources`, `backlog` and
    // `journalFailure` is under `lock`.
    private let lock = NSLock()
    /// The journal, once open: at start it may not be (a read-only or missing file system); the agent
    /// then monitors on, raises `technical.journal_failed`, and tries to open it every few seconds.
    private var journal: Journal?
    /// Opens the journal; given a run id when this run already has one (opened late).
    private let openJournal: (String?) throws(JournalError) -> Journal
    private var lastOpenAttempt: ContinuousClock.Instant?
    private var openFailure: JournalError?
    static let reopenInterval = Duration.seconds(5)
    /// The journal's directory.
    let directory: String
    /// This run's id (the journal's, or made here while it cannot be opened).
    let runID: String
    /// What the journal held at open about the previous runs (nil: a new journal, or not opened at start).
    let previous: PreviousRun?
    private let logger: Logger
    private enum Failure {
        /// A message is parked: active while the forwarder's parked file holds messages.
        case parked
        /// A message is refused again and again: active until it is delivered.
        case stuck
    }
    /// Why each forwarder's `technical.delivery_failed` condition holds.
    private var failing: [String: Failure] = [:]
    /// The agent's own alarms on the core's alarm engine: the offset, minimum active time and chatter
    /// bound of rules v3 §1.4 like every rule's; never re-announced, never latched (v2 5.22–5.30).
    /// Numbered apart from the core's (1, 2, …) so the two never collide.
    private var alarms: AlarmBook
    /// The sources of the own alarms (outputs, "journal"), by the index their alarm keys carry.
    private var ownSources: [String] = []
    var emit: @Sendable ([AlarmEvent]) -> Void = { _ in }
    var clock: @Sendable () -> Double = { 0 }
    var wallTime: @Sendable () -> String? = { nil }
    /// Hands an event that could not be journaled to every forwarder directly.
    var sendUnjournaled: @Sendable (JournalEntry) -> Void = { _ in }

    /// What could not be written yet, oldest first, as the journal lines they will be.
    private var backlog: [Journal.Line] = []
    /// Held items are bounded: past this, the oldest are dropped (and counted) rather than memory grown.
    static let backlogLimit = 10_000
    private var droppedFromBacklog = 0
    /// Items dropped from the backlog since the start, never reset: a replay that lost any fails.
    private var lostItems = 0
    /// The active `technical.journal_failed` alarm: its id, since when, why.
    private var journalFailure: (since: Double, reason: String)?

    /// `open` opens the journal; when it fails and `tolerateUnopened` (the live agent), the writer
    /// starts without one and every write is held until it opens; otherwise the failure is thrown.
    init(directory: String, logger: Logger, tolerateUnopened: Bool, policies: [AlarmPolicy] = RuleID.allCases.map(AlarmPolicy.defaults),
         open: @escaping (String?) throws(JournalError) -> Journal) throws(JournalError) {
        self.directory = directory
        self.logger = logger
        alarms = AlarmBook(schedule: .never, policies: policies, firstID: 1_000_001, latches: false)
        openJournal = open
        do {
            let journal = try open(nil)
            self.journal = journal
            runID = journal.runID
            previous = journal.previous
        } catch {
            guard tolerateUnopened, !error.inUse else { throw error }
            openFailure = error
            lastOpenAttempt = .now
            // The journal takes it when it opens later (unless its last run's id sorts after it).
            runID = Journal.newRunID()
            previous = nil
        }
    }

    /// Why the journal could not be opened at start (nil: it was).
    var unopenedReason: String? { lock.withLock { journal == nil ? openFailure?.description : nil } }

    /// What the journal recovered at open (torn lines set aside).
    var recovery: [String] { lock.withLock { journal?.recovery ?? [] } }

    /// The journal, opened now if it was not and the last try is long enough ago; under `lock`.
    private func openedJournal() throws(JournalError) -> Journal {
        if let journal { return journal }
        let now = ContinuousClock.now
        if let last = lastOpenAttempt, now - last < JournalWriter.reopenInterval, let openFailure { throw openFailure }
        lastOpenAttempt = now
        do {
            let opened = try openJournal(runID)
            journal = opened
            openFailure = nil
            logger.notice("the alarm journal could be opened at last", metadata: ["journal": "\(directory)", "run": "\(opened.runID)"])
            for warning in opened.recovery { logger.warning("journal recovered: \(warning)") }
            return opened
        } catch {
            openFailure = error
            throw error
        }
    }

    /// The file a forwarder parks refused messages in (`JournalForwarder`).
    func parkedFile(_ forwarder: String) -> String { directory + "/\(forwarder)-parked.jsonl" }

    /// Parked messages not yet reviewed: the parked file is there and not empty.
    private func parkedWaiting(_ forwarder: String) -> Int {
        guard let data = FileManager.default.contents(atPath: parkedFile(forwarder)) else { return 0 }
        return data.split(separator: UInt8(ascii: "\n")).count
    }

    var lastSeq: Int64 { lock.withLock { journal?.lastSeq ?? 0 } }

    /// Items not journaled yet (held in memory), and items dropped since the start because there
    /// were too many.
    var unjournaled: (held: Int, dropped: Int) { lock.withLock { (backlog.count, lostItems) } }

    /// Journals the events (after anything still held); false if they are held in memory instead.
    /// Who the bed's events are about once a patient came from an admission (nil: the configuration's).
    var patient: JournalPatient? {
        get { lock.withLock { currentPatient } }
        set { lock.withLock { currentPatient = newValue } }
    }
    private var currentPatient: JournalPatient?

    @discardableResult
    func append(_ events: [AlarmEvent], wallTime: String?) -> Bool {
        let patient = self.patient
        return write(events.map { Journal.line($0, wallTime: wallTime, patient: patient) })
    }

    func appendInput(_ json: [UInt8], t: Double, wallTime: String?) {
        _ = write([Journal.line(input: json, t: t, wallTime: wallTime)])
    }

    func appendEntry(_ observation: Observation, t: Double, wallTime: String?) {
        _ = write([Journal.line(entry: observation, t: t, wallTime: wallTime)])
    }

    /// Writes what is held (called every second by the live agent, and at the end of a replay).
    func retry() { _ = write([]) }

    /// Writes held items, then `items`, in order; holds whatever cannot be written; raises or ends
    /// `technical.journal_failed` (outside the lock: emitting takes the stdout writer's lock).
    private func write(_ items: [Journal.Line]) -> Bool {
        let (ok, started, ended) = lock.withLock { () -> (Bool, AlarmEvent?, AlarmEvent?) in
            var pending = backlog + items
            backlog = []
            var reason: String?
            var written = 0
            // A journal not opened yet: tried again (every few seconds) even with nothing to write, so
            // that its failure is raised at once and its return is noticed.
            if journal == nil {
                do { _ = try openedJournal() } catch { reason = "\(error)" }
            }
            for item in pending where reason == nil {
                do {
                    try writeLocked(item)
                    written += 1
                } catch {
                    reason = "\(error)"
                    break
                }
            }
            pending.removeFirst(written)
            if pending.count > JournalWriter.backlogLimit {
                droppedFromBacklog += pending.count - JournalWriter.backlogLimit
                lostItems += pending.count - JournalWriter.backlogLimit
                pending.removeFirst(pending.count - JournalWriter.backlogLimit)
            }
            backlog = pending
            let journalKey = ownKey(.journalFailed, "journal")
            if let reason, journalFailure == nil {
                // Not journaled now: the start goes to stdout and the forwarders at once, and is held
                // with the rest so the journal has it once it can be written again.
                let now = clock()
                journalFailure = (now, reason)
                logger.critical("the alarm journal cannot be written: \(reason); \(backlog.count) item(s) held in memory, retrying every second",
                                metadata: ["journal": "\(directory)"])
                let directory = directory
                // Nil while the alarm is still in force, intermittent (the failure came back within its bound).
                guard let event = ownEvent(.journalFailed, source: "journal", .active(.high), describe: { _ in
                    ("The alarm journal cannot be written (\(reason)). Alarms are shown here but may not reach the central station until it is fixed: free disk space or check the storage of \(directory). Alveo keeps them in memory and retries every second.",
                     [("journal_directory", .string(directory)), ("reason", .string(reason))])
                }) else { return (false, nil, nil) }
                backlog.append(Journal.line(event, wallTime: wallTime(), patient: currentPatient))
                return (false, event, nil)
            }
            if reason == nil, backlog.isEmpty, let since = journalFailure?.since ?? alarms.instance(journalKey)?.since {
                journalFailure = nil
                let now = clock()
                let dropped = droppedFromBacklog
                let directory = directory
                // The end (or, past the chatter bound, the alarm staying intermittent until stable).
                guard let event = ownEvent(.journalFailed, source: "journal", .inactive, describe: { _ in
                    let lost = dropped > 0 ? " \(dropped) older item(s) were dropped from memory while it failed and are lost." : ""
                    return ("The alarm journal is written again; the alarms held in memory since \(Fmt.duration(now - since)) ago are journaled and delivered.\(lost)",
                            [("journal_directory", .string(directory)), ("dropped", .number(Double(dropped)))])
                }) else { return (true, nil, nil) }
                droppedFromBacklog = 0
                logger.notice("the alarm journal is written again", metadata: ["journal": "\(directory)", "dropped": "\(dropped)"])
                let line = Journal.line(event, wallTime: wallTime(), patient: currentPatient)
                do { try writeLocked(line) } catch {
                    backlog.append(line)
                }
                return (true, nil, event)
            }
            return (reason == nil, nil, nil)
        }
        if let started {
            emit([started])
            sendUnjournaled(JournalEntry(seq: 0, run: runID, wallTime: wallTime(), event: started,
                                         unjournaledID: "JF-\(runID)-\(started.alarmID)", patient: patient))
        }
        if let ended { emit([ended]) }
        return ok
    }

    private func writeLocked(_ line: Journal.Line) throws(JournalError) {
        try openedJournal().append(line)
    }

    func prune(deliveredUpTo seq: Int64) {
        lock.withLock { journal?.prune(deliveredUpTo: seq) }
    }

    /// The agent's start or clean stop: journaled like the events (held, and spilled, when it cannot be).
    func appendMarker(_ marker: String, wallTime: String?) {
        _ = write([Journal.line(marker: marker, wallTime: wallTime)])
    }

    /// At the stop, what is still held because the journal cannot be written goes to a spill file in
    /// `directory` (journaled by the next run that opens the journal), or, failing that, to stderr.
    /// Returns where it went and how many; the held items are then let go.
    func spill(to directory: String?) -> (count: Int, file: String?, lostEarlier: Int) {
        let (lines, lost) = lock.withLock { () -> ([Journal.Line], Int) in
            defer { backlog.removeAll() }
            return (backlog, lostItems)
        }
        guard !lines.isEmpty else { return (0, nil, lost) }
        if let directory {
            do {
                let file = try JournalSpill.write(lines, run: runID, directory: directory)
                syncDirectory(directory)
                return (lines.count, file, lost)
            } catch {
                logger.critical("cannot write the spill file in \(directory): \(error); the held items go to stderr")
            }
        }
        JournalSpill.toStandardError(lines, run: runID)
        return (lines.count, nil, lost)
    }

    func markAlive() { lock.withLock { journal?.markAlive() } }

    /// The key of an own alarm (under `lock`).
    private func ownKey(_ rule: RuleID, _ source: String?) -> AlarmKey {
        guard let source else { return AlarmKey(rule: rule) }
        if let index = ownSources.firstIndex(of: source) { return AlarmKey(rule: rule, source: index) }
        ownSources.append(source)
        return AlarmKey(rule: rule, source: ownSources.count - 1)
    }

    /// One own alarm's condition through the alarm engine (under `lock`): the event of its transition,
    /// if any. `describe(true)` gives the text and evidence of a start, `describe(false)` of an end.
    private func ownEvent(_ rule: RuleID, source: String?, _ assessment: Assessment,
                          describe: (_ starting: Bool) -> (String, [(String, JSONValue)])) -> AlarmEvent? {
        let now = clock()
        guard let transition = alarms.step(ownKey(rule, source), assessment, at: now) else { return nil }
        var (text, evidence) = describe(transition.phase != .end)
        let stable = Fmt.duration(alarms.policies[rule.ordinal].chatterStable)
        if let onsets = transition.intermittentOnsets {
            text = "Intermittent: started \(onsets) times in 60 min; stays active until stable for \(stable). " + text
            evidence += [("intermittent", .bool(true)), ("onsets_1h", .number(Double(onsets)))]
        }
        if let episodes = transition.episodes {
            text = "Stable for \(stable). " + text
            evidence.append(("episodes", .number(Double(episodes))))
        }
        return AlarmEvent(t: now, alarmID: transition.alarmID, rule: rule, source: source, parameter: nil, phase: transition.phase,
                          priority: transition.priority, state: transition.state, acknowledged: transition.acknowledged,
                          reason: transition.reason, text: text, evidence: evidence)
    }

    /// Raises or ends one of the agent's health alarms: journaled (so every output that works sends
    /// it) and emitted; `describe` gives the text and evidence of the start or the end.
    func setCondition(_ rule: RuleID, source: String?, active: Bool, priority: Priority,
                      describe: (_ starting: Bool) -> (String, [(String, JSONValue)]))
    {
        let event: AlarmEvent? = lock.withLock {
            ownEvent(rule, source: source, active ? .active(priority) : .inactive, describe: describe)
        }
        if let event {
            append([event], wallTime: wallTime())
            emit([event])
        }
    }

    /// At a clean stop: the agent's own alarms in force (delivery failed, station unreachable, clock,
    /// disk) end with reason `agent_stopped`, like the core's; the next run raises them again if they
    /// still hold. (`technical.journal_failed` stays: its end needs the journal written.)
    func endOwnAlarms() {
        let events: [AlarmEvent] = lock.withLock {
            var ended: [AlarmEvent] = []
            for key in alarms.keys where key.rule != .journalFailed {
                guard let end = alarms.remove(key, reason: "agent_stopped") else { continue }
                ended.append(AlarmEvent(t: clock(), alarmID: end.alarmID, rule: key.rule, source: key.source >= 0 ? ownSources[key.source] : nil,
                                        parameter: nil, phase: .end, priority: end.priority, state: .inactive, acknowledged: end.acknowledged,
                                        reason: "agent_stopped", text: "Ended: Alveo stopped watching this bed.", evidence: []))
            }
            failing.removeAll()
            return ended
        }
        if !events.isEmpty {
            append(events, wallTime: wallTime())
            emit(events)
        }
    }

    /// `unreadable`: the entry could not be read from the journal (never sent), rather than refused.
    func refused(forwarder: String, seq: Int64, reason: String, parked: Bool, unreadable: Bool = false) {
        let text = unreadable
            ? "Alarm message \(seq) in the journal cannot be read by this Alveo (\(reason)): it was not sent to the central station (\(forwarder)) and is kept in the journal's \(forwarder)-parked.jsonl. Check the Alveo version and the journal's disk. This alarm ends once the parked file has been reviewed and moved away."
            : parked
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
            // One alarm per forwarder; a parked message makes an active one wait for the review too.
            if failing[forwarder] != .parked { failing[forwarder] = failure }
            return ownEvent(.deliveryFailed, source: forwarder, .active(.medium)) { _ in (text, evidence) }
        }
        if let event {
            append([event], wallTime: wallTime())
            emit([event])
        }
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
            guard let failure = failing[forwarder], let (text, evidence) = ending(failure) else { return nil }
            let event = ownEvent(.deliveryFailed, source: forwarder, .inactive) { _ in (text, evidence) }
            // Past the chatter bound the alarm stays (intermittent) until stable; the condition has cleared.
            if event?.phase == .end || alarms.instance(ownKey(.deliveryFailed, forwarder)) == nil { failing[forwarder] = nil }
            return event
        }
        if let event {
            append([event], wallTime: wallTime())
            emit([event])
        }
    }
}

/// Where alarm events go besides stdout: the journal and the forwarders that read it.
package struct OutputConfig: Sendable, Equatable {
    package var journalDirectory: String?
    package var segmentMaxBytes = 16 << 20
    /// Where the live agent keeps what it could not journal at its stop (another file system than the
    /// journal's; nil: stderr only). Journaled by the next start that opens the journal.
    package var spillDirectory: String?
    package var hl7: HL7Settings?
    package var syslog: SyslogSettings?
    /// At a stop (SIGTERM): how long the agent waits for the ends of its alarms and
    /// `technical.monitoring_stopped` to be delivered before it exits (what is not delivered stays in
    /// the journal for the next run or `alveo deliver`).
    package var shutdownBudget: Duration = .seconds(10)
    /// The alarm engine's timing of the agent's own alarms (`rules.<id>` offset_s, min_active_s,
    /// chatter_max_per_h, chatter_stable_s; rules v3 §1.4).
    package var alarmPolicies: [AlarmPolicy] = RuleID.allCases.map(AlarmPolicy.defaults)

    package init() {}
}

/// The journal and the forwarders reading it. Every event is appended (and fsync'ed) before anything
/// else happens to it; forwarders deliver from the journal on their own threads.
package final class OutputPipeline {
    let writer: JournalWriter?
    package let forwarders: [JournalForwarder]
    /// This run's id (the journal's): in the alert references of its PCD-04 messages.
    package var runID: String? { writer?.runID }
    /// Where what cannot be journaled at a stop is kept (`outputs.journal.spill_directory`).
    let spillDirectory: String?
    private let ownAlarms = OwnAlarmList()

    /// `emit` receives the agent's own alarms (delivery failures) for stdout; `clock` gives their t;
    /// `wallTime` stamps their journal entries (nil in replay).
    /// `tolerateUnopenedJournal` (the live agent): a journal that cannot be opened does not stop it;
    /// it monitors on without one, raising `technical.journal_failed` at once (`start()`), and keeps
    /// trying to open it.
    package init(config: OutputConfig, logger: Logger, clock: @escaping @Sendable () -> Double = { 0 },
                wallTime: @escaping @Sendable () -> String? = { nil }, tolerateUnopenedJournal: Bool = false,
                emit: @escaping @Sendable ([AlarmEvent]) -> Void = { _ in }) throws(JournalError)
    {
        spillDirectory = config.spillDirectory
        guard let directory = config.journalDirectory else {
            writer = nil
            forwarders = []
            return
        }
        let segmentMaxBytes = config.segmentMaxBytes, spillDirectory = config.spillDirectory
        let writer = try JournalWriter(directory: directory, logger: logger, tolerateUnopened: tolerateUnopenedJournal,
                                       policies: config.alarmPolicies) { (runID: String?) throws(JournalError) in
            try Journal(directory: directory, segmentMaxBytes: segmentMaxBytes, runID: runID ?? Journal.newRunID(), spillDirectory: spillDirectory)
        }
        for warning in writer.recovery { logger.warning("journal recovered: \(warning)") }
        let ownAlarms = self.ownAlarms
        writer.emit = { events in
            ownAlarms.apply(events)
            emit(events)
        }
        writer.clock = clock
        writer.wallTime = wallTime
        self.writer = writer
        var wires: [any ForwardingProtocol] = []
        if let hl7 = config.hl7 { wires.append(HL7Protocol(settings: hl7, runID: writer.runID)) }
        if let syslog = config.syslog {
            switch syslog.transport {
            case .tcp: wires.append(SyslogProtocol(settings: syslog))
            case .relp: wires.append(SyslogRELPProtocol(settings: syslog))
            }
        }
        forwarders = wires.map { wire in
            let name = wire.name
            return JournalForwarder(wire: wire, journalDirectory: directory, logger: logger,
                                    onParked: { seq, reason, unreadable in
                                        writer.refused(forwarder: name, seq: seq, reason: reason, parked: true, unreadable: unreadable)
                                    },
                                    onStuck: { seq, reason in writer.refused(forwarder: name, seq: seq, reason: reason, parked: false) },
                                    onDelivered: { seq in writer.delivered(forwarder: name, seq: seq) })
        }
        let forwarders = self.forwarders
        writer.sendUnjournaled = { entry in forwarders.forEach { $0.sendUnjournaled(entry) } }
        for wire in wires { writer.raiseIfParkedWaiting(forwarder: wire.name) }
    }

    /// Every second of the live agent: writes alarm events held in memory after a journal failure,
    /// and ends a `technical.delivery_failed` for parked messages once the parked file has been moved
    /// away.
    package func checkParked() {
        writer?.retry()
        writer?.checkParked()
    }

    /// Writes alarm events held in memory after a journal failure, if the journal takes them now.
    package func retryJournal() { writer?.retry() }

    /// Journal items (events, charted entries) not written yet and held in memory, and those dropped
    /// because too many were held; both 0 when the journal is healthy.
    package var unjournaled: (held: Int, dropped: Int) { writer?.unjournaled ?? (0, 0) }

    /// The agent's own alarms in force (`technical.journal_failed`, `delivery_failed`,
    /// `station_unreachable`, `clock_unsynchronized`, `disk_low`, `trend_store_failed`): the start event
    /// of each, in order of alarm id, for `alveo status`.
    package var activeOwnAlarms: [AlarmEvent] { ownAlarms.active }

    /// The journal's last sequence number (0 without a journal).
    package var lastSeq: Int64 { writer?.lastSeq ?? 0 }

    /// Starts the forwarders; a journal that could not be opened raises `technical.journal_failed` now.
    package func start() {
        forwarders.forEach { $0.start() }
        if writer?.unopenedReason != nil { writer?.retry() }
    }

    /// Why the journal could not be opened at start, while it still cannot be (nil: it is open).
    package var journalUnopened: String? { writer?.unopenedReason }

    /// Stops the forwarders, after giving a message sent outside the journal (the start of
    /// `technical.journal_failed`) up to `unjournaledGrace` to go out: it is in no file to send later.
    package func stop(unjournaledGrace: Duration = .seconds(2)) {
        _ = waitForUnjournaled(timeout: unjournaledGrace)
        forwarders.forEach { $0.stop() }
    }

    /// Waits until every forwarder has settled the messages handed to it outside the journal.
    @discardableResult
    package func waitForUnjournaled(timeout: Duration) -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while forwarders.contains(where: { $0.unjournaledWaiting > 0 }) {
            if clock.now >= deadline { return false }
            usleep(10_000)
        }
        return true
    }

    /// The lowest delivery position of all forwarders: everything up to it reached every receiver.
    private var deliveredEverywhere: Int64 {
        forwarders.map(\.position).min() ?? (writer?.lastSeq ?? 0)
    }

    /// Appends the events to the journal and wakes the forwarders. A journal failure is logged as
    /// critical and reported to the caller; the events still go to stdout.
    @discardableResult
    package func record(_ events: [AlarmEvent], wallTime: String?) -> Bool {
        guard let writer else { return true }
        let ok = writer.append(events, wallTime: wallTime)
        forwarders.forEach { $0.wake() }
        if !forwarders.isEmpty { writer.prune(deliveredUpTo: deliveredEverywhere) }
        return ok
    }

    /// Journals a charted or lab entry the core accepted (the record of who did what, when).
    package func recordEntry(_ observation: Observation, t: Double, wallTime: String?) {
        guard let writer else { return }
        writer.appendEntry(observation, t: t, wallTime: wallTime)
        forwarders.forEach { $0.wake() }
    }

    /// Journals an entry from a person or the hospital as the bedside loop took it (JSON), before the
    /// events it caused, and wakes the forwarders to pass over it at once: a line they have not looked
    /// at counts as waiting for them, and half a second of a burst of entries was more than
    /// `technical.station_unreachable`'s backlog_max (issue 23).
    package func recordInput(_ json: [UInt8], t: Double, wallTime: String?) {
        guard let writer else { return }
        writer.appendInput(json, t: t, wallTime: wallTime)
        forwarders.forEach { $0.wake() }
    }

    /// What the journal held at open about the previous runs (nil: no journal, or a new one).
    package var previousRun: PreviousRun? { writer?.previous }

    /// Journals the agent's start (`started`) or clean stop (`stopped`): the next start tells a clean
    /// stop from a crash by them.
    package func appendMarker(_ marker: String, wallTime: String?) { writer?.appendMarker(marker, wallTime: wallTime) }

    /// Marks this run alive (the journal lock file's time), for the gap a crash would leave.
    package func markAlive() { writer?.markAlive() }

    /// At a clean stop: the agent's own alarms in force end with reason `agent_stopped`.
    package func endOwnAlarms() { writer?.endOwnAlarms() }

    /// Whether the system clock is synchronised (replaceable in tests).
    package var clockProbe: @Sendable () -> Bool? = { SystemHealth.clockSynchronized() }
    /// Free bytes on the journal's file system (replaceable in tests).
    package var diskProbe: @Sendable (String) -> UInt64? = { SystemHealth.freeBytes(at: $0) }
    private var clockUnsynchronizedSince: ContinuousClock.Instant?
    private var lastDiskCheck: ContinuousClock.Instant?

    /// The agent's own health as alarms the station sees (called every second by the live agent):
    /// an output that has not delivered for `after_s` or whose backlog passed `backlog_max`
    /// (`technical.station_unreachable`, per output, ended when it delivers again), a clock the kernel
    /// reports unsynchronised for `after_s` (`technical.clock_unsynchronized`), and a journal file
    /// system below `min_free_mb` (`technical.disk_low`, checked every 30 s). Rules switched off in the
    /// configuration are not checked. Every duration is measured on the monotonic clock (`now`): the
    /// wall clock can be set back or forward (NTP stepping, an operator) without ending or raising any
    /// of these.
    package func checkHealth(_ settings: RuleSettings, now: ContinuousClock.Instant = .now) {
        guard let writer else { return }
        // The backlogs as metrics, whether or not station_unreachable is checked.
        var journalBacklog: Int64 = 0
        for forwarder in forwarders {
            let backlog = max(0, writer.lastSeq - forwarder.position)
            Gauge(label: "alveo_output_backlog", dimensions: [("output", forwarder.wire.name)]).record(backlog)
            journalBacklog = max(journalBacklog, backlog)
        }
        Gauge(label: "alveo_journal_backlog").record(journalBacklog)
        if !settings.disabled.contains(.stationUnreachable) {
            for forwarder in forwarders {
                let state = forwarder.state
                let backlog = max(0, writer.lastSeq - forwarder.position)
                let failing = state.problemSince.map { Self.seconds(now - $0) } ?? 0
                let unreachable = failing >= settings[StationUnreachable.self].after || Double(backlog) > settings[StationUnreachable.self].backlogMax
                let name = "\(forwarder.wire.name) (\(forwarder.wire.host):\(forwarder.wire.port))"
                writer.setCondition(.stationUnreachable, source: forwarder.wire.name, active: unreachable, priority: .high) { starting in
                    guard starting else {
                        return ("The central station output \(name) delivers again; the alarm messages that waited are being delivered.",
                                [("output", .string(forwarder.wire.name)), ("backlog", .number(Double(backlog)))])
                    }
                    let why = state.lastProblem.map { " (\(Shown.text($0.utf8, limit: 160)))" } ?? ""
                    let how = failing >= settings[StationUnreachable.self].after ? "has not delivered for \(Fmt.duration(failing))\(why)"
                        : "has more alarm messages waiting than \(JSONValue.formatted(settings[StationUnreachable.self].backlogMax))"
                    return ("The central station output \(name) \(how); \(backlog) journal entries wait for it. Alarms from this bed may not reach the central station: check the network and the receiver.",
                            [("output", .string(forwarder.wire.name)), ("host", .string(forwarder.wire.host)),
                             ("port", .number(Double(forwarder.wire.port))), ("failing_s", .number((failing * 10).rounded() / 10)),
                             ("backlog", .number(Double(backlog))), ("problem", state.lastProblem.map { .string($0) } ?? .null)])
                }
            }
        }
        if !settings.disabled.contains(.clockUnsynchronized), let synchronized = clockProbe() {
            if synchronized { clockUnsynchronizedSince = nil } else if clockUnsynchronizedSince == nil { clockUnsynchronizedSince = now }
            let unsynchronizedFor = clockUnsynchronizedSince.map { Self.seconds(now - $0) }
            writer.setCondition(.clockUnsynchronized, source: nil, active: unsynchronizedFor.map { $0 >= settings[ClockUnsynchronized.self].after } ?? false,
                                priority: .medium) { starting in
                starting
                    ? ("The system clock is not synchronised (the kernel has reported it so for \(Fmt.duration(unsynchronizedFor ?? 0))): the times in alarm messages may be wrong. Check NTP (chrony or systemd-timesyncd) on this box.",
                       [("unsynchronized_s", .number(((unsynchronizedFor ?? 0) * 10).rounded() / 10))])
                    : ("The system clock is synchronised again.", [])
            }
        }
        if !settings.disabled.contains(.diskLow), lastDiskCheck.map({ now - $0 >= .seconds(30) }) ?? true,
           let free = diskProbe(writer.directory)
        {
            lastDiskCheck = now
            let freeMB = Double(free) / 1_048_576
            let low = freeMB < settings[DiskLow.self].minFreeMB
            // Ends only with 10 % more than the bound free: a disk at the edge does not flap.
            let cleared = freeMB >= settings[DiskLow.self].minFreeMB * 1.1
            if low || cleared {
                let directory = writer.directory
                writer.setCondition(.diskLow, source: nil, active: low, priority: .medium) { starting in
                    starting
                        ? ("Only \(Fmt.fixed(freeMB, 0)) MB free on the journal's file system (\(directory)), below \(JSONValue.formatted(settings[DiskLow.self].minFreeMB)) MB: free space before the journal fills and alarms can no longer be recorded.",
                           [("free_mb", .number(freeMB.rounded())), ("min_free_mb", .number(settings[DiskLow.self].minFreeMB)), ("directory", .string(directory))])
                        : ("The journal's file system has \(Fmt.fixed(freeMB, 0)) MB free again.", [("free_mb", .number(freeMB.rounded()))])
                }
            }
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        max(0, Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }

    /// The trend store's state (docs/trends.md): `problem` non-nil raises `technical.trend_store_failed`
    /// (medium: monitoring and alarms go on), nil ends it. Called every second by the live agent.
    package func setTrendStoreProblem(_ problem: String?, path: String, pending: Int, settings: RuleSettings) {
        guard let writer, !settings.disabled.contains(.trendStoreFailed) else { return }
        writer.setCondition(.trendStoreFailed, source: nil, active: problem != nil, priority: .medium) { starting in
            starting
                ? ("The trend store \(Shown.text(path.utf8, limit: 160)) cannot be written (\(Shown.text((problem ?? "").utf8, limit: 200))): monitoring and alarms go on, but trends and reports miss values from now until it is fixed; \(pending) values wait in memory. Check the disk and the file (alveo report --check).",
                   [("path", .string(path)), ("problem", .string(problem ?? "")), ("pending", .number(Double(pending)))])
                : ("The trend store is written again.", [("path", .string(path))])
        }
    }

    /// `technical.device_refused` for a serial device: `refusal` is the device's own answer while it
    /// keeps refusing to give data (nil: it does not), `since` how long (agent seconds).
    package func setDeviceRefusal(_ refusal: String?, device: String, title: String, for seconds: Double, settings: RuleSettings) {
        guard let writer, !settings.disabled.contains(.deviceRefused) else { return }
        writer.setCondition(.deviceRefused, source: device, active: refusal != nil, priority: .medium) { starting in
            starting
                ? ("\(device) (\(title)) answers but refuses to send data: \(Shown.text((refusal ?? "").utf8, limit: 200)). Alveo asks again with growing pauses (up to 30 s); its values are not being monitored. Check the device's interface settings and options (see its README under devices/).",
                   [("device", .string(device)), ("answer", .string(refusal ?? "")), ("refusing_s", .number((seconds * 10).rounded() / 10))])
                : ("\(device) sends data again.", [("device", .string(device))])
        }
    }

    /// Who the events journaled from now on are about (an admission); nil: the configuration's patient.
    package func setPatient(_ patient: JournalPatient?) { writer?.patient = patient }

    /// Entries journaled but not yet delivered by every forwarder.
    package var undelivered: Int64 {
        guard let writer else { return 0 }
        return writer.lastSeq - deliveredEverywhere
    }

    /// At a stop: whatever the journal could not take yet is tried again until `timeout`, then kept
    /// in a spill file (`outputs.journal.spill_directory`) or written to stderr, and reported — never
    /// dropped silently. True when everything was journaled.
    @discardableResult
    package func finishJournal(timeout: Duration, logger: Logger) -> Bool {
        guard let writer else { return true }
        let deadline = ContinuousClock.now + timeout
        while writer.unjournaled.held > 0, ContinuousClock.now < deadline {
            writer.retry()
            if writer.unjournaled.held > 0 { usleep(250_000) }
        }
        let (count, file, lost) = writer.spill(to: spillDirectory)
        if count > 0 {
            if let file {
                logger.critical("the alarm journal could not be written before the stop: \(count) item(s) held in memory are kept in \(file), journaled by the next start that can open the journal")
            } else {
                logger.critical("the alarm journal could not be written before the stop and no spill_directory could take them: \(count) item(s) held in memory were written to stderr (lines starting 'alveo-unjournaled: ')")
            }
        }
        if lost > 0 {
            logger.critical("\(lost) item(s) were dropped from memory while the journal failed (more than \(JournalWriter.backlogLimit) held) and are lost")
        }
        return count == 0 && lost == 0
    }

    /// Waits until every forwarder has delivered the whole journal, up to `timeout`.
    package func drain(timeout: Duration) -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while undelivered > 0 || forwarders.contains(where: { $0.unjournaledWaiting > 0 }) {
            if clock.now >= deadline { return false }
            forwarders.forEach { $0.wake() }
            usleep(20_000)
        }
        if let writer, !forwarders.isEmpty { writer.prune(deliveredUpTo: deliveredEverywhere) }
        return true
    }
}

/// The agent's own alarms in force, as the journal writer emits them (a start until its end).
final class OwnAlarmList: @unchecked Sendable {
    // @unchecked: `alarms` is only touched under `lock`.
    private let lock = NSLock()
    private var alarms: [Int: AlarmEvent] = [:]

    func apply(_ events: [AlarmEvent]) {
        lock.withLock {
            for event in events {
                if event.phase == .end { alarms[event.alarmID] = nil } else if alarms[event.alarmID] == nil { alarms[event.alarmID] = event }
            }
        }
    }

    var active: [AlarmEvent] { lock.withLock { alarms.values.sorted { $0.alarmID < $1.alarmID } } }
}
