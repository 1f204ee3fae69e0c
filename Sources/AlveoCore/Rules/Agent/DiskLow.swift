/// Raised by the agent: the journal's file system is nearly full.
/// Its texts come from the agent; the same alarm engine runs it.
package struct DiskLow: AgentCondition {
    package static var id: RuleID { .diskLow }
    package static var identifier: String { "technical.disk_low" }
    package static var family: RuleFamily { .agent }
    package static var type: AlarmType { .technical }
    package static var raisedBy: AgentConditionKind { .agent }
    package static var title: String { "Journal disk nearly full" }
    package static var reference: String {
        "IEC 60601-1-8 technical alarm condition (the alarm system's own failure, before it happens)"
    }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 3, chatterStable: 600) }
    package static var hasOffset: Bool { true }
    package static var coding: RuleCoding { .local }

    package struct Settings: RuleSettingsGroup {
        package var minFreeMB = 256.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [
                Setting("min_free_mb", "MB", \.minFreeMB, 1...1_000_000, "free space left to unprivileged users on the journal's file system below this"),
            ]
        }
    }
}

extension RuleID {
    /// `technical.disk_low`
    package static let diskLow = RuleID(ordinal: 28)
}
