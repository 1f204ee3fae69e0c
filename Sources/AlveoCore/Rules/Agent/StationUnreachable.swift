/// Raised by the agent's output pipeline: a central-station output has not delivered for a while,
/// or too many alarm messages wait for it.
/// Its texts come from the agent; the same alarm engine runs it.
package struct StationUnreachable: AgentCondition {
    package static var id: RuleID { .stationUnreachable }
    package static var identifier: String { "technical.station_unreachable" }
    package static var family: RuleFamily { .agent }
    package static var type: AlarmType { .technical }
    package static var raisedBy: AgentConditionKind { .agent }
    package static var title: String { "Central station unreachable" }
    package static var reference: String {
        "IEC 60601-1-8 technical alarm condition (distributed alarm system: failure of communication, 6.11.2.2.2)"
    }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 3, chatterStable: 600) }
    package static var hasOffset: Bool { true }
    package static var coding: RuleCoding { .local }

    package struct Settings: RuleSettingsGroup {
        package var after = 60.0
        package var backlogMax = 100.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [
                Setting("after_s", "s", \.after, 5...3600, "an output that has failed to deliver (or to heartbeat) for this long"),
                Setting("backlog_max", "messages", \.backlogMax, 1...1_000_000, "or more alarm journal entries than this waiting for one output"),
            ]
        }
    }
}

extension RuleID {
    /// `technical.station_unreachable`
    package static let stationUnreachable = RuleID(ordinal: 26)
}
