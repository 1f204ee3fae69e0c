/// Raised by the agent's output pipeline, not by the core: the central station refused a message.
/// Its texts come from the agent; the same alarm engine runs it.
package struct DeliveryFailed: AgentCondition {
    package static var id: RuleID { .deliveryFailed }
    package static var identifier: String { "technical.delivery_failed" }
    package static var family: RuleFamily { .agent }
    package static var type: AlarmType { .technical }
    package static var raisedBy: AgentConditionKind { .agent }
    package static var title: String { "Central station refused an alarm message" }
    package static var reference: String {
        "IEC 60601-1-8 technical alarm condition; IHE PCD-04 acknowledgement (HL7 v2 MSA-1)"
    }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 3, chatterStable: 600) }
    package static var hasOffset: Bool { true }
    package static var coding: RuleCoding { .local }

    package typealias Settings = NoSettings
}

extension RuleID {
    /// `technical.delivery_failed`
    package static let deliveryFailed = RuleID(ordinal: 21)
}
