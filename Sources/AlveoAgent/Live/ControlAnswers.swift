import AlveoCore

// The control API's answers (docs/control-api.md), Codable types shared by the server (which writes
// them with `OrderedJSONEncoder`: members in the documented order, absent ones as null) and the client
// (which reads them with JSONDecoder). Numbers that can be absent or not finite are optional.

/// Any refusal: `{"error": "…"}`.
package struct ErrorAnswer: Codable, Sendable, Equatable {
    package var error: String
    package init(error: String) { self.error = error }
}

/// What the loop did with an entry: `{"ok":true,"t":…,"sampled_t":…,"events":[…]}`.
package struct EntryAnswer: Codable, Sendable {
    /// The answer as the agent writes it (docs/control-api.md).
    package var json: String { OrderedJSONEncoder.encode(self) }

    package var ok: Bool
    /// When the loop took it, and the sample time it gave the values (agent seconds; nil: none given).
    package var t: Double?
    package var sampledT: Double?
    /// The events it caused, each as stdout and the journal have it.
    package var events: [ControlEvent]

    enum CodingKeys: String, CodingKey {
        case ok
        case t
        case sampledT = "sampled_t"
        case events
    }
}

/// An event in an answer. The server writes the whole event as stdout and the journal have it; the
/// client reads what it shows of it.
package struct ControlEvent: Codable, Sendable {
    package var rule: String?
    package var phase: String?
    package var priority: String?
    package var text: String?
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

    package init(from decoder: any Decoder) throws {
        let members = try decoder.container(keyedBy: CodingKeys.self)
        rule = try? members.decode(String.self, forKey: .rule)
        phase = try? members.decode(String.self, forKey: .phase)
        priority = try? members.decode(String.self, forKey: .priority)
        text = try? members.decode(String.self, forKey: .text)
    }

    package func encode(to encoder: any Encoder) throws {
        if let line, let raw = encoder as? any RawJSONEncoding { return raw.encodeRaw(line) }
        var members = encoder.container(keyedBy: CodingKeys.self)
        try members.encode(rule, forKey: .rule)
        try members.encode(phase, forKey: .phase)
        try members.encode(priority, forKey: .priority)
        try members.encode(text, forKey: .text)
    }
}

/// `GET /v1/status`: what the agent sees, of one moment of the loop.
package struct StatusAnswer: Codable, Sendable {
    /// The answer as the agent writes it (docs/control-api.md).
    package var json: String { OrderedJSONEncoder.encode(self) }

    package var agent: Agent
    package var patient: Patient
    package var values: [Value]
    package var position: Position
    package var pf: PF?
    /// The MAP the rules use (rules v3 §3.2): the arterial line's, else a recent cuff value.
    package var map: MAP?
    /// The ECMO state (rules v3 §3.3); nil when never charted.
    package var ecmo: ECMO?
    package var alarms: [Alarm]
    package var devices: [Device]
    package var outputs: Outputs
    package var inputs: Inputs

    package struct Agent: Codable, Sendable {
        package var version: String
        package var started: String
        package var uptimeS: Double?
        package var t: Double?
        package var recording: String?
        package var libmodbus: String
        package var libserialport: String
        package var openssl: String

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

    package struct Patient: Codable, Sendable {
        package var id: String?
        package var idAuthority: String?
        package var name: String?
        package var sex: String?
        package var heightCm: Double?
        package var pbwKg: Double?
        package var pbwByHand: Bool
        package var pbwCaution: Bool
        package var vtTargetMl: Double?
        package var vtTargetMlPerKg: Double?
        package var conditions: [String]
        package var sinceT: Double?

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

    package struct Value: Codable, Sendable {
        package var parameter: String
        package var value: Double?
        package var unit: String
        package var source: String?
        package var t: Double?
        package var ageS: Double?

        enum CodingKeys: String, CodingKey {
            case parameter
            case value
            case unit
            case source
            case t
            case ageS = "age_s"
        }
    }

    package struct MAP: Codable, Sendable {
        package var valueMmhg: Double?
        /// `abp` (arterial line) or `nibp` (cuff).
        package var source: String
        package var device: String?
        package var t: Double?

        enum CodingKeys: String, CodingKey {
            case valueMmhg = "value_mmhg"
            case source
            case device
            case t
        }
    }

    package struct ECMO: Codable, Sendable {
        /// `vv`, `va` or `none`.
        package var mode: String
        package var sinceT: Double?

        enum CodingKeys: String, CodingKey {
            case mode
            case sinceT = "since_t"
        }
    }

    package struct Position: Codable, Sendable {
        package var position: String
        package var sinceT: Double?

        enum CodingKeys: String, CodingKey {
            case position
            case sinceT = "since_t"
        }
    }

    /// The P/F the rules use: measured (a PaO2 with the FiO2 of its sample time) or imputed (SpO2,
    /// Brown 2016); the members of the other kind are absent.
    package struct PF: Codable, Sendable {
        package var value: Double?
        package var kind: String
        package var pao2Mmhg: Double?
        package var pao2T: Double?
        package var spo2Pct: Double?
        package var spo2T: Double?
        package var pao2ImputedMmhg: Double?
        package var method: String?
        package var fio2Fraction: Double?
        package var fio2T: Double?

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

        package var measured: Bool { kind == "measured" }

        package func encode(to encoder: any Encoder) throws {
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

    package struct Alarm: Codable, Sendable {
        package var alarmId: Int
        package var rule: String
        package var source: String?
        package var parameter: String?
        package var priority: String
        package var type: String
        package var sinceT: Double?
        package var activeForS: Double?
        package var latched: Bool
        package var acknowledged: Bool
        /// Who acknowledged it (a user name, or the person the alert manager names) and through what
        /// (`control`, `hl7-acm`); nil when not acknowledged, or by the agent itself.
        package var acknowledgedBy: String?
        package var acknowledgedVia: String?
        /// What the hospital's alert manager last reported about it (IHE PCD-05), if anything.
        package var station: Station?

        package init(alarmId: Int, rule: String, source: String?, parameter: String?, priority: String, type: String, sinceT: Double?,
                     activeForS: Double?, latched: Bool, acknowledged: Bool, acknowledgedBy: String? = nil, acknowledgedVia: String? = nil,
                     station: Station? = nil) {
            self.alarmId = alarmId
            self.rule = rule
            self.source = source
            self.parameter = parameter
            self.priority = priority
            self.type = type
            self.sinceT = sinceT
            self.activeForS = activeForS
            self.latched = latched
            self.acknowledged = acknowledged
            self.acknowledgedBy = acknowledgedBy
            self.acknowledgedVia = acknowledgedVia
            self.station = station
        }

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
            case acknowledgedBy = "acknowledged_by"
            case acknowledgedVia = "acknowledged_via"
            case station
        }

        /// The alert manager's last report (PCD-05): status, who, on what, when.
        package struct Station: Codable, Sendable {
            package var status: String
            package var statusText: String?
            package var person: String?
            package var device: String?
            package var time: String?

            enum CodingKeys: String, CodingKey {
                case status
                case statusText = "status_text"
                case person
                case device
                case time
            }
        }
    }

    package struct Device: Codable, Sendable {
        package var id: String
        package var kind: String
        package var connected: Bool
        package var lastGoodT: Double?
        package var lastGoodAgeS: Double?
        package var silent: Bool
        package var sensor: String
        package var rejectedValues: Int
        package var polls: Int
        package var failures: Int
        package var connects: Int
        package var frames: Int
        package var rejectedFrames: Int
        package var skippedBytes: Int
        package var lastProblem: String?
        package var link: String?
        package var identification: String?

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
    package struct Outputs: Codable, Sendable {
        package var journal: Journal?
        package var forwarders: [Forwarder]?

        /// No journal (and so no forwarders).
        package init() {}

        package struct Journal: Codable, Sendable {
            package var directory: String
            package var lastSeq: Int64
            package var heldInMemory: Int
            package var dropped: Int
            package var freeBytes: Int64?

            enum CodingKeys: String, CodingKey {
                case directory
                case lastSeq = "last_seq"
                case heldInMemory = "held_in_memory"
                case dropped
                case freeBytes = "free_bytes"
            }
        }

        package struct Forwarder: Codable, Sendable {
            package var name: String
            package var host: String
            package var port: Int
            package var tls: Bool
            package var connected: Bool
            package var deliveredUpTo: Int64
            package var backlog: Int64
            package var lastDelivery: String?
            package var lastProblem: String?

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

        package func encode(to encoder: any Encoder) throws {
            var members = encoder.container(keyedBy: CodingKeys.self)
            if let journal { try members.encode(journal, forKey: .journal) }
            if let forwarders { try members.encode(forwarders, forKey: .forwarders) }
        }
    }

    /// The inputs that feed the loop besides the devices: the laboratory and ADT listener when configured.
    package struct Inputs: Codable, Sendable {
        package var hl7: Listener?

        /// No input besides the devices.
        package init(hl7: Listener? = nil) { self.hl7 = hl7 }

        enum CodingKeys: String, CodingKey { case hl7 }

        package func encode(to encoder: any Encoder) throws {
            var members = encoder.container(keyedBy: CodingKeys.self)
            if let hl7 { try members.encode(hl7, forKey: .hl7) }
        }
    }

    /// The laboratory and ADT listener (docs/integration.md §8).
    package struct Listener: Codable, Sendable {
        package var listening: Bool
        package var address: String
        package var tls: Bool
        package var openConnections: Int
        package var connections: Int
        package var refusedConnections: Int
        package var evictedConnections: Int
        package var accepted: Int
        package var ignored: Int
        package var rejected: Int
        package var unanswered: Int
        package var lastMessage: String?
        package var lastProblem: String?

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
