import AlveoCore
import AlveoIO
import Foundation
import Synchronization

/// The same RFC 5424 messages as `SyslogProtocol`, each carried by rsyslog's RELP (Reliable Event
/// Logging Protocol; rsyslog's imrelp and any librelp server), and counted delivered only when the
/// receiver answers `rsp 200` for its transaction number: what a receiver's kernel took and its
/// process lost is sent again. One message in flight at a time (a window of 1), so the journal
/// position never passes a message the receiver has not confirmed.
///
/// Written here rather than over librelp: librelp's client (`relpCltSendSyslog`) returns once a
/// message is in its window, keeps unconfirmed messages in its own memory, resends them itself after
/// reconnecting and drops a message answered with an error; it tells its caller nothing per message,
/// so the journal position could not wait for the confirmation (docs/integration.md §3.5).
///
/// - `rsp 200`: delivered.
/// - any other status (RELP defines only 500, "error"; librelp's server sends it for a command it
///   does not take): resent after `retryAfterError`, the forwarder's answer to HL7's AE.
/// - a `rsp` for this transaction whose data is not a status: parked, as HL7 parks a malformed ACK.
/// - no `rsp` within `ackTimeout`, a `serverclose`, a `rsp` for another transaction, bytes that are
///   not RELP frames, or a closed connection: the link is broken; the forwarder reconnects, opens a
///   new session and sends the same message again (at-least-once: the receiver may hold it twice,
///   with the same `seq` in its structured data).
package struct SyslogRELPProtocol: ForwardingProtocol {
    package let settings: SyslogSettings
    private let session = RELPSession()

    package init(settings: SyslogSettings) {
        self.settings = settings
    }

    package var name: String { "syslog" }
    package var host: String { settings.host }
    package var port: Int { settings.port }
    package var connectTimeout: Duration { settings.connectTimeout }
    package var reconnectMax: Duration { settings.reconnectMax }
    package var retryAfterError: Duration { .seconds(1) }
    /// The receiver confirms each message: nothing delivered is sent again.
    package var resendWindow: Duration { .zero }
    package var heartbeatInterval: Duration? { nil }
    package var reannounce: ReannouncePolicy { settings.reannounce }
    package var tls: TLSSettings? { settings.tls }
    package func heartbeat(number: Int, over link: any ByteLink) throws {}

    /// The offers of the client's `open`: RELP version 0, this software (printable ASCII only: an
    /// offer ends at a LF), the syslog command.
    package var openOffers: [UInt8] {
        let software = settings.software.utf8.filter { $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "=") }.prefix(64)
        return Array("relp_version=0\nrelp_software=".utf8) + (software.isEmpty ? Array("alveo".utf8) : Array(software))
            + Array("\ncommands=syslog".utf8)
    }

    /// Opens the RELP session: `open` with the offers, and a `rsp 200` whose offers include the
    /// `syslog` command (and a version this client speaks).
    package func opened(_ link: any ByteLink) throws {
        session.reset()
        let txnr = session.nextTransaction()
        try link.send(RELPFrame(txnr: txnr, command: "open", data: openOffers).bytes)
        let frame = try session.response(to: txnr, over: link, timeout: settings.ackTimeout)
        guard let answer = RELPResponse.parse(frame.data) else {
            throw SocketError(operation: "open a RELP session", peer: link.peer, code: EPROTO,
                              detail: "the receiver answered open with \(Shown.text(frame.data, limit: 80))")
        }
        guard answer.status == 200 else {
            throw SocketError(operation: "open a RELP session", peer: link.peer, code: EPROTO,
                              detail: "the receiver refused the session: \(answer.status) \(Shown.text(answer.text, limit: 80))")
        }
        let offers = answer.offers
        guard offers["commands"]?.contains("syslog") == true else {
            throw SocketError(operation: "open a RELP session", peer: link.peer, code: EPROTO,
                              detail: "the receiver does not offer the syslog command (offered: "
                                  + "\(Shown.text((offers["commands"] ?? []).joined(separator: ",").utf8, limit: 80)))")
        }
        if let version = offers["relp_version"]?.first, version != "0" {
            throw SocketError(operation: "open a RELP session", peer: link.peer, code: EPROTO,
                              detail: "the receiver speaks RELP version \(Shown.text(version.utf8, limit: 12)); this client speaks 0")
        }
        session.open()
    }

    /// Ends the session with `close` and waits briefly for its answer (at a stop; nothing depends on it).
    package func closing(_ link: any ByteLink) {
        guard session.isOpen else { return }
        let txnr = session.nextTransaction()
        session.reset()
        do {
            try link.send(RELPFrame(txnr: txnr, command: "close").bytes)
            _ = try session.response(to: txnr, over: link, timeout: min(settings.ackTimeout, .seconds(1)))
        } catch {}
    }

    package func deliver(_ entry: JournalEntry, event: AlarmEvent, over link: any ByteLink) throws -> DeliveryOutcome {
        guard session.isOpen else { throw SocketError(operation: "send", peer: link.peer, code: ENOTCONN, detail: "no RELP session open") }
        // A `serverclose` (or the receiver's FIN) that came while the link was idle: reconnect first.
        try session.takeHints(over: link)
        if link.peerHasClosed() { throw SocketError(operation: "send", peer: link.peer, code: ECONNRESET) }
        let message = SyslogMessage.build(entry: entry, event: event, settings: settings, now: Date())
        let txnr = session.nextTransaction()
        try link.send(RELPFrame(txnr: txnr, command: "syslog", data: Array(message.utf8)).bytes)
        let frame = try session.response(to: txnr, over: link, timeout: settings.ackTimeout)
        guard let answer = RELPResponse.parse(frame.data) else {
            return .park("the receiver answered with a malformed RELP rsp: \(Shown.text(frame.data, limit: 120))")
        }
        guard answer.status == 200 else {
            // The same words each time (no transaction number): a receiver refusing for an hour is one log line.
            return .retry("the receiver answered RELP status \(answer.status) \(Shown.text(answer.text, limit: 80))")
        }
        return .delivered
    }
}

/// A RELP session's state on its connection: the next transaction number, frames read and not yet
/// used, and whether the session is open. One forwarder thread uses it; the lock makes it Sendable.
final class RELPSession: Sendable {
    private struct State {
        var reader = RELPFrameReader()
        var waiting: [RELPFrame] = []
        var txnr = 1
        var open = false
    }
    private let state = Mutex(State())

    /// A new connection: transaction numbers start again at 1.
    func reset() { state.withLock { $0 = State() } }

    func open() { state.withLock { $0.open = true } }

    var isOpen: Bool { state.withLock { $0.open } }

    /// The next transaction number: 1, 2, … 999,999,999, then 1 again (the specification's latch).
    func nextTransaction() -> Int {
        state.withLock { state in
            defer { state.txnr = state.txnr >= 999_999_999 ? 1 : state.txnr + 1 }
            return state.txnr
        }
    }

    /// Reads what the receiver sent unasked while the link was idle (nothing waits): a `serverclose`
    /// hint or any other frame there is no command for breaks the session.
    func takeHints(over link: any ByteLink) throws {
        do {
            // 1 ms, not 0: a zero socket timeout under TLS would mean no timeout at all.
            let chunk = try link.receive(timeout: .milliseconds(1))
            if chunk.isEmpty { throw SocketError(operation: "send", peer: link.peer, code: ECONNRESET, detail: "the receiver closed the connection") }
            try read(chunk, from: link)
        } catch let error as SocketError where error.isTimeout {}
        if let frame = state.withLock({ $0.waiting.first }) { throw unexpected(frame, link: link, expecting: nil) }
    }

    /// The `rsp` frame for transaction `txnr`, read within `timeout`.
    func response(to txnr: Int, over link: any ByteLink, timeout: Duration) throws -> RELPFrame {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            if let frame = state.withLock({ $0.waiting.isEmpty ? nil : $0.waiting.removeFirst() }) {
                guard frame.command == "rsp", frame.txnr == txnr else { throw unexpected(frame, link: link, expecting: txnr) }
                return frame
            }
            let left = clock.now.duration(to: deadline)
            let timedOut = SocketError(operation: "wait for the RELP rsp to transaction \(txnr)", peer: link.peer, code: ETIMEDOUT)
            guard left > .zero else { throw timedOut }
            let received = Result { () throws(SocketError) -> [UInt8] in try link.receive(timeout: left) }
            if case .failure(let error) = received, error.isTimeout { throw timedOut }
            let chunk = try received.get()
            if chunk.isEmpty {
                throw SocketError(operation: "wait for the RELP rsp to transaction \(txnr)", peer: link.peer, code: ECONNRESET,
                                  detail: "the receiver closed the connection")
            }
            try read(chunk, from: link)
        }
    }

    private func read(_ chunk: [UInt8], from link: any ByteLink) throws {
        let result = state.withLock { state -> Result<Void, RELPFrameError> in
            switch state.reader.feed(chunk) {
            case .success(let frames):
                state.waiting += frames
                return .success(())
            case .failure(let error): return .failure(error)
            }
        }
        if case .failure(let error) = result {
            throw SocketError(operation: "read the receiver's RELP frames", peer: link.peer, code: EPROTO, detail: "not RELP: \(error.reason)")
        }
    }

    private func unexpected(_ frame: RELPFrame, link: any ByteLink, expecting txnr: Int?) -> SocketError {
        let what = frame.command == "serverclose" ? "the receiver is closing the RELP session (serverclose)"
            : "unexpected RELP frame \(frame.txnr) \(Shown.text(frame.command.utf8, limit: 32))"
                + (txnr.map { " while waiting for the rsp to transaction \($0)" } ?? "")
        return SocketError(operation: "RELP", peer: link.peer, code: ECONNRESET, detail: what)
    }
}
