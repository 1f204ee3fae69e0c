import Testing
@testable import AlveoCore

@Suite struct OxygenationRuleTests {
    @Test func spo2LowMediumAfterSixtySecondsBelowEightyEight() {
        var h = Harness()
        h.hold(from: 0, to: 59, [("oxi", .spo2, 87.9)])
        #expect(h.events(.spo2Low).isEmpty)
        h.feed(60, [("oxi", .spo2, 87.9)])
        h.hold(from: 61, to: 100, [("oxi", .spo2, 89.9)])
        h.feed(101, [("oxi", .spo2, 90)])
        #expect(h.trail(.spo2Low) == ["start@60:medium", "end@101:medium"])
    }

    @Test func spo2AtEightyEightNeverFires() {
        var h = Harness()
        h.hold(from: 0, to: 600, [("oxi", .spo2, 88)])
        #expect(h.events(.spo2Low).isEmpty)
    }

    @Test func spo2BelowEightyFiveStartsHighAfterThirtySeconds() {
        var h = Harness()
        h.hold(from: 0, to: 30, [("oxi", .spo2, 84)])
        #expect(h.trail(.spo2Low) == ["start@30:high"])
    }

    @Test func unacknowledgedMediumIsReannouncedEveryTenMinutes() {
        var h = Harness()
        h.hold(from: 0, to: 1260, step: 10, [("oxi", .spo2, 86)])
        #expect(h.trail(.spo2Low) == ["start@60:medium", "escalate@660:medium", "escalate@1260:medium"])
        #expect(h.events(.spo2Low)[1].reason == "reannounce")
        h.feed(1270, [("nurse", .ack, "oxygenation.spo2_low"), ("oxi", .spo2, 86)])
        h.hold(from: 1280, to: 3000, step: 10, [("oxi", .spo2, 86)])
        #expect(h.trail(.spo2Low).count == 4, "acknowledged alarms are not re-announced")
    }

    @Test func lowPriorityAlarmsAreNotReannounced() {
        var h = Harness()
        h.hold(from: 0, to: 2000, step: 10, [("vent", .vt, 200)])
        #expect(h.trail(.tidalVolumeLow) == ["start@300:low"])
    }

    /// P/F from a gas: PaO2 / FiO2 current at the gas. Bands: mild ≤ 300, moderate ≤ 200, severe ≤ 100.
    @Test func pfBandsFromMeasuredGasesWithHysteresis() {
        var h = Harness()
        h.feed(0, [("vent", .fio2, 50), ("lab", .pao2, 150.5)])  // 301: no band
        #expect(h.events(.pfSeverity).isEmpty)
        h.feed(60, [("vent", .fio2, 50), ("lab", .pao2, 150)])  // 300: mild
        h.feed(120, [("vent", .fio2, 50), ("lab", .pao2, 99)])  // 198: moderate
        h.feed(180, [("vent", .fio2, 50), ("lab", .pao2, 104)])  // 208: within 10 of the 200 edge, stays moderate
        h.feed(240, [("vent", .fio2, 50), ("lab", .pao2, 105)])  // 210: back to mild
        h.feed(300, [("vent", .fio2, 50), ("lab", .pao2, 154)])  // 308: stays mild
        h.feed(360, [("vent", .fio2, 50), ("lab", .pao2, 155)])  // 310: ends
        #expect(h.trail(.pfSeverity) == ["start@60:low", "escalate@120:medium", "update@240:low", "end@360:low"])
        let measured = h.events(.pfSeverity)[0]
        #expect(measured.text.contains("measured"))
    }

    @Test func severeBandIsHighAndTheFirstBandSeenCounts() {
        var h = Harness()
        h.feed(0, [("vent", .fio2, 100), ("lab", .pao2, 60)])
        #expect(h.trail(.pfSeverity) == ["start@0:high"])
    }

    @Test func gasPairsWithFiO2AtItsTimeAndIsImputedAfterAnHour() throws {
        var h = Harness()
        h.feed(0, [("vent", .fio2, 40), ("oxi", .spo2, 99), ("lab", .pao2, 70)])  // 175 measured
        h.feed(1800, [("vent", .fio2, 80), ("oxi", .spo2, 99)])
        #expect(h.core.currentPF?.kind == .measured)
        #expect(abs(h.core.currentPF!.value - 175) < 1e-9, "a later FiO2 change does not alter a measured P/F")
        h.feed(3600, [("vent", .fio2, 80), ("oxi", .spo2, 92)])
        #expect(h.core.currentPF?.kind == .measured, "still measured at exactly 1 h")
        h.feed(3601, [("vent", .fio2, 80), ("oxi", .spo2, 92)])
        let pf = try #require(h.core.currentPF)
        #expect(pf.kind == .imputed)
        #expect(Fmt.fixed(pf.value, 1) == Fmt.fixed(Oxygenation.imputedPaO2(spo2Percent: 92)! / 0.8, 1))
        h.feed(3602, [("vent", .fio2, 80), ("oxi", .spo2, 97)])
        #expect(h.core.currentPF == nil, "no imputation above SpO2 96 %")
    }

    @Test func pfFallingComparesWithTheHighestOfTheLastSixHours() {
        var h = Harness()
        h.feed(0, [("vent", .fio2, 50), ("lab", .pao2, 100)])  // 200
        h.feed(1000, [("vent", .fio2, 50), ("lab", .pao2, 80.5)])  // 161: 19.5 % below
        #expect(h.events(.pfFalling).isEmpty)
        h.feed(2000, [("vent", .fio2, 50), ("lab", .pao2, 80)])  // 160: exactly 20 % below
        #expect(h.trail(.pfFalling) == ["start@2000:medium"])
        let evidence = h.events(.pfFalling)[0].evidence
        #expect(evidence.contains { $0.0 == "highest_pf_t" && $0.1 == .number(0) })
    }

    @Test func pfFallingForgetsValuesOlderThanTheWindow() {
        var h = Harness()
        h.feed(0, [("vent", .fio2, 50), ("lab", .pao2, 100)])  // 200
        h.feed(3000, [("vent", .fio2, 50), ("lab", .pao2, 90)])  // 180
        h.feed(21601, [("vent", .fio2, 50), ("lab", .pao2, 80)])  // 160: the 200 is older than 6 h; 180 is the reference (11 %)
        #expect(h.events(.pfFalling).isEmpty)
    }

    @Test func proneCriteriaHeldTwelveHoursSupine() throws {
        var h = Harness()
        h.feed(0, [("nurse", .hemoptysis, 50)])
        h.hold(from: 10, to: 43209, step: 600, [("vent", .fio2, 60), ("vent", .peep, 5), ("lab", .pao2, 89.4)])
        #expect(h.events(.pronePositioning).isEmpty)
        h.feed(43210, [("vent", .fio2, 60), ("vent", .peep, 5), ("lab", .pao2, 89.4)])  // P/F 149
        let event = try #require(h.events(.pronePositioning).first)
        #expect(event.t == 43210)
        #expect(event.text.contains("at least 16 h"))
        #expect(event.text.contains("haemoptysis"), "warns: haemoptysis charted within 24 h")
        h.feed(43300, [("nurse", .position, "prone")])
        #expect(h.trail(.pronePositioning) == ["start@43210:medium", "end@43300:medium"])
    }

    @Test func proneNotPromptedAtPFOneFiftyOrFiO2BelowSixty() {
        var h = Harness()
        h.hold(from: 0, to: 50000, step: 600, [("vent", .fio2, 60), ("vent", .peep, 5), ("lab", .pao2, 90)])  // 150
        var g = Harness()
        g.hold(from: 0, to: 50000, step: 600, [("vent", .fio2, 59), ("vent", .peep, 5), ("lab", .pao2, 80)])
        #expect(h.events(.pronePositioning).isEmpty)
        #expect(g.events(.pronePositioning).isEmpty)
        #expect(!h.events(.pronePositioning).contains { $0.text.contains("Caution") })
    }

    @Test func proneStopAfterFourHoursSupineWithGoodOxygenation() {
        var h = Harness()
        h.hold(from: 0, to: 20000, step: 600, [("vent", .fio2, 40), ("vent", .peep, 8), ("lab", .pao2, 80)])
        #expect(h.events(.proneStop).isEmpty, "never proned")
        h.feed(20100, [("nurse", .position, "prone")])
        h.feed(30000, [("nurse", .position, "supine"), ("vent", .fio2, 40), ("vent", .peep, 8), ("lab", .pao2, 80)])
        h.hold(from: 30600, to: 44399, step: 600, [("vent", .fio2, 40), ("vent", .peep, 8), ("lab", .pao2, 80)])
        #expect(h.events(.proneStop).isEmpty)
        h.feed(44400, [("vent", .fio2, 40), ("vent", .peep, 8), ("lab", .pao2, 80)])
        #expect(h.trail(.proneStop) == ["start@44400:low"])
        #expect(h.events(.proneStop)[0].type == .advisory)
    }

    @Test func plasmaExchangeForDAHWithSustainedLowSpO2() throws {
        var h = Harness(Patient(sex: .female, heightCm: 160, conditions: [.diffuseAlveolarHemorrhage]))
        h.hold(from: 0, to: 299, step: 1, [("oxi", .spo2, 89)])
        #expect(h.events(.plasmaExchange).isEmpty)
        h.feed(300, [("oxi", .spo2, 89)])
        let event = try #require(h.events(.plasmaExchange).first)
        #expect(event.text.contains("7 exchanges over 14 days"))
        #expect(event.text.contains("anti-GBM"))
        h.feed(301, [("oxi", .spo2, 90)])
        #expect(h.trail(.plasmaExchange) == ["start@300:medium", "end@301:medium"])
    }

    @Test func plasmaExchangeForDAHWithLowPF() {
        var h = Harness(Patient(sex: .female, heightCm: 160, conditions: [.diffuseAlveolarHemorrhage, .antiGBM]))
        h.feed(0, [("vent", .fio2, 50), ("lab", .pao2, 150)])  // 300: not below
        #expect(h.events(.plasmaExchange).isEmpty)
        h.feed(10, [("vent", .fio2, 50), ("lab", .pao2, 149)])
        #expect(h.trail(.plasmaExchange) == ["start@10:medium"])
        #expect(h.events(.plasmaExchange)[0].text.contains("This patient has anti-GBM disease"))
    }

    @Test func plasmaExchangeHoldsWhileSpO2IsStillLow() {
        var h = Harness(Patient(sex: .female, heightCm: 160, conditions: [.diffuseAlveolarHemorrhage]))
        h.feed(0, [("vent", .fio2, 60), ("oxi", .spo2, 93), ("lab", .pao2, 100)])  // P/F 167 measured
        #expect(h.trail(.plasmaExchange) == ["start@0:medium"])
        h.feed(11, [("oxi", .spo2, 85)])  // the ventilator is silent: no FiO2, no P/F; SpO2 low for 0 s
        h.feed(20, [("oxi", .spo2, 85)])
        #expect(h.trail(.plasmaExchange) == ["start@0:medium"], "SpO2 85 % is no reason to end the prompt")
        h.feed(30, [("oxi", .spo2, 95)])
        #expect(h.trail(.plasmaExchange) == ["start@0:medium"], "the 30 s old gas still gives P/F 167")
        h.feed(3601, [("oxi", .spo2, 95)])  // gas expired, no FiO2 to impute with: SpO2 95 % decides
        #expect(h.trail(.plasmaExchange) == ["start@0:medium", "end@3601:medium"])
    }

    @Test func noPlasmaExchangePromptWithoutDAH() {
        var h = Harness(Patient(sex: .female, heightCm: 160, conditions: [.ancaVasculitis]))
        h.feed(0, [("vent", .fio2, 90), ("lab", .pao2, 60)])
        h.hold(from: 1, to: 1000, [("oxi", .spo2, 80)])
        #expect(h.events(.plasmaExchange).isEmpty)
    }
}
