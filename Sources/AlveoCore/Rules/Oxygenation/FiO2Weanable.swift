/// `oxygenation.fio2_weanable`: SpO2 above the goal on a high FiO2 for 30 min (advisory, low):
/// consider lowering FiO2.
package struct FiO2Weanable: BedRule {
    package static var id: RuleID { .fio2Weanable }
    package static var identifier: String { "oxygenation.fio2_weanable" }
    package static var family: RuleFamily { .oxygenation }
    package static var type: AlarmType { .advisory }
    package static var title: String { "SpO2 above goal on high FiO2" }
    package static var reference: String {
        "NIH NHLBI ARDS Network oxygenation goal SpO2 88-95 % / PaO2 55-80 mmHg and FiO2/PEEP table"
    }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 2, chatterStable: 1800) }
    package static var hasOffset: Bool { true }
    package static var coding: RuleCoding { .local }
    package static var inputs: Facts { [.spo2, .fio2] }

    package struct Settings: RuleSettingsGroup {
        package var weanSpO2Above = 95.0
        package var weanMinFiO2 = 0.5
        package var weanDelay = 1800.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [
                Setting("spo2_high_pct", "%", \.weanSpO2Above, 90...100, "SpO2 above this"),
                Setting("min_fio2_fraction", "fraction", \.weanMinFiO2, 0.21...1, "with FiO2 at or above this"),
                Setting("delay_s", "s", \.weanDelay, SettingRange.seconds, "for at least this long"),
            ]
        }
    }

    let settings: Settings
    var onset = Onset()

    package init(settings: Settings) { self.settings = settings }

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        assess(&bed, at: t, into: &events)
        return nextDue(bed, at: t)
    }

    private mutating func assess(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) {
        let weanable = bed.all(bed.reading(.spo2).map { Tolerance.gt($0.value, settings.weanSpO2Above) },
                               bed.reading(.fio2).map { Tolerance.ge($0.value, settings.weanMinFiO2) })
        onset.update(weanable, at: t)
        let key = AlarmKey(rule: Self.id)
        bed.drive(key, bed.tiered(ClinicalCore.Tier(condition: weanable, onset: onset, delay: settings.weanDelay, priority: .low),
                                  ended: weanable.map { !$0 }, key: key, at: t),
                  by: self, at: t, into: &events, known: weanable)
    }


    /// When it is next due with no input changed (`.infinity`: never; nil: at every group).
    private func nextDue(_ bed: borrowing ClinicalCore, at t: Double) -> Double? { onset.due(after: settings.weanDelay, at: t) }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        var evidence = bed.readingEvidence(.spo2, "spo2_pct", decimals: 1) + bed.readingEvidence(.fio2, "fio2_fraction", decimals: 3)
        evidence.append(("condition_since_t", onset.since.map { .number($0) } ?? .null))
        let spo2 = bed.reading(.spo2).map { Fmt.fixed($0.value, 0) } ?? "?"
        let fio2 = bed.reading(.fio2).map { Fmt.fixed($0.value, 2) } ?? "?"
        let held = onset.since.map { " for \(Fmt.duration(t - $0))" } ?? ""
        return AlarmDescription(
            active: "SpO2 \(spo2) % on FiO2 \(fio2), above the 88-95 % goal\(held): consider lowering FiO2 (ARDSNet FiO2/PEEP table).",
            cleared: "SpO2 \(spo2) % on FiO2 \(fio2): no longer above the goal on high FiO2.",
            evidence: evidence)
    }
}

extension RuleID {
    /// `oxygenation.fio2_weanable`
    package static let fio2Weanable = RuleID(ordinal: 9)
}
