/// `dah.hemoptysis_volume`: charted haemoptysis reaching 200 ml in 24 h (high); while it holds the
/// prone prompts are withheld.
package struct HemoptysisVolume: BedRule {
    package static var id: RuleID { .hemoptysisVolume }
    package static var identifier: String { "dah.hemoptysis_volume" }
    package static var family: RuleFamily { .dah }
    package static var type: AlarmType { .physiological }
    package static var title: String { "Large haemoptysis volume" }
    package static var reference: String {
        "Alveo heuristic (200 ml in 24 h, configurable; massive haemoptysis is 100-1000 ml/24 h in the literature)"
    }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 3, chatterStable: 3600) }
    package static var resultDriven: Bool { true }
    package static var hasOffset: Bool { true }
    /// Charted values have no MDC metric in PCD-04: local code, values in the text.
    package static var coding: RuleCoding { .local }
    package static var inputs: Facts { [.hemoptysis] }

    package struct Settings: RuleSettingsGroup {
        package var hemoptysisVolume = 200.0
        package var hemoptysisWindow = 24 * 3600.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [
                Setting("volume_ml", "ml", \.hemoptysisVolume, 10...5000, "fires when charted haemoptysis in the window reaches this"),
                Setting("window_s", "s", \.hemoptysisWindow, 3600...(7 * 86400.0), "window"),
            ]
        }
    }

    let settings: Settings

    package init(settings: Settings) { self.settings = settings }

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        assess(&bed, at: t, into: &events)
        return nextDue(bed, at: t)
    }

    private mutating func assess(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) {
        bed.drive(AlarmKey(rule: Self.id), bed.massiveHemoptysis ? .active(.high) : .inactive, by: self, at: t, into: &events)
    }


    /// When it is next due with no input changed (`.infinity`: never; nil: at every group).
    private func nextDue(_ bed: borrowing ClinicalCore, at t: Double) -> Double? { .infinity }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        let evidence: [(String, JSONValue)] = [
            ("total_ml", .number(Fmt.round(bed.hemoptysisTotal, 1))), ("window_s", .number(settings.hemoptysisWindow)),
            ("entries", .number(Double(bed.hemoptysis.count))),
            ("first_entry_t", bed.hemoptysis.first.map { .number($0.t) } ?? .null),
            ("last_entry_t", bed.hemoptysis.last.map { .number($0.t) } ?? .null),
        ]
        let window = Fmt.duration(settings.hemoptysisWindow)
        // Ventilated (a current Vt or PEEP): the airway is a tube, and prone prompts wait.
        let ventilated = bed.reading(.vt) != nil || bed.reading(.peep) != nil
        let action = ventilated
            ? "call the physician: check tube position and patency, suction, consider bronchoscopy; check Hb and coagulation. Prone prompts are withheld while it holds."
            : "call the physician; secure the airway, check Hb and coagulation."
        return AlarmDescription(
            active: "Haemoptysis \(Fmt.fixed(bed.hemoptysisTotal, 0)) ml charted in the last \(window) (limit \(Fmt.fixed(settings.hemoptysisVolume, 0)) ml): \(action)",
            cleared: "Haemoptysis in the last \(window) now \(Fmt.fixed(bed.hemoptysisTotal, 0)) ml, below \(Fmt.fixed(settings.hemoptysisVolume, 0)) ml.",
            evidence: evidence)
    }
}

extension RuleID {
    /// `dah.hemoptysis_volume`
    package static let hemoptysisVolume = RuleID(ordinal: 15)
}
