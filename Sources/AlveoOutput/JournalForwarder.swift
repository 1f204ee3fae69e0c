import AlveoCore
import AlveoIO
import Dispatch
import Foundation
import Logging
import Metrics
import Synchronization

/// What delivering one journal entry came to.
package enum DeliveryOutcome: Sendable, Equatable {
    /// The receiver has it: advance.
    case delivered
    /// The receiver refused it for now: send it again after a pause.
    case retry(String)
    /// The receiver will never take it: set it aside with the reason and go on with the next.
    case park(String)
}

/// A wire protocol to a central-station receiver, over one TCP connection.
package protocol ForwardingProtocol: Sendable {
    /// Short name: names the position file, the parked file and log lines.
    var name: String { get }
    var host: String { get }
    var port: Int { get }
    var connectTimeout: Duration { get }
    var reconnectMax: Duration { get }
    var retryAfterError: Duration { get }
    /// TLS to the receiver, or nil for plain TCP.
    var tls: TLSSettings? { get }
    /// Entries delivered within this long before a broken link are sent again after reconnecting:
    /// for protocols whose only acknowledgement is TCP's (syslog), bytes acknowledged by the
    /// receiver's kernel can still die with a receiver that is being restarted. Zero for HL7.
    var resendWindow: Duration { get }
    /// When idle this long with a connection, send a heartbeat (nil: no heartbeats).
    var heartbeatInterval: Duration? { get }
    /// Which events go to this receiver: state transitions only, or re-announcements too (rules v3 §2.1).
    var reannounce: ReannouncePolicy { get }
    /// Sends a "bed alive" message; a thrown error means the link is broken.
    func heartbeat(number: Int, over link: any ByteLink) throws
    /// Sends one alarm event (the entry's, decoded) and waits for the receiver's verdict. A thrown
    /// error means the link is broken: the forwarder reconnects and sends the same entry again.
    func deliver(_ entry: JournalEntry, event: AlarmEvent, over link: any ByteLink) throws -> DeliveryOutcome
    /// Called on each new connection before anything is sent over it (RELP opens its session); a
    /// thrown error means the connection cannot be used: it is closed and tried again later.
    func opened(_ link: any ByteLink) throws
    /// Called once at a stop with the connection still up (RELP closes its session); best effort.
    func closing(_ link: any ByteLink)
}

extension ForwardingProtocol {
    /// Most protocols need nothing said when a connection opens.
    package func opened(_ link: any ByteLink) throws {}
    package func closing(_ link: any ByteLink) {}
}

/// Which alarm events an output sends (rules v3 §2.1).
package enum ReannouncePolicy: String, Sendable, Equatable, CaseIterable {
    /// State transitions only: start, update, escalate, de-escalate, end (no `continue`).
    case transitions
    /// Transitions and the re-announcements of the schedule (rules v3 §2.2).
    case schedule
}

/// Delivers the journal through one protocol, in journal order, one entry at a time, each only once
/// the previous one is settled: at-least-once, order kept. The position (the last settled sequence
/// number) is persisted after every entry, so a restart resumes exactly where it stopped. Runs on its
/// own thread with blocking sockets and capped exponential reconnection backoff.
package final class JournalForwarder: Sendable {
    package let wire: any ForwardingProtocol
    private let journalDirectory: String
    private let logger: Logger
    /// The receiver refused an entry: parked (true), or still refusing it after repeated resends (false).
    /// (seq, reason, unreadable): the receiver refused it, or it could not be read from the journal.
    private let onParked: @Sendable (Int64, String, Bool) -> Void
    private let onStuck: @Sendable (Int64, String) -> Void
    private let onDelivered: @Sendable (Int64) -> Void
    private let positionStore: DeliveryPosition
    private let settled: Mutex<Int64>
    private let worker: WorkerThread

    package init(wire: any ForwardingProtocol, journalDirectory: String, logger: Logger,
                onParked: @escaping @Sendable (Int64, String, Bool) -> Void = { _, _, _ in },
                onStuck: @escaping @Sendable (Int64, String) -> Void = { _, _ in },
                onDelivered: @escaping @Sendable (Int64) -> Void = { _ in })
    {
        self.onStuck = onStuck
        self.onDelivered = onDelivered
        self.wire = wire
        self.worker = WorkerThread(name: "alveo-\(wire.name)")
        self.journalDirectory = journalDirectory
        var logger = logger
        logger[metadataKey: "output"] = "\(wire.name) \(wire.host):\(wire.port)"
        self.logger = logger
        self.onParked = onParked
        positionStore = DeliveryPosition(directory: journalDirectory, name: wire.name)
        settled = Mutex(positionStore.load())
    }

    /// The last journal sequence number delivered (or parked).
    package var position: Int64 { settled.withLock { $0 } }

    /// What `alveo status` shows of a forwarder.
    package struct State: Sendable, Equatable {
        package var connected = false
        /// When the last message was delivered (wall clock).
        package var lastDelivery: Date?
        /// The problem seen last, until delivery works again.
        package var lastProblem: String?
        /// Since when it has been failing (connecting, delivering, heartbeating), until it delivers or
        /// a heartbeat is answered again: what `technical.station_unreachable` measures. Monotonic: a
        /// wall clock set back or forward must neither end nor raise the alarm (issue 23).
        package var problemSince: ContinuousClock.Instant?
    }
    private let stateBox = Mutex(State())
    package var state: State { stateBox.withLock { $0 } }

    /// Events that could not be journaled, to send before the journal's next entry (a few at most:
    /// the journal-failure alarm; older ones are dropped past 16).
    private let urgent = Mutex<[JournalEntry]>([])

    /// Unjournaled entries not yet settled (queued, or being sent).
    package var unjournaledWaiting: Int { urgent.withLock { $0.count } + (urgentInFlight.withLock { $0 } ? 1 : 0) }
    private let urgentInFlight = Mutex(false)

    /// Sends `entry` (not in the journal: `unjournaledID` set) ahead of the journal, once delivered
    /// or parked; no position is kept for it.
    package func sendUnjournaled(_ entry: JournalEntry) {
        urgent.withLock { queue in
            queue.append(entry)
            if queue.count > 16 { queue.removeFirst(queue.count - 16) }
        }
        wake()
    }

    package func start() { worker.start { [self] in run() } }

    /// New entries were appended: look now rather than at the next idle check.
    package func wake() { worker.wake() }

    package func stop() { worker.stop() }

    private var isStopping: Bool { worker.isStopping }

    private func pause(_ duration: Duration) -> Bool { worker.pause(duration) }

    private func run() {
        var reader = JournalReader(directory: journalDirectory, after: position)
        var pending: JournalEntry?
        var connection: (any ByteLink)?
        var backoff: Duration = .milliseconds(250)
        var lastProblem: String?
        var recent: [(seq: Int64, at: ContinuousClock.Instant)] = []
        let clock = ContinuousClock()
        var lastSent = clock.now
        var heartbeats = 0
        var refusals = 0
        /// The last record-only line passed over and not yet saved as the position.
        var passed: Int64?

        func problem(_ text: String) {
            if text != lastProblem { logger.error("\(text)") }
            lastProblem = text
            stateBox.withLock {
                $0.lastProblem = text
                if $0.problemSince == nil { $0.problemSince = .now }
            }
        }
        func linked(_ up: Bool) { stateBox.withLock { $0.connected = up } }

        while !isStopping {
            if pending == nil {
                pending = urgent.withLock { queue in
                    guard !queue.isEmpty else { return nil }
                    urgentInFlight.withLock { $0 = true }
                    return queue.removeFirst()
                }
            }
            if pending == nil {
                urgentInFlight.withLock { $0 = false }
                pending = reader.next()
            }
            if let entry = pending, entry.isManualEntry || (wire.reannounce == .transitions && entry.event?.phase == .continue) {
                // Charted and lab entries are kept in the journal as the record; they are not alarms.
                // Re-announcements (phase continue) go only to receivers configured for them: the IHE PCD
                // ACM profile sends an alarm message at a state transition; periodic re-sends are by site
                // agreement (`outputs.hl7.reannounce: schedule`), and the station's alarm manager owns its
                // own re-notification (rules v3 §2.1).
                // Passing one costs no write: the position is saved when the journal has been read to
                // its end, or with the next delivery. (An fsync'ed save per line kept the forwarder
                // hundreds of lines behind a burst of entries, and their number raised
                // technical.station_unreachable while the station answered everything; issue 23.
                // Unsaved at a crash, they are only passed over again.)
                passed = entry.seq
                pending = nil
                continue
            }
            if let entry = pending, case .unreadable(let why) = entry.content {
                // Written by another version, or damaged: parked for review, never sent with guessed fields.
                guard park(entry, reason: "journal entry \(entry.label) cannot be coded: \(why)") else {
                    guard pause(wire.retryAfterError) else { break }
                    continue
                }
                pending = nil
                if entry.unjournaledID == nil {
                    do { try commit(entry.seq) } catch { problem("cannot save the delivery position: \(error)") }
                }
                continue
            }
            guard let entry = pending, let event = entry.event else {
                if let seq = passed {
                    if seq > position {
                        do { try commit(seq) } catch { problem("cannot save the delivery position: \(error)") }
                    }
                    passed = nil
                }
                if let interval = wire.heartbeatInterval, clock.now - lastSent >= interval {
                    heartbeats += 1
                    lastSent = clock.now
                    do {
                        if connection == nil {
                            connection = try open()
                            logger.info("connected")
                            linked(true)
                        }
                        try wire.heartbeat(number: heartbeats, over: connection!)
                        // Answered: the station is reachable.
                        stateBox.withLock {
                            $0.lastProblem = nil
                            $0.problemSince = nil
                        }
                    } catch {
                        problem("heartbeat: \(error); reconnecting")
                        connection?.shutdown()
                        connection = nil
                        linked(false)
                    }
                }
                _ = pause(.milliseconds(wire.heartbeatInterval.map { min(500, Int(clamping: $0.wholeNanoseconds / 1_000_000) / 2 + 1) } ?? 500))
                continue
            }
            if connection == nil {
                do {
                    connection = try open()
                    logger.info("connected")
                    linked(true)
                } catch {
                    problem("cannot connect: \(error); retrying")
                    guard pause(backoff) else { break }
                    backoff = min(backoff * 2, wire.reconnectMax)
                    continue
                }
            }
            guard let link = connection else { continue }
            lastSent = clock.now
            do {
                let began = clock.now
                let outcome = try wire.deliver(entry, event: event, over: link)
                Timer(label: "alveo_delivery_seconds", dimensions: [("output", wire.name)]).recordNanoseconds(
                    Int64(clamping: (clock.now - began).components.seconds * 1_000_000_000 + (clock.now - began).components.attoseconds / 1_000_000_000))
                switch outcome {
                case .delivered:
                    pending = nil
                    refusals = 0
                    backoff = .milliseconds(250)
                    stateBox.withLock {
                        $0.lastDelivery = Date()
                        $0.lastProblem = nil
                        $0.problemSince = nil
                    }
                    if entry.unjournaledID != nil { continue }  // not in the journal: no position, no alarm
                    try commit(entry.seq)
                    onDelivered(entry.seq)
                    if wire.resendWindow > .zero {
                        recent.append((entry.seq, clock.now))
                        recent.removeAll { clock.now - $0.at > wire.resendWindow }
                    }
                    backoff = .milliseconds(250)
                    if lastProblem != nil { logger.info("delivering again") }
                    lastProblem = nil
                case .retry(let reason):
                    problem("journal entry \(entry.label): \(reason): resending")
                    refusals += 1
                    if entry.unjournaledID != nil, refusals >= 3 {
                        // A message sent outside the journal is a heads-up, not the record (the journal
                        // delivers the event itself once it can be written): it is not resent for ever.
                        logger.error("journal entry \(entry.label): refused 3 times; given up (the journal will deliver the event)")
                        pending = nil
                        refusals = 0
                        continue
                    }
                    // A receiver that keeps refusing blocks every later alarm of this bed: say so.
                    if refusals == 3 { onStuck(entry.seq, "\(reason), 3 times in a row; still resending") }
                    guard pause(wire.retryAfterError) else { break }
                case .park(let reason):
                    refusals = 0
                    guard park(entry, reason: reason) else {
                        // Not recorded anywhere yet: keep the entry, and try again after a pause.
                        guard pause(wire.retryAfterError) else { break }
                        continue
                    }
                    pending = nil
                    if entry.unjournaledID == nil { try commit(entry.seq) }
                }
            } catch {
                problem("journal entry \(entry.label): \(error); reconnecting and resending")
                link.shutdown()
                connection = nil
                linked(false)
                if let first = recent.first(where: { clock.now - $0.at <= wire.resendWindow }) {
                    logger.warning("resending entries \(first.seq)...\(entry.seq - 1) too: delivered just before the link broke")
                    reader = JournalReader(directory: journalDirectory, after: first.seq - 1)
                    if pending?.unjournaledID == nil { pending = nil }
                }
                recent.removeAll()
                guard pause(backoff) else { break }
                backoff = min(backoff * 2, wire.reconnectMax)
            }
        }
        // Stopping: a protocol with a session ends it (RELP's close), then the link closes.
        if let link = connection {
            wire.closing(link)
            link.shutdown()
        }
    }

    /// A connection the protocol has opened (its session, if it has one), ready for messages.
    private func open() throws -> any ByteLink {
        let link = try connect()
        do {
            try wire.opened(link)
        } catch {
            link.shutdown()
            throw error
        }
        return link
    }

    private func connect() throws(SocketError) -> any ByteLink {
        if let tls = wire.tls {
            return try TLSConnection(host: wire.host, port: wire.port, timeout: wire.connectTimeout, settings: tls)
        }
        return try TCPConnection(host: wire.host, port: wire.port, timeout: wire.connectTimeout)
    }

    private func commit(_ seq: Int64) throws {
        try positionStore.save(seq)
        settled.withLock { $0 = seq }
    }

    /// Sets a refused entry aside in the parked file (fsync'ed); false if it could not be written,
    /// in which case the entry must not be passed: it would be recorded nowhere.
    private func park(_ entry: JournalEntry, reason: String) -> Bool {
        let reasonJSON = String(decoding: (try? JSONSerialization.data(withJSONObject: [reason])) ?? Data("[\"\"]".utf8), as: UTF8.self)
        let id = entry.unjournaledID.map { "\"unjournaled_id\":\"\($0)\"" } ?? "\"seq\":\(entry.seq)"
        let line = "{\(id),\"reason\":\(reasonJSON.dropFirst().dropLast()),\"event\":\(entry.eventJSON)}\n"
        let path = journalDirectory + "/\(wire.name)-parked.jsonl"
        do {
            // Parked messages carry clinical data: 0640 like the journal.
            let file = try PrivateFiles.open(path, append: true)
            defer { try? file.close() }
            try file.write(contentsOf: Data(line.utf8))
            try file.synchronize()
        } catch {
            logger.critical("journal entry \(entry.label) refused (\(reason)) and cannot be parked: \(error); keeping it and trying again")
            return false
        }
        logger.error("journal entry \(entry.label) parked: \(reason); continuing with the next")
        // A heads-up sent outside the journal raises no alarm of its own: the journal delivers the event.
        if entry.unjournaledID == nil {
            if case .unreadable = entry.content { onParked(entry.seq, reason, true) } else { onParked(entry.seq, reason, false) }
        }
        return true
    }
}

/// Reads one MLLP frame (0x0B … 0x1C 0x0D) within `timeout`.
func readMLLPFrame(_ link: any ByteLink, timeout: Duration) throws -> String {
    var reader = MLLPFrameReader()
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while true {
        let left = clock.now.duration(to: deadline)
        guard left > .zero else { throw SocketError(operation: "wait for ACK", peer: link.peer, code: ETIMEDOUT) }
        let chunk = try link.receive(timeout: left)
        if chunk.isEmpty { throw SocketError(operation: "wait for ACK", peer: link.peer, code: ECONNRESET) }
        if let frame = reader.feed(chunk).first { return frame }
    }
}
