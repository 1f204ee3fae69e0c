/// Every threshold, delay and window the rules use. Defaults are in docs/clinical-rules.md with sources;
/// each can be overridden in the agent configuration under `rules:`, keyed by rule id.
package struct RuleSettings: Sendable, Equatable {
    // lpv.tidal_volume_high
    package var vtHighMlPerKg = 6.5
    package var vtHighDelay = 300.0
    package var vtHighHighTierMlPerKg = 8.0
    package var vtHighHighTierDelay = 60.0
    package var vtHighEndMlPerKg = 6.0
    package var vtTargetMlPerKg = 6.0
    // lpv.tidal_volume_low
    package var vtLowMlPerKg = 4.0
    package var vtLowDelay = 300.0
    // lpv.plateau_high
    package var pplatHigh = 30.0
    package var pplatEnd = 28.0
    package var pplatVtStepMlPerKg = 1.0
    package var pplatVtFloorMlPerKg = 4.0
    // lpv.driving_pressure_high
    package var drivingPressureHigh = 15.0
    package var drivingPressureEnd = 13.0
    // lpv.plateau_overdue
    package var plateauOverdueAfter = 4 * 3600.0
    // lpv.plateau_stale
    package var staleAfterPEEPChange = 2.0
    package var staleAfterVtChangeMlPerKg = 1.0
    package var staleVtChangeDelay = 120.0
    package var staleGrace = 900.0
    // oxygenation.spo2_low
    package var spo2Low = 88.0
    package var spo2LowDelay = 60.0
    package var spo2LowHighTier = 85.0
    package var spo2LowHighTierDelay = 30.0
    package var spo2LowEnd = 90.0
    // oxygenation.pf_severity (and P/F in general)
    package var pfMild = 300.0
    package var pfModerate = 200.0
    package var pfSevere = 100.0
    package var pfBandHysteresis = 10.0
    package var gasValidFor = 3600.0
    package var sfMild = 315.0
    package var sfModerate = 235.0
    package var sfSevere = 148.0
    // oxygenation.pf_falling
    package var pfFallFraction = 0.20
    package var pfFallWindow = 6 * 3600.0
    // oxygenation.fio2_weanable
    package var weanSpO2Above = 95.0
    package var weanMinFiO2 = 0.5
    package var weanDelay = 1800.0
    // escalation.prone_positioning
    package var proneMaxPF = 150.0
    package var proneMinFiO2 = 0.6
    package var proneMinPEEP = 5.0
    package var proneDelay = 12 * 3600.0
    package var proneSessionHours = 16.0
    package var proneHemoptysisLookback = 24 * 3600.0
    package var proneFalseReset = 3600.0
    package var proneUnknownReset = 4 * 3600.0
    // escalation.prone_repeat
    package var proneRepeatAssessAfter = 4 * 3600.0
    // escalation.prone_stop
    package var proneStopMinPF = 150.0
    package var proneStopMaxPEEP = 10.0
    package var proneStopMaxFiO2 = 0.6
    package var proneStopDelay = 4 * 3600.0
    // escalation.plasma_exchange
    package var plexKidneyCreatinine = 3.4
    package var plexMaxPF = 200.0
    package var plexEndPF = 210.0
    package var plexDelay = 3600.0
    package var plexFalseReset = 3600.0
    package var plexUnknownReset = 4 * 3600.0
    // dah.hemoglobin_drop
    package var hbDrop = 2.0
    package var hbWindow = 24 * 3600.0
    // dah.hemoptysis_volume
    package var hemoptysisVolume = 200.0
    package var hemoptysisWindow = 24 * 3600.0
    // dah.hemoptysis_prone
    package var hemoptysisProneMin = 0.0
    // dah.renal_function
    package var creatinineRise = 0.3
    package var creatinineWindow = 48 * 3600.0
    package var creatinineRatio = 1.5
    package var creatinineBaselineWindow = 7 * 86400.0
    package var akiStage2Ratio = 2.0
    package var akiStage3Ratio = 3.0
    package var akiStage3Creatinine = 4.0
    // technical.device_silent
    package var silentAfter = 10.0
    package var silentAfterBySource: [String: Double] = [:]
    // technical.station_unreachable (the agent's outputs)
    package var stationUnreachableAfter = 60.0
    package var stationBacklogMax = 100.0
    // technical.clock_unsynchronized
    package var clockUnsynchronizedAfter = 600.0
    // technical.disk_low
    package var diskMinFreeMB = 256.0
    // alarm system
    package var reannounceHigh = 600.0
    package var reannounceLatched = 3600.0
    package var reannounceMedium = 600.0
    package var reannounceMediumMax = 3600.0
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

    /// Silence timeout for one source, seconds.
    package func silentAfter(source: String) -> Double {
        silentAfterBySource[source] ?? silentAfter
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
        if AlarmPolicy.hasOffset(rule) {
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

    /// The rule's own thresholds, delays and windows.
    package static func ruleKeys(for rule: RuleID) -> [Key] {
        let seconds = 0.0...(30 * 86400.0)
        switch rule {
        case .tidalVolumeHigh:
            return [
                key("threshold_ml_per_kg", "ml/kg PBW", \.vtHighMlPerKg, 4...12, "medium when Vt is above this"),
                key("delay_s", "s", \.vtHighDelay, seconds, "for at least this long"),
                key("high_threshold_ml_per_kg", "ml/kg PBW", \.vtHighHighTierMlPerKg, 4...15, "high when Vt is above this"),
                key("high_delay_s", "s", \.vtHighHighTierDelay, seconds, "for at least this long"),
                key("end_ml_per_kg", "ml/kg PBW", \.vtHighEndMlPerKg, 3...12, "ends when Vt is at or below this"),
                key("target_ml_per_kg", "ml/kg PBW", \.vtTargetMlPerKg, 4...8, "the lung-protective target named in the text"),
            ]
        case .tidalVolumeLow:
            return [
                key("threshold_ml_per_kg", "ml/kg PBW", \.vtLowMlPerKg, 1...8, "fires when Vt is below this"),
                key("delay_s", "s", \.vtLowDelay, seconds, "for at least this long"),
            ]
        case .plateauHigh:
            return [
                key("threshold_cmh2o", "cmH2O", \.pplatHigh, 15...60, "fires on a plateau measurement above this"),
                key("end_cmh2o", "cmH2O", \.pplatEnd, 10...60, "ends on a plateau measurement at or below this"),
                key("vt_step_ml_per_kg", "ml/kg PBW", \.pplatVtStepMlPerKg, 0.5...3, "proposed Vt reduction"),
                key("vt_floor_ml_per_kg", "ml/kg PBW", \.pplatVtFloorMlPerKg, 2...8, "never propose Vt below this"),
            ]
        case .drivingPressureHigh:
            return [
                key("threshold_cmh2o", "cmH2O", \.drivingPressureHigh, 5...40, "fires when Pplat - PEEP is above this"),
                key("end_cmh2o", "cmH2O", \.drivingPressureEnd, 5...40, "ends when Pplat - PEEP is at or below this"),
            ]
        case .plateauOverdue:
            return [key("after_s", "s", \.plateauOverdueAfter, 600...(7 * 86400.0), "fires when ventilated with no plateau measurement for longer than this")]
        case .plateauStale:
            return [
                key("peep_change_cmh2o", "cmH2O", \.staleAfterPEEPChange, 0.5...10, "the plateau is stale once PEEP differs by this from the PEEP of its breath"),
                key("vt_change_ml_per_kg", "ml/kg PBW", \.staleAfterVtChangeMlPerKg, 0.25...5, "or Vt differs by this from the Vt of its breath"),
                key("vt_change_delay_s", "s", \.staleVtChangeDelay, 0...3600, "for at least this long"),
                key("grace_s", "s", \.staleGrace, 60...(24 * 3600.0), "fires when no new plateau is measured this long after the change"),
            ]
        case .spo2Low:
            return [
                key("threshold_pct", "%", \.spo2Low, 50...100, "medium when SpO2 is below this"),
                key("delay_s", "s", \.spo2LowDelay, seconds, "for at least this long"),
                key("high_threshold_pct", "%", \.spo2LowHighTier, 50...100, "high when SpO2 is below this"),
                key("high_delay_s", "s", \.spo2LowHighTierDelay, seconds, "for at least this long"),
                key("end_pct", "%", \.spo2LowEnd, 50...100, "ends when SpO2 is at or above this"),
            ]
        case .pfSeverity:
            return [
                key("mild_mmhg", "mmHg", \.pfMild, 50...600, "mild band: P/F at or below this (low priority)"),
                key("moderate_mmhg", "mmHg", \.pfModerate, 50...600, "moderate band: P/F at or below this (medium)"),
                key("severe_mmhg", "mmHg", \.pfSevere, 20...600, "severe band: P/F at or below this (high)"),
                key("hysteresis_mmhg", "mmHg", \.pfBandHysteresis, 0...100, "a band is left for a better one only this far past its edge"),
                key("gas_valid_s", "s", \.gasValidFor, 60...(24 * 3600.0), "a blood gas gives the measured P/F for this long; after it P/F is imputed from SpO2"),
                key("sf_mild", "ratio", \.sfMild, 50...600, "S/F (evidence only, SpO2 <= 97 %): mild at or below this"),
                key("sf_moderate", "ratio", \.sfModerate, 50...600, "moderate at or below this"),
                key("sf_severe", "ratio", \.sfSevere, 20...600, "severe at or below this"),
            ]
        case .pfFalling:
            return [
                key("fall_fraction", "fraction", \.pfFallFraction, 0.01...0.9, "fires when P/F is this fraction below the highest P/F of the window"),
                key("window_s", "s", \.pfFallWindow, 600...(48 * 3600.0), "look-back window"),
            ]
        case .fio2Weanable:
            return [
                key("spo2_high_pct", "%", \.weanSpO2Above, 90...100, "SpO2 above this"),
                key("min_fio2_fraction", "fraction", \.weanMinFiO2, 0.21...1, "with FiO2 at or above this"),
                key("delay_s", "s", \.weanDelay, seconds, "for at least this long"),
            ]
        case .pronePositioning:
            return [
                key("max_pf_mmhg", "mmHg", \.proneMaxPF, 50...300, "P/F below this"),
                key("min_fio2_fraction", "fraction", \.proneMinFiO2, 0.21...1, "with FiO2 at or above this"),
                key("min_peep_cmh2o", "cmH2O", \.proneMinPEEP, 0...30, "and PEEP at or above this"),
                key("delay_s", "s", \.proneDelay, seconds, "held this long while supine"),
                key("session_h", "h", \.proneSessionHours, 1...24, "recommended session length named in the text"),
                key("hemoptysis_lookback_s", "s", \.proneHemoptysisLookback, seconds, "warn when haemoptysis was charted this recently"),
                key("false_reset_s", "s", \.proneFalseReset, 0...(48 * 3600.0), "the qualifying window resets when the criteria are known unmet this long"),
                key("unknown_reset_s", "s", \.proneUnknownReset, 600...(7 * 86400.0), "or when they have not been met for longer than this"),
            ]
        case .proneRepeat:
            return [key("assess_after_s", "s", \.proneRepeatAssessAfter, 600...(48 * 3600.0), "supine this long after a session before the criteria are assessed")]
        case .proneStop:
            return [
                key("min_pf_mmhg", "mmHg", \.proneStopMinPF, 50...400, "supine P/F at or above this"),
                key("max_peep_cmh2o", "cmH2O", \.proneStopMaxPEEP, 0...30, "with PEEP at or below this"),
                key("max_fio2_fraction", "fraction", \.proneStopMaxFiO2, 0.21...1, "and FiO2 at or below this"),
                key("delay_s", "s", \.proneStopDelay, seconds, "held this long"),
            ]
        case .plasmaExchange:
            return [
                key("kidney_creatinine_mg_dl", "mg/dL", \.plexKidneyCreatinine, 1...15, "ANCA vasculitis: a creatinine result above this"),
                key("max_pf_mmhg", "mmHg", \.plexMaxPF, 50...600, "DAH: P/F below this over the qualifying window"),
                key("end_pf_mmhg", "mmHg", \.plexEndPF, 50...600, "the DAH indication ends at a P/F at or above this"),
                key("delay_s", "s", \.plexDelay, seconds, "the DAH qualifying window"),
                key("false_reset_s", "s", \.plexFalseReset, 0...(48 * 3600.0), "the window resets when P/F is known not low this long"),
                key("unknown_reset_s", "s", \.plexUnknownReset, 600...(7 * 86400.0), "or when it has not been low for longer than this"),
            ]
        case .hemoglobinDrop:
            return [
                key("drop_g_dl", "g/dL", \.hbDrop, 0.5...10, "fires when Hb is this far below the highest Hb of the window"),
                key("window_s", "s", \.hbWindow, 3600...(7 * 86400.0), "look-back window"),
            ]
        case .hemoptysisVolume:
            return [
                key("volume_ml", "ml", \.hemoptysisVolume, 10...5000, "fires when charted haemoptysis in the window reaches this"),
                key("window_s", "s", \.hemoptysisWindow, 3600...(7 * 86400.0), "window"),
            ]
        case .hemoptysisProne:
            return [key("min_ml", "ml", \.hemoptysisProneMin, 0...1000, "haemoptysis above this charted while prone")]
        case .renalFunction:
            return [
                key("rise_mg_dl", "mg/dL", \.creatinineRise, 0.1...5, "AKI when a result is this far above the lowest of the window"),
                key("window_s", "s", \.creatinineWindow, 3600...(14 * 86400.0), "look-back window of the rise"),
                key("ratio", "ratio", \.creatinineRatio, 1.1...5, "or this many times the baseline"),
                key("baseline_window_s", "s", \.creatinineBaselineWindow, 86400...(30 * 86400.0), "baseline: the lowest result of this window"),
                key("stage2_ratio", "ratio", \.akiStage2Ratio, 1.1...10, "KDIGO stage 2 from this ratio"),
                key("stage3_ratio", "ratio", \.akiStage3Ratio, 1.1...10, "stage 3 (high) from this ratio"),
                key("stage3_mg_dl", "mg/dL", \.akiStage3Creatinine, 1...20, "or a result at or above this with AKI"),
            ]
        case .deviceSilent:
            return [key("timeout_s", "s", \.silentAfter, 1...3600, "a streaming source silent longer than this (per-source overrides under per_source_timeout_s)")]
        case .stationUnreachable:
            return [key("after_s", "s", \.stationUnreachableAfter, 5...3600, "an output that has failed to deliver (or to heartbeat) for this long"),
                    key("backlog_max", "messages", \.stationBacklogMax, 1...1_000_000, "or more alarm journal entries than this waiting for one output")]
        case .clockUnsynchronized:
            return [key("after_s", "s", \.clockUnsynchronizedAfter, 0...86400, "the kernel reports the clock unsynchronised (adjtimex) for this long (NTP takes a while after boot)")]
        case .diskLow:
            return [key("min_free_mb", "MB", \.diskMinFreeMB, 1...1_000_000, "free space left to unprivileged users on the journal's file system below this")]
        case .sensorOff, .valueRejected, .deliveryFailed, .journalFailed, .patientUnknown, .monitoringStopped, .monitoringGap, .trendStoreFailed:
            return []
        }
    }

    /// Keys of v1 that are gone, with what replaces them: refused with this hint.
    package static func removedKey(_ name: String, rule: RuleID?) -> String? {
        switch (rule, name) {
        case (nil, "reannounce_s"):
            "reannounce_s is gone in rules v2: re-announcement now depends on priority (high_s, latched_s, medium_s, medium_max_s)"
        case (.plasmaExchange?, "spo2_pct"), (.plasmaExchange?, "spo2_delay_s"):
            "\(name) is gone in rules v2: the SpO2 branch of escalation.plasma_exchange was removed (P/F, measured or imputed, covers hypoxaemia)"
        case (.plasmaExchange?, "exchanges"), (.plasmaExchange?, "days"):
            "\(name) is gone in rules v2: the text names each indication's own regimen"
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
         key("latched_s", "s", \.reannounceLatched, 600...7200, "an unacknowledged latched alarm is re-announced this often"),
         key("medium_s", "s", \.reannounceMedium, 60...3600, "an unacknowledged medium alarm is re-announced after this, then at doubling intervals"),
         key("medium_max_s", "s", \.reannounceMediumMax, 600...14400, "up to this interval"),
         key("rearm_s", "s", \.advisoryRearm, 0...(7 * 86400.0), "an acknowledged advisory prompt may start again once its condition has been known false this long"),
         key("max_sample_age_s", "s", \.maxSampleAge, 600...(48 * 3600.0), "charted and laboratory values sampled longer ago than this are refused")]
    }
}
