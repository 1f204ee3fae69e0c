import AlveoCore

// The control API's answers (docs/control-api.md), Codable types shared by the server (which writes
// them with `OrderedJSONEncoder`: members in the documented order, absent ones as null) and the client
// (which reads them with JSONDecoder). Numbers that can be absent or not finite are optional.

/// Any refusal: `{"error": "…"}`.
public struct ErrorAnswer: Codable, Sendable, Equatable {
    public var error: String
    public init(error: String) { self.error = error }
}

/// What the loop did with an entry: `{"ok":true,"t":…,"sampled_t":…,"events":[…]}`.
public struct EntryAnswer: Codable, Sendable {
    /// The answer as the agent writes it (docs/control-api.md).
    public var json: String { OrderedJSONEncoder.encode(self) }

    public var ok: Bool
    /// When the loop took it, and the sample time it gave the values (agent seconds; nil: none given).
    public var t: Double?
    public var sampledT: Double?
    /// The events it caused, each as stdout and the journal have it.
    public var events: [ControlEvent]

    enum CodingKeys: String, CodingKey {
        case ok
        case t
        case sampledT = "sampled_t"
        case events
    }
}

/// An event in an answer. The server writes the whole event as stdout and the journal have it; the
/// client reads what it shows of it.
public struct ControlEvent: Codable, Sendable {
    public var rule: String?
    public var phase: String?
    public var priority: String?
    public var text: String?
    /// The server's: the event's JSON line, written as is.
    var line: String?

    init(_ event: AlarmEvent) {
        rule = event.rule.id
        phase = event.phase.rawValue
        priority = event.priority.name
        text = event.text
        line = event.jsonLine()
    }

    enum CodingKeys: String, CodingKey { case rule, phase, priority, text }

    public init(from decoder: any Decoder) throws {
        let members = try decoder.container(keyedBy: CodingKeys.self)
        rule = try? members.decode(String.self, forKey: .rule)
        phase = try? members.decode(String.self, forKey: .phase)
        priority = try? members.decode(String.self, forKey: .priority)
        text = try? members.decode(String.self, forKey: .text)
    }

    public func encode(to encoder: any Encoder) throws {
        if let line, let raw = encoder as? any RawJSONEncoding { return raw.encodeRaw(line) }
        var members = encoder.container(keyedBy: CodingKeys.self)
        try members.encode(rule, forKey: .rule)
        try members.encode(phase, forKey: .phase)
        try members.encode(priority, forKey: .priority)
        try members.encode(text, forKey: .text)
    }
}

/// `GET /v1/status`: what the agent sees, of one moment of the loop.
public struct StatusAnswer: Codable, Sendable {
    /// The answer as the agent writes it (docs/control-api.md).
    public var json: String { OrderedJSONEncoder.encode(self) }

    public var agent: Agent
    public var patient: Patient
    public var values: [Value]
    public var position: Position
    public var pf: PF?
    public var alarms: [Alarm]
    public var devices: [Device]
    public var outputs: Outputs
    public var inputs: Inputs

    public struct Agent: Codable, Sendable {
        public var version: String
        public var started: String
        public var uptimeS: Double?
        public var t: Double?
        public var recording: String?
        public var libmodbus: String
        public var libserialport: String
        public var openssl: String

        enum CodingKeys: String, CodingKey {
            case version
            case started
            case uptimeS = "uptime_s"
            case t
            case recording
            case libmodbus
            case libserialport
            case openssl
        }
    }

    public struct Patient: Codable, Sendable {
        public var id: String?
        public var idAuthority: String?
        public var name: String?
        public var sex: String?
        public var heightCm: Double?
        public var pbwKg: Double?
        public var pbwByHand: Bool
        public var pbwCaution: Bool
        public var vtTargetMl: Double?
        public var vtTargetMlPerKg: Double?
        public var conditions: [String]
        public var sinceT: Double?

        enum CodingKeys: String, CodingKey {
            case id
            case idAuthority = "id_authority"
            case name
            case sex
            case heightCm = "height_cm"
            case pbwKg = "pbw_kg"
            case pbwByHand = "pbw_by_hand"
            case pbwCaution = "pbw_caution"
            case vtTargetMl = "vt_target_ml"
            case vtTargetMlPerKg = "vt_target_ml_per_kg"
            case conditions
            case sinceT = "since_t"
        }
    }

    public struct Value: Codable, Sendable {
        public var parameter: String
        public var value: Double?
        public var unit: String
        public var source: String?
        public var t: Double?
        public var ageS: Double?

        enum CodingKeys: String, CodingKey {
            case parameter
            case value
            case unit
            case source
            case t
            case ageS = "age_s"
        }
    }

    public struct Position: Codable, Sendable {
        public var position: String
        public var sinceT: Double?

        enum CodingKeys: String, CodingKey {
            case position
            case sinceT = "since_t"
        }
    }

    /// The P/F the rules use: measured (a PaO2 with the FiO2 of its sample time) or imputed (SpO2,
    /// Brown 2016); the members of the other kind are absent.
    public struct PF: Codable, Sendable {
        public var value: Double?
        public var kind: String
        public var pao2Mmhg: Double?
        public var pao2T: Double?
        public var spo2Pct: Double?
        public var spo2T: Double?
        public var pao2ImputedMmhg: Double?
        public var method: String?
        public var fio2Fraction: Double?
        public var fio2T: Double?

        enum CodingKeys: String, CodingKey {
            case value
            case kind
            case pao2Mmhg = "pao2_mmhg"
            case pao2T = "pao2_t"
            case spo2Pct = "spo2_pct"
            case spo2T = "spo2_t"
            case pao2ImputedMmhg = "pao2_imputed_mmhg"
            case method
            case fio2Fraction = "fio2_fraction"
            case fio2T = "fio2_t"
        }

        public var measured: Bool { kind == "measured" }

        public func encode(to encoder: any Encoder) throws {
            var members = encoder.container(keyedBy: CodingKeys.self)
            try members.encodeIfPresent(value, forKey: .value)
            try members.encode(kind, forKey: .kind)
            if measured {
                try members.encodeIfPresent(pao2Mmhg, forKey: .pao2Mmhg)
                try members.encodeIfPresent(pao2T, forKey: .pao2T)
            } else {
                try members.encodeIfPresent(spo2Pct, forKey: .spo2Pct)
                try members.encodeIfPresent(spo2T, forKey: .spo2T)
                try members.encodeIfPresent(pao2ImputedMmhg, forKey: .pao2ImputedMmhg)
                try members.encodeIfPresent(method, forKey: .method)
            }
            try members.encodeIfPresent(fio2Fraction, forKey: .fio2Fraction)
            try members.encodeIfPresent(fio2T, forKey: .fio2T)
        }
    }

    public struct Alarm: Codable, Sendable {
        public var alarmId: Int
        public var rule: String
        public var source: String?
        public var parameter: String?
        public var priority: String
        public var type: String
        public var sinceT: Double?
        public var activeForS: Double?
        public var latched: Bool
        public var acknowledged: Bool

        enum CodingKeys: String, CodingKey {
            case alarmId = "alarm_id"
            case rule
            case source
            case parameter
            case priority
            case type
            case sinceT = "since_t"
            case activeForS = "active_for_s"
            case latched
            case acknowledged
        }
    }

    public struct Device: Codable, Sendable {
        public var id: String
        public var kind: String
        public var connected: Bool
        public var lastGoodT: Double?
        public var lastGoodAgeS: Double?
        public var silent: Bool
        public var sensor: String
        public var rejectedValues: Int
        public var polls: Int
        public var failures: Int
        public var connects: Int
        public var frames: Int
        public var rejectedFrames: Int
        public var skippedBytes: Int
        public var lastProblem: String?
        public var link: String?
        public var identification: String?

        enum CodingKeys: String, CodingKey {
            case id
            case kind
            case connected
            case lastGoodT = "last_good_t"
            case lastGoodAgeS = "last_good_age_s"
            case silent
            case sensor
            case rejectedValues = "rejected_values"
            case polls
            case failures
            case connects
            case frames
            case rejectedFrames = "rejected_frames"
            case skippedBytes = "skipped_bytes"
            case lastProblem = "last_problem"
            case link
            case identification
        }
    }

    /// The journal and the forwarders; both absent without a journal.
    public struct Outputs: Codable, Sendable {
        public var journal: Journal?
        public var forwarders: [Forwarder]?

        /// No journal (and so no forwarders).
        public init() {}

        public struct Journal: Codable, Sendable {
            public var directory: String
            public var lastSeq: Int64
            public var heldInMemory: Int
            public var dropped: Int
            public var freeBytes: Int64?

            enum CodingKeys: String, CodingKey {
                case directory
                case lastSeq = "last_seq"
                case heldInMemory = "held_in_memory"
                case dropped
                case freeBytes = "free_bytes"
            }
        }

        public struct Forwarder: Codable, Sendable {
            public var name: String
            public var host: String
            public var port: Int
            public var tls: Bool
            public var connected: Bool
            public var deliveredUpTo: Int64
            public var backlog: Int64
            public var lastDelivery: String?
            public var lastProblem: String?

            enum CodingKeys: String, CodingKey {
                case name
                case host
                case port
                case tls
                case connected
                case deliveredUpTo = "delivered_up_to"
                case backlog
                case lastDelivery = "last_delivery"
                case lastProblem = "last_problem"
            }
        }

        enum CodingKeys: String, CodingKey { case journal, forwarders }

        public func encode(to encoder: any Encoder) throws {
            var members = encoder.container(keyedBy: CodingKeys.self)
            if let journal { try members.encode(journal, forKey: .journal) }
            if let forwarders { try members.encode(forwarders, forKey: .forwarders) }
        }
    }

    /// The inputs that feed the loop besides the devices: the laboratory and ADT listener when configured.
    public struct Inputs: Codable, Sendable {
        public var hl7: Listener?

        /// No input besides the devices.
        public init(hl7: Listener? = nil) { self.hl7 = hl7 }

        enum CodingKeys: String, CodingKey { case hl7 }

        public func encode(to encoder: any Encoder) throws {
            var members = encoder.container(keyedBy: CodingKeys.self)
            if let hl7 { try members.encode(hl7, forKey: .hl7) }
        }
    }

    /// The laboratory and ADT listener (docs/integration.md §8).
    public struct Listener: Codable, Sendable {
        public var listening: Bool
        public var address: String
        public var tls: Bool
        public var openConnections: Int
        public var connections: Int
        public var refusedConnections: Int
        public var evictedConnections: Int
        public var accepted: Int
        public var ignored: Int
        public var rejected: Int
        public var unanswered: Int
        public var lastMessage: String?
        public var lastProblem: String?

        enum CodingKeys: String, CodingKey {
            case listening
            case address
            case tls
            case openConnections = "open_connections"
            case connections
            case refusedConnections = "refused_connections"
            case evictedConnections = "evicted_connections"
            case accepted
            case ignored
            case rejected
            case unanswered
            case lastMessage = "last_message"
            case lastProblem = "last_problem"
        }
    }
}
