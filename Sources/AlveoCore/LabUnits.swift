/// The units charted and laboratory values come in, and their factors to Alveo's units
/// (shared/clinical-reference.md §8): PaO2 in mmHg, haemoglobin in g/dL, creatinine in mg/dL,
/// haemoptysis in ml. Used by `alveo chart` (`pao2=8.2kPa`) and the laboratory listener (OBX-6).
package enum LabUnits {
    /// Units accepted per parameter (lower-cased, as compared) and the factor to Alveo's unit.
    static let factors: [Parameter: [(units: [String], factor: Double)]] = [
        .pao2: [(["mmhg", "mm[hg]", "mm hg"], 1), (["kpa"], 7.50062)],
        .hb: [(["g/dl"], 1), (["g/l"], 0.1), (["mmol/l"], 1.611)],
        .creatinine: [(["mg/dl"], 1), (["umol/l", "µmol/l", "μmol/l", "micromol/l"], 1 / 88.4)],
        .hemoptysis: [(["ml", "cm3"], 1)],
        .paco2: [(["mmhg", "mm[hg]", "mm hg"], 1), (["kpa"], 7.50062)],
        .ph: [(["ph", "[ph]"], 1)],
    ]

    /// The factor from `unit` to the parameter's Alveo unit; nil if the unit is not one it comes in.
    /// No unit means Alveo's own.
    package static func factor(_ unit: String, for parameter: Parameter) -> Double? {
        let key = unit.trimmingSpaces.lowercased()
        if key.isEmpty { return 1 }
        return factors[parameter]?.first { $0.units.contains(key) }?.factor
    }

    /// The units accepted for a parameter, for messages ("mmHg, kPa").
    package static func accepted(for parameter: Parameter) -> String {
        switch parameter {
        case .pao2: "mmHg, kPa"
        case .hb: "g/dL, g/L, mmol/L"
        case .creatinine: "mg/dL, umol/L"
        case .hemoptysis: "ml"
        case .paco2: "mmHg, kPa"
        case .ph: "pH (no unit)"
        default: parameter.unit
        }
    }
}

extension String {
    package var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}
