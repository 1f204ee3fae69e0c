#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Oxygenation arithmetic: Brown 2016 imputation of PaO2 from SpO2, and P/F.
public enum Oxygenation {
    /// SpO2 above which Brown's imputation is not valid (the dissociation curve is flat).
    public static let brownMaxSpO2Percent = 96.0

    /// PaO2 in mmHg imputed from SpO2 in percent (Brown, Chest 2016;150:307), valid for SpO2 ≤ 96 %.
    /// Returns nil outside (0, 96].
    public static func imputedPaO2(spo2Percent: Double) -> Double? {
        guard spo2Percent > 0, spo2Percent <= brownMaxSpO2Percent + 1e-9 else { return nil }
        let s = spo2Percent / 100
        let k = 11700 / (1 / s - 1)
        let root = (50.0 * 50.0 * 50.0 + k * k).squareRoot()
        // The second argument is negative: a real cube root is required, not pow(x, 1/3).
        return cbrt(k + root) + cbrt(k - root)
    }
}

/// How a P/F ratio was obtained.
public enum PFKind: String, Sendable {
    /// PaO2 from an arterial blood gas ≤ 1 h old, divided by the FiO2 current at the gas.
    case measured
    /// PaO2 imputed from SpO2 (Brown 2016), divided by the current FiO2.
    case imputed
}

/// A P/F ratio with everything used to compute it.
public struct PFRatio: Sendable, Equatable {
    public var value: Double
    public var kind: PFKind
    /// PaO2 used, mmHg (measured or imputed).
    public var pao2: Double
    /// Time of the gas (measured) or of the SpO2 reading (imputed).
    public var pao2Time: Double
    /// SpO2 used for imputation, percent.
    public var spo2: Double?
    /// FiO2 as a fraction 0.21–1.00.
    public var fio2: Double
    public var fio2Time: Double
}
