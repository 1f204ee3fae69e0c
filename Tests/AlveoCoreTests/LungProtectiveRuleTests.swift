import Testing
@testable import AlveoCore

/// Male 170 cm: PBW 66.016 kg. 6.5 ml/kg = 429.104 ml, 8 ml/kg = 528.128 ml, 6.0 = 396.096, 4 = 264.064.
@Suite struct LungProtectiveRuleTests {
    @Test func tidalVolumeHighFiresAfterFiveMinutesAboveSixPointFive() {
        var h = Harness()
        h.hold(from: 0, to: 299, [("vent", .vt, 430)])
        #expect(h.events(.tidalVolumeHigh).isEmpty, "the 5 min alarm condition delay has not elapsed")
        h.feed(300, [("vent", .vt, 430)])
        #expect(h.trail(.tidalVolumeHigh) == ["start@300:medium"])
        let event = h.events(.tidalVolumeHigh)[0]
        #expect(event.text.contains("6.5 ml/kg PBW"))
        #expect(event.text.contains("396 ml"), "names the volume at 6 ml/kg")
        #expect(event.text.contains("PBW 66.0 kg"))
    }

    @Test func tidalVolumeJustBelowThresholdNeverFires() {
        var h = Harness()
        h.hold(from: 0, to: 3600, step: 10, [("vent", .vt, 429)])  // 6.498 ml/kg
        #expect(h.events(.tidalVolumeHigh).isEmpty)
    }

    /// Rules v3 §1.2: a cleared group (Vt 390 ml = 5.9 ml/kg, at or below the 6.0 end) cancels a pending onset.
    @Test func tidalVolumeDelayRestartsWhenTheConditionBreaks() {
        var h = Harness()
        h.hold(from: 0, to: 200, [("vent", .vt, 450)])
        h.feed(201, [("vent", .vt, 390)])
        h.hold(from: 202, to: 501, [("vent", .vt, 450)])
        #expect(h.events(.tidalVolumeHigh).isEmpty)
        h.feed(502, [("vent", .vt, 450)])
        #expect(h.trail(.tidalVolumeHigh) == ["start@502:medium"])
    }

    /// Rules v3 §1.2: a held group (Vt 420 ml = 6.4 ml/kg, between the 6.0 end and the 6.5 start) keeps
    /// the onset pending (v2 restarted the delay); an unknown group (no Vt) cancels it.
    @Test func tidalVolumeOnsetStaysPendingThroughTheHysteresisBand() {
        var h = Harness()
        h.hold(from: 0, to: 200, [("vent", .vt, 450)])
        h.feed(201, [("vent", .vt, 420)])
        h.hold(from: 202, to: 299, [("vent", .vt, 450)])
        #expect(h.events(.tidalVolumeHigh).isEmpty)
        h.feed(300, [("vent", .vt, 450)])
        #expect(h.trail(.tidalVolumeHigh) == ["start@300:medium"])

        var unknown = Harness()
        unknown.hold(from: 0, to: 200, [("vent", .vt, 450)])
        unknown.feed(201, [("vent", .vt, nil)])
        unknown.hold(from: 202, to: 300, [("vent", .vt, 450)])
        #expect(unknown.events(.tidalVolumeHigh).isEmpty, "\(unknown.trail(.tidalVolumeHigh))")
    }

    @Test func tidalVolumeEndsOnlyAtSixMlPerKg() {
        var h = Harness()
        h.hold(from: 0, to: 300, [("vent", .vt, 450)])
        h.hold(from: 301, to: 400, [("vent", .vt, 400)])  // 6.06 ml/kg: inside the hysteresis band
        #expect(h.trail(.tidalVolumeHigh) == ["start@300:medium"])
        h.feed(401, [("vent", .vt, 396)])  // 5.998 ml/kg
        #expect(h.trail(.tidalVolumeHigh) == ["start@300:medium", "end@401:medium"])
    }

    @Test func tidalVolumeHighTierMetFirstStartsHighAndLatches() {
        var h = Harness()
        h.hold(from: 0, to: 59, [("vent", .vt, 529)])  // 8.013 ml/kg
        #expect(h.events(.tidalVolumeHigh).isEmpty)
        h.feed(60, [("vent", .vt, 529)])
        h.feed(61, [("vent", .vt, 390)])
        #expect(h.trail(.tidalVolumeHigh) == ["start@60:high", "update@61:high:latched"])
        h.feed(70, [("nurse", .ack, "lpv.tidal_volume_high")])
        #expect(h.trail(.tidalVolumeHigh).last == "end@70:high")
    }

    @Test func tidalVolumeEscalatesAndDeescalatesBetweenTiers() {
        var h = Harness()
        h.hold(from: 0, to: 300, [("vent", .vt, 450)])
        h.hold(from: 301, to: 361, [("vent", .vt, 540)])
        h.feed(362, [("vent", .vt, 450)])
        #expect(h.trail(.tidalVolumeHigh) == ["start@300:medium", "escalate@361:high", "de-escalate@362:medium"])
        #expect(h.events(.tidalVolumeHigh)[1].reason == "tier")
    }

    @Test func tidalVolumeLowFiresBelowFourMlPerKgAfterFiveMinutes() {
        var h = Harness()
        h.hold(from: 0, to: 600, [("vent", .vt, 265)])  // 4.014 ml/kg
        #expect(h.events(.tidalVolumeLow).isEmpty)
        h.hold(from: 601, to: 901, [("vent", .vt, 264)])  // 3.999 ml/kg
        h.hold(from: 902, to: 961, [("vent", .vt, 300)])
        #expect(h.trail(.tidalVolumeLow) == ["start@901:low"], "rules v3 §1.4: ends after 60 s at or above 4 ml/kg")
        h.feed(962, [("vent", .vt, 300)])
        #expect(h.trail(.tidalVolumeLow) == ["start@901:low", "end@962:low"])
    }

    @Test func plateauAboveThirtyFiresAtOnceProposingOneMlPerKgLess() throws {
        var h = Harness()
        h.feed(0, [("vent", .vt, 450), ("vent", .pplat, 30)])
        #expect(h.events(.plateauHigh).isEmpty, "30 is not above 30")
        h.feed(10, [("vent", .vt, 450), ("vent", .pplat, 30.5)])
        let event = try #require(h.events(.plateauHigh).first)
        #expect(event.priority == .high)
        // 450 / 66.016 = 6.817 ml/kg; minus 1 = 5.817 ml/kg = 384 ml.
        #expect(event.text.contains("to 384 ml (5.8 ml/kg PBW"))
        #expect(event.evidence.contains { $0.0 == "proposed_vt_ml" && $0.1 == .number(384) })
    }

    @Test func plateauProposalNeverGoesBelowFourMlPerKg() throws {
        var h = Harness()
        h.feed(0, [("vent", .vt, 300), ("vent", .pplat, 32)])  // 4.54 ml/kg
        let event = try #require(h.events(.plateauHigh).first)
        #expect(event.text.contains("to 264 ml (4.0 ml/kg PBW"))
    }

    @Test func plateauLatchesUntilAcknowledged() {
        var h = Harness()
        h.feed(0, [("vent", .pplat, 32)])
        h.feed(10, [("vent", .pplat, 29)])
        #expect(h.trail(.plateauHigh) == ["start@0:high"], "29 is inside the hysteresis band")
        h.feed(20, [("vent", .pplat, 28)])
        h.feed(25, [("vent", .pplat, 27)])
        h.feed(30, [("nurse", .ack, "lpv.plateau_high"), ("vent", .pplat, 27)])
        #expect(h.trail(.plateauHigh) == ["start@0:high", "update@20:high:latched", "end@30:high"])
    }

    @Test func acknowledgedHighAlarmDoesNotLatch() {
        var h = Harness()
        h.feed(0, [("vent", .pplat, 32)])
        h.feed(5, [("nurse", .ack, "lpv.plateau_high")])
        h.feed(10, [("vent", .pplat, 25)])
        #expect(h.trail(.plateauHigh) == ["start@0:high", "update@5:high", "end@10:high"])
        #expect(h.events(.plateauHigh)[1].acknowledged)
    }

    @Test func drivingPressureAboveFifteenWithHysteresisToThirteen() {
        var h = Harness()
        h.feed(0, [("vent", .pplat, 25), ("vent", .peep, 10)])  // 15: not above
        #expect(h.events(.drivingPressureHigh).isEmpty)
        h.feed(10, [("vent", .pplat, 25.1), ("vent", .peep, 10)])
        h.feed(20, [("vent", .pplat, 23.5), ("vent", .peep, 10)])  // 13.5: held
        h.feed(30, [("vent", .pplat, 23), ("vent", .peep, 10)])  // 13: ends
        #expect(h.trail(.drivingPressureHigh) == ["start@10:medium", "end@30:medium"])
    }

    @Test func plateauOverdueAfterFourHoursVentilatedWithoutAMeasurement() {
        var h = Harness()
        h.hold(from: 0, to: 14400, step: 60, [("vent", .vt, 400), ("vent", .peep, 8)])
        #expect(h.events(.plateauOverdue).isEmpty, "exactly 4 h is not overdue")
        h.feed(14401, [("vent", .vt, 400), ("vent", .peep, 8)])
        h.feed(14402, [("vent", .vt, 400), ("vent", .pplat, 22)])
        #expect(h.trail(.plateauOverdue) == ["start@14401:low", "end@14402:low"])
    }

    @Test func noTidalVolumeDataHoldsTheAlarmAndResetsTheDelay() {
        var h = Harness()
        h.hold(from: 0, to: 300, [("vent", .vt, 450)])
        h.hold(from: 301, to: 400, [("vent", .vt, nil)])
        #expect(h.trail(.tidalVolumeHigh) == ["start@300:medium"], "missing data neither ends nor changes the alarm")
        h.feed(401, [("vent", .vt, 390)])
        #expect(h.trail(.tidalVolumeHigh) == ["start@300:medium", "end@401:medium"])
    }
}

@Suite struct PlateauOverdueHoldTests {
    @Test func silentVentilatorHoldsTheOverduePromptInsteadOfEndingIt() {
        var h = Harness()
        h.hold(from: 0, to: 14401, step: 60, [("vent", .vt, 400)])
        h.feed(14401, [("vent", .vt, 400)])
        #expect(h.trail(.plateauOverdue) == ["start@14401:low"])
        h.feed(14500, [("oxi", .spo2, 97)])  // the ventilator is silent now
        #expect(h.trail(.plateauOverdue) == ["start@14401:low"], "silence is not a plateau measurement")
        h.feed(14600, [("vent", .pplat, 24), ("vent", .vt, 400)])
        #expect(h.trail(.plateauOverdue) == ["start@14401:low", "end@14600:low"])
    }
}
