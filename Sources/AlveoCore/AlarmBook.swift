/// Identifies one alarm instance: a rule, and for per-source rules the source (and parameter).
package struct AlarmKey: Hashable, Comparable {
    package var rule: RuleID
    /// Index into the core's source table, or -1.
    package var source: Int = -1
    /// Parameter raw value (technical.value_rejected), or -1.
    package var parameter: Int = -1

    package init(rule: RuleID, source: Int = -1, parameter: Int = -1) {
        self.rule = rule
        self.source = source
        self.parameter = parameter
    }

    package static func < (a: AlarmKey, b: AlarmKey) -> Bool {
        (a.source, a.parameter) < (b.source, b.parameter)
    }
}

/// What a rule concludes about its alarm at one evaluation.
package enum Assessment: Equatable {
    /// The alarm condition exists at this priority.
    case active(Priority)
    /// The condition does not exist.
    case inactive
    /// Within hysteresis (between the start and end thresholds), or a prompt whose window is still
    /// open: keep the state as it is; for an active alarm this ends a run of cleared groups (its offset).
    case hold
    /// Not enough data to tell: keep the state as it is; neither counts towards nor ends an offset.
    case unknown
}

/// The engine's timing of one rule's alarm (rules v3 §1.2–1.4): how long its condition must be cleared
/// before a relief (offset), how long it stays at least (minimum active time), and the chatter bound
/// (at most `chatterMax` onsets in any hour; past it the alarm stays, intermittent, until its relief
/// condition has held for `chatterStable`).
package struct AlarmPolicy: Sendable, Equatable {
    package var offset: Double
    package var minActive: Double
    package var chatterMax: Double
    package var chatterStable: Double

    package init(offset: Double = 0, minActive: Double = 0, chatterMax: Double, chatterStable: Double) {
        self.offset = offset
        self.minActive = minActive
        self.chatterMax = chatterMax
        self.chatterStable = chatterStable
    }

    /// No offset, minimum or bound: the agent's lifecycle alarms (a gap starts and ends at once).
    package static let exempt = AlarmPolicy(chatterMax: .infinity, chatterStable: 0)

    /// Defaults of rules v3 §1.4, as each rule declares them.
    package static func defaults(for rule: RuleID) -> AlarmPolicy { Catalogue.entries[rule.ordinal].policy }

    /// Whether `offset_s` and `min_active_s` apply (rules v3 §1.4: the escalation prompts keep their own
    /// windows and assessments).
    package static func hasOffset(_ rule: RuleID) -> Bool { Catalogue.entries[rule.ordinal].hasOffset }
}

/// The onsets (starts and escalations) of one alarm key in the last hour, kept across its alarms: the
/// chatter bound counts them. Bounded: only whether there are `limit` of them matters.
struct OnsetLog {
    private var times: [Double] = []

    mutating func record(_ t: Double, limit: Double) {
        times.append(t)
        let keep = limit.isFinite ? max(1, Int(min(limit, 1000)) + 1) : 1
        if times.count > keep { times.removeFirst(times.count - keep) }
    }

    /// Onsets in (t − 3600, t].
    func count(at t: Double) -> Int {
        var n = 0
        for time in times where time > t - 3600 + Tolerance.epsilon { n += 1 }
        return n
    }
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

    var hasPerSource: Bool { !perSource.isEmpty }

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
package struct Transition {
    /// The alarm instance's id (set by AlarmBook).
    package var alarmID = 0
    package var phase: AlarmPhase
    package var priority: Priority
    package var state: AlarmState
    package var acknowledged: Bool
    package var reason: String?
    /// A re-announcement: how many since the last announcement, and when that was.
    var reannounced: (count: Int, since: Double)?
    /// Became intermittent (chatter bound): the onsets in the last hour.
    package var intermittentOnsets: Int?
    /// A relief after an intermittent period (reason `stable`): how often the condition returned in it.
    package var episodes: Int?
}

/// When an unacknowledged alarm is announced again (IEC 60601-1-8: a high-priority condition must not
/// go silent unattended; an alarm signal is silenced only by a deliberate act).
package struct ReannounceSchedule {
    /// High priority, condition present: every `high` seconds for the first `highFast` seconds after
    /// its last announcement, then every `highMax` seconds (rules v3 §2.2).
    var high: Double
    var highFast: Double
    var highMax: Double
    /// Latched (the condition ended, a high alarm waits for an acknowledgement): every `latched` seconds.
    var latched: Double
    /// Medium, physiological or technical, condition present: after `medium`, then doubling up to `mediumMax`.
    var medium: Double
    var mediumMax: Double

    package init(high: Double, highFast: Double, highMax: Double, latched: Double, medium: Double, mediumMax: Double) {
        self.high = high
        self.highFast = highFast
        self.highMax = highMax
        self.latched = latched
        self.medium = medium
        self.mediumMax = mediumMax
    }

    /// Never re-announced (the agent's own alarms, rules v2 5.22–5.30).
    package static let never = ReannounceSchedule(high: .infinity, highFast: 0, highMax: .infinity, latched: .infinity,
                                                  medium: .infinity, mediumMax: .infinity)

    /// Seconds after the last announcement when the next re-announcement is due, or nil: never
    /// (advisory prompts, low priority, acknowledged, and result-driven alarms below high, which are
    /// re-announced only at a new result: rules v3 §2.2). `announcedFor`: seconds from the alarm's last
    /// announcement (not a re-announcement) to its last event.
    func interval(type: AlarmType, priority: Priority, state: AlarmState, acknowledged: Bool, count: Int,
                  announcedFor: Double = 0, resultDriven: Bool = false) -> Double? {
        guard !acknowledged, high.isFinite else { return nil }
        if state == .latched { return latched }
        guard type != .advisory else { return nil }
        switch priority {
        case .high: return Tolerance.lt(announcedFor, highFast) ? high : highMax
        case .medium:
            guard !resultDriven else { return nil }
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
package struct AlarmBook {
    package struct Instance {
        var state: AlarmState
        var priority: Priority
        var acknowledged = false
        /// Reached high priority since the last acknowledgement: ending then latches.
        var latchOnEnd: Bool
        var lastAnnounced: Double
        /// The last announcement that was not a re-announcement, and the re-announcements since.
        var announcedSince: Double
        var reannounceCount = 0
        package var since: Double
        /// Numbers alarm instances in order of start, 1, 2, …: every event of one alarm carries it.
        package var id: Int
        var type: AlarmType
        /// Re-announced below high only at a new result (rules v3 §2.2).
        var resultDriven = false
        /// The first group of the current run of groups asking for a relief (an end, a latching, a fall
        /// to a lower tier); nil while the condition is met or held.
        var reliefSince: Double?
        /// Past the chatter bound: stays until its relief condition has held for the policy's stable time.
        var intermittent = false
        /// Returns of the condition while intermittent.
        var episodes = 0

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
    /// Per rule, by ordinal.
    package let policies: [AlarmPolicy]
    /// High-priority alarms latch until acknowledged (false: the agent's own alarms, which end with
    /// their condition).
    let latches: Bool
    /// Onsets per key, across the key's alarms (the chatter bound).
    private var onsets = AlarmTable<OnsetLog>()

    /// `firstID`: a new patient's core continues the numbering of the run, so that an alarm id names
    /// one alarm within a run whatever patient it was about.
    package init(schedule: ReannounceSchedule, policies: [AlarmPolicy] = RuleID.allCases.map(AlarmPolicy.defaults), firstID: Int = 1,
                 latches: Bool = true) {
        self.schedule = schedule
        self.policies = policies
        self.latches = latches
        nextID = firstID
    }

    private mutating func recordOnset(_ key: AlarmKey, at t: Double) {
        var log = onsets[key] ?? OnsetLog()
        log.record(t, limit: policies[key.rule.ordinal].chatterMax)
        onsets[key] = log
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

    /// Whether any per-source alarm (a device's technical alarm) is in force.
    var hasPerSourceInstances: Bool { instances.hasPerSource }

    /// When an alarm next needs to be assessed with no change in its condition: its re-announcement;
    /// `-infinity` while a relief waits (an offset, a minimum active time, the chatter bound's stable
    /// time); `infinity` when nothing is due (no alarm, or never re-announced). A little early:
    /// assessing early changes nothing.
    func deadline(_ key: AlarmKey) -> Double {
        guard let instance = instances[key] else { return .infinity }
        if instance.reliefSince != nil { return -.infinity }
        guard let interval = schedule.interval(type: instance.type, priority: instance.priority, state: instance.state,
                                               acknowledged: instance.acknowledged, count: instance.reannounceCount)
        else { return .infinity }
        return instance.lastAnnounced + interval - 1e-6
    }

    /// Priority of an instance whose condition is present (not latched), if any.
    func activePriority(_ key: AlarmKey) -> Priority? {
        guard let instance = instances[key], instance.state == .active else { return nil }
        return instance.priority
    }

    package func instance(_ key: AlarmKey) -> Instance? { instances[key] }

    /// The next alarm id this book would give.
    package var nextAlarmID: Int { nextID }

    /// Ends one instance whatever its state (the agent stopped): its end, or nil if there is none.
    package mutating func remove(_ key: AlarmKey, reason: String) -> Transition? {
        guard let instance = instances[key] else { return nil }
        instances[key] = nil
        return Transition(alarmID: instance.id, phase: .end, priority: instance.priority, state: .inactive,
                          acknowledged: instance.acknowledged, reason: reason)
    }

    /// Every instance's key, in order of alarm id.
    package var keys: [AlarmKey] { instances.entries.sorted { $0.value.id < $1.value.id }.map(\.key) }

    /// Keys of one rule's instances, in a stable order.
    func keys(of rule: RuleID) -> [AlarmKey] {
        instances.entries.map(\.key).filter { $0.rule == rule }.sorted()
    }

    /// Applies one assessment at time `t` and returns the state change to announce, if any.
    package mutating func step(_ key: AlarmKey, _ assessment: Assessment, at t: Double) -> Transition? {
        let id = instances[key]?.id ?? nextID
        guard var transition = transit(key, assessment, at: t) else { return nil }
        transition.alarmID = id
        return transition
    }

    private mutating func transit(_ key: AlarmKey, _ assessment: Assessment, at t: Double) -> Transition? {
        guard var instance = instances[key] else {
            guard case .active(let priority) = assessment else { return nil }
            instances[key] = Instance(state: .active, priority: priority, latchOnEnd: latches && priority == .high,
                                      lastAnnounced: t, announcedSince: t, since: t, id: nextID, type: key.rule.type,
                                      resultDriven: key.rule.isResultDriven)
            nextID += 1
            recordOnset(key, at: t)
            return Transition(phase: .start, priority: priority, state: .active, acknowledged: false)
        }
        let transition: Transition?
        switch (instance.state, assessment) {
        case (.active, .active(let priority)) where priority > instance.priority:
            // An escalation is never held back; it is an onset.
            instance.priority = priority
            instance.acknowledged = false
            instance.latchOnEnd = instance.latchOnEnd || (latches && priority == .high)
            instance.reliefSince = nil
            instance.announce(at: t)
            recordOnset(key, at: t)
            transition = Transition(phase: .escalate, priority: priority, state: .active, acknowledged: false, reason: "tier")
        case (.active, .active(let priority)) where priority < instance.priority:
            transition = relieve(key, &instance, to: priority, at: t)
        case (.active, .inactive):
            transition = relieve(key, &instance, to: nil, at: t)
        case (.active, .active), (.active, .hold):
            // Met or held: a run of cleared groups ends; while intermittent a return is an episode.
            if instance.reliefSince != nil, instance.intermittent, case .active = assessment { instance.episodes += 1 }
            instance.reliefSince = nil
            transition = reannounce(&instance, at: t)
        case (.latched, .active(let priority)):
            // The condition is back: for the chatter bound an onset like a start (a latched alarm that
            // recurs and latches again with every frame is as much chatter as one that ends and starts).
            instance.state = .active
            instance.priority = priority
            instance.latchOnEnd = instance.latchOnEnd || (latches && priority == .high)
            instance.reliefSince = nil
            instance.announce(at: t)
            recordOnset(key, at: t)
            transition = Transition(phase: .update, priority: priority, state: .active, acknowledged: false, reason: "recurred")
        default:
            // Unknown (neither counts nor ends a run of cleared groups), or latched without the
            // condition: only re-announcement can happen.
            transition = reannounce(&instance, at: t)
        }
        if let transition, transition.phase == .end {
            instances[key] = nil
        } else {
            instances[key] = instance
        }
        return transition
    }

    /// A relief asked for (an end or latching when `to` is nil, else a fall to that tier): made once the
    /// condition has been cleared for the offset and the alarm active for its minimum, and only within
    /// the chatter bound; past the bound the alarm becomes intermittent and the relief waits until the
    /// cleared run has lasted the stable time.
    private mutating func relieve(_ key: AlarmKey, _ instance: inout Instance, to lower: Priority?, at t: Double) -> Transition? {
        let policy = policies[key.rule.ordinal]
        let since = instance.reliefSince ?? t
        instance.reliefSince = since
        guard Tolerance.ge(t - instance.since, policy.minActive), Tolerance.ge(t - since, policy.offset) else {
            return reannounce(&instance, at: t)
        }
        let recent = onsets[key]?.count(at: t) ?? 0
        var reason: String?
        var episodes: Int?
        if instance.intermittent {
            guard Tolerance.ge(t - since, policy.chatterStable), Double(recent) < policy.chatterMax else {
                return reannounce(&instance, at: t)
            }
            reason = "stable"
            episodes = instance.episodes
            instance.intermittent = false
            instance.episodes = 0
        } else if Double(recent) >= policy.chatterMax {
            instance.intermittent = true
            instance.episodes = 0
            instance.announce(at: t)
            return Transition(phase: .update, priority: instance.priority, state: instance.state, acknowledged: instance.acknowledged,
                              reason: "intermittent", intermittentOnsets: recent)
        }
        instance.reliefSince = nil
        if let lower {
            instance.priority = lower
            instance.announce(at: t)
            return Transition(phase: .deescalate, priority: lower, state: .active, acknowledged: instance.acknowledged,
                              reason: reason ?? "tier", episodes: episodes)
        }
        if instance.latchOnEnd && !instance.acknowledged {
            instance.state = .latched
            instance.priority = .high
            instance.announce(at: t)
            return Transition(phase: .update, priority: .high, state: .latched, acknowledged: false, reason: "latched", episodes: episodes)
        }
        return Transition(phase: .end, priority: instance.priority, state: .inactive, acknowledged: instance.acknowledged,
                          reason: reason, episodes: episodes)
    }

    private func reannounce(_ instance: inout Instance, at t: Double) -> Transition? {
        guard let interval = schedule.interval(type: instance.type, priority: instance.priority, state: instance.state,
                                               acknowledged: instance.acknowledged, count: instance.reannounceCount,
                                               announcedFor: instance.lastAnnounced - instance.announcedSince,
                                               resultDriven: instance.resultDriven),
              t - instance.lastAnnounced >= interval - Tolerance.epsilon
        else { return nil }
        instance.lastAnnounced = t
        instance.reannounceCount += 1
        return Transition(phase: .continue, priority: instance.priority, state: instance.state,
                          acknowledged: false, reason: "reannounce", reannounced: (instance.reannounceCount, instance.announcedSince))
    }

    /// A new result of a result-driven rule's parameter left its alarm as it was (rules v3 §2.2): below
    /// high, unacknowledged and active, that is its re-announcement (`continue`, reason `new_result`).
    mutating func newResult(_ key: AlarmKey, at t: Double) -> Transition? {
        guard var instance = instances[key], instance.state == .active, !instance.acknowledged, instance.priority < .high,
              instance.resultDriven, t > instance.lastAnnounced + Tolerance.epsilon
        else { return nil }
        instance.lastAnnounced = t
        instance.reannounceCount += 1
        instances[key] = instance
        return Transition(alarmID: instance.id, phase: .continue, priority: instance.priority, state: .active, acknowledged: false,
                          reason: "new_result", reannounced: (instance.reannounceCount, instance.announcedSince))
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
    /// `held`: the value is between the start and end thresholds (the hysteresis band); such a group
    /// keeps a pending onset pending (rules v3 §1.2), only a cleared or unknown one cancels it.
    mutating func update(_ condition: Bool?, held: Bool = false, at t: Double) {
        if condition == true {
            if since == nil { since = t }
        } else if !(condition == false && held) {
            since = nil
        }
    }

    func held(at t: Double, for delay: Double) -> Bool {
        guard let since else { return false }
        return t - since >= delay - Tolerance.epsilon
    }
}
