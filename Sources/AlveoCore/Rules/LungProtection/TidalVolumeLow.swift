/// `lpv.tidal_volume_low`: Vt below 4 ml/kg PBW for 5 min (a leak, a disconnection, hypoventilation).
package struct TidalVolumeLow: BedRule {
    package static var id: RuleID { .tidalVolumeLow }
    package static var identifier: String { "lpv.tidal_volume_low" }
    package static var family: RuleFamily { .lungProtection }
    package static var type: AlarmType { .physiological }
    package static var title: String { "Tidal volume very low" }
    package static var reference: String {
        "NIH NHLBI ARDS Network protocol card (6 ml/kg PBW); ATS/ESICM/SCCM 2017 (4-8 ml/kg)"
    }
    package static var policy: AlarmPolicy { AlarmPolicy(offset: 60, chatterMax: 4, chatterStable: 600) }
    package static var hasOffset: Bool { true }
    package static var coding: RuleCoding {
        .limit(LimitAlarm(metric: .tidalVolume, above: false, value: .vtML, limit: .perKg(.thresholdMlPerKg, weight: .pbwKg),
                          device: .vtSource))
    }
    package static var inputs: Facts { [.vt, .patient, .ecmo] }

    package struct Settings: RuleSettingsGroup {
        package var vtLowMlPerKg = 4.0
        package var vtLowDelay = 300.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [
                Setting("threshold_ml_per_kg", "ml/kg PBW", \.vtLowMlPerKg, 1...8, "fires when Vt is below this"),
                Setting("delay_s", "s", \.vtLowDelay, SettingRange.seconds, "for at least this long"),
            ]
        }
    }

    let settings: Settings
    var onset = Onset()

    package init(settings: Settings) { self.settings = settings }

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        if bed.onECMO {
            // Rules v3 §3.3, §4.1: rest ventilation on ECMO is deliberately ultra-low: not evaluated.
            onset.update(nil, at: t)
            bed.endForECMO(AlarmKey(rule: Self.id), by: self, at: t, into: &events)
            return .infinity
        }
        assess(&bed, at: t, into: &events)
        return nextDue(bed, at: t)
    }

    private mutating func assess(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) {
        let low = bed.vtMlPerKg.map { Tolerance.lt($0, settings.vtLowMlPerKg) }
        onset.update(low, at: t)
        let key = AlarmKey(rule: Self.id)
        bed.drive(key, bed.tiered(ClinicalCore.Tier(condition: low, onset: onset, delay: settings.vtLowDelay, priority: .low),
                                  ended: low.map { !$0 }, key: key, at: t),
                  by: self, at: t, into: &events)
    }


    /// When it is next due with no input changed (`.infinity`: never; nil: at every group).
    private func nextDue(_ bed: borrowing ClinicalCore, at t: Double) -> Double? { onset.due(after: settings.vtLowDelay, at: t) }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        let floor = Fmt.fixed(settings.vtLowMlPerKg, 1).trimmingTrailingZeros
        return bed.describeTidalVolume(high: false, target: bed.bedSettings.tidalVolumeHigh.vtTargetMlPerKg, at: t) { _ in
            (settings.vtLowMlPerKg, onset.since)
        } texts: { text in
            (active: "\(text.now)\(text.duration); \(floor) ml/kg is \(Fmt.fixed(settings.vtLowMlPerKg * text.pbwKg, 0)) ml (\(text.pbw)): check for leak, disconnection or hypoventilation.",
             cleared: "\(text.now), back at or above \(floor) ml/kg.")
        }
    }
}

extension RuleID {
    /// `lpv.tidal_volume_low`
    package static let tidalVolumeLow = RuleID(ordinal: 1)
}
