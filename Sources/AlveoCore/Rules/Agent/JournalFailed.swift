/// Raised by the agent's output pipeline: alarm events cannot be written to the journal (disk
/// full, read-only, I/O error); they are held in memory and retried.
/// Its texts come from the agent; the same alarm engine runs it.
package struct JournalFailed: AgentCondition {
    package static var id: RuleID { .journalFailed }
    package static var identifier: String { "technical.journal_failed" }
    package static var family: RuleFamily { .agent }
    package static var type: AlarmType { .technical }
    package static var raisedBy: AgentConditionKind { .agent }
    package static var title: String { "Alarm journal cannot be written" }
    package static var reference: String {
        "IEC 60601-1-8 technical alarm condition (the alarm system's own failure)"
    }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 3, chatterStable: 600) }
    package static var hasOffset: Bool { true }
    package static var coding: RuleCoding { .local }

    package typealias Settings = NoSettings
}

extension RuleID {
    /// `technical.journal_failed`
    package static let journalFailed = RuleID(ordinal: 22)
}
