/// `dah.hemoglobin_drop`: a haemoglobin result 2 g/dL below the highest of the last 24 h (medium):
/// possible ongoing alveolar bleeding.
package struct HemoglobinDrop: BedRule {
    package static var id: RuleID { .hemoglobinDrop }
    package static var identifier: String { "dah.hemoglobin_drop" }
    package static var family: RuleFamily { .dah }
    package static var type: AlarmType { .physiological }
    package static var title: String { "Haemoglobin falling" }
    package static var reference: String { "Alveo heuristic for diffuse alveolar haemorrhage (2 g/dL in 24 h, configurable)" }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 4, chatterStable: 600) }
    package static var resultDriven: Bool { true }
    package static var hasOffset: Bool { true }
    /// Lab values have no MDC metric in PCD-04: local code, values in the text.
    package static var coding: RuleCoding { .local }
    package static var inputs: Facts { [.hemoglobin] }

    package struct Settings: RuleSettingsGroup {
        package var hbDrop = 2.0
        package var hbWindow = 24 * 3600.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [
                Setting("drop_g_dl", "g/dL", \.hbDrop, 0.5...10, "fires when Hb is this far below the highest Hb of the window"),
                Setting("window_s", "s", \.hbWindow, 3600...(7 * 86400.0), "look-back window"),
            ]
        }
    }

    let settings: Settings

    /// The time of the last result judged (a new one may re-announce an unchanged alarm).
    var resultT: Double?

    package init(settings: Settings) { self.settings = settings }

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        assess(&bed, at: t, into: &events)
        return nextDue(bed, at: t)
    }

    private mutating func assess(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) {
        let key = AlarmKey(rule: Self.id)
        let newResult = bed.hbFinding.map { $0.t != resultT } ?? false
        resultT = bed.hbFinding?.t
        let before = events.count
        bed.drive(key, bed.hbFinding?.met == true ? .active(.medium) : .inactive, by: self, at: t, into: &events)
        // Rules v3 §2.2, §4.10: a new result that leaves the alarm as it was is its re-announcement.
        if newResult, bed.hbFinding?.met == true, events.count == before { bed.announceNewResult(key, by: self, at: t, into: &events) }
    }


    /// When it is next due with no input changed (`.infinity`: never; nil: at every group).
    private func nextDue(_ bed: borrowing ClinicalCore, at t: Double) -> Double? { .infinity }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        let (name, unit, key, threshold, window) = ("Haemoglobin", "g/dL", "hb_g_dl", settings.hbDrop, settings.hbWindow)
        guard let finding = bed.hbFinding else {
            return AlarmDescription(active: "\(name): no result.", cleared: "\(name): no result.", evidence: [(key, .null)])
        }
        var evidence: [(String, JSONValue)] = [(key, .number(finding.value)), (key.prefixUpToUnit + "_t", .number(finding.t))]
        var change = ""
        if let reference = finding.reference {
            let delta = reference.value - finding.value
            evidence += [("reference_" + key, .number(reference.value)), ("reference_t", .number(reference.t)),
                         ("drop", .number(Fmt.round(delta, 2))), ("window_s", .number(window))]
            change = " from \(Fmt.fixed(reference.value, 1)) \(Fmt.duration(finding.t - reference.t)) earlier"
        }
        let action = "possible ongoing alveolar bleeding: review haemoptysis, transfusion threshold and coagulation."
        return AlarmDescription(
            active: "\(name) fell to \(Fmt.fixed(finding.value, 1)) \(unit)\(change) (limit \(Fmt.fixed(threshold, 1)) \(unit) within \(Fmt.duration(window))): \(action)",
            cleared: "\(name) \(Fmt.fixed(finding.value, 1)) \(unit)\(change): no longer a \(Fmt.fixed(threshold, 1)) \(unit) fall within \(Fmt.duration(window)).",
            evidence: evidence)
    }
}

extension RuleID {
    /// `dah.hemoglobin_drop`
    package static let hemoglobinDrop = RuleID(ordinal: 14)
}
