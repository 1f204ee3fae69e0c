import AlveoCore
import AlveoIO
import Foundation
import Synchronization

/// Where and how to deliver PCD-04 messages.
public struct HL7Settings: Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 2575
    public var identity = HL7Identity()
    public var connectTimeout: Duration = .seconds(5)
    public var ackTimeout: Duration = .seconds(5)
    public var reconnectMax: Duration = .seconds(30)
    /// Wait before resending after an AE (application error) answer.
    public var retryAfterError: Duration = .seconds(1)
    /// A heartbeat (ORU^R01 "bed alive") after this long without a message; nil: none.
    public var heartbeat: Duration? = .seconds(60)
    /// MLLP over TLS, or nil for plain TCP.
    public var tls: TLSSettings?

    public init() {}
}

/// IHE PCD-04 over MLLP. AA/CA: delivered. AE/CE: resent after a pause. AR, CR or a malformed ACK
/// (or one for another control id): parked. No ACK within the timeout: the forwarder reconnects and
/// resends (at-least-once; MSH-10 is stable so the receiver can de-duplicate).
public struct HL7Protocol: ForwardingProtocol {
    public let settings: HL7Settings
    /// Makes heartbeat control ids unique across runs.
    public let runID: String

    public init(settings: HL7Settings, runID: String = Journal.newRunID()) {
        self.settings = settings
        self.runID = runID
    }

    public var name: String { "hl7" }
    public var host: String { settings.host }
    public var port: Int { settings.port }
    public var connectTimeout: Duration { settings.connectTimeout }
    public var reconnectMax: Duration { settings.reconnectMax }
    public var retryAfterError: Duration { settings.retryAfterError }
    public var resendWindow: Duration { .zero }
    public var heartbeatInterval: Duration? { settings.heartbeat }
    public var tls: TLSSettings? { settings.tls }

    /// The patient of the last message delivered (heartbeats name the same one).
    private let lastPatient = PatientBox()

    /// An ORU^R01 saying the bed's agent is alive, acknowledged like any message (not journaled).
    public func heartbeat(number: Int, over link: any ByteLink) throws {
        let controlID = "\(settings.identity.bedID)-HB-\(runID)-\(number)"
        let identity = PCD04Message.identity(settings.identity, for: lastPatient.value.withLock { $0 })
        let message = PCD04Message.heartbeat(identity: identity, controlID: controlID, now: Date())
        try link.send([0x0B] + Array(message.utf8) + [0x1C, 0x0D])
        let reply = try readMLLPFrame(link, timeout: settings.ackTimeout)
        guard let ack = PCD04Message.parseACK(reply), ack.controlID == controlID, ack.code == "AA" || ack.code == "CA" else {
            throw SocketError(operation: "heartbeat \(controlID) not acknowledged", peer: link.peer, code: EPROTO)
        }
    }

    public func deliver(_ entry: JournalEntry, event: AlarmEvent, over link: any ByteLink) throws -> DeliveryOutcome {
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
