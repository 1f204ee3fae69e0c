/// Rule evaluation: the bed's derived state brought up to date, then each rule of the catalogue, in
/// evaluation order (`Catalogue.clinicalRules`), after a group has been applied.
extension ClinicalCore {
    /// One alarm tier: a condition (nil = unknown), how long it has held, and the priority it gives.
    struct Tier {
        var condition: Bool?
        var onset: Onset
        var delay: Double
        var priority: Priority
    }

    mutating func evaluate(at t: Double, into events: inout [AlarmEvent]) {
        // An acknowledgement changes alarms of any rule: every rule runs, and steps its alarm.
        if !pendingAcks.isEmpty || evaluatesEveryRule { changed = .all }
        if changed == .all { for index in lastAssessment.indices { lastAssessment[index] = nil } }
        applyAcknowledgements(at: t, into: &events)
        detectSilence(at: t)
        updateOxygenation(at: t)
        updatePlateau(at: t)
        // Ventilated from the first Vt or PEEP reading on (lpv.plateau_overdue).
        if ventilatedSince == nil, reading(.vt) != nil || reading(.peep) != nil {
            ventilatedSince = t
            changed.insert(.ventilation)
        }
        updateHemoptysisWindow(at: t)

        // The rules are taken out while they run, so that each can read and drive the bed. A rule runs
        // when one of its inputs changed, or when it is due: its own timer (an onset delay, a window),
        // the engine's (a re-announcement, a relief waiting for its offset), or an event it gave at
        // the group before. Running a rule whose inputs did not change and whose timers are not due
        // changes nothing: skipping it gives the same events.
        let runAll = changed == .all
        var rules: [any BedRule] = []
        swap(&rules, &bedRules)
        for index in rules.indices where runAll || changed.rawValue & ruleInputs[index].rawValue != 0 || t >= ruleDue[index] {
            let before = events.count
            let due = rules[index].evaluate(&self, at: t, into: &events)
            ruleDue[index] = events.count != before ? -.infinity : min(due ?? -.infinity, engineDue(ruleOrdinals[index]))
        }
        swap(&rules, &bedRules)

        // Technical alarms, per source in order of first appearance: when a source changed, or while
        // any of their alarms is in force.
        if changed.contains(.sources) || alarms.hasPerSourceInstances {
            var perSource: [any SourceRule] = []
            swap(&perSource, &sourceRules)
            for src in sources.indices {
                guard sources[src].streams || !sources[src].rejectedParameters.isEmpty else { continue }
                for index in perSource.indices { perSource[index].evaluate(&self, source: src, at: t, into: &events) }
            }
            swap(&perSource, &sourceRules)
        }
        changed = []
    }

    /// When the engine next needs a rule's alarm to be assessed again: its re-announcement, or every
    /// group while a relief waits (offset, minimum active time, chatter) or an acknowledged prompt
    /// re-arms.
    private func engineDue(_ ordinal: Int) -> Double {
        let key = AlarmKey(rule: RuleID(ordinal: ordinal))
        if rearming[key] != nil { return -.infinity }
        return alarms.deadline(key)
    }

    // MARK: - Pieces

    private mutating func applyAcknowledgements(at t: Double, into events: inout [AlarmEvent]) {
        guard !pendingAcks.isEmpty else { return }
        let acks = pendingAcks
        pendingAcks.removeAll()
        for (rule, source, only) in acks {
            for key in alarms.keys(of: rule) where (source == nil || key.source == source) && (only == nil || key == only) {
                if let transition = alarms.acknowledge(key, at: t) {
                    events.append(makeEvent(key, transition, describe(key, at: t), at: t))
                    if transition.phase == .end, rule.type == .advisory, acknowledgedEnd(key) {
                        // The decision is made: the prompt ends and is not raised again at once.
                        rearming[key] = .some(nil)
                    }
                }
            }
        }
    }

    private mutating func detectSilence(at t: Double) {
        for src in sources.indices where sources[src].streams {
            let silent = Tolerance.gt(t - sources[src].lastValid, sources[src].silentAfter)
            if sources[src].silent != silent { changed.insert(.sources) }
            sources[src].silent = silent
            if silent {
                for parameter in Parameter.allCases where parameter.isStreamed && parameter.isNumeric && !parameter.isIntermittent {
                    invalidate(parameter, from: src)
                }
            }
        }
    }

    /// Pairs a new gas with the FiO2 current at its time, then computes the P/F the rules use:
    /// measured while the gas is recent, else imputed from SpO2 (Brown 2016) when SpO2 ≤ 96 %.
    private mutating func updateOxygenation(at t: Double) {
        fio2History.record(reading(.fio2), at: t, keep: settings.maxSampleAge + 60) { $0?.value == $1?.value && $0?.source == $1?.source }
        if let pending = pendingGas {
            // The FiO2 that was set when the sample was drawn: the current reading for a gas of now.
            let fio2 = pending.sampled && pending.t < t ? fio2History.value(at: pending.t) : reading(.fio2)
            gas = Gas(pao2: pending.pao2, t: pending.t, fio2: fio2)
            pendingGas = nil
        }
        let previousPF = pf, previousReference = pfFallReference, previousBound = pfLowerBound
        pf = nil
        pfLowerBound = nil
        if let gas, let fio2 = gas.fio2, Tolerance.le(t - gas.t, bedSettings.pfSeverity.gasValidFor) {
            pf = PFRatio(value: gas.pao2 / fio2.value, kind: .measured, pao2: gas.pao2, pao2Time: gas.t, spo2: nil,
                         fio2: fio2.value, fio2Time: fio2.t)
        } else if let spo2 = reading(.spo2), let fio2 = reading(.fio2),
                  let pao2 = Oxygenation.imputedPaO2(spo2Percent: spo2.value) {
            pf = PFRatio(value: pao2 / fio2.value, kind: .imputed, pao2: pao2, pao2Time: spo2.t, spo2: spo2.value,
                         fio2: fio2.value, fio2Time: fio2.t)
        } else if let spo2 = reading(.spo2), let fio2 = reading(.fio2), Tolerance.gt(spo2.value, Oxygenation.brownMaxSpO2Percent),
                  let pao2 = Oxygenation.imputedPaO2(spo2Percent: Oxygenation.brownMaxSpO2Percent), fio2.value > 0 {
            // Rules v3 §3.1: P/F unknown, but at least PaO2_Brown(96 %) / FiO2.
            pfLowerBound = PFRatio(value: pao2 / fio2.value, kind: .lowerBound, pao2: pao2, pao2Time: spo2.t, spo2: spo2.value,
                                   fio2: fio2.value, fio2Time: fio2.t)
        }
        pfHistoryMeasured.expire(before: t - bedSettings.pfFalling.pfFallWindow)
        pfHistoryImputed.expire(before: t - bedSettings.pfFalling.pfFallWindow)
        if onECMO {
            // Rules v3 §3.3: P/F is still computed and shown, but pf_falling compares only values after
            // ECMO: none of before or during it is kept. The reference stays as it was before ECMO (no rule
            // reads it on ECMO; pf_falling's end at the charting names it, then clears it).
            pfHistoryMeasured = SlidingMaximum()
            pfHistoryImputed = SlidingMaximum()
        } else {
            // A switch of method is never a fall: the reference is the highest earlier P/F of the same kind.
            updateFallReference(at: t)
        }
        // What the rules read of P/F is its value and kind, and its fall reference's value.
        if previousPF?.value != pf?.value || previousPF?.kind != pf?.kind || previousReference?.value != pfFallReference?.value
            || previousBound?.value != pfLowerBound?.value {
            changed.insert(.pf)
        }
    }

    /// The highest earlier P/F of the current one's kind in the fall window, and the current one added.
    private mutating func updateFallReference(at t: Double) {
        switch pf?.kind {
        case .measured?:
            pfFallReference = pfHistoryMeasured.maximum
            pfHistoryMeasured.append(t: t, value: pf!.value, payload: pf!)
        case .imputed?:
            pfFallReference = pfHistoryImputed.maximum
            pfHistoryImputed.append(t: t, value: pf!.value, payload: pf!)
        case .lowerBound?, nil:
            pfFallReference = nil
        }
    }

    private mutating func updateHemoptysisWindow(at t: Double) {
        let cutoff = t - bedSettings.hemoptysisVolume.hemoptysisWindow - Tolerance.epsilon
        if let first = hemoptysis.first, first.t < cutoff {
            hemoptysis.removeAll { $0.t < cutoff }
            changed.insert(.hemoptysis)
        }
        // Summed only when the entries changed (at every group this would be a loop over a day's entries).
        if changed.contains(.hemoptysis) { hemoptysisTotal = hemoptysis.reduce(0) { $0 + $1.ml } }
    }

    /// Pplat minus the PEEP of the plateau's own breath (its group); nil when that PEEP is not known,
    /// the plateau is no longer current, or it is stale (PEEP or Vt changed since).
    var drivingPressureNow: Double? {
        guard let pplat = reading(.pplat), let plateau, let peep = plateau.peep, staleChange == nil else { return nil }
        return pplat.value - peep
    }

    /// Pairs a plateau taken in this group with the group's PEEP and Vt, and sees whether the last
    /// plateau has become stale (PEEP changed, or Vt changed for a while, since its breath).
    mutating func updatePlateau(at t: Double) {
        if plateauInGroup, let pplat = reading(.pplat) {
            plateau = Plateau(value: pplat.value, t: t, source: pplat.source, peep: reading(.peep)?.value, vt: reading(.vt)?.value)
            staleChange = nil
            vtChangeOnset = Onset()
            // A new measurement answers the plateau prompts: they may come again for the next change.
            rearming[AlarmKey(rule: .plateauStale)] = nil
            rearming[AlarmKey(rule: .plateauOverdue)] = nil
            changed.insert(.plateau)
        }
        plateauInGroup = false
        guard let plateau, staleChange == nil else { return }
        if let paired = plateau.peep, let peep = reading(.peep)?.value, Tolerance.ge(abs(peep - paired), bedSettings.plateauStale.staleAfterPEEPChange) {
            staleChange = StaleChange(what: .peep, t: t, from: paired, to: peep)
            changed.insert(.plateau)
            return
        }
        let vt = reading(.vt)?.value
        let vtChanged: Bool? = if let paired = plateau.vt, let vt, let pbw {
            Tolerance.ge(abs(vt - paired), bedSettings.plateauStale.staleAfterVtChangeMlPerKg * pbw)
        } else {
            nil
        }
        vtChangeOnset.update(vtChanged, at: t)
        if let since = vtChangeOnset.since, vtChangeOnset.held(at: t, for: bedSettings.plateauStale.staleVtChangeDelay), let paired = plateau.vt, let vt {
            staleChange = StaleChange(what: .vt, t: since, from: paired, to: vt)
            changed.insert(.plateau)
        }
    }

    /// KDIGO 2012 creatinine criteria at a result: a rise over the lowest result of the rise window, or
    /// a ratio to the baseline (the lowest of the baseline window); the stage from the ratio and value.
    func judgeKidney(_ latest: (t: Double, value: Double)) -> KidneyFinding {
        var lowest: (t: Double, value: Double)?
        var baseline: (t: Double, value: Double)?
        for entry in creatinineSeries.entries where entry.t < latest.t - Tolerance.epsilon {
            if entry.t >= latest.t - bedSettings.kidney.creatinineWindow - Tolerance.epsilon, lowest.map({ entry.value < $0.value }) ?? true { lowest = entry }
            if entry.t >= latest.t - bedSettings.kidney.creatinineBaselineWindow - Tolerance.epsilon, baseline.map({ entry.value < $0.value }) ?? true {
                baseline = entry
            }
        }
        let rise = lowest.map { Tolerance.ge(latest.value - $0.value, bedSettings.kidney.creatinineRise) } ?? false
        let ratio = baseline.map { latest.value / $0.value }
        let ratioMet = ratio.map { Tolerance.ge($0, bedSettings.kidney.creatinineRatio) } ?? false
        var stage = 0
        if rise || ratioMet {
            if (ratio.map { Tolerance.ge($0, bedSettings.kidney.akiStage3Ratio) } ?? false) || Tolerance.ge(latest.value, bedSettings.kidney.akiStage3Creatinine) {
                stage = 3
            } else if ratio.map({ Tolerance.ge($0, bedSettings.kidney.akiStage2Ratio) }) ?? false {
                stage = 2
            } else {
                stage = 1
            }
        }
        return KidneyFinding(value: latest.value, t: latest.t, lowest: lowest, baseline: baseline, ratio: ratio, stage: stage,
                             criterion: rise ? "rise" : (ratioMet ? "ratio" : nil))
    }

    /// Seconds since the last plateau measurement (or the start of ventilation), when ventilated.
    func plateauOverdueFor(at t: Double) -> Double? {
        guard let ventilatedSince else { return nil }
        return t - max(ventilatedSince, lastPlateauT ?? -Double.infinity)
    }

    /// Tri-state AND: false if any is false, unknown if any is unknown, else true.
    func all(_ a: Bool?, _ b: Bool?, _ c: Bool? = true, _ d: Bool? = true) -> Bool? {
        if a == false || b == false || c == false || d == false { return false }
        if a == nil || b == nil || c == nil || d == nil { return nil }
        return true
    }

    /// The generic tiered assessment (one tier, or a medium and a high one): starts at the highest tier
    /// whose condition has held for its delay; once active, ends only on the end (hysteresis)
    /// condition, moves up when a higher tier is met, and moves down only when the current tier's own
    /// condition is false.
    func tiered(_ first: Tier, _ second: Tier? = nil, ended: Bool?, key: AlarmKey, at t: Double) -> Assessment {
        func isMet(_ tier: Tier) -> Bool { tier.condition == true && tier.onset.held(at: t, for: tier.delay) }
        let met: Tier? = if let second, isMet(second) { second } else if isMet(first) { first } else { nil }
        guard let current = alarms.activePriority(key) else {
            return met.map { .active($0.priority) } ?? .inactive
        }
        switch ended {
        case true?: return .inactive
        case nil: return .unknown
        case false?: break
        }
        var priority = met?.priority ?? first.priority
        let currentTier: Tier? = if first.priority == current { first } else if let second, second.priority == current { second } else { nil }
        if priority < current, let currentTier, currentTier.condition != false {
            priority = current
        }
        return .active(priority)
    }

    /// A new result of a result-driven rule's parameter left its alarm as it was (rules v3 §2.2): its
    /// re-announcement, with the new value in the rule's text and evidence.
    mutating func announceNewResult<Rule: ClinicalRule>(_ key: AlarmKey, by rule: Rule, at t: Double, into events: inout [AlarmEvent]) {
        guard !isDisabled(key.rule), let transition = alarms.newResult(key, at: t) else { return }
        events.append(makeEvent(key, transition, rule.describe(key, bed: self, at: t), at: t))
    }

    /// Switched off in the configuration (a bit per rule: asked at every drive of every group).
    func isDisabled(_ rule: RuleID) -> Bool { disabledRules & (1 << UInt64(rule.ordinal)) != 0 }

    /// `known`: the rule's condition as known at this group, when the assessment alone cannot tell
    /// unknown from false (an acknowledged prompt re-arms only over groups where it is known false).
    /// `rule`: the rule driving (its text and evidence are made from it, if anything is announced).
    mutating func drive<Rule: ClinicalRule>(_ key: AlarmKey, _ assessment: Assessment, by rule: Rule, at t: Double,
                                            into events: inout [AlarmEvent], known: Bool?? = nil) {
        guard !isDisabled(key.rule) else { return }
        if let entry = rearming[key] {
            // Acknowledged and ended: not raised again until its condition has been known false long enough.
            let condition: Bool? = known ?? {
                switch assessment {
                case .active: true
                case .inactive: false
                case .hold, .unknown: nil
                }
            }()
            switch condition {
            case true?: rearming[key] = .some(nil)
            case false?:
                let since = entry ?? t
                rearming[key] = Tolerance.ge(t - since, settings.advisoryRearm) ? nil : .some(since)
            case nil: break
            }
            if rearming[key] != nil || assessment != .inactive { return }
        }
        if key.source < 0, key.parameter < 0 {
            // The same assessment as at the last step, and nothing due in the engine: no transition.
            let ordinal = key.rule.ordinal
            if lastAssessment[ordinal] == assessment, t < alarms.deadline(key) { return }
            lastAssessment[ordinal] = assessment
        }
        guard let transition = alarms.step(key, assessment, at: t) else { return }
        var event = makeEvent(key, transition, rule.describe(key, bed: self, at: t), at: t)
        if transition.phase == .start, let previous = previousAlarms[key] {
            // The same condition as an alarm the previous run left in force: this new instance names it.
            previousAlarms[key] = nil
            if t <= previous.until { event.evidence.append(("previous_alarm", .string(previous.reference))) }
        }
        events.append(event)
    }
}

/// The qualifying window of the escalation prompts (rules v2 §1.2): it opens at the first group where
/// the condition is true; unknown groups neither confirm nor reset it; known-false groups reset it only
/// once the condition has been false at every known group for `falseReset` (from the first false group
/// after the last true one); and it resets when no group has been true for longer than `unknownReset`.
/// A stabilisation period in which severity persists, not gap-free telemetry.
struct QualifyingWindow {
    private(set) var since: Double?
    private(set) var lastTrue: Double?
    private(set) var falseSince: Double?

    mutating func reset() {
        since = nil
        lastTrue = nil
        falseSince = nil
    }

    /// Takes one group's condition; returns why the window reset at it, if it did.
    mutating func update(_ condition: Bool?, at t: Double, falseReset: Double, unknownReset: Double) -> String? {
        var reason: String?
        if since != nil, let lastTrue, Tolerance.gt(t - lastTrue, unknownReset) {
            reset()
            reason = "not met for \(Fmt.duration(unknownReset))"
        }
        switch condition {
        case true?:
            if since == nil { since = t }
            lastTrue = t
            falseSince = nil
        case false?:
            guard since != nil else { break }
            let first = falseSince ?? t
            falseSince = first
            if Tolerance.ge(t - first, falseReset) {
                reset()
                reason = "not met for \(Fmt.duration(t - first))"
            }
        case nil:
            break
        }
        return reason
    }

    /// The condition is known true now and the window has been open for `delay`.
    func met(_ condition: Bool?, at t: Double, delay: Double) -> Bool {
        guard condition == true, let since else { return false }
        return Tolerance.ge(t - since, delay)
    }
}

extension Onset {
    /// When the condition will have held for `delay`, if it holds and has not yet held that long at
    /// `t` (a little early: evaluating early is harmless), else `.infinity`.
    func due(after delay: Double, at t: Double) -> Double {
        guard let since, !held(at: t, for: delay) else { return .infinity }
        return since + delay - 1e-6
    }

    /// An onset for conditions that need no delay.
    static func always(_ t: Double) -> Onset {
        var onset = Onset()
        onset.update(true, at: t)
        return onset
    }
}
