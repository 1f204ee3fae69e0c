/// `escalation.plasma_exchange`: one prompt (advisory, medium), its indication the strongest that
/// holds and has not been acknowledged: anti-GBM disease > ANCA vasculitis with a creatinine above
/// 3.4 mg/dL > DAH with P/F below 200 over a 1 h qualifying window.
package struct PlasmaExchange: BedRule {
    package static var id: RuleID { .plasmaExchange }
    package static var identifier: String { "escalation.plasma_exchange" }
    package static var family: RuleFamily { .escalation }
    package static var type: AlarmType { .advisory }
    package static var title: String { "Plasma exchange to consider" }
    package static var reference: String {
        "KDIGO 2024 ANCA vasculitis guideline (Kidney Int 105(3S)); Walsh, NEJM 2020;382:622 (PEXIVAS); BMJ 2022;376:e064597; KDIGO 2021 glomerular diseases (anti-GBM)"
    }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 2, chatterStable: 3600) }
    package static var hasOffset: Bool { false }
    package static var coding: RuleCoding { .local }
    package static var inputs: Facts { [.pf, .patient, .creatinine, .ecmo] }

    package struct Settings: RuleSettingsGroup {
        package var plexKidneyCreatinine = 3.4
        package var plexMaxPF = 200.0
        package var plexEndPF = 210.0
        package var plexDelay = 3600.0
        package var plexFalseReset = 3600.0
        package var plexUnknownReset = 4 * 3600.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [
                Setting("kidney_creatinine_mg_dl", "mg/dL", \.plexKidneyCreatinine, 1...15, "ANCA vasculitis: a creatinine result above this"),
                Setting("max_pf_mmhg", "mmHg", \.plexMaxPF, 50...600, "DAH: P/F below this over the qualifying window"),
                Setting("end_pf_mmhg", "mmHg", \.plexEndPF, 50...600, "the DAH indication ends at a P/F at or above this"),
                Setting("delay_s", "s", \.plexDelay, SettingRange.seconds, "the DAH qualifying window"),
                Setting("false_reset_s", "s", \.plexFalseReset, 0...(48 * 3600.0), "the window resets when P/F is known not low this long"),
                Setting("unknown_reset_s", "s", \.plexUnknownReset, 600...(7 * 86400.0), "or when it has not been low for longer than this"),
            ]
        }

        package var problem: String? { plexMaxPF <= plexEndPF ? nil : "need max_pf_mmhg <= end_pf_mmhg" }
    }

    /// Why the prompt applies; a higher raw value is the stronger indication.
    enum Indication: Int, Comparable {
        case dahHypoxaemia = 1, ancaKidney, antiGBM

        var name: String {
            switch self {
            case .dahHypoxaemia: "dah_hypoxaemia"
            case .ancaKidney: "anca_kidney"
            case .antiGBM: "anti_gbm"
            }
        }

        static func < (a: Indication, b: Indication) -> Bool { a.rawValue < b.rawValue }
    }

    let settings: Settings
    var window = QualifyingWindow()
    /// The DAH hypoxaemia indication holds (its window was met; until P/F recovers or the window resets).
    var dahHolds = false
    var indication: Indication?
    /// Acknowledged indications do not come back in the run, nor weaker ones.
    var acknowledged = 0
    /// Why the DAH indication last ended, for the text.
    var endReason: String?

    package init(settings: Settings) { self.settings = settings }

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        assess(&bed, at: t, into: &events)
        return nextDue(bed, at: t)
    }

    private mutating func assess(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) {
        let key = AlarmKey(rule: Self.id)
        // Rules v3 §3.3, §4.9: the DAH indication is not evaluated on ECMO (P/F from the ventilator's FiO2
        // does not describe oxygenation); its window resets once its prompt has ended.
        if bed.diagnoses.dah, !bed.onECMO {
            let low = bed.pf.map { Tolerance.lt($0.value, settings.plexMaxPF) }
            if let pf = bed.pf, Tolerance.ge(pf.value, settings.plexEndPF) {
                // Recovered: the indication ends, and a new one needs its whole window again.
                if dahHolds { endReason = "\(bed.pfPhrase(pf)) at or above \(Fmt.fixed(settings.plexEndPF, 0))" }
                dahHolds = false
                window.reset()
            } else if let reason = window.update(low, at: t, falseReset: settings.plexFalseReset, unknownReset: settings.plexUnknownReset) {
                if dahHolds { endReason = "P/F below \(Fmt.fixed(settings.plexMaxPF, 0)) \(reason)" }
                dahHolds = false
            } else if window.met(low, at: t, delay: settings.plexDelay) {
                if !dahHolds { endReason = nil }
                dahHolds = true
            }
        } else {
            dahHolds = false
            if !bed.onECMO { window.reset() }
        }
        defer { if bed.onECMO { window.reset() } }
        // The strongest indication that holds and is not acknowledged (no allocation: this runs every group).
        var strongest: Indication?
        if bed.diagnoses.antiGBM {
            strongest = .antiGBM
        } else if bed.diagnoses.ancaVasculitis, bed.plexKidney != nil {
            strongest = .ancaKidney
        } else if dahHolds {
            strongest = .dahHypoxaemia
        }
        if let candidate = strongest, candidate.rawValue <= acknowledged {
            // Acknowledged: only a stronger one than what was acknowledged may come (none is stronger
            // than the strongest that holds).
            strongest = nil
        }
        guard let strongest else {
            if bed.onECMO, indication == .dahHypoxaemia {
                // A prompt on the DAH indication alone ends, reason ecmo (a stronger one would be an update).
                bed.endForECMO(key, by: self, at: t, into: &events)
                indication = nil
                return
            }
            indication = nil
            bed.drive(key, .inactive, by: self, at: t, into: &events)
            return
        }
        if bed.alarms.activePriority(key) != nil, let current = indication, current != strongest, !bed.isDisabled(Self.id) {
            indication = strongest
            if let transition = bed.alarms.reindicate(key, at: t) {
                events.append(bed.makeEvent(key, transition, describe(key, bed: bed, at: t), at: t))
            }
            return
        }
        indication = strongest
        bed.drive(key, .active(.medium), by: self, at: t, into: &events)
    }

    /// While the DAH window is open it moves at every group where P/F is low (and may reset on time).
    private func nextDue(_ bed: borrowing ClinicalCore, at t: Double) -> Double? { window.since == nil ? .infinity : nil }

    /// The decision is made: this indication and weaker ones do not come back (no re-arming).
    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool {
        acknowledged = max(acknowledged, indication?.rawValue ?? 0)
        indication = nil
        return false
    }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        let patient = bed.patient
        var evidence: [(String, JSONValue)] = [
            ("indication", indication.map { .string($0.name) } ?? .null),
            ("conditions", .array(Condition.allCases.filter { patient.conditions.contains($0) }.map { .string($0.rawValue) })),
            (EvidenceKey.pfValue.name, bed.pf.map(bed.pfEvidence) ?? .null),
            ("criteria_since_t", window.since.map { .number($0) } ?? .null),
            ("creatinine_mg_dl", bed.plexKidney.map { .number($0.value) } ?? .null),
            ("creatinine_t", bed.plexKidney.map { .number($0.t) } ?? .null),
        ]
        // Rules v3 §4.9: the ANCA line opens only the ANCA and DAH indications; anti-GBM opens with its own
        // regimen (plasma exchange is first line there, with cyclophosphamide and glucocorticoids).
        let anca = "Immunosuppression (glucocorticoids with rituximab or cyclophosphamide) is the mainstay; plasma exchange is adjunctive."
        var text = ""
        switch indication {
        case .antiGBM?:
            text = "Anti-GBM disease: KDIGO 2021 recommends plasma exchange with cyclophosphamide and glucocorticoids for all patients, "
                + "except those dialysis-dependent at presentation with 100 % crescents and no pulmonary haemorrhage; rituximab is second line. "
                + "Daily exchanges, typically 14 days or until anti-GBM antibodies are undetectable."
        case .ancaKidney?:
            let creatinine = bed.plexKidney.map { Fmt.fixed($0.value, 1) } ?? "?"
            text = anca + " Creatinine \(creatinine) mg/dL (> \(Fmt.fixed(settings.plexKidneyCreatinine, 1))): KDIGO 2024 and BMJ 2022 suggest considering plasma exchange (PEXIVAS regimen: 7 exchanges within 14 days)."
        case .dahHypoxaemia?:
            let now = bed.pf.map(bed.pfPhrase) ?? "P/F not available"
            let held = window.since.map { " for \(Fmt.duration(t - $0))" } ?? ""
            text = anca + " DAH with \(now) below \(Fmt.fixed(settings.plexMaxPF, 0))\(held): KDIGO 2024 says plasma exchange may be considered; PEXIVAS showed no overall effect on death or ESKD and BMJ 2022 suggests against it without severe kidney involvement: discuss with nephrology/rheumatology."
        case nil:
            text = anca
        }
        let bleeding = patient.hasDAH || bed.hemoptysis.contains { Tolerance.le(t - $0.t, 24 * 3600) && $0.ml > 0 }
        if bleeding { text += " Use fresh frozen plasma for the replacement while bleeding." }
        evidence.append(("ffp_replacement", .bool(bleeding)))
        evidence += bed.ecmoEvidence
        return AlarmDescription(
            active: text,
            cleared: endReason.map { "Plasma exchange no longer prompted: \($0)." } ?? "Plasma exchange no longer prompted: no indication holds.",
            evidence: evidence)
    }
}

extension RuleID {
    /// `escalation.plasma_exchange`
    package static let plasmaExchange = RuleID(ordinal: 13)
}
