/// `escalation.prone_positioning`: P/F below 150 with FiO2 >= 0.6 and PEEP >= 5 while supine, over a
/// 12 h qualifying window (advisory, medium): consider proning. Armed before the first session and
/// after a course has ended; never withheld: haemoptysis and hypotension are cautions in its text
/// (rules v3 §3.5, §4.6).
package struct PronePositioning: BedRule {
    package static var id: RuleID { .pronePositioning }
    package static var identifier: String { "escalation.prone_positioning" }
    package static var family: RuleFamily { .escalation }
    package static var type: AlarmType { .advisory }
    package static var title: String { "Prone positioning criteria met" }
    package static var reference: String { "Guerin, NEJM 2013;368:2159 (PROSEVA); ESICM 2023 (Grasselli)" }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 2, chatterStable: 3600) }
    package static var hasOffset: Bool { false }
    package static var coding: RuleCoding { .local }
    package static var inputs: Facts { [.pf, .fio2, .peep, .position, .hemoptysis, .massiveHemoptysis, .ecmo] }

    package struct Settings: RuleSettingsGroup {
        package var proneMaxPF = 150.0
        package var proneMinFiO2 = 0.6
        package var proneMinPEEP = 5.0
        package var proneDelay = 12 * 3600.0
        package var proneSessionHours = 16.0
        package var proneHemoptysisLookback = 24 * 3600.0
        package var proneFalseReset = 3600.0
        package var proneUnknownReset = 4 * 3600.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [
                Setting("max_pf_mmhg", "mmHg", \.proneMaxPF, 50...300, "P/F below this"),
                Setting("min_fio2_fraction", "fraction", \.proneMinFiO2, 0.21...1, "with FiO2 at or above this"),
                Setting("min_peep_cmh2o", "cmH2O", \.proneMinPEEP, 0...30, "and PEEP at or above this"),
                Setting("delay_s", "s", \.proneDelay, SettingRange.seconds, "held this long while supine"),
                Setting("session_h", "h", \.proneSessionHours, 1...24, "recommended session length named in the text"),
                Setting("hemoptysis_lookback_s", "s", \.proneHemoptysisLookback, SettingRange.seconds, "warn when haemoptysis was charted this recently"),
                Setting("false_reset_s", "s", \.proneFalseReset, 0...(48 * 3600.0), "the qualifying window resets when the criteria are known unmet this long"),
                Setting("unknown_reset_s", "s", \.proneUnknownReset, 600...(7 * 86400.0), "or when they have not been met for longer than this"),
            ]
        }
    }

    let settings: Settings
    var window = QualifyingWindow()
    /// Why the last prompt ended (its window reset, charted prone, haemoptysis), for its text.
    var endReason: String?
    /// The prone sessions already seen: a new one answers the prompt (the window restarts).
    var sessionsSeen = 0
    /// The cautions the active prompt last announced (a change is an update, reason `caution`).
    var cautions: [ProneCaution] = []

    package init(settings: Settings) { self.settings = settings }

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        assess(&bed, at: t, into: &events)
        return nextDue(bed, at: t)
    }

    private mutating func assess(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) {
        if bed.onECMO {
            // Rules v3 §3.3: not evaluated on ECMO; the prompt ends (reason ecmo), the window resets.
            window.reset()
            bed.endForECMO(AlarmKey(rule: Self.id), by: self, at: t, into: &events)
            return
        }
        if sessionsSeen != bed.proneSessionStarts {
            sessionsSeen = bed.proneSessionStarts
            window.reset()
            endReason = "charted prone"
        }
        let criteria = bed.all(bed.pf.map { Tolerance.lt($0.value, settings.proneMaxPF) },
                               bed.reading(.fio2).map { Tolerance.ge($0.value, settings.proneMinFiO2) },
                               bed.reading(.peep).map { Tolerance.ge($0.value, settings.proneMinPEEP) },
                               bed.position == .supine)
        let windowReset = window.update(criteria, at: t, falseReset: settings.proneFalseReset, unknownReset: settings.proneUnknownReset)
        let key = AlarmKey(rule: Self.id)
        let armed = bed.lastProneT == nil || bed.courseEnded
        let assessment: Assessment
        if let reason = windowReset {
            endReason = reason
            assessment = .inactive
        } else if !armed {
            assessment = .inactive
        } else if window.met(criteria, at: t, delay: settings.proneDelay) {
            if bed.alarms.activePriority(key) == nil { endReason = nil }
            assessment = .active(.medium)
        } else {
            assessment = bed.alarms.activePriority(key) != nil ? .hold : .inactive
        }
        if bed.position == .prone, bed.alarms.activePriority(key) != nil { endReason = "charted prone" }
        let wasActive = bed.alarms.activePriority(key) != nil
        let now = bed.proneCautions(at: t)
        if wasActive, bed.position != .prone, assessment != .inactive, now != cautions, !bed.isDisabled(Self.id),
           var transition = bed.alarms.reindicate(key, at: t) {
            cautions = now
            transition.reason = "caution"
            events.append(bed.makeEvent(key, transition, describe(key, bed: bed, at: t), at: t))
            return
        }
        cautions = now
        bed.drive(key, bed.position == .prone ? .inactive : assessment, by: self, at: t, into: &events, known: criteria)
    }

    /// While the window is open it moves at every group where the criteria hold (and may reset on time).
    private func nextDue(_ bed: borrowing ClinicalCore, at t: Double) -> Double? { window.since == nil ? .infinity : nil }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        // A session charted in this group answers the prompt before the rule has run.
        let answered = sessionsSeen != bed.proneSessionStarts
        let since = answered ? nil : window.since
        let endReason = answered ? "charted prone" : self.endReason
        let (warning, hemoptysisEvidence) = bed.proneCautionText(at: t)
        var evidence: [(String, JSONValue)] = [(EvidenceKey.pfValue.name, bed.pf.map(bed.pfEvidence) ?? .null)]
        evidence += bed.readingEvidence(.fio2, "fio2_fraction", decimals: 3) + bed.readingEvidence(.peep, "peep_cmh2o", decimals: 1)
        evidence += [("position", .string(bed.position.rawValue)),
                     ("criteria_since_t", since.map { .number($0) } ?? .null)]
        evidence += hemoptysisEvidence
        let held = since.map { " for \(Fmt.duration(t - $0))" } ?? ""
        let fio2 = bed.reading(.fio2).map { Fmt.fixed($0.value, 2) } ?? "?"
        let peep = bed.reading(.peep).map { Fmt.fixed($0.value, 0) } ?? "?"
        let now = bed.pf.map(bed.pfPhrase) ?? "P/F not available"
        let cleared = switch endReason {
        case "charted prone"?: "Patient charted prone."
        case let reason?: "Prone positioning criteria \(reason): the qualifying window starts again (\(now), FiO2 \(fio2), PEEP \(peep))."
        case nil: "Prone positioning criteria no longer met (\(now), FiO2 \(fio2), PEEP \(peep))."
        }
        return AlarmDescription(
            active: "\(now) below \(Fmt.fixed(settings.proneMaxPF, 0)) with FiO2 \(fio2) and PEEP \(peep) cmH2O\(held) while supine: consider prone positioning (PROSEVA), sessions of at least \(Fmt.fixed(settings.proneSessionHours, 0)) h.\(warning)",
            cleared: cleared,
            evidence: evidence)
    }
}

extension RuleID {
    /// `escalation.prone_positioning`
    package static let pronePositioning = RuleID(ordinal: 10)
}

/// A reason for care before turning a patient prone (rules v3 §3.5): never a reason to withhold.
package enum ProneCaution: String, Sendable {
    case hemoptysis
    case massiveHemoptysis = "massive_hemoptysis"
    case hypotension
}

extension ClinicalCore {
    /// The cautions of the prone prompts now, in order: haemoptysis (or massive haemoptysis, which
    /// replaces it), then hypotension (its alarm active, or its condition met when it is disabled).
    func proneCautions(at t: Double) -> [ProneCaution] {
        var cautions: [ProneCaution] = []
        if massiveHemoptysis {
            cautions.append(.massiveHemoptysis)
        } else if Tolerance.gt(hemoptysisSampled(within: bedSettings.pronePositioning.proneHemoptysisLookback, at: t).total, 0) {
            cautions.append(.hemoptysis)
        }
        if hypotensionCaution(at: t) != nil { cautions.append(.hypotension) }
        return cautions
    }

    /// Haemoptysis by sample time in the look-back: its total and its last entry.
    func hemoptysisSampled(within lookback: Double, at t: Double) -> (total: Double, last: (t: Double, ml: Double)?) {
        var total = 0.0
        var last: (t: Double, ml: Double)?
        for entry in hemoptysis where Tolerance.le(t - entry.t, lookback) && entry.ml > 0 {
            total += entry.ml
            last = entry
        }
        return (total, last)
    }

    /// The MAP behind the hypotension caution, when there is one.
    func hypotensionCaution(at t: Double) -> Hypotension.MAP? {
        let settings = bedSettings.hypotension
        let map = Hypotension.currentMAP(self, nibpValid: settings.nibpValid, at: t)
        if isDisabled(.hypotension) {
            return map.flatMap { Tolerance.lt($0.value, settings.threshold) ? $0 : nil }
        }
        guard alarms.instance(AlarmKey(rule: .hypotension))?.state == .active else { return nil }
        return map
    }

    /// The cautions' text (each sentence after the prompt) and evidence.
    func proneCautionText(at t: Double) -> (String, [(String, JSONValue)]) {
        let cautions = proneCautions(at: t)
        let lookback = bedSettings.pronePositioning.proneHemoptysisLookback
        let sampled = hemoptysisSampled(within: lookback, at: t)
        var text = ""
        var evidence: [(String, JSONValue)] = [("cautions", .array(cautions.map { .string($0.rawValue) }))]
        for caution in cautions {
            switch caution {
            case .hemoptysis:
                let last = sampled.last.map { " (last \(Fmt.fixed($0.ml, 0)) ml \(Fmt.duration(t - $0.t)) ago)" } ?? ""
                text += " Caution: haemoptysis \(Fmt.fixed(sampled.total, 0)) ml in the last \(Fmt.duration(lookback))\(last): check tube "
                    + "patency and suction before turning; in PROSEVA haemoptysis during a session interrupted it."
            case .massiveHemoptysis:
                let what = massiveHemoptysisCharted?.yes == true && !Tolerance.ge(hemoptysisTotal, bedSettings.hemoptysisVolume.massive)
                    ? "charted as needing an immediate procedure" : "\(Fmt.fixed(hemoptysisTotal, 0)) ml in the last \(Fmt.duration(bedSettings.hemoptysisVolume.hemoptysisWindow))"
                text += " Massive haemoptysis (\(what)): PROSEVA excluded patients with massive haemoptysis requiring an immediate "
                    + "surgical or interventional radiology procedure. Secure the airway and decide on bleeding control before turning."
            case .hypotension:
                guard let map = hypotensionCaution(at: t) else { continue }
                let threshold = Fmt.fixed(bedSettings.hypotension.threshold, 0)
                text += " Caution: MAP \(Fmt.fixed(map.value, 0)) mmHg (\(map.fromCuff ? "cuff" : "arterial line")) below \(threshold) mmHg; "
                    + "PROSEVA excluded MAP < 65 mmHg: restore the blood pressure first."
                evidence += [("map_mmhg", .number(map.value)), ("map_source", .string(map.fromCuff ? "nibp" : "abp"))]
            }
        }
        evidence += [("hemoptysis_lookback_ml", .number(sampled.total)), ("hemoptysis_last_t", sampled.last.map { .number($0.t) } ?? .null)]
        return (text, evidence)
    }
}
