/// `escalation.ecmo_referral` (rules v3 §5.2): EOLIA's entry criteria after optimisation, each over its
/// own qualifying window (advisory, medium): call the ECMO centre. Not evaluated on ECMO.
package struct ECMOReferral: BedRule {
    package static var id: RuleID { .ecmoReferral }
    package static var identifier: String { "escalation.ecmo_referral" }
    package static var family: RuleFamily { .escalation }
    package static var type: AlarmType { .advisory }
    package static var title: String { "ECMO referral criteria met" }
    package static var reference: String {
        "Combes, NEJM 2018;378:1965 (EOLIA; criteria as in NCT01470703); ELSO 2021 VV-ECMO guideline (Tonna, ASAIO J 2021)"
    }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 2, chatterStable: 3600) }
    package static var hasOffset: Bool { false }
    package static var coding: RuleCoding { .local }
    package static var inputs: Facts { [.pf, .fio2, .peep, .reading(.rr), .pplat, .reading(.ph), .ecmo] }

    package struct Settings: RuleSettingsGroup {
        package var pfSevere = 50.0
        package var pf = 80.0
        package var minFiO2 = 0.8
        package var minPEEP = 10.0
        package var phMax = 7.25
        package var paco2Min = 60.0
        package var minRR = 35.0
        package var maxPplat = 32.0
        package var pf50Delay = 3 * 3600.0
        package var pf80Delay = 6 * 3600.0
        package var phDelay = 6 * 3600.0
        package var falseReset = 3600.0
        package var unknownReset = 4 * 3600.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [
                Setting("pf_severe_mmhg", "mmHg", \.pfSevere, 20...150, "pf_50_3h: P/F below this"),
                Setting("pf_mmhg", "mmHg", \.pf, 20...200, "pf_80_6h: P/F below this"),
                Setting("min_fio2_fraction", "fraction", \.minFiO2, 0.21...1, "the P/F criteria need FiO2 at or above this"),
                Setting("min_peep_cmh2o", "cmH2O", \.minPEEP, 0...30, "and PEEP at or above this"),
                Setting("ph_max", "pH", \.phMax, 6.8...7.45, "ph_paco2_6h: arterial pH below this"),
                Setting("paco2_min_mmhg", "mmHg", \.paco2Min, 30...150, "with PaCO2 at or above this"),
                Setting("min_rr", "/min", \.minRR, 10...60, "despite RR at or above this"),
                Setting("max_pplat_cmh2o", "cmH2O", \.maxPplat, 20...40, "and the current Pplat at or below this"),
                Setting("pf_50_delay_s", "s", \.pf50Delay, 0...(48 * 3600.0), "pf_50_3h's qualifying window"),
                Setting("pf_80_delay_s", "s", \.pf80Delay, 0...(48 * 3600.0), "pf_80_6h's qualifying window"),
                Setting("ph_delay_s", "s", \.phDelay, 0...(48 * 3600.0), "ph_paco2_6h's qualifying window"),
                Setting("false_reset_s", "s", \.falseReset, 0...(48 * 3600.0), "a window resets when its criterion is known unmet this long"),
                Setting("unknown_reset_s", "s", \.unknownReset, 600...(7 * 86400.0), "or when it has not been met for longer than this"),
            ]
        }
    }

    /// EOLIA's criteria, in the order the prompt names the first met.
    enum Criterion: Int, CaseIterable {
        case pf50, pf80, phPaCO2

        var name: String {
            switch self {
            case .pf50: "pf_50_3h"
            case .pf80: "pf_80_6h"
            case .phPaCO2: "ph_paco2_6h"
            }
        }
    }

    let settings: Settings
    var windows = [QualifyingWindow](repeating: QualifyingWindow(), count: Criterion.allCases.count)
    /// The criterion that started the prompt (named in its text).
    var criterion: Criterion?
    /// Why the last prompt ended, for its text.
    var endReason: String?

    package init(settings: Settings) { self.settings = settings }

    func delay(_ criterion: Criterion) -> Double {
        switch criterion {
        case .pf50: settings.pf50Delay
        case .pf80: settings.pf80Delay
        case .phPaCO2: settings.phDelay
        }
    }

    /// The pH and PaCO2 of one arterial gas, while it is valid (`gas_valid_s` from its sample time).
    static func validGas(_ bed: borrowing ClinicalCore, at t: Double) -> (ph: Double, paco2: Double, t: Double)? {
        guard let gas = bed.acidBase, let ph = gas.ph, let paco2 = gas.paco2,
              Tolerance.le(t - gas.t, bed.bedSettings.pfSeverity.gasValidFor) else { return nil }
        return (ph, paco2, gas.t)
    }

    func condition(_ criterion: Criterion, _ bed: borrowing ClinicalCore, at t: Double) -> Bool? {
        switch criterion {
        case .pf50, .pf80:
            let limit = criterion == .pf50 ? settings.pfSevere : settings.pf
            return bed.all(bed.pf.map { Tolerance.lt($0.value, limit) },
                           bed.reading(.fio2).map { Tolerance.ge($0.value, settings.minFiO2) },
                           bed.reading(.peep).map { Tolerance.ge($0.value, settings.minPEEP) })
        case .phPaCO2:
            guard let gas = Self.validGas(bed, at: t) else { return nil }
            return bed.all(Tolerance.lt(gas.ph, settings.phMax) && Tolerance.ge(gas.paco2, settings.paco2Min),
                           bed.reading(.rr).map { Tolerance.ge($0.value, settings.minRR) },
                           bed.reading(.pplat).map { Tolerance.le($0.value, settings.maxPplat) })
        }
    }

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        let key = AlarmKey(rule: Self.id)
        if bed.onECMO {
            // Rules v3 §3.3: not evaluated on ECMO; a prompt in force ends (reason ecmo), the windows reset.
            for index in windows.indices { windows[index].reset() }
            bed.endForECMO(key, by: self, at: t, into: &events)
            criterion = nil
            return .infinity
        }
        var met: Criterion?
        var known: Bool? = false
        for criterion in Criterion.allCases {
            let condition = condition(criterion, bed, at: t)
            if let reason = windows[criterion.rawValue].update(condition, at: t, falseReset: settings.falseReset, unknownReset: settings.unknownReset),
               self.criterion == criterion {
                endReason = "EOLIA criteria \(reason)"
            }
            if met == nil, windows[criterion.rawValue].met(condition, at: t, delay: delay(criterion)) { met = criterion }
            if condition == true { known = true } else if condition == nil, known == false { known = nil }
        }
        let active = bed.alarms.activePriority(key) != nil
        let assessment: Assessment
        if let met {
            if !active { criterion = met; endReason = nil }
            assessment = .active(.medium)
        } else if active, windows.contains(where: { $0.since != nil }) {
            assessment = .hold
        } else {
            if active, endReason == nil { endReason = "EOLIA criteria not met" }
            assessment = .inactive
        }
        bed.drive(key, assessment, by: self, at: t, into: &events, known: known)
        // An open window moves at every group (its delay and resets are times).
        return windows.contains { $0.since != nil } ? nil : .infinity
    }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        let gas = Self.validGas(bed, at: t)
        let criterion = self.criterion ?? .pf80
        let since = windows[criterion.rawValue].since
        var evidence: [(String, JSONValue)] = [
            ("criterion", self.criterion.map { .string($0.name) } ?? .null),
            ("criteria_since_t", since.map { .number($0) } ?? .null),
            (EvidenceKey.pfValue.name, bed.pf.map(bed.pfEvidence) ?? .null),
            ("ph", gas.map { .number($0.ph) } ?? .null), ("paco2_mmhg", gas.map { .number($0.paco2) } ?? .null),
        ]
        evidence += bed.readingEvidence(.fio2, "fio2_fraction", decimals: 3) + bed.readingEvidence(.peep, "peep_cmh2o", decimals: 1)
        evidence += bed.readingEvidence(.rr, "rr_per_min", decimals: 0) + bed.readingEvidence(.pplat, "pplat_cmh2o", decimals: 1)
        evidence.append(("ecmo", .string(bed.ecmo?.mode.rawValue ?? "none")))
        let fio2 = bed.reading(.fio2).map { Fmt.fixed($0.value, 2) } ?? "?"
        let peep = bed.reading(.peep).map { Fmt.fixed($0.value, 0) } ?? "?"
        let held = since.map { " for \(Fmt.duration(t - $0))" } ?? ""
        let now = bed.pf.map(bed.pfPhrase) ?? "P/F not available"
        let call = ": call the ECMO centre now to discuss VV-ECMO (EOLIA 2018, after Vt 6 ml/kg PBW, PEEP ≥ 10, FiO2 ≥ 0.8; "
            + "prone positioning if not contraindicated)."
        var text: String
        switch criterion {
        case .pf50, .pf80:
            let limit = criterion == .pf50 ? settings.pfSevere : settings.pf
            text = "EOLIA entry criterion met: \(now) below \(Fmt.fixed(limit, 0)) on FiO2 \(fio2) and PEEP \(peep)\(held)\(call)"
            if bed.pf?.kind == .imputed { text += " Imputed P/F: confirm with an arterial blood gas." }
        case .phPaCO2:
            let ph = gas.map { Fmt.fixed($0.ph, 2) } ?? "?"
            let paco2 = gas.map { Fmt.fixed($0.paco2, 0) } ?? "?"
            let rr = bed.reading(.rr).map { Fmt.fixed($0.value, 0) } ?? "?"
            let pplat = bed.reading(.pplat).map { Fmt.fixed($0.value, 0) } ?? "?"
            text = "EOLIA entry criterion met: pH \(ph) with PaCO2 \(paco2) mmHg\(held) despite RR \(rr)/min and Pplat \(pplat) cmH2O\(call)"
        }
        if bed.patient.hasDAH { text += " DAH: ECMO needs anticoagulation: discuss the strategy with the ECMO centre." }
        let cleared = switch endReason {
        case let reason?: "ECMO referral no longer prompted: \(reason)."
        case nil: "ECMO referral no longer prompted: EOLIA criteria not met."
        }
        return AlarmDescription(active: text, cleared: cleared, evidence: evidence)
    }
}

extension ClinicalCore {
    /// On ECMO (rules v3 §3.3): VV or VA charted, until `none`.
    var onECMO: Bool { ecmo.map { $0.mode != .none } ?? false }

    /// Evidence `ecmo` (rules v3 §3.3) for the rules ECMO suspends, once an ECMO state is known (charted, or
    /// a condition at start); none before (the events of a patient never on ECMO stay as they were).
    var ecmoEvidence: [(String, JSONValue)] { ecmo.map { [("ecmo", .string($0.mode.rawValue))] } ?? [] }

    /// Rules v3 §3.3: a rule not evaluated on ECMO ends its alarm in force, whatever its state (latched
    /// included), reason `ecmo`; an end, not a relief (never held back by the chatter bound).
    mutating func endForECMO<Rule: ClinicalRule>(_ key: AlarmKey, by rule: Rule, at t: Double, into events: inout [AlarmEvent]) {
        // The rule drives nothing on ECMO: after `none` its first assessment is a new one, even if it
        // equals the last before ECMO (the alarm it drove is gone).
        if key.source < 0, key.parameter < 0 { lastAssessment[key.rule.ordinal] = nil }
        guard !isDisabled(key.rule), var transition = alarms.remove(key, reason: "ecmo") else { return }
        transition.reason = "ecmo"
        let was = rule.describe(key, bed: self, at: t)
        let mode = ecmo?.mode == .va ? "VA" : "VV"
        let description = AlarmDescription(
            active: was.active,
            cleared: "Ended: \(mode)-ECMO charted: P/F from the ventilator's FiO2 does not describe oxygenation on ECMO. Was: \(was.active)",
            evidence: was.evidence.filter { $0.0 != "ecmo" } + [("ecmo", .string(ecmo?.mode.rawValue ?? "none"))])
        events.append(makeEvent(key, transition, description, at: t))
    }
}

extension RuleID {
    /// `escalation.ecmo_referral` (32 once merged with technical.unit_mismatch's 30; 31 on this branch)
    package static let ecmoReferral = RuleID(ordinal: 32)
}
