/// `oxygenation.pf_falling`: P/F 20 % below the highest P/F of the last 6 h, like with like (the
/// reference is of the current P/F's kind, measured or imputed).
package struct PFFalling: BedRule {
    package static var id: RuleID { .pfFalling }
    package static var identifier: String { "oxygenation.pf_falling" }
    package static var family: RuleFamily { .oxygenation }
    package static var type: AlarmType { .physiological }
    package static var title: String { "P/F ratio falling" }
    package static var reference: String {
        "Alveo heuristic (20 % fall in 6 h, measured with measured, imputed with imputed; configurable); Brown, Chest 2016;150:307 (SpO2 imputation)"
    }
    package static var policy: AlarmPolicy { AlarmPolicy(offset: 300, chatterMax: 3, chatterStable: 1800) }
    package static var hasOffset: Bool { true }
    package static var coding: RuleCoding {
        .limit(LimitAlarm(metric: .pfRatio, above: false, value: .pfValue, limit: .threshold(limit, positiveOnly: false), device: nil))
    }
    package static var inputs: Facts { [.pf, .ecmo] }

    /// The P/F below which the fall is met, mmHg.
    static let limit = EvidenceKey<Double>("pf_limit")

    package struct Settings: RuleSettingsGroup {
        package var pfFallFraction = 0.20
        /// Held (hysteresis) down to this fall; cleared below it (rules v3 §4.4).
        package var pfEndFallFraction = 0.15
        package var pfFallWindow = 6 * 3600.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [
                Setting("fall_fraction", "fraction", \.pfFallFraction, 0.01...0.9, "fires when P/F is this fraction below the highest P/F of the window"),
                Setting("end_fall_fraction", "fraction", \.pfEndFallFraction, 0...0.9,
                        "an active alarm is held while the fall is at least this (hysteresis), cleared below it; at most fall_fraction"),
                Setting("window_s", "s", \.pfFallWindow, 600...(48 * 3600.0), "look-back window"),
            ]
        }

        package var problem: String? {
            pfEndFallFraction <= pfFallFraction ? nil
                : "need end_fall_fraction <= fall_fraction (the alarm is held between them): end_fall_fraction \(Fmt.fixed(pfEndFallFraction, 2)) is above fall_fraction \(Fmt.fixed(pfFallFraction, 2))"
        }
    }

    let settings: Settings

    package init(settings: Settings) { self.settings = settings }

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        assess(&bed, at: t, into: &events)
        return nextDue(bed, at: t)
    }

    private mutating func assess(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) {
        if bed.onECMO {
            // Rules v3 §3.3: not evaluated on ECMO; an alarm in force ends (reason ecmo, its text names the
            // fall before ECMO). P/F of before and during ECMO is not kept (updateOxygenation): at `none`
            // the fall is measured against values after ECMO only.
            bed.endForECMO(AlarmKey(rule: Self.id), by: self, at: t, into: &events)
            bed.pfFallReference = nil
            return
        }
        let reference = bed.pfFallReference
        // Met at a fall of fall_fraction, held down to end_fall_fraction, cleared below it; no earlier
        // value of the same kind in the window: cleared (rules v3 §4.4).
        let assessment: Assessment = bed.pf.map { current in
            guard let reference else { return .inactive }
            let fall = reference.value - current.value
            if Tolerance.ge(fall, settings.pfFallFraction * reference.value) { return .active(.medium) }
            return Tolerance.ge(fall, settings.pfEndFallFraction * reference.value) ? .hold : .inactive
        } ?? .unknown
        bed.drive(AlarmKey(rule: Self.id), assessment, by: self, at: t, into: &events)
    }


    /// When it is next due with no input changed (`.infinity`: never; nil: at every group).
    private func nextDue(_ bed: borrowing ClinicalCore, at t: Double) -> Double? { .infinity }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        let pf = bed.pf
        var evidence: [(String, JSONValue)] = [(EvidenceKey.pfValue.name, pf.map(bed.pfEvidence) ?? .null)]
        var change = "", high = ""
        if let ref = bed.pfFallReference {
            evidence += [("highest_pf", bed.pfEvidence(ref.payload)), ("highest_pf_t", .number(ref.t))]
            high = " of \(Fmt.fixed(ref.value, 0)) (\(ref.payload.kind.rawValue), \(Fmt.duration(t - ref.t)) ago)"
            if let pf {
                let fall = (ref.value - pf.value) / ref.value
                evidence.append(("fall_fraction", .number(Fmt.round(fall, 3))))
                evidence.append(Self.limit(Fmt.round(ref.value * (1 - settings.pfFallFraction), 1)))
                change = ", down \(Fmt.fixed(fall * 100, 0)) % from \(Fmt.fixed(ref.value, 0)) (\(ref.payload.kind.rawValue)) \(Fmt.duration(t - ref.t)) ago"
            }
        }
        evidence += [("fall_fraction_limit", .number(settings.pfFallFraction)), ("end_fall_fraction", .number(settings.pfEndFallFraction)),
                     ("window_s", .number(settings.pfFallWindow))] + bed.ecmoEvidence
        let now = pf.map(bed.pfPhrase) ?? "P/F not currently available"
        return AlarmDescription(
            active: "\(now)\(change): oxygenation is worsening; reassess the patient and consider a blood gas.",
            cleared: "\(now): no longer \(Fmt.fixed(settings.pfEndFallFraction * 100, 0)) % below the \(Fmt.duration(settings.pfFallWindow)) high\(high).",
            evidence: evidence)
    }
}

extension RuleID {
    /// `oxygenation.pf_falling`
    package static let pfFalling = RuleID(ordinal: 8)
}
