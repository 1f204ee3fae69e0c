/// What every alarm of the catalogue declares, clinical rule or the agent's own condition: its
/// identifier, type, texts for reports, settings, the engine's timing and its PCD-04 coding. None of
/// these has a default: a unit without a type, a code or a title does not compile.
package protocol RuleUnit: SendableMetatype {
    /// The unit's own thresholds, delays and windows (`rules: <id>:` in the configuration).
    associatedtype Settings: RuleSettingsGroup

    /// The stable identifier (its place in the catalogue; the text is `identifier`).
    static var id: RuleID { get }
    /// The identifier as written in files, configurations and events (`oxygenation.spo2_low`).
    static var identifier: String { get }
    static var family: RuleFamily { get }
    static var type: AlarmType { get }
    /// A short title for reports.
    static var title: String { get }
    /// Where the rule and its default numbers come from.
    static var reference: String { get }
    /// The alarm engine's default timing (rules v3 §1.4).
    static var policy: AlarmPolicy { get }
    /// Whether `offset_s` and `min_active_s` apply (the escalation prompts keep their own windows).
    static var hasOffset: Bool { get }
    /// How its events are coded in PCD-04 (AlveoOutput maps this to HL7).
    static var coding: RuleCoding { get }
    /// Its condition comes from laboratory results and charted entries (rules v3 §2.2): below high it
    /// is re-announced only when a new result leaves it as it was, never on a timer.
    static var resultDriven: Bool { get }
}

extension RuleUnit {
    /// Most rules follow a device's stream; the four dah.* rules say otherwise.
    package static var resultDriven: Bool { false }
}

/// The rule families, one folder each under `Rules/`.
package enum RuleFamily: String, Sendable, CaseIterable {
    case lungProtection = "LungProtection"
    case oxygenation = "Oxygenation"
    case circulation = "Circulation"
    case escalation = "Escalation"
    case dah = "DAH"
    case technical = "Technical"
    case agent = "Agent"
}

/// A clinical rule: the core evaluates it. It reads the bed (the shared derived state: readings, P/F,
/// plateau pairing, position course, sources, patient) and keeps its own state (onsets, windows, end
/// reasons); it says which facts of the bed it reads, so that the core evaluates it only when one of
/// them changed or one of its timers is due.
package protocol ClinicalRule: RuleUnit {
    /// The facts whose change makes this rule worth evaluating.
    static var inputs: Facts { get }

    init(settings: Settings)

    /// The text and evidence of one of its alarms, from the bed and its own state at `t`.
    func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription

    /// A clinician acknowledged one of its alarms and the engine ended it (an advisory prompt): what
    /// the rule remembers of the decision. Returns whether the engine re-arms the prompt (it may start
    /// again only once its condition has been known false for `rearm_s`).
    mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool
}

/// A rule about the bed as a whole (most rules).
package protocol BedRule: ClinicalRule {
    /// Assesses its condition and drives its alarm; returns the earliest time its own state can change
    /// with no input changing (an onset delay, a window deadline), `.infinity` if none, or nil: it
    /// cannot tell, evaluate it at every group.
    mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double?
}

/// A rule about each streaming source (a device): evaluated per source, in order of appearance, when
/// a source changed or while one of these rules' alarms is in force.
package protocol SourceRule: ClinicalRule {
    mutating func evaluate(_ bed: inout ClinicalCore, source: Int, at t: Double, into events: inout [AlarmEvent])
}

/// A condition the agent raises itself (its outputs, its clock, its disk, its own lifecycle): the same
/// engine runs it, its texts come from the agent.
package protocol AgentCondition: RuleUnit {
    static var raisedBy: AgentConditionKind { get }
}

/// Who raises an agent condition.
package enum AgentConditionKind: Sendable {
    /// The output pipeline and the agent's health checks (delivery, journal, station, clock, disk, trends).
    case agent
    /// The bedside loop at a stop or a restart (monitoring stopped, monitoring gap): never by a condition.
    case lifecycle
}

/// A rule's text and evidence at one moment.
package struct AlarmDescription {
    /// While the condition is present.
    package var active: String
    /// When it has ended.
    package var cleared: String
    package var evidence: [(String, JSONValue)]

    package init(active: String, cleared: String, evidence: [(String, JSONValue)]) {
        self.active = active
        self.cleared = cleared
        self.evidence = evidence
    }
}

/// The facts of the bed a rule may read, one bit each: a device parameter's reading (its value or its
/// presence changed; bits 0-31, by the parameter's raw value), and the derived facts (bits 32 on).
package struct Facts: OptionSet, Sendable, Hashable {
    package let rawValue: UInt64
    package init(rawValue: UInt64) { self.rawValue = rawValue }

    /// A device parameter's current reading (value, presence or source changed).
    package static func reading(_ parameter: Parameter) -> Facts {
        precondition(parameter.rawValue < 32, "\(parameter.name): the reading bits are 0-31")
        return Facts(rawValue: 1 << UInt64(parameter.rawValue))
    }

    package static let spo2 = reading(.spo2)
    package static let fio2 = reading(.fio2)
    package static let vt = reading(.vt)
    package static let pplat = reading(.pplat)
    package static let peep = reading(.peep)
    /// The P/F ratio the rules use (measured or imputed) and its fall reference.
    package static let pf = Facts(rawValue: 1 << 32)
    /// The plateau pairing (a new plateau, a stale change).
    package static let plateau = Facts(rawValue: 1 << 33)
    /// The charted position and the course of prone sessions.
    package static let position = Facts(rawValue: 1 << 34)
    /// Charted haemoptysis (entries and the window's total).
    package static let hemoptysis = Facts(rawValue: 1 << 35)
    /// A haemoglobin result.
    package static let hemoglobin = Facts(rawValue: 1 << 36)
    /// A creatinine result.
    package static let creatinine = Facts(rawValue: 1 << 37)
    /// The sources: silence, probe state, rejected values.
    package static let sources = Facts(rawValue: 1 << 38)
    /// The patient (sex, height, PBW, conditions).
    package static let patient = Facts(rawValue: 1 << 39)
    /// Ventilation (the first Vt or PEEP reading).
    package static let ventilation = Facts(rawValue: 1 << 40)
    /// Whether a Vt or a PEEP reading is current (not their values).
    package static let ventilatorReporting = Facts(rawValue: 1 << 41)

    /// The charted ECMO state (rules v3 §3.3).
    package static let ecmo = Facts(rawValue: 1 << 42)
    /// The charted `massive_hemoptysis` yes/no (rules v3 §3.4).
    package static let massiveHemoptysis = Facts(rawValue: 1 << 43)

    /// Everything: evaluate at every group.
    package static let all = Facts(rawValue: .max)
}
