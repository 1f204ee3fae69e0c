/// `lpv.plateau_high`: a plateau measurement above 30 cmH2O, at once (high); proposes the next
/// lower tidal volume.
package struct PlateauHigh: BedRule {
    package static var id: RuleID { .plateauHigh }
    package static var identifier: String { "lpv.plateau_high" }
    package static var family: RuleFamily { .lungProtection }
    package static var type: AlarmType { .physiological }
    package static var title: String { "Plateau pressure above 30 cmH2O" }
    package static var reference: String {
        "NIH NHLBI ARDS Network protocol card (Pplat <= 30 cmH2O, lower Vt by 1 ml/kg to 4 ml/kg, RR up to 35/min)"
    }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 4, chatterStable: 600) }
    package static var hasOffset: Bool { true }
    package static var coding: RuleCoding {
        .limit(LimitAlarm(metric: .plateau, above: true, value: .pplatCmH2O, limit: .threshold(.thresholdCmH2O, positiveOnly: false),
                          device: .pplatSource))
    }
    package static var inputs: Facts { [.pplat] }

    package struct Settings: RuleSettingsGroup {
        package var pplatHigh = 30.0
        package var pplatEnd = 28.0
        package var pplatVtStepMlPerKg = 1.0
        package var pplatVtFloorMlPerKg = 4.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [
                Setting("threshold_cmh2o", "cmH2O", \.pplatHigh, 15...60, "fires on a plateau measurement above this"),
                Setting("end_cmh2o", "cmH2O", \.pplatEnd, 10...60, "ends on a plateau measurement at or below this"),
                Setting("vt_step_ml_per_kg", "ml/kg PBW", \.pplatVtStepMlPerKg, 0.5...3, "proposed Vt reduction"),
                Setting("vt_floor_ml_per_kg", "ml/kg PBW", \.pplatVtFloorMlPerKg, 2...8, "never propose Vt below this"),
            ]
        }

        package var problem: String? { pplatEnd <= pplatHigh ? nil : "need end_cmh2o <= threshold_cmh2o" }
    }

    let settings: Settings

    package init(settings: Settings) { self.settings = settings }

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        assess(&bed, at: t, into: &events)
        return nextDue(bed, at: t)
    }

    private mutating func assess(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) {
        // Each plateau measurement, no delay.
        let pplat = bed.reading(.pplat)?.value
        let key = AlarmKey(rule: Self.id)
        bed.drive(key, bed.tiered(ClinicalCore.Tier(condition: pplat.map { Tolerance.gt($0, settings.pplatHigh) }, onset: Onset.always(t),
                                                    delay: 0, priority: .high),
                                  ended: pplat.map { Tolerance.le($0, settings.pplatEnd) }, key: key, at: t),
                  by: self, at: t, into: &events)
    }


    /// When it is next due with no input changed (`.infinity`: never; nil: at every group).
    private func nextDue(_ bed: borrowing ClinicalCore, at t: Double) -> Double? { .infinity }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        let patient = bed.patient
        var evidence = bed.readingEvidence(.pplat, EvidenceKey.pplatCmH2O.name, decimals: 1)
        if let src = bed.reading(.pplat)?.source { evidence.append(EvidenceKey.pplatSource(bed.sources[src].name)) }
        evidence.append(EvidenceKey.thresholdCmH2O(settings.pplatHigh))
        evidence += bed.patientEvidence
        evidence += bed.readingEvidence(.vt, EvidenceKey.vtML.name, decimals: 1)
        let pplatText = bed.reading(.pplat).map { "Plateau pressure \(Fmt.fixed($0.value, 1)) cmH2O" } ?? "Plateau pressure"
        let floorVolume = bed.pbw.map { " (\(Fmt.fixed(settings.pplatVtFloorMlPerKg * $0, 0)) ml\(patient.pbwByHand ? "; PBW entered by hand" : (patient.pbwCaution ? "; short stature: check the height" : "")))" } ?? " (the patient's sex and height are not known)"
        let rate = " and raise the respiratory rate (up to 35/min) to keep minute ventilation."
        var advice = "lower Vt by \(Fmt.fixed(settings.pplatVtStepMlPerKg, 1).trimmingTrailingZeros) ml/kg PBW steps, not below \(Fmt.fixed(settings.pplatVtFloorMlPerKg, 1).trimmingTrailingZeros) ml/kg\(floorVolume)\(rate)"
        if let vt = bed.reading(.vt)?.value, let pbw = bed.pbw {
            let mlPerKg = vt / pbw
            let proposed = max(mlPerKg - settings.pplatVtStepMlPerKg, settings.pplatVtFloorMlPerKg)
            evidence += [("vt_ml_per_kg", .number(Fmt.round(mlPerKg, 2))),
                         ("proposed_vt_ml", .number(Fmt.round(proposed * pbw, 0))),
                         ("proposed_vt_ml_per_kg", .number(Fmt.round(proposed, 2)))]
            if Tolerance.le(mlPerKg, settings.pplatVtFloorMlPerKg) {
                advice = "Vt \(Fmt.fixed(vt, 0)) ml is already at \(Fmt.fixed(mlPerKg, 1)) ml/kg PBW, the \(Fmt.fixed(settings.pplatVtFloorMlPerKg, 1).trimmingTrailingZeros) ml/kg floor: review PEEP, compliance and sedation."
            } else {
                advice = "consider lowering Vt from \(Fmt.fixed(vt, 0)) ml (\(Fmt.fixed(mlPerKg, 1)) ml/kg) to \(Fmt.fixed(proposed * pbw, 0)) ml (\(Fmt.fixed(proposed, 1)) ml/kg PBW, PBW \(Fmt.fixed(pbw, 1)) kg\(patient.pbwByHand ? " entered by hand" : (patient.pbwCaution ? ", short stature: check the height" : "")))\(rate)"
            }
        }
        return AlarmDescription(
            active: "\(pplatText) is above \(Fmt.fixed(settings.pplatHigh, 1).trimmingTrailingZeros) cmH2O: \(advice)",
            cleared: "\(pplatText), back at or below \(Fmt.fixed(settings.pplatEnd, 1).trimmingTrailingZeros) cmH2O.",
            evidence: evidence)
    }
}

extension RuleID {
    /// `lpv.plateau_high`
    package static let plateauHigh = RuleID(ordinal: 2)
}
