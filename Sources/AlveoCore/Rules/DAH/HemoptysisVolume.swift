/// `dah.hemoptysis_volume` (rules v3 §4.11): charted haemoptysis reaching 200 ml in 24 h (medium);
/// high while massive (§3.4: 600 ml in 24 h, or charted as needing an immediate procedure). It
/// withholds nothing: the prone prompts carry it as a caution.
package struct HemoptysisVolume: BedRule {
    package static var id: RuleID { .hemoptysisVolume }
    package static var identifier: String { "dah.hemoptysis_volume" }
    package static var family: RuleFamily { .dah }
    package static var type: AlarmType { .physiological }
    package static var title: String { "Large haemoptysis volume" }
    package static var reference: String {
        "Alveo heuristic (200 ml in 24 h, configurable); massive: 600 ml/24 h (definitions range 100-1000 ml/24 h) or a bleed needing an immediate procedure (PROSEVA exclusion)"
    }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 3, chatterStable: 3600) }
    package static var resultDriven: Bool { true }
    package static var hasOffset: Bool { true }
    /// Charted values have no MDC metric in PCD-04: local code, values in the text.
    package static var coding: RuleCoding { .local }
    package static var inputs: Facts { [.hemoptysis, .massiveHemoptysis] }

    package struct Settings: RuleSettingsGroup {
        package var hemoptysisVolume = 200.0
        package var hemoptysisWindow = 24 * 3600.0
        package var massive = 600.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [
                Setting("volume_ml", "ml", \.hemoptysisVolume, 10...5000, "medium when charted haemoptysis in the window reaches this"),
                Setting("window_s", "s", \.hemoptysisWindow, 3600...(7 * 86400.0), "window"),
                Setting("massive_ml", "ml", \.massive, 100...5000, "massive (high, and the prone prompts' caution) at this in the window"),
            ]
        }
    }

    let settings: Settings
    /// The entries charted when it last ran (a new one is a new result, rules v3 §2.2).
    var entriesSeen = 0

    package init(settings: Settings) { self.settings = settings }

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        let assessment: Assessment = bed.massiveHemoptysis ? .active(.high)
            : Tolerance.ge(bed.hemoptysisTotal, settings.hemoptysisVolume) ? .active(.medium) : .inactive
        let key = AlarmKey(rule: Self.id)
        let newEntry = bed.hemoptysisEntriesCharted != entriesSeen
        entriesSeen = bed.hemoptysisEntriesCharted
        let before = events.count
        bed.drive(key, assessment, by: self, at: t, into: &events)
        // Rules v3 §2.2: a new entry that leaves the alarm as it was is its re-announcement, with the new total.
        if newEntry, case .active = assessment, events.count == before { bed.announceNewResult(key, by: self, at: t, into: &events) }
        // The total changes only with an entry or one leaving the window (both the `hemoptysis` fact).
        return .infinity
    }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        let charted = bed.massiveHemoptysisCharted
        let evidence: [(String, JSONValue)] = [
            ("total_ml", .number(Fmt.round(bed.hemoptysisTotal, 1))), ("window_s", .number(settings.hemoptysisWindow)),
            ("entries", .number(Double(bed.hemoptysis.count))),
            ("first_entry_t", bed.hemoptysis.first.map { .number($0.t) } ?? .null),
            ("last_entry_t", bed.hemoptysis.last.map { .number($0.t) } ?? .null),
            ("massive", .bool(bed.massiveHemoptysis)), ("massive_ml", .number(settings.massive)),
            ("massive_charted", charted.map { .bool($0.yes) } ?? .null), ("massive_charted_t", charted.map { .number($0.t) } ?? .null),
        ]
        let window = Fmt.duration(settings.hemoptysisWindow)
        let total = Fmt.fixed(bed.hemoptysisTotal, 0)
        let active: String
        if bed.massiveHemoptysis {
            let what = Tolerance.ge(bed.hemoptysisTotal, settings.massive)
                ? "\(total) ml in the last \(window) (≥ \(Fmt.fixed(settings.massive, 0)) ml)"
                : "charted as needing an immediate procedure (\(total) ml in the last \(window))"
            active = "Massive haemoptysis: \(what): call the physician now: airway first (tube position, suction, bronchoscopy; "
                + "a one-sided source: isolate the lung), then bleeding control (bronchial artery embolisation or surgery for a focal source); "
                + "Hb, coagulation, blood."
        } else {
            // Ventilated (a current Vt or PEEP): the airway is a tube.
            let ventilated = bed.reading(.vt) != nil || bed.reading(.peep) != nil
            let action = ventilated
                ? "tell the physician; check tube position and patency, suction, consider bronchoscopy; check Hb and coagulation."
                : "tell the physician; secure the airway, check Hb and coagulation."
            active = "Haemoptysis \(total) ml charted in the last \(window) (limit \(Fmt.fixed(settings.hemoptysisVolume, 0)) ml): \(action)"
        }
        return AlarmDescription(
            active: active,
            cleared: "Haemoptysis in the last \(window) now \(total) ml, below \(Fmt.fixed(settings.hemoptysisVolume, 0)) ml.",
            evidence: evidence)
    }
}

extension ClinicalCore {
    /// Massive haemoptysis (rules v3 §3.4): charted `massive_hemoptysis: yes` (until `no`), or at least
    /// `massive_ml` charted in the window.
    var massiveHemoptysis: Bool {
        massiveHemoptysisCharted?.yes == true || Tolerance.ge(hemoptysisTotal, bedSettings.hemoptysisVolume.massive)
    }
}

extension RuleID {
    /// `dah.hemoptysis_volume`
    package static let hemoptysisVolume = RuleID(ordinal: 15)
}
