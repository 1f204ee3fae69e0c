/// Alarm texts and evidence: a sentence a nurse can act on, with the numbers and where they came from.
extension ClinicalCore {
    struct Description {
        /// While the condition is present.
        var active: String
        /// When it has ended.
        var cleared: String
        var evidence: [(String, JSONValue)]
    }

    func makeEvent(_ key: AlarmKey, _ transition: Transition, at t: Double) -> AlarmEvent {
        let description = describe(key, at: t)
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

    func describe(_ key: AlarmKey, at t: Double) -> Description {
        switch key.rule {
        case .tidalVolumeHigh: return describeTidalVolume(high: true, at: t)
        case .tidalVolumeLow: return describeTidalVolume(high: false, at: t)
        case .plateauHigh: return describePlateau()
        case .drivingPressureHigh: return describeDrivingPressure()
        case .plateauOverdue: return describePlateauOverdue(at: t)
        case .plateauStale: return describePlateauStale(at: t)
        case .spo2Low: return describeSpO2(at: t)
        case .pfSeverity: return describePFBand()
        case .pfFalling: return describePFFalling(at: t)
        case .fio2Weanable: return describeWeanable(at: t)
        case .pronePositioning: return describeProne(at: t)
        case .proneRepeat: return describeProneRepeat(at: t)
        case .proneStop: return describeProneStop(at: t)
        case .plasmaExchange: return describePlasmaExchange(at: t)
        case .hemoglobinDrop: return describeLab(hbFinding, name: "Haemoglobin", unit: "g/dL", rising: false,
                                                 threshold: settings.hbDrop, window: settings.hbWindow, key: "hb_g_dl")
        case .hemoptysisVolume: return describeHemoptysis()
        case .hemoptysisProne: return describeHemoptysisProne()
        case .renalFunction: return describeKidney()
        case .deviceSilent: return describeSilence(source: key.source, at: t)
        case .sensorOff: return describeSensor(source: key.source)
        case .valueRejected: return describeRejection(source: key.source, parameter: Parameter(rawValue: key.parameter)!)
        case .patientUnknown: return describePatientUnknown()
        case .deliveryFailed, .journalFailed, .stationUnreachable, .clockUnsynchronized, .diskLow, .trendStoreFailed:
            // Raised by the agent and its output pipeline, never by the rules.
            return Description(active: key.rule.title, cleared: key.rule.title, evidence: [])
        case .monitoringStopped, .monitoringGap:
            // Raised by the bedside loop at a stop or a restart, with the texts it gave.
            return lifecycleTexts[key.rule] ?? Description(active: key.rule.title, cleared: key.rule.title, evidence: [])
        }
    }

    private func readingEvidence(_ parameter: Parameter, _ name: String, decimals: Int = 2) -> [(String, JSONValue)] {
        guard let reading = reading(parameter) else { return [(name, .null)] }
        return [(name, .number(Fmt.round(reading.value, decimals))), (name.prefixUpToUnit + "_t", .number(reading.t))]
    }

    private var patientEvidence: [(String, JSONValue)] {
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

    private func describePatientUnknown() -> Description {
        let missing = [patient.sex == nil ? "sex" : nil, patient.heightCm == nil ? "height" : nil].compactMap { $0 }
        let what = missing.count == 1 ? "\(missing[0]) is" : "sex and height are"
        let vt = reading(.vt).map { " (Vt \(Fmt.fixed($0.value, 0)) ml)" } ?? ""
        return Description(
            active: "The patient's \(what) not known: the tidal volume\(vt) cannot be judged in ml/kg of predicted body weight. Set the patient (alveo patient set, or an admission from the hospital).",
            cleared: patient.pbwByHand ? "The predicted body weight is known: \(pbwPhrase)."
                : "The patient's sex and height are known: predicted body weight \(pbw.map { Fmt.fixed($0, 1) } ?? "?") kg\(pbwNote).",
            evidence: patientEvidence + readingEvidence(.vt, "vt_ml", decimals: 1))
    }

    private func describeTidalVolume(high: Bool, at t: Double) -> Description {
        guard let pbw else {
            return Description(active: "Tidal volume cannot be judged: the patient's sex or height is not known.",
                               cleared: "Tidal volume cannot be judged: the patient's sex or height is not known.", evidence: patientEvidence)
        }
        let atTarget = settings.vtTargetMlPerKg * pbw
        let pbwText = pbwPhrase
        var evidence = patientEvidence
        evidence += readingEvidence(.vt, "vt_ml", decimals: 1)
        guard let vt = reading(.vt)?.value else {
            evidence.append(("vt_at_target_ml", .number(Fmt.round(atTarget, 0))))
            return Description(active: "Tidal volume not currently reported (\(pbwText)).",
                               cleared: "Tidal volume no longer reported.", evidence: evidence)
        }
        let mlPerKg = vt / pbw
        // The duration shown is that of the tier the value is in now.
        let inHighTier = high && Tolerance.gt(mlPerKg, settings.vtHighHighTierMlPerKg)
        let threshold = high ? (inHighTier ? settings.vtHighHighTierMlPerKg : settings.vtHighMlPerKg) : settings.vtLowMlPerKg
        let onset = high ? (inHighTier ? vtHighHighOnset.since : vtHighOnset.since) : vtLowOnset.since
        if let src = reading(.vt)?.source { evidence.append(("vt_source", .string(sources[src].name))) }
        evidence += [("vt_ml_per_kg", .number(Fmt.round(mlPerKg, 2))),
                     ("threshold_ml_per_kg", .number(threshold)),
                     ("target_ml_per_kg", .number(settings.vtTargetMlPerKg)),
                     ("vt_at_target_ml", .number(Fmt.round(atTarget, 0))),
                     ("condition_since_t", onset.map { .number($0) } ?? .null)]
        let now = "Tidal volume \(Fmt.fixed(vt, 0)) ml is \(Fmt.fixed(mlPerKg, 1)) ml/kg PBW"
        let side = high ? "above" : "below"
        let duration = onset.map { " (\(side) \(Fmt.fixed(threshold, 1).trimmingTrailingZeros) ml/kg for \(Fmt.duration(t - $0)))" } ?? ""
        let target = "\(Fmt.fixed(settings.vtTargetMlPerKg, 1).trimmingTrailingZeros) ml/kg is \(Fmt.fixed(atTarget, 0)) ml"
        if high {
            return Description(
                active: "\(now)\(duration); lung-protective target \(target) (\(pbwText)): consider reducing Vt.",
                cleared: "\(now), back at or below \(Fmt.fixed(settings.vtHighEndMlPerKg, 1)) ml/kg (target \(target)).",
                evidence: evidence)
        }
        let floor = settings.vtLowMlPerKg * pbw
        return Description(
            active: "\(now)\(duration); \(Fmt.fixed(settings.vtLowMlPerKg, 1).trimmingTrailingZeros) ml/kg is \(Fmt.fixed(floor, 0)) ml (\(pbwText)): check for leak, disconnection or hypoventilation.",
            cleared: "\(now), back at or above \(Fmt.fixed(settings.vtLowMlPerKg, 1).trimmingTrailingZeros) ml/kg.",
            evidence: evidence)
    }

    private func describePlateau() -> Description {
        var evidence = readingEvidence(.pplat, "pplat_cmh2o", decimals: 1)
        if let src = reading(.pplat)?.source { evidence.append(("pplat_source", .string(sources[src].name))) }
        evidence.append(("threshold_cmh2o", .number(settings.pplatHigh)))
        evidence += patientEvidence
        evidence += readingEvidence(.vt, "vt_ml", decimals: 1)
        let pplatText = reading(.pplat).map { "Plateau pressure \(Fmt.fixed($0.value, 1)) cmH2O" } ?? "Plateau pressure"
        let floorVolume = pbw.map { " (\(Fmt.fixed(settings.pplatVtFloorMlPerKg * $0, 0)) ml\(patient.pbwByHand ? "; PBW entered by hand" : (patient.pbwCaution ? "; short stature: check the height" : "")))" } ?? " (the patient's sex and height are not known)"
        let rate = " and raise the respiratory rate (up to 35/min) to keep minute ventilation."
        var advice = "lower Vt by \(Fmt.fixed(settings.pplatVtStepMlPerKg, 1).trimmingTrailingZeros) ml/kg PBW steps, not below \(Fmt.fixed(settings.pplatVtFloorMlPerKg, 1).trimmingTrailingZeros) ml/kg\(floorVolume)\(rate)"
        if let vt = reading(.vt)?.value, let pbw {
            let mlPerKg = vt / pbw
            let proposed = max(mlPerKg - settings.pplatVtStepMlPerKg, settings.pplatVtFloorMlPerKg)
            evidence += [("vt_ml_per_kg", .number(Fmt.round(mlPerKg, 2))),
                         ("proposed_vt_ml", .number(Fmt.round(proposed * pbw, 0))),
                         ("proposed_vt_ml_per_kg", .number(Fmt.round(proposed, 2)))]
            if Tolerance.le(mlPerKg, settings.pplatVtFloorMlPerKg) {
                advice = "Vt \(Fmt.fixed(vt, 0)) ml is already at \(Fmt.fixed(mlPerKg, 1)) ml/kg PBW, the \(Fmt.fixed(settings.pplatVtFloorMlPerKg, 1).trimmingTrailingZeros) ml/kg floor: review PEEP, compliance and sedation."
            } else {
                advice = "consider lowering Vt from \(Fmt.fixed(vt, 0)) ml (\(Fmt.fixed(mlPerKg, 1)) ml/kg) to \(Fmt.fixed(proposed * pbw, 0)) ml (\(Fmt.fixed(proposed, 1)) ml/kg PBW, PBW \(Fmt.fixed(pbw, 1)) kg\(patient.pbwByHand ? " entered by hand" : (patient.pbwCaution ? ", short stature: check the height" : "")))\(rate)"
            }
        }
        return Description(
            active: "\(pplatText) is above \(Fmt.fixed(settings.pplatHigh, 1).trimmingTrailingZeros) cmH2O: \(advice)",
            cleared: "\(pplatText), back at or below \(Fmt.fixed(settings.pplatEnd, 1).trimmingTrailingZeros) cmH2O.",
            evidence: evidence)
    }

    private func describeDrivingPressure() -> Description {
        var evidence = readingEvidence(.pplat, "pplat_cmh2o", decimals: 1) + readingEvidence(.peep, "peep_cmh2o", decimals: 1)
        if let src = reading(.pplat)?.source { evidence.append(("pplat_source", .string(sources[src].name))) }
        evidence += [("pplat_peep_cmh2o", plateau?.peep.map { .number(Fmt.round($0, 1)) } ?? .null),
                     ("pplat_vt_ml", plateau?.vt.map { .number(Fmt.round($0, 1)) } ?? .null),
                     ("stale", .bool(staleChange != nil))]
        guard let dp = drivingPressureNow, let pplat = reading(.pplat), let peep = plateau?.peep else {
            let why = staleChange != nil ? "the last plateau was measured before a PEEP or Vt change"
                : "no plateau with the PEEP of its breath"
            return Description(active: "Driving pressure not currently available (\(why)).",
                               cleared: "Driving pressure not currently available (\(why)).", evidence: evidence)
        }
        evidence.append(("driving_pressure_cmh2o", .number(Fmt.round(dp, 1))))
        evidence.append(("threshold_cmh2o", .number(settings.drivingPressureHigh)))
        let now = "Driving pressure \(Fmt.fixed(dp, 1)) cmH2O (Pplat \(Fmt.fixed(pplat.value, 1)) - PEEP \(Fmt.fixed(peep, 1)) of the same breath)"
        return Description(
            active: "\(now) is above \(Fmt.fixed(settings.drivingPressureHigh, 1).trimmingTrailingZeros) cmH2O: review tidal volume and PEEP.",
            cleared: "\(now), back at or below \(Fmt.fixed(settings.drivingPressureEnd, 1).trimmingTrailingZeros) cmH2O.",
            evidence: evidence)
    }

    private func describePlateauOverdue(at t: Double) -> Description {
        let evidence: [(String, JSONValue)] = [
            ("last_plateau_t", lastPlateauT.map { .number($0) } ?? .null),
            ("ventilated_since_t", ventilatedSince.map { .number($0) } ?? .null),
            ("limit_s", .number(settings.plateauOverdueAfter)),
        ]
        let since = plateauOverdueFor(at: t).map { Fmt.duration($0) } ?? "unknown"
        let what = lastPlateauT == nil ? "No plateau pressure measured since ventilation data began \(since) ago"
                                       : "Last plateau pressure measured \(since) ago"
        return Description(
            active: "\(what): measure Pplat with a 0.5 s inspiratory pause (due every \(Fmt.duration(settings.plateauOverdueAfter))).",
            cleared: "Plateau pressure measured.",
            evidence: evidence)
    }

    private func describePlateauStale(at t: Double) -> Description {
        var evidence: [(String, JSONValue)] = [
            ("pplat_cmh2o", plateau.map { .number(Fmt.round($0.value, 1)) } ?? .null), ("pplat_t", plateau.map { .number($0.t) } ?? .null),
            ("pplat_peep_cmh2o", plateau?.peep.map { .number(Fmt.round($0, 1)) } ?? .null),
            ("pplat_vt_ml", plateau?.vt.map { .number(Fmt.round($0, 1)) } ?? .null),
        ]
        evidence += readingEvidence(.peep, "peep_cmh2o", decimals: 1).prefix(1)
        evidence += readingEvidence(.vt, "vt_ml", decimals: 1).prefix(1)
        evidence += [("change", staleChange.map { .string($0.what == .peep ? "peep" : "vt") } ?? .null),
                     ("change_t", staleChange.map { .number($0.t) } ?? .null)]
        guard let change = staleChange, let plateau else {
            return Description(active: "Plateau pressure measured.", cleared: "Plateau pressure measured after the change.", evidence: evidence)
        }
        let what = change.what == .peep
            ? "PEEP changed from \(Fmt.fixed(change.from, 0)) to \(Fmt.fixed(change.to, 0)) cmH2O"
            : "Vt changed from \(Fmt.fixed(change.from, 0)) to \(Fmt.fixed(change.to, 0)) ml"
        return Description(
            active: "\(what) \(Fmt.duration(t - change.t)) ago; the last plateau (\(Fmt.fixed(plateau.value, 0)) cmH2O) was measured before that: measure Pplat with a 0.5 s pause (ARDSNet: after each PEEP or Vt change).",
            cleared: "Plateau pressure measured after the change.",
            evidence: evidence)
    }

    private func describeWeanable(at t: Double) -> Description {
        var evidence = readingEvidence(.spo2, "spo2_pct", decimals: 1) + readingEvidence(.fio2, "fio2_fraction", decimals: 3)
        evidence.append(("condition_since_t", weanOnset.since.map { .number($0) } ?? .null))
        let spo2 = reading(.spo2).map { Fmt.fixed($0.value, 0) } ?? "?"
        let fio2 = reading(.fio2).map { Fmt.fixed($0.value, 2) } ?? "?"
        let held = weanOnset.since.map { " for \(Fmt.duration(t - $0))" } ?? ""
        return Description(
            active: "SpO2 \(spo2) % on FiO2 \(fio2), above the 88-95 % goal\(held): consider lowering FiO2 (ARDSNet FiO2/PEEP table).",
            cleared: "SpO2 \(spo2) % on FiO2 \(fio2): no longer above the goal on high FiO2.",
            evidence: evidence)
    }

    private func describeSpO2(at t: Double) -> Description {
        var evidence = readingEvidence(.spo2, "spo2_pct", decimals: 1)
        if let src = reading(.spo2)?.source { evidence.append(("spo2_source", .string(sources[src].name))) }
        evidence += readingEvidence(.fio2, "fio2_fraction", decimals: 3)
        guard let spo2 = reading(.spo2) else {
            return Description(active: "SpO2 not currently available.", cleared: "SpO2 not currently available.", evidence: evidence)
        }
        let inHighTier = Tolerance.lt(spo2.value, settings.spo2LowHighTier)
        let inTier = Tolerance.lt(spo2.value, settings.spo2Low)
        let threshold = inHighTier ? settings.spo2LowHighTier : (inTier ? settings.spo2Low : settings.spo2LowEnd)
        let onset = inHighTier ? spo2LowHighOnset.since : (inTier ? spo2LowOnset.since : spo2BelowEndOnset.since)
        evidence += [("threshold_pct", .number(threshold)), ("below_threshold_since_t", onset.map { .number($0) } ?? .null)]
        let duration = onset.map { " for \(Fmt.duration(t - $0))" } ?? ""
        let fio2 = reading(.fio2).map { " on FiO2 \(Fmt.fixed($0.value, 2))" } ?? ""
        let where_ = inTier ? "below \(Fmt.fixed(threshold, 0)) %\(duration)" : "not yet back to \(Fmt.fixed(settings.spo2LowEnd, 0)) % (below it\(duration))"
        return Description(
            active: "SpO2 \(Fmt.fixed(spo2.value, 0)) %\(fio2) \(where_): check the patient, airway and ventilator; goal SpO2 88-95 %.",
            cleared: "SpO2 \(Fmt.fixed(spo2.value, 0)) %, back at or above \(Fmt.fixed(settings.spo2LowEnd, 0)) %.",
            evidence: evidence)
    }

    func pfEvidence(_ pf: PFRatio) -> JSONValue {
        var members: [(String, JSONValue)] = [("value", .number(Fmt.round(pf.value, 1))), ("kind", .string(pf.kind.rawValue))]
        switch pf.kind {
        case .measured:
            members += [("pao2_mmhg", .number(pf.pao2)), ("pao2_t", .number(pf.pao2Time))]
        case .imputed:
            members += [("spo2_pct", .number(pf.spo2 ?? 0)), ("spo2_t", .number(pf.pao2Time)),
                        ("pao2_imputed_mmhg", .number(Fmt.round(pf.pao2, 1))), ("method", .string("Brown 2016"))]
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
        }
    }

    private func describePFBand() -> Description {
        let names = ["none", "mild", "moderate", "severe"]
        let edges = [0, settings.pfMild, settings.pfModerate, settings.pfSevere]
        guard let pf else {
            return Description(active: "P/F not currently available.", cleared: "P/F not currently available.",
                               evidence: [("pf", .null), ("band", .string(names[pfBand]))])
        }
        var evidence: [(String, JSONValue)] = [("pf", pfEvidence(pf)), ("band", .string(names[pfBand])),
                                               ("band_limit", .number(edges[pfBand]))]
        // S/F beside P/F (global definition, Matthay 2024), as evidence only: bands on one signal only.
        if let spo2 = reading(.spo2), let fio2 = reading(.fio2), Tolerance.le(spo2.value, 97) {
            let sf = spo2.value / fio2.value
            let sfBand = Tolerance.le(sf, settings.sfSevere) ? "severe" : Tolerance.le(sf, settings.sfModerate) ? "moderate"
                : Tolerance.le(sf, settings.sfMild) ? "mild" : "none"
            evidence += [("sf", .number(Fmt.round(sf, 1))), ("sf_band", .string(sfBand))]
        }
        let band = names[pfBand]
        return Description(
            active: "\(pfPhrase(pf)): \(band) ARDS range (Berlin, P/F <= \(Fmt.fixed(edges[pfBand], 0))); review oxygenation and PEEP.",
            cleared: "\(pfPhrase(pf)), above the Berlin ARDS bands.",
            evidence: evidence)
    }

    private func describePFFalling(at t: Double) -> Description {
        var evidence: [(String, JSONValue)] = [("pf", pf.map(pfEvidence) ?? .null)]
        var change = "", high = ""
        if let ref = pfFallReference {
            evidence += [("highest_pf", pfEvidence(ref.payload)), ("highest_pf_t", .number(ref.t))]
            high = " of \(Fmt.fixed(ref.value, 0)) (\(ref.payload.kind.rawValue), \(Fmt.duration(t - ref.t)) ago)"
            if let pf {
                let fall = (ref.value - pf.value) / ref.value
                evidence.append(("fall_fraction", .number(Fmt.round(fall, 3))))
                evidence.append(("pf_limit", .number(Fmt.round(ref.value * (1 - settings.pfFallFraction), 1))))
                change = ", down \(Fmt.fixed(fall * 100, 0)) % from \(Fmt.fixed(ref.value, 0)) (\(ref.payload.kind.rawValue)) \(Fmt.duration(t - ref.t)) ago"
            }
        }
        evidence += [("fall_fraction_limit", .number(settings.pfFallFraction)), ("window_s", .number(settings.pfFallWindow))]
        let now = pf.map(pfPhrase) ?? "P/F not currently available"
        return Description(
            active: "\(now)\(change): oxygenation is worsening; reassess the patient and consider a blood gas.",
            cleared: "\(now): no longer \(Fmt.fixed(settings.pfFallFraction * 100, 0)) % below the \(Fmt.duration(settings.pfFallWindow)) high\(high).",
            evidence: evidence)
    }

    private func hemoptysisWarning(at t: Double) -> (String, [(String, JSONValue)]) {
        guard let charted = lastHemoptysisCharted, Tolerance.le(t - charted.t, settings.proneHemoptysisLookback) else {
            return ("", [("hemoptysis_charted_t", lastHemoptysisCharted.map { .number($0.t) } ?? .null)])
        }
        let total = hemoptysis.filter { Tolerance.le(t - $0.t, settings.proneHemoptysisLookback) }.reduce(0) { $0 + $1.ml }
        return (" Caution: haemoptysis charted in the last \(Fmt.duration(settings.proneHemoptysisLookback)) (\(Fmt.fixed(total, 0)) ml, last \(Fmt.fixed(charted.ml, 0)) ml \(Fmt.duration(t - charted.t)) ago); in PROSEVA haemoptysis was a reason to stop a session.",
                [("hemoptysis_charted_t", .number(charted.t)), ("hemoptysis_lookback_ml", .number(total))])
    }

    private func describeProne(at t: Double) -> Description {
        let (warning, hemoptysisEvidence) = hemoptysisWarning(at: t)
        var evidence: [(String, JSONValue)] = [("pf", pf.map(pfEvidence) ?? .null)]
        evidence += readingEvidence(.fio2, "fio2_fraction", decimals: 3) + readingEvidence(.peep, "peep_cmh2o", decimals: 1)
        evidence += [("position", .string(position.rawValue)),
                     ("criteria_since_t", proneWindow.since.map { .number($0) } ?? .null)]
        evidence += hemoptysisEvidence
        let held = proneWindow.since.map { " for \(Fmt.duration(t - $0))" } ?? ""
        let fio2 = reading(.fio2).map { Fmt.fixed($0.value, 2) } ?? "?"
        let peep = reading(.peep).map { Fmt.fixed($0.value, 0) } ?? "?"
        let now = pf.map(pfPhrase) ?? "P/F not available"
        let cleared = switch proneEndReason {
        case "charted prone"?: "Patient charted prone."
        case "haemoptysis"?: "Prone prompt withheld while large haemoptysis is charted (dah.hemoptysis_volume); the criteria are still followed."
        case let reason?: "Prone positioning criteria \(reason): the qualifying window starts again (\(now), FiO2 \(fio2), PEEP \(peep))."
        case nil: "Prone positioning criteria no longer met (\(now), FiO2 \(fio2), PEEP \(peep))."
        }
        return Description(
            active: "\(now) below \(Fmt.fixed(settings.proneMaxPF, 0)) with FiO2 \(fio2) and PEEP \(peep) cmH2O\(held) while supine: consider prone positioning (PROSEVA), sessions of at least \(Fmt.fixed(settings.proneSessionHours, 0)) h.\(warning)",
            cleared: cleared,
            evidence: evidence)
    }

    private func describeProneRepeat(at t: Double) -> Description {
        let (warning, hemoptysisEvidence) = hemoptysisWarning(at: t)
        let session = lastSession.map { $0.end - $0.start }
        var evidence: [(String, JSONValue)] = [("pf", pf.map(pfEvidence) ?? .null)]
        evidence += readingEvidence(.peep, "peep_cmh2o", decimals: 1) + readingEvidence(.fio2, "fio2_fraction", decimals: 3)
        evidence += [("last_prone_t", lastProneT.map { .number($0) } ?? .null), ("supine_since_t", .number(positionSince)),
                     ("session_s", session.map { .number(Fmt.round($0, 0)) } ?? .null)]
        evidence += hemoptysisEvidence
        let fio2 = reading(.fio2).map { Fmt.fixed($0.value, 2) } ?? "?"
        let peep = reading(.peep).map { Fmt.fixed($0.value, 0) } ?? "?"
        let now = pf.map(pfPhrase) ?? "P/F not available"
        let sessionText = session.map { "a \(Fmt.duration($0)) prone session" } ?? "a prone session"
        var short = ""
        if let session, Tolerance.lt(session, settings.proneSessionHours * 3600) { short = " Last session only \(Fmt.duration(session))." }
        let cleared = switch repeatEndReason {
        case "charted prone"?: "Patient charted prone."
        case "haemoptysis"?: "Next prone session not prompted while large haemoptysis is charted (dah.hemoptysis_volume)."
        case "improved"?: "PROSEVA improvement criteria met (\(now), PEEP \(peep), FiO2 \(fio2)): see escalation.prone_stop."
        default: "Next prone session no longer prompted (\(now), PEEP \(peep), FiO2 \(fio2), \(position.rawValue))."
        }
        return Description(
            active: "Supine \(Fmt.duration(t - positionSince)) after \(sessionText) and PROSEVA improvement criteria not met (\(now), PEEP \(peep), FiO2 \(fio2)): consider the next prone session (daily sessions of at least \(Fmt.fixed(settings.proneSessionHours, 0)) h until improvement).\(short)\(warning)",
            cleared: cleared,
            evidence: evidence)
    }

    private func describeProneStop(at t: Double) -> Description {
        var evidence: [(String, JSONValue)] = [("pf", pf.map(pfEvidence) ?? .null)]
        evidence += readingEvidence(.fio2, "fio2_fraction", decimals: 3) + readingEvidence(.peep, "peep_cmh2o", decimals: 1)
        evidence += [("supine_since_t", .number(positionSince)),
                     ("last_prone_t", lastProneT.map { .number($0) } ?? .null),
                     ("criteria_since_t", proneStopOnset.since.map { .number($0) } ?? .null)]
        let held = proneStopOnset.since.map { Fmt.duration(t - $0) } ?? "?"
        let fio2 = reading(.fio2).map { Fmt.fixed($0.value, 2) } ?? "?"
        let peep = reading(.peep).map { Fmt.fixed($0.value, 0) } ?? "?"
        let now = pf.map(pfPhrase) ?? "P/F not available"
        return Description(
            active: "Supine \(now) at or above \(Fmt.fixed(settings.proneStopMinPF, 0)) with PEEP \(peep) cmH2O and FiO2 \(fio2) for \(held) after proning: PROSEVA criteria to stop prone sessions are met.",
            cleared: "Criteria to stop prone sessions no longer met (\(now), FiO2 \(fio2), PEEP \(peep), \(position.rawValue)).",
            evidence: evidence)
    }

    private func describePlasmaExchange(at t: Double) -> Description {
        var evidence: [(String, JSONValue)] = [
            ("indication", plexIndication.map { .string($0.name) } ?? .null),
            ("conditions", .array(Condition.allCases.filter { patient.conditions.contains($0) }.map { .string($0.rawValue) })),
            ("pf", pf.map(pfEvidence) ?? .null),
            ("criteria_since_t", plexWindow.since.map { .number($0) } ?? .null),
            ("creatinine_mg_dl", plexKidney.map { .number($0.value) } ?? .null),
            ("creatinine_t", plexKidney.map { .number($0.t) } ?? .null),
        ]
        var text = "Immunosuppression (glucocorticoids with rituximab or cyclophosphamide) is the mainstay; plasma exchange is adjunctive."
        switch plexIndication {
        case .antiGBM?:
            text += " Anti-GBM disease: plasma exchange is recommended for nearly all patients and always with pulmonary haemorrhage (KDIGO 2021): daily exchanges, typically 14 days or until anti-GBM antibodies are undetectable."
        case .ancaKidney?:
            let creatinine = plexKidney.map { Fmt.fixed($0.value, 1) } ?? "?"
            text += " Creatinine \(creatinine) mg/dL (> \(Fmt.fixed(settings.plexKidneyCreatinine, 1))): KDIGO 2024 and BMJ 2022 suggest considering plasma exchange (PEXIVAS regimen: 7 exchanges within 14 days)."
        case .dahHypoxaemia?:
            let now = pf.map(pfPhrase) ?? "P/F not available"
            let held = plexWindow.since.map { " for \(Fmt.duration(t - $0))" } ?? ""
            text += " DAH with \(now) below \(Fmt.fixed(settings.plexMaxPF, 0))\(held): KDIGO 2024 says plasma exchange may be considered; PEXIVAS showed no overall effect on death or ESKD and BMJ 2022 suggests against it without severe kidney involvement: discuss with nephrology/rheumatology."
        case nil:
            break
        }
        let bleeding = patient.hasDAH || hemoptysis.contains { Tolerance.le(t - $0.t, 24 * 3600) && $0.ml > 0 }
        if bleeding { text += " Use fresh frozen plasma for the replacement while bleeding." }
        evidence.append(("ffp_replacement", .bool(bleeding)))
        return Description(
            active: text,
            cleared: plexEndReason.map { "Plasma exchange no longer prompted: \($0)." } ?? "Plasma exchange no longer prompted: no indication holds.",
            evidence: evidence)
    }

    private func describeKidney() -> Description {
        guard let finding = creatinineFinding else {
            return Description(active: "Creatinine: no result.", cleared: "Creatinine: no result.", evidence: [("creatinine_mg_dl", .null)])
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
        let context = names.filter { patient.conditions.contains($0.0) }.map(\.1).joined(separator: " and ")
        let value = "Creatinine \(Fmt.fixed(finding.value, 1)) mg/dL"
        var how = ""
        if finding.criterion == "ratio" || (finding.criterion == "rise" && finding.ratio.map { Tolerance.ge($0, settings.creatinineRatio) } == true),
           let ratio = finding.ratio, let baseline = finding.baseline {
            let window = settings.creatinineBaselineWindow
            let days = (window / 86400).rounded()
            let name = Tolerance.equal(window, days * 86400) ? "\(Fmt.fixed(days, 0))-day" : Fmt.duration(window)
            how = ", \(Fmt.fixed(ratio, 1)) x the \(name) baseline \(Fmt.fixed(baseline.value, 1))"
        } else if let lowest = finding.lowest {
            how = ", up \(Fmt.fixed(finding.value - lowest.value, 1)) from \(Fmt.fixed(lowest.value, 1)) within \(Fmt.duration(settings.creatinineWindow))"
        }
        return Description(
            active: "\(value)\(how) (KDIGO AKI stage \(finding.stage))\(context.isEmpty ? "" : " in \(context)"): check urinalysis (blood, protein, casts) for glomerulonephritis; review fluids and nephrotoxins.",
            cleared: "\(value): no longer meets the KDIGO AKI creatinine criteria (a \(Fmt.fixed(settings.creatinineRise, 1)) mg/dL rise within \(Fmt.duration(settings.creatinineWindow)) or \(Fmt.fixed(settings.creatinineRatio, 1)) x the baseline).",
            evidence: evidence)
    }

    private func describeLab(_ finding: LabFinding?, name: String, unit: String, rising: Bool, threshold: Double,
                             window: Double, key: String) -> Description
    {
        guard let finding else {
            return Description(active: "\(name): no result.", cleared: "\(name): no result.", evidence: [(key, .null)])
        }
        var evidence: [(String, JSONValue)] = [(key, .number(finding.value)), (key.prefixUpToUnit + "_t", .number(finding.t))]
        var change = ""
        if let reference = finding.reference {
            let delta = rising ? finding.value - reference.value : reference.value - finding.value
            evidence += [("reference_" + key, .number(reference.value)), ("reference_t", .number(reference.t)),
                         (rising ? "rise" : "drop", .number(Fmt.round(delta, 2))), ("window_s", .number(window))]
            change = " from \(Fmt.fixed(reference.value, 1)) \(Fmt.duration(finding.t - reference.t)) earlier"
        }
        let action = rising
            ? "possible acute kidney injury (KDIGO) in vasculitis: review fluids, nephrotoxins and renal involvement."
            : "possible ongoing alveolar bleeding: review haemoptysis, transfusion threshold and coagulation."
        let direction = rising ? "rose" : "fell"
        return Description(
            active: "\(name) \(direction) to \(Fmt.fixed(finding.value, 1)) \(unit)\(change) (limit \(Fmt.fixed(threshold, 1)) \(unit) within \(Fmt.duration(window))): \(action)",
            cleared: "\(name) \(Fmt.fixed(finding.value, 1)) \(unit)\(change): no longer a \(Fmt.fixed(threshold, 1)) \(unit) \(rising ? "rise" : "fall") within \(Fmt.duration(window)).",
            evidence: evidence)
    }

    private func describeHemoptysis() -> Description {
        let evidence: [(String, JSONValue)] = [
            ("total_ml", .number(Fmt.round(hemoptysisTotal, 1))), ("window_s", .number(settings.hemoptysisWindow)),
            ("entries", .number(Double(hemoptysis.count))),
            ("first_entry_t", hemoptysis.first.map { .number($0.t) } ?? .null),
            ("last_entry_t", hemoptysis.last.map { .number($0.t) } ?? .null),
        ]
        let window = Fmt.duration(settings.hemoptysisWindow)
        // Ventilated (a current Vt or PEEP): the airway is a tube, and prone prompts wait.
        let ventilated = reading(.vt) != nil || reading(.peep) != nil
        let action = ventilated
            ? "call the physician: check tube position and patency, suction, consider bronchoscopy; check Hb and coagulation. Prone prompts are withheld while it holds."
            : "call the physician; secure the airway, check Hb and coagulation."
        return Description(
            active: "Haemoptysis \(Fmt.fixed(hemoptysisTotal, 0)) ml charted in the last \(window) (limit \(Fmt.fixed(settings.hemoptysisVolume, 0)) ml): \(action)",
            cleared: "Haemoptysis in the last \(window) now \(Fmt.fixed(hemoptysisTotal, 0)) ml, below \(Fmt.fixed(settings.hemoptysisVolume, 0)) ml.",
            evidence: evidence)
    }

    private func describeHemoptysisProne() -> Description {
        let evidence: [(String, JSONValue)] = [
            ("hemoptysis_ml", proneHemoptysis.map { .number($0.ml) } ?? .null),
            ("hemoptysis_t", proneHemoptysis.map { .number($0.t) } ?? .null),
            ("prone_since_t", position == .prone ? .number(positionSince) : (lastSession.map { .number($0.start) } ?? .null)),
        ]
        let ml = proneHemoptysis.map { Fmt.fixed($0.ml, 0) } ?? "?"
        return Description(
            active: "Haemoptysis \(ml) ml during a prone session: check tube patency and suction; consider turning supine (in PROSEVA haemoptysis stopped the session).",
            cleared: "Patient charted supine after haemoptysis during a prone session.",
            evidence: evidence)
    }

    private func describeSilence(source src: Int, at t: Double) -> Description {
        let state = sources[src]
        let timeout = settings.silentAfter(source: state.name)
        let evidence: [(String, JSONValue)] = [("last_valid_t", .number(state.lastValid)),
                                                ("silent_s", .number(Fmt.round(t - state.lastValid, 3))),
                                                ("timeout_s", .number(timeout))]
        return Description(
            active: "No valid data from \(state.name) for \(Fmt.duration(t - state.lastValid)) (limit \(Fmt.duration(timeout))): check the device, its cable and power; its values are not being monitored.",
            cleared: "Data from \(state.name) resumed.",
            evidence: evidence)
    }

    private func describeSensor(source src: Int) -> Description {
        let state = sources[src]
        let evidence: [(String, JSONValue)] = [("sensor", .string(state.sensor.rawValue)), ("since_t", .number(state.sensorSince))]
        let what = state.sensor == .disconnected ? "is disconnected" : "is off the patient"
        return Description(
            active: "Oximeter probe on \(state.name) \(what): SpO2 is not being monitored; check the probe and its site.",
            cleared: "Oximeter probe on \(state.name) reporting again.",
            evidence: evidence)
    }

    private func describeRejection(source src: Int, parameter: Parameter) -> Description {
        let rejection = sources[src].rejections[parameter.rawValue]
        var evidence: [(String, JSONValue)] = [("parameter", .string(parameter.name)), ("unit", .string(parameter.unit))]
        if let range = parameter.acceptedRange {
            evidence.append(("accepted", .array([.number(range.lowerBound), .number(range.upperBound)])))
        }
        if let rejection {
            // A number past any device's range is shown as the text received, never as a number.
            evidence += [("value", rejection.value.map { .number($0) } ?? .null)]
            if rejection.value == nil { evidence.append(("value_text", .string(rejection.shown))) }
            evidence += [("value_t", .number(rejection.t)), ("rejected_count", .number(Double(rejection.count)))]
        }
        let range = parameter.acceptedRange.map { " (accepted \(Fmt.fixed($0.lowerBound, 1).trimmingTrailingZeros)-\(Fmt.fixed($0.upperBound, 1).trimmingTrailingZeros))" } ?? ""
        // A number no device could mean is shown as received, in the device's own unit when it had one.
        let what = if let rejection, rejection.value == nil, rejection.shown.contains(" ") {
            "Impossible \(parameter.name) value from \(sources[src].name) rejected: the device sent \(rejection.shown)"
                + (parameter.acceptedRange.map { " (accepted \(Fmt.fixed($0.lowerBound, 1).trimmingTrailingZeros)-\(Fmt.fixed($0.upperBound, 1).trimmingTrailingZeros) \(parameter.unit))" } ?? "")
        } else {
            "Impossible \(parameter.name) value \(rejection?.shown ?? "?") \(parameter.unit) from \(sources[src].name) rejected\(range)"
        }
        return Description(
            active: "\(what); it is not used by the clinical rules. Check the device and its interface.",
            cleared: "Valid \(parameter.name) values from \(sources[src].name) again.",
            evidence: evidence)
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
