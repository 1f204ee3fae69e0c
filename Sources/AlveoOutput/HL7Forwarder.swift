import AlveoIO
import Dispatch
import Foundation
import Logging
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

    public init() {}
}

/// Delivers the journal to the central station as IHE PCD-04 over MLLP, in journal order, one message
/// at a time, each only after the previous one was acknowledged (at-least-once; MSH-10 is stable so the
/// receiver can de-duplicate). AA/CA: delivered. AE: resent after a pause. AR or a malformed ACK: the
/// message is parked (parked.jsonl, with the reason), reported, and delivery goes on with the next.
/// No ACK within the timeout: reconnect and resend. The position is persisted after every delivery,
/// so a restart resumes exactly where it stopped. Runs on its own thread (blocking sockets).
public final class HL7Forwarder: Sendable {
    public let settings: HL7Settings
    private let journalDirectory: String
    private let logger: Logger
    private let onParked: @Sendable (Int64, String) -> Void
    private let positionStore: DeliveryPosition
    private let delivered: Mutex<Int64>
    private let wakeup = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private let stopping = Mutex(false)

    public init(settings: HL7Settings, journalDirectory: String, logger: Logger,
                onParked: @escaping @Sendable (Int64, String) -> Void = { _, _ in })
    {
        self.settings = settings
        self.journalDirectory = journalDirectory
        var logger = logger
        logger[metadataKey: "output"] = "hl7 \(settings.host):\(settings.port)"
        self.logger = logger
        self.onParked = onParked
        positionStore = DeliveryPosition(directory: journalDirectory, name: "hl7")
        delivered = Mutex(positionStore.load())
    }

    /// The last journal sequence number acknowledged by the receiver (or parked).
    public var position: Int64 { delivered.withLock { $0 } }

    public func start() {
        let thread = Thread { [self] in
            run()
            done.signal()
        }
        thread.name = "alveo-hl7"
        thread.start()
    }

    /// New entries were appended: look now rather than at the next idle check.
    public func wake() { wakeup.signal() }

    public func stop() {
        stopping.withLock { $0 = true }
        wakeup.signal()
        done.wait()
    }

    private var isStopping: Bool { stopping.withLock { $0 } }

    private func pause(_ duration: Duration) -> Bool {
        let nanos = duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
        _ = wakeup.wait(timeout: .now() + .nanoseconds(Int(max(0, nanos))))
        return !isStopping
    }

    private func run() {
        var reader = JournalReader(directory: journalDirectory, after: position)
        var pending: JournalEntry?
        var connection: TCPConnection?
        var backoff: Duration = .milliseconds(250)
        var lastProblem: String?

        func problem(_ text: String) {
            if text != lastProblem { logger.error("\(text)") }
            lastProblem = text
        }

        while !isStopping {
            if pending == nil { pending = reader.next() }
            guard let entry = pending else {
                _ = pause(.milliseconds(500))
                continue
            }
            if connection == nil {
                do {
                    connection = try TCPConnection(host: settings.host, port: settings.port, timeout: settings.connectTimeout)
                    logger.info("connected")
                } catch {
                    problem("cannot connect: \(error); retrying")
                    guard pause(backoff) else { break }
                    backoff = min(backoff * 2, settings.reconnectMax)
                    continue
                }
            }
            guard let link = connection else { continue }
            let controlID = PCD04Message.controlID(bedID: settings.identity.bedID, seq: entry.seq)
            let message = PCD04Message.build(entry: entry, identity: settings.identity, now: Date())
            do {
                try link.send([0x0B] + Array(message.utf8) + [0x1C, 0x0D])
                let reply = try readFrame(link)
                let ack = PCD04Message.parseACK(reply)
                switch (ack?.code, ack?.controlID == controlID) {
                case ("AA"?, true), ("CA"?, true):
                    try commit(entry.seq)
                    pending = nil
                    backoff = .milliseconds(250)
                    if lastProblem != nil { logger.info("delivering again") }
                    lastProblem = nil
                case ("AE"?, true), ("CE"?, true):
                    problem("message \(controlID) answered \(ack!.code) (application error): resending")
                    guard pause(settings.retryAfterError) else { break }
                default:
                    let reason = ack.map { "answered \($0.code) for control id \($0.controlID)" } ?? "malformed ACK: \(reply.prefix(120))"
                    park(entry, controlID: controlID, reason: reason)
                    try commit(entry.seq)
                    pending = nil
                }
            } catch {
                problem("message \(controlID): \(error); reconnecting and resending")
                link.shutdown()
                connection = nil
                guard pause(backoff) else { break }
                backoff = min(backoff * 2, settings.reconnectMax)
            }
        }
    }

    /// Reads one MLLP frame (0x0B … 0x1C 0x0D) within the ACK timeout.
    private func readFrame(_ link: TCPConnection) throws -> String {
        var bytes: [UInt8] = []
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: settings.ackTimeout)
        while true {
            if let end = bytes.firstIndex(of: 0x1C), end + 1 < bytes.count, bytes[end + 1] == 0x0D {
                let start = (bytes.firstIndex(of: 0x0B) ?? -1) + 1
                return String(decoding: bytes[start..<end], as: UTF8.self)
            }
            let left = clock.now.duration(to: deadline)
            guard left > .zero else { throw SocketError(operation: "wait for ACK", peer: link.peer, code: ETIMEDOUT) }
            let chunk = try link.receive(timeout: left)
            if chunk.isEmpty { throw SocketError(operation: "wait for ACK", peer: link.peer, code: ECONNRESET) }
            bytes += chunk
        }
    }

    private func commit(_ seq: Int64) throws {
        try positionStore.save(seq)
        delivered.withLock { $0 = seq }
    }

    private func park(_ entry: JournalEntry, controlID: String, reason: String) {
        logger.error("message \(controlID) parked: \(reason); continuing with the next")
        let line = "{\"seq\":\(entry.seq),\"control_id\":\"\(controlID)\",\"reason\":\(jsonString(reason)),\"event\":\(entry.eventJSON)}\n"
        let path = journalDirectory + "/hl7-parked.jsonl"
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        if let file = FileHandle(forWritingAtPath: path) {
            _ = try? file.seekToEnd()
            try? file.write(contentsOf: Data(line.utf8))
            try? file.synchronize()
            try? file.close()
        }
        onParked(entry.seq, reason)
    }

    private func jsonString(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [text])) ?? Data("[\"\"]".utf8)
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}
