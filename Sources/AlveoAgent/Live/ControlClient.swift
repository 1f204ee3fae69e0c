import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The CLI's side of the control API: one HTTP/1.1 request over the agent's Unix socket, through
/// swift-nio's HTTP client codec, with the reasons a clinical engineer needs when it fails (no agent
/// running, a socket this user may not open).
package enum ControlClient {
    package struct Reply: Sendable {
        package var status: Int
        package var body: [UInt8]
    }

    package enum Failure: Error, Sendable, CustomStringConvertible {
        /// No agent listens: the socket is missing or nobody accepts on it.
        case notRunning(String)
        /// The socket is there but this user may not open it (not in its group).
        case permissionDenied(String)
        case failed(String)

        package var description: String {
            switch self {
            case .notRunning(let text), .permissionDenied(let text), .failed(let text): text
            }
        }
    }

    /// The largest answer read (a status of a busy bed is a few kilobytes).
    static let maxReply = 4 << 20

    package static func request(socket path: String, method: HTTPMethod, path uri: String, json body: [UInt8]? = nil,
                               timeout: Duration = .seconds(15)) async throws(Failure) -> Reply {
        do {
            return try await withThrowingTaskGroup(of: Reply?.self) { group in
                group.addTask { try await send(socket: path, method: method, uri: uri, body: body) }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let reply = first else {
                    throw Failure.failed("no answer from the agent within \(timeout) (\(path))")
                }
                return reply
            }
        } catch let failure as Failure {
            throw failure
        } catch let error as ChannelError where error == .ioOnClosedChannel || error == .eof || error == .outputClosed {
            throw Failure.failed("\(path): the agent closed the connection without answering (\(error))")
        } catch let error as IOError {
            switch error.errnoCode {
            case ENOENT: throw Failure.notRunning("no control socket at \(path): is alveo run running (and is this its control.socket)?")
            case ECONNREFUSED: throw Failure.notRunning("nothing answers on \(path): the agent is not running (a socket left by one that stopped)")
            case EACCES, EPERM: throw Failure.permissionDenied("\(path): permission denied: this user is not in the socket's group (control.group)")
            default: throw Failure.failed("\(path): \(error)")
            }
        } catch {
            throw Failure.failed("\(path): \(error)")
        }
    }

    private static func send(socket path: String, method: HTTPMethod, uri: String, body: [UInt8]?) async throws -> Reply {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(unixDomainSocketPath: path) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri)
            head.headers.add(name: "Host", value: "alveo")
            head.headers.add(name: "Connection", value: "close")
            var parts: [HTTPClientRequestPart] = [.head(head)]
            if let body {
                head.headers.add(name: "Content-Type", value: "application/json")
                head.headers.add(name: "Content-Length", value: "\(body.count)")
                parts = [.head(head), .body(.byteBuffer(ByteBuffer(bytes: body)))]
            }
            parts.append(.end(nil))
            // The agent may answer and close before this side has finished writing: once it has read a
            // body it refuses, the answer and the close can arrive before the request's end is written
            // ("I/O on closed channel"). Its answer counts whenever one arrives; a write error only
            // when none does.
            var writeError: (any Error)?
            do { try await outbound.write(contentsOf: parts) } catch { writeError = error }
            var status = 0
            var bytes: [UInt8] = []
            do {
                for try await part in inbound {
                    switch part {
                    case .head(let response): status = Int(response.status.code)
                    case .body(let buffer):
                        guard bytes.count + buffer.readableBytes <= maxReply else { throw Failure.failed("the agent's answer is larger than \(maxReply) bytes") }
                        bytes += Array(buffer.readableBytesView)
                    case .end: return Reply(status: status, body: bytes)
                    }
                }
            } catch let failure as Failure {
                throw failure
            } catch {
                // The connection ended inside the answer: what was read is the answer, if anything was.
                guard status != 0 else { throw writeError ?? error }
            }
            guard status != 0 else {
                throw writeError ?? Failure.failed("the agent closed the connection without answering")
            }
            return Reply(status: status, body: bytes)
        }
    }
}

/// The typed requests of the CLI's bedside commands (`alveo status`, `ack`, `chart`, `patient`).
extension ControlClient {
    /// What the agent answered: what was asked, or a refusal with its status and reason; with the
    /// body as it came (for `--json`).
    package enum Outcome<Answer: Decodable & Sendable>: Sendable {
        case answered(Answer, body: [UInt8])
        case refused(status: Int, reason: String, body: [UInt8])
    }

    package static func status(socket: String) async throws(Failure) -> Outcome<StatusAnswer> {
        try await call(socket: socket, method: .GET, path: "/v1/status", body: DischargeRequest?.none)
    }

    package static func ack(_ request: AckRequest, socket: String) async throws(Failure) -> Outcome<EntryAnswer> {
        try await call(socket: socket, method: .POST, path: "/v1/ack", body: request)
    }

    package static func chart(_ request: ChartRequest, socket: String) async throws(Failure) -> Outcome<EntryAnswer> {
        try await call(socket: socket, method: .POST, path: "/v1/chart", body: request)
    }

    package static func patient(_ request: PatientRequest, socket: String) async throws(Failure) -> Outcome<EntryAnswer> {
        try await call(socket: socket, method: .POST, path: "/v1/patient", body: request)
    }

    package static func discharge(_ request: DischargeRequest, socket: String) async throws(Failure) -> Outcome<EntryAnswer> {
        try await call(socket: socket, method: .POST, path: "/v1/patient/discharge", body: request)
    }

    private static func call<Answer: Decodable & Sendable>(socket: String, method: HTTPMethod, path: String,
                                                           body: (some Encodable)?) async throws(Failure) -> Outcome<Answer> {
        let payload: [UInt8]?
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            payload = try body.map { Array(try encoder.encode($0)) }
        } catch {
            throw .failed("the request cannot be written as JSON: \(error)")
        }
        let reply = try await request(socket: socket, method: method, path: path, json: payload)
        guard reply.status == 200 else {
            let reason = (try? JSONDecoder().decode(ErrorAnswer.self, from: Data(reply.body)))?.error ?? "HTTP \(reply.status)"
            return .refused(status: reply.status, reason: reason, body: reply.body)
        }
        do {
            return .answered(try JSONDecoder().decode(Answer.self, from: Data(reply.body)), body: reply.body)
        } catch {
            throw .failed("\(socket): the agent's answer cannot be read (\(Answer.self)): \(error)")
        }
    }
}
