/// Rule evaluation: every rule, in catalogue order, after a group has been applied.
extension ClinicalCore {
    /// One alarm tier: a condition (nil = unknown), how long it has held, and the priority it gives.
    struct Tier {
        var condition: Bool?
        var onset: Onset
        var delay: Double
        var priority: Priority
    }

    mutating func evaluate(at t: Double, into events: inout [AlarmEvent]) {
        applyAcknowledgements(at: t, into: &events)
        detectSilence(at: t)
        updateOxygenation(at: t)
        updatePlateau(at: t)

        let vt = reading(.vt)?.value
        let mlPerKg = vt.flatMap { vt in pbw.map { vt / $0 } }

        // technical.patient_unknown: said once while a tidal volume cannot be judged, never guessed.
        drive(.patientUnknown, pbw == nil && vt != nil ? .active(.low) : (pbw != nil ? .inactive : .unknown), at: t, into: &events)

        // lpv.tidal_volume_high
        vtHighOnset.update(mlPerKg.map { Tolerance.gt($0, settings.vtHighMlPerKg) }, at: t)
        vtHighHighOnset.update(mlPerKg.map { Tolerance.gt($0, settings.vtHighHighTierMlPerKg) }, at: t)
        drive(.tidalVolumeHigh, tiered([
            Tier(condition: mlPerKg.map { Tolerance.gt($0, settings.vtHighMlPerKg) }, onset: vtHighOnset,
                 delay: settings.vtHighDelay, priority: .medium),
            Tier(condition: mlPerKg.map { Tolerance.gt($0, settings.vtHighHighTierMlPerKg) }, onset: vtHighHighOnset,
                 delay: settings.vtHighHighTierDelay, priority: .high),
        ], ended: mlPerKg.map { Tolerance.le($0, settings.vtHighEndMlPerKg) }, key: AlarmKey(rule: .tidalVolumeHigh), at: t),
        at: t, into: &events)

        // lpv.tidal_volume_low
        let vtLow = mlPerKg.map { Tolerance.lt($0, settings.vtLowMlPerKg) }
        vtLowOnset.update(vtLow, at: t)
        drive(.tidalVolumeLow, tiered([Tier(condition: vtLow, onset: vtLowOnset, delay: settings.vtLowDelay, priority: .low)],
                                      ended: vtLow.map { !$0 }, key: AlarmKey(rule: .tidalVolumeLow), at: t),
              at: t, into: &events)

        // lpv.plateau_high: each plateau measurement, no delay.
        let pplat = reading(.pplat)?.value
        drive(.plateauHigh, tiered([Tier(condition: pplat.map { Tolerance.gt($0, settings.pplatHigh) }, onset: Onset.always(t),
                                         delay: 0, priority: .high)],
                                   ended: pplat.map { Tolerance.le($0, settings.pplatEnd) }, key: AlarmKey(rule: .plateauHigh), at: t),
              at: t, into: &events)

        // lpv.driving_pressure_high: the plateau with the PEEP of its own breath; unknown (held) when that
        // PEEP is not known or the plateau is stale.
        let drivingPressure = drivingPressureNow
        drive(.drivingPressureHigh, tiered([Tier(condition: drivingPressure.map { Tolerance.gt($0, settings.drivingPressureHigh) },
                                                 onset: Onset.always(t), delay: 0, priority: .medium)],
                                           ended: drivingPressure.map { Tolerance.le($0, settings.drivingPressureEnd) },
                                           key: AlarmKey(rule: .drivingPressureHigh), at: t),
              at: t, into: &events)

        // lpv.plateau_overdue
        // Ventilated from the first Vt or PEEP reading on; while neither is current (silent ventilator,
        // no data) the rule holds rather than ending, and the 4 h count goes on.
        let ventilatorCurrent = reading(.vt) != nil || reading(.peep) != nil
        if ventilatorCurrent, ventilatedSince == nil { ventilatedSince = t }
        let overdue = plateauOverdueFor(at: t).map { Tolerance.gt($0, settings.plateauOverdueAfter) } ?? false
        drive(.plateauOverdue, overdue ? (ventilatorCurrent ? .active(.low) : .unknown) : .inactive, at: t, into: &events)

        // lpv.plateau_stale: a PEEP or Vt change since the plateau, and no new plateau for the grace time.
        let staleDue = staleChange.map { Tolerance.ge(t - $0.t, settings.staleGrace) } ?? false
        drive(.plateauStale, staleDue ? .active(.low) : .inactive, at: t, into: &events)

        // oxygenation.spo2_low
        let spo2 = reading(.spo2)?.value
        spo2LowOnset.update(spo2.map { Tolerance.lt($0, settings.spo2Low) }, at: t)
        spo2LowHighOnset.update(spo2.map { Tolerance.lt($0, settings.spo2LowHighTier) }, at: t)
        spo2BelowEndOnset.update(spo2.map { Tolerance.lt($0, settings.spo2LowEnd) }, at: t)
        drive(.spo2Low, tiered([
            Tier(condition: spo2.map { Tolerance.lt($0, settings.spo2Low) }, onset: spo2LowOnset,
                 delay: settings.spo2LowDelay, priority: .medium),
            Tier(condition: spo2.map { Tolerance.lt($0, settings.spo2LowHighTier) }, onset: spo2LowHighOnset,
                 delay: settings.spo2LowHighTierDelay, priority: .high),
        ], ended: spo2.map { Tolerance.ge($0, settings.spo2LowEnd) }, key: AlarmKey(rule: .spo2Low), at: t),
        at: t, into: &events)

        // oxygenation.pf_severity
        drive(.pfSeverity, assessPFBand(), at: t, into: &events)

        // oxygenation.pf_falling: like with like (the reference is of the current P/F's kind).
        let falling: Bool? = pf.map { current in
            guard let reference = pfFallReference else { return false }
            return Tolerance.ge(reference.value - current.value, settings.pfFallFraction * reference.value)
        }
        drive(.pfFalling, falling.map { $0 ? .active(.medium) : .inactive } ?? .unknown, at: t, into: &events)

        // oxygenation.fio2_weanable
        let fio2 = reading(.fio2)?.value, peep = reading(.peep)?.value
        let weanable = all(spo2.map { Tolerance.gt($0, settings.weanSpO2Above) }, fio2.map { Tolerance.ge($0, settings.weanMinFiO2) })
        weanOnset.update(weanable, at: t)
        drive(AlarmKey(rule: .fio2Weanable), tiered([Tier(condition: weanable, onset: weanOnset, delay: settings.weanDelay, priority: .low)],
                                                    ended: weanable.map { !$0 }, key: AlarmKey(rule: .fio2Weanable), at: t),
              at: t, into: &events, known: weanable)

        // Massive haemoptysis withholds the prone prompts (their windows keep running).
        updateHemoptysisWindow(at: t)
        let massiveHemoptysis = Tolerance.ge(hemoptysisTotal, settings.hemoptysisVolume)

        // escalation.prone_stop (before the prompts to prone: it ends the course).
        let stopCriteria = all(lastProneT != nil && position == .supine,
                               pf.map { Tolerance.ge($0.value, settings.proneStopMinPF) },
                               peep.map { Tolerance.le($0, settings.proneStopMaxPEEP) },
                               fio2.map { Tolerance.le($0, settings.proneStopMaxFiO2) })
        proneStopOnset.update(stopCriteria, at: t)
        if stopCriteria == true, proneStopOnset.held(at: t, for: settings.proneStopDelay) { courseEnded = true }
        drive(AlarmKey(rule: .proneStop), tiered([Tier(condition: stopCriteria, onset: proneStopOnset, delay: settings.proneStopDelay, priority: .low)],
                                                 ended: stopCriteria.map { !$0 }, key: AlarmKey(rule: .proneStop), at: t),
              at: t, into: &events, known: stopCriteria)

        // escalation.prone_positioning: the qualifying window; armed before the first session and after a
        // course has ended.
        let proneCriteria = all(pf.map { Tolerance.lt($0.value, settings.proneMaxPF) },
                                fio2.map { Tolerance.ge($0, settings.proneMinFiO2) },
                                peep.map { Tolerance.ge($0, settings.proneMinPEEP) },
                                position == .supine)
        let windowReset = proneWindow.update(proneCriteria, at: t, falseReset: settings.proneFalseReset,
                                             unknownReset: settings.proneUnknownReset)
        let proneKey = AlarmKey(rule: .pronePositioning)
        let armed = lastProneT == nil || courseEnded
        let proneAssessment: Assessment
        if let reason = windowReset {
            proneEndReason = reason
            proneAssessment = .inactive
        } else if !armed {
            proneAssessment = .inactive
        } else if massiveHemoptysis {
            proneEndReason = "haemoptysis"
            proneAssessment = .inactive
        } else if proneWindow.met(proneCriteria, at: t, delay: settings.proneDelay) {
            if alarms.activePriority(proneKey) == nil { proneEndReason = nil }
            proneAssessment = .active(.medium)
        } else {
            proneAssessment = alarms.activePriority(proneKey) != nil ? .hold : .inactive
        }
        if position == .prone, alarms.activePriority(proneKey) != nil { proneEndReason = "charted prone" }
        drive(proneKey, position == .prone ? .inactive : proneAssessment, at: t, into: &events, known: proneCriteria)

        // escalation.prone_repeat: supine after a session of a course that has not ended, the stop
        // criteria known not met once the assessment time has passed.
        let repeatDue = lastProneT != nil && !courseEnded && position == .supine
            && Tolerance.ge(t - positionSince, settings.proneRepeatAssessAfter)
        let repeatAssessment: Assessment
        if !repeatDue || massiveHemoptysis || stopCriteria == true {
            if alarms.activePriority(AlarmKey(rule: .proneRepeat)) != nil {
                repeatEndReason = position == .prone ? "charted prone" : (massiveHemoptysis ? "haemoptysis" : (stopCriteria == true ? "improved" : nil))
            }
            repeatAssessment = .inactive
        } else {
            repeatAssessment = stopCriteria == false ? .active(.medium) : .hold
            if stopCriteria == false, alarms.activePriority(AlarmKey(rule: .proneRepeat)) == nil { repeatEndReason = nil }
        }
        drive(AlarmKey(rule: .proneRepeat), repeatAssessment, at: t, into: &events,
              known: repeatDue && !massiveHemoptysis ? stopCriteria.map { !$0 } : false)

        // escalation.plasma_exchange
        assessPlasmaExchange(at: t, into: &events)

        // dah.hemoglobin_drop
        drive(.hemoglobinDrop, hbFinding?.met == true ? .active(.medium) : .inactive, at: t, into: &events)

        // dah.hemoptysis_volume
        drive(.hemoptysisVolume, massiveHemoptysis ? .active(.high) : .inactive, at: t, into: &events)

        // dah.hemoptysis_prone: haemoptysis charted during a prone session; lasts while prone, latches.
        if position == .prone {
            if let charted = hemoptysis.last(where: { $0.t >= positionSince - Tolerance.epsilon && Tolerance.gt($0.ml, settings.hemoptysisProneMin) }),
               proneHemoptysis.map({ charted.t >= $0.t }) ?? true {
                proneHemoptysis = charted
            }
        } else {
            proneHemoptysis = nil
        }
        drive(.hemoptysisProne, proneHemoptysis != nil ? .active(.high) : .inactive, at: t, into: &events)

        // dah.renal_function: KDIGO stages at each creatinine result (persisting until the next one).
        if patient.hasVasculitis || patient.hasDAH {
            let stage = creatinineFinding?.stage ?? 0
            let key = AlarmKey(rule: .renalFunction)
            if stage > 0, renalStage > 0, stage != renalStage, alarms.activePriority(key) == (stage >= 3 ? .high : .medium),
               let transition = alarms.restage(key, at: t) {
                // A stage change within one priority (1 to 2, 2 to 1) is announced as an update.
                renalStage = stage
                events.append(makeEvent(key, transition, at: t))
            }
            renalStage = stage
            drive(key, stage == 0 ? .inactive : .active(stage >= 3 ? .high : .medium), at: t, into: &events)
        }

        // Technical alarms, per source in order of first appearance.
        for src in sources.indices {
            guard sources[src].streams || !sources[src].rejectedParameters.isEmpty else { continue }
            if sources[src].streams {
                drive(AlarmKey(rule: .deviceSilent, source: src), sources[src].silent ? .active(.medium) : .inactive,
                      at: t, into: &events)
                drive(AlarmKey(rule: .sensorOff, source: src), sources[src].sensor != .ok ? .active(.medium) : .inactive,
                      at: t, into: &events)
            }
            for parameter in sources[src].rejectedParameters {
                let active = sources[src].rejections[parameter]?.active == true
                drive(AlarmKey(rule: .valueRejected, source: src, parameter: parameter), active ? .active(.low) : .inactive,
                      at: t, into: &events)
            }
        }
    }

    // MARK: - Pieces

    private mutating func applyAcknowledgements(at t: Double, into events: inout [AlarmEvent]) {
        guard !pendingAcks.isEmpty else { return }
        let acks = pendingAcks
        pendingAcks.removeAll()
        for (rule, source) in acks {
            for key in alarms.keys(of: rule) where source == nil || key.source == source {
                if let transition = alarms.acknowledge(key, at: t) {
                    events.append(makeEvent(key, transition, at: t))
                    if transition.phase == .end, rule.type == .advisory {
                        // The decision is made: the prompt ends and is not raised again at once.
                        if rule == .plasmaExchange {
                            plexAcknowledged = max(plexAcknowledged, plexIndication?.rawValue ?? 0)
                            plexIndication = nil
                        } else {
                            rearming[key] = .some(nil)
                        }
                    }
                }
            }
        }
    }

    private mutating func detectSilence(at t: Double) {
        for src in sources.indices where sources[src].streams {
            let silent = Tolerance.gt(t - sources[src].lastValid, settings.silentAfter(source: sources[src].name))
            sources[src].silent = silent
            if silent {
                for parameter in Parameter.allCases where parameter.isStreamed && parameter.isNumeric {
                    if readings[parameter.rawValue]?.source == src { readings[parameter.rawValue] = nil }
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
        pf = nil
        if let gas, let fio2 = gas.fio2, Tolerance.le(t - gas.t, settings.gasValidFor) {
            pf = PFRatio(value: gas.pao2 / fio2.value, kind: .measured, pao2: gas.pao2, pao2Time: gas.t, spo2: nil,
                         fio2: fio2.value, fio2Time: fio2.t)
        } else if let spo2 = reading(.spo2), let fio2 = reading(.fio2),
                  let pao2 = Oxygenation.imputedPaO2(spo2Percent: spo2.value) {
            pf = PFRatio(value: pao2 / fio2.value, kind: .imputed, pao2: pao2, pao2Time: spo2.t, spo2: spo2.value,
                         fio2: fio2.value, fio2Time: fio2.t)
        }
        pfHistoryMeasured.expire(before: t - settings.pfFallWindow)
        pfHistoryImputed.expire(before: t - settings.pfFallWindow)
        // A switch of method is never a fall: the reference is the highest earlier P/F of the same kind.
        switch pf?.kind {
        case .measured?:
            pfFallReference = pfHistoryMeasured.maximum
            pfHistoryMeasured.append(t: t, value: pf!.value, payload: pf!)
        case .imputed?:
            pfFallReference = pfHistoryImputed.maximum
            pfHistoryImputed.append(t: t, value: pf!.value, payload: pf!)
        case nil:
            pfFallReference = nil
        }
    }

    private mutating func assessPFBand() -> Assessment {
        guard let pf else { return .unknown }
        let edges = [Double.infinity, settings.pfMild, settings.pfModerate, settings.pfSevere]
        func rawBand(_ value: Double) -> Int {
            var band = 0
            for index in 1...3 where Tolerance.le(value, edges[index]) { band = index }
            return band
        }
        let raw = rawBand(pf.value)
        var band = alarms.activePriority(AlarmKey(rule: .pfSeverity)) != nil ? pfBand : 0
        if raw > band {
            band = raw
        } else {
            while band > raw, Tolerance.ge(pf.value, edges[band] + settings.pfBandHysteresis) { band -= 1 }
        }
        pfBand = band
        return band == 0 ? .inactive : .active(Priority(rawValue: band)!)
    }

    private mutating func updateHemoptysisWindow(at t: Double) {
        let cutoff = t - settings.hemoptysisWindow - Tolerance.epsilon
        if let first = hemoptysis.first, first.t < cutoff { hemoptysis.removeAll { $0.t < cutoff } }
        hemoptysisTotal = hemoptysis.reduce(0) { $0 + $1.ml }
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
        }
        plateauInGroup = false
        guard let plateau, staleChange == nil else { return }
        if let paired = plateau.peep, let peep = reading(.peep)?.value, Tolerance.ge(abs(peep - paired), settings.staleAfterPEEPChange) {
            staleChange = StaleChange(what: .peep, t: t, from: paired, to: peep)
            return
        }
        let vt = reading(.vt)?.value
        let changed: Bool? = if let paired = plateau.vt, let vt, let pbw {
            Tolerance.ge(abs(vt - paired), settings.staleAfterVtChangeMlPerKg * pbw)
        } else {
            nil
        }
        vtChangeOnset.update(changed, at: t)
        if let since = vtChangeOnset.since, vtChangeOnset.held(at: t, for: settings.staleVtChangeDelay), let paired = plateau.vt, let vt {
            staleChange = StaleChange(what: .vt, t: since, from: paired, to: vt)
        }
    }

    /// escalation.plasma_exchange: one prompt, its indication the strongest that holds and has not been
    /// acknowledged (anti-GBM > ANCA with kidney failure > DAH with hypoxaemia over the qualifying window).
    mutating func assessPlasmaExchange(at t: Double, into events: inout [AlarmEvent]) {
        let key = AlarmKey(rule: .plasmaExchange)
        if patient.hasDAH {
            let low = pf.map { Tolerance.lt($0.value, settings.plexMaxPF) }
            if let pf, Tolerance.ge(pf.value, settings.plexEndPF) {
                // Recovered: the indication ends, and a new one needs its whole window again.
                if plexDAH { plexEndReason = "\(pfPhrase(pf)) at or above \(Fmt.fixed(settings.plexEndPF, 0))" }
                plexDAH = false
                plexWindow.reset()
            } else if let reason = plexWindow.update(low, at: t, falseReset: settings.plexFalseReset, unknownReset: settings.plexUnknownReset) {
                if plexDAH { plexEndReason = "P/F below \(Fmt.fixed(settings.plexMaxPF, 0)) \(reason)" }
                plexDAH = false
            } else if plexWindow.met(low, at: t, delay: settings.plexDelay) {
                if !plexDAH { plexEndReason = nil }
                plexDAH = true
            }
        } else {
            plexDAH = false
            plexWindow.reset()
        }
        // The strongest indication that holds and is not acknowledged (no allocation: this runs every group).
        var strongest: PlexIndication?
        if patient.conditions.contains(.antiGBM) {
            strongest = .antiGBM
        } else if patient.conditions.contains(.ancaVasculitis), plexKidney != nil {
            strongest = .ancaKidney
        } else if plexDAH {
            strongest = .dahHypoxaemia
        }
        if let candidate = strongest, candidate.rawValue <= plexAcknowledged {
            // Acknowledged: only a stronger one than what was acknowledged may come (none is stronger
            // than the strongest that holds).
            strongest = nil
        }
        guard let strongest else {
            plexIndication = nil
            drive(key, .inactive, at: t, into: &events)
            return
        }
        if alarms.activePriority(key) != nil, let current = plexIndication, current != strongest, !isDisabled(.plasmaExchange) {
            plexIndication = strongest
            if let transition = alarms.reindicate(key, at: t) { events.append(makeEvent(key, transition, at: t)) }
            return
        }
        plexIndication = strongest
        drive(key, .active(.medium), at: t, into: &events)
    }

    /// KDIGO 2012 creatinine criteria at a result: a rise over the lowest result of the rise window, or
    /// a ratio to the baseline (the lowest of the baseline window); the stage from the ratio and value.
    func judgeKidney(_ latest: (t: Double, value: Double)) -> KidneyFinding {
        var lowest: (t: Double, value: Double)?
        var baseline: (t: Double, value: Double)?
        for entry in creatinineSeries.entries where entry.t < latest.t - Tolerance.epsilon {
            if entry.t >= latest.t - settings.creatinineWindow - Tolerance.epsilon, lowest.map({ entry.value < $0.value }) ?? true { lowest = entry }
            if entry.t >= latest.t - settings.creatinineBaselineWindow - Tolerance.epsilon, baseline.map({ entry.value < $0.value }) ?? true {
                baseline = entry
            }
        }
        let rise = lowest.map { Tolerance.ge(latest.value - $0.value, settings.creatinineRise) } ?? false
        let ratio = baseline.map { latest.value / $0.value }
        let ratioMet = ratio.map { Tolerance.ge($0, settings.creatinineRatio) } ?? false
        var stage = 0
        if rise || ratioMet {
            if (ratio.map { Tolerance.ge($0, settings.akiStage3Ratio) } ?? false) || Tolerance.ge(latest.value, settings.akiStage3Creatinine) {
                stage = 3
            } else if ratio.map({ Tolerance.ge($0, settings.akiStage2Ratio) }) ?? false {
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
    func all(_ conditions: Bool?...) -> Bool? {
        if conditions.contains(false) { return false }
        if conditions.contains(nil) { return nil }
        return true
    }

    /// The generic tiered assessment: starts at the highest tier whose condition has held for its delay;
    /// once active, ends only on the end (hysteresis) condition, moves up when a higher tier is met, and
    /// moves down only when the current tier's own condition is false.
    func tiered(_ tiers: [Tier], ended: Bool?, key: AlarmKey, at t: Double) -> Assessment {
        let met = tiers.last { $0.condition == true && $0.onset.held(at: t, for: $0.delay) }
        guard let current = alarms.activePriority(key) else {
            return met.map { .active($0.priority) } ?? .inactive
        }
        switch ended {
        case true?: return .inactive
        case nil: return .unknown
        case false?: break
        }
        var priority = met?.priority ?? tiers[0].priority
        if priority < current, let currentTier = tiers.first(where: { $0.priority == current }), currentTier.condition != false {
            priority = current
        }
        return .active(priority)
    }

    mutating func drive(_ rule: RuleID, _ assessment: Assessment, at t: Double, into events: inout [AlarmEvent]) {
        drive(AlarmKey(rule: rule), assessment, at: t, into: &events)
    }

    /// Switched off in the configuration (a bit per rule: asked at every drive of every group).
    func isDisabled(_ rule: RuleID) -> Bool { disabledRules & (1 << UInt64(rule.ordinal)) != 0 }

    /// `known`: the rule's condition as known at this group, when the assessment alone cannot tell
    /// unknown from false (an acknowledged prompt re-arms only over groups where it is known false).
    mutating func drive(_ key: AlarmKey, _ assessment: Assessment, at t: Double, into events: inout [AlarmEvent], known: Bool?? = nil) {
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
        guard let transition = alarms.step(key, assessment, at: t) else { return }
        var event = makeEvent(key, transition, at: t)
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
    /// An onset for conditions that need no delay.
    static func always(_ t: Double) -> Onset {
        var onset = Onset()
        onset.update(true, at: t)
        return onset
    }
}
