import AlveoCore
import AlveoIO
import Foundation
import Synchronization

/// Where and how to deliver PCD-04 messages.
package struct HL7Settings: Sendable, Equatable {
    package var host = "127.0.0.1"
    package var port = 2575
    package var identity = HL7Identity()
    package var connectTimeout: Duration = .seconds(5)
    package var ackTimeout: Duration = .seconds(5)
    package var reconnectMax: Duration = .seconds(30)
    /// Wait before resending after an AE (application error) answer.
    package var retryAfterError: Duration = .seconds(1)
    /// A heartbeat (ORU^R01 "bed alive") after this long without a message; nil: none.
    package var heartbeat: Duration? = .seconds(60)
    /// MLLP over TLS, or nil for plain TCP.
    package var tls: TLSSettings?
    /// `outputs.hl7.reannounce`: transitions only (default, IHE PCD ACM), or the re-announcement
    /// schedule too (by site agreement).
    package var reannounce: ReannouncePolicy = .transitions

    package init() {}
}

/// IHE PCD-04 over MLLP. AA/CA: delivered. AE/CE: resent after a pause. AR, CR or a malformed ACK
/// (or one for another control id): parked. No ACK within the timeout: the forwarder reconnects and
/// resends (at-least-once; MSH-10 is stable so the receiver can de-duplicate).
package struct HL7Protocol: ForwardingProtocol {
    package let settings: HL7Settings
    /// Makes heartbeat control ids unique across runs.
    package let runID: String

    package init(settings: HL7Settings, runID: String = Journal.newRunID()) {
        self.settings = settings
        self.runID = runID
    }

    package var name: String { "hl7" }
    package var host: String { settings.host }
    package var port: Int { settings.port }
    package var connectTimeout: Duration { settings.connectTimeout }
    package var reconnectMax: Duration { settings.reconnectMax }
    package var retryAfterError: Duration { settings.retryAfterError }
    package var resendWindow: Duration { .zero }
    package var heartbeatInterval: Duration? { settings.heartbeat }
    package var reannounce: ReannouncePolicy { settings.reannounce }
    package var tls: TLSSettings? { settings.tls }

    /// The patient of the last message delivered (heartbeats name the same one).
    private let lastPatient = PatientBox()

    /// An ORU^R01 saying the bed's agent is alive, acknowledged like any message (not journaled).
    package func heartbeat(number: Int, over link: any ByteLink) throws {
        let controlID = "\(settings.identity.bedID)-HB-\(runID)-\(number)"
        let identity = PCD04Message.identity(settings.identity, for: lastPatient.value.withLock { $0 })
        let message = PCD04Message.heartbeat(identity: identity, controlID: controlID, now: Date())
        try link.send([0x0B] + Array(message.utf8) + [0x1C, 0x0D])
        let reply = try readMLLPFrame(link, timeout: settings.ackTimeout)
        guard let ack = PCD04Message.parseACK(reply), ack.controlID == controlID, ack.code == "AA" || ack.code == "CA" else {
            throw SocketError(operation: "heartbeat \(controlID) not acknowledged", peer: link.peer, code: EPROTO)
        }
    }

    package func deliver(_ entry: JournalEntry, event: AlarmEvent, over link: any ByteLink) throws -> DeliveryOutcome {
        let controlID = PCD04Message.controlID(bedID: settings.identity.bedID, entry: entry)
        let message = PCD04Message.build(entry: entry, event: event, identity: settings.identity, now: Date())
        try link.send([0x0B] + Array(message.utf8) + [0x1C, 0x0D])
        let reply = try readMLLPFrame(link, timeout: settings.ackTimeout)
        guard let ack = PCD04Message.parseACK(reply), ack.controlID == controlID else {
            // What the station sent is echoed into alarm texts and logs: printable and short only.
            let seen = PCD04Message.parseACK(reply).map { "an ACK for control id \(Shown.text($0.controlID.utf8, limit: 64))" }
                ?? "a malformed ACK: \(Shown.text(reply.utf8, limit: 120))"
            return .park("message \(controlID) answered with \(seen)")
        }
        switch ack.code {
        case "AA", "CA":
            if entry.patient != nil { lastPatient.value.withLock { $0 = entry.patient } }
            return .delivered
        case "AE", "CE": return .retry("message \(controlID) answered \(ack.code) (application error)")
        default: return .park("message \(controlID) answered \(Shown.text(ack.code.utf8, limit: 8))")
        }
    }
}

/// The patient last named in a delivered message, shared by copies of the protocol value.
final class PatientBox: Sendable {
    let value = Mutex<JournalPatient?>(nil)
}
