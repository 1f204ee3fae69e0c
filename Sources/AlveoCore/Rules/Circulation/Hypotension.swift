/// `circulation.hypotension` (rules v3 §5.1): mean arterial pressure below 65 mmHg for 5 min (medium),
/// below 55 mmHg for 60 s (high, latches); held up to 68 mmHg, ended at or above it for `offset_s`.
package struct Hypotension: BedRule {
    package static var id: RuleID { .hypotension }
    package static var identifier: String { "circulation.hypotension" }
    package static var family: RuleFamily { .circulation }
    package static var type: AlarmType { .physiological }
    package static var title: String { "Hypotension" }
    package static var reference: String {
        "Surviving Sepsis Campaign 2021 (Evans, Crit Care Med 2021;49:e1063): initial MAP target 65 mmHg; PROSEVA excluded MAP < 65 mmHg"
    }
    package static var policy: AlarmPolicy { AlarmPolicy(offset: 120, chatterMax: 4, chatterStable: 1800) }
    package static var hasOffset: Bool { true }
    package static var coding: RuleCoding {
        .limit(LimitAlarm(metric: .meanArterialPressure(site: site), above: false, value: map,
                          limit: .threshold(threshold, positiveOnly: true), device: device))
    }
    /// The arterial line and the cuff, and the heart rate the text shows (ECG, else the oximeter's).
    package static var inputs: Facts { [.reading(.map), .reading(.nibpMap), .reading(.heartRate), .reading(.pulseRate)] }

    /// The MAP the rule judged, mmHg.
    static let map = EvidenceKey<Double>("map_mmhg")
    /// Where it comes from: `abp` (the arterial line) or `nibp` (the cuff).
    static let site = EvidenceKey<String>("map_source")
    /// The device that measured it.
    static let device = EvidenceKey<String>("map_device")
    /// The threshold of the tier the value is in, mmHg.
    static let threshold = EvidenceKey<Double>("threshold_mmhg")

    package struct Settings: RuleSettingsGroup {
        package var threshold = 65.0
        package var delay = 300.0
        package var highThreshold = 55.0
        package var highDelay = 60.0
        package var end = 68.0
        package var hysteresis = 3.0
        package var nibpValid = 1200.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [
                Setting("threshold_mmhg", "mmHg", \.threshold, 30...120, "medium when MAP is below this"),
                Setting("delay_s", "s", \.delay, 0...3600, "for at least this long"),
                Setting("high_threshold_mmhg", "mmHg", \.highThreshold, 30...120, "high when MAP is below this"),
                Setting("high_delay_s", "s", \.highDelay, 0...3600, "for at least this long"),
                Setting("end_mmhg", "mmHg", \.end, 30...120, "ends when MAP is at or above this"),
                Setting("hysteresis_mmhg", "mmHg", \.hysteresis, 0...20, "high falls to medium at high_threshold_mmhg plus this"),
                Setting("nibp_valid_s", "s", \.nibpValid, 60...3600, "a cuff measurement is current this long"),
            ]
        }

        package var problem: String? {
            highThreshold <= threshold && threshold <= end ? nil : "need high_threshold_mmhg <= threshold_mmhg <= end_mmhg"
        }
    }

    /// The MAP every rule uses (rules v3 §3.2): the arterial line's current value if there is one, else
    /// the last cuff measurement while it is at most `nibpValid` old.
    package struct MAP {
        package var value: Double
        package var t: Double
        package var source: Int
        package var fromCuff: Bool
    }

    package static func currentMAP(_ bed: borrowing ClinicalCore, nibpValid: Double, at t: Double) -> MAP? {
        if let abp = bed.reading(.map) { return MAP(value: abp.value, t: abp.t, source: abp.source, fromCuff: false) }
        guard let cuff = bed.reading(.nibpMap), Tolerance.le(t - cuff.t, nibpValid) else { return nil }
        return MAP(value: cuff.value, t: cuff.t, source: cuff.source, fromCuff: true)
    }

    let settings: Settings
    var onset = Onset(), highOnset = Onset()

    package init(settings: Settings) { self.settings = settings }

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        let map = Self.currentMAP(bed, nibpValid: settings.nibpValid, at: t)
        let key = AlarmKey(rule: Self.id)
        let isHigh = bed.alarms.activePriority(key) == .high
        let highEnd = settings.highThreshold + settings.hysteresis
        // Met below the threshold; held in the band up to the end threshold, which keeps a pending onset
        // pending (§1.2) but does not start one; a switch of source keeps it (one MAP, whatever its site).
        let below = map.map { Tolerance.lt($0.value, settings.threshold) }
        let belowEnd = map.map { Tolerance.lt($0.value, settings.end) }
        let belowHigh = map.map { Tolerance.lt($0.value, settings.highThreshold) }
        let belowHighEnd = map.map { Tolerance.lt($0.value, highEnd) }
        onset.update(below.map { $0 || (belowEnd == true && onset.since != nil) }, at: t)
        highOnset.update(belowHigh.map { $0 || (belowHighEnd == true && highOnset.since != nil) }, at: t)
        // While high, the high tier holds up to high_threshold + hysteresis (its de-escalation threshold).
        let high = ClinicalCore.Tier(condition: isHigh ? belowHighEnd : belowHigh, onset: highOnset, delay: settings.highDelay, priority: .high)
        let medium = ClinicalCore.Tier(condition: below, onset: onset, delay: settings.delay, priority: .medium)
        bed.drive(key, bed.tiered(medium, high, ended: belowEnd.map { !$0 }, key: key, at: t), by: self, at: t, into: &events)
        // A cuff value stops being current with no input changing: judged at every group while it is used.
        if map?.fromCuff == true { return nil }
        return min(onset.due(after: settings.delay, at: t), highOnset.due(after: settings.highDelay, at: t))
    }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        let heart = bed.reading(.heartRate) ?? bed.reading(.pulseRate)
        var evidence: [(String, JSONValue)] = [
            ("heart_rate_bpm", heart.map { .number(Fmt.round($0.value, 0)) } ?? .null),
            ("heart_rate_t", heart.map { .number($0.t) } ?? .null),
        ]
        guard let map = Self.currentMAP(bed, nibpValid: settings.nibpValid, at: t) else {
            evidence = [(Self.map.name, .null), ("map_t", .null), (Self.site.name, .null)] + evidence
            return AlarmDescription(active: "MAP not currently available.", cleared: "MAP not currently available.", evidence: evidence)
        }
        let inHigh = Tolerance.lt(map.value, settings.highThreshold)
        let inTier = Tolerance.lt(map.value, settings.threshold)
        let threshold = inHigh ? settings.highThreshold : (inTier ? settings.threshold : settings.end)
        let since = inHigh ? highOnset.since : onset.since
        evidence = [Self.map(map.value), ("map_t", .number(map.t)), Self.site(map.fromCuff ? "nibp" : "abp"),
                    Self.device(bed.sources[map.source].name)] + evidence
            + [Self.threshold(threshold), ("below_threshold_since_t", since.map { .number($0) } ?? .null)]
        let site = map.fromCuff ? "cuff, measured \(Fmt.duration(t - map.t)) ago" : "arterial line"
        let duration = since.map { " for \(Fmt.duration(t - $0))" } ?? ""
        let where_ = inTier ? "below \(Fmt.fixed(threshold, 0)) mmHg\(duration)"
            : "not yet back to \(Fmt.fixed(settings.end, 0)) mmHg (below \(Fmt.fixed(settings.threshold, 0)) mmHg\(duration))"
        let hr = heart.map { ", HR \(Fmt.fixed($0.value, 0))/min" } ?? ""
        return AlarmDescription(
            active: "MAP \(Fmt.fixed(map.value, 0)) mmHg (\(site)) \(where_)\(hr): look for the cause (bleeding: Hb and haemoptysis in DAH; "
                + "sedation; high PEEP; sepsis) and review vasopressors; target MAP ≥ \(Fmt.fixed(settings.threshold, 0)) mmHg (Surviving Sepsis 2021).",
            cleared: "MAP \(Fmt.fixed(map.value, 0)) mmHg, back at or above \(Fmt.fixed(settings.end, 0)) mmHg.",
            evidence: evidence)
    }
}

extension RuleID {
    /// `circulation.hypotension`
    package static let hypotension = RuleID(ordinal: 31)
}
