/// The settings the bed's own derivations read (P/F, the plateau pairing, the haemoptysis window, lab
/// findings, the prone course), copied once from the rules that declare them: the bed reads them at
/// every group, without a lookup.
struct BedSettings {
    /// The lung-protective target both tidal volume texts name.
    let tidalVolumeHigh: TidalVolumeHigh.Settings
    /// `gas_valid_s`: how long a blood gas gives the measured P/F.
    let pfSeverity: PFSeverity.Settings
    /// `window_s`: the P/F fall window (the histories the fall is measured against).
    let pfFalling: PFFalling.Settings
    /// The PEEP and Vt changes that make a plateau stale.
    let plateauStale: PlateauStale.Settings
    /// The haemoptysis window and the volume that makes it massive (rules v3 §3.4).
    let hemoptysisVolume: HemoptysisVolume.Settings
    /// The haemoglobin window and drop (the finding at each result).
    let hemoglobin: HemoglobinDrop.Settings
    /// The KDIGO criteria (the finding at each creatinine result).
    let kidney: RenalFunction.Settings
    /// The creatinine of the ANCA kidney indication.
    let plasmaExchange: PlasmaExchange.Settings
    /// The PROSEVA stopping criteria (escalation.prone_stop, and escalation.prone_repeat stops on them).
    let proneStop: ProneStop.Settings
    /// The prone course (session length, haemoptysis look-back) the escalation prompts share.
    let pronePositioning: PronePositioning.Settings
    /// The MAP thresholds and the cuff's validity (the prone prompts' hypotension caution).
    let hypotension: Hypotension.Settings

    init(_ settings: RuleSettings) {
        tidalVolumeHigh = settings[TidalVolumeHigh.self]
        pfSeverity = settings[PFSeverity.self]
        pfFalling = settings[PFFalling.self]
        plateauStale = settings[PlateauStale.self]
        hemoptysisVolume = settings[HemoptysisVolume.self]
        hemoglobin = settings[HemoglobinDrop.self]
        kidney = settings[RenalFunction.self]
        plasmaExchange = settings[PlasmaExchange.self]
        proneStop = settings[ProneStop.self]
        pronePositioning = settings[PronePositioning.self]
        hypotension = settings[Hypotension.self]
    }
}

extension ClinicalRule {
    /// The rule with its settings from the configuration.
    static func make(_ settings: RuleSettings) -> Self { Self(settings: settings[Self.self]) }
}
