@testable import AlveoOutput
import AlveoCore
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
        let writer = JournalWriter(journal: try Journal(directory: directory), logger: Logger(label: "test"))
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
}
