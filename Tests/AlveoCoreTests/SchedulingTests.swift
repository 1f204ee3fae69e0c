@testable import AlveoCore
import Testing

/// Running a rule only when one of its inputs changed or one of its timers is due must give exactly
/// the events of running every rule at every group: seeded random beds (values that hold and jump,
/// sparse and dense groups, silences, probe states, impossible values, gases with sample times, labs,
/// haemoptysis, positions, acknowledgements of any rule), four patients, two settings, compared event
/// by event.
@Suite struct SchedulingTests {
    /// A small deterministic generator (the tests must not depend on the platform's random numbers).
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        mutating func chance(_ p: Double) -> Bool { Double(next() % 1_000_000) < p * 1_000_000 }
        mutating func pick<T>(_ items: [T]) -> T { items[Int(next() % UInt64(items.count))] }
    }

    static func groups(seed: UInt64, hours: Int) -> [(t: Double, rows: [Observation])] {
        var random = Generator(state: seed)
        var values: [Parameter: Double] = [.spo2: 92, .vt: 450, .fio2: 60, .pplat: 27, .peep: 10]
        var prone = false
        var t = 0.0
        var groups: [(t: Double, rows: [Observation])] = []
        while t < Double(hours * 3600) {
            t += random.pick([1, 1, 1, 1, 2, 5, 10, 30, 61, 300])
            var rows: [Observation] = []
            if random.chance(0.05) { values[.spo2] = random.pick([80, 84, 86, 87, 88, 89, 90, 93, 94, 96, 97, 99]) }
            if random.chance(0.3) { values[.spo2] = min(100, max(70, values[.spo2]! + random.pick([-1, 0, 1]))) }
            if random.chance(0.03) { values[.vt] = random.pick([150, 180, 300, 330, 400, 450, 520, 600]) }
            if random.chance(0.02) { values[.fio2] = random.pick([30, 40, 50, 60, 70, 80, 100]) }
            if random.chance(0.02) { values[.peep] = random.pick([5, 8, 10, 12, 14, 16]) }
            if random.chance(0.03) { values[.pplat] = random.pick([20, 25, 28, 29, 31, 33]) }
            for parameter in [Parameter.fio2, .vt, .peep, .spo2, .pplat] where random.chance(0.9) {
                rows.append(Observation(source: parameter == .spo2 ? "oxi" : "vent", parameter: parameter, value: .number(values[parameter]!)))
            }
            if random.chance(0.01) { rows.append(Observation(source: "oxi", parameter: .sensor, value: .sensor(random.pick([.off, .disconnected, .ok])))) }
            if random.chance(0.005) { rows.append(Observation(source: "oxi", parameter: .spo2, value: .noData)) }
            if random.chance(0.005) { rows.append(Observation(source: "vent", parameter: .peep, value: .number(99))) }
            if random.chance(0.01) {
                rows.append(Observation(source: "lab", parameter: .pao2, value: .number(random.pick([55, 60, 70, 80, 90, 110, 150])),
                                        sampledAt: max(0, t - random.pick([0, 60, 600]))))
            }
            if random.chance(0.004) { rows.append(Observation(source: "lab", parameter: .hb, value: .number(random.pick([7, 8, 9, 10, 11, 12])))) }
            if random.chance(0.004) { rows.append(Observation(source: "lab", parameter: .creatinine, value: .number(random.pick([0.8, 1.0, 1.5, 2.5, 3.6, 4.5])))) }
            if random.chance(0.004) { rows.append(Observation(source: "nurse", parameter: .hemoptysis, value: .number(random.pick([0, 20, 50, 120, 250])))) }
            if random.chance(0.003) {
                prone.toggle()
                rows.append(Observation(source: "nurse", parameter: .position, value: .position(prone ? .prone : .supine)))
            }
            if random.chance(0.0005) { rows.append(Observation(source: "nurse", parameter: .ack, value: .ack(random.pick(RuleID.allCases)))) }
            groups.append((t, rows))
        }
        return groups
    }

    static let patients = [
        Patient(sex: .female, heightCm: 160, conditions: [.diffuseAlveolarHemorrhage, .ancaVasculitis]),
        Patient(sex: .male, heightCm: 180, conditions: [.antiGBM, .diffuseAlveolarHemorrhage]),
        Patient(sex: nil, heightCm: nil, conditions: [.ancaVasculitis]),
        Patient(sex: .male, heightCm: 175),
    ]

    static var shortTimers: RuleSettings {
        var settings = RuleSettings()
        settings[SpO2Low.self].spo2LowDelay = 20
        settings.policies[RuleID.spo2Low.ordinal].offset = 30
        settings.advisoryRearm = 600
        return settings
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func schedulingGivesTheEventsOfRunningEveryRule(seed: UInt64) {
        let groups = Self.groups(seed: seed, hours: 48)
        var compared = 0
        for patient in Self.patients {
            for settings in [RuleSettings(), Self.shortTimers] {
                var scheduled = ClinicalCore(patient: patient, settings: settings)
                var everyRule = ClinicalCore(patient: patient, settings: settings)
                everyRule.evaluatesEveryRule = true
                for group in groups {
                    let a = scheduled.process(group.rows, at: group.t).map { $0.jsonLine() }
                    let b = everyRule.process(group.rows, at: group.t).map { $0.jsonLine() }
                    #expect(a == b, "seed \(seed), t = \(group.t)")
                    if a != b { return }
                    compared += a.count
                }
            }
        }
        #expect(compared > 1000, "the random beds raise alarms: \(compared) events compared")
    }
}
