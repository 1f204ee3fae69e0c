import AlveoTestKit
import AlveoAgent
import AlveoCore
import AlveoOutput
import Foundation
import Logging
import Testing

/// The alarm lifecycle across the agent's own, in process: a stop ends every alarm and says the bed is
/// unwatched; the next start ends what a previous run left open (threaded to it), carries a latched
/// alarm over, records a crash as a gap, ends the stop at the first poll, and a new instance of a
/// condition that still holds names the previous one.
@Suite struct AlarmLifecycleTests {
    static let config = try! AgentConfig.parse(yaml: "patient: {sex: female, height_cm: 160}\n", file: "bed.yaml")

    static func number(_ parameter: Parameter, _ value: Double) -> Observation {
        Observation(source: parameter == .spo2 ? "oxi" : "vent", parameter: parameter, value: .number(value))
    }

    /// Three alarms in force, one latched: the probe off, the driving pressure high, the plateau latched.
    static func threeAlarms() -> (BedsideLoop, [AlarmEvent]) {
        var loop = BedsideLoop(config: config, expectDevices: false)
        var events: [AlarmEvent] = []
        events += loop.take([Observation(source: "oxi", parameter: .sensor, value: .sensor(.off)),
                             number(.pplat, 35), number(.peep, 5), number(.vt, 300)], at: 10).events
        events += loop.take([number(.pplat, 22), number(.peep, 5), number(.vt, 300)], at: 20).events
        return (loop, events)
    }

    static let stopTexts = LifecycleTexts(active: "Alveo stopped at 10:02: bed ICU-B1 is no longer watched by Alveo.",
                                          cleared: "Alveo watches bed ICU-B1 again.", evidence: [("bed", .string("ICU-B1"))])

    @Test func aStopEndsEveryAlarmAndSaysTheBedIsUnwatched() throws {
        var (loop, before) = Self.threeAlarms()
        #expect(Set(loop.activeAlarms.map(\.rule)) == [.sensorOff, .plateauHigh, .drivingPressureHigh])
        #expect(before.contains { $0.rule == .plateauHigh && $0.state == .latched })
        let events = loop.take(.stop(Self.stopTexts), at: 30)
        #expect(events.map(\.phase) == [.end, .end, .end, .start])
        #expect(events.prefix(3).allSatisfy { $0.reason == "agent_stopped" && $0.state == .inactive })
        let plateau = try #require(events.first { $0.rule == .plateauHigh })
        #expect(plateau.evidence("latched_unacknowledged") == .bool(true) && plateau.text.contains("carried over"))
        let stopped = try #require(events.last)
        #expect(stopped.rule == .monitoringStopped && stopped.state == .active && stopped.text == Self.stopTexts.active)
        #expect(loop.activeAlarms.map(\.rule) == [.monitoringStopped])
    }

    @Test func aRestartEndsWhatWasLeftOpenCarriesTheLatchedOneAndRecordsTheGap() throws {
        let (_, before) = Self.threeAlarms()
        // What the journal of a run killed now would hold: the last event of each alarm.
        var last: [Int: AlarmEvent] = [:]
        for event in before { last[event.alarmID] = event }
        let open = last.keys.sorted().map { OpenAlarm(run: "R1", event: last[$0]!) }
        var loop = BedsideLoop(config: Self.config, expectDevices: false)
        let gap = LifecycleTexts(active: "Alveo was not watching bed ICU-B1 from 10:02 to 10:07.", cleared: "Watching again.", evidence: [])
        let events = loop.take(.reconcile(.init(open: open, carried: [], endText: "Ended: Alveo restarted.", gap: gap, resume: nil,
                                                resumeText: "")), at: 0)
        let ends = events.filter { $0.reason == "agent_restarted" }
        #expect(ends.count == 3 && ends.allSatisfy { $0.phase == .end && $0.run == "R1" && $0.state == .inactive })
        #expect(Set(ends.map(\.alarmID)) == Set(open.map(\.event.alarmID)), "threaded to the old instances")
        #expect(events.filter { $0.rule == .monitoringGap }.map(\.phase) == [.start, .end])
        let carried = try #require(events.first { $0.reason == "carried_over" })
        #expect(carried.rule == .plateauHigh && carried.state == .latched && carried.phase == .start && carried.run == nil)
        #expect(carried.evidence("previous_alarm")?.text == "R1-A\(open.first { $0.event.rule == .plateauHigh }!.event.alarmID)")
        // The conditions still hold: new instances name the previous ones; the latched one recurs.
        let next = loop.take([Observation(source: "oxi", parameter: .sensor, value: .sensor(.off)), Self.number(.pplat, 35),
                              Self.number(.peep, 5), Self.number(.vt, 300)], at: 5).events
        let sensor = try #require(next.first { $0.rule == .sensorOff && $0.phase == .start })
        #expect(sensor.evidence("previous_alarm")?.text?.hasPrefix("R1-A") == true)
        #expect(next.contains { $0.rule == .plateauHigh && $0.phase == .update && $0.reason == "recurred" && $0.alarmID == carried.alarmID })
        // Acknowledging the carried latched alarm ends it (an operator's act).
        var acked = BedsideLoop(config: Self.config, expectDevices: false)
        _ = acked.take(.reconcile(.init(open: open, carried: [], endText: "x", gap: nil, resume: nil, resumeText: "")), at: 0)
        let ack = acked.take(BedsideEntry(action: .acknowledge(rule: RuleID.plateauHigh.id, source: nil), via: "cli"), at: 1)
        #expect((try? ack.get().events.map(\.phase)) == [.end])
    }

    @Test func afterACleanStopTheNextRunEndsTheStopAtItsFirstPoll() throws {
        var (loop, _) = Self.threeAlarms()
        let stop = loop.take(.stop(Self.stopTexts), at: 30)
        let stopped = OpenAlarm(run: "R1", event: try #require(stop.last))
        let carried = stop.filter { $0.evidence("latched_unacknowledged") == .bool(true) }.map { OpenAlarm(run: "R1", event: $0) }
        var next = BedsideLoop(config: Self.config, expectDevices: false)
        let reconciled = next.take(.reconcile(.init(open: [stopped], carried: carried, endText: "Ended: Alveo restarted.", gap: nil,
                                                    resume: stopped, resumeText: "Alveo watches bed ICU-B1 again since 10:07.")), at: 0)
        #expect(reconciled.map(\.reason) == ["carried_over"], "no end for the stop yet, no gap after a clean stop")
        let first = next.take([], at: 1).events
        let resumed = try #require(first.first)
        #expect(resumed.rule == .monitoringStopped && resumed.phase == .end && resumed.run == "R1" && resumed.alarmID == stopped.event.alarmID)
        #expect(resumed.reason == "monitoring_resumed" && resumed.text == "Alveo watches bed ICU-B1 again since 10:07.")
        #expect(next.take([], at: 2).events.isEmpty, "said once")
    }

    @Test func theLifecycleRecordRoundTrips() throws {
        let (_, before) = Self.threeAlarms()
        let entry = LifecycleEntry.reconcile(.init(open: before.map { OpenAlarm(run: "R1", event: $0) }, carried: [], endText: "e",
                                                   gap: Self.stopTexts, resume: nil, resumeText: "r"))
        // Evidence comes back with its keys sorted (as from the journal): stable from then on, so live
        // (which reconciles from the journal) and replay (from the record) give the same bytes.
        let once = try #require(LifecycleEntry.decode(entry.json()))
        #expect(LifecycleEntry.decode(once.json()) == once)
        guard case .reconcile(let r) = once else { Issue.record("not a reconciliation"); return }
        #expect(r.open.map(\.event.alarmID) == before.map(\.alarmID) && r.gap == Self.stopTexts && r.resumeText == "r")
        #expect(LifecycleEntry.decode(LifecycleEntry.stop(Self.stopTexts).json()) == .stop(Self.stopTexts))
        #expect(LifecycleEntry.decode(Array("{\"reconcile\":7}".utf8)) == nil && LifecycleEntry.decode([0xFF]) == nil)
    }
}

/// Log lines that fit the box.
@Suite struct AgentLogHandlerTests {
    @Test func priorityPrefixUnderSystemdHumanFormatOtherwiseOneLineAlways() {
        let journald = AgentLogHandler(label: "alveo", level: .info, journald: true)
        #expect(journald.line(level: .error, message: "cannot connect", metadata: ["output": "hl7 10.0.0.1:2575"])
            == "<3>alveo: cannot connect output=hl7 10.0.0.1:2575")
        #expect(journald.line(level: .warning, message: "x", metadata: nil).hasPrefix("<4>"))
        #expect(journald.line(level: .debug, message: "x", metadata: nil).hasPrefix("<7>"))
        let human = AgentLogHandler(label: "alveo", level: .info, journald: false)
        let line = human.line(level: .notice, message: "a\nb\u{1B}[2J", metadata: nil, now: Date(timeIntervalSince1970: 1_795_593_600))
        #expect(line == "2026-11-25T08:00:00Z notice alveo: a\\x0Ab\\x1B[2J", "escaped: one line, no terminal control")
    }
}
