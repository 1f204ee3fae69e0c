@testable import AlveoOutput
import AlveoCore
import AlveoIO
import Foundation
import Logging
import Synchronization
import Testing

/// The life of the agent's `technical.delivery_failed` alarm, in process: a parked message keeps it
/// active until the parked file is moved away; a message refused again and again ends it when delivered.
@Suite struct DeliveryFailedAlarmTests {
    final class Events: Sendable {
        let all = Mutex<[AlarmEvent]>([])
        var phases: [String] { all.withLock { $0.map { "\($0.source ?? "")/\($0.phase.rawValue)" } } }
    }

    func writer(in directory: String) throws -> (JournalWriter, Events) {
        let events = Events()
        let writer = try JournalWriter(directory: directory, logger: Logger(label: "test"), tolerateUnopened: false) { (_: String?) throws(JournalError) in
            try Journal(directory: directory)
        }
        writer.emit = { new in events.all.withLock { $0 += new } }
        return (writer, events)
    }

    @Test func aParkedMessageKeepsTheAlarmUntilTheParkedFileIsMovedAway() throws {
        let directory = try temporaryDirectory()
        let (writer, events) = try writer(in: directory)
        try "{\"seq\":2}\n".write(toFile: writer.parkedFile("hl7"), atomically: true, encoding: .utf8)
        writer.refused(forwarder: "hl7", seq: 2, reason: "message ICU-B1-2 answered AR", parked: true)
        writer.delivered(forwarder: "hl7", seq: 3)
        writer.checkParked()
        #expect(events.phases == ["hl7/start"], "deliveries after it do not end it")
        try FileManager.default.moveItem(atPath: writer.parkedFile("hl7"), toPath: directory + "/hl7-parked-reviewed.jsonl")
        writer.checkParked()
        #expect(events.phases == ["hl7/start", "hl7/end"])
        #expect(events.all.withLock { $0.last?.text.contains("reviewed") } == true)
        #expect(events.all.withLock { $0.first?.alarmID == $0.last?.alarmID })
    }

    @Test func aMessageRefusedAgainAndAgainEndsTheAlarmWhenDelivered() throws {
        let (writer, events) = try writer(in: try temporaryDirectory())
        writer.refused(forwarder: "hl7", seq: 1, reason: "answered AE, 3 times in a row", parked: false)
        writer.refused(forwarder: "hl7", seq: 1, reason: "answered AE, 4 times in a row", parked: false)
        writer.delivered(forwarder: "hl7", seq: 1)
        #expect(events.phases == ["hl7/start", "hl7/end"], "one alarm, ended by the delivery")
    }

    @Test func parkedMessagesLeftByAnEarlierRunRaiseItAtStart() throws {
        let directory = try temporaryDirectory()
        try "{\"seq\":2}\n{\"seq\":5}\n".write(toFile: directory + "/hl7-parked.jsonl", atomically: true, encoding: .utf8)
        let (writer, events) = try writer(in: directory)
        writer.raiseIfParkedWaiting(forwarder: "hl7")
        writer.raiseIfParkedWaiting(forwarder: "syslog")
        #expect(events.phases == ["hl7/start"])
        #expect(events.all.withLock { $0.first?.text.hasPrefix("2 alarm message(s) refused") } == true)
    }

    /// A journal event the outputs cannot decode (an unknown rule: another version's journal, a
    /// damaged disk) is parked with the reason, never sent with guessed fields, and raises the alarm.
    @Test func anUndecodableJournalEventIsParkedNotGuessedAt() throws {
        struct NeverSends: ForwardingProtocol {
            var name: String { "hl7" }
            var host: String { "127.0.0.1" }
            var port: Int { 9 }
            var connectTimeout: Duration { .milliseconds(50) }
            var reconnectMax: Duration { .milliseconds(100) }
            var retryAfterError: Duration { .milliseconds(10) }
            var tls: TLSSettings? { nil }
            var resendWindow: Duration { .zero }
            var heartbeatInterval: Duration? { nil }
            var reannounce: ReannouncePolicy { .schedule }
            func heartbeat(number: Int, over link: any ByteLink) throws {}
            func deliver(_ entry: JournalEntry, event: AlarmEvent, over link: any ByteLink) throws -> DeliveryOutcome {
                Issue.record("entry \(entry.seq) was sent")
                return .delivered
            }
        }
        let directory = try temporaryDirectory()
        let journal = try Journal(directory: directory)
        let future = AlarmEvent(t: 1, alarmID: 1, rule: .plateauHigh, source: nil, parameter: nil, phase: .start, priority: .high,
                                state: .active, acknowledged: false, reason: nil, text: "x", evidence: [])
        try journal.append(future, wallTime: nil)
        // Rewrite the rule as a version of Alveo from the future would have written it.
        let segment = try #require(Journal.segments(in: directory).first).path
        let text = try String(contentsOfFile: segment, encoding: .utf8).replacingOccurrences(of: "lpv.plateau_high", with: "lpv.future_rule")
        try text.write(toFile: segment, atomically: true, encoding: .utf8)
        let parked = Mutex<[String]>([])
        let forwarder = JournalForwarder(wire: NeverSends(), journalDirectory: directory, logger: Logger(label: "test"),
                                         onParked: { seq, reason, unreadable in parked.withLock { $0.append("\(seq): \(reason) \(unreadable)") } })
        forwarder.start()
        defer { forwarder.stop() }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(10))
        while forwarder.position < 1, clock.now < deadline { usleep(10_000) }
        #expect(forwarder.position == 1, "settled")
        #expect(parked.withLock { $0 } == ["1: journal entry 1 cannot be coded: event has an unknown rule 'lpv.future_rule' true"])
        let file = try String(contentsOfFile: directory + "/hl7-parked.jsonl", encoding: .utf8)
        #expect(file.contains("\"seq\":1,") && file.contains("lpv.future_rule"), "kept verbatim for review: \(file)")
    }
}

/// The clock and disk checks of the agent's health, with their probes replaced.
@Suite struct HealthCheckTests {
    @Test func anUnsynchronisedClockAndALowDiskRaiseAlarmsThatEnd() throws {
        var config = OutputConfig()
        config.journalDirectory = try temporaryDirectory()
        let emitted = Mutex<[AlarmEvent]>([])
        let pipeline = try OutputPipeline(config: config, logger: Logger(label: "test"), emit: { new in emitted.withLock { $0 += new } })
        let synchronized = Mutex(false)
        let free = Mutex<UInt64>(100 << 20)
        pipeline.clockProbe = { synchronized.withLock { $0 } }
        pipeline.diskProbe = { _ in free.withLock { $0 } }
        var settings = RuleSettings()
        settings[ClockUnsynchronized.self].after = 600
        settings[DiskLow.self].minFreeMB = 256
        let start = ContinuousClock.now
        func phases() -> [String] { emitted.withLock { $0.map { "\($0.rule.id)/\($0.phase.rawValue)" } } }
        pipeline.checkHealth(settings, now: start)
        #expect(phases() == ["technical.disk_low/start"], "100 MB free, below 256 MB")
        pipeline.checkHealth(settings, now: start + .seconds(599))
        #expect(phases().count == 1, "unsynchronised for less than after_s")
        pipeline.checkHealth(settings, now: start + .seconds(600))
        #expect(phases().last == "technical.clock_unsynchronized/start")
        synchronized.withLock { $0 = true }
        free.withLock { $0 = 270 << 20 }  // above the bound, but not by 10 %: no flapping
        pipeline.checkHealth(settings, now: start + .seconds(640))
        #expect(phases().last == "technical.clock_unsynchronized/end" && !phases().contains("technical.disk_low/end"))
        free.withLock { $0 = 300 << 20 }
        pipeline.checkHealth(settings, now: start + .seconds(680))
        #expect(phases().last == "technical.disk_low/end")
        settings.disabled = [.diskLow, .clockUnsynchronized]
        free.withLock { $0 = 1 << 20 }
        synchronized.withLock { $0 = false }
        pipeline.checkHealth(settings, now: start + .seconds(5000))
        #expect(phases().count == 4, "switched off: not checked")
        // A clean stop ends what is in force.
        settings.disabled = []
        pipeline.checkHealth(settings, now: start + .seconds(6000))
        pipeline.checkHealth(settings, now: start + .seconds(6600))
        #expect(phases().suffix(2) == ["technical.disk_low/start", "technical.clock_unsynchronized/start"])
        pipeline.endOwnAlarms()
        #expect(phases().suffix(2) == ["technical.disk_low/end", "technical.clock_unsynchronized/end"])
        #expect(emitted.withLock { $0.suffix(2).allSatisfy { $0.reason == "agent_stopped" } })
        let journaled = JournalReader(directory: config.journalDirectory!, after: 0)
        var reader = journaled
        var rules: [String] = []
        while let entry = reader.next() { if let event = entry.event { rules.append("\(event.rule.id)/\(event.phase.rawValue)") } }
        #expect(rules == phases(), "journaled, so every output sends them")
    }
}

/// The agent's own alarms run on the core's alarm engine (issue 24): a condition that flaps is bounded
/// like any rule's (rules v3 §1.4: at most 3 starts an hour, then intermittent until stable for 600 s),
/// and never latches or re-announces.
@Suite struct OwnAlarmEngineTests {
    @Test func aFlappingTrendStoreProblemStartsAtMostThreeTimesAnHourThenStaysUntilStable() throws {
        var config = OutputConfig()
        config.journalDirectory = try temporaryDirectory()
        let emitted = Mutex<[AlarmEvent]>([])
        let now = Mutex(0.0)
        let pipeline = try OutputPipeline(config: config, logger: Logger(label: "test"), clock: { now.withLock { $0 } },
                                          emit: { new in emitted.withLock { $0 += new } })
        let settings = RuleSettings()
        func at(_ t: Double, problem: String?) {
            now.withLock { $0 = t }
            pipeline.setTrendStoreProblem(problem, path: "/var/lib/alveo/trends.sqlite", pending: 0, settings: settings)
        }
        func trail() -> [String] { emitted.withLock { $0.map { "\($0.phase.rawValue)@\(Int($0.t))\($0.reason.map { ":" + $0 } ?? "")" } } }
        // Locked, free, locked, free … every 10 s for 10 min.
        for step in 0..<60 { at(Double(step) * 10, problem: step % 2 == 0 ? "database is locked" : nil) }
        #expect(trail().prefix(6) == ["start@0", "end@10", "start@20", "end@30", "start@40", "update@50:intermittent"], "\(trail())")
        #expect(trail().count == 6, "a return while intermittent is no event: \(trail())")
        let intermittent = try #require(emitted.withLock { $0.last })
        #expect(intermittent.text.hasPrefix("Intermittent: started 3 times in 60 min; stays active until stable for 10 min. The trend store"))
        #expect(intermittent.state == .active && intermittent.priority == .medium)
        // Free from 590 s on: stable for 600 s, but three starts lie in the hour until the first leaves it at 3600 s.
        for t in stride(from: 600.0, through: 3700, by: 10) { at(t, problem: nil) }
        let end = try #require(emitted.withLock { $0.last })
        #expect(end.phase == .end && end.reason == "stable" && end.t == 3600, "\(trail().suffix(2))")
        #expect(end.text.hasPrefix("Stable for 10 min. The trend store is written again."))
        #expect(end.evidence.contains { $0.0 == "episodes" && $0.1 == .number(27) }, "\(end.evidence)")
        #expect(emitted.withLock { $0.allSatisfy { $0.phase != .continue } }, "never re-announced")
    }

    @Test func aHighOwnAlarmEndsWithItsConditionWithoutLatching() throws {
        var config = OutputConfig()
        config.journalDirectory = try temporaryDirectory()
        let emitted = Mutex<[AlarmEvent]>([])
        let pipeline = try OutputPipeline(config: config, logger: Logger(label: "test"), emit: { new in emitted.withLock { $0 += new } })
        let (writer, _) = (pipeline.writer!, ())
        writer.setCondition(.stationUnreachable, source: "hl7", active: true, priority: .high) { ($0 ? "down" : "up", []) }
        writer.setCondition(.stationUnreachable, source: "hl7", active: false, priority: .high) { ($0 ? "down" : "up", []) }
        #expect(emitted.withLock { $0.map(\.phase) } == [.start, .end])
        #expect(emitted.withLock { $0.last?.state } == .inactive)
    }
}
