import AlveoCore
import AlveoIO
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle

/// The control API of `alveo run`: HTTP/1.1 with JSON on a Unix domain socket (Hummingbird), for
/// `alveo status`, `ack`, `chart` and `patient`, and later a bedside view. No TCP listener. The socket
/// is made 0660 and given the configured group: who may acknowledge alarms and chart is who may open
/// it. Requests go to the live bedside loop through its inbox and are answered once the loop has taken
/// and journaled them. The endpoints and their JSON: docs/control-api.md.
///
/// A control API that cannot start (no directory for the socket, another agent serving it) is logged
/// as critical and the agent monitors on without it: the bed must not lose its alarms for want of it.
package struct ControlServer: Service {
    package let config: ControlConfig
    private let inbox: BedsideInbox
    private let logger: Logger

    /// The largest request body taken.
    static let maxBody = 64 * 1024

    package init(config: ControlConfig, inbox: BedsideInbox, logger: Logger) {
        self.config = config
        self.inbox = inbox
        var logger = logger
        logger[metadataKey: "control"] = "\(config.socketPath)"
        self.logger = logger
    }

    package func run() async throws {
        do {
            try ControlSocket.prepare(path: config.socketPath)
        } catch {
            logger.critical("control API not served: \(error); alveo status, ack, chart and patient will not reach this agent")
            try? await gracefulShutdown()
            return
        }
        let router = Router()
        let inbox = self.inbox
        router.get("metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: AgentMetrics.text())))
        }
        router.get("v1/status") { _, _ in
            switch await inbox.status() {
            case .success(let status): return ControlServer.json(.ok, status)  // a StatusAnswer
            case .failure(let failure): return ControlServer.failure(failure)
            }
        }
        for endpoint in Endpoint.allCases {
            router.post(RouterPath(stringLiteral: endpoint.rawValue)) { request, _ in
                await ControlServer.handle(request, inbox: inbox) { body throws(RequestError) in try ControlServer.entry(endpoint, body: body) }
            }
        }
        let path = config.socketPath, group = config.group, logger = self.logger
        // Bounded connections (issue 23): at most max_connections, the one idle longest making room
        // for a new one, idle ones closed after idle_timeout_s and unfinished requests after 15 s. The
        // listener itself stops accepting a little above the bound, so descriptors stay bounded even
        // while closing lags behind a flood.
        let guarded = ControlConnectionGuard(limits: config.connectionLimits, logger: logger)
        let sweeper = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                guarded.sweep()
            }
        }
        defer { sweeper.cancel() }
        let app = Application(
            router: router,
            server: .http1(configuration: .init(additionalChannelHandlers: [guarded.handler()])),
            configuration: .init(address: .unixDomainSocket(path: path), serverName: "alveo",
                                 availableConnectionsDelegate: MaximumAvailableConnections(config.maxConnections + 16)),
            onServerRunning: { _ in
                do {
                    try ControlSocket.secure(path: path, group: group)
                    logger.info("control API served", metadata: ["mode": "0660", "group": "\(group ?? "(the agent's)")",
                                                                 "max_connections": "\(guarded.limits.limit)"])
                } catch {
                    logger.critical("control API socket could not be secured: \(error)")
                }
            },
            logger: logger)
        do {
            try await app.run()
        } catch {
            logger.critical("control API stopped: \(error); the agent monitors on without it")
            try? await gracefulShutdown()
        }
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The endpoints that take an entry (POST with a JSON object).
    package enum Endpoint: String, CaseIterable, Sendable {
        case ack = "v1/ack", chart = "v1/chart", patient = "v1/patient", discharge = "v1/patient/discharge"
    }

    /// The entry a request's body asks for, or why not: `wrongType` (400) for a body that is not a JSON
    /// object or a field of the wrong JSON type, `unacceptable` (422) for a well-typed value that is not
    /// acceptable (docs/control-api.md, "Answers"); an empty body is an empty object. Total: any bytes
    /// (the body is at most 64 KiB, and Foundation's parser refuses nesting deeper than 512). What the
    /// loop alone can judge (a rule, parameter, unit, sex or condition it does not know, a sample time
    /// too old) it refuses itself, also as 422.
    package static func entry(_ endpoint: Endpoint, body: [UInt8], now: Date = Date()) throws(RequestError) -> BedsideEntry {
        switch endpoint {
        case .ack: try decode(AckRequest.self, body).entry
        case .chart: try decode(ChartRequest.self, body).entry(now: now)
        case .patient: try decode(PatientRequest.self, body).entry
        case .discharge: try decode(DischargeRequest.self, body).entry
        }
    }

    /// A request from its body: the request's own refusal naming the field, else (not JSON, not an
    /// object) that the body is not a JSON object.
    static func decode<Request: Decodable>(_ type: Request.Type, _ body: [UInt8]) throws(RequestError) -> Request {
        do {
            return try JSONDecoder().decode(type, from: body.isEmpty ? Data("{}".utf8) : Data(body))
        } catch let error as RequestError {
            throw error
        } catch {
            throw .wrongType("the body is not a JSON object")
        }
    }

    /// The furthest back `sampled_ago_s` may go (the loop refuses, within it, what is older than
    /// `max_sample_age_s`).
    package static let maxSampledAgo: Double = 7 * 86_400
    /// The longest text field (`by`, `source`, `id`, `id_authority`, `name`), in bytes of UTF-8.
    package static let maxText = 128

    /// Why a request is not handed to the loop, and so which status it gets.
    package struct RequestError: Error, Sendable, Equatable, CustomStringConvertible {
        package enum Kind: Sendable, Equatable {
            /// The body is not a JSON object, or a field has the wrong JSON type: 400.
            case wrongType
            /// A well-typed value that is not acceptable (out of range, too long, missing): 422.
            case unacceptable
        }
        package var kind: Kind
        package var message: String
        package var description: String { message }

        static func wrongType(_ message: String) -> RequestError { RequestError(kind: .wrongType, message: message) }
        static func unacceptable(_ message: String) -> RequestError { RequestError(kind: .unacceptable, message: message) }
    }

    /// Why `value` is not acceptable as a text field (`by`, `source`, `id`, `id_authority`, `name`), or
    /// nil: 1 to 128 bytes, no control characters. The CLI checks its options by the same rule.
    package static func textProblem(_ value: String) -> String? {
        let controls = value.unicodeScalars.contains { $0.value < 0x20 || ($0.value >= 0x7F && $0.value < 0xA0) }
        guard value.isEmpty || value.utf8.count > maxText || controls else { return nil }
        let what = value.isEmpty ? "it is empty" : controls ? "it has control characters" : "it has \(value.utf8.count) bytes"
        return "give text of 1 to \(maxText) characters (bytes of UTF-8) without control characters (\(what))"
    }

    /// Reads the body, builds the entry, hands it to the loop, and answers.
    static func handle(_ request: Request, inbox: BedsideInbox, _ make: ([UInt8]) throws(RequestError) -> BedsideEntry) async -> Response {
        let body: [UInt8]
        do {
            let buffer = try await request.body.collect(upTo: maxBody)
            body = Array(buffer.readableBytesView)
        } catch {
            return json(.contentTooLarge, ErrorAnswer(error: "the body is larger than \(maxBody / 1024) KiB"))
        }
        let entry: BedsideEntry
        do {
            entry = try make(body)
        } catch {
            return json(error.kind == .wrongType ? .badRequest : .unprocessableContent, ErrorAnswer(error: error.message))
        }
        switch await inbox.submit(entry) {
        case .success(let reply):
            // The events as stdout and the journal have them, one JSON object each.
            return json(.ok, EntryAnswer(ok: true, t: reply.t, sampledT: reply.sampledAt, events: reply.events.map(ControlEvent.init)))
        case .failure(let failure):
            return self.failure(failure)
        }
    }

    static func failure(_ failure: BedsideInbox.Failure) -> Response {
        switch failure {
        case .notRunning, .timedOut: json(.serviceUnavailable, ErrorAnswer(error: failure.description))
        case .refused(.invalid(let reason)): json(.unprocessableContent, ErrorAnswer(error: reason))
        case .refused(.nothingToDo(let reason)), .refused(.otherPatient(let reason)): json(.conflict, ErrorAnswer(error: reason))
        }
    }

    static func json(_ status: HTTPResponse.Status, _ answer: some Encodable) -> Response {
        raw(status, OrderedJSONEncoder.encode(answer))
    }

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        var text = ""
        value.write(to: &text)
        return raw(status, text)
    }

    static func raw(_ status: HTTPResponse.Status, _ json: String) -> Response {
        let text = json + "\n"
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}

extension ControlServer {
    /// A text from outside as error messages quote it: bounded, bytes outside printable ASCII as `\xNN`.
    package static func shown(_ text: String, limit: Int = 60) -> String { Shown.text(text.utf8, limit: limit) }
}
