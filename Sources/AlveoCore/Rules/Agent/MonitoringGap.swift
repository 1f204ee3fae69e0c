/// The agent was not running (a crash, a power cut, a kill): when monitoring stopped and resumed,
/// found at the next start from the journal (a start and an end at once).
/// Its texts come from the agent; the same alarm engine runs it.
package struct MonitoringGap: AgentCondition {
    package static var id: RuleID { .monitoringGap }
    package static var identifier: String { "technical.monitoring_gap" }
    package static var family: RuleFamily { .agent }
    package static var type: AlarmType { .technical }
    package static var raisedBy: AgentConditionKind { .lifecycle }
    package static var title: String { "Gap in Alveo's monitoring" }
    package static var reference: String {
        "IEC 60601-1-8 technical alarm condition (the alarm system not operating); IHE PCD ACM (every alert start followed by an end)"
    }
    package static var policy: AlarmPolicy { .exempt }
    package static var hasOffset: Bool { false }
    package static var coding: RuleCoding { .local }

    package typealias Settings = NoSettings
}

extension RuleID {
    /// `technical.monitoring_gap`
    package static let monitoringGap = RuleID(ordinal: 25)
}
