import AlveoTestKit
import AlveoAgent
import AlveoCore
import AlveoOutput
import Foundation
import Testing

/// IHE PCD-05 (Report Alert Status, ORA^R41) from the hospital's alert manager (issue 26,
/// shared/pcd05-reference.md): which of this run's alarms a report is about, its status, who and on what;
/// an `accepted` acknowledges the alarm as `alveo ack` does; anything not of this bed and run is refused.
@Suite struct AlertStatusTests {
    static let utc = TimeZone(identifier: "UTC")!
    static let now = Date(timeIntervalSince1970: 1_795_948_200)
    static let run = "20261125T160000Z"

    static var config: LabListenerConfig {
        var config = LabListenerConfig()
        config.bind = "127.0.0.1"
        config.port = 2575
        config.allowedSenders = [.init(application: "LIS")]
        var manager = LabListenerConfig.AlertManager()
        manager.senders = [.init(application: "ALERT_MGR", facility: "HOSP")]
        config.alertManager = manager
        config.alertBedID = "ICU-B1"
        return config
    }

    static func message(_ lines: [String]) throws -> HL7Message {
        try HL7Message.parse(Array(lines.joined(separator: "\r").utf8)).get()
    }

    /// pcd05-reference §7, Alveo's SpO2 alert accepted on a nurse's phone.
    static let example = [
        "MSH|^~\\&|ALERT_MGR|HOSP|ALVEO^0A1B2CFFFE3D4E5F^EUI-64|HOSP_ICU|20261125164731+0000||ORA^R41^ORA_R41|AM-000917|P|2.7|||AL|NE||UNICODE UTF-8",
        "MSA|AA|ICU-B1-3",
        "OBR|1|ICU-B1-20261125T160000Z-A2^ALVEO^0A1B2CFFFE3D4E5F^EUI-64|ICU-B1-20261125T160000Z-A2^ALVEO^0A1B2CFFFE3D4E5F^EUI-64|196616^MDC_EVT_ALARM^MDC|||20261125164700.000+0000",
        "PRT||AD|Accepted|AAP^Alert Acknowledging Provider^HL70912|4711^NURSE^ANNA^^^^^^HOSP||||ICU^B1^B1^HOSP|PH-0815^ALERT_MGR|20261125164730+0000",
    ]

    func decide(_ lines: [String], config: LabListenerConfig = AlertStatusTests.config, run: String? = AlertStatusTests.run) throws -> HL7Inbound.Decision {
        HL7Inbound.interpret(try Self.message(lines), config: config, now: Self.now, zone: Self.utc, runID: run)
    }

    func report(_ decision: HL7Inbound.Decision) -> (AlertStatus, BedsideEntry)? {
        if case .take(let entry, .alertStatus, _) = decision, case .alertStatus(let report) = entry.action { return (report, entry) }
        return nil
    }

    func refusal(_ decision: HL7Inbound.Decision) -> String? {
        if case .reject(let code, let reason) = decision { return "\(code): \(reason)" }
        return nil
    }

    @Test func theReferenceExampleIsAnAcceptanceByANurseOnHerPhone() throws {
        let (status, entry) = try #require(report(try decide(Self.example)))
        #expect(status.alarm == 2 && status.status == "accepted" && status.acknowledges && status.statusText == nil)
        #expect(status.person == "4711 NURSE ANNA" && status.device == "PH-0815" && status.time == "2026-11-25T16:47:30.000Z", "\(status)")
        #expect(entry.by == "4711 NURSE ANNA" && entry.via == "hl7-acm")
    }

    /// The Dräger mock alert manager's message: a 5-character MSH-2, no MSA, OBR-3 components 1-2 only,
    /// `Delivered` in PRT-3: taken, and not an acknowledgement by default.
    @Test func theMockAlertManagersDeliveredIsTakenAndAcknowledgesNothing() throws {
        let (status, _) = try #require(report(try decide([
            "MSH|^~\\&#|ALERT_MGR|HOSP|||20191105183942||ORA^R41^ORA_R41|79||2.7",
            "OBR|||ICU-B1-20261125T160000Z-A7^ALVEO",
            "PRT|||Delivered",
        ])))
        #expect(status.alarm == 7 && status.status == "delivered" && !status.acknowledges && status.person == nil)
        #expect(status.time == "2019-11-05T18:39:42.000Z")
    }

    @Test func statusesAreReadLenientlyAndTheSiteChoosesWhichAcknowledge() throws {
        func status(_ prt3: String, config: LabListenerConfig = AlertStatusTests.config) throws -> AlertStatus? {
            report(try decide([Self.example[0], Self.example[2], "PRT||AD|\(prt3)"], config: config))?.0
        }
        #expect(try status("DELIVERED")?.status == "delivered")
        #expect(try status("read^Read^99XXX")?.status == "read")
        #expect(try status("^Accepted")?.status == "accepted")
        let unknown = try #require(try status("Escalated to charge nurse"))
        #expect(unknown.status == "other" && unknown.statusText == "Escalated to charge nurse" && !unknown.acknowledges)
        var readCounts = Self.config
        readCounts.alertManager?.acknowledge = ["read", "accepted"]
        #expect(try status("Read", config: readCounts)?.acknowledges == true)
        #expect(try status("Rejected", config: readCounts)?.acknowledges == false)
    }

    @Test func reportsNotOfThisBedAndRunOrNotFromTheAlertManagerAreRefused() throws {
        func with(obr: String) -> [String] { [Self.example[0], "OBR|1|\(obr)|\(obr)", Self.example[3]] }
        #expect(try refusal(decide(with(obr: "OTHER-BED-20261125T160000Z-A2^ALVEO")))?.hasPrefix("AR: alert OTHER-BED-20261125T160000Z-A2 is not of this bed") == true)
        #expect(try refusal(decide(with(obr: "ICU-B1-20000101T000000Z-A2^ALVEO")))?.contains("is of another run") == true)
        #expect(try refusal(decide(with(obr: "ICU-B1-20261125T160000Z-X2^ALVEO")))?.contains("not an Alveo alert reference") == true)
        #expect(try refusal(decide(with(obr: "ICU-B1-20261125T160000Z-A0")))?.contains("not an Alveo alert reference") == true)
        #expect(try refusal(decide(with(obr: "ICU-B1-20261125T160000Z-A99999999999999999999")))?.contains("not an Alveo alert reference") == true)
        // No OBR: MSA-2 alone is not used (an alert has many messages; Alveo threads by the alert).
        #expect(try refusal(decide([Self.example[0], Self.example[1], Self.example[3]]))?.hasPrefix("AR: no alert reference") == true)
        // No run known yet (the journal is not open): nothing can be matched.
        #expect(try refusal(decide(Self.example, run: nil))?.contains("another run") == true)
        // A laboratory sender may not report alarm status; without alert_manager nobody may.
        let lab = Self.example[0].replacingOccurrences(of: "ALERT_MGR|HOSP", with: "LIS|HOSP")
        #expect(try refusal(decide([lab] + Self.example.dropFirst()))?.contains("not in alert_manager.senders") == true)
        var none = Self.config
        none.alertManager = nil
        #expect(try refusal(decide(Self.example, config: none))?.contains("alert_manager is not configured") == true)
        let test = Self.example[0].replacingOccurrences(of: "|AM-000917|P|", with: "|AM-000917|T|")
        #expect(try refusal(decide([test] + Self.example.dropFirst()))?.hasPrefix("AR: processing id") == true)
        #expect(try refusal(decide([Self.example[0], Self.example[2]]))?.hasPrefix("AE: no status") == true)
    }

    /// The loop: an `accepted` ends a latched alarm (reason acknowledged) and records who; `delivered`
    /// is recorded and changes nothing; an alarm id this run never raised is refused; a report on an
    /// alarm that has ended is taken (journaled) and changes nothing.
    @Test func theLoopAcknowledgesByAlarmIDAndRemembersWhoAndWhat() throws {
        let config = try AgentConfig.parse(yaml: "patient: {sex: male, height_cm: 175}\n", file: "bed.yaml")
        var loop = BedsideLoop(config: config, expectDevices: false)
        func vent(_ parameter: Parameter, _ value: Double) -> Observation { Observation(source: "vent", parameter: parameter, value: .number(value)) }
        var events = loop.take([vent(.pplat, 35), vent(.peep, 5), vent(.vt, 400)], at: 10).events
        events += loop.take([vent(.pplat, 22), vent(.peep, 5), vent(.vt, 400)], at: 20).events
        let latched = try #require(events.first { $0.rule == .plateauHigh && $0.state == .latched })
        func entry(_ alarm: Int, _ status: String, acknowledges: Bool) -> BedsideEntry {
            BedsideEntry(action: .alertStatus(AlertStatus(alarm: alarm, reference: "B-R-A\(alarm)", status: status, person: "RN X", device: "PH-1",
                                                          acknowledges: acknowledges)), by: "RN X", via: "hl7-acm")
        }
        let delivered = try loop.take(entry(latched.alarmID, "delivered", acknowledges: false), at: 30).get()
        #expect(delivered.events.isEmpty && loop.stationStatus[latched.alarmID]?.status == "delivered")
        let accepted = try loop.take(entry(latched.alarmID, "accepted", acknowledges: true), at: 40).get()
        // (The vent has been silent since 20 s: its device_silent may start in the same group.)
        #expect(accepted.events.filter { $0.rule == .plateauHigh }.map { "\($0.phase) \($0.reason ?? "-")" } == ["end acknowledged"], "\(accepted.events)")
        #expect(loop.acknowledgedBy[latched.alarmID]?.by == "RN X" && loop.acknowledgedBy[latched.alarmID]?.via == "hl7-acm")
        // Ended: taken, nothing changes.
        #expect(try loop.take(entry(latched.alarmID, "accepted", acknowledges: true), at: 50).get().events.isEmpty)
        guard case .failure(.invalid(let reason)) = loop.take(entry(99, "accepted", acknowledges: true), at: 60) else {
            Issue.record("an alarm this run never raised was taken")
            return
        }
        #expect(reason.contains("alarm #99, which this run has not raised"))
    }

    /// Random bytes after a valid MSH never trap or hang the reader of status reports.
    @Test func garbledReportsAreRefusedNotFatal() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var lines = Self.example
            let index = Int.random(in: 1..<lines.count, using: &generator)
            var bytes = Array(lines[index].utf8)
            for _ in 0..<Int.random(in: 1...6, using: &generator) where !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            lines[index] = String(decoding: bytes, as: UTF8.self)
            guard case .success(let message) = HL7Message.parse(Array(lines.joined(separator: "\r").utf8)) else { continue }
            if case .take(_, _, _) = HL7Inbound.interpret(message, config: Self.config, now: Self.now, zone: Self.utc, runID: Self.run) {
                // Taken only with this bed's reference intact.
                let obr = try #require(message.first("OBR"))
                let reference = message.value(obr, 3).isEmpty ? message.value(obr, 2) : message.value(obr, 3)
                #expect(reference.hasPrefix("ICU-B1-"))
            }
        }
    }
}
