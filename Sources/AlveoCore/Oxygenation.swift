#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Oxygenation arithmetic: Brown 2016 imputation of PaO2 from SpO2, and P/F.
package enum Oxygenation {
    /// SpO2 above which Brown's imputation is not valid (the dissociation curve is flat).
    package static let brownMaxSpO2Percent = 96.0

    /// PaO2 in mmHg imputed from SpO2 in percent (Brown, Chest 2016;150:307), valid for SpO2 ≤ 96 %.
    /// Returns nil outside (0, 96].
    package static func imputedPaO2(spo2Percent: Double) -> Double? {
        guard spo2Percent > 0, spo2Percent <= brownMaxSpO2Percent + 1e-9 else { return nil }
        let s = spo2Percent / 100
        let k = 11700 / (1 / s - 1)
        let root = (50.0 * 50.0 * 50.0 + k * k).squareRoot()
        // The second argument is negative: a real cube root is required, not pow(x, 1/3).
        return cbrt(k + root) + cbrt(k - root)
    }
}

/// How a P/F ratio was obtained.
package enum PFKind: String, Sendable {
    /// PaO2 from an arterial blood gas ≤ 1 h old, divided by the FiO2 current at the gas.
    case measured
    /// PaO2 imputed from SpO2 (Brown 2016), divided by the current FiO2.
    case imputed
    /// SpO2 above 96 %: P/F is unknown but at least Brown's PaO2 at 96 % over FiO2 (rules v3 §3.1); used
    /// only towards better oxygenation (to show that "P/F < X" is false), never as a P/F.
    case lowerBound = "lower_bound"
}

/// A P/F ratio with everything used to compute it.
package struct PFRatio: Sendable, Equatable {
    package var value: Double
    package var kind: PFKind
    /// PaO2 used, mmHg (measured or imputed).
    package var pao2: Double
    /// Time of the gas (measured) or of the SpO2 reading (imputed).
    package var pao2Time: Double
    /// SpO2 used for imputation, percent.
    package var spo2: Double?
    /// FiO2 as a fraction 0.21–1.00.
    package var fio2: Double
    package var fio2Time: Double
}
