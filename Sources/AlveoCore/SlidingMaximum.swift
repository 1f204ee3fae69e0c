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

/// A short series of lab values (haemoglobin, creatinine) kept over a look-back window, ordered by
/// sample time: a result sampled before the latest one (a slow laboratory) is put in its place, and a
/// correction replaces the result of the same sample time.
struct LabSeries {
    private(set) var entries: [(t: Double, value: Double)] = []

    var latest: (t: Double, value: Double)? { entries.last }

    /// Adds a result in sample-time order (or replaces the one it corrects), drops what is older than
    /// the window before the latest, and returns the latest result with the extreme (max or min) of
    /// the results in the window before it.
    mutating func insert(t: Double, value: Double, corrects: Bool, window: Double, extreme: (Double, Double) -> Bool)
        -> (latest: (t: Double, value: Double), reference: (t: Double, value: Double)?)
    {
        if corrects, let index = entries.lastIndex(where: { Tolerance.equal($0.t, t) }) {
            entries[index].value = value
        } else {
            let index = entries.lastIndex(where: { $0.t <= t }).map { $0 + 1 } ?? 0
            entries.insert((t, value), at: index)
        }
        let latest = entries[entries.count - 1]
        entries.removeAll { $0.t < latest.t - window - Tolerance.epsilon }
        var best: (t: Double, value: Double)?
        for entry in entries.dropLast() where best == nil || extreme(entry.value, best!.value) { best = entry }
        return (entries[entries.count - 1], best)
    }
}

/// The FiO2 in force over the last hours, as change points: what was current when a blood gas was
/// drawn is what its P/F uses, whenever the result arrives. Bounded: points older than `keep` before
/// the latest are dropped, but for the one in force at that horizon. Amortised O(1) per point.
struct History<Value> {
    private var points: [(t: Double, value: Value?)] = []
    private var head = 0

    /// The value in force from `t` on (nil: none, e.g. the device went silent). `same` tells an
    /// unchanged value, which adds no point.
    mutating func record(_ value: Value?, at t: Double, keep: Double, same: (Value?, Value?) -> Bool) {
        if head < points.count, let last = points.last {
            if same(last.value, value) || t < last.t { return }
        }
        points.append((t, value))
        // Keep the point in force at the horizon and everything after it.
        while head + 1 < points.count, points[head + 1].t <= t - keep { head += 1 }
        if head > 1024, head * 2 > points.count {
            points.removeFirst(head)
            head = 0
        }
    }

    /// The value in force at `t`, if a point is at or before it.
    func value(at t: Double) -> Value? {
        var low = head, high = points.count  // the last point with time <= t is just before `low`
        while low < high {
            let middle = (low + high) / 2
            if points[middle].t <= t + Tolerance.epsilon { low = middle + 1 } else { high = middle }
        }
        return low > head ? points[low - 1].value : nil
    }
}
