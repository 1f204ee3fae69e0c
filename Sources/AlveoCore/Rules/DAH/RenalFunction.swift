/// `dah.renal_function`: acute kidney injury by the KDIGO creatinine criteria in vasculitis or DAH,
/// staged at each result (stages 1-2 medium, 3 high); a stage change within one priority is an update.
package struct RenalFunction: BedRule {
    package static var id: RuleID { .renalFunction }
    package static var identifier: String { "dah.renal_function" }
    package static var family: RuleFamily { .dah }
    package static var type: AlarmType { .physiological }
    package static var title: String { "Acute kidney injury (KDIGO creatinine criteria)" }
    package static var reference: String {
        "KDIGO 2012 AKI (creatinine >= 0.3 mg/dL within 48 h or >= 1.5 x baseline within 7 days; stages 1-3)"
    }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 4, chatterStable: 600) }
    package static var resultDriven: Bool { true }
    package static var hasOffset: Bool { true }
    /// Lab values have no MDC metric in PCD-04: local code, values in the text.
    package static var coding: RuleCoding { .local }
    package static var inputs: Facts { [.creatinine, .patient] }

    package struct Settings: RuleSettingsGroup {
        package var creatinineRise = 0.3
        package var creatinineWindow = 48 * 3600.0
        package var creatinineRatio = 1.5
        package var creatinineBaselineWindow = 7 * 86400.0
        package var akiStage2Ratio = 2.0
        package var akiStage3Ratio = 3.0
        package var akiStage3Creatinine = 4.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [
                Setting("rise_mg_dl", "mg/dL", \.creatinineRise, 0.1...5, "AKI when a result is this far above the lowest of the window"),
                Setting("window_s", "s", \.creatinineWindow, 3600...(14 * 86400.0), "look-back window of the rise"),
                Setting("ratio", "ratio", \.creatinineRatio, 1.1...5, "or this many times the baseline"),
                Setting("baseline_window_s", "s", \.creatinineBaselineWindow, 86400...(30 * 86400.0), "baseline: the lowest result of this window"),
                Setting("stage2_ratio", "ratio", \.akiStage2Ratio, 1.1...10, "KDIGO stage 2 from this ratio"),
                Setting("stage3_ratio", "ratio", \.akiStage3Ratio, 1.1...10, "stage 3 (high) from this ratio"),
                Setting("stage3_mg_dl", "mg/dL", \.akiStage3Creatinine, 1...20, "or a result at or above this with AKI"),
            ]
        }

        package var problem: String? { akiStage2Ratio <= akiStage3Ratio ? nil : "need stage2_ratio <= stage3_ratio" }
    }

    let settings: Settings
    /// The stage announced (0: none).
    var stage = 0
    /// The time of the last result judged (a new one may re-announce an unchanged alarm).
    var resultT: Double?

    package init(settings: Settings) { self.settings = settings }

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        assess(&bed, at: t, into: &events)
        return nextDue(bed, at: t)
    }

    private mutating func assess(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) {
        // KDIGO stages at each creatinine result (persisting until the next one).
        guard bed.diagnoses.vasculitis || bed.diagnoses.dah else { return }
        let stage = bed.creatinineFinding?.stage ?? 0
        let key = AlarmKey(rule: Self.id)
        if stage > 0, self.stage > 0, stage != self.stage, bed.alarms.activePriority(key) == (stage >= 3 ? .high : .medium),
           let transition = bed.alarms.restage(key, at: t) {
            // A stage change within one priority (1 to 2, 2 to 1) is announced as an update.
            self.stage = stage
            events.append(bed.makeEvent(key, transition, describe(key, bed: bed, at: t), at: t))
        }
        let newResult = bed.creatinineFinding.map { $0.t != resultT } ?? false
        resultT = bed.creatinineFinding?.t
        let before = events.count
        let unchanged = stage == self.stage
        self.stage = stage
        bed.drive(key, stage == 0 ? .inactive : .active(stage >= 3 ? .high : .medium), by: self, at: t, into: &events)
        // Rules v3 §2.2: a new result that leaves the alarm as it was is its re-announcement.
        if newResult, unchanged, stage > 0, events.count == before { bed.announceNewResult(key, by: self, at: t, into: &events) }
    }


    /// When it is next due with no input changed (`.infinity`: never; nil: at every group).
    private func nextDue(_ bed: borrowing ClinicalCore, at t: Double) -> Double? { .infinity }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        guard let finding = bed.creatinineFinding else {
            return AlarmDescription(active: "Creatinine: no result.", cleared: "Creatinine: no result.", evidence: [("creatinine_mg_dl", .null)])
        }
        var evidence: [(String, JSONValue)] = [("creatinine_mg_dl", .number(finding.value)), ("creatinine_t", .number(finding.t)),
                                                ("stage", .number(Double(finding.stage))),
                                                ("criterion", finding.criterion.map { .string($0) } ?? .null),
                                                ("ratio", finding.ratio.map { .number(Fmt.round($0, 2)) } ?? .null),
                                                ("baseline_mg_dl", finding.baseline.map { .number($0.value) } ?? .null),
                                                ("baseline_t", finding.baseline.map { .number($0.t) } ?? .null)]
        if let lowest = finding.lowest {
            evidence += [("reference_creatinine_mg_dl", .number(lowest.value)), ("reference_t", .number(lowest.t)),
                         ("rise", .number(Fmt.round(finding.value - lowest.value, 2)))]
        }
        evidence.append(("window_s", .number(settings.creatinineWindow)))
        let names: [(Condition, String)] = [(.diffuseAlveolarHemorrhage, "DAH"), (.ancaVasculitis, "ANCA vasculitis"),
                                            (.antiGBM, "anti-GBM disease"), (.sle, "SLE")]
        let context = names.filter { bed.patient.conditions.contains($0.0) }.map(\.1).joined(separator: " and ")
        let value = "Creatinine \(Fmt.fixed(finding.value, 1)) mg/dL"
        // Rules v3 §4.12: the text names the criterion that gave the stage.
        let window = settings.creatinineBaselineWindow
        let days = (window / 86400).rounded()
        let baselineName = Tolerance.equal(window, days * 86400) ? "\(Fmt.fixed(days, 0))-day" : Fmt.duration(window)
        let ratioPhrase = finding.ratio.flatMap { ratio in
            finding.baseline.map { "\(Fmt.fixed(ratio, 1)) x the \(baselineName) baseline \(Fmt.fixed($0.value, 1))" }
        }
        let risePhrase = finding.lowest.map {
            "a rise of \(Fmt.fixed(finding.value - $0.value, 1)) within \(Fmt.duration(settings.creatinineWindow))"
        }
        // KDIGO's rise is checked first (the core's `criterion`): the text leads with it.
        let byRise = finding.criterion == "rise"
        let criterion: String?
        let how: String
        switch finding.stage {
        case 3 where !(finding.ratio.map { Tolerance.ge($0, settings.akiStage3Ratio) } ?? false):
            criterion = "absolute_4_mg_dl"
            let primary = byRise ? risePhrase : ratioPhrase
            let secondary = byRise ? ratioPhrase : nil
            how = ": at or above \(Fmt.fixed(settings.akiStage3Creatinine, 1)) mg/dL with \(primary ?? "AKI") (KDIGO AKI stage 3\(secondary.map { "; \($0)" } ?? ""))"
        case 3, 2:
            criterion = finding.stage == 3 ? "ratio_3" : "ratio_2"
            how = ", \(ratioPhrase ?? "?") (KDIGO AKI stage \(finding.stage))"
        case 1 where !byRise:
            criterion = "ratio_1_5"
            how = ", \(ratioPhrase ?? "?") (KDIGO AKI stage 1)"
        case 1:
            criterion = "rise_0_3"
            how = ", up \(finding.lowest.map { Fmt.fixed(finding.value - $0.value, 1) } ?? "?") from \(finding.lowest.map { Fmt.fixed($0.value, 1) } ?? "?") within \(Fmt.duration(settings.creatinineWindow)) (KDIGO AKI stage 1)"
        default:
            criterion = nil
            how = " (KDIGO AKI stage \(finding.stage))"
        }
        evidence.append(("stage_criterion", criterion.map { .string($0) } ?? .null))
        return AlarmDescription(
            active: "\(value)\(how)\(context.isEmpty ? "" : " in \(context)"): check urinalysis (blood, protein, casts) for glomerulonephritis; review fluids and nephrotoxins.",
            cleared: "\(value): no longer meets the KDIGO AKI creatinine criteria (a \(Fmt.fixed(settings.creatinineRise, 1)) mg/dL rise within \(Fmt.duration(settings.creatinineWindow)) or \(Fmt.fixed(settings.creatinineRatio, 1)) x the baseline).",
            evidence: evidence)
    }
}

extension RuleID {
    /// `dah.renal_function`
    package static let renalFunction = RuleID(ordinal: 17)
}
