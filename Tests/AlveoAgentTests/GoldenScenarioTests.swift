import AlveoTestKit
import AlveoAgent
import AlveoCore
import Foundation
import Testing

/// Golden tests: each clinical scenario replayed through the core must give exactly its expected events.
/// To accept a deliberate change, run with ALVEO_UPDATE_GOLDEN=1 and review the diff of the .jsonl files.
@Suite struct GoldenScenarioTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var scenario: URL
        var config: URL
        var testDescription: String { name }
    }

    static let cases: [Case] = {
        var cases = ["lpv_violations", "spo2_tiers_ack", "technical_faults", "labs_renal_hemoptysis", "well_ventilated",
                     "sample_times_unknown_patient", "v2_short_stature", "v2_prone_window", "v2_prone_course", "v2_peep_change",
                     "v2_pf_like_with_like", "v2_plasma_exchange", "v2_plasma_exchange_anti_gbm", "v2_kidney", "v2_hemoptysis_prone",
                     "v2_reannounce", "v2_fio2_weanable", "v3_hypotension"].map {
            Case(name: $0, scenario: Paths.scenarios.appendingPathComponent("\($0).csv"),
                 config: Paths.scenarios.appendingPathComponent("\($0).yaml"))
        }
        cases.append(Case(name: "dah_escalation",
                          scenario: Paths.repository.appendingPathComponent("devices/scenarios/dah_escalation.csv"),
                          config: Paths.repository.appendingPathComponent("config/dah-demo.yaml")))
        return cases
    }()

    static func replay(_ testCase: Case) throws -> [AlarmEvent] {
        let config = try AgentConfig.load(path: testCase.config.path)
        var events: [AlarmEvent] = []
        try ScenarioReplay.run(config: config, scenarioPath: testCase.scenario.path) { events.append($0) }
        return events
    }

    @Test(arguments: cases)
    func replayMatchesExpectedEvents(_ testCase: Case) throws {
        let output = try Self.replay(testCase).map { $0.jsonLine() + "\n" }.joined()
        let expectedURL = Paths.scenarios.appendingPathComponent("\(testCase.name).expected.jsonl")
        if ProcessInfo.processInfo.environment["ALVEO_UPDATE_GOLDEN"] == "1" {
            try output.write(to: expectedURL, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: expectedURL, encoding: .utf8)
        let got = output.split(separator: "\n", omittingEmptySubsequences: false)
        let want = expected.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, (g, w)) in zip(got, want).enumerated() where g != w {
            Issue.record("\(testCase.name): first difference at event \(index + 1)\n got: \(g)\nwant: \(w)")
            break
        }
        #expect(got.count == want.count, "\(testCase.name): \(got.count - 1) events, expected \(want.count - 1)")
    }

    @Test func replayingTwiceIsByteIdentical() throws {
        for testCase in Self.cases {
            let first = try Self.replay(testCase).map { $0.jsonLine() }
            let second = try Self.replay(testCase).map { $0.jsonLine() }
            #expect(!first.isEmpty)
            #expect(first == second, "\(testCase.name)")
        }
    }

    /// The DAH demo under rules v2; asserted directly, not only through the golden file.
    @Test func dahPatientMeetsPlasmaExchangeAndProneCriteria() throws {
        let events = try Self.replay(Self.cases.first { $0.name == "dah_escalation" }!)
        func first(_ rule: RuleID, _ phase: AlarmPhase) -> AlarmEvent? {
            events.first { $0.rule == rule && $0.phase == phase }
        }
        let plex = try #require(first(.plasmaExchange, .start))
        #expect(plex.t == 3600, "P/F 144 < 200 over the 1 h qualifying window")
        #expect(plex.evidence.contains { $0.0 == "indication" && $0.1 == .string("dah_hypoxaemia") })
        #expect(plex.text.contains("PEXIVAS showed no overall effect") && plex.text.contains("fresh frozen plasma"))
        #expect(first(.plasmaExchange, .end)?.reason == "acknowledged")
        #expect(events.filter { $0.rule == .plasmaExchange }.count == 2, "acknowledged: not raised again")
        #expect(first(.pfFalling, .start)?.t == 7200, "not at the switch from the gas to imputation (1 h), but at imputed 109 -> 81")
        // Rules v3 §4.6: never withheld: the prompt at 14 h with the haemoptysis caution; the team proned at 14.5 h.
        let prone = try #require(first(.pronePositioning, .start))
        #expect(prone.t == 50400 && prone.text.contains("Caution: haemoptysis 230 ml in the last 24 h"), "\(prone.text)")
        #expect(first(.pronePositioning, .end)?.t == 52200)
        #expect(first(.hemoptysisVolume, .start)?.priority == .medium, "230 ml in 24 h: medium; high only while massive (§4.11)")
        #expect(first(.plateauStale, .start)?.t == 8100, "PEEP 10 -> 14 at 2 h after the plateau of 0 h")
        #expect(first(.hemoptysisProne, .start)?.t == 72000.0)
        #expect(first(.proneStop, .start)?.t == 34.5 * 3600, "4 h supine with P/F >= 150 after the session")
        #expect(first(.proneRepeat, .start) == nil, "improved after the session")
        #expect(first(.hemoptysisVolume, .start)?.t == 36000.0)
        #expect(first(.hemoglobinDrop, .start)?.t == 43200.0)
        #expect(first(.renalFunction, .start)?.t == 86400.0)
        #expect(first(.pfSeverity, .escalate)?.priority == .high)
        #expect(events.filter { $0.rule == .deviceSilent }.isEmpty)
        #expect(!events.contains { $0.phase == .escalate && $0.reason == "reannounce" })
        #expect(events.count < 150, "no flood of re-announcements: \(events.count) events")
    }

    @Test func wellVentilatedPatientTriggersOnlyOxygenationBands() throws {
        let events = try Self.replay(Self.cases.first { $0.name == "well_ventilated" }!)
        #expect(!events.isEmpty)
        #expect(Set(events.map(\.rule)) == [.pfSeverity])
    }

    @Test func everyRuleIsExercisedByTheGoldenScenarios() throws {
        var seen = Set<RuleID>()
        for testCase in Self.cases { seen.formUnion(try Self.replay(testCase).map(\.rule)) }
        let coreRules = Set(RuleID.allCases.filter { !$0.isAgentCondition && !$0.isLifecycle })
        #expect(seen == coreRules, "missing: \(coreRules.subtracting(seen).map(\.id).sorted())")
    }
}
