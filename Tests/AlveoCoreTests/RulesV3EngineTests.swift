import Testing
@testable import AlveoCore

/// Clinical rules v3 acceptance (shared/clinical-v3.md §7) at the core: the alarm-condition model, the
/// re-announcement of result-driven alarms, unit mismatch, P/F with a lower bound, and their texts.
@Suite struct RulesV3EngineTests {
    typealias Row = (String, Parameter, Any?)

    // MARK: - §7.1 … 7.3: the alarm-condition model

    /// §7.1: SpO2 86 % for 90 s / 92 % for 90 s for an hour, then 95 %: four starts, then intermittent,
    /// then one end once stable (T 600 s) with fewer than four onsets in the hour.
    @Test func spo2FlappingForAnHourIsFourStartsThenIntermittentThenStable() {
        var h = Harness()
        for t in stride(from: 0.0, to: 3600, by: 1) {
            h.feed(t, [("oxi", .spo2, t.truncatingRemainder(dividingBy: 180) < 90 ? 86 : 92)])
        }
        h.hold(from: 3600, to: 4300, [("oxi", .spo2, 95)])
        #expect(h.trail(.spo2Low).filter { !$0.hasPrefix("continue") } == [
            "start@60:medium", "end@90:medium", "start@240:medium", "end@270:medium", "start@420:medium", "end@450:medium",
            "start@600:medium", "update@630:medium", "end@4110:medium",
        ])
        let intermittent = h.events(.spo2Low).first { $0.phase == .update }
        #expect(intermittent?.reason == "intermittent")
        #expect(intermittent?.evidence.contains { $0.0 == "intermittent" && $0.1 == .bool(true) } == true)
        #expect(intermittent?.evidence.contains { $0.0 == "onsets_1h" && $0.1 == .number(4) } == true)
        #expect(h.events(.spo2Low).last?.reason == "stable")
    }

    /// §7.2 and §4.4: imputed P/F flapping between a 20.2 % and a 17.2 % fall (SpO2 89 ↔ 90 % on a 94 %
    /// baseline) for 2 h is one pf_falling, ending 300 s after the fall drops below 15 %.
    @Test func pfFallingFlappingAroundItsThresholdIsOneAlarm() {
        var h = Harness()
        h.hold(from: 0, to: 1200, step: 60, [("vent", .fio2, 60), ("vent", .peep, 10), ("oxi", .spo2, 94)])
        var t = 1260.0
        while t < 1260 + 7200 {
            h.feed(t, [("vent", .fio2, 60), ("vent", .peep, 10), ("oxi", .spo2, Int(t / 60) % 2 == 0 ? 89 : 90)])
            t += 60
        }
        let back = t
        h.hold(from: back, to: back + 900, step: 60, [("vent", .fio2, 60), ("vent", .peep, 10), ("oxi", .spo2, 94)])
        let transitions = h.events(.pfFalling).filter { $0.phase != .continue }
        #expect(transitions.filter { $0.phase == .start }.count == 1, "\(h.trail(.pfFalling))")
        #expect(transitions.map(\.phase) == [.start, .end], "\(h.trail(.pfFalling))")
        #expect(transitions.last?.t == back + 300, "\(h.trail(.pfFalling))")
    }

    /// §7.3: a probe flag off/ok on alternate frames for 10 min is one sensor_off, ending 10 s after the
    /// flag stays ok; a source whose messages come every 12 s on a 10 s timeout is one device_silent.
    @Test func aToggledProbeAndASlowSourceAreOneAlarmEach() {
        var h = Harness()
        for t in stride(from: 0.0, to: 600, by: 1) {
            h.feed(t, [("oxi", .sensor, Int(t) % 2 == 0 ? "off" : "ok")])
        }
        h.hold(from: 600, to: 700, [("oxi", .sensor, "ok"), ("oxi", .spo2, 95)])
        #expect(h.trail(.sensorOff).filter { !$0.hasPrefix("continue") } == ["start@0:medium", "end@609:medium"])

        var slow = Harness()
        for t in stride(from: 0.0, to: 1200, by: 1) {
            slow.feed(t, Int(t) % 12 == 0 ? [("mon", .spo2, 95)] : [])
        }
        slow.hold(from: 1200, to: 1300, [("mon", .spo2, 95)])
        let silent = slow.events(.deviceSilent).filter { $0.phase != .continue }
        #expect(silent.filter { $0.phase == .start }.count == 1, "\(slow.trail(.deviceSilent))")
        #expect(silent.last?.phase == .end && (1200...1212).contains(silent.last?.t ?? 0), "\(slow.trail(.deviceSilent))")
    }

    // MARK: - §7.6 result-driven re-announcement

    /// §7.6: renal stage 1 with creatinine every 12 h, the stage unchanged: one `continue` (reason
    /// `new_result`) per result and none between.
    @Test func aResultDrivenAlarmIsReannouncedAtEachNewResultOnly() {
        var h = Harness(Patient(sex: .male, heightCm: 170, conditions: [.diffuseAlveolarHemorrhage]))
        h.feed(0, [("lab", .creatinine, 1.0)])
        h.feed(43200, [("lab", .creatinine, 1.4)])  // +0.4 in 48 h: stage 1 (ratio 1.4)
        for n in 2...4 {
            h.hold(from: Double(n - 1) * 43200 + 600, to: Double(n) * 43200 - 600, step: 600, [])
            h.feed(Double(n) * 43200, [("lab", .creatinine, 1.4)])
        }
        let events = h.events(.renalFunction)
        #expect(events.first?.phase == .start && events.first?.priority == .medium, "\(h.trail(.renalFunction))")
        let continues = events.filter { $0.phase == .continue }
        #expect(continues.map(\.t) == [86400, 129600, 172800], "\(h.trail(.renalFunction))")
        #expect(continues.allSatisfy { $0.reason == "new_result" })
    }

    // MARK: - §7.8 unit mismatch

    /// §7.8: FiO2 0.6 sent for an hour on a % source: value_rejected (low) and unit_mismatch (medium) at
    /// the first value, pf_severity held, unit_mismatch ends 60 s after % returns; SpO2 0.95 is a
    /// mismatch, never an SpO2 of 0.95 %.
    @Test func aFractionOnAPercentSourceIsAUnitMismatchNotABlindSpot() throws {
        var h = Harness()
        h.hold(from: 0, to: 600, step: 60, [("vent", .fio2, 60), ("vent", .peep, 10), ("oxi", .spo2, 88)])
        let severityBefore = h.events(.pfSeverity).count
        #expect(severityBefore > 0)
        h.hold(from: 660, to: 660 + 3600, step: 60, [("vent", .fio2, 0.6), ("vent", .peep, 10), ("oxi", .spo2, 88)])
        #expect(h.trail(.valueRejected).first == "start@660:low")
        let mismatch = try #require(h.events(.unitMismatch).first)
        #expect(mismatch.phase == .start && mismatch.t == 660 && mismatch.priority == .medium && mismatch.source == "vent")
        #expect(mismatch.text.hasPrefix("FiO2 from vent arrives as 0.6, which looks like a fraction, but its configured unit is % (accepted 21-100)"),
                "\(mismatch.text)")
        #expect(mismatch.text.contains("Blind while it lasts: oxygenation.pf_severity"))
        #expect(mismatch.evidence.contains { $0.0 == "looks_like" && $0.1 == .string("fraction") })
        #expect(!h.events(.pfSeverity).dropFirst(severityBefore).contains { $0.phase == .end }, "held, not ended: \(h.trail(.pfSeverity))")
        let back = 660.0 + 3660
        h.hold(from: back, to: back + 300, step: 30, [("vent", .fio2, 60), ("vent", .peep, 10), ("oxi", .spo2, 88)])
        #expect(h.events(.unitMismatch).last.map { "\($0.phase)@\($0.t)" } == "end@\(back + 60)", "\(h.trail(.unitMismatch))")

        var spo2 = Harness()
        spo2.hold(from: 0, to: 600, step: 30, [("oxi", .spo2, 0.95)])
        #expect(spo2.events(.unitMismatch).first?.evidence.contains { $0.0 == "parameter" && $0.1 == .string("spo2") } == true)
        #expect(spo2.events(.spo2Low).isEmpty)
    }

    // MARK: - §7.9 P/F unknown with a lower bound

    /// §7.9: a severe gas, then SpO2 99 %: held on FiO2 1.0; FiO2 0.5 → moderate ("at least 163"), 0.3 →
    /// mild, 0.25 → latched. A lower bound never starts the alarm.
    @Test func aLowerBoundOnlyLetsTheBandImprove() throws {
        var h = Harness()
        h.feed(0, [("vent", .fio2, 100), ("vent", .peep, 12), ("lab", .pao2, 70)])
        #expect(h.trail(.pfSeverity) == ["start@0:high"])
        h.hold(from: 3700, to: 3900, step: 100, [("vent", .fio2, 100), ("vent", .peep, 12), ("oxi", .spo2, 99)])
        #expect(h.events(.pfSeverity).filter { $0.phase != .continue }.count == 1, "held: \(h.trail(.pfSeverity))")
        h.feed(4000, [("vent", .fio2, 50), ("vent", .peep, 12), ("oxi", .spo2, 99)])
        let moderate = try #require(h.events(.pfSeverity).last)
        #expect(moderate.phase == .deescalate && moderate.priority == .medium, "\(h.trail(.pfSeverity))")
        #expect(moderate.text.contains("at least 163"), "\(moderate.text)")
        #expect(!moderate.text.contains("Berlin"))
        h.feed(4300, [("vent", .fio2, 30), ("vent", .peep, 12), ("oxi", .spo2, 99)])
        #expect(h.events(.pfSeverity).last.map { "\($0.phase):\($0.priority)" } == "deescalate:low")
        h.feed(4600, [("vent", .fio2, 25), ("vent", .peep, 12), ("oxi", .spo2, 99)])
        #expect(h.events(.pfSeverity).last?.state == .latched, "\(h.trail(.pfSeverity))")

        var fresh = Harness()
        fresh.hold(from: 0, to: 3600, step: 60, [("vent", .fio2, 100), ("vent", .peep, 12), ("oxi", .spo2, 99)])
        #expect(fresh.events(.pfSeverity).isEmpty)
    }

    // MARK: - §7.15 texts

    @Test func textsOfRulesV3() throws {
        var kidney = Harness(Patient(sex: .male, heightCm: 170, conditions: [.diffuseAlveolarHemorrhage]))
        kidney.feed(0, [("lab", .creatinine, 2.6)])
        kidney.feed(43200, [("lab", .creatinine, 4.1)])
        let aki = try #require(kidney.events(.renalFunction).first)
        #expect(aki.priority == .high && aki.text.contains("at or above 4.0 mg/dL"), "\(aki.text)")
        #expect(aki.evidence.contains { $0.0 == "stage_criterion" && $0.1 == .string("absolute_4_mg_dl") })

        var imputed = Harness()
        imputed.feed(0, [("vent", .fio2, 50), ("vent", .peep, 10), ("oxi", .spo2, 92)])
        let band = try #require(imputed.events(.pfSeverity).first)
        #expect(!band.text.contains("Berlin") && band.text.contains("2024"), "\(band.text)")
        #expect(band.evidence.contains { $0.0 == "band_system" && $0.1 == .string("imputed") })
    }
}
