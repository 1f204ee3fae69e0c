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

    /// Rules v3 §2.2: medium after 600 s, then doubling (1200, 2400, 4800) up to `medium_max_s` (7200 s
    /// in v3; v2 capped at 3600); phase `continue`.
    @Test func unacknowledgedMediumIsReannouncedAtDoublingIntervals() {
        var h = Harness()
        h.hold(from: 0, to: 8000, step: 10, [("oxi", .spo2, 86)])
        #expect(h.trail(.spo2Low) == ["start@60:medium", "continue@660:medium", "continue@1860:medium", "continue@4260:medium"])
        h.hold(from: 8010, to: 16500, step: 10, [("oxi", .spo2, 86)])
        #expect(h.trail(.spo2Low) == ["start@60:medium", "continue@660:medium", "continue@1860:medium", "continue@4260:medium",
                                      "continue@9060:medium", "continue@16260:medium"], "4800, then capped at 7200")
        let second = h.events(.spo2Low)[2]
        #expect(second.reason == "reannounce" && second.state == .active && second.priority == .medium)
        #expect(second.evidence.contains { $0.0 == "reannounce_count" && $0.1 == .number(2) })
        #expect(second.evidence.contains { $0.0 == "announced_since_t" && $0.1 == .number(60) })
        #expect(second.text.hasPrefix("Unacknowledged, active for 30 min."))
        h.feed(16510, [("nurse", .ack, "oxygenation.spo2_low"), ("oxi", .spo2, 86)])
        h.hold(from: 16520, to: 40000, step: 10, [("oxi", .spo2, 86)])
        #expect(h.trail(.spo2Low).count == 7, "acknowledged (one update) and not re-announced")
    }

    /// High: every 600 s without limit; an escalation restarts the count; latched: hourly.
    @Test func highIsReannouncedEveryTenMinutesAndLatchedHourly() {
        var h = Harness()
        h.hold(from: 0, to: 100, step: 10, [("oxi", .spo2, 86)])      // medium at 60
        h.hold(from: 110, to: 1400, step: 10, [("oxi", .spo2, 80)])   // high tier at 140 (30 s below 85)
        #expect(h.trail(.spo2Low) == ["start@60:medium", "escalate@140:high", "continue@740:high", "continue@1340:high"])
        h.hold(from: 1410, to: 1410 + 7300, step: 10, [("oxi", .spo2, 95)])  // ends: latched
        let trail = h.trail(.spo2Low)
        #expect(Array(trail.suffix(3)) == ["update@1410:high:latched", "continue@5010:high:latched", "continue@8610:high:latched"])
        #expect(!h.events(.spo2Low).contains { $0.phase == .escalate && $0.reason == "reannounce" }, "no escalate without a priority rise")
    }

    /// Advisory prompts are never re-announced; an acknowledgement ends them.
    @Test func advisoryPromptsAreNotReannouncedAndEndOnAcknowledgement() {
        var h = Harness()
        h.hold(from: 0, to: 7200, step: 60, [("vent", .fio2, 60), ("oxi", .spo2, 98)])
        #expect(h.trail(.fio2Weanable) == ["start@1800:low"])
        h.feed(7260, [("nurse", .ack, "oxygenation.fio2_weanable"), ("vent", .fio2, 60), ("oxi", .spo2, 98)])
        #expect(h.trail(.fio2Weanable) == ["start@1800:low", "end@7260:low"])
        #expect(h.events(.fio2Weanable).last?.reason == "acknowledged")
        h.hold(from: 7320, to: 20000, step: 60, [("vent", .fio2, 60), ("oxi", .spo2, 98)])
        #expect(h.trail(.fio2Weanable).count == 2, "not again while the condition holds")
        // Known false for 6 h re-arms it.
        h.hold(from: 20060, to: 20060 + 21600, step: 600, [("vent", .fio2, 40), ("oxi", .spo2, 98)])
        h.hold(from: 41700, to: 41700 + 1800, step: 60, [("vent", .fio2, 60), ("oxi", .spo2, 98)])
        #expect(h.trail(.fio2Weanable) == ["start@1800:low", "end@7260:low", "start@43500:low"])
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
        #expect(h.trail(.pfSeverity) == ["start@60:low", "escalate@120:medium", "de-escalate@240:low", "end@360:low"])
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

    /// Rules v2 acceptance 6: anti-GBM at the start; DAH P/F 236 never, 160 for 1 h starts; creatinine
    /// 3.8 in ANCA gives anca_kidney; an acknowledgement ends it for good.
    @Test func plasmaExchangeIndicationsAntiGBMAtTheStart() throws {
        var h = Harness(Patient(sex: .female, heightCm: 160, conditions: [.antiGBM]))
        h.feed(0, [])
        #expect(h.trail(.plasmaExchange) == ["start@0:medium"])
        let event = try #require(h.events(.plasmaExchange).first)
        // Rules v3 §4.9: anti-GBM opens with its own regimen, without the ANCA line.
        #expect(event.text.hasPrefix("Anti-GBM disease: KDIGO 2021 recommends plasma exchange with cyclophosphamide and glucocorticoids"))
        #expect(!event.text.contains("is the mainstay") && !event.text.contains("PEXIVAS regimen"))
        #expect(event.evidence.contains { $0.0 == "indication" && $0.1 == .string("anti_gbm") })
        #expect(!event.text.contains("fresh frozen plasma"), "no bleeding charted")
    }

    @Test func plasmaExchangeForDAHWithLowPFOverTheWindow() throws {
        var never = Harness(Patient(sex: .female, heightCm: 160, conditions: [.diffuseAlveolarHemorrhage]))
        never.hold(from: 0, to: 20000, step: 600, [("vent", .fio2, 50), ("lab", .pao2, 118)])  // 236
        #expect(never.events(.plasmaExchange).isEmpty)

        var h = Harness(Patient(sex: .female, heightCm: 160, conditions: [.diffuseAlveolarHemorrhage]))
        h.hold(from: 0, to: 3599, step: 60, [("vent", .fio2, 50), ("lab", .pao2, 80)])  // 160
        #expect(h.events(.plasmaExchange).isEmpty)
        h.feed(3600, [("vent", .fio2, 50), ("lab", .pao2, 80)])
        #expect(h.trail(.plasmaExchange) == ["start@3600:medium"])
        let event = try #require(h.events(.plasmaExchange).first)
        #expect(event.text.contains("DAH with P/F 160") && event.text.contains("discuss with nephrology/rheumatology"))
        #expect(event.text.contains("Use fresh frozen plasma for the replacement while bleeding."))
        h.feed(3660, [("vent", .fio2, 50), ("lab", .pao2, 102)])  // 204: not yet recovered
        #expect(h.trail(.plasmaExchange) == ["start@3600:medium"])
        h.feed(3720, [("vent", .fio2, 50), ("lab", .pao2, 105)])  // 210: ends
        #expect(h.trail(.plasmaExchange) == ["start@3600:medium", "end@3720:medium"])
    }

    @Test func plasmaExchangeStrongerIndicationUpdatesAndAcknowledgementEndsForGood() {
        var h = Harness(Patient(sex: .female, heightCm: 160, conditions: [.diffuseAlveolarHemorrhage, .ancaVasculitis]))
        h.hold(from: 0, to: 3600, step: 60, [("vent", .fio2, 50), ("lab", .pao2, 80)])
        #expect(h.trail(.plasmaExchange) == ["start@3600:medium"])
        h.feed(3700, [("lab", .creatinine, 3.8), ("vent", .fio2, 50)])
        #expect(h.trail(.plasmaExchange) == ["start@3600:medium", "update@3700:medium"])
        let update = h.events(.plasmaExchange)[1]
        #expect(update.reason == "indication" && update.text.contains("Creatinine 3.8 mg/dL (> 3.4)") && update.text.contains("PEXIVAS regimen: 7 exchanges within 14 days"))
        h.feed(3800, [("nurse", .ack, "escalation.plasma_exchange"), ("vent", .fio2, 50)])
        #expect(h.trail(.plasmaExchange) == ["start@3600:medium", "update@3700:medium", "end@3800:medium"])
        #expect(h.events(.plasmaExchange).last?.reason == "acknowledged")
        h.hold(from: 3900, to: 30000, step: 600, [("vent", .fio2, 50), ("lab", .pao2, 70), ("lab", .creatinine, 4.0)])
        #expect(h.trail(.plasmaExchange).count == 3, "neither that indication nor a weaker one again in the run")
    }

    @Test func noPlasmaExchangePromptWithoutDAH() {
        var h = Harness(Patient(sex: .female, heightCm: 160, conditions: [.ancaVasculitis]))
        h.feed(0, [("vent", .fio2, 90), ("lab", .pao2, 60)])
        h.hold(from: 1, to: 1000, [("oxi", .spo2, 80)])
        #expect(h.events(.plasmaExchange).isEmpty)
    }
}
