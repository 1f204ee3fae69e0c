import AlveoCore
import AlveoIO
import AlveoOutput
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The HL7 v2 MLLP listener of `alveo run` (`inputs.hl7`): laboratory results (ORU^R01) and
/// admissions (ADT A01/A02/A03/A08) from the hospital, taken by the bedside loop like `alveo chart`
/// and `alveo patient`. Each message is answered in HL7's original acknowledgement mode:
///
/// - AA once the loop took it and it is journaled (or it was for another bed, or carried nothing Alveo
///   uses: accepted, nothing to do; MSA-3 says so);
/// - AR when it is not for this agent: a sender outside `allowed_senders`, a message type Alveo does
///   not take, a test message, results for another patient than the bed's (nothing changes);
/// - AE when it cannot be taken as sent: not HL7, no PID-3, a result that is not a number, a unit that
///   is not the quantity's, no sample time, a sample time in the future or too old;
/// - no answer, and the connection closed, when the agent cannot take it now (starting, stopping, its
///   loop stalled): the sender resends, as MLLP senders do when no ACK comes.
///
/// One thread accepts; each connection (at most `max_connections`) has its own thread, which does
/// the TLS handshake and reads frames. A message resent with the control id (MSH-10) of one already
/// taken from that sender is answered AA again and not taken twice.
package final class LabListener: Service, Sendable {
    package let config: LabListenerConfig
    private let inbox: BedsideInbox
    private let logger: Logger
    private let stats = Mutex(Stats())
    private let stopping = Atomic(false)
    private let connections = Mutex<[ObjectIdentifier: any ByteLink]>([:])
    /// Connections accepted and not yet closed, handshakes in progress included.
    private let active = Atomic(0)
    /// Their bounds: how many, per peer address, and how long each may wait (issue 23).
    private let table: Mutex<ConnectionTable>

    struct Stats {
        var connections = 0
        var refusedConnections = 0
        /// Closed to make room for a new connection (they had waited longest).
        var evictedConnections = 0
        var accepted = 0
        var ignored = 0
        var rejected = 0
        var unanswered = 0
        var lastMessage: Date?
        var lastProblem: String?
        var listening = false
        /// Control ids taken, per sender, the most recent last (de-duplication of resends).
        var recent: [String: [String]] = [:]
    }

    static let recentPerSender = 256

    package init(config: LabListenerConfig, inbox: BedsideInbox, logger: Logger) {
        self.config = config
        self.inbox = inbox
        table = Mutex(ConnectionTable(limits: config.connectionLimits))
        var logger = logger
        logger[metadataKey: "input"] = "hl7 \(config.bind):\(config.port)"
        self.logger = logger
    }

    package func run() async throws {
        let listener: StreamListener
        do {
            listener = try StreamListener(bind: config.bind, port: config.port, tls: config.tls)
        } catch {
            logger.critical("laboratory and ADT listener not started: \(error); results and admissions will not reach this agent")
            stats.withLock { $0.lastProblem = "\(error)" }
            inbox.registerListener { [self] in statusAnswer() }
            try? await gracefulShutdown()
            return
        }
        stats.withLock { $0.listening = true }
        inbox.registerListener { [self] in statusAnswer() }
        logger.info("laboratory and ADT listener started", metadata: ["tls": "\(listener.usesTLS ? "client certificate required" : "off")",
                                                                      "allowed_senders": "\(config.allowedSenders.map(\.description).joined(separator: ","))"])
        let acceptor = WorkerThread(name: "alveo-hl7-listener")
        acceptor.start { [self] in acceptLoop(listener, acceptor) }
        await withGracefulShutdownHandler {
            while !Task.isCancelled && !stopping.load(ordering: .relaxed) {
                try? await Task.sleep(for: .milliseconds(250))
            }
        } onGracefulShutdown: { [self] in
            stopping.store(true, ordering: .relaxed)
        }
        stopping.store(true, ordering: .relaxed)
        listener.shutdown()
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread { [self] in
                acceptor.stop()
                connections.withLock { $0.values.forEach { $0.shutdown() } }
                table.withLock { $0.removeAll() }.forEach { $0.close() }  // handshakes too
                // Connection threads see `stopping` within a second.
                let deadline = ContinuousClock.now + .seconds(5)
                while ContinuousClock.now < deadline, active.load(ordering: .relaxed) > 0 { usleep(10_000) }
                done.resume()
            }
        }
        stats.withLock { $0.listening = false }
    }

    private func acceptLoop(_ listener: StreamListener, _ thread: WorkerThread) {
        while !thread.isStopping && !stopping.load(ordering: .relaxed) {
            // Every half second at least: connections past their time (a handshake that does not
            // finish, an idle sender, a message never finished) are closed.
            for (handle, why) in table.withLock({ $0.expire(now: .now) }) {
                logger.info("connection closed: \(why)", metadata: ["peer": "\(handle.peer ?? "-")"])
                handle.close()
            }
            let incoming: StreamListener.Incoming?
            do {
                incoming = try listener.accept(timeout: .milliseconds(500))
            } catch {
                if stopping.load(ordering: .relaxed) { return }
                logger.error("accept failed: \(error)")
                stats.withLock { $0.lastProblem = "\(error)" }
                _ = thread.pause(.seconds(1))
                continue
            }
            guard let incoming else { continue }
            // The handle keeps the socket open until the table lets go of it: a late close never
            // reaches another connection's descriptor.
            let handle = ConnectionHandle(peer: incoming.peerHost) { incoming.shutdown() }
            switch table.withLock({ $0.admit(handle, established: false, now: .now) }) {
            case .refused(let reason):
                logger.warning("connection refused: \(reason)", metadata: ["peer": "\(incoming.peer)"])
                stats.withLock { $0.refusedConnections += 1 }
                continue  // dropping it closes it
            case .admitted(let victims):
                for victim in victims {
                    logger.notice("connection closed to make room for a new one: it waited longest (max_connections \(config.maxConnections), max_connections_per_peer \(config.maxConnectionsPerPeer))",
                                  metadata: ["peer": "\(victim.peer ?? "-")"])
                    victim.close()
                }
                if !victims.isEmpty { stats.withLock { $0.evictedConnections += victims.count } }
            }
            active.add(1, ordering: .relaxed)
            Thread.detachNewThread { [self] in
                serve(incoming, handle)
                table.withLock { _ = $0.remove(handle) }
                active.subtract(1, ordering: .relaxed)
            }
        }
    }

    private func serve(_ incoming: StreamListener.Incoming, _ slot: ConnectionHandle) {
        let link: any ByteLink
        do {
            // The table's handshake deadline closes a handshake that trickles; this bounds each read.
            link = try incoming.establish(timeout: .seconds(max(1, config.handshakeTimeoutSeconds)))
        } catch {
            logger.warning("connection refused: \(error)", metadata: ["peer": "\(incoming.peer)"])
            stats.withLock {
                $0.refusedConnections += 1
                $0.lastProblem = "\(error)"
            }
            return
        }
        table.withLock { $0.idle(slot, now: .now) }
        let key = ObjectIdentifier(link as AnyObject)
        connections.withLock { $0[key] = link }
        stats.withLock { $0.connections += 1 }
        defer { connections.withLock { _ = $0.removeValue(forKey: key) } }
        let subject = (link as? TLSConnection)?.peerCertificateSubject
        logger.info("connected", metadata: ["peer": "\(link.peer)", "certificate": "\(subject.map { Shown.text($0.utf8, limit: 200) } ?? "-")"])
        var reader = MLLPFrameReader()
        let clock = ContinuousClock()
        var lastByte = clock.now
        while !stopping.load(ordering: .relaxed) {
            let bytes: [UInt8]
            do {
                bytes = try link.receive(maxCount: 64 * 1024, timeout: .seconds(1))
            } catch let error where error.isTimeout {
                // A frame begun and abandoned is dropped; an idle connection stays open until its
                // idle timeout (senders keep theirs).
                if reader.pending > 0, clock.now - lastByte > .milliseconds(Int64(config.idleFrameTimeoutSeconds * 1000)) {
                    logger.warning("a message begun and not finished for \(Int(config.idleFrameTimeoutSeconds)) s: dropped", metadata: ["peer": "\(link.peer)"])
                    reader.dropPending()
                    table.withLock { $0.idle(slot, now: .now) }
                }
                continue
            } catch {
                if !stopping.load(ordering: .relaxed) { logger.info("connection lost: \(error)", metadata: ["peer": "\(link.peer)"]) }
                return
            }
            if bytes.isEmpty {
                logger.info("closed by the sender", metadata: ["peer": "\(link.peer)"])
                return
            }
            lastByte = clock.now
            table.withLock { $0.busy(slot, now: .now) }
            let discardedBefore = reader.discarded
            for frame in reader.frames(bytes) {
                guard let answer = handle(frame, peer: link.peer) else {
                    // Not taken now: no answer, so that the sender sends it again.
                    return
                }
                do {
                    try link.send([0x0B] + Array(answer.utf8) + [0x1C, 0x0D])
                } catch {
                    logger.warning("could not answer: \(error)", metadata: ["peer": "\(link.peer)"])
                    return
                }
            }
            // Waiting again once nothing is half-received (a frame begun stays busy, and is bounded).
            if reader.pending == 0 { table.withLock { $0.idle(slot, now: .now) } }
            if reader.discarded > discardedBefore {
                logger.warning("\(reader.discarded - discardedBefore) bytes outside MLLP frames skipped", metadata: ["peer": "\(link.peer)"])
            }
        }
    }

    /// The answer to one frame, or nil when the agent cannot take it now (no answer: resend).
    func handle(_ frame: [UInt8], peer: String) -> String? {
        let now = Date()
        let message: HL7Message
        switch HL7Message.parse(frame) {
        case .success(let parsed): message = parsed
        case .failure(let error):
            logger.warning("message refused (AE): \(error)", metadata: ["peer": "\(peer)", "bytes": "\(frame.count)"])
            count(\.rejected, problem: "AE: \(error)")
            return HL7Message.rejection(text: error.description, controlID: "ALVEO-\(Int64(saturating: now.timeIntervalSince1970 * 1000))", now: now)
        }
        let controlID = message.controlID
        let sender = "\(message.sendingApplication)^\(message.sendingFacility)"
        let typeText = Shown.text("\(message.type.code)^\(message.type.event)".utf8, limit: 16)
        var metadata: Logger.Metadata = ["peer": "\(peer)", "type": "\(typeText)", "control_id": "\(Shown.text(controlID.utf8, limit: 64))"]
        func answer(_ code: String, _ text: String) -> String {
            message.acknowledgement(code: code, text: text, controlID: "ALVEO-\(Shown.text(controlID.utf8, limit: 40))", now: now)
        }
        if !controlID.isEmpty, stats.withLock({ $0.recent[sender]?.contains(controlID) ?? false }) {
            logger.info("resent message answered again, not taken twice", metadata: metadata)
            return answer("AA", "already taken")
        }
        switch HL7Inbound.interpret(message, config: config, now: now, runID: inbox.runID) {
        case .reject(let code, let reason):
            logger.warning("message refused (\(code)): \(reason)", metadata: metadata)
            count(\.rejected, problem: "\(code): \(reason)")
            return answer(code, reason)
        case .ignore(let reason, let notes):
            notes.forEach { logger.notice("\($0)", metadata: metadata) }
            logger.info("message accepted, nothing to do: \(reason)", metadata: metadata)
            count(\.ignored)
            remember(controlID, from: sender)
            return answer("AA", reason)
        case .devices(let ids, let notes):
            notes.forEach { logger.notice("\($0)", metadata: metadata) }
            // Recorded as it is taken: MSH, OBR and OBX (no patient identity), read by the loop.
            guard inbox.submitDeviceMessage(PCD01.traced(frame), devices: ids) else {
                logger.error("device observations not taken now (no answer; the gateway will resend): the bedside loop is not running", metadata: metadata)
                count(\.unanswered, problem: "device observations: the bedside loop is not running")
                return nil
            }
            metadata["devices"] = "\(ids.joined(separator: ","))"
            logger.debug("device observations taken", metadata: metadata)
            count(\.accepted)
            remember(controlID, from: sender)
            return answer("AA", "")
        case .take(let entry, let kind, let notes):
            notes.forEach { logger.notice("\($0)", metadata: metadata) }
            switch inbox.submitWaiting(entry) {
            case .success(let reply):
                metadata["events"] = "\(reply.events.count)"
                logger.info("message taken", metadata: metadata)
                count(\.accepted)
                remember(controlID, from: sender)
                return answer("AA", notes.isEmpty ? "" : notes.joined(separator: "; "))
            case .failure(.refused(.otherPatient(let reason))):
                if kind == .admission {
                    logger.info("admission for another patient than this bed's: nothing to do", metadata: metadata)
                    count(\.ignored)
                    remember(controlID, from: sender)
                    return answer("AA", "not this bed's patient: nothing to do")
                }
                logger.warning("results refused (AR): \(reason)", metadata: metadata)
                count(\.rejected, problem: "AR: \(reason)")
                return answer("AR", reason)
            case .failure(.refused(.nothingToDo(let reason))):
                logger.info("message accepted, nothing to do: \(reason)", metadata: metadata)
                count(\.ignored)
                remember(controlID, from: sender)
                return answer("AA", reason)
            case .failure(.refused(.invalid(let reason))) where kind == .alertStatus:
                // A status for an alarm this run never raised: not ours (nothing changes, do not resend).
                logger.warning("status report refused (AR): \(reason)", metadata: metadata)
                count(\.rejected, problem: "AR: \(reason)")
                return answer("AR", reason)
            case .failure(.refused(.invalid(let reason))):
                logger.warning("message refused (AE): \(reason)", metadata: metadata)
                count(\.rejected, problem: "AE: \(reason)")
                return answer("AE", reason)
            case .failure(let failure):
                logger.error("message not taken now (no answer; the sender will resend): \(failure)", metadata: metadata)
                count(\.unanswered, problem: failure.description)
                return nil
            }
        }
    }

    private func count(_ counter: WritableKeyPath<Stats, Int>, problem: String? = nil) {
        stats.withLock {
            $0[keyPath: counter] += 1
            $0.lastMessage = Date()
            if let problem { $0.lastProblem = Shown.text(problem.utf8, limit: 200) }
        }
    }

    private func remember(_ controlID: String, from sender: String) {
        guard !controlID.isEmpty else { return }
        stats.withLock {
            var list = $0.recent[sender, default: []]
            list.append(controlID)
            if list.count > LabListener.recentPerSender { list.removeFirst(list.count - LabListener.recentPerSender) }
            $0.recent[sender] = list
            if $0.recent.count > 64 { $0.recent.removeValue(forKey: $0.recent.keys.first { $0 != sender } ?? sender) }
        }
    }

    /// For `alveo status`: how the listener is doing.
    func statusAnswer() -> StatusAnswer.Listener {
        let (s, open) = (stats.withLock { $0 }, connections.withLock { $0.count })
        return StatusAnswer.Listener(
            listening: s.listening, address: "\(config.bind):\(config.port)", tls: config.tls != nil, openConnections: open,
            connections: s.connections, refusedConnections: s.refusedConnections, evictedConnections: s.evictedConnections,
            accepted: s.accepted, ignored: s.ignored, rejected: s.rejected, unanswered: s.unanswered,
            lastMessage: s.lastMessage.map { PCD04Message.rfc3339($0) }, lastProblem: s.lastProblem)
    }
}
