/// Raised by the agent: the trend store cannot be written (damaged, locked, disk full); monitoring
/// and alarms go on, the trends and the report miss values until it is fixed.
/// Its texts come from the agent; the same alarm engine runs it.
package struct TrendStoreFailed: AgentCondition {
    package static var id: RuleID { .trendStoreFailed }
    package static var identifier: String { "technical.trend_store_failed" }
    package static var family: RuleFamily { .agent }
    package static var type: AlarmType { .technical }
    package static var raisedBy: AgentConditionKind { .agent }
    package static var title: String { "Trend store cannot be written" }
    package static var reference: String {
        "IEC 60601-1-8 technical alarm condition (a failure of the system's recording, not of its alarms)"
    }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 3, chatterStable: 600) }
    package static var hasOffset: Bool { true }
    package static var coding: RuleCoding { .local }

    package typealias Settings = NoSettings
}

extension RuleID {
    /// `technical.trend_store_failed`
    package static let trendStoreFailed = RuleID(ordinal: 29)
}
