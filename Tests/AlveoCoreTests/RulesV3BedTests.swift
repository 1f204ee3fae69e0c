import Testing
@testable import AlveoCore

/// Clinical rules v3 acceptance (shared/clinical-v3.md §7) at the core: prone prompts with cautions, the
/// stop assessments, haemoptysis while prone, ECMO, the EOLIA referral, hypotension, plasma-exchange texts.
@Suite struct RulesV3BedTests {
    typealias Row = (String, Parameter, Any?)

    // MARK: - §7.7 prone prompt with cautions

    /// §7.7: prone criteria from 0 h, 250 ml haemoptysis at 1 h and MAP 58 mmHg from 11 h: the prompt at
    /// 12 h with both cautions; 450 ml more at 13 h: hemoptysis_volume escalates to high and the prompt
    /// gets an update (reason caution, massive), without ending.
    @Test func thePronePromptComesWithCautionsInsteadOfBeingWithheld() throws {
        var h = Harness(Patient(sex: .male, heightCm: 170, conditions: [.diffuseAlveolarHemorrhage]))
        let severe: [Row] = [("vent", .fio2, 80), ("vent", .peep, 12), ("oxi", .spo2, 88)]
        var t = 0.0
        while t <= 50400 {
            var rows = severe
            if t == 3600 { rows.append(("nurse", .hemoptysis, 250)) }
            if t == 46800 { rows.append(("nurse", .hemoptysis, 450)) }
            if t >= 39600 { rows.append(("mon", .map, 58)) }
            h.feed(t, rows)
            t += 600
        }
        let prone = h.events(.pronePositioning)
        #expect(prone.first.map { "\($0.phase)@\($0.t)" } == "start@43200.0", "\(h.trail(.pronePositioning))")
        let start = try #require(prone.first)
        #expect(start.evidence.contains { $0.0 == "cautions" && $0.1 == .array([.string("hemoptysis"), .string("hypotension")]) },
                "\(start.evidence)")
        #expect(start.text.contains("Caution: haemoptysis 250 ml in the last 24 h") && start.text.contains("PROSEVA excluded MAP < 65 mmHg"),
                "\(start.text)")
        let update = try #require(prone.first { $0.phase == .update })
        #expect(update.t == 46800 && update.reason == "caution")
        #expect(update.evidence.contains { $0.0 == "cautions" && $0.1 == .array([.string("massive_hemoptysis"), .string("hypotension")]) })
        #expect(!prone.contains { $0.phase == .end })
        #expect(h.events(.hemoptysisVolume).contains { $0.phase == .escalate && $0.t == 46800 && $0.priority == .high },
                "\(h.trail(.hemoptysisVolume))")
    }

    // MARK: - §7.10 stop assessments

    /// §7.10: supine with the stop criteria met and a 2 min probe-off gap at 2 h: prone_stop exactly 4 h
    /// after supine.
    @Test func theStopAssessmentIsMadeOnceFourHoursAfterSupine() {
        var h = Harness()
        let improved: [Row] = [("vent", .fio2, 40), ("vent", .peep, 8), ("oxi", .spo2, 95)]  // imputed P/F ~ 198
        h.feed(0, improved + [("nurse", .position, "prone")])
        h.hold(from: 60, to: 57600 - 60, step: 60, improved)
        h.feed(57600, improved + [("nurse", .position, "supine")])
        var t = 57660.0
        while t <= 57600 + 4 * 3600 + 600 {
            let probeOff = t >= 57600 + 7200 && t < 57600 + 7320
            h.feed(t, probeOff ? [("vent", .fio2, 40), ("vent", .peep, 8), ("oxi", .sensor, "off")] : improved)
            t += 60
        }
        #expect(h.trail(.proneStop).first == "start@\(JSONValue.format(57600 + 14400)):low", "\(h.trail(.proneStop))")
        #expect(h.events(.proneRepeat).isEmpty)
    }

    /// §7.10: supine with P/F 148.9 / 157.5 alternating: one prone_repeat at 4 h, nothing at 8 h; a
    /// steady 168 from 9 h: at 12 h the repeat ends and prone_stop starts.
    @Test func alternatingPFGivesOneRepeatThenAStopWhenSteady() {
        var h = Harness()
        let setting: [Row] = [("vent", .fio2, 60), ("vent", .peep, 10)]
        h.feed(0, setting + [("nurse", .position, "prone")])
        h.feed(3600, setting + [("nurse", .position, "supine")])
        var t = 3600.0 + 300
        var alternate = false
        while t <= 3600 + 12 * 3600 + 600 {
            let steady = t >= 3600 + 9 * 3600
            alternate.toggle()
            let pao2 = steady ? 100.8 : (alternate ? 89.34 : 94.5)  // P/F 168, 148.9, 157.5 on FiO2 0.6
            h.feed(t, setting + [("lab", .pao2, pao2)])
            t += 300
        }
        #expect(h.trail(.proneRepeat).filter { !$0.hasPrefix("continue") } == [
            "start@\(JSONValue.format(3600 + 14400)):medium", "end@\(JSONValue.format(3600 + 43200)):medium",
        ], "\(h.trail(.proneRepeat))")
        #expect(h.trail(.proneStop).first == "start@\(JSONValue.format(3600 + 43200)):low", "\(h.trail(.proneStop))")
    }

    /// §4.8: an acknowledged prone_repeat starts again at the next assessment that is not met (not after
    /// rearm_s); a session charted before the first assessment is due cancels it; a criterion known false
    /// after a met assessment ends prone_stop with the course ended (prone_positioning armed again).
    @Test func repeatAfterAcknowledgementAndStopEndingOnAFalseCriterion() throws {
        var h = Harness()
        let poor: [Row] = [("vent", .fio2, 80), ("vent", .peep, 14), ("oxi", .spo2, 88)]
        h.feed(0, poor + [("nurse", .position, "prone")])
        h.feed(3600, poor + [("nurse", .position, "supine")])
        h.hold(from: 3660, to: 3600 + 14400, step: 60, poor)
        #expect(h.trail(.proneRepeat) == ["start@18000:medium"], "\(h.trail(.proneRepeat))")
        h.feed(18060, poor + [("nurse", .ack, "escalation.prone_repeat")])
        h.hold(from: 18120, to: 18000 + 14400, step: 60, poor)
        #expect(h.trail(.proneRepeat).filter { !$0.hasPrefix("continue") } == ["start@18000:medium", "end@18060:medium", "start@32400:medium"],
                "\(h.trail(.proneRepeat))")

        // Prone again 2 h after a session: no assessment for that session.
        var early = Harness()
        early.feed(0, poor + [("nurse", .position, "prone")])
        early.feed(3600, poor + [("nurse", .position, "supine")])
        early.hold(from: 3660, to: 10800, step: 60, poor)
        early.feed(10860, poor + [("nurse", .position, "prone")])
        early.hold(from: 10920, to: 30000, step: 60, poor)
        #expect(early.events(.proneRepeat).isEmpty && early.events(.proneStop).isEmpty)

        // A met assessment, then PEEP 12: prone_stop ends, the course has ended.
        var stop = Harness()
        let good: [Row] = [("vent", .fio2, 40), ("vent", .peep, 8), ("oxi", .spo2, 95)]
        stop.feed(0, good + [("nurse", .position, "prone")])
        stop.feed(3600, good + [("nurse", .position, "supine")])
        stop.hold(from: 3660, to: 18000, step: 60, good)
        stop.feed(18060, [("vent", .fio2, 40), ("vent", .peep, 12), ("oxi", .spo2, 95)])
        #expect(stop.trail(.proneStop) == ["start@18000:low", "end@18060:low"], "\(stop.trail(.proneStop))")
        let end = try #require(stop.events(.proneStop).last)
        #expect(end.text.hasPrefix("PROSEVA stop criteria no longer met") && end.text.contains("escalation.prone_positioning applies again"), "\(end.text)")
        #expect(stop.core.courseEnded)
    }

    /// §3.3, §4.8: ECMO charted ends prone_stop and prone_repeat (reason ecmo) and the course; no
    /// assessment is made on ECMO.
    @Test func ecmoEndsTheStopAndRepeatPrompts() throws {
        let good: [Row] = [("vent", .fio2, 40), ("vent", .peep, 8), ("oxi", .spo2, 95)]
        var stop = Harness()
        stop.feed(0, good + [("nurse", .position, "prone")])
        stop.feed(3600, good + [("nurse", .position, "supine")])
        stop.hold(from: 3660, to: 18000, step: 60, good)
        stop.feed(18060, good + [("nurse", .ecmo, "vv")])
        let end = try #require(stop.events(.proneStop).last)
        #expect(stop.trail(.proneStop) == ["start@18000:low", "end@18060:low"] && end.reason == "ecmo", "\(stop.trail(.proneStop))")

        let poor: [Row] = [("vent", .fio2, 80), ("vent", .peep, 14), ("oxi", .spo2, 88)]
        var repeating = Harness()
        repeating.feed(0, poor + [("nurse", .position, "prone")])
        repeating.feed(3600, poor + [("nurse", .position, "supine")])
        repeating.hold(from: 3660, to: 18000, step: 60, poor)
        repeating.feed(18060, poor + [("nurse", .ecmo, "va")])
        repeating.hold(from: 18120, to: 40000, step: 600, poor)
        #expect(repeating.events(.proneRepeat).filter { $0.phase != .continue }.map { "\($0.phase)@\($0.t):\($0.reason ?? "-")" }
                == ["start@18000.0:-", "end@18060.0:ecmo"], "\(repeating.trail(.proneRepeat))")
        #expect(repeating.events(.proneStop).isEmpty)
    }

    // MARK: - §7.11 haemoptysis while prone

    @Test func haemoptysisWhileProneByAmountAndSampleTime() throws {
        // 40 ml during a session: medium, ends at supine.
        var small = Harness()
        small.feed(0, [("nurse", .position, "prone")])
        small.feed(600, [("nurse", .hemoptysis, 40)])
        small.hold(from: 1200, to: 3000, step: 600, [])
        small.feed(3600, [("nurse", .position, "supine")])
        #expect(small.trail(.hemoptysisProne).filter { !$0.hasPrefix("continue") } == ["start@600:medium", "end@3600:medium"])

        // 120 ml: high, latched at supine.
        var large = Harness()
        large.feed(0, [("nurse", .position, "prone")])
        large.feed(600, [("nurse", .hemoptysis, 120)])
        large.feed(3600, [("nurse", .position, "supine")])
        #expect(large.trail(.hemoptysisProne).filter { !$0.hasPrefix("continue") } == ["start@600:high", "update@3600:high:latched"])

        // 50 ml sampled while prone, charted an hour after supine: starts at the charting, ends 900 s later.
        var harness = Harness()
        harness.feed(0, [("nurse", .position, "prone")])
        harness.feed(7200, [("nurse", .position, "supine")])
        harness.feedSampled(10800, [("nurse", .hemoptysis, 50, 3600)])
        harness.hold(from: 10860, to: 12000, step: 60, [])
        #expect(harness.trail(.hemoptysisProne).filter { !$0.hasPrefix("continue") } == ["start@10800:medium", "end@11700:medium"])
        let start = try #require(harness.events(.hemoptysisProne).first)
        #expect(start.evidence.contains { $0.0 == "late" && $0.1 == .bool(true) })
        #expect(start.text.contains("charted after turning supine"), "\(start.text)")
    }

    // MARK: - §7.12, 7.13 ECMO

    /// §7.12: VV-ECMO charted ends pf_severity, the prone prompt and ecmo_referral (reason ecmo); Vt 3
    /// ml/kg on ECMO gives no tidal_volume_low; `ecmo none` lets the P/F rules start afresh.
    @Test func ecmoEndsTheOxygenationPromptsAndNoneStartsThemAfresh() throws {
        var h = Harness()
        let severe: [Row] = [("vent", .fio2, 100), ("vent", .peep, 16), ("oxi", .spo2, 80), ("vent", .vt, 400)]
        h.hold(from: 0, to: 46800, step: 600, severe)
        #expect(h.events(.pronePositioning).first?.phase == .start)
        #expect(h.events(.ecmoReferral).first?.phase == .start)
        #expect(h.events(.pfSeverity).first?.phase == .start)
        h.feed(47400, severe + [("nurse", .ecmo, "vv")])
        for rule in [RuleID.pfSeverity, .pronePositioning, .ecmoReferral] {
            let last = try #require(h.events(rule).last)
            #expect(last.phase == .end && last.t == 47400 && last.reason == "ecmo", "\(rule.id): \(h.trail(rule))")
        }
        h.hold(from: 48000, to: 48000 + 1800, step: 60, [("vent", .fio2, 100), ("vent", .peep, 10), ("oxi", .spo2, 80), ("vent", .vt, 200)])
        #expect(h.events(.tidalVolumeLow).isEmpty)
        #expect(!h.events(.pfSeverity).contains { $0.t > 47400 })
        h.feed(50000, severe + [("nurse", .ecmo, "none")])
        h.feed(50060, severe)
        #expect(h.events(.pfSeverity).contains { $0.phase == .start && $0.t >= 50000 }, "\(h.trail(.pfSeverity))")
    }

    /// §3.3: pf_falling ends at the charting of ECMO (reason ecmo, evidence ecmo); after `ecmo none` a P/F
    /// is compared only with values after ECMO (P/F 120 after a pre-ECMO high of 200 is no fall), and a
    /// fall after ECMO starts it again.
    @Test func pfFallingEndsOnECMOAndComparesOnlyValuesAfterIt() throws {
        var h = Harness()
        func gas(_ pao2: Double) -> [Row] { [("vent", .fio2, 50), ("lab", .pao2, pao2)] }  // P/F = 2 x PaO2
        h.hold(from: 0, to: 1800, step: 300, gas(100))
        h.feed(2100, gas(70))
        h.feed(2400, gas(70) + [("nurse", .ecmo, "vv")])
        h.hold(from: 2700, to: 4800, step: 300, gas(60))
        h.feed(5100, gas(60) + [("nurse", .ecmo, "none")])
        h.hold(from: 5400, to: 6000, step: 300, gas(60))
        h.hold(from: 6300, to: 6900, step: 300, gas(75))
        h.feed(7200, gas(55))
        #expect(h.trail(.pfFalling).filter { !$0.hasPrefix("continue") } == ["start@2100:medium", "end@2400:medium", "start@7200:medium"],
                "\(h.trail(.pfFalling))")
        let end = try #require(h.events(.pfFalling).first { $0.phase == .end })
        #expect(end.reason == "ecmo" && end.evidence.contains { $0.0 == "ecmo" && $0.1 == .string("vv") }, "\(end.evidence)")
        #expect(end.text.hasPrefix("Ended: VV-ECMO charted: P/F from the ventilator's FiO2 does not describe oxygenation on ECMO. Was: "),
                "\(end.text)")
        #expect(end.evidence.filter { $0.0 == "ecmo" }.count == 1)
        let again = try #require(h.events(.pfFalling).last)
        #expect(again.text.contains("from 150 (measured)"), "the reference is the high after ECMO: \(again.text)")
        #expect(again.evidence.contains { $0.0 == "ecmo" && $0.1 == .string("none") })
        // pf_severity ended too, and started afresh after `none` (P/F 120: moderate).
        #expect(h.events(.pfSeverity).contains { $0.phase == .end && $0.t == 2400 && $0.reason == "ecmo" }, "\(h.trail(.pfSeverity))")
        #expect(h.events(.pfSeverity).contains { $0.phase == .start && $0.t == 5100 }, "\(h.trail(.pfSeverity))")
    }

    /// §3.3, §7.12: a latched pf_severity ends at the charting of ECMO too (reason ecmo, any state).
    @Test func aLatchedPFSeverityEndsOnECMO() throws {
        var h = Harness()
        h.feed(0, [("vent", .fio2, 50), ("lab", .pao2, 40)])     // P/F 80: severe
        h.feed(600, [("vent", .fio2, 50), ("lab", .pao2, 170)])  // P/F 340: out of the bands, latched
        #expect(h.trail(.pfSeverity).last == "update@600:high:latched", "\(h.trail(.pfSeverity))")
        h.feed(1200, [("vent", .fio2, 50), ("lab", .pao2, 170), ("nurse", .ecmo, "vv")])
        let end = try #require(h.events(.pfSeverity).last)
        #expect(end.phase == .end && end.t == 1200 && end.reason == "ecmo" && end.priority == .high, "\(h.trail(.pfSeverity))")
        #expect(end.evidence.contains { $0.0 == "ecmo" && $0.1 == .string("vv") })
        h.hold(from: 1800, to: 3600, step: 600, [("vent", .fio2, 50), ("lab", .pao2, 40)])
        #expect(!h.events(.pfSeverity).contains { $0.t > 1200 }, "\(h.trail(.pfSeverity))")
    }

    /// §3.3, §4.9: the plasma-exchange prompt on the DAH indication alone ends at the charting of ECMO
    /// (reason ecmo) and does not come back on ECMO.
    @Test func plasmaExchangeDAHIndicationEndsOnECMO() throws {
        var h = Harness(Patient(sex: .male, heightCm: 170, conditions: [.diffuseAlveolarHemorrhage]))
        let low: [Row] = [("vent", .fio2, 50), ("lab", .pao2, 70)]  // P/F 140
        h.hold(from: 0, to: 3900, step: 300, low)
        let start = try #require(h.events(.plasmaExchange).first)
        #expect(start.phase == .start && start.evidence.contains { $0.0 == "indication" && $0.1 == .string("dah_hypoxaemia") })
        h.feed(4200, low + [("nurse", .ecmo, "vv")])
        h.hold(from: 4500, to: 4500 + 3 * 3600, step: 300, low)
        #expect(h.trail(.plasmaExchange).filter { !$0.hasPrefix("continue") } == ["start@3600:medium", "end@4200:medium"],
                "\(h.trail(.plasmaExchange))")
        let end = try #require(h.events(.plasmaExchange).last)
        #expect(end.reason == "ecmo" && end.evidence.contains { $0.0 == "ecmo" && $0.1 == .string("vv") })
    }

    /// §4.9: with a stronger indication holding at the charting of ECMO, the prompt is not ended: an
    /// `update`, reason `indication` (ANCA vasculitis with a creatinine above 3.4 mg/dL).
    @Test func plasmaExchangeOnECMOWithAStrongerIndicationIsAnUpdate() throws {
        var h = Harness(Patient(sex: .male, heightCm: 170, conditions: [.diffuseAlveolarHemorrhage, .ancaVasculitis]))
        let low: [Row] = [("vent", .fio2, 50), ("lab", .pao2, 70)]
        h.hold(from: 0, to: 3900, step: 300, low)
        #expect(h.events(.plasmaExchange).first.map { "\($0.phase)@\($0.t)" } == "start@3600.0", "\(h.trail(.plasmaExchange))")
        h.feed(4200, low + [("nurse", .ecmo, "va"), ("lab", .creatinine, 4.0)])
        h.hold(from: 4500, to: 7200, step: 300, low)
        let events = h.events(.plasmaExchange).filter { $0.phase != .continue }
        #expect(events.map { "\($0.phase.rawValue)@\(JSONValue.format($0.t))" } == ["start@3600", "update@4200"], "\(h.trail(.plasmaExchange))")
        let update = try #require(events.last)
        #expect(update.reason == "indication" && update.evidence.contains { $0.0 == "indication" && $0.1 == .string("anca_kidney") })
        #expect(update.evidence.contains { $0.0 == "ecmo" && $0.1 == .string("va") })
    }

    /// §3.3: `ecmo_vv` among the conditions: on ECMO from the first group (no P/F rule, no prone prompt, no
    /// referral, no tidal_volume_low); a charted `ecmo none` replaces it.
    @Test func ecmoConditionAtStartSuppressesTheOxygenationRulesFromTheFirstGroup() throws {
        var h = Harness(Patient(sex: .male, heightCm: 170, conditions: [.ecmoVV]))
        let severe: [Row] = [("vent", .fio2, 100), ("vent", .peep, 16), ("oxi", .spo2, 80), ("vent", .vt, 200)]
        h.hold(from: 0, to: 7 * 3600, step: 600, severe)
        for rule in [RuleID.pfSeverity, .pfFalling, .pronePositioning, .ecmoReferral, .tidalVolumeLow, .plasmaExchange] {
            #expect(h.events(rule).isEmpty, "\(rule.id): \(h.trail(rule))")
        }
        #expect(h.core.currentPF != nil, "P/F is still computed and shown")
        h.feed(7 * 3600 + 600, severe + [("nurse", .ecmo, "none")])
        let start = try #require(h.events(.pfSeverity).first)
        #expect(start.phase == .start && start.t == 7 * 3600 + 600 && start.priority == .high, "\(h.trail(.pfSeverity))")
        #expect(start.evidence.contains { $0.0 == "ecmo" && $0.1 == .string("none") })
        #expect(!Patient(sex: .male, heightCm: 170, conditions: [.ecmoVV, .ecmoVA]).hasVasculitis)
    }

    /// §7.13: EOLIA's criteria each by its own window.
    @Test func ecmoReferralByEOLIACriteria() throws {
        var h = Harness()
        var t = 0.0
        while t <= 10800 {
            h.feed(t, [("vent", .fio2, 100), ("vent", .peep, 16)] + (Int(t) % 1800 == 0 ? [("lab", .pao2, 45)] : []))
            t += 600
        }
        let referral = try #require(h.events(.ecmoReferral).first)
        #expect(referral.t == 10800 && referral.evidence.contains { $0.0 == "criterion" && $0.1 == .string("pf_50_3h") }, "\(h.trail(.ecmoReferral))")

        var lowFiO2 = Harness()
        t = 0
        while t <= 8 * 3600 {
            lowFiO2.feed(t, [("vent", .fio2, 70), ("vent", .peep, 16)] + (Int(t) % 1800 == 0 ? [("lab", .pao2, 31.5)] : []))
            t += 600
        }
        #expect(lowFiO2.events(.ecmoReferral).isEmpty)

        for (rr, expected) in [(35.0, true), (28.0, false)] {
            var hyper = Harness()
            t = 0
            while t <= 8 * 3600 {
                var rows: [Row] = [("vent", .fio2, 50), ("vent", .peep, 12), ("vent", .rr, rr), ("vent", .pplat, 30)]
                if Int(t) % 7200 == 0 { rows += [("lab", .ph, 7.18), ("lab", .paco2, 72), ("lab", .pao2, 90)] }
                hyper.feed(t, rows)
                t += 600
            }
            let first = hyper.events(.ecmoReferral).first
            if expected {
                #expect(first?.t == 21600 && first?.evidence.contains { $0.0 == "criterion" && $0.1 == .string("ph_paco2_6h") } == true,
                        "\(hyper.trail(.ecmoReferral))")
            } else {
                #expect(first == nil, "\(hyper.trail(.ecmoReferral))")
            }
        }
    }

    // MARK: - §7.14 circulation.hypotension

    @Test func hypotensionTiersOffsetsAndTheArterialLineWins() throws {
        var h = Harness()
        for t in stride(from: 0.0, to: 1200, by: 1) {
            let map: Double = t < 400 ? 62 : (t < 600 ? 50 : (t < 900 ? 66 : 70))
            h.feed(t, [("mon", .map, map), ("mon", .heartRate, 118)])
        }
        let transitions = h.events(.hypotension).filter { $0.phase != .continue }
        #expect(transitions.map { "\($0.phase.rawValue)@\(JSONValue.format($0.t))" } == ["start@300", "escalate@460", "de-escalate@720", "update@1020"],
                "\(h.trail(.hypotension))")
        #expect(transitions.map(\.priority).prefix(3) == [.medium, .high, .medium])
        #expect(transitions.last?.state == .latched, "reached high unacknowledged: latched, not ended")

        var cuff = Harness()
        cuff.feed(0, [("mon", .nibpMap, 60), ("mon", .heartRate, 100)])
        cuff.hold(from: 1, to: 399, [("mon", .heartRate, 100)])
        let start = try #require(cuff.events(.hypotension).first)
        #expect(start.t == 300 && start.evidence.contains { $0.0 == "map_source" && $0.1 == .string("nibp") }, "\(start.evidence)")
        cuff.hold(from: 400, to: 700, [("mon", .map, 70), ("mon", .heartRate, 100)])
        let end = try #require(cuff.events(.hypotension).last)
        #expect(end.phase == .end && end.t == 520, "the arterial line wins over the current cuff value: \(cuff.trail(.hypotension))")
    }

    // MARK: - §7.15 texts (anti-GBM)

    @Test func antiGBMPlasmaExchangeText() throws {
        var gbm = Harness(Patient(sex: .male, heightCm: 170, conditions: [.antiGBM, .ancaVasculitis]))
        gbm.feed(0, [])
        let plex = try #require(gbm.events(.plasmaExchange).first)
        #expect(plex.text.hasPrefix("Anti-GBM disease: KDIGO 2021 recommends plasma exchange with cyclophosphamide and glucocorticoids"), "\(plex.text)")
        #expect(!plex.text.contains("Immunosuppression (glucocorticoids with rituximab or cyclophosphamide) is the mainstay"))
    }
}

extension Harness {
    /// Feeds one group of charted values with their own sample times (value, sampled_t).
    @discardableResult
    mutating func feedSampled(_ t: Double, _ rows: [(String, Parameter, Double, Double)]) -> [AlarmEvent] {
        let observations = rows.map { Observation(source: $0.0, parameter: $0.1, value: .number($0.2), sampledAt: $0.3) }
        return feed(observations: observations, at: t)
    }
}
