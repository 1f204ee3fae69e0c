@testable import AlveoCore
import Testing

/// What the bedside loop needs from the core: values of their sample time, acknowledgements that say
/// when there is nothing to acknowledge, patients that change, and a view of what is going on.
@Suite struct SampleTimeAndPatientTests {
    func observation(_ source: String, _ parameter: Parameter, _ value: Double, sampled: Double? = nil, corrects: Bool = false) -> Observation {
        Observation(source: source, parameter: parameter, value: .number(value), sampledAt: sampled, corrects: corrects)
    }

    @Test func aGasUsesTheFiO2OfItsSampleTimeAndIsValidFromThen() throws {
        var core = ClinicalCore(patient: Patient(sex: .male, heightCm: 170))
        _ = core.process([observation("vent", .fio2, 60)], at: 0)
        _ = core.process([observation("vent", .fio2, 60)], at: 5)
        _ = core.process([observation("vent", .fio2, 40)], at: 600)
        _ = core.process([observation("vent", .fio2, 40), observation("lab", .pao2, 60, sampled: 300)], at: 1800)
        let pf = try #require(core.currentPF)
        #expect(pf.kind == .measured)
        #expect(pf.value == 100, "60 / 0.60, not 60 / 0.40")
        #expect(pf.pao2Time == 300)
        // Valid for gas_valid_s (3600 s) from its sample time: gone at 3901 s.
        _ = core.process([observation("vent", .fio2, 40)], at: 3899)
        #expect(core.currentPF?.kind == .measured)
        _ = core.process([observation("vent", .fio2, 40)], at: 3901)
        #expect(core.currentPF == nil || core.currentPF?.kind == .imputed)
    }

    @Test func anOlderGasDoesNotReplaceANewerOneButACorrectionDoes() throws {
        var core = ClinicalCore(patient: Patient(sex: .male, heightCm: 170))
        _ = core.process([observation("vent", .fio2, 50)], at: 0)
        _ = core.process([observation("vent", .fio2, 50), observation("lab", .pao2, 80, sampled: 100)], at: 200)
        _ = core.process([observation("vent", .fio2, 50), observation("lab", .pao2, 50, sampled: 50)], at: 300)
        #expect(core.currentPF?.value == 160, "the gas of 100 s stays")
        _ = core.process([observation("vent", .fio2, 50), observation("lab", .pao2, 70, sampled: 100, corrects: true)], at: 400)
        #expect(core.currentPF?.value == 140, "corrected")
    }

    @Test func labSeriesTakeLateResultsInTheirPlace() {
        var series = LabSeries()
        _ = series.insert(t: 100, value: 9.0, corrects: false, window: 86400, extreme: >)
        let (latest, reference) = series.insert(t: 50, value: 11.2, corrects: false, window: 86400, extreme: >)
        #expect(latest.t == 100 && latest.value == 9.0, "the latest by sample time")
        #expect(reference?.value == 11.2)
        let corrected = series.insert(t: 100, value: 10.0, corrects: true, window: 86400, extreme: >)
        #expect(corrected.latest.value == 10.0)
        #expect(series.entries.count == 2)
    }

    @Test func historyAnswersForAnyTimeItKeeps() {
        var history = History<Double>()
        for t in stride(from: 0.0, through: 40_000, by: 10) { history.record(t, at: t, keep: 3600) { $0 == $1 } }
        #expect(history.value(at: 40_000) == 40_000)
        #expect(history.value(at: 39_995) == 39_990)
        #expect(history.value(at: 36_400) == 36_400)
        #expect(history.value(at: -5) == nil)
    }

    @Test func acknowledgingNothingIsRefusedAndChangesNothing() throws {
        var core = ClinicalCore(patient: Patient(sex: .male, heightCm: 170))
        #expect(throws: ClinicalCore.AckRefusal.noAlarm(rule: .spo2Low, source: nil)) { try core.acknowledge(.spo2Low, source: nil, at: 1).get() }
        for t in stride(from: 0.0, through: 120, by: 1) { _ = core.process([observation("oxi", .spo2, 80)], at: t) }
        #expect(core.activeAlarms.contains { $0.rule == .spo2Low })
        #expect(throws: ClinicalCore.AckRefusal.noAlarm(rule: .spo2Low, source: "vent")) { try core.acknowledge(.spo2Low, source: "vent", at: 121).get() }
        let events = try core.acknowledge(.spo2Low, source: nil, at: 121).get()
        #expect(events.contains { $0.rule == .spo2Low && $0.reason == "acknowledged" })
        #expect(throws: ClinicalCore.AckRefusal.alreadyAcknowledged(rule: .spo2Low, source: nil)) { try core.acknowledge(.spo2Low, source: nil, at: 122).get() }
    }

    @Test func aNewPatientEndsEveryAlarmAndNumberingGoesOn() throws {
        var core = ClinicalCore(patient: Patient(sex: .male, heightCm: 170))
        for t in stride(from: 0.0, through: 120, by: 1) { _ = core.process([observation("oxi", .spo2, 80), observation("vent", .vt, 700)], at: t) }
        let active = core.activeAlarms
        #expect(active.count >= 2)
        let ended = core.endAll(reason: "patient_changed", at: 121)
        #expect(ended.count == active.count)
        #expect(ended.allSatisfy { $0.phase == .end && $0.reason == "patient_changed" })
        #expect(core.activeAlarms.isEmpty)
        let next = ClinicalCore(patient: .unknown, firstAlarmID: core.nextAlarmID)
        #expect(next.nextAlarmID == core.nextAlarmID)
    }

    @Test func aPatientWithoutHeightSaysSoOnceAndGetsKnown() {
        var core = ClinicalCore(patient: Patient(sex: .female, heightCm: nil))
        let first = core.process([observation("vent", .vt, 450)], at: 0)
        #expect(first.filter { $0.rule == .patientUnknown && $0.phase == .start }.count == 1)
        #expect(core.process([observation("vent", .vt, 450)], at: 10).isEmpty, "once, not again")
        core.update(patient: Patient(sex: .female, heightCm: 160))
        let known = core.process([observation("vent", .vt, 450)], at: 20)
        #expect(known.contains { $0.rule == .patientUnknown && $0.phase == .end })
        #expect(core.pbw != nil)
    }
}
