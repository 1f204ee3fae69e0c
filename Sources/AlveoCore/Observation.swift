/// What one row of a scenario, or one decoded device field, carries.
public enum ObservedValue: Sendable, Equatable {
    /// A number in the parameter's scenario unit (FiO2 in percent).
    case number(Double)
    /// The device said it has no value for this parameter right now.
    case noData
    case position(Position)
    case sensor(SensorState)
    /// A clinician acknowledges the alarms of one rule.
    case ack(RuleID)
}

/// One timestamped value from one source. Time is seconds since the scenario or run start.
public struct Observation: Sendable, Equatable {
    public var source: String
    public var parameter: Parameter
    public var value: ObservedValue

    public init(source: String, parameter: Parameter, value: ObservedValue) {
        self.source = source
        self.parameter = parameter
        self.value = value
    }
}
