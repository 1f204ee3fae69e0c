/// `technical.patient_unknown`: the patient's sex or height is not known while the ventilator reports
/// a tidal volume: the volume per kg of predicted body weight cannot be checked (said once, never
/// guessed). Evaluated first: it says whether the volume rules can judge.
package struct PatientUnknown: BedRule {
    package static var id: RuleID { .patientUnknown }
    package static var identifier: String { "technical.patient_unknown" }
    package static var family: RuleFamily { .technical }
    package static var type: AlarmType { .technical }
    package static var title: String { "Patient's sex or height not known" }
    package static var reference: String {
        "NIH NHLBI ARDS Network protocol card (PBW from sex and height); IEC 60601-1-8 technical alarm condition"
    }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 2, chatterStable: 600) }
    package static var hasOffset: Bool { true }
    package static var coding: RuleCoding { .local }
    /// Whether a Vt is reported, not its value.
    package static var inputs: Facts { [.ventilatorReporting, .patient] }

    package typealias Settings = NoSettings

    package init(settings: Settings) {}

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        assess(&bed, at: t, into: &events)
        return nextDue(bed, at: t)
    }

    private mutating func assess(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) {
        let vt = bed.reading(.vt)?.value
        let assessment: Assessment = bed.pbw == nil && vt != nil ? .active(.low) : (bed.pbw != nil ? .inactive : .unknown)
        bed.drive(AlarmKey(rule: Self.id), assessment, by: self, at: t, into: &events)
    }


    /// When it is next due with no input changed (`.infinity`: never; nil: at every group).
    private func nextDue(_ bed: borrowing ClinicalCore, at t: Double) -> Double? { .infinity }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        let patient = bed.patient
        let missing = [patient.sex == nil ? "sex" : nil, patient.heightCm == nil ? "height" : nil].compactMap { $0 }
        let what = missing.count == 1 ? "\(missing[0]) is" : "sex and height are"
        let vt = bed.reading(.vt).map { " (Vt \(Fmt.fixed($0.value, 0)) ml)" } ?? ""
        return AlarmDescription(
            active: "The patient's \(what) not known: the tidal volume\(vt) cannot be judged in ml/kg of predicted body weight. Set the patient (alveo patient set, or an admission from the hospital).",
            cleared: patient.pbwByHand ? "The predicted body weight is known: \(bed.pbwPhrase)."
                : "The patient's sex and height are known: predicted body weight \(bed.pbw.map { Fmt.fixed($0, 1) } ?? "?") kg\(bed.pbwNote).",
            evidence: bed.patientEvidence + bed.readingEvidence(.vt, EvidenceKey.vtML.name, decimals: 1))
    }
}

extension RuleID {
    /// `technical.patient_unknown`
    package static let patientUnknown = RuleID(ordinal: 23)
}
