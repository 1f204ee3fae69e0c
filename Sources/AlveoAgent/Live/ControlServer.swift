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
public struct ControlServer: Service {
    public let config: ControlConfig
    private let inbox: BedsideInbox
    private let logger: Logger

    /// The largest request body taken.
    static let maxBody = 64 * 1024

    public init(config: ControlConfig, inbox: BedsideInbox, logger: Logger) {
        self.config = config
        self.inbox = inbox
        var logger = logger
        logger[metadataKey: "control"] = "\(config.socketPath)"
        self.logger = logger
    }

    public func run() async throws {
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
            case .success(let status): return ControlServer.json(.ok, status)
            case .failure(let failure): return ControlServer.failure(failure)
            }
        }
        for endpoint in Endpoint.allCases {
            router.post(RouterPath(stringLiteral: endpoint.rawValue)) { request, _ in
                await ControlServer.handle(request, inbox: inbox) { body in try ControlServer.entry(endpoint, body) }
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
    public enum Endpoint: String, CaseIterable, Sendable {
        case ack = "v1/ack", chart = "v1/chart", patient = "v1/patient", discharge = "v1/patient/discharge"
    }

    /// The entry a request's JSON object asks for, or why it is a bad request. Total: any JSON object
    /// (the body is at most 64 KiB, and Foundation's parser refuses nesting deeper than 512).
    public static func entry(_ endpoint: Endpoint, _ body: [String: Any]) throws -> BedsideEntry {
        switch endpoint {
        case .ack:
            guard let rule = body["rule"] as? String else { throw BadRequest("give the rule to acknowledge: {\"rule\": \"oxygenation.spo2_low\"}") }
            return BedsideEntry(action: .acknowledge(rule: rule, source: body["source"] as? String), by: try by(body), via: "control")
        case .chart:
            guard let given = body["values"] as? [String: Any], !given.isEmpty else {
                throw BadRequest("give the values to chart: {\"values\": {\"pao2\": 62}}")
            }
            var values: [ChartedValue] = []
            for (name, value) in given.sorted(by: { $0.key < $1.key }) {
                let text: String
                switch value {
                case let number as NSNumber where String(cString: number.objCType) != "c": text = JSONValue.formatted(number.doubleValue)
                case let string as String: text = string
                default: throw BadRequest("\(Shown.text(name.utf8)): give a number or a word")
                }
                values.append(ChartedValue(parameter: name, value: text))
            }
            return BedsideEntry(action: .chart(values), sampleAge: try sampleAge(body), by: try by(body), via: "control")
        case .patient:
            var record = PatientRecord()
            record.sex = body["sex"] as? String
            if let height = body["height_cm"] {
                guard let number = height as? NSNumber else { throw BadRequest("height_cm: give a number of centimetres") }
                record.heightCm = number.doubleValue
            }
            if let pbw = body["pbw_kg"] {
                guard let number = pbw as? NSNumber else { throw BadRequest("pbw_kg: give a number of kilograms") }
                record.pbwKg = number.doubleValue
            }
            record.conditions = body["conditions"] as? [String] ?? []
            record.id = try text(body, "id")
            record.idAuthority = try text(body, "id_authority")
            record.name = try text(body, "name")
            return BedsideEntry(action: .set(record), by: try by(body), via: "control")
        case .discharge:
            return BedsideEntry(action: .discharge, by: try by(body), via: "control")
        }
    }

    public struct BadRequest: Error {
        public var message: String
        init(_ message: String) { self.message = message }
    }

    static func by(_ body: [String: Any]) throws -> String? { try text(body, "by") }

    /// An optional text field: printable, at most 128 characters, no control characters.
    static func text(_ body: [String: Any], _ key: String) throws -> String? {
        guard let value = body[key] else { return nil }
        guard let text = value as? String, !text.isEmpty, text.utf8.count <= 128,
              !text.unicodeScalars.contains(where: { $0.value < 0x20 || ($0.value >= 0x7F && $0.value < 0xA0) }) else {
            throw BadRequest("\(key): give text of 1 to 128 characters without control characters")
        }
        return text
    }

    /// How long before now the values were sampled: `sampled` (RFC 3339 UTC) or `sampled_ago_s`.
    static func sampleAge(_ body: [String: Any]) throws -> Double? {
        if let ago = body["sampled_ago_s"] {
            guard let seconds = (ago as? NSNumber)?.doubleValue, seconds.isFinite, seconds >= 0, seconds <= 7 * 86_400 else {
                throw BadRequest("sampled_ago_s: give a number of seconds, 0 or more")
            }
            return seconds
        }
        if let sampled = body["sampled"] {
            guard let text = sampled as? String, let milliseconds = UTCTime.parse(rfc3339: text) else {
                throw BadRequest("sampled: give an RFC 3339 UTC time, e.g. 2026-11-29T10:02:00Z")
            }
            let age = Date().timeIntervalSince1970 - Double(milliseconds) / 1000
            // A sample time ahead of this clock is in the future (a few seconds' skew between the CLI's
            // rounding and now is allowed): the loop refuses it with the reason.
            return age < 0 && age > -5 ? 0 : age
        }
        return nil
    }

    /// Reads a JSON object body, builds the entry, hands it to the loop, and answers.
    static func handle(_ request: Request, inbox: BedsideInbox,
                       _ make: ([String: Any]) throws -> BedsideEntry) async -> Response {
        let body: [String: Any]
        do {
            let buffer = try await request.body.collect(upTo: maxBody)
            let data = Data(buffer.readableBytesView)
            if data.isEmpty {
                body = [:]
            } else {
                guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                    return json(.badRequest, .object([("error", .string("the body is not a JSON object"))]))
                }
                body = object
            }
        } catch {
            return json(.contentTooLarge, .object([("error", .string("the body is larger than \(maxBody / 1024) KiB"))]))
        }
        let entry: BedsideEntry
        do {
            entry = try make(body)
        } catch let bad as BadRequest {
            return json(.badRequest, .object([("error", .string(bad.message))]))
        } catch {
            return json(.badRequest, .object([("error", .string("\(error)"))]))
        }
        switch await inbox.submit(entry) {
        case .success(let reply):
            // The events as stdout and the journal have them, one JSON object each.
            var text = ""
            JSONValue.object([("ok", .bool(true)), ("t", .number(reply.t)), ("sampled_t", reply.sampledAt.map { .number($0) } ?? .null)])
                .write(to: &text)
            text = String(text.dropLast()) + ",\"events\":[" + reply.events.map { $0.jsonLine() }.joined(separator: ",") + "]}"
            return raw(.ok, text)
        case .failure(let failure):
            return self.failure(failure)
        }
    }

    static func failure(_ failure: BedsideInbox.Failure) -> Response {
        switch failure {
        case .notRunning, .timedOut: json(.serviceUnavailable, .object([("error", .string(failure.description))]))
        case .refused(.invalid(let reason)): json(.unprocessableContent, .object([("error", .string(reason))]))
        case .refused(.nothingToDo(let reason)), .refused(.otherPatient(let reason)): json(.conflict, .object([("error", .string(reason))]))
        }
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
