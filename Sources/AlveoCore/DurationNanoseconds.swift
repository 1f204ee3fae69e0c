extension Duration {
    /// The duration in whole nanoseconds (truncated), for clocks and C timeouts.
    public var wholeNanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
