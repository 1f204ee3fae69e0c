/// How a rule's events are coded in IHE PCD-04, as core-level data: AlveoOutput maps it to HL7 (its
/// MDC tables stay there). The value, limit and device of a limit alarm are read from the event's
/// evidence through typed keys the rule itself writes, so renaming a key changes both sides.
package enum RuleCoding: Sendable {
    /// A limit alarm on a metric: MDC event high or low, the value (NM) with its limit on row .2.
    case limit(LimitAlarm)
    /// Alveo's local code, the source Alveo itself (advisories, lab and charted values, the agent).
    case local
    /// Alveo's local code, the source the device of the event (technical alarms about a device);
    /// `parameterMetric`: the containment's channel names the event's parameter's metric.
    case deviceTechnical(parameterMetric: Bool)
}

/// The metrics a limit alarm can be about (AlveoOutput has their MDC codes and units).
package enum CodedMetric: Sendable {
    case spo2, tidalVolume, plateau, drivingPressure, pfRatio
    /// A mean blood pressure whose site the evidence names: `nibp` is the cuff's (MDC_PRESS_CUFF_MEAN),
    /// anything else the arterial line's (MDC_PRESS_BLD_ART_ABP_MEAN).
    case meanArterialPressure(site: EvidenceKey<String>)
}

/// A limit alarm's coding: the metric, the side of the limit, and where value, limit and device are.
package struct LimitAlarm: Sendable {
    /// The metric and its unit.
    package var metric: CodedMetric
    /// H (above the limit, MDC_EVT_HI) or L (below, MDC_EVT_LO).
    package var above: Bool
    package var value: EvidenceKey<Double>
    package var limit: Limit
    /// The evidence naming the device that measured the value (nil: a value Alveo derived).
    package var device: EvidenceKey<String>?

    package init(metric: CodedMetric, above: Bool, value: EvidenceKey<Double>, limit: Limit, device: EvidenceKey<String>?) {
        self.metric = metric
        self.above = above
        self.value = value
        self.limit = limit
        self.device = device
    }

    /// How the limit of OBX-7 is written.
    package enum Limit: Sendable {
        /// The normal range from the threshold up to `upper` (`88-100`).
        case rangeUpTo(threshold: EvidenceKey<Double>, upper: Double)
        /// The threshold itself (`<30` above it, `>200` below it); a threshold of 0 or less means none.
        case threshold(EvidenceKey<Double>, positiveOnly: Bool)
        /// A threshold per kg of predicted body weight, times the PBW, rounded (`<419` ml).
        case perKg(EvidenceKey<Double>, weight: EvidenceKey<Double>)
    }
}

/// A typed evidence key: the rule writes its evidence with it and its PCD-04 coding reads it, so the
/// two cannot drift apart. `member`: a number inside an object (the P/F's `value`).
package struct EvidenceKey<Value>: Sendable {
    package let name: String
    package let member: String?

    package init(_ name: String, member: String? = nil) {
        self.name = name
        self.member = member
    }
}

extension EvidenceKey where Value == Double {
    /// The evidence member for a number.
    package func callAsFunction(_ value: Double) -> (String, JSONValue) { (name, .number(value)) }
    package func callAsFunction(_ value: Double?) -> (String, JSONValue) { (name, value.map { .number($0) } ?? .null) }

    /// The number under this key in an event's evidence.
    package func read(_ evidence: [(String, JSONValue)]) -> Double? {
        guard var value = evidence.first(where: { $0.0 == name })?.1 else { return nil }
        if let member {
            guard case .object(let members) = value, let inner = members.first(where: { $0.0 == member })?.1 else { return nil }
            value = inner
        }
        guard case .number(let number) = value else { return nil }
        return number
    }
}

extension EvidenceKey where Value == String {
    package func callAsFunction(_ value: String) -> (String, JSONValue) { (name, .string(value)) }

    /// The text under this key in an event's evidence.
    package func read(_ evidence: [(String, JSONValue)]) -> String? {
        guard case .string(let text)? = evidence.first(where: { $0.0 == name })?.1 else { return nil }
        return text
    }
}

/// Evidence keys shared by several rules (a rule's own keys are declared in its file).
extension EvidenceKey where Value == Double {
    /// The current tidal volume, ml.
    package static let vtML = EvidenceKey("vt_ml")
    /// The predicted body weight, kg.
    package static let pbwKg = EvidenceKey("pbw_kg")
    /// The current plateau pressure, cmH2O.
    package static let pplatCmH2O = EvidenceKey("pplat_cmh2o")
    /// A threshold in ml/kg PBW (the tidal volume rules).
    package static let thresholdMlPerKg = EvidenceKey("threshold_ml_per_kg")
    /// A threshold in cmH2O (the pressure rules).
    package static let thresholdCmH2O = EvidenceKey("threshold_cmh2o")
    /// The P/F ratio's value (the `pf` object of the oxygenation rules).
    package static let pfValue = EvidenceKey("pf", member: "value")
}

extension EvidenceKey where Value == String {
    /// The device that measured the tidal volume.
    package static let vtSource = EvidenceKey("vt_source")
    /// The device that measured the plateau.
    package static let pplatSource = EvidenceKey("pplat_source")
}
