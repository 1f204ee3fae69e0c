/// `oxygenation.spo2_low`: SpO2 below 88 % for 1 min (medium), below 85 % for 30 s (high); ends at
/// or above 90 %.
package struct SpO2Low: BedRule {
    package static var id: RuleID { .spo2Low }
    package static var identifier: String { "oxygenation.spo2_low" }
    package static var family: RuleFamily { .oxygenation }
    package static var type: AlarmType { .physiological }
    package static var title: String { "SpO2 low" }
    package static var reference: String { "NIH NHLBI ARDS Network oxygenation goal SpO2 88-95 %" }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 4, chatterStable: 600) }
    package static var hasOffset: Bool { true }
    package static var coding: RuleCoding {
        .limit(LimitAlarm(metric: .spo2, above: false, value: spo2, limit: .rangeUpTo(threshold: threshold, upper: 100), device: source))
    }
    package static var inputs: Facts { [.spo2] }

    /// The current SpO2, %.
    static let spo2 = EvidenceKey<Double>("spo2_pct")
    /// The oximeter that measured it.
    static let source = EvidenceKey<String>("spo2_source")
    /// The threshold of the tier the value is in, %.
    static let threshold = EvidenceKey<Double>("threshold_pct")

    package struct Settings: RuleSettingsGroup {
        package var spo2Low = 88.0
        package var spo2LowDelay = 60.0
        package var spo2LowHighTier = 85.0
        package var spo2LowHighTierDelay = 30.0
        package var spo2LowEnd = 90.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [
                Setting("threshold_pct", "%", \.spo2Low, 50...100, "medium when SpO2 is below this"),
                Setting("delay_s", "s", \.spo2LowDelay, SettingRange.seconds, "for at least this long"),
                Setting("high_threshold_pct", "%", \.spo2LowHighTier, 50...100, "high when SpO2 is below this"),
                Setting("high_delay_s", "s", \.spo2LowHighTierDelay, SettingRange.seconds, "for at least this long"),
                Setting("end_pct", "%", \.spo2LowEnd, 50...100, "ends when SpO2 is at or above this"),
            ]
        }

        package var problem: String? {
            spo2LowHighTier <= spo2Low && spo2Low <= spo2LowEnd ? nil : "need high_threshold_pct <= threshold_pct <= end_pct"
        }
    }

    let settings: Settings
    var onset = Onset(), highOnset = Onset()
    /// Below the end threshold (the duration the text shows between the end and the start thresholds).
    var belowEndOnset = Onset()

    package init(settings: Settings) { self.settings = settings }

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        assess(&bed, at: t, into: &events)
        return nextDue(bed, at: t)
    }

    private mutating func assess(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) {
        let spo2 = bed.reading(.spo2)?.value
        let medium = spo2.map { Tolerance.lt($0, settings.spo2Low) }
        let high = spo2.map { Tolerance.lt($0, settings.spo2LowHighTier) }
        // Between the start (88 %) and end (90 %) thresholds: held, the onset stays pending (v3 §1.2).
        onset.update(medium, held: spo2.map { Tolerance.lt($0, settings.spo2LowEnd) } ?? false, at: t)
        highOnset.update(high, at: t)
        belowEndOnset.update(spo2.map { Tolerance.lt($0, settings.spo2LowEnd) }, at: t)
        let key = AlarmKey(rule: Self.id)
        bed.drive(key, bed.tiered(ClinicalCore.Tier(condition: medium, onset: onset, delay: settings.spo2LowDelay, priority: .medium),
                                  ClinicalCore.Tier(condition: high, onset: highOnset, delay: settings.spo2LowHighTierDelay, priority: .high),
                                  ended: spo2.map { Tolerance.ge($0, settings.spo2LowEnd) }, key: key, at: t),
                  by: self, at: t, into: &events)
    }


    /// When it is next due with no input changed (`.infinity`: never; nil: at every group).
    private func nextDue(_ bed: borrowing ClinicalCore, at t: Double) -> Double? {
        min(onset.due(after: settings.spo2LowDelay, at: t), highOnset.due(after: settings.spo2LowHighTierDelay, at: t))
    }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        var evidence = bed.readingEvidence(.spo2, Self.spo2.name, decimals: 1)
        if let src = bed.reading(.spo2)?.source { evidence.append(Self.source(bed.sources[src].name)) }
        evidence += bed.readingEvidence(.fio2, "fio2_fraction", decimals: 3)
        guard let spo2 = bed.reading(.spo2) else {
            return AlarmDescription(active: "SpO2 not currently available.", cleared: "SpO2 not currently available.", evidence: evidence)
        }
        let inHighTier = Tolerance.lt(spo2.value, settings.spo2LowHighTier)
        let inTier = Tolerance.lt(spo2.value, settings.spo2Low)
        let threshold = inHighTier ? settings.spo2LowHighTier : (inTier ? settings.spo2Low : settings.spo2LowEnd)
        let since = inHighTier ? highOnset.since : (inTier ? onset.since : belowEndOnset.since)
        evidence += [Self.threshold(threshold), ("below_threshold_since_t", since.map { .number($0) } ?? .null)]
        let duration = since.map { " for \(Fmt.duration(t - $0))" } ?? ""
        let fio2 = bed.reading(.fio2).map { " on FiO2 \(Fmt.fixed($0.value, 2))" } ?? ""
        let where_ = inTier ? "below \(Fmt.fixed(threshold, 0)) %\(duration)" : "not yet back to \(Fmt.fixed(settings.spo2LowEnd, 0)) % (below it\(duration))"
        return AlarmDescription(
            active: "SpO2 \(Fmt.fixed(spo2.value, 0)) %\(fio2) \(where_): check the patient, airway and ventilator; goal SpO2 88-95 %.",
            cleared: "SpO2 \(Fmt.fixed(spo2.value, 0)) %, back at or above \(Fmt.fixed(settings.spo2LowEnd, 0)) %.",
            evidence: evidence)
    }
}

extension RuleID {
    /// `oxygenation.spo2_low`
    package static let spo2Low = RuleID(ordinal: 6)
}
