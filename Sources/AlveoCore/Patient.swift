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

/// The patient context the rules need.
public struct Patient: Sendable, Equatable {
    public var sex: Sex
    public var heightCm: Double
    public var conditions: Set<Condition>

    /// Heights outside this range are refused at configuration time: the PBW formula is not meant for them.
    public static let heightRangeCm: ClosedRange<Double> = 100...250

    public init(sex: Sex, heightCm: Double, conditions: Set<Condition> = []) {
        self.sex = sex
        self.heightCm = heightCm
        self.conditions = conditions
    }

    /// Predicted body weight in kg (NIH NHLBI ARDS Network):
    /// male 50 + 0.91 × (height_cm − 152.4), female 45.5 + 0.91 × (height_cm − 152.4).
    public var predictedBodyWeightKg: Double {
        let base = sex == .male ? 50.0 : 45.5
        return base + 0.91 * (heightCm - 152.4)
    }

    public var hasDAH: Bool { conditions.contains(.diffuseAlveolarHemorrhage) }
    public var hasVasculitis: Bool { conditions.contains { $0.isVasculitis } }
}
