/// Double → integer conversions that cannot trap.
///
/// Swift's `Int64(x)` traps when `x` is NaN, infinite or outside the integer's range, and one such
/// value from a device once killed the agent while it formatted an alarm text. Every conversion of a
/// number that came from outside (a device, a file, a person, a clock difference) goes through here.
extension FixedWidthInteger {
    /// `x` rounded toward zero, clamped to the integer's range; NaN gives 0.
    @inlinable
    package init(saturating x: Double) {
        if x.isNaN {
            self = 0
        } else if x <= Double(Self.min) {
            self = Self.min
        } else if x >= Double(Self.max) {
            // Double(Self.max) rounds up to 2^bits for 64-bit types: anything at or past it saturates.
            self = Self.max
        } else {
            self = Self(x.rounded(.towardZero))
        }
    }
}

extension Duration {
    /// Seconds as a Duration, whole nanoseconds, clamped to ±100 years; NaN and negatives of a
    /// timeout are the caller's to bound (this only promises not to trap).
    package static func clampedSeconds(_ seconds: Double) -> Duration {
        let limit = 100.0 * 365.25 * 86_400
        let bounded = seconds.isNaN ? 0 : Swift.min(Swift.max(seconds, -limit), limit)
        return .nanoseconds(Int64(saturating: (bounded * 1e9).rounded()))
    }
}
