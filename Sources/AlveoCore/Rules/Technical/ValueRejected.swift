/// `technical.value_rejected`: a device sent an impossible value (outside the parameter's range, or not
/// a usable number); it is never used by the rules (low), per source and parameter.
package struct ValueRejected: SourceRule {
    package static var id: RuleID { .valueRejected }
    package static var identifier: String { "technical.value_rejected" }
    package static var family: RuleFamily { .technical }
    package static var type: AlarmType { .technical }
    package static var title: String { "Impossible value rejected" }
    package static var reference: String { "IEC 60601-1-8 technical alarm condition" }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 3, chatterStable: 60) }
    package static var hasOffset: Bool { true }
    package static var coding: RuleCoding { .deviceTechnical(parameterMetric: true) }
    package static var inputs: Facts { [.sources] }

    package typealias Settings = NoSettings

    package init(settings: Settings) {}

    package mutating func evaluate(_ bed: inout ClinicalCore, source src: Int, at t: Double, into events: inout [AlarmEvent]) {
        for parameter in bed.sources[src].rejectedParameters {
            let active = bed.sources[src].rejections[parameter]?.active == true
            bed.drive(AlarmKey(rule: Self.id, source: src, parameter: parameter), active ? .active(.low) : .inactive,
                      by: self, at: t, into: &events)
        }
    }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        let src = key.source
        let parameter = Parameter(rawValue: key.parameter)!
        let name = bed.sources[src].name
        let rejection = bed.sources[src].rejections[parameter.rawValue]
        var evidence: [(String, JSONValue)] = [("parameter", .string(parameter.name)), ("unit", .string(parameter.unit))]
        if let range = parameter.acceptedRange {
            evidence.append(("accepted", .array([.number(range.lowerBound), .number(range.upperBound)])))
        }
        if let rejection {
            // A number past any device's range is shown as the text received, never as a number.
            evidence += [("value", rejection.value.map { .number($0) } ?? .null)]
            if rejection.value == nil { evidence.append(("value_text", .string(rejection.shown))) }
            evidence += [("value_t", .number(rejection.t)), ("rejected_count", .number(Double(rejection.count)))]
        }
        let range = parameter.acceptedRange.map { " (accepted \(Fmt.fixed($0.lowerBound, 1).trimmingTrailingZeros)-\(Fmt.fixed($0.upperBound, 1).trimmingTrailingZeros))" } ?? ""
        // A number no device could mean is shown as received, in the device's own unit when it had one.
        let what = if let rejection, rejection.value == nil, rejection.shown.contains(" ") {
            "Impossible \(parameter.name) value from \(name) rejected: the device sent \(rejection.shown)"
                + (parameter.acceptedRange.map { " (accepted \(Fmt.fixed($0.lowerBound, 1).trimmingTrailingZeros)-\(Fmt.fixed($0.upperBound, 1).trimmingTrailingZeros) \(parameter.unit))" } ?? "")
        } else {
            "Impossible \(parameter.name) value \(rejection?.shown ?? "?") \(parameter.unit) from \(name) rejected\(range)"
        }
        return AlarmDescription(
            active: "\(what); it is not used by the clinical rules. Check the device and its interface.",
            cleared: "Valid \(parameter.name) values from \(name) again.",
            evidence: evidence)
    }
}

extension RuleID {
    /// `technical.value_rejected`
    package static let valueRejected = RuleID(ordinal: 20)
}
