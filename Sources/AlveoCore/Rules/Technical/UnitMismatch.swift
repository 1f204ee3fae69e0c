/// `technical.unit_mismatch` (rules v3 §4.15): a source sends a parameter's values in another unit than
/// the configured one (FiO2 as a fraction on a % source): each such value is rejected, the rules that
/// read the parameter are blind, and this says so (medium), per source and parameter. Alveo never
/// converts a unit it was not given (v3 §6): a unit guessed wrongly is worse than a blind rule that says so.
package struct UnitMismatch: SourceRule {
    package static var id: RuleID { .unitMismatch }
    package static var identifier: String { "technical.unit_mismatch" }
    package static var family: RuleFamily { .technical }
    package static var type: AlarmType { .technical }
    package static var title: String { "Values in another unit" }
    package static var reference: String { "IEC 60601-1-8 technical alarm condition; rules v3 §4.15" }
    package static var policy: AlarmPolicy { AlarmPolicy(offset: 60, chatterMax: 2, chatterStable: 600) }
    package static var hasOffset: Bool { true }
    package static var coding: RuleCoding { .deviceTechnical(parameterMetric: true) }
    package static var inputs: Facts { [.sources] }

    package typealias Settings = NoSettings

    package init(settings: Settings) {}

    package mutating func evaluate(_ bed: inout ClinicalCore, source src: Int, at t: Double, into events: inout [AlarmEvent]) {
        for parameter in bed.sources[src].mismatchedParameters {
            let active = bed.sources[src].mismatches[parameter]?.active == true
            bed.drive(AlarmKey(rule: Self.id, source: src, parameter: parameter), active ? .active(.medium) : .inactive,
                      by: self, at: t, into: &events)
        }
    }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    /// The facts through which a rule reads a parameter (P/F is made of FiO2 and, imputed, of SpO2).
    static func facts(of parameter: Parameter) -> Facts {
        switch parameter {
        case .fio2: [.fio2, .pf]
        case .spo2: [.spo2, .pf]
        case .hb: [.hemoglobin]
        case .creatinine: [.creatinine]
        default: parameter.rawValue < 32 ? .reading(parameter) : []
        }
    }

    /// The enabled rules that read `parameter`, when no other source has a current value of it.
    static func blindRules(_ parameter: Parameter, source src: Int, bed: ClinicalCore) -> [String] {
        if let reading = bed.reading(parameter), reading.source != src { return [] }
        let facts = facts(of: parameter)
        return Catalogue.clinicalRules.compactMap { unit in
            unit.inputs.isDisjoint(with: facts) || bed.isDisabled(unit.id) ? nil : unit.identifier
        }
    }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        let src = key.source
        let parameter = Parameter(rawValue: key.parameter)!
        let name = bed.sources[src].name
        let mismatch = bed.sources[src].mismatches[parameter.rawValue]
        let blind = Self.blindRules(parameter, source: src, bed: bed)
        let looksLike = mismatch?.looksLike ?? "?"
        var evidence: [(String, JSONValue)] = [("parameter", .string(parameter.name)), ("configured_unit", .string(parameter.unit))]
        if let range = parameter.acceptedRange {
            evidence.append(("accepted", .array([.number(range.lowerBound), .number(range.upperBound)])))
        }
        evidence += [("looks_like", .string(looksLike)),
                     ("examples", .array((mismatch?.examples ?? []).map { .number($0) })),
                     ("rejected_count", .number(Double(mismatch?.count ?? 0))),
                     ("since_t", mismatch.map { .number($0.since) } ?? .null),
                     ("blind_rules", .array(blind.map { .string($0) }))]
        let accepted = parameter.acceptedRange.map { " (accepted \(Fmt.fixed($0.lowerBound, 2).trimmingTrailingZeros)-\(Fmt.fixed($0.upperBound, 2).trimmingTrailingZeros))" } ?? ""
        let shown = mismatch?.examples.last.map { Fmt.fixed($0, 2).trimmingTrailingZeros } ?? "?"
        let count = mismatch?.count ?? 0
        let since = mismatch.map { " since \(Fmt.duration(max(0, t - $0.since))) ago" } ?? ""
        let blindText = blind.isEmpty ? "No rule is blind: another source sends \(parameter.name)."
                                       : "Blind while it lasts: \(blind.joined(separator: ", "))."
        return AlarmDescription(
            active: "\(parameter.displayName) from \(name) arrives as \(shown), which looks like \(Self.article(looksLike))\(looksLike), but its configured unit is \(parameter.unit)\(accepted): \(count) value\(count == 1 ? "" : "s") rejected\(since). \(blindText) Set the device's export or the profile's unit (unit: \(looksLike)).",
            cleared: "\(parameter.displayName) from \(name) arrives in \(parameter.unit) again.",
            evidence: evidence)
    }

    private static func article(_ unit: String) -> String { unit == "fraction" ? "a " : "" }
}

extension Parameter {
    /// The unit a value of this parameter looks like when it fits another unit better than Alveo's own
    /// (rules v3 §4.15), or nil. Not a number, or outside every pattern: nil (the range check judges it).
    package func mismatchedUnit(_ value: Double) -> String? {
        switch self {
        case .fio2: value >= 0.21 && value <= 1.0 ? "fraction" : nil
        case .spo2: value > 0 && value <= 1.0 ? "fraction" : nil
        case .hb: value >= 30 && value <= 250 ? "g/L" : nil
        case .creatinine: value > 30 && value <= 2650 ? "umol/L" : nil
        default: nil
        }
    }

    /// The parameter's name in texts ("FiO2", "SpO2").
    package var displayName: String {
        switch self {
        case .fio2: "FiO2"
        case .spo2: "SpO2"
        case .hb: "Haemoglobin"
        case .creatinine: "Creatinine"
        default: name
        }
    }
}

extension RuleID {
    /// `technical.unit_mismatch`
    package static let unitMismatch = RuleID(ordinal: 30)
}
