/// Biological sex, as used by the predicted body weight formula.
package enum Sex: String, Sendable, CaseIterable {
    case male, female
}

/// A diagnosis that changes which rules apply.
package enum Condition: String, Sendable, CaseIterable, Hashable {
    case diffuseAlveolarHemorrhage = "diffuse_alveolar_hemorrhage"
    case ancaVasculitis = "anca_vasculitis"
    case antiGBM = "anti_gbm"
    case sle
    /// On ECMO at the start (rules v3 §3.3): the state until an `ecmo` value is charted.
    case ecmoVV = "ecmo_vv"
    case ecmoVA = "ecmo_va"

    /// Hashes the case, not the identifier's text (the rules ask for conditions at every group).
    package func hash(into hasher: inout Hasher) {
        switch self {
        case .diffuseAlveolarHemorrhage: hasher.combine(0)
        case .ancaVasculitis: hasher.combine(1)
        case .antiGBM: hasher.combine(2)
        case .sle: hasher.combine(3)
        case .ecmoVV: hasher.combine(4)
        case .ecmoVA: hasher.combine(5)
        }
    }

    /// Conditions under which renal function is watched (KDIGO: vasculitis with kidney involvement).
    package var isVasculitis: Bool {
        switch self {
        case .ancaVasculitis, .antiGBM, .sle: true
        case .diffuseAlveolarHemorrhage, .ecmoVV, .ecmoVA: false
        }
    }
}

/// The patient context the rules need. Sex and height may not be known yet (a bed waiting for its
/// patient, an admission without a height): the rules that need the predicted body weight then say
/// so (`technical.patient_unknown`) instead of guessing.
package struct Patient: Sendable, Equatable {
    package var sex: Sex?
    package var heightCm: Double?
    package var conditions: Set<Condition>
    /// A predicted body weight entered by hand (for a patient the formula does not fit): used as is.
    package var pbwKg: Double?

    /// Heights outside this range are refused: the ARDSNet formula is validated for adults only.
    package static let heightRangeCm: ClosedRange<Double> = 130...250
    /// Below this height (and within the range) the PBW is shown with a caution to check the height.
    package static let shortStatureCm = 140.0
    /// A PBW entered by hand must be within this range; the height limits then do not apply (but a
    /// height must still be a human one).
    package static let pbwRangeKg: ClosedRange<Double> = 20...150
    package static let anyHeightRangeCm: ClosedRange<Double> = 30...300

    package init(sex: Sex?, heightCm: Double?, conditions: Set<Condition> = [], pbwKg: Double? = nil) {
        self.sex = sex
        self.heightCm = heightCm
        self.conditions = conditions
        self.pbwKg = pbwKg
    }

    /// Why a height cannot be used for the PBW formula, or nil. Total for any number.
    package static func heightProblem(_ heightCm: Double, pbwGiven: Bool) -> String? {
        let range = pbwGiven ? anyHeightRangeCm : heightRangeCm
        guard heightCm.isFinite, range.contains(heightCm) else {
            let shown = heightCm.isFinite && abs(heightCm) < 1e6 ? Fmt.fixed(heightCm, 1).trimmingTrailingZeros : "that"
            return pbwGiven
                ? "height \(shown) cm is outside \(Int(range.lowerBound))-\(Int(range.upperBound)) cm"
                : "ARDSNet PBW is for adults: height \(shown) cm is outside \(Int(range.lowerBound))-\(Int(range.upperBound)) cm (give patient.pbw_kg for a patient the formula does not fit)"
        }
        return nil
    }

    /// The PBW was entered by hand.
    package var pbwByHand: Bool { pbwKg != nil }

    /// The PBW comes from a short stature (130-140 cm): check the height.
    package var pbwCaution: Bool {
        guard pbwKg == nil, sex != nil, let heightCm else { return false }
        return heightCm < Patient.shortStatureCm - 1e-9
    }

    /// No sex, no height, no conditions: a bed whose patient is not known yet.
    package static let unknown = Patient(sex: nil, heightCm: nil)

    /// Predicted body weight in kg (NIH NHLBI ARDS Network), when sex and height are known:
    /// male 50 + 0.91 × (height_cm − 152.4), female 45.5 + 0.91 × (height_cm − 152.4).
    package var predictedBodyWeightKg: Double? {
        if let pbwKg { return pbwKg }
        guard let sex, let heightCm else { return nil }
        let base = sex == .male ? 50.0 : 45.5
        return base + 0.91 * (heightCm - 152.4)
    }

    package var hasDAH: Bool { conditions.contains(.diffuseAlveolarHemorrhage) }
    package var hasVasculitis: Bool { conditions.contains { $0.isVasculitis } }
    /// The ECMO state at start (rules v3 §3.3): `ecmo_va` or `ecmo_vv` among the conditions (VA first
    /// when both are given, which the configuration refuses); nil: not on ECMO at start.
    package var ecmoAtStart: ECMOMode? {
        conditions.contains(.ecmoVA) ? .va : (conditions.contains(.ecmoVV) ? .vv : nil)
    }
}
