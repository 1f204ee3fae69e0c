import Testing
@testable import AlveoCore

@Suite struct DAHAndTechnicalRuleTests {
    @Test func hemoglobinDropOfTwoWithinTwentyFourHours() {
        var h = Harness()
        h.feed(0, [("lab", .hb, 10.1)])
        h.feed(3600, [("lab", .hb, 8.2)])
        #expect(h.events(.hemoglobinDrop).isEmpty, "1.9 g/dL is below the threshold")
        h.feed(7200, [("lab", .hb, 8.1)])  // 10.1 - 8.1 = 1.9999999999999996 in binary: counts as 2.0
        h.feed(8000, [("lab", .hb, 9.0)])
        #expect(h.trail(.hemoglobinDrop) == ["start@7200:medium", "end@8000:medium"])
    }

    @Test func hemoglobinDropIgnoresValuesOlderThanTheWindow() {
        var h = Harness()
        h.feed(0, [("lab", .hb, 12)])
        h.feed(86401, [("lab", .hb, 9)])
        #expect(h.events(.hemoglobinDrop).isEmpty)
    }

    /// Rules v3 §4.11: medium at 200 ml in 24 h, high while massive (600 ml, or charted), latched when
    /// it reached high unacknowledged.
    @Test func hemoptysisTwoHundredMillilitresIsMediumAndMassiveIsHigh() {
        var h = Harness()
        h.feed(0, [("nurse", .hemoptysis, 100)])
        h.feed(3600, [("nurse", .hemoptysis, 99)])
        #expect(h.events(.hemoptysisVolume).isEmpty)
        h.feed(7200, [("nurse", .hemoptysis, 1)])
        #expect(h.trail(.hemoptysisVolume) == ["start@7200:medium"])
        h.feed(86400, [])  // the first entry is exactly 24 h old: still counted
        h.feed(86401, [])
        #expect(h.trail(.hemoptysisVolume).filter { !$0.hasPrefix("continue") } == ["start@7200:medium", "end@86401:medium"])

        var massive = Harness()
        massive.feed(0, [("nurse", .hemoptysis, 250)])
        massive.feed(600, [("nurse", .hemoptysis, 350)])
        #expect(massive.trail(.hemoptysisVolume) == ["start@0:medium", "escalate@600:high"])
        #expect(massive.events(.hemoptysisVolume)[1].text.hasPrefix("Massive haemoptysis: 600 ml in the last 24 h (≥ 600 ml): call the physician now"))
        // Charted as needing an immediate procedure: high whatever the volume, medium again at `no`.
        var charted = Harness()
        charted.feed(0, [("nurse", .hemoptysis, 250)])
        charted.feed(600, [("nurse", .massiveHemoptysis, "yes")])
        charted.feed(1200, [("nurse", .massiveHemoptysis, "no")])
        #expect(charted.trail(.hemoptysisVolume) == ["start@0:medium", "escalate@600:high", "de-escalate@1200:medium"])
        #expect(charted.events(.hemoptysisVolume)[1].text.contains("charted as needing an immediate procedure"))
    }

    @Test func kidneyInjuryByKDIGOInVasculitisAndDAH() {
        var vasculitis = Harness(Patient(sex: .male, heightCm: 180, conditions: [.sle]))
        vasculitis.feed(0, [("lab", .creatinine, 1.0)])
        vasculitis.feed(3600, [("lab", .creatinine, 1.29)])
        #expect(vasculitis.events(.renalFunction).isEmpty)
        vasculitis.feed(7200, [("lab", .creatinine, 1.3)])
        #expect(vasculitis.trail(.renalFunction) == ["start@7200:medium"])
        #expect(vasculitis.events(.renalFunction)[0].evidence.contains { $0.0 == "criterion" && $0.1 == .string("rise") })

        var dah = Harness(Patient(sex: .male, heightCm: 180, conditions: [.diffuseAlveolarHemorrhage]))
        dah.feed(0, [("lab", .creatinine, 1.0)])
        dah.feed(3600, [("lab", .creatinine, 2.0)])
        #expect(dah.trail(.renalFunction) == ["start@3600:medium"])
        #expect(dah.events(.renalFunction)[0].text.contains("KDIGO AKI stage 2") && dah.events(.renalFunction)[0].text.contains("in DAH"))

        var none = Harness(Patient(sex: .male, heightCm: 180))
        none.feed(0, [("lab", .creatinine, 1.0)])
        none.feed(3600, [("lab", .creatinine, 2.0)])
        #expect(none.events(.renalFunction).isEmpty)
    }

    /// Rules v2 acceptance 7: 1.0 -> 1.5 over 100 h in DAH only is stage 1 (by the 7-day baseline);
    /// 3.1 is stage 3, high (escalate); a fall to stage 1 is an update.
    @Test func kidneyStagesFromTheBaseline() throws {
        var h = Harness(Patient(sex: .female, heightCm: 160, conditions: [.diffuseAlveolarHemorrhage]))
        h.feed(0, [("lab", .creatinine, 1.0)])
        h.feed(100 * 3600, [("lab", .creatinine, 1.5)])
        #expect(h.trail(.renalFunction) == ["start@360000:medium"])
        let first = try #require(h.events(.renalFunction).first)
        #expect(first.text.hasPrefix("Creatinine 1.5 mg/dL, 1.5 x the 7-day baseline 1.0 (KDIGO AKI stage 1) in DAH: check urinalysis (blood, protein, casts) for glomerulonephritis; review fluids and nephrotoxins."), "\(first.text)")
        #expect(first.evidence.contains { $0.0 == "stage" && $0.1 == .number(1) } && first.evidence.contains { $0.0 == "criterion" && $0.1 == .string("ratio") })
        h.feed(110 * 3600, [("lab", .creatinine, 3.1)])
        #expect(h.trail(.renalFunction) == ["start@360000:medium", "escalate@396000:high"])
        h.feed(120 * 3600, [("lab", .creatinine, 2.1)])  // ratio 2.1: stage 2, medium
        h.feed(130 * 3600, [("lab", .creatinine, 1.6)])  // ratio 1.6: stage 1, same priority
        #expect(h.trail(.renalFunction) == ["start@360000:medium", "escalate@396000:high", "de-escalate@432000:medium", "update@468000:medium"])
        #expect(h.events(.renalFunction).last?.reason == "stage")
    }

    @Test func deviceSilentAfterTenSecondsPerSource() {
        var h = Harness()
        h.feed(0, [("oxi", .spo2, 97), ("vent", .vt, 400), ("lab", .hb, 10)])
        h.feed(10, [("vent", .vt, 400)])
        #expect(h.events(.deviceSilent).isEmpty, "10 s is not more than 10 s")
        h.feed(10.5, [("vent", .vt, 400)])
        h.feed(12, [("oxi", .spo2, 97)])
        // Rules v3 §1.4: ends once the source has been back for offset_s (10 s).
        h.feed(21.9, [("oxi", .spo2, 97), ("vent", .vt, 400)])
        #expect(h.trail(.deviceSilent) == ["start@10.5:medium"], "back for 9.9 s: not yet")
        h.feed(22, [("oxi", .spo2, 97), ("vent", .vt, 400)])
        #expect(h.trail(.deviceSilent) == ["start@10.5:medium", "end@22:medium"])
        #expect(h.events(.deviceSilent).allSatisfy { $0.source == "oxi" }, "lab sources are never silent")
    }

    @Test func silentSourceValuesStopFeedingRules() {
        var h = Harness()
        h.hold(from: 0, to: 100, [("oxi", .spo2, 80), ("vent", .peep, 5)])
        #expect(h.trail(.spo2Low) == ["start@30:high"])
        h.hold(from: 101, to: 200, [("vent", .peep, 5)])
        #expect(h.core.reading(.spo2) == nil, "a silent oximeter's SpO2 is no longer current")
    }

    @Test func perSourceSilenceTimeout() {
        var settings = RuleSettings()
        settings[DeviceSilent.self].perSource["oxi"] = 30
        var h = Harness(settings: settings)
        h.feed(0, [("oxi", .spo2, 97), ("vent", .vt, 400)])
        h.hold(from: 1, to: 30, [("vent", .vt, 400)])
        #expect(h.events(.deviceSilent).isEmpty)
        h.feed(31, [("vent", .vt, 400)])
        #expect(h.trail(.deviceSilent) == ["start@31:medium"])
    }

    @Test func sensorOffEndsOnOkOrOnAValidSpO2() {
        var h = Harness()
        h.feed(0, [("oxi", .sensor, "off")])
        h.feed(5, [("oxi", .sensor, "ok")])
        h.feed(6, [("oxi", .sensor, "disconnected")])
        h.feed(8, [("oxi", .spo2, 95)])
        // Rules v3 §1.4: off again within offset_s (10 s) of ok is the same alarm, not a new one; it
        // ends 10 s after the last time the probe was off.
        h.feed(17.9, [("oxi", .spo2, 95)])
        #expect(h.trail(.sensorOff) == ["start@0:medium"])
        h.feed(18, [("oxi", .spo2, 95)])
        #expect(h.trail(.sensorOff) == ["start@0:medium", "end@18:medium"])
        #expect(h.events(.sensorOff).allSatisfy { $0.source == "oxi" && $0.type == .technical })
    }

    @Test func sensorOffRowsKeepTheSourceAlive() {
        var h = Harness()
        h.hold(from: 0, to: 60, [("oxi", .sensor, "off")])
        #expect(h.events(.deviceSilent).isEmpty)
    }

    @Test func impossibleValuesAreRejectedAndNeverReachTheRules() throws {
        var h = Harness()
        h.hold(from: 0, to: 120, [("oxi", .spo2, -5), ("oxi", .pulseRate, 80)])
        #expect(h.events(.spo2Low).isEmpty, "SpO2 -5 never reaches the SpO2 rule")
        let event = try #require(h.events(.valueRejected).first)
        #expect(event.source == "oxi")
        #expect(event.parameter == .spo2)
        #expect(event.priority == .low)
        #expect(h.trail(.valueRejected) == ["start@0:low"])
        h.feed(121, [("oxi", .spo2, 95)])
        #expect(h.trail(.valueRejected) == ["start@0:low", "end@121:low"])
    }

    @Test(arguments: [(Parameter.spo2, 100.1), (.fio2, 0.5), (.fio2, 100.5), (.vt, -1), (.pao2, 5), (.hb, 30), (.creatinine, 0)])
    func outOfRangeValuesAreRejected(parameter: Parameter, value: Double) {
        var h = Harness()
        h.feed(0, [("dev", parameter, value)])
        #expect(h.trail(.valueRejected) == ["start@0:low"])
    }

    @Test func disabledRulesStaySilent() {
        var settings = RuleSettings()
        settings.disabled = [.spo2Low]
        var h = Harness(settings: settings)
        h.hold(from: 0, to: 200, [("oxi", .spo2, 70)])
        #expect(h.events(.spo2Low).isEmpty)
    }

    @Test func sameInputGivesByteIdenticalOutput() {
        func run() -> String {
            var h = Harness(Patient(sex: .female, heightCm: 160, conditions: [.diffuseAlveolarHemorrhage, .ancaVasculitis]))
            h.hold(from: 0, to: 4000, step: 7, [("oxi", .spo2, 86), ("vent", .fio2, 70), ("vent", .vt, 420), ("vent", .peep, 12),
                                                 ("vent", .pplat, 31), ("oxi", .sensor, "ok")])
            h.feed(4001, [("lab", .hb, 9), ("nurse", .hemoptysis, 250), ("lab", .pao2, 55)])
            return h.events.map { $0.jsonLine() }.joined(separator: "\n")
        }
        let first = run()
        #expect(!first.isEmpty)
        #expect(first == run())
    }
}
