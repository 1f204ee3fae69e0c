import AlveoTestKit
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 26 acceptance: the hospital's alert manager closes the loop. `alveo run` polls `alveo simulate`
/// and sends its alarms as PCD-04 to a python-hl7 alert manager (Tests/Peers/acm_peer.py), which answers
/// with PCD-05 status reports to Alveo's HL7 listener: "accepted by 4711 NURSE ANNA" acknowledges the
/// alarm as `alveo ack` does (a latched alarm ends, re-announcements stop), `delivered` is shown, a report
/// about another bed or an alarm never raised is answered AR and changes nothing, and the recorded
/// trace replays byte for byte with the reports in it.
@Suite(.serialized, .endToEnd, .ownThread) struct AlertManagerEndToEndTests {
    let directory: URL
    let control: ControlAPITests

    init() throws {
        directory = try Paths.temporaryDirectory()
        control = ControlAPITests(directory: directory)
    }

    /// Pplat 35 from 5 s on (lpv.plateau_high, high, stays active); SpO2 82 % from 20 to 26 s
    /// (oxygenation.spo2_low, high, latches when SpO2 is back).
    static func scenario() -> String {
        var text = "t,source,parameter,value\n"
        for t in 0...400 {
            text += "\(t),vent,fio2,40\n\(t),vent,peep,8\n\(t),vent,vt,400\n\(t),vent,pplat,\(t < 5 ? 24 : 35)\n"
            text += "\(t),oxi,spo2,\((20..<26).contains(t) ? 82 : 98)\n\(t),oxi,pulse_rate,90\n"
        }
        return text
    }

    func log(_ path: String) -> [[String: Any]] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test func acceptedOnAPhoneAcknowledgesAtTheBedAndReplaysByteForByte() throws {
        let scenarioPath = directory.appendingPathComponent("scenario.csv").path
        try Self.scenario().write(toFile: scenarioPath, atomically: true, encoding: .utf8)
        let ventPort = freePort(), managerPort = freePort(), listenerPort = freePort()
        let link = directory.appendingPathComponent("oxi").path
        let socket = directory.appendingPathComponent("alveo.sock").path
        let profile = Paths.repository.appendingPathComponent("devices/alveo-gateway-v1/profile.yaml").path
        let config = directory.appendingPathComponent("bed.yaml").path
        try """
            patient: {sex: male, height_cm: 175}
            devices:
              - {id: vent, profile: \(profile), poll_interval_s: 0.25, transport: {kind: modbus_tcp, host: 127.0.0.1, port: \(ventPort)}}
              - {id: oxi, profile: \(profile), poll_interval_s: 0.25, transport: {kind: modbus_rtu, path: \(link), baud: 19200}}
            rules:
              oxygenation.spo2_low: {delay_s: 2, high_delay_s: 2}
              alarm_system: {high_s: 60}
              technical.device_silent: {timeout_s: 5}
            control: {socket: \(socket)}
            inputs:
              hl7: {bind: 127.0.0.1, port: \(listenerPort), allowed_senders: [LIS], alert_manager: {senders: ["ALERT_MGR^HOSP"]}}
            outputs:
              journal: {directory: journal}
              hl7: {host: 127.0.0.1, port: \(managerPort), reconnect_max_s: 0.5, patient_id: "12345", patient_id_authority: HOSP, bed_id: ICU-B1, reannounce: schedule}
            """.write(toFile: config, atomically: true, encoding: .utf8)

        // The alert manager: the plateau alarm accepted at its start, the SpO2 alarm once it has latched;
        // a second manager process reports about another bed and about an alarm never raised.
        let managerLog = directory.appendingPathComponent("manager.jsonl").path
        let manager = try Receivers.alertManager(port: managerPort, log: managerLog, in: directory, arguments: [
            "--alveo", "127.0.0.1:\(listenerPort)", "--select", "lpv.plateau_high", "--select", "oxygenation.spo2_low@latched",
            "--statuses", "Delivered,Accepted", "--delay", "0.2",
        ])
        defer { manager.kill() }
        let simulator = try RunningProcess([Paths.alveo, "simulate", "--scenario", scenarioPath, "--vent-port", "\(ventPort)", "--oxi-link", link],
                                           directory: directory, name: "simulate")
        defer { simulator.kill() }
        #expect(waitUntil(timeout: 30) { isListening(ventPort) && FileManager.default.fileExists(atPath: link) }, "simulator: \(simulator.stderr)")
        let traces = directory.appendingPathComponent("traces").path
        let agent = try RunningProcess([Paths.alveo, "run", "--config", config, "--record", traces], directory: directory, name: "run")
        defer { agent.kill() }

        // The plateau alarm: delivered, then accepted by the nurse; status says who and through what.
        var plateau: [String: Any] = [:]
        #expect(waitUntil(timeout: 90) {
            plateau = control.alarm(control.status(socket), "lpv.plateau_high") ?? [:]
            return plateau["acknowledged"] as? Bool == true || agent.poll() != nil
        }, "the plateau alarm was not acknowledged by the alert manager: \(plateau)\n\(log(managerLog))\n\(agent.stderr)")
        try #require(agent.poll() == nil, "alveo run exited: \(agent.stderr)")
        #expect(plateau["acknowledged_by"] as? String == "4711 NURSE ANNA" && plateau["acknowledged_via"] as? String == "hl7-acm", "\(plateau)")
        let station = (plateau["station"] as? [String: Any]) ?? [:]
        #expect(station["status"] as? String == "accepted" && station["device"] as? String == "PH-0815", "\(station)")
        let human = try control.alveo(["status"], socket: socket)
        #expect(human.stdout.contains("acknowledged by 4711 NURSE ANNA via hl7-acm; station: accepted by 4711 NURSE ANNA on PH-0815"), "\(human.stdout)")

        // The SpO2 alarm latches; accepted on the phone, it ends with reason acknowledged.
        #expect(waitUntil(timeout: 120) {
            control.events(agent).contains { $0["rule"] as? String == "oxygenation.spo2_low" && $0["phase"] as? String == "end" && $0["reason"] as? String == "acknowledged" }
        }, "the latched SpO2 alarm did not end by the manager's acceptance: \(agent.stdout)\n\(log(managerLog))")
        let spo2 = control.events(agent).filter { $0["rule"] as? String == "oxygenation.spo2_low" }
        #expect(spo2.contains { $0["state"] as? String == "latched" }, "it had latched: \(spo2)")
        // Every status was answered AA (the answer follows the events, so wait for the peer's log).
        var reports: [[String: Any]] = []
        #expect(waitUntil(timeout: 30) {
            reports = log(managerLog).filter { $0["kind"] as? String == "pcd05" }
            return reports.count >= 4
        })
        #expect(reports.count == 4 && reports.allSatisfy { $0["ack_code"] as? String == "AA" && $0["ack_type"] as? String == "ACK^R41^ACK" }, "\(reports)")

        // No further re-sends of the acknowledged plateau alarm: high_s 60 would re-send it every minute;
        // a minute and more of agent time after the acknowledgement there is none.
        let plateauID = plateau["alarm_id"] as? Int
        let acknowledgedAt = try #require(control.events(agent).first {
            ($0["alarm_id"] as? Int) == plateauID && $0["reason"] as? String == "acknowledged"
        }?["t"] as? Double)
        #expect(waitUntil(timeout: 240) { (control.agentTime(control.status(socket)) ?? 0) > acknowledgedAt + 65 })
        let resent = control.events(agent).filter { ($0["alarm_id"] as? Int) == plateauID && $0["phase"] as? String == "continue" && ($0["t"] as? Double ?? 0) > acknowledgedAt }
        #expect(resent.isEmpty, "re-announced after its acknowledgement: \(resent)")
        let toStation = log(managerLog).filter { $0["kind"] as? String == "pcd04" && $0["alert_id"] as? String != nil && ($0["alarm"] as? String).flatMap(Int.init) == plateauID }
        #expect(!toStation.isEmpty && toStation.count <= 3, "the station got the start, maybe a re-send and the acknowledgement: \(toStation)")

        // Reports about another bed, another run, an alarm never raised, or from a sender not allowed:
        // AR, nothing changes (sent with hl7_sender.py, as another alert manager would).
        let alertID = try #require(log(managerLog).first { $0["kind"] as? String == "pcd04" && ($0["rule"] as? String) == "lpv.plateau_high" }?["alert_id"] as? String)
        let run = try #require(alertID.split(separator: "-").dropLast().last.map(String.init))
        let eventsBefore = control.events(agent).count
        for (name, reference, sender) in [
            ("other-bed", alertID.replacingOccurrences(of: "ICU-B1-", with: "ICU-B9-"), "ALERT_MGR|HOSP"),
            ("other-run", alertID.replacingOccurrences(of: run, with: "20000101T000000Z"), "ALERT_MGR|HOSP"),
            ("unknown-alarm", "ICU-B1-\(run)-A999", "ALERT_MGR|HOSP"),
            ("lab-sender", alertID, "LIS|HOSP"),
        ] {
            let file = directory.appendingPathComponent("\(name).hl7").path
            try [
                "MSH|^~\\&|\(sender)|ALVEO|HOSP_ICU|20261207120000+0000||ORA^R41^ORA_R41|T-\(name)|P|2.7",
                "OBR|1|\(reference)^ALVEO|\(reference)^ALVEO|196616^MDC_EVT_ALARM^MDC",
                "PRT||AD|Accepted|AAP^Alert Acknowledging Provider^HL70912|9999^INTRUDER^EVE",
            ].joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
            let sent = try ChildProcess.run(["python3", Paths.repository.appendingPathComponent("Tests/Peers/hl7_sender.py").path,
                                             "--port", "\(listenerPort)", file], timeout: 60)
            let answer = control.json(sent.stdout)
            #expect(answer["ack_code"] as? String == "AR", "\(name): \(sent.stdout) \(sent.stderr)")
        }
        #expect(!control.events(agent).dropFirst(eventsBefore).contains { $0["reason"] as? String == "acknowledged" },
                "a refused report changed an alarm: \(control.events(agent).dropFirst(eventsBefore))")
        #expect(!(try String(contentsOfFile: directory.appendingPathComponent("journal").path + "/" + (try FileManager.default.contentsOfDirectory(
            atPath: directory.appendingPathComponent("journal").path).first { $0.hasSuffix(".jsonl") } ?? ""), encoding: .utf8)).contains("INTRUDER"))

        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 30) == 0, "\(agent.stderr)")

        // The journal says who and through what; the recording replays to the same bytes.
        let journalDirectory = directory.appendingPathComponent("journal").path
        let journal = try FileManager.default.contentsOfDirectory(atPath: journalDirectory).filter { $0.hasSuffix(".jsonl") }
            .map { try String(contentsOfFile: journalDirectory + "/" + $0, encoding: .utf8) }.joined()
        #expect(journal.contains("\"via\":\"hl7-acm\"") && journal.contains("\"by\":\"4711 NURSE ANNA\"") && journal.contains("\"status\":\"delivered\""),
                "journal: \(journal.prefix(3000))")
        let trace = try #require(try FileManager.default.contentsOfDirectory(atPath: traces).first { $0.hasSuffix(".alvtrace") })
        let replay = try ChildProcess.run([Paths.alveo, "replay", traces + "/" + trace], timeout: 120)
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdout == LiveVersusReplay.withoutWallTime(agent.stdout), "replay differs from live:\n\(replay.stdout)\n---\n\(agent.stdout)")
        #expect(replay.stdout.contains("\"reason\":\"acknowledged\""))
    }
}
