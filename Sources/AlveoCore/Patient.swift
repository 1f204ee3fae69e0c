/// Biological sex, as used by the predicted body weight formula.
public enum Sex: String, Sendable, CaseIterable {
    case male, female
}

/// A diagnosis that changes which rules apply.
public enum Condition: String, Sendable, CaseIterable, Hashable {
    case diffuseAlveolarHemorrhage = "diffuse_alveolar_hemorrhage"
    case ancaVasculitis = "anca_vasculitis"
    case antiGBM = "anti_gbm"
    case sle

    /// Conditions under which renal function is watched (KDIGO: vasculitis with kidney involvement).
    public var isVasculitis: Bool { self != .diffuseAlveolarHemorrhage }
}

/// The patient context the rules need. Sex and height may not be known yet (a bed waiting for its
/// patient, an admission without a height): the rules that need the predicted body weight then say
/// so (`technical.patient_unknown`) instead of guessing.
public struct Patient: Sendable, Equatable {
    public var sex: Sex?
    public var heightCm: Double?
    public var conditions: Set<Condition>

    /// Heights outside this range are refused at configuration time: the PBW formula is not meant for them.
    public static let heightRangeCm: ClosedRange<Double> = 100...250

    public init(sex: Sex?, heightCm: Double?, conditions: Set<Condition> = []) {
        self.sex = sex
        self.heightCm = heightCm
        self.conditions = conditions
    }

    /// No sex, no height, no conditions: a bed whose patient is not known yet.
    public static let unknown = Patient(sex: nil, heightCm: nil)

    /// Predicted body weight in kg (NIH NHLBI ARDS Network), when sex and height are known:
    /// male 50 + 0.91 × (height_cm − 152.4), female 45.5 + 0.91 × (height_cm − 152.4).
    public var predictedBodyWeightKg: Double? {
        guard let sex, let heightCm else { return nil }
        let base = sex == .male ? 50.0 : 45.5
        return base + 0.91 * (heightCm - 152.4)
    }

    public var hasDAH: Bool { conditions.contains(.diffuseAlveolarHemorrhage) }
    public var hasVasculitis: Bool { conditions.contains { $0.isVasculitis } }
}
