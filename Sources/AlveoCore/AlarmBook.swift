/// Identifies one alarm instance: a rule, and for per-source rules the source (and parameter).
struct AlarmKey: Hashable, Comparable {
    var rule: RuleID
    /// Index into the core's source table, or -1.
    var source: Int = -1
    /// Parameter raw value (technical.value_rejected), or -1.
    var parameter: Int = -1

    static func < (a: AlarmKey, b: AlarmKey) -> Bool {
        (a.source, a.parameter) < (b.source, b.parameter)
    }
}

/// What a rule concludes about its alarm at one evaluation.
enum Assessment: Equatable {
    /// The alarm condition exists at this priority.
    case active(Priority)
    /// The condition does not exist.
    case inactive
    /// Not enough data, or within hysteresis of a state that is not active: keep the state as it is.
    case hold
}

/// Alarm instances by key without hashing on the hot path: one slot per rule for the rules without a
/// source (most lookups, several per rule per group), a dictionary for per-source instances.
struct AlarmTable<Value> {
    private var global = [Value?](repeating: nil, count: RuleID.allCases.count)
    private var perSource: [AlarmKey: Value] = [:]

    subscript(key: AlarmKey) -> Value? {
        get { key.source < 0 && key.parameter < 0 ? global[key.rule.ordinal] : perSource[key] }
        set {
            if key.source < 0 && key.parameter < 0 { global[key.rule.ordinal] = newValue } else { perSource[key] = newValue }
        }
    }

    var entries: [(key: AlarmKey, value: Value)] {
        var all: [(key: AlarmKey, value: Value)] = []
        for rule in RuleID.allCases { if let value = global[rule.ordinal] { all.append((AlarmKey(rule: rule), value)) } }
        for (key, value) in perSource { all.append((key, value)) }
        return all
    }

    mutating func removeAll() {
        global = [Value?](repeating: nil, count: RuleID.allCases.count)
        perSource.removeAll()
    }
}

/// A state change to announce.
struct Transition {
    /// The alarm instance's id (set by AlarmBook).
    var alarmID = 0
    var phase: AlarmPhase
    var priority: Priority
    var state: AlarmState
    var acknowledged: Bool
    var reason: String?
    /// A re-announcement: how many since the last announcement, and when that was.
    var reannounced: (count: Int, since: Double)?
}

/// When an unacknowledged alarm is announced again (IEC 60601-1-8: a high-priority condition must not
/// go silent unattended; an alarm signal is silenced only by a deliberate act).
struct ReannounceSchedule {
    /// High priority, condition present: every `high` seconds.
    var high: Double
    /// Latched (the condition ended, a high alarm waits for an acknowledgement): every `latched` seconds.
    var latched: Double
    /// Medium, physiological or technical, condition present: after `medium`, then doubling up to `mediumMax`.
    var medium: Double
    var mediumMax: Double

    /// Seconds after the last announcement when the next re-announcement is due, or nil: never
    /// (advisory prompts, low priority, acknowledged).
    func interval(type: AlarmType, priority: Priority, state: AlarmState, acknowledged: Bool, count: Int) -> Double? {
        guard !acknowledged else { return nil }
        if state == .latched { return latched }
        guard type != .advisory else { return nil }
        switch priority {
        case .high: return high
        case .medium:
            // 600, 1200, 2400, … capped: the doubling stops at the cap (and never overflows).
            var interval = medium
            for _ in 0..<min(count, 32) where interval < mediumMax { interval *= 2 }
            return min(interval, mediumMax)
        case .low: return nil
        }
    }
}

/// The alarm system's state machine (IEC 60601-1-8): priority tiers, latching of high-priority alarms
/// until acknowledged, acknowledgement (an advisory prompt ends: the decision is made), re-announcement
/// of unacknowledged medium and high alarms on the `ReannounceSchedule`.
struct AlarmBook {
    struct Instance {
        var state: AlarmState
        var priority: Priority
        var acknowledged = false
        /// Reached high priority since the last acknowledgement: ending then latches.
        var latchOnEnd: Bool
        var lastAnnounced: Double
        /// The last announcement that was not a re-announcement, and the re-announcements since.
        var announcedSince: Double
        var reannounceCount = 0
        var since: Double
        /// Numbers alarm instances in order of start, 1, 2, …: every event of one alarm carries it.
        var id: Int
        var type: AlarmType

        /// Announced (start, escalate, update for tier, latching, recurrence or indication): the
        /// re-announcement schedule starts again from here.
        mutating func announce(at t: Double) {
            lastAnnounced = t
            announcedSince = t
            reannounceCount = 0
        }
    }

    private(set) var instances = AlarmTable<Instance>()
    private(set) var nextID: Int
    let schedule: ReannounceSchedule

    /// `firstID`: a new patient's core continues the numbering of the run, so that an alarm id names
    /// one alarm within a run whatever patient it was about.
    init(schedule: ReannounceSchedule, firstID: Int = 1) {
        self.schedule = schedule
        nextID = firstID
    }

    /// Ends every alarm instance, whatever its state (a new patient at the bed): the end of each, in
    /// a stable order.
    /// A new instance that starts latched: an unacknowledged latched alarm of a previous run of the
    /// agent, carried over (IEC 60601-1-8: a latched signal ends only by an operator's act).
    mutating func startLatched(_ key: AlarmKey, priority: Priority, at t: Double) -> Transition {
        let id = nextID
        nextID += 1
        instances[key] = Instance(state: .latched, priority: priority, latchOnEnd: true, lastAnnounced: t, announcedSince: t, since: t,
                                  id: id, type: key.rule.type)
        return Transition(alarmID: id, phase: .start, priority: priority, state: .latched, acknowledged: false)
    }

    mutating func endAll() -> [(AlarmKey, Transition)] {
        let ended = instances.entries.sorted { ($0.value.id) < ($1.value.id) }.map { key, instance in
            (key, Transition(alarmID: instance.id, phase: .end, priority: instance.priority, state: .inactive,
                             acknowledged: instance.acknowledged))
        }
        instances.removeAll()
        return ended
    }

    /// Priority of an instance whose condition is present (not latched), if any.
    func activePriority(_ key: AlarmKey) -> Priority? {
        guard let instance = instances[key], instance.state == .active else { return nil }
        return instance.priority
    }

    func instance(_ key: AlarmKey) -> Instance? { instances[key] }

    /// Keys of one rule's instances, in a stable order.
    func keys(of rule: RuleID) -> [AlarmKey] {
        instances.entries.map(\.key).filter { $0.rule == rule }.sorted()
    }

    /// Applies one assessment at time `t` and returns the state change to announce, if any.
    mutating func step(_ key: AlarmKey, _ assessment: Assessment, at t: Double) -> Transition? {
        let id = instances[key]?.id ?? nextID
        guard var transition = transit(key, assessment, at: t) else { return nil }
        transition.alarmID = id
        return transition
    }

    private mutating func transit(_ key: AlarmKey, _ assessment: Assessment, at t: Double) -> Transition? {
        guard var instance = instances[key] else {
            guard case .active(let priority) = assessment else { return nil }
            instances[key] = Instance(state: .active, priority: priority, latchOnEnd: priority == .high,
                                      lastAnnounced: t, announcedSince: t, since: t, id: nextID, type: key.rule.type)
            nextID += 1
            return Transition(phase: .start, priority: priority, state: .active, acknowledged: false)
        }
        let transition: Transition?
        switch (instance.state, assessment) {
        case (.active, .active(let priority)) where priority > instance.priority:
            instance.priority = priority
            instance.acknowledged = false
            instance.latchOnEnd = instance.latchOnEnd || priority == .high
            instance.announce(at: t)
            transition = Transition(phase: .escalate, priority: priority, state: .active, acknowledged: false, reason: "tier")
        case (.active, .active(let priority)) where priority < instance.priority:
            instance.priority = priority
            instance.announce(at: t)
            transition = Transition(phase: .deescalate, priority: priority, state: .active,
                                    acknowledged: instance.acknowledged, reason: "tier")
        case (.active, .inactive):
            if instance.latchOnEnd && !instance.acknowledged {
                instance.state = .latched
                instance.priority = .high
                instance.announce(at: t)
                transition = Transition(phase: .update, priority: .high, state: .latched, acknowledged: false, reason: "latched")
            } else {
                instances[key] = nil
                return Transition(phase: .end, priority: instance.priority, state: .inactive,
                                  acknowledged: instance.acknowledged)
            }
        case (.latched, .active(let priority)):
            instance.state = .active
            instance.priority = priority
            instance.latchOnEnd = instance.latchOnEnd || priority == .high
            instance.announce(at: t)
            transition = Transition(phase: .update, priority: priority, state: .active, acknowledged: false, reason: "recurred")
        default:
            // Same tier, hold, or latched without the condition: only re-announcement can happen.
            transition = reannounce(&instance, at: t)
        }
        instances[key] = instance
        return transition
    }

    private func reannounce(_ instance: inout Instance, at t: Double) -> Transition? {
        guard let interval = schedule.interval(type: instance.type, priority: instance.priority, state: instance.state,
                                               acknowledged: instance.acknowledged, count: instance.reannounceCount),
              t - instance.lastAnnounced >= interval - Tolerance.epsilon
        else { return nil }
        instance.lastAnnounced = t
        instance.reannounceCount += 1
        return Transition(phase: .continue, priority: instance.priority, state: instance.state,
                          acknowledged: false, reason: "reannounce", reannounced: (instance.reannounceCount, instance.announcedSince))
    }

    /// The alarm's stage changed within one priority (a KDIGO stage 1 to 2): announced as an update.
    mutating func restage(_ key: AlarmKey, at t: Double) -> Transition? {
        guard var instance = instances[key], instance.state == .active else { return nil }
        instance.announce(at: t)
        instances[key] = instance
        return Transition(alarmID: instance.id, phase: .update, priority: instance.priority, state: .active,
                          acknowledged: instance.acknowledged, reason: "stage")
    }

    /// The alarm's indication changed (a stronger reason for the same prompt): announced as an update.
    mutating func reindicate(_ key: AlarmKey, at t: Double) -> Transition? {
        guard var instance = instances[key], instance.state == .active else { return nil }
        instance.announce(at: t)
        instance.acknowledged = false
        instances[key] = instance
        return Transition(alarmID: instance.id, phase: .update, priority: instance.priority, state: .active,
                          acknowledged: false, reason: "indication")
    }

    /// A clinician acknowledges the alarm: a latched alarm ends; an active one stops re-announcing
    /// and will not latch.
    mutating func acknowledge(_ key: AlarmKey, at t: Double) -> Transition? {
        guard let id = instances[key]?.id, var transition = acknowledgeInstance(key) else { return nil }
        transition.alarmID = id
        return transition
    }

    private mutating func acknowledgeInstance(_ key: AlarmKey) -> Transition? {
        guard var instance = instances[key] else { return nil }
        // A latched alarm ends; so does an advisory prompt (the decision is made).
        if instance.state == .latched || key.rule.type == .advisory {
            instances[key] = nil
            return Transition(phase: .end, priority: instance.priority, state: .inactive, acknowledged: true,
                              reason: "acknowledged")
        }
        guard !instance.acknowledged else { return nil }
        instance.acknowledged = true
        instance.latchOnEnd = false
        instances[key] = instance
        return Transition(phase: .update, priority: instance.priority, state: .active, acknowledged: true,
                          reason: "acknowledged")
    }
}

/// Threshold comparisons on unrounded values, with the contract's tolerance of 1e-9.
enum Tolerance {
    static let epsilon = 1e-9
    static func gt(_ a: Double, _ b: Double) -> Bool { a > b + epsilon }
    static func ge(_ a: Double, _ b: Double) -> Bool { a >= b - epsilon }
    static func lt(_ a: Double, _ b: Double) -> Bool { a < b - epsilon }
    static func le(_ a: Double, _ b: Double) -> Bool { a <= b + epsilon }
    static func equal(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= epsilon }
}

/// When a condition started being continuously true (for alarm condition delays).
struct Onset {
    private(set) var since: Double?

    /// Unknown (nil) resets the onset: a delay counts only over groups where the condition was seen true.
    mutating func update(_ condition: Bool?, at t: Double) {
        if condition == true {
            if since == nil { since = t }
        } else {
            since = nil
        }
    }

    func held(at t: Double, for delay: Double) -> Bool {
        guard let since else { return false }
        return t - since >= delay - Tolerance.epsilon
    }
}
