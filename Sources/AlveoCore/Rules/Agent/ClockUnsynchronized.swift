/// Raised by the agent: the kernel reports the system clock as not synchronised (every HL7 and
/// syslog timestamp depends on it).
/// Its texts come from the agent; the same alarm engine runs it.
package struct ClockUnsynchronized: AgentCondition {
    package static var id: RuleID { .clockUnsynchronized }
    package static var identifier: String { "technical.clock_unsynchronized" }
    package static var family: RuleFamily { .agent }
    package static var type: AlarmType { .technical }
    package static var raisedBy: AgentConditionKind { .agent }
    package static var title: String { "System clock not synchronised" }
    package static var reference: String {
        "IEC 60601-1-8 technical alarm condition; HL7 v2 timestamps (MSH-7, OBR-7, OBX-14) and RFC 5424 TIMESTAMP are wall-clock times"
    }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 3, chatterStable: 600) }
    package static var hasOffset: Bool { true }
    package static var coding: RuleCoding { .local }

    package struct Settings: RuleSettingsGroup {
        package var after = 600.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [
                Setting("after_s", "s", \.after, 0...86400, "the kernel reports the clock unsynchronised (adjtimex) for this long (NTP takes a while after boot)"),
            ]
        }
    }
}

extension RuleID {
    /// `technical.clock_unsynchronized`
    package static let clockUnsynchronized = RuleID(ordinal: 27)
}
