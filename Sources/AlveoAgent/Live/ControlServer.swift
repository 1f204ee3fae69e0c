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
                await ControlServer.handle(request, inbox: inbox) { body throws(RequestError) in try ControlServer.entry(endpoint, body) }
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

    /// The entry a request's JSON object asks for, or why not: `wrongType` (400) for a field of the
    /// wrong JSON type, `unacceptable` (422) for a well-typed value that is not acceptable (docs/control-api.md,
    /// "Answers"). Total: any JSON object (the body is at most 64 KiB, and Foundation's parser refuses
    /// nesting deeper than 512). What the loop alone can judge (a rule, parameter, unit, sex or condition
    /// it does not know, a sample time too old) it refuses itself, also as 422.
    public static func entry(_ endpoint: Endpoint, _ body: [String: Any]) throws(RequestError) -> BedsideEntry {
        let fields = Fields(body: body)
        switch endpoint {
        case .ack:
            guard let rule = try fields.string("rule", "a rule id as text") else {
                throw .unacceptable("give the rule to acknowledge: {\"rule\": \"oxygenation.spo2_low\"}")
            }
            return BedsideEntry(action: .acknowledge(rule: rule, source: try fields.text("source")), by: try fields.text("by"), via: "control")
        case .chart:
            guard let given = try fields.object("values", "an object of parameters and values, e.g. {\"pao2\": 62}") else {
                throw .unacceptable("give the values to chart: {\"values\": {\"pao2\": 62}}")
            }
            guard (1...maxValues).contains(given.count) else {
                throw .unacceptable("values: give 1 to \(maxValues) values to chart (\(given.count) given), e.g. {\"pao2\": 62}")
            }
            var values: [ChartedValue] = []
            for (name, value) in given.sorted(by: { $0.key < $1.key }) {
                let text: String
                if let number = Fields.number(value) {
                    text = JSONValue.formatted(number)
                } else if let string = value as? String {
                    text = string
                } else {
                    throw .wrongType("values.\(Shown.text(name.utf8, limit: 24)): give a number, or a text of a number and its unit (\"8.2kPa\") or a position")
                }
                values.append(ChartedValue(parameter: name, value: text))
            }
            let sampleAge = try sampleAge(fields)
            return BedsideEntry(action: .chart(values), sampleAge: sampleAge, by: try fields.text("by"), via: "control")
        case .patient:
            var record = PatientRecord()
            record.sex = try fields.string("sex", "male or female, as text")
            record.heightCm = try fields.number("height_cm", "a number of centimetres")
            record.pbwKg = try fields.number("pbw_kg", "a number of kilograms")
            record.conditions = try fields.strings("conditions", "a list of condition names, e.g. [\"anca_vasculitis\"]") ?? []
            record.id = try fields.text("id")
            record.idAuthority = try fields.text("id_authority")
            record.name = try fields.text("name")
            return BedsideEntry(action: .set(record), by: try fields.text("by"), via: "control")
        case .discharge:
            return BedsideEntry(action: .discharge, by: try fields.text("by"), via: "control")
        }
    }

    /// The most values one chart request takes (as the loop).
    static let maxValues = 32
    /// The furthest back `sampled_ago_s` may go (the loop refuses, within it, what is older than
    /// `max_sample_age_s`).
    package static let maxSampledAgo: Double = 7 * 86_400
    /// The longest text field (`by`, `source`, `id`, `id_authority`, `name`), in bytes of UTF-8.
    package static let maxText = 128

    /// Why a request is not handed to the loop, and so which status it gets.
    public struct RequestError: Error, Sendable, Equatable, CustomStringConvertible {
        public enum Kind: Sendable, Equatable {
            /// The body is not a JSON object, or a field has the wrong JSON type: 400.
            case wrongType
            /// A well-typed value that is not acceptable (out of range, too long, missing): 422.
            case unacceptable
        }
        public var kind: Kind
        public var message: String
        public var description: String { message }

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

    /// The members of a request's JSON object, read by type: absent gives nil; JSON null or another
    /// type than asked is a `wrongType`. Messages never echo more than a bounded part of a value.
    struct Fields {
        let body: [String: Any]

        func string(_ key: String, _ what: String) throws(RequestError) -> String? {
            guard let value = body[key] else { return nil }
            guard let text = value as? String else { throw .wrongType("\(key): give \(what)") }
            return text
        }

        /// A text field: a string (else 400) of 1 to 128 bytes without control characters (else 422).
        func text(_ key: String) throws(RequestError) -> String? {
            guard let value = try string(key, "text") else { return nil }
            if let problem = ControlServer.textProblem(value) { throw .unacceptable("\(key): \(problem)") }
            return value
        }

        func number(_ key: String, _ what: String) throws(RequestError) -> Double? {
            guard let value = body[key] else { return nil }
            guard let number = Fields.number(value) else { throw .wrongType("\(key): give \(what)") }
            return number
        }

        func object(_ key: String, _ what: String) throws(RequestError) -> [String: Any]? {
            guard let value = body[key] else { return nil }
            guard let object = value as? [String: Any] else { throw .wrongType("\(key): give \(what)") }
            return object
        }

        func strings(_ key: String, _ what: String) throws(RequestError) -> [String]? {
            guard let value = body[key] else { return nil }
            guard let list = value as? [Any] else { throw .wrongType("\(key): give \(what)") }
            var strings: [String] = []
            for (index, item) in list.enumerated() {
                guard let text = item as? String else { throw .wrongType("\(key)[\(index)]: give \(what)") }
                strings.append(text)
            }
            return strings
        }

        /// A JSON number (true and false are not numbers).
        static func number(_ value: Any) -> Double? {
            guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else { return nil }
            return number.doubleValue
        }
    }

    /// How long before now the values were sampled: `sampled` (RFC 3339 UTC) or `sampled_ago_s`. A
    /// time ahead of this clock gives a negative age: the loop takes it as now when it is at most 60 s
    /// ahead (`BedsideLoop.clockSkewTolerance`), and refuses it otherwise.
    static func sampleAge(_ fields: Fields) throws(RequestError) -> Double? {
        let ago = try fields.number("sampled_ago_s", "a number of seconds")
        let sampled = try fields.string("sampled", "an RFC 3339 UTC time as text, e.g. \"2026-11-29T10:02:00Z\"")
        if ago != nil, sampled != nil { throw .unacceptable("give sampled or sampled_ago_s, not both") }
        if let ago {
            guard ago.isFinite, ago >= 0, ago <= maxSampledAgo else {
                throw .unacceptable("sampled_ago_s: give a number of seconds from 0 to \(Int(maxSampledAgo)) (7 days)")
            }
            return ago
        }
        if let sampled {
            guard let milliseconds = UTCTime.parse(rfc3339: sampled) else {
                throw .unacceptable("sampled: '\(Shown.text(sampled.utf8, limit: 40))' is not an RFC 3339 UTC time, e.g. 2026-11-29T10:02:00Z")
            }
            return Date().timeIntervalSince1970 - Double(milliseconds) / 1000
        }
        return nil
    }

    /// Reads a JSON object body, builds the entry, hands it to the loop, and answers.
    static func handle(_ request: Request, inbox: BedsideInbox,
                       _ make: ([String: Any]) throws(RequestError) -> BedsideEntry) async -> Response {
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
        } catch {
            return json(error.kind == .wrongType ? .badRequest : .unprocessableContent, .object([("error", .string(error.message))]))
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
