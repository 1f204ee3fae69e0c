/// The agent stopped (SIGTERM, SIGINT): the bed is no longer watched by Alveo. Raised at the stop,
/// ended by the next run once it polls.
/// Its texts come from the agent; the same alarm engine runs it.
package struct MonitoringStopped: AgentCondition {
    package static var id: RuleID { .monitoringStopped }
    package static var identifier: String { "technical.monitoring_stopped" }
    package static var family: RuleFamily { .agent }
    package static var type: AlarmType { .technical }
    package static var raisedBy: AgentConditionKind { .lifecycle }
    package static var title: String { "Alveo stopped: bed not watched" }
    package static var reference: String {
        "IEC 60601-1-8 technical alarm condition (the alarm system not operating); IHE PCD ACM (every alert start followed by an end)"
    }
    package static var policy: AlarmPolicy { .exempt }
    package static var hasOffset: Bool { false }
    package static var coding: RuleCoding { .local }

    package typealias Settings = NoSettings
}

extension RuleID {
    /// `technical.monitoring_stopped`
    package static let monitoringStopped = RuleID(ordinal: 24)
}
