import AlveoTestKit
import AlveoAgent
import AlveoCore
import Foundation
import Testing

/// Rules v3 acceptance at the level of the agent (shared/clinical-v3.md §7.4, 7.5, 7.16): the bundled
/// 37 h DAH course without acknowledgements, what the station gets of it, and the configuration.
@Suite struct RulesV3CourseTests {
    static let course = Paths.repository.appendingPathComponent("devices/scenarios/dah_escalation.csv")
    static let config = Paths.repository.appendingPathComponent("config/dah-demo.yaml")

    /// The course with every acknowledgement row removed, replayed: its events.
    static func courseWithoutAcks() throws -> [AlarmEvent] {
        let text = try String(contentsOf: course, encoding: .utf8)
        let rows = text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains(",ack,") }
        let path = try Paths.temporaryDirectory().appendingPathComponent("dah_no_acks.csv").path
        try rows.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        var events: [AlarmEvent] = []
        try ScenarioReplay.run(config: try AgentConfig.load(path: config.path), scenarioPath: path) { events.append($0) }
        return events
    }

    /// §2.4 and §7.5: 102 events on stdout (73 re-announcements), 29 to the station, per rule as the
    /// contract's table; no unacknowledged high alarm goes more than 3600 s without an event.
    @Test func theDAHCourseWithoutAcknowledgementsIsReadable() throws {
        let events = try Self.courseWithoutAcks()
        let transitions = events.filter { $0.phase != .continue }
        let continues = events.filter { $0.phase == .continue }
        func count(_ list: [AlarmEvent]) -> [String: Int] { Dictionary(list.map { ($0.rule.id, 1) }, uniquingKeysWith: +) }
        #expect(count(continues) == ["oxygenation.pf_severity": 33, "lpv.plateau_high": 30, "oxygenation.pf_falling": 5,
                                     "lpv.driving_pressure_high": 4, "dah.hemoptysis_volume": 1], "\(count(continues))")
        #expect(count(transitions) == [
            "oxygenation.pf_severity": 5, "escalation.plasma_exchange": 2, "oxygenation.pf_falling": 2, "lpv.plateau_stale": 4,
            "lpv.plateau_high": 2, "lpv.driving_pressure_high": 2, "dah.hemoptysis_volume": 2, "dah.hemoglobin_drop": 2,
            "escalation.prone_positioning": 2, "dah.hemoptysis_prone": 2, "dah.renal_function": 1, "lpv.plateau_overdue": 2,
            "escalation.prone_stop": 1,
        ], "\(count(transitions))")
        #expect(events.count == 102 && transitions.count == 29)
        let prone = events.filter { $0.rule == .pronePositioning }
        #expect(prone.map(\.t) == [50400, 52200], "the prone prompt while the criteria hold, with the haemoptysis caution")
        #expect(prone.first?.evidence.contains { $0.0 == "cautions" } == true)

        // No unacknowledged high alarm is silent for more than an hour.
        var lastEvent: [Int: (t: Double, high: Bool)] = [:]
        for event in events {
            if let previous = lastEvent[event.alarmID], previous.high {
                #expect(event.t - previous.t <= 3600, "alarm \(event.alarmID) \(event.rule.id): silent from \(previous.t) to \(event.t)")
            }
            lastEvent[event.alarmID] = event.phase == .end ? nil : (event.t, event.priority == .high && !event.acknowledged)
        }
    }

    /// §7.16: numbers the contract refuses, with file:line and the key.
    @Test(arguments: [
        ("oxygenation.spo2_low: {chatter_max_per_h: 0}", "bed.yaml:3: rules.oxygenation.spo2_low.chatter_max_per_h: 0.0 is out of the allowed range"),
        ("oxygenation.pf_falling: {fall_fraction: 0.2, end_fall_fraction: 0.3}", "bed.yaml:3: rules.oxygenation.pf_falling"),
        ("alarm_system: {high_max_s: 7200}", "bed.yaml:3: rules.alarm_system.high_max_s: 7200.0 is out of the allowed range"),
        ("alarm_system: {latched_s: 7200}", "bed.yaml:3: rules.alarm_system.latched_s"),
        ("escalation.ecmo_referral: {offset_s: 60}", "bed.yaml:3: rules.escalation.ecmo_referral.offset_s: offset_s does not apply"),
        ("escalation.prone_stop: {delay_s: 14400}", "bed.yaml:3: rules.escalation.prone_stop.delay_s: delay_s is gone in rules v3"),
        ("escalation.prone_repeat: {assess_after_s: 14400}", "set it under escalation.prone_stop"),
        ("escalation.prone_stop: {assess_window_s: 7200}", "bed.yaml:3: rules.escalation.prone_stop.assess_window_s: 7200.0 is out of the allowed range"),
        ("circulation.hypotension: {high_threshold_mmhg: 70}", "rules.circulation.hypotension: need high_threshold_mmhg <= threshold_mmhg"),
    ])
    func rulesV3ConfigurationIsChecked(rule: String, message: String) {
        do {
            _ = try AgentConfig.parse(yaml: "patient: {sex: male, height_cm: 170}\nrules:\n  \(rule)", file: "bed.yaml")
            Issue.record("accepted: \(rule)")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
        }
    }

    /// §2.3 / §7.4: the v2 re-announcement example is unchanged, and the new schedule keys are read.
    @Test func theReannouncementScheduleKeysOfRulesV3() throws {
        let config = try AgentConfig.parse(yaml: """
            patient: {sex: male, height_cm: 170}
            rules:
              alarm_system: {high_s: 300, high_fast_s: 1800, high_max_s: 1800, latched_s: 1800, medium_s: 300, medium_max_s: 3600}
            """, file: "bed.yaml")
        #expect(config.rules.reannounceHigh == 300 && config.rules.reannounceLatched == 1800)
    }
}
