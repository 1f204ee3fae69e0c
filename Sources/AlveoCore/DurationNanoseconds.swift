extension Duration {
    /// The duration in whole nanoseconds (truncated), for clocks and C timeouts; saturates at
    /// ±292 years instead of trapping.
    package var wholeNanoseconds: Int64 {
        let (scaled, overflow) = components.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return components.seconds < 0 ? .min : .max }
        let (sum, overflow2) = scaled.addingReportingOverflow(components.attoseconds / 1_000_000_000)
        if overflow2 { return components.seconds < 0 ? .min : .max }
        return sum
    }
}
