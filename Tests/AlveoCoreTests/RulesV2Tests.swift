import Testing
@testable import AlveoCore

/// The acceptance cases of clinical rules v2 at the level of the core (golden scenarios pin whole runs).
@Suite struct RulesV2Tests {
    // 1.1 PBW is for adults.
    @Test func predictedBodyWeightAtTheShortEndAndByHand() throws {
        let female = Patient(sex: .female, heightCm: 130)
        let male = Patient(sex: .male, heightCm: 130)
        #expect(Fmt.round(try #require(female.predictedBodyWeightKg), 1) == 25.1)
        #expect(Fmt.round(try #require(male.predictedBodyWeightKg), 1) == 29.6)
        #expect(female.pbwCaution && !Patient(sex: .female, heightCm: 140).pbwCaution)
        #expect(Patient.heightProblem(100, pbwGiven: false) == "ARDSNet PBW is for adults: height 100 cm is outside 130-250 cm (give patient.pbw_kg for a patient the formula does not fit)")
        #expect(Patient.heightProblem(135, pbwGiven: false) == nil && Patient.heightProblem(100, pbwGiven: true) == nil)
        #expect(Patient.heightProblem(.nan, pbwGiven: false) != nil && Patient.heightProblem(1e308, pbwGiven: true) != nil)

        var h = Harness(Patient(sex: .male, heightCm: 135))
        h.hold(from: 0, to: 400, step: 10, [("vent", .vt, 400)])  // 400 / 34.1 kg = 11.7 ml/kg
        let event = try #require(h.events(.tidalVolumeHigh).first)
        #expect(event.evidence.contains { $0.0 == "pbw_caution" && $0.1 == .bool(true) })
        #expect(event.text.contains("(short stature: check the height)"))

        var byHand = Harness(Patient(sex: .male, heightCm: 110, pbwKg: 40))
        byHand.hold(from: 0, to: 400, step: 10, [("vent", .vt, 400)])
        let manual = try #require(byHand.events(.tidalVolumeHigh).first)
        #expect(manual.text.contains("PBW 40.0 kg entered by hand") && manual.evidence.contains { $0.0 == "pbw_by_hand" && $0.1 == .bool(true) })
    }

    // 1.2 and acceptance 2: one SpO2 of 97 %, an empty FiO2 row, a 15 s silence and a 10 min FiO2 trial do
    // not hold the prompt off; known false for an hour resets the window.
    @Test func pronePromptAtTwelveHoursThroughGapsAndTrials() throws {
        var h = Harness()
        let severe: [(String, Parameter, Any?)] = [("vent", .fio2, 80), ("vent", .peep, 12), ("oxi", .spo2, 88)]  // P/F ~ 69 imputed
        var t = 0.0
        while t < 43200 {
            switch t {
            case 7200: h.feed(t, [("vent", .fio2, 80), ("vent", .peep, 12), ("oxi", .spo2, 97)])  // no imputation: unknown
            case 10800: h.feed(t, [("vent", .fio2, nil), ("vent", .peep, 12), ("oxi", .spo2, 88)])  // empty FiO2 row
            case 14400: h.feed(t, [("vent", .fio2, 80), ("vent", .peep, 12)]); h.feed(t + 15, [])  // oxi silent 15 s
            case 18000..<18600: h.feed(t, [("vent", .fio2, 50), ("vent", .peep, 12), ("oxi", .spo2, 88)])  // FiO2 trial: false
            default: h.feed(t, severe)
            }
            t += t >= 18000 && t < 18600 ? 60 : 600
        }
        #expect(h.events(.pronePositioning).isEmpty)
        h.feed(43200, severe)
        #expect(h.trail(.pronePositioning) == ["start@43200:medium"])
        let event = try #require(h.events(.pronePositioning).first)
        #expect(event.evidence.contains { $0.0 == "criteria_since_t" && $0.1 == .number(0) })

        // Known false (FiO2 0.5) for an hour: the window resets and the prompt ends saying why.
        h.hold(from: 43800, to: 43800 + 3600, step: 600, [("vent", .fio2, 50), ("vent", .peep, 12), ("oxi", .spo2, 88)])
        #expect(h.trail(.pronePositioning) == ["start@43200:medium", "end@47400:medium"])
        #expect(h.events(.pronePositioning).last?.text.contains("not met for 60 min") == true, "\(h.events(.pronePositioning).last?.text ?? "")")
    }

    // Acceptance 3: a 16 h session, supine, criteria not met: prone_repeat 4 h after supine; met: prone_stop and no repeat.
    @Test func proneRepeatAfterASessionAndStopWhenImproved() throws {
        let bad: [(String, Parameter, Any?)] = [("vent", .fio2, 80), ("vent", .peep, 14), ("oxi", .spo2, 88)]
        var h = Harness()
        h.feed(0, [("nurse", .position, "prone")] + bad)
        h.hold(from: 600, to: 57000, step: 600, bad)
        h.feed(57600, [("nurse", .position, "supine")] + bad)  // 16 h session
        h.hold(from: 58200, to: 57600 + 14400 - 600, step: 600, bad)
        #expect(h.events(.proneRepeat).isEmpty)
        h.feed(57600 + 14400, bad)
        #expect(h.trail(.proneRepeat) == ["start@72000:medium"])
        let event = try #require(h.events(.proneRepeat).first)
        #expect(event.text.hasPrefix("Supine 4 h after a 16 h prone session and PROSEVA improvement criteria not met (P/F"))
        #expect(event.text.contains("consider the next prone session (daily sessions of at least 16 h until improvement)") && !event.text.contains("only"))
        #expect(h.events(.pronePositioning).isEmpty, "the course has not ended: prone_repeat applies, not prone_positioning")
        h.feed(72600, [("nurse", .position, "prone")] + bad)
        #expect(h.trail(.proneRepeat) == ["start@72000:medium", "end@72600:medium"])

        // Improved after the session: prone_stop after 4 h, no repeat.
        let good: [(String, Parameter, Any?)] = [("vent", .fio2, 40), ("vent", .peep, 8), ("lab", .pao2, 80)]
        var g = Harness()
        g.feed(0, [("nurse", .position, "prone")] + good)
        g.feed(57600, [("nurse", .position, "supine")] + good)
        g.hold(from: 58200, to: 57600 + 6 * 3600, step: 600, good)
        #expect(g.trail(.proneStop) == ["start@72000:low"])
        #expect(g.events(.proneRepeat).isEmpty)
    }

    // Acceptance 4: PEEP 14 -> 8 after a 28 cmH2O plateau: no driving-pressure alarm; plateau_stale 15 min
    // later; it ends at the next plateau.
    @Test func aPEEPChangeMakesThePlateauStaleNotADrivingPressureAlarm() throws {
        var h = Harness()
        h.feed(0, [("vent", .pplat, 28), ("vent", .peep, 14), ("vent", .vt, 400)])
        #expect(h.events(.drivingPressureHigh).isEmpty, "28 - 14 = 14")
        h.hold(from: 60, to: 900, step: 60, [("vent", .pplat, 28), ("vent", .peep, 8), ("vent", .vt, 400)])
        #expect(h.events(.drivingPressureHigh).isEmpty, "the plateau's own PEEP was 14")
        h.hold(from: 960, to: 1020, step: 60, [("vent", .peep, 8), ("vent", .vt, 400)])
        #expect(h.trail(.plateauStale) == ["start@960:low"])
        let event = try #require(h.events(.plateauStale).first)
        #expect(event.text == "PEEP changed from 14 to 8 cmH2O 15 min ago; the last plateau (28 cmH2O) was measured before that: measure Pplat with a 0.5 s pause (ARDSNet: after each PEEP or Vt change).")
        h.feed(1080, [("vent", .pplat, 25), ("vent", .peep, 8), ("vent", .vt, 400)])
        #expect(h.trail(.plateauStale) == ["start@960:low", "end@1080:low"])
        #expect(h.trail(.drivingPressureHigh) == ["start@1080:medium"], "25 - 8 = 17 with the PEEP of its own breath")
    }

    // Acceptance 5: a gas P/F of 200 expiring into imputed 142 is no fall; imputed 142 -> 109 is.
    @Test func pfFallingComparesLikeWithLike() throws {
        var g = Harness()
        g.feed(0, [("vent", .fio2, 50), ("lab", .pao2, 100), ("oxi", .spo2, 91)])  // measured 200
        g.hold(from: 3660, to: 7200, step: 600, [("vent", .fio2, 50), ("oxi", .spo2, 91)])  // imputed: PaO2 ~ 61 -> 122
        let imputed = try #require(g.core.currentPF)
        #expect(imputed.kind == .imputed)
        #expect(g.events(.pfFalling).isEmpty, "the switch from blood gas to imputation is not a fall")
        g.hold(from: 7800, to: 9000, step: 600, [("vent", .fio2, 60), ("oxi", .spo2, 89)])  // imputed ~ 94: down 23 %
        #expect(g.trail(.pfFalling).first == "start@7800:medium")
        let event = try #require(g.events(.pfFalling).first)
        #expect(event.evidence.contains { key, value in key == "highest_pf" && "\(value)".contains("imputed") })
    }

    // Acceptance 8: haemoptysis while prone is dah.hemoptysis_prone (high, latches); 250 ml in 24 h withholds
    // the prone prompt while it holds.
    @Test func haemoptysisWhileProneAndMassiveHaemoptysisWithholdsProning() throws {
        var h = Harness()
        h.feed(0, [("nurse", .position, "prone")])
        h.feed(600, [("nurse", .hemoptysis, 60)])
        // Rules v3 §4.13: 60 ml is medium (high from 100 ml in the session).
        #expect(h.trail(.hemoptysisProne) == ["start@600:medium"])
        #expect(h.events(.hemoptysisProne)[0].text.hasPrefix("Haemoptysis 60 ml during the prone session (session total 60 ml): check tube patency and suction"))
        h.feed(1200, [("nurse", .position, "supine")])
        // Rules v3 §1.4: active at least min_active_s (900 s) before it ends; §2.2: result-driven, so no
        // re-announcement without a new entry.
        #expect(h.trail(.hemoptysisProne) == ["start@600:medium"])
        h.feed(1500, [("nurse", .position, "supine")])
        #expect(h.trail(.hemoptysisProne) == ["start@600:medium", "end@1500:medium"])

        var g = Harness()
        let severe: [(String, Parameter, Any?)] = [("vent", .fio2, 80), ("vent", .peep, 12), ("oxi", .spo2, 88)]
        g.feed(0, [("nurse", .hemoptysis, 250)] + severe)
        g.hold(from: 600, to: 43200 + 1200, step: 600, severe)
        // Rules v3 §4.6: never withheld; the haemoptysis is a caution in the prompt.
        #expect(g.trail(.pronePositioning) == ["start@43200:medium"], "\(g.trail(.pronePositioning))")
        let prompt = g.events(.pronePositioning)[0]
        #expect(prompt.text.contains("Caution: haemoptysis 250 ml in the last 24 h (last 250 ml 12 h ago)"), "\(prompt.text)")
        #expect(prompt.evidence.contains { $0.0 == "cautions" && $0.1 == .array([.string("hemoptysis")]) })
        #expect(g.events(.hemoptysisVolume).first?.text.contains("check tube position and patency") == true)
    }
}
