/// `lpv.tidal_volume_high`: Vt above the lung-protective target in ml/kg of predicted body weight,
/// medium after 5 min, high above 8 ml/kg after 1 min; ends at or below the end threshold.
package struct TidalVolumeHigh: BedRule {
    package static var id: RuleID { .tidalVolumeHigh }
    package static var identifier: String { "lpv.tidal_volume_high" }
    package static var family: RuleFamily { .lungProtection }
    package static var type: AlarmType { .physiological }
    package static var title: String { "Tidal volume above lung-protective target" }
    package static var reference: String {
        "NIH NHLBI ARDS Network protocol card (6 ml/kg PBW); ATS/ESICM/SCCM 2017 (4-8 ml/kg)"
    }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 4, chatterStable: 600) }
    package static var hasOffset: Bool { true }
    package static var coding: RuleCoding {
        .limit(LimitAlarm(metric: .tidalVolume, above: true, value: .vtML, limit: .perKg(.thresholdMlPerKg, weight: .pbwKg),
                          device: .vtSource))
    }
    package static var inputs: Facts { [.vt, .patient] }

    package struct Settings: RuleSettingsGroup {
        package var vtHighMlPerKg = 6.5
        package var vtHighDelay = 300.0
        package var vtHighHighTierMlPerKg = 8.0
        package var vtHighHighTierDelay = 60.0
        package var vtHighEndMlPerKg = 6.0
        package var vtTargetMlPerKg = 6.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [
                Setting("threshold_ml_per_kg", "ml/kg PBW", \.vtHighMlPerKg, 4...12, "medium when Vt is above this"),
                Setting("delay_s", "s", \.vtHighDelay, SettingRange.seconds, "for at least this long"),
                Setting("high_threshold_ml_per_kg", "ml/kg PBW", \.vtHighHighTierMlPerKg, 4...15, "high when Vt is above this"),
                Setting("high_delay_s", "s", \.vtHighHighTierDelay, SettingRange.seconds, "for at least this long"),
                Setting("end_ml_per_kg", "ml/kg PBW", \.vtHighEndMlPerKg, 3...12, "ends when Vt is at or below this"),
                Setting("target_ml_per_kg", "ml/kg PBW", \.vtTargetMlPerKg, 4...8, "the lung-protective target named in the text"),
            ]
        }

        /// An end threshold on the safe side of its start thresholds.
        package var problem: String? {
            vtHighEndMlPerKg <= vtHighMlPerKg && vtHighMlPerKg <= vtHighHighTierMlPerKg
                ? nil : "need end_ml_per_kg <= threshold_ml_per_kg <= high_threshold_ml_per_kg"
        }
    }

    let settings: Settings
    var onset = Onset(), highOnset = Onset()

    package init(settings: Settings) { self.settings = settings }

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        assess(&bed, at: t, into: &events)
        return nextDue(bed, at: t)
    }

    private mutating func assess(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) {
        let mlPerKg = bed.vtMlPerKg
        let medium = mlPerKg.map { Tolerance.gt($0, settings.vtHighMlPerKg) }
        let high = mlPerKg.map { Tolerance.gt($0, settings.vtHighHighTierMlPerKg) }
        // Between the end (6.0) and start (6.5 ml/kg) thresholds: held, the onset stays pending (v3 §1.2).
        onset.update(medium, held: mlPerKg.map { Tolerance.gt($0, settings.vtHighEndMlPerKg) } ?? false, at: t)
        highOnset.update(high, at: t)
        let key = AlarmKey(rule: Self.id)
        bed.drive(key, bed.tiered(ClinicalCore.Tier(condition: medium, onset: onset, delay: settings.vtHighDelay, priority: .medium),
                                  ClinicalCore.Tier(condition: high, onset: highOnset, delay: settings.vtHighHighTierDelay, priority: .high),
                                  ended: mlPerKg.map { Tolerance.le($0, settings.vtHighEndMlPerKg) }, key: key, at: t),
                  by: self, at: t, into: &events)
    }


    /// When it is next due with no input changed (`.infinity`: never; nil: at every group).
    private func nextDue(_ bed: borrowing ClinicalCore, at t: Double) -> Double? {
        min(onset.due(after: settings.vtHighDelay, at: t), highOnset.due(after: settings.vtHighHighTierDelay, at: t))
    }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        bed.describeTidalVolume(high: true, target: settings.vtTargetMlPerKg, at: t) { mlPerKg in
            // The duration shown is that of the tier the value is in now.
            Tolerance.gt(mlPerKg, settings.vtHighHighTierMlPerKg) ? (settings.vtHighHighTierMlPerKg, highOnset.since)
                : (settings.vtHighMlPerKg, onset.since)
        } texts: { text in
            (active: "\(text.now)\(text.duration); lung-protective target \(text.target) (\(text.pbw)): consider reducing Vt.",
             cleared: "\(text.now), back at or below \(Fmt.fixed(settings.vtHighEndMlPerKg, 1)) ml/kg (target \(text.target)).")
        }
    }
}

extension RuleID {
    /// `lpv.tidal_volume_high`
    package static let tidalVolumeHigh = RuleID(ordinal: 0)
}

extension ClinicalCore {
    /// The current Vt in ml/kg PBW (nil: no Vt, or the PBW is not known).
    var vtMlPerKg: Double? {
        guard let vt = reading(.vt)?.value, let pbw else { return nil }
        return vt / pbw
    }

    /// The phrases of a tidal volume text: the value, how long, the target, the PBW.
    struct TidalVolumePhrases {
        /// "Tidal volume 520 ml is 9.9 ml/kg PBW".
        var now: String
        /// " (above 8 ml/kg for 2 min)", or empty.
        var duration: String
        /// "6 ml/kg is 314 ml".
        var target: String
        /// "PBW 52.4 kg, female 160 cm".
        var pbw: String
        var pbwKg: Double
    }

    /// The text of the tidal volume rules. `tier`: the threshold and onset of the tier a value in
    /// ml/kg is in; `texts`: the active and cleared texts from the phrases.
    func describeTidalVolume(high: Bool, target targetMlPerKg: Double, at t: Double, tier: (Double) -> (Double, Double?),
                             texts: (TidalVolumePhrases) -> (active: String, cleared: String)) -> AlarmDescription {
        guard let pbw else {
            return AlarmDescription(active: "Tidal volume cannot be judged: the patient's sex or height is not known.",
                                    cleared: "Tidal volume cannot be judged: the patient's sex or height is not known.", evidence: patientEvidence)
        }
        let atTarget = targetMlPerKg * pbw
        let pbwText = pbwPhrase
        var evidence = patientEvidence
        evidence += readingEvidence(.vt, EvidenceKey.vtML.name, decimals: 1)
        guard let vt = reading(.vt)?.value else {
            evidence.append(("vt_at_target_ml", .number(Fmt.round(atTarget, 0))))
            return AlarmDescription(active: "Tidal volume not currently reported (\(pbwText)).",
                                    cleared: "Tidal volume no longer reported.", evidence: evidence)
        }
        let mlPerKg = vt / pbw
        let (threshold, onset) = tier(mlPerKg)
        if let src = reading(.vt)?.source { evidence.append(EvidenceKey.vtSource(sources[src].name)) }
        evidence += [("vt_ml_per_kg", .number(Fmt.round(mlPerKg, 2))),
                     EvidenceKey.thresholdMlPerKg(threshold),
                     ("target_ml_per_kg", .number(targetMlPerKg)),
                     ("vt_at_target_ml", .number(Fmt.round(atTarget, 0))),
                     ("condition_since_t", onset.map { .number($0) } ?? .null)]
        let side = high ? "above" : "below"
        let phrases = TidalVolumePhrases(
            now: "Tidal volume \(Fmt.fixed(vt, 0)) ml is \(Fmt.fixed(mlPerKg, 1)) ml/kg PBW",
            duration: onset.map { " (\(side) \(Fmt.fixed(threshold, 1).trimmingTrailingZeros) ml/kg for \(Fmt.duration(t - $0)))" } ?? "",
            target: "\(Fmt.fixed(targetMlPerKg, 1).trimmingTrailingZeros) ml/kg is \(Fmt.fixed(atTarget, 0)) ml", pbw: pbwText, pbwKg: pbw)
        let text = texts(phrases)
        return AlarmDescription(active: text.active, cleared: text.cleared, evidence: evidence)
    }
}
