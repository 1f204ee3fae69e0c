/// Raised by the agent: a serial device answers but keeps refusing to give data although it is asked
/// as its protocol says (a SERVO answering RADC with error 16 again after its channels were defined).
/// Per device; its texts come from the agent (the device's own answer); the same alarm engine runs it.
package struct DeviceRefused: AgentCondition {
    package static var id: RuleID { .deviceRefused }
    package static var identifier: String { "technical.device_refused" }
    package static var family: RuleFamily { .agent }
    package static var type: AlarmType { .technical }
    package static var raisedBy: AgentConditionKind { .agent }
    package static var title: String { "Device refuses to send data" }
    package static var reference: String { "IEC 60601-1-8 technical alarm condition (failure of communication with a device)" }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 3, chatterStable: 600) }
    package static var hasOffset: Bool { true }
    package static var coding: RuleCoding { .local }

    package typealias Settings = NoSettings
}

extension RuleID {
    /// `technical.device_refused`
    package static let deviceRefused = RuleID(ordinal: 33)
}
