/// Alarm texts and evidence: a sentence a nurse can act on, with the numbers and where they came from.
extension ClinicalCore {
    /// The event of a transition, its text made from `description` (the rule's at this moment).
    func makeEvent(_ key: AlarmKey, _ transition: Transition, _ description: AlarmDescription, at t: Double) -> AlarmEvent {
        let text: String
        switch (transition.phase, transition.reason) {
        // An advisory prompt ends on acknowledgement (the decision is made): its condition may still hold.
        case (.end, "acknowledged"?) where key.rule.type == .advisory: text = "Acknowledged: the prompt ends. Was: " + description.active
        case (.end, "acknowledged"?): text = "Acknowledged. " + description.cleared
        // Ended because the patient left the bed: the condition did not resolve, and saying so would
        // mislead whoever reads the history; the last text of the alarm is kept after the reason.
        case (.end, "patient_changed"?): text = "Ended: another patient was admitted to this bed. Was: " + description.active
        case (.end, "patient_discharged"?): text = "Ended: the patient was discharged from this bed. Was: " + description.active
        case (.end, "agent_stopped"?): text = "Ended: Alveo stopped watching this bed. Was: " + description.active
        case (.end, "stable"?): text = "Stable for \(Fmt.duration(settings.policy(key.rule).chatterStable)). " + description.cleared
        case (.end, _): text = description.cleared
        case (.update, "latched"?): text = description.cleared + " Alarm latched until acknowledged."
        case (.update, "acknowledged"?): text = "Acknowledged. " + description.active
        case (.update, "intermittent"?):
            let policy = settings.policy(key.rule)
            text = "Intermittent: started \(transition.intermittentOnsets ?? 0) times in 60 min; stays active until stable for "
                + "\(Fmt.duration(policy.chatterStable)). " + description.active
        case (.continue, "reannounce"?):
            let since = alarms.instance(key)?.since ?? t
            text = (transition.state == .latched
                ? "Latched alarm still unacknowledged. " + description.cleared
                : "Unacknowledged, active for \(Fmt.duration(t - since)). " + description.active)
        case (.continue, "new_result"?): text = "New result, alarm unchanged. " + description.active
        default: text = description.active
        }
        var evidence = description.evidence
        if let onsets = transition.intermittentOnsets {
            evidence += [("intermittent", .bool(true)), ("onsets_1h", .number(Double(onsets)))]
        }
        if let episodes = transition.episodes { evidence.append(("episodes", .number(Double(episodes)))) }
        if let reannounced = transition.reannounced {
            evidence += [("reannounce_count", .number(Double(reannounced.count))), ("announced_since_t", .number(reannounced.since))]
        }
        return AlarmEvent(
            t: t, alarmID: transition.alarmID, rule: key.rule,
            source: key.source >= 0 ? sources[key.source].name : nil,
            parameter: key.parameter >= 0 ? Parameter(rawValue: key.parameter) : nil,
            phase: transition.phase, priority: transition.priority, state: transition.state,
            acknowledged: transition.acknowledged, reason: transition.reason,
            text: text, evidence: evidence)
    }

    // MARK: - Per rule

    /// The text and evidence of an alarm now, from its rule (the agent's conditions: their titles, or
    /// the texts the agent gave).
    func describe(_ key: AlarmKey, at t: Double) -> AlarmDescription {
        let slot = ruleSlot[key.rule.ordinal]
        if slot >= 0 { return bedRules[slot].describe(key, bed: self, at: t) }
        if slot <= -2 { return sourceRules[-slot - 2].describe(key, bed: self, at: t) }
        // Raised by the agent and its output pipeline; or by the bedside loop at a stop or a restart,
        // with the texts it gave.
        return lifecycleTexts[key.rule] ?? AlarmDescription(active: key.rule.title, cleared: key.rule.title, evidence: [])
    }

    /// A clinician's acknowledgement ended an advisory prompt: its rule remembers the decision; whether
    /// the engine re-arms it.
    mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool {
        let slot = ruleSlot[key.rule.ordinal]
        if slot >= 0 { return bedRules[slot].acknowledgedEnd(key) }
        if slot <= -2 { return sourceRules[-slot - 2].acknowledgedEnd(key) }
        return true
    }

    func readingEvidence(_ parameter: Parameter, _ name: String, decimals: Int = 2) -> [(String, JSONValue)] {
        guard let reading = reading(parameter) else { return [(name, .null)] }
        return [(name, .number(Fmt.round(reading.value, decimals))), (name.prefixUpToUnit + "_t", .number(reading.t))]
    }

    var patientEvidence: [(String, JSONValue)] {
        var evidence: [(String, JSONValue)] = [
            ("pbw_kg", pbw.map { .number(Fmt.round($0, 2)) } ?? .null), ("sex", patient.sex.map { .string($0.rawValue) } ?? .null),
            ("height_cm", patient.heightCm.map { .number($0) } ?? .null)]
        if patient.pbwByHand { evidence.append(("pbw_by_hand", .bool(true))) }
        if patient.pbwCaution { evidence.append(("pbw_caution", .bool(true))) }
        return evidence
    }

    /// What is said of the PBW besides its value: entered by hand, or from a short stature.
    var pbwNote: String {
        if patient.pbwByHand { return " (PBW entered by hand)" }
        if patient.pbwCaution { return " (short stature: check the height)" }
        return ""
    }

    /// "PBW 52.4 kg, female 160 cm", or "PBW 40.0 kg entered by hand".
    var pbwPhrase: String {
        guard let pbw else { return "PBW unknown" }
        if patient.pbwByHand { return "PBW \(Fmt.fixed(pbw, 1)) kg entered by hand" }
        let who = [patient.sex?.rawValue, patient.heightCm.map { "\(Fmt.fixed($0, 0)) cm" }].compactMap { $0 }.joined(separator: " ")
        return "PBW \(Fmt.fixed(pbw, 1)) kg, \(who)\(pbwNote)"
    }

    func pfEvidence(_ pf: PFRatio) -> JSONValue {
        var members: [(String, JSONValue)] = [("value", .number(Fmt.round(pf.value, 1))), ("kind", .string(pf.kind.rawValue))]
        switch pf.kind {
        case .measured:
            members += [("pao2_mmhg", .number(pf.pao2)), ("pao2_t", .number(pf.pao2Time))]
        case .imputed:
            members += [("spo2_pct", .number(pf.spo2 ?? 0)), ("spo2_t", .number(pf.pao2Time)),
                        ("pao2_imputed_mmhg", .number(Fmt.round(pf.pao2, 1))), ("method", .string("Brown 2016"))]
        case .lowerBound:
            members += [("spo2_pct", .number(pf.spo2 ?? 0)), ("spo2_t", .number(pf.pao2Time)),
                        ("pao2_at_least_mmhg", .number(Fmt.round(pf.pao2, 1))), ("method", .string("Brown 2016 at 96 %"))]
        }
        members += [("fio2_fraction", .number(Fmt.round(pf.fio2, 3))), ("fio2_t", .number(pf.fio2Time))]
        return .object(members)
    }

    func pfPhrase(_ pf: PFRatio) -> String {
        switch pf.kind {
        case .measured:
            "P/F \(Fmt.fixed(pf.value, 0)) (measured: PaO2 \(Fmt.fixed(pf.pao2, 0)) mmHg on FiO2 \(Fmt.fixed(pf.fio2, 2)))"
        case .imputed:
            "P/F \(Fmt.fixed(pf.value, 0)) (imputed from SpO2 \(Fmt.fixed(pf.spo2 ?? 0, 0)) %, PaO2 ~\(Fmt.fixed(pf.pao2, 0)) mmHg by Brown 2016, on FiO2 \(Fmt.fixed(pf.fio2, 2)))"
        case .lowerBound:
            // Rounded down: a bound is never shown higher than it is (rules v3 §3.1).
            "P/F at least \(Fmt.fixed(pf.value.isFinite ? pf.value.rounded(.down) : pf.value, 0)) (lower bound: SpO2 \(Fmt.fixed(pf.spo2 ?? 0, 0)) % is above 96 %, PaO2 at least \(Fmt.fixed(pf.pao2, 0)) mmHg by Brown 2016, on FiO2 \(Fmt.fixed(pf.fio2, 2)))"
        }
    }
}

extension String {
    /// "vt_ml" -> "vt", "fio2_fraction" -> "fio2": the stem used for the matching `_t` key.
    var prefixUpToUnit: String {
        guard let index = firstIndex(of: "_") else { return self }
        return String(self[..<index])
    }

    /// "2.50" -> "2.5", "3.00" -> "3".
    var trimmingTrailingZeros: String {
        guard contains(".") else { return self }
        var text = self
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
