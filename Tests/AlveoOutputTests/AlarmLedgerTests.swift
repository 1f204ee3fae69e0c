import AlveoCore
import AlveoOutput
import Foundation
import Testing

/// The journal knows which alarms are open, across rotation, pruning, reopening and a torn last line:
/// what the next run reconciles from.
@Suite struct AlarmLedgerTests {
    static func event(_ id: Int, _ rule: RuleID, _ phase: AlarmPhase, state: AlarmState = .active, priority: Priority = .medium,
                      reason: String? = nil, source: String? = nil, evidence: [(String, JSONValue)] = [], run: String? = nil) -> AlarmEvent
    {
        AlarmEvent(t: Double(id), alarmID: id, rule: rule, source: source, parameter: nil, phase: phase, priority: priority, state: state,
                   acknowledged: false, reason: reason, text: "alarm \(id) \(phase.rawValue)", evidence: evidence, run: run)
    }

    @Test func openAlarmsSurviveRotationPruningAndReopening() throws {
        let directory = try temporaryDirectory()
        do {
            let journal = try Journal(directory: directory, segmentMaxBytes: 2048, runID: "20261125T100000Z")
            try journal.appendMarker("started", wallTime: "2026-11-25T10:00:00.000Z")
            try journal.append(Self.event(1, .sensorOff, .start, source: "oxi"), wallTime: "2026-11-25T10:00:01.000Z")
            try journal.append(Self.event(2, .plateauHigh, .start, priority: .high), wallTime: "2026-11-25T10:00:02.000Z")
            try journal.append(Self.event(2, .plateauHigh, .update, state: .latched, priority: .high, reason: "latched"), wallTime: nil)
            try journal.append(Self.event(3, .spo2Low, .start), wallTime: nil)
            try journal.append(Self.event(3, .spo2Low, .end, state: .inactive), wallTime: nil)
            // Many more events, so that the segments holding the starts are pruned.
            for n in 4..<40 {
                try journal.append(Self.event(n, .pfFalling, .start), wallTime: nil)
                try journal.append(Self.event(n, .pfFalling, .end, state: .inactive), wallTime: "2026-11-25T10:05:00.000Z")
            }
            #expect(Journal.segments(in: directory).count > 3)
            journal.prune(deliveredUpTo: journal.lastSeq - 2)
            #expect(journal.ledger.openAlarms.map(\.event.alarmID) == [1, 2])
        }
        #expect(Journal.segments(in: directory).count <= 2, "the segments with the starts are gone")
        let reopened = try Journal(directory: directory, segmentMaxBytes: 2048, runID: "20261125T110000Z")
        let previous = try #require(reopened.previous)
        #expect(previous.open.map(\.reference) == ["20261125T100000Z-A1", "20261125T100000Z-A2"])
        #expect(previous.open.last?.isLatchedUnacknowledged == true)
        #expect(previous.run == "20261125T100000Z" && !previous.stoppedCleanly, "no stopped marker: a crash")
        #expect(previous.lastSeen.map(PCD04Message.rfc3339).map { $0 >= "2026-11-25T10:05:00.000Z" } == true)
        // Sequence numbers are as without the ledger lines (they take none of their own).
        #expect(reopened.lastSeq == 1 + 5 + 72)
    }

    @Test func aTornLastLineStillReconciles() throws {
        let directory = try temporaryDirectory()
        do {
            let journal = try Journal(directory: directory, runID: "R1")
            try journal.append(Self.event(1, .deviceSilent, .start, source: "vent"), wallTime: "2026-11-25T10:00:00.000Z")
            try journal.append(Self.event(2, .tidalVolumeHigh, .start), wallTime: "2026-11-25T10:00:05.000Z")
        }
        // A power cut in the middle of the next line.
        let segment = try #require(Journal.segments(in: directory).last).path
        let handle = try #require(FileHandle(forWritingAtPath: segment))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"seq\":3,\"run\":\"R1\",\"event\":{\"t\":3,\"alarm_id\":2,\"rule\":\"lpv.tid".utf8))
        try handle.close()
        let reopened = try Journal(directory: directory, runID: "R2")
        #expect(!reopened.recovery.isEmpty, "the torn line is set aside")
        #expect(reopened.previous?.open.map(\.reference) == ["R1-A1", "R1-A2"])
    }

    @Test func aCleanStopCarriesItsLatchedAlarmAndTheNextRunClosesIt() throws {
        let directory = try temporaryDirectory()
        do {
            let journal = try Journal(directory: directory, runID: "R1")
            try journal.append(Self.event(1, .plateauHigh, .start, priority: .high), wallTime: nil)
            try journal.append(Self.event(1, .plateauHigh, .end, state: .inactive, priority: .high, reason: "agent_stopped",
                                          evidence: [("latched_unacknowledged", .bool(true))]), wallTime: nil)
            try journal.append(Self.event(2, .monitoringStopped, .start), wallTime: nil)
            try journal.appendMarker("stopped", wallTime: "2026-11-25T10:02:00.000Z")
        }
        do {
            let journal = try Journal(directory: directory, runID: "R2")
            let previous = try #require(journal.previous)
            #expect(previous.stoppedCleanly)
            #expect(previous.open.map(\.reference) == ["R1-A2"], "the monitoring_stopped alarm")
            #expect(previous.carried.map(\.reference) == ["R1-A1"], "the latched plateau, to carry over")
            // The next run ends monitoring_stopped (threaded to R1) and carries the plateau over.
            try journal.append(Self.event(2, .monitoringStopped, .end, state: .inactive, reason: "monitoring_resumed", run: "R1"), wallTime: nil)
            try journal.append(Self.event(1, .plateauHigh, .start, state: .latched, priority: .high, reason: "carried_over",
                                          evidence: [("previous_alarm", .string("R1-A1"))]), wallTime: nil)
            #expect(journal.ledger.openAlarms.map(\.reference) == ["R2-A1"])
            #expect(journal.ledger.carriedAlarms.isEmpty)
        }
        let third = try Journal(directory: directory, runID: "R3")
        #expect(third.previous?.open.map(\.reference) == ["R2-A1"])
        #expect(third.previous?.carried.isEmpty == true)
    }
}
