import AlveoTestKit
import Foundation
import Testing

/// Delivery to a real HL7 MLLP receiver (python-hl7), with messages validated by hl7apy: order,
/// at-least-once, AE/AR/no-ACK handling, outages and a SIGKILL in the middle of delivery.
@Suite(.serialized, .endToEnd, .ownThread) struct HL7DeliveryTests {
    static let receiverScript = Paths.repository.appendingPathComponent("Tests/Peers/hl7_receiver.py").path
    let directory: URL

    init() throws {
        directory = try Paths.temporaryDirectory()
    }

    /// A scenario whose every group toggles the oximeter probe: `events` alarm events (starts and ends).
    func togglingScenario(events: Int) throws -> String {
        let text = TogglingScenario.text(events: events)
        let path = directory.appendingPathComponent("toggle.csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func config(port: Int, ackTimeoutMS: Int = 2000, extraHL7: String = "") throws -> String {
        let path = directory.appendingPathComponent("bed.yaml").path
        try """
            patient: {sex: female, height_cm: 160, conditions: []}
            rules:
            \(TogglingScenario.ruleLines)
            outputs:
              journal: {directory: journal}
              hl7:
                host: 127.0.0.1
                port: \(port)
                ack_timeout_ms: \(ackTimeoutMS)
                reconnect_max_s: 0.5
                retry_after_error_ms: 50
                patient_id: "12345"
                patient_id_authority: HOSP
                patient_name: DOE^JANE
                bed_location: ICU^B1^B1^HOSP
                bed_id: ICU-B1
                eui64: 0A-1B-2C-FF-FE-3D-4E-5F
            \(extraHL7)
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func startReceiver(port: Int, mode: String = "aa", n: Int = 0, name: String = "receiver") throws -> RunningProcess {
        try Receivers.hl7(port: port, log: receivedLog, in: directory, name: name, arguments: ["--mode", mode, "--n", "\(n)"])
    }

    var receivedLog: String { directory.appendingPathComponent("received.jsonl").path }

    func received() -> [[String: Any]] {
        ((try? String(contentsOfFile: receivedLog, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Control ids in arrival order with consecutive resends folded: must be ICU-B1-1, -2, … in order.
    func deliveredInOrder(_ count: Int) -> Bool {
        var folded: [String] = []
        for message in received() {
            guard let id = message["control_id"] as? String else { continue }
            if folded.last != id { folded.append(id) }
        }
        return folded == (1...count).map { "ICU-B1-\($0)" }
    }

    @Test func everyEventArrivesInOrderAsAValidPCD04() throws {
        let port = freePort()
        let receiver = try startReceiver(port: port)
        defer { receiver.kill() }
        let result = try ChildProcess.run([Paths.alveo, "replay", "--config", try config(port: port), "--start", "2026-11-25T16:00:00Z",
                                           try togglingScenario(events: 20)])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(deliveredInOrder(20))
        let messages = received()
        #expect(messages.allSatisfy { $0["valid"] as? Bool == true }, "hl7apy: \(messages.compactMap { $0["errors"] })")
        let first = try #require(messages.first?["segments"] as? [String])
        #expect(first[0].hasPrefix("MSH|^~\\&|ALVEO^0A1B2CFFFE3D4E5F^EUI-64|"))
        #expect(first[0].contains("|ORU^R40^ORU_R40|ICU-B1-1|P|2.6|||AL|NE||UNICODE UTF-8|||IHE_PCD_ACM_001^IHE PCD^1.3.6.1.4.1.19376.1.6.4.4^ISO"))
        #expect(first[1] == "PID|||12345^^^HOSP^MR||DOE^JANE^^^^^L")
        #expect(first[2] == "PV1||I|ICU^B1^B1^HOSP")
        #expect(first[5].hasPrefix("OBX|2|ST|technical.sensor_off^Oximeter probe off^99ALV|1.0.0.0.1|"), "\(first[5])")
        #expect(first[5].hasSuffix("|||A~PM~ST|||F|||20261125160000.000+0000||||ALVEO^^0A1B2CFFFE3D4E5F^EUI-64"), "\(first[5])")
        #expect(first.contains("OBX|3|ST|68480^MDC_ATTR_ALERT_SOURCE^MDC|1.0.0.0.2|oxi||||||F|||||||ALVEO-oxi"))
        #expect(first.contains("OBX|4|ST|68481^MDC_ATTR_EVENT_PHASE^MDC|1.0.0.0.3|start||||||F"))
        #expect(first.contains("OBX|8|ST|68485^MDC_ATTR_ALERT_TYPE^MDC|1.0.0.0.7|ST||||||F"))
        let second = try #require(messages[1]["segments"] as? [String])
        #expect(second[3] .range(of: #"^OBR\|1\|ICU-B1-\d{8}T\d{6}Z-A1\^ALVEO\^0A1B2CFFFE3D4E5F\^EUI-64\|"#, options: .regularExpression) != nil,
                "start and end of one alarm share its OBR id, unique across runs: \(second[3])")
        #expect(first[3].split(separator: "|")[2] == second[3].split(separator: "|")[2])
        #expect(second.contains { $0.contains("MDC_ATTR_EVENT_PHASE") && $0.contains("|end|") })
        // Replay timestamps: each message carries the virtual time of its event on the --start clock
        // (the probe toggles every 2 s), not the moment it was sent.
        for (n, message) in messages.prefix(20).enumerated() {
            let segments = try #require(message["segments"] as? [String])
            let obr7 = segments[3].split(separator: "|", omittingEmptySubsequences: false)[7]
            #expect(obr7 == "202611251600" + String(format: "%02d", 2 * n) + ".000+0000", "message \(n + 1): OBR-7 \(obr7)")
        }
    }

    @Test func receiverDownWhileAThousandEventsAreProducedThenAllDelivered() throws {
        let port = freePort()
        let config = try config(port: port)
        // No receiver: replay journals all 1000 events and gives up waiting after 1 s.
        let first = try ChildProcess.run([Paths.alveo, "replay", "--config", config, "--drain-timeout", "1",
                                          try togglingScenario(events: 1000)])
        #expect(first.status == 75, "\(first.stderr)")
        #expect(first.stderr.contains("1000 journaled events not delivered"))
        let receiver = try startReceiver(port: port)
        defer { receiver.kill() }
        let deliver = try ChildProcess.run([Paths.alveo, "deliver", "--config", config, "--timeout", "120"])
        #expect(deliver.status == 0, "\(deliver.stderr)")
        #expect(deliveredInOrder(1000))
    }

    @Test func applicationErrorIsRetriedUntilAccepted() throws {
        let port = freePort()
        let receiver = try startReceiver(port: port, mode: "ae-first", n: 3)
        defer { receiver.kill() }
        let result = try ChildProcess.run([Paths.alveo, "replay", "--config", try config(port: port), try togglingScenario(events: 5)])
        #expect(result.status == 0, "\(result.stderr)")
        let acks = received().map { "\($0["control_id"] ?? "")/\($0["ack"] as? String ?? "-")" }
        #expect(acks.prefix(4) == ["ICU-B1-1/AE", "ICU-B1-1/AE", "ICU-B1-1/AE", "ICU-B1-1/AA"])
        // Three refusals in a row raise the agent's technical alarm; the acceptance ends it.
        let agentAlarms = result.stdout.split(separator: "\n").filter { $0.contains("\"rule\":\"technical.delivery_failed\"") }
        #expect(agentAlarms.count == 2, "\(result.stdout)")
        #expect(agentAlarms.first?.contains("keeps refusing alarm message 1") == true)
        #expect(deliveredInOrder(7), "5 events and the agent's start and end")
    }

    @Test func rejectedMessageIsParkedAndDeliveryGoesOn() throws {
        let port = freePort()
        let receiver = try startReceiver(port: port, mode: "ar-seq", n: 2)
        defer { receiver.kill() }
        let result = try ChildProcess.run([Paths.alveo, "replay", "--config", try config(port: port), try togglingScenario(events: 4)])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(deliveredInOrder(5), "message 2 is sent once, rejected, and the rest follow, with the agent's alarm")
        let parked = try String(contentsOfFile: directory.appendingPathComponent("journal/hl7-parked.jsonl").path, encoding: .utf8)
        #expect(parked.contains("\"seq\":2,"))
        #expect(parked.contains("message ICU-B1-2 answered AR"))
        #expect(result.stderr.contains("journal entry 2 parked: message ICU-B1-2 answered AR"), "\(result.stderr)")
        // The agent raises its own technical alarm, journaled and forwarded like any other; later
        // deliveries do not end it: a lost alarm message waits for someone to review the parked file.
        let agentAlarms = result.stdout.split(separator: "\n").filter { $0.contains("\"rule\":\"technical.delivery_failed\"") }
        #expect(agentAlarms.count == 1, "\(result.stdout)")
        #expect(agentAlarms.first?.contains("\"phase\":\"start\"") == true)
        #expect(agentAlarms.first?.contains("\"source\":\"hl7\"") == true)
        #expect(agentAlarms.first?.contains("moved away") == true)
        #expect(received().contains { ($0["segments"] as? [String])?.joined().contains("technical.delivery_failed") == true },
                "the station hears about the refusal too")

        // Not reviewed yet: the next start of a process on this journal raises it again.
        let again = try ChildProcess.run([Paths.alveo, "deliver", "--config", try config(port: port)])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(received().filter { ($0["segments"] as? [String])?.joined().contains("1 alarm message(s) refused") == true }.count == 1)
    }

    @Test func noACKMeansReconnectAndResend() throws {
        let port = freePort()
        let receiver = try startReceiver(port: port, mode: "noack-first", n: 2)
        defer { receiver.kill() }
        let result = try ChildProcess.run([Paths.alveo, "replay", "--config", try config(port: port, ackTimeoutMS: 300),
                                           try togglingScenario(events: 3)])
        #expect(result.status == 0, "\(result.stderr)")
        let ids = received().map { $0["control_id"] as? String ?? "" }
        #expect(ids.prefix(3) == ["ICU-B1-1", "ICU-B1-1", "ICU-B1-1"], "sent, no ACK, resent, no ACK, resent")
        #expect(deliveredInOrder(3))
    }

    @Test func killedInTheMiddleOfDeliveryResumesWithNothingLost() throws {
        let port = freePort()
        let config = try config(port: port)
        let replay = try ChildProcess.run([Paths.alveo, "replay", "--config", config, "--drain-timeout", "0.5",
                                           try togglingScenario(events: 1000)])
        #expect(replay.status == 75)
        let receiver = try startReceiver(port: port)
        defer { receiver.kill() }
        let deliver = try RunningProcess([Paths.alveo, "deliver", "--config", config, "--timeout", "120"], directory: directory, name: "deliver")
        #expect(waitUntil(timeout: 60) { received().count >= 200 })
        deliver.signal(SIGKILL)
        _ = deliver.waitForExit(timeout: 10)
        let beforeRestart = received().count
        #expect(beforeRestart < 1000, "killed in the middle")
        let again = try ChildProcess.run([Paths.alveo, "deliver", "--config", config, "--timeout", "120"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(deliveredInOrder(1000), "resumed from the persisted position: every MSH-10 at least once, in order")
        #expect(received().count <= 1002, "at most the in-flight message is sent twice")
    }

    @Test func chartedEntriesAreJournaledButNotSentAsAlarms() throws {
        let port = freePort()
        let receiver = try startReceiver(port: port)
        defer { receiver.kill() }
        let scenario = directory.appendingPathComponent("charted.csv").path
        try """
            t,source,parameter,value
            0,oxi,sensor,off
            5,lab,hb,9.5
            5,nurse,ack,technical.sensor_off
            6,oxi,sensor,ok
            7,lab,hb,250
            """.write(toFile: scenario, atomically: true, encoding: .utf8)
        let result = try ChildProcess.run([Paths.alveo, "replay", "--config", try config(port: port), scenario])
        #expect(result.status == 0, "\(result.stderr)")
        let journalDirectory = directory.appendingPathComponent("journal").path
        let segment = try #require(try FileManager.default.contentsOfDirectory(atPath: journalDirectory).first { $0.hasSuffix(".jsonl") && $0.hasPrefix("journal-") })
        let lines = try String(contentsOfFile: journalDirectory + "/" + segment, encoding: .utf8).split(separator: "\n")
        let entries = lines.filter { $0.contains("\"entry\":") }
        #expect(entries.count == 2, "the Hb and the acknowledgement; the impossible Hb of 250 is an alarm, not an entry: \(entries)")
        #expect(entries.contains { $0.contains("\"parameter\":\"ack\",\"value\":\"technical.sensor_off\"") })
        // Journal: 1 start, 2 hb, 3 ack, 4 ack update, 5 end, 6 value_rejected start, 7 unit_mismatch start (an
        // Hb of 250 on g/dL looks like g/L, rules v3 §4.15): messages for 1, 4, 5, 6 and 7 only.
        let ids = received().compactMap { $0["control_id"] as? String }
        #expect(ids == ["ICU-B1-1", "ICU-B1-4", "ICU-B1-5", "ICU-B1-6", "ICU-B1-7"], "\(ids)")
    }

    /// Rules v3 §2.1 (IHE PCD ACM): the station gets state transitions; re-announcements (phase
    /// `continue`) only when the site asks for them (`reannounce: schedule`). The journal and stdout
    /// carry every event either way.
    @Test(arguments: [("", false), ("    reannounce: transitions", false), ("    reannounce: schedule", true)])
    func reannouncementsGoToTheStationOnlyBySiteAgreement(extra: String, sendsContinue: Bool) throws {
        let port = freePort()
        let receiver = try startReceiver(port: port)
        defer { receiver.kill() }
        // SpO2 87 % (medium after 60 s) for 25 min: re-announced at 660 and 1860 s (v2_reannounce), then ended.
        var rows = ["t,source,parameter,value"]
        for t in stride(from: 0, through: 1500, by: 30) { rows.append("\(t),oxi,spo2,87") }
        rows.append("1530,oxi,spo2,97")
        let scenario = directory.appendingPathComponent("reannounce.csv").path
        try rows.joined(separator: "\n").write(toFile: scenario, atomically: true, encoding: .utf8)
        let result = try ChildProcess.run([Paths.alveo, "replay", "--config", try config(port: port, extraHL7: extra), scenario])
        #expect(result.status == 0, "\(result.stderr)")
        let printed = result.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let printedPhases = printed.compactMap { $0["phase"] as? String }
        #expect(printedPhases.contains("continue"), "stdout carries the re-announcements: \(printedPhases)")
        let phases = received().compactMap { message -> String? in
            (message["segments"] as? [String])?.first { $0.contains("MDC_ATTR_EVENT_PHASE") }?.split(separator: "|", omittingEmptySubsequences: false)[5].description
        }
        #expect(phases.count == (sendsContinue ? printedPhases.count : printedPhases.filter { $0 != "continue" }.count), "\(phases) of \(printedPhases)")
        #expect(phases.contains("continue") == sendsContinue, "\(phases)")
        #expect(phases.first == "start" && phases.last == "end", "\(phases)")
    }

    /// Issue 26 acceptance: the bundled DAH course without its acknowledgements, replayed into the
    /// PCD-04 output: by default the station gets its 29 state transitions and no `continue`; with
    /// `reannounce: schedule` all 102 events (docs/clinical-rules.md, the course without acknowledgements).
    @Test(arguments: [("", 29), ("    reannounce: schedule", 102)])
    func theDAHCourseReachesTheStationAsTransitionsByDefault(extra: String, messages: Int) throws {
        let port = freePort()
        let receiver = try startReceiver(port: port)
        defer { receiver.kill() }
        let course = try String(contentsOf: Paths.repository.appendingPathComponent("devices/scenarios/dah_escalation.csv"), encoding: .utf8)
        let scenario = directory.appendingPathComponent("dah_no_acks.csv").path
        try course.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains(",ack,") }.joined(separator: "\n")
            .write(toFile: scenario, atomically: true, encoding: .utf8)
        let config = directory.appendingPathComponent("dah.yaml").path
        try """
            patient: {sex: female, height_cm: 160, conditions: [diffuse_alveolar_hemorrhage, anca_vasculitis]}
            rules:
              technical.device_silent: {timeout_s: 600}
            outputs:
              journal: {directory: journal-dah}
              hl7:
                host: 127.0.0.1
                port: \(port)
                reconnect_max_s: 0.5
                patient_id: "12345"
                bed_location: ICU^B1^B1^HOSP
                bed_id: ICU-B1
            \(extra)
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let result = try ChildProcess.run([Paths.alveo, "replay", "--config", config, scenario], timeout: 300)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").count == 102, "stdout carries every event")
        let alarms = received().filter { ($0["type"] as? String)?.hasPrefix("ORU^R40") == true }
        let phases = alarms.compactMap { message -> String? in
            (message["segments"] as? [String])?.first { $0.contains("MDC_ATTR_EVENT_PHASE") }?.split(separator: "|", omittingEmptySubsequences: false)[5].description
        }
        #expect(alarms.count == messages, "\(alarms.count) messages: \(phases)")
        #expect(phases.contains("continue") == (messages == 102), "\(phases)")
        #expect(alarms.allSatisfy { $0["valid"] as? Bool == true }, "hl7apy: \(alarms.compactMap { $0["errors"] })")
    }

    @Test func idleAgentSendsHeartbeats() throws {
        let port = freePort()
        let receiver = try startReceiver(port: port)
        defer { receiver.kill() }
        let profile = Paths.repository.appendingPathComponent("devices/alveo-gateway-v1/profile.yaml").path
        let config = directory.appendingPathComponent("heartbeat.yaml").path
        try """
            patient: {sex: male, height_cm: 170}
            devices:
              - {id: vent, profile: \(profile), transport: {kind: modbus_tcp, host: 127.0.0.1, port: \(freePort())}}
            outputs:
              journal: {directory: journal-hb}
              hl7: {host: 127.0.0.1, port: \(port), bed_id: ICU-B1, heartbeat_s: 0.3, patient_id: "1", bed_location: ICU^B1^B1^HOSP}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let agent = try RunningProcess([Paths.alveo, "run", "--config", config], directory: directory, name: "agent")
        defer { agent.kill() }
        #expect(waitUntil(timeout: 30) { received().filter { ($0["type"] as? String)?.hasPrefix("ORU^R01") == true }.count >= 3 },
                "\(agent.stderr)")
        let heartbeats = received().filter { ($0["type"] as? String)?.hasPrefix("ORU^R01") == true }
        let ids = heartbeats.prefix(3).map { $0["control_id"] as? String ?? "" }
        #expect(ids.allSatisfy { $0.range(of: #"^ICU-B1-HB-\d{8}T\d{6}Z-[123]$"#, options: .regularExpression) != nil }, "\(ids)")
        #expect(heartbeats.allSatisfy { $0["valid"] as? Bool == true }, "hl7apy: \(heartbeats.compactMap { $0["errors"] })")
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 15) == 0)
    }

    @Test func tornJournalLineIsRecoveredWithAWarning() throws {
        let port = freePort()
        let config = try config(port: port)
        let replay = try ChildProcess.run([Paths.alveo, "replay", "--config", config, "--drain-timeout", "0.2", try togglingScenario(events: 3)])
        #expect(replay.status == 75)
        let segment = try #require(try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("journal").path)
            .first { $0.hasPrefix("journal-") && $0.hasSuffix(".jsonl") })
        let file = try #require(FileHandle(forWritingAtPath: directory.appendingPathComponent("journal/\(segment)").path))
        try file.seekToEnd()
        try file.write(contentsOf: Data("{\"seq\":4,\"event\":{\"t\":".utf8))
        try file.close()
        let receiver = try startReceiver(port: port)
        defer { receiver.kill() }
        let deliver = try ChildProcess.run([Paths.alveo, "deliver", "--config", config, "--timeout", "60"])
        #expect(deliver.status == 0, "\(deliver.stderr)")
        #expect(deliver.stderr.contains("journal recovered"), "\(deliver.stderr)")
        #expect(deliveredInOrder(3))
    }
}
