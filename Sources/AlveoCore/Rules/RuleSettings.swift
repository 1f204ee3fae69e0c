/// A rule's own settings: each rule declares them in its file (`Settings`, with their defaults), and
/// the keys that read them from the configuration, with their ranges and help.
package protocol RuleSettingsGroup: Sendable, Equatable {
    init()
    /// The keys under `rules: <rule id>:`, in the order the documentation lists them.
    static var keys: [Setting<Self>] { get }
    /// What is inconsistent between its values (an end threshold on the wrong side of its start), if
    /// anything: refused at configuration time.
    var problem: String? { get }
}

/// One configurable number of a rule: its key, unit, where it is kept, its allowed range and help.
package struct Setting<Group>: Sendable {
    package let name: String
    package let unit: String
    package let path: any WritableKeyPath<Group, Double> & Sendable
    /// Values outside this range are refused at configuration time.
    package let allowed: ClosedRange<Double>
    package let help: String

    package init(_ name: String, _ unit: String, _ path: any WritableKeyPath<Group, Double> & Sendable,
                 _ allowed: ClosedRange<Double>, _ help: String) {
        self.name = name
        self.unit = unit
        self.path = path
        self.allowed = allowed
        self.help = help
    }
}

/// Ranges several settings share.
package enum SettingRange {
    /// Delays and windows: up to 30 days.
    package static let seconds = 0.0...(30 * 86400.0)
}

/// A rule with no settings of its own (besides the engine's timing).
package struct NoSettings: RuleSettingsGroup {
    package init() {}
    package static var keys: [Setting<NoSettings>] { [] }
}

extension RuleSettingsGroup {
    /// Most rules' values are independent of each other.
    package var problem: String? { nil }

    func isEqual(to other: any RuleSettingsGroup) -> Bool { (other as? Self) == self }
}

/// Every rule's settings (each declared by its rule), and those of the alarm system shared by all.
/// Defaults are in docs/clinical-rules.md with sources; each can be overridden in the agent
/// configuration under `rules:`, keyed by rule id.
package struct RuleSettings: Sendable, Equatable {
    /// Each rule's own settings, by ordinal.
    private var groups: [any RuleSettingsGroup] = Catalogue.entries.map(\.defaultSettings)

    // alarm system
    package var reannounceHigh = 600.0
    package var reannounceHighFast = 3600.0
    package var reannounceHighMax = 3600.0
    package var reannounceLatched = 3600.0
    package var reannounceMedium = 600.0
    package var reannounceMediumMax = 7200.0
    package var advisoryRearm = 6 * 3600.0
    /// Charted and laboratory values sampled longer ago than this are refused (and the FiO2 history
    /// kept for their P/F spans it).
    package var maxSampleAge = 6 * 3600.0

    /// Rules switched off in the configuration.
    package var disabled: Set<RuleID> = []
    /// The alarm engine's timing per rule, by ordinal (rules v3 §1.4): `offset_s`, `min_active_s`,
    /// `chatter_max_per_h`, `chatter_stable_s` under each rule.
    package var policies: [AlarmPolicy] = RuleID.allCases.map(AlarmPolicy.defaults)

    /// One rule's alarm timing.
    package func policy(_ rule: RuleID) -> AlarmPolicy { policies[rule.ordinal] }

    package init() {}

    /// One rule's own settings.
    package subscript<Unit: RuleUnit>(_ unit: Unit.Type) -> Unit.Settings {
        get { groups[Unit.id.ordinal] as! Unit.Settings }
        set { groups[Unit.id.ordinal] = newValue }
    }

    package static func == (a: RuleSettings, b: RuleSettings) -> Bool {
        a.reannounceHigh == b.reannounceHigh && a.reannounceLatched == b.reannounceLatched && a.reannounceMedium == b.reannounceMedium
            && a.reannounceMediumMax == b.reannounceMediumMax && a.advisoryRearm == b.advisoryRearm && a.maxSampleAge == b.maxSampleAge
            && a.disabled == b.disabled && a.policies == b.policies
            && a.groups.count == b.groups.count && zip(a.groups, b.groups).allSatisfy { $0.isEqual(to: $1) }
    }

    /// Each rule's settings that contradict each other: the rule and what is wrong.
    package var problems: [(rule: RuleID, problem: String)] {
        groups.indices.compactMap { ordinal in groups[ordinal].problem.map { (RuleID(ordinal: ordinal), $0) } }
    }

    /// Silence timeout for one source, seconds.
    package func silentAfter(source: String) -> Double {
        let silence = self[DeviceSilent.self]
        return silence.perSource[source] ?? silence.timeout
    }

    /// One configurable number.
    package struct Key: Sendable {
        package let name: String
        package let unit: String
        package let help: String
        package let get: @Sendable (RuleSettings) -> Double
        package let set: @Sendable (inout RuleSettings, Double) -> Void
        /// Values outside this range are refused at configuration time.
        package let allowed: ClosedRange<Double>

        package init(name: String, unit: String, help: String, get: @escaping @Sendable (RuleSettings) -> Double,
                     set: @escaping @Sendable (inout RuleSettings, Double) -> Void, allowed: ClosedRange<Double>) {
            self.name = name
            self.unit = unit
            self.help = help
            self.get = get
            self.set = set
            self.allowed = allowed
        }
    }

    private static func key(
        _ name: String, _ unit: String, _ path: any WritableKeyPath<RuleSettings, Double> & Sendable,
        _ allowed: ClosedRange<Double>, _ help: String
    ) -> Key {
        Key(name: name, unit: unit, help: help, get: { $0[keyPath: path] },
            set: { $0[keyPath: path] = $1 }, allowed: allowed)
    }

    /// The keys each rule accepts under `rules: <rule id>:` (besides `enabled`): its own, then the
    /// alarm engine's timing (rules v3 §1.4).
    package static func keys(for rule: RuleID) -> [Key] {
        ruleKeys(for: rule) + policyKeys(for: rule)
    }

    /// The engine's keys of one rule: the offset and minimum active time where they apply, the chatter
    /// bound for every rule the engine bounds.
    package static func policyKeys(for rule: RuleID) -> [Key] {
        guard AlarmPolicy.defaults(for: rule) != .exempt else { return [] }
        let ordinal = rule.ordinal
        var keys: [Key] = []
        if Catalogue.entries[rule.ordinal].hasOffset {
            keys.append(key("offset_s", "s", \.policies[ordinal].offset, 0...3600,
                            "ends (or falls a tier) only once its end condition has held this long"))
            keys.append(key("min_active_s", "s", \.policies[ordinal].minActive, 0...3600, "stays active at least this long"))
        }
        keys.append(key("chatter_max_per_h", "starts per hour", \.policies[ordinal].chatterMax, 1...60,
                        "past this many starts and escalations in an hour it stays, intermittent, instead of ending"))
        keys.append(key("chatter_stable_s", "s", \.policies[ordinal].chatterStable, 0...86400,
                        "an intermittent alarm ends once its end condition has held this long"))
        return keys
    }

    /// The rule's own thresholds, delays and windows, as its file declares them.
    package static func ruleKeys(for rule: RuleID) -> [Key] { Catalogue.entries[rule.ordinal].keys }

    /// Keys of v1 that are gone, with what replaces them: refused with this hint.
    package static func removedKey(_ name: String, rule: RuleID?) -> String? {
        switch (rule, name) {
        case (nil, "reannounce_s"):
            "reannounce_s is gone in rules v2: re-announcement now depends on priority (high_s, latched_s, medium_s, medium_max_s)"
        case (.plasmaExchange?, "spo2_pct"), (.plasmaExchange?, "spo2_delay_s"):
            "\(name) is gone in rules v2: the SpO2 branch of escalation.plasma_exchange was removed (P/F, measured or imputed, covers hypoxaemia)"
        case (.plasmaExchange?, "exchanges"), (.plasmaExchange?, "days"):
            "\(name) is gone in rules v2: the text names each indication's own regimen"
        case (.proneStop?, "delay_s"):
            "delay_s is gone in rules v3: the stop criteria are assessed once, assess_after_s (default 14400) after the end of a prone session, over assess_window_s (§4.7)"
        case (.proneRepeat?, "assess_after_s"):
            "assess_after_s of escalation.prone_repeat is gone in rules v3: set it under escalation.prone_stop, whose assessments both prompts share (§4.7)"
        default: nil
        }
    }

    /// An alarm-engine key that does not apply to this rule, with why (rules v3 §1.4).
    package static func inapplicableKey(_ name: String, rule: RuleID) -> String? {
        let engineKeys = ["offset_s", "min_active_s", "chatter_max_per_h", "chatter_stable_s"]
        guard engineKeys.contains(name), !policyKeys(for: rule).contains(where: { $0.name == name }) else { return nil }
        if AlarmPolicy.defaults(for: rule) == .exempt {
            return "\(name) does not apply to \(rule.id): it starts and ends when the agent stops and starts, never by a condition"
        }
        return "\(name) does not apply to \(rule.id): the prompt keeps its own qualifying window and assessment (rules v3 §1.4); only chatter_max_per_h and chatter_stable_s do"
    }

    /// Settings shared by all rules, under `rules: alarm_system:`.
    package static var alarmSystemKeys: [Key] {
        [key("high_s", "s", \.reannounceHigh, 60...900, "an unacknowledged high alarm whose condition is present is re-announced this often"),
         key("high_fast_s", "s", \.reannounceHighFast, 0...7200, "for this long after its last announcement; then every high_max_s"),
         key("high_max_s", "s", \.reannounceHighMax, 600...3600, "an unacknowledged high alarm is re-announced at least this often (IEC 60601-1-8: never silent unattended)"),
         key("latched_s", "s", \.reannounceLatched, 600...3600, "an unacknowledged latched alarm is re-announced this often"),
         key("medium_s", "s", \.reannounceMedium, 60...3600, "an unacknowledged medium alarm is re-announced after this, then at doubling intervals"),
         key("medium_max_s", "s", \.reannounceMediumMax, 600...14400, "up to this interval"),
         key("rearm_s", "s", \.advisoryRearm, 0...(7 * 86400.0), "an acknowledged advisory prompt may start again once its condition has been known false this long"),
         key("max_sample_age_s", "s", \.maxSampleAge, 600...(48 * 3600.0), "charted and laboratory values sampled longer ago than this are refused")]
    }
}
