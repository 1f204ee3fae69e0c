/// The maximum of a time-windowed series in amortised O(1) per sample (monotonic deque),
/// so that a 6-hour P/F window at 1 Hz costs neither time nor memory per group.
struct SlidingMaximum<Payload> {
    private var items: [(t: Double, value: Double, payload: Payload)] = []
    private var head = 0

    /// Drops samples older than `t - window`.
    mutating func expire(before cutoff: Double) {
        while head < items.count, items[head].t < cutoff - Tolerance.epsilon { head += 1 }
        compactIfNeeded()
    }

    /// The largest sample still held.
    var maximum: (t: Double, value: Double, payload: Payload)? {
        head < items.count ? items[head] : nil
    }

    mutating func append(t: Double, value: Double, payload: Payload) {
        while items.count > head, items[items.count - 1].value <= value { items.removeLast() }
        items.append((t, value, payload))
    }

    private mutating func compactIfNeeded() {
        if head > 1024, head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
    }
}

/// A short series of lab values (haemoglobin, creatinine) kept over a look-back window.
struct LabSeries {
    private(set) var entries: [(t: Double, value: Double)] = []

    var latest: (t: Double, value: Double)? { entries.last }

    /// Appends a result and returns the extreme (max or min) of the results in the window before it.
    mutating func append(t: Double, value: Double, window: Double, extreme: (Double, Double) -> Bool)
        -> (t: Double, value: Double)?
    {
        entries.removeAll { $0.t < t - window - Tolerance.epsilon }
        var best: (t: Double, value: Double)?
        for entry in entries where best == nil || extreme(entry.value, best!.value) { best = entry }
        entries.append((t, value))
        return best
    }
}
