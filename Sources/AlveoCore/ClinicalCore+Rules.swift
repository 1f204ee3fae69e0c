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

        let vt = reading(.vt)?.value
        let mlPerKg = vt.flatMap { vt in pbw.map { vt / $0 } }

        // technical.patient_unknown: said once while a tidal volume cannot be judged, never guessed.
        drive(.patientUnknown, pbw == nil && vt != nil ? .active(.low) : (pbw != nil ? .inactive : .hold), at: t, into: &events)

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

        // lpv.driving_pressure_high
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
        drive(.plateauOverdue, overdue ? (ventilatorCurrent ? .active(.low) : .hold) : .inactive, at: t, into: &events)

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

        // oxygenation.pf_falling
        let falling: Bool? = pf.map { current in
            guard let reference = pfFallReference else { return false }
            return Tolerance.ge(reference.value - current.value, settings.pfFallFraction * reference.value)
        }
        drive(.pfFalling, falling.map { $0 ? .active(.medium) : .inactive } ?? .hold, at: t, into: &events)

        // escalation.prone_positioning
        let fio2 = reading(.fio2)?.value, peep = reading(.peep)?.value
        let proneCriteria = all(pf.map { Tolerance.lt($0.value, settings.proneMaxPF) },
                                fio2.map { Tolerance.ge($0, settings.proneMinFiO2) },
                                peep.map { Tolerance.ge($0, settings.proneMinPEEP) },
                                position == .supine)
        proneOnset.update(proneCriteria, at: t)
        drive(.pronePositioning, tiered([Tier(condition: proneCriteria, onset: proneOnset, delay: settings.proneDelay, priority: .medium)],
                                        ended: proneCriteria.map { !$0 }, key: AlarmKey(rule: .pronePositioning), at: t),
              at: t, into: &events)

        // escalation.prone_stop
        let stopCriteria = all(lastProneT != nil && position == .supine,
                               pf.map { Tolerance.ge($0.value, settings.proneStopMinPF) },
                               peep.map { Tolerance.le($0, settings.proneStopMaxPEEP) },
                               fio2.map { Tolerance.le($0, settings.proneStopMaxFiO2) })
        proneStopOnset.update(stopCriteria, at: t)
        drive(.proneStop, tiered([Tier(condition: stopCriteria, onset: proneStopOnset, delay: settings.proneStopDelay, priority: .low)],
                                 ended: stopCriteria.map { !$0 }, key: AlarmKey(rule: .proneStop), at: t),
              at: t, into: &events)

        // escalation.plasma_exchange
        if patient.hasDAH {
            let lowSpO2 = spo2.map { Tolerance.lt($0, settings.plexSpO2) }
            plexSpO2Onset.update(lowSpO2, at: t)
            let lowPF = pf.map { Tolerance.lt($0.value, settings.plexMaxPF) }
            let met = plexSpO2Onset.held(at: t, for: settings.plexSpO2Delay) || lowPF == true
            // SpO2 at or above the threshold is evidence enough that hypoxaemia has resolved when no P/F says
            // otherwise (P/F cannot be imputed above SpO2 96 %). SpO2 still below it (its delay not yet
            // elapsed again), or unknown SpO2 with no P/F to say otherwise, holds the prompt.
            let holds = lowSpO2 == true || (lowSpO2 == nil && lowPF != false)
            let assessment: Assessment = met ? .active(.medium) : (holds ? .hold : .inactive)
            drive(.plasmaExchange, assessment, at: t, into: &events)
        }

        // dah.hemoglobin_drop
        drive(.hemoglobinDrop, hbFinding?.met == true ? .active(.medium) : .inactive, at: t, into: &events)

        // dah.hemoptysis_volume
        updateHemoptysisWindow(at: t)
        drive(.hemoptysisVolume, Tolerance.ge(hemoptysisTotal, settings.hemoptysisVolume) ? .active(.high) : .inactive,
              at: t, into: &events)

        // dah.renal_function
        if patient.hasVasculitis {
            drive(.renalFunction, creatinineFinding?.met == true ? .active(.medium) : .inactive, at: t, into: &events)
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
        pfHistory.expire(before: t - settings.pfFallWindow)
        pfFallReference = pfHistory.maximum
        if let pf { pfHistory.append(t: t, value: pf.value, payload: pf) }
    }

    private mutating func assessPFBand() -> Assessment {
        guard let pf else { return .hold }
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

    var drivingPressureNow: Double? {
        guard let pplat = reading(.pplat), let peep = reading(.peep) else { return nil }
        return pplat.value - peep.value
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
        case nil: return .hold
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

    mutating func drive(_ key: AlarmKey, _ assessment: Assessment, at t: Double, into events: inout [AlarmEvent]) {
        guard !settings.disabled.contains(key.rule) else { return }
        guard let transition = alarms.step(key, assessment, at: t) else { return }
        events.append(makeEvent(key, transition, at: t))
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
