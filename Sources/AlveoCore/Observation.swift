/// What one row of a scenario, or one decoded device field, carries.
package enum ObservedValue: Sendable, Equatable {
    /// A number in the parameter's scenario unit (FiO2 in percent).
    case number(Double)
    /// The device said it has no value for this parameter right now.
    case noData
    case position(Position)
    case sensor(SensorState)
    /// ECMO charted: `vv`, `va` or `none` (rules v3 §3.3).
    case ecmo(ECMOMode)
    /// A charted yes or no (`massive_hemoptysis`, rules v3 §3.4).
    case yesNo(Bool)
    /// A clinician acknowledges the alarms of one rule.
    case ack(RuleID)
    /// The device sent a number that cannot be a measurement of anything (not finite, or far beyond
    /// any range a device reports): the text it sent, made printable and short (`DeviceNumber`), for
    /// the alarm text. It is never converted and never reaches the rules: the core rejects it and
    /// raises `technical.value_rejected`, as for a number outside the parameter's range.
    case unusable(String)
}

/// One timestamped value from one source. Time is seconds since the scenario or run start.
package struct Observation: Sendable, Equatable {
    package var source: String
    package var parameter: Parameter
    package var value: ObservedValue
    /// For a charted or laboratory value: when it was sampled, on the same clock, at or before the
    /// time the group is processed (a blood gas drawn at 10:02 and charted at 10:30 is a PaO2 of
    /// 10:02). nil: when it was received. Device values are always of their receipt time.
    package var sampledAt: Double?
    /// A laboratory result that corrects an earlier one of the same sample time (HL7 OBX-11 "C"):
    /// it replaces that result instead of adding one.
    package var corrects: Bool

    package init(source: String, parameter: Parameter, value: ObservedValue, sampledAt: Double? = nil, corrects: Bool = false) {
        self.source = source
        self.parameter = parameter
        self.value = value
        self.sampledAt = sampledAt
        self.corrects = corrects
    }
}
