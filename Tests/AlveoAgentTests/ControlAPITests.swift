import AlveoTestKit
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The bedside loop end to end: `alveo run` against `alveo simulate`, with a real python-hl7 receiver
/// and a real rsyslog as the central station, driven by `alveo status`, `ack`, `chart` and `patient`
/// over the control socket, and its `--record` trace replayed to the same bytes.
@Suite(.serialized, .endToEnd, .ownThread) struct ControlAPITests {
    let directory: URL

    init() throws {
        directory = try Paths.temporaryDirectory()
    }

    /// Its helpers, for another suite's directory.
    init(directory: URL) {
        self.directory = directory
    }

    /// Runs `alveo ARGS --socket SOCKET`; status, stdout, stderr.
    func alveo(_ arguments: [String], socket: String) throws -> ChildProcess.Result {
        try ChildProcess.run([Paths.alveo] + arguments + ["--socket", socket], timeout: 60)
    }

    func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }

    /// `alveo status --json`, parsed; empty when the agent does not answer (yet).
    func status(_ socket: String) -> [String: Any] {
        guard let result = try? alveo(["status", "--json"], socket: socket), result.status == 0 else { return [:] }
        return json(result.stdout)
    }

    func value(_ status: [String: Any], _ parameter: String) -> Double? {
        ((status["values"] as? [[String: Any]]) ?? []).first { $0["parameter"] as? String == parameter }?["value"] as? Double
    }

    func alarm(_ status: [String: Any], _ rule: String) -> [String: Any]? {
        ((status["alarms"] as? [[String: Any]]) ?? []).first { $0["rule"] as? String == rule }
    }

    func agentTime(_ status: [String: Any]) -> Double? { (status["agent"] as? [String: Any])?["t"] as? Double }

    /// The agent's events on stdout.
    func events(_ agent: RunningProcess) -> [[String: Any]] {
        agent.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// The ventilator holds FiO2 0.40 until 30 s, then 0.80; SpO2 is 98 % (no P/F is imputed above
    /// 96 %, so the only P/F is the charted one) but for a fall to 82 % from 50 to 56 s: a high alarm
    /// that latches.
    static func scenario() -> String {
        var text = "t,source,parameter,value\n"
        for t in 0...300 {
            text += "\(t),vent,fio2,\(t < 30 ? 40 : 80)\n\(t),vent,peep,8\n\(t),vent,vt,400\n\(t),vent,pplat,24\n"
            text += "\(t),oxi,spo2,\((50..<56).contains(t) ? 82 : 98)\n\(t),oxi,pulse_rate,90\n"
        }
        return text
    }

    @Test func statusAckChartAndPatientAgainstSimulateReachTheStationAndReplayByteForByte() throws {
        let scenarioPath = directory.appendingPathComponent("scenario.csv").path
        try Self.scenario().write(toFile: scenarioPath, atomically: true, encoding: .utf8)
        let ventPort = freePort(), hl7Port = freePort(), syslogPort = freePort()
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
              technical.device_silent: {timeout_s: 5}
            control: {socket: \(socket)}
            outputs:
              journal: {directory: journal}
              hl7: {host: 127.0.0.1, port: \(hl7Port), reconnect_max_s: 0.5, patient_id: "12345", patient_id_authority: HOSP, bed_id: ICU-B1}
              syslog: {host: 127.0.0.1, port: \(syslogPort), hostname: bed-b1, bed_id: ICU-B1, reconnect_max_s: 0.5}
            """.write(toFile: config, atomically: true, encoding: .utf8)

        let station = Station(directory: directory)
        let receiver = try station.startReceiver(port: hl7Port)
        defer { receiver.kill() }
        let rsyslog = try station.startRsyslog(port: syslogPort)
        defer { rsyslog.kill() }
        let simulator = try RunningProcess([Paths.alveo, "simulate", "--scenario", scenarioPath, "--vent-port", "\(ventPort)", "--oxi-link", link],
                                           directory: directory, name: "simulate")
        defer { simulator.kill() }
        #expect(waitUntil(timeout: 30) { isListening(ventPort) && FileManager.default.fileExists(atPath: link) }, "simulator: \(simulator.stderr)")
        let traces = directory.appendingPathComponent("traces").path
        let agent = try RunningProcess([Paths.alveo, "run", "--config", config, "--record", traces], directory: directory, name: "run")
        defer { agent.kill() }

        // Status shows the live values, the patient and the devices.
        var first: [String: Any] = [:]
        #expect(waitUntil(timeout: 60) {
            first = status(socket)
            return value(first, "fio2") == 0.4 && value(first, "spo2") == 98
        }, "status: \(first)\n\(agent.stderr)")
        let fio2LowAt = try #require(agentTime(first))
        #expect((first["patient"] as? [String: Any])?["pbw_kg"] as? Double == 70.6)
        #expect(first["pf"] is NSNull, "no P/F before a gas: \(first)")
        let devices = (first["devices"] as? [[String: Any]]) ?? []
        #expect(devices.map { $0["id"] as? String } == ["vent", "oxi"] && devices.allSatisfy { $0["connected"] as? Bool == true },
                "devices: \(devices)")
        let human = try alveo(["status"], socket: socket)
        #expect(human.status == 0 && human.stdout.contains("PBW 70.6 kg") && human.stdout.contains("SpO2"), "\(human.stdout)")

        // A blood gas drawn while FiO2 was 0.40, charted after it went to 0.80: P/F 55 / 0.40 = 137.5,
        // moderate (with the FiO2 of now it would be 69, severe).
        var now: [String: Any] = [:]
        #expect(waitUntil(timeout: 90) {
            now = status(socket)
            return value(now, "fio2") == 0.8
        }, "FiO2 did not go to 0.80: \(now)")
        let nowT = try #require(agentTime(now))
        let ago = Int((nowT - (fio2LowAt + 4)).rounded(.down))
        #expect(ago > 10, "the FiO2 0.40 window is behind us: now \(nowT), FiO2 0.40 seen at \(fio2LowAt)")
        let eventsBefore = events(agent).count
        for (arguments, expected) in [
            (["pao2"], Int32(64)), (["pao2=abc"], 65), (["foo=1"], 65), (["spo2=90"], 65), (["pao2=8kg"], 65), (["pao2=5000"], 65),
            (["position=sideways"], 65), (["pao2=55", "--sampled", "-7h"], 65),
            (["pao2=55", "--sampled", ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))], 65),
            (["pao2=55", "--sampled", "tomorrow"], 64),
        ] {
            let refused = try alveo(["chart"] + arguments, socket: socket)
            #expect(refused.status == expected, "chart \(arguments): \(refused.status) \(refused.stderr)")
            #expect(refused.stderr.lowercased().contains("error"), "chart \(arguments) says why: \(refused.stderr)")
        }
        #expect(status(socket)["pf"] is NSNull, "a refused chart changed the P/F")
        #expect(events(agent).count == eventsBefore, "a refused chart caused events: \(agent.stdout)")

        let chart = try alveo(["chart", "pao2=55", "--sampled", "-\(ago)s", "--by", "Dr Osei", "--json"], socket: socket)
        #expect(chart.status == 0, "chart: \(chart.stderr)")
        let reply = json(chart.stdout)
        let replyEvents = (reply["events"] as? [[String: Any]]) ?? []
        let severity = replyEvents.first { $0["rule"] as? String == "oxygenation.pf_severity" && $0["phase"] as? String == "start" }
        #expect(severity?["priority"] as? String == "medium", "P/F 137.5 is moderate: \(reply)")
        let evidence = ((severity?["evidence"] as? [String: Any])?["pf"] as? [String: Any]) ?? [:]
        #expect(evidence["fio2_fraction"] as? Double == 0.4 && evidence["pao2_mmhg"] as? Double == 55 && evidence["kind"] as? String == "measured",
                "evidence: \(evidence)")
        let pf = (status(socket)["pf"] as? [String: Any]) ?? [:]
        #expect(pf["kind"] as? String == "measured" && pf["value"] as? Double == 137.5 && pf["fio2_fraction"] as? Double == 0.4, "pf: \(pf)")
        #expect(events(agent).contains { $0["rule"] as? String == "oxygenation.pf_severity" && $0["phase"] as? String == "start" }, "on stdout too")

        // SpO2 falls: a high alarm that latches when SpO2 is back, shown by status.
        var latched: [String: Any] = [:]
        #expect(waitUntil(timeout: 90) {
            latched = status(socket)
            return alarm(latched, "oxygenation.spo2_low")?["latched"] as? Bool == true
        }, "no latched SpO2 alarm: \(latched)\n\(agent.stdout)")
        #expect(alarm(latched, "oxygenation.spo2_low")?["priority"] as? String == "high")
        #expect(alarm(latched, "oxygenation.spo2_low")?["acknowledged"] as? Bool == false)
        #expect(alarm(latched, "oxygenation.pf_severity")?["priority"] as? String == "medium")

        // The acknowledgement ends the latch, at the agent and at the station.
        let ack = try alveo(["ack", "oxygenation.spo2_low", "--by", "RN Kim"], socket: socket)
        #expect(ack.status == 0, "ack: \(ack.stderr)")
        #expect(ack.stdout.contains("acknowledged"), "\(ack.stdout)")
        #expect(events(agent).contains { $0["rule"] as? String == "oxygenation.spo2_low" && $0["phase"] as? String == "end" && $0["reason"] as? String == "acknowledged" },
                "no end by acknowledgement: \(agent.stdout)")
        #expect(alarm(status(socket), "oxygenation.spo2_low") == nil)
        #expect(waitUntil(timeout: 30) {
            station.received().contains { message in
                let segments = (message["segments"] as? [String]) ?? []
                return segments.contains { $0.contains("alert-acknowledged") } && segments.contains { $0.contains("|end|") }
                    && segments.contains { $0.contains("SpO2") }
            }
        }, "the station did not receive the acknowledgement: \(station.received().map { $0["segments"] ?? [] })")
        #expect(waitUntil(timeout: 30) {
            station.syslogLines().contains { $0.contains("oxygenation.spo2_low") && $0.contains("acknowledged") }
        }, "syslog: \(station.syslogLines())")

        // Acknowledging again, or a rule that does not exist: refused with the reason, nothing changes.
        let eventsBeforeAck = events(agent).count
        let again = try alveo(["ack", "oxygenation.spo2_low"], socket: socket)
        #expect(again.status == 70 && again.stderr.contains("oxygenation.spo2_low"), "again: \(again.status) \(again.stderr)")
        let unknown = try alveo(["ack", "oxygenation.nonsense"], socket: socket)
        #expect(unknown.status == 65 && unknown.stderr.contains("is not a rule"), "unknown: \(unknown.status) \(unknown.stderr)")
        #expect(events(agent).count == eventsBeforeAck)

        // Another patient: the previous one's alarms end, the new PBW shows.
        let admit = try alveo(["patient", "set", "--sex", "female", "--height-cm", "160", "--id", "67890", "--name", "ROE^ANN"], socket: socket)
        #expect(admit.status == 0, "patient set: \(admit.stderr)")
        #expect(events(agent).contains { $0["rule"] as? String == "oxygenation.pf_severity" && $0["phase"] as? String == "end" && $0["reason"] as? String == "patient_changed" },
                "\(agent.stdout)")
        let admitted = status(socket)
        let patient = (admitted["patient"] as? [String: Any]) ?? [:]
        #expect(patient["pbw_kg"] as? Double == 52.4 && patient["id"] as? String == "67890" && patient["vt_target_ml"] as? Double == 314, "\(patient)")
        #expect(alarm(admitted, "oxygenation.pf_severity") == nil && admitted["pf"] is NSNull)

        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 30) == 0, "\(agent.stderr)")

        // The journal holds who did what; the recording replays to the same bytes.
        let journalDirectory = directory.appendingPathComponent("journal").path
        let journal = try FileManager.default.contentsOfDirectory(atPath: journalDirectory).filter { $0.hasSuffix(".jsonl") }
            .map { try String(contentsOfFile: journalDirectory + "/" + $0, encoding: .utf8) }.joined()
        #expect(journal.contains("\"by\":\"RN Kim\"") && journal.contains("\"by\":\"Dr Osei\""), "journal: \(journal.prefix(4000))")
        let trace = try #require(try FileManager.default.contentsOfDirectory(atPath: traces).first { $0.hasSuffix(".alvtrace") })
        let replay = try ChildProcess.run([Paths.alveo, "replay", traces + "/" + trace], timeout: 120)
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdout == LiveVersusReplay.withoutWallTime(agent.stdout), "replay differs from live:\n\(replay.stdout)\n---\n\(agent.stdout)")
    }

    @Test func noAgentMissingSocketAndDeadSocketAreClearErrors() throws {
        let missing = directory.appendingPathComponent("none.sock").path
        let noSocket = try alveo(["status"], socket: missing)
        #expect(noSocket.status == 69 && noSocket.stderr.contains("no control socket"), "\(noSocket.status) \(noSocket.stderr)")
        let noChart = try alveo(["chart", "pao2=60"], socket: missing)
        #expect(noChart.status == 69)

        // A socket file left by an agent that stopped: nobody accepts on it.
        let dead = directory.appendingPathComponent("dead.sock").path
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in dead.utf8.enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        close(fd)
        let stale = try alveo(["ack", "oxygenation.spo2_low"], socket: dead)
        #expect(stale.status == 69 && stale.stderr.contains("not running"), "\(stale.status) \(stale.stderr)")
    }

    /// The socket is 0660 with the configured group: a member may use it, a user outside the group may
    /// not. Needs root to create the users (CI runs as root); skipped otherwise.
    @Test(.enabled(if: getuid() == 0)) func socketRefusesAUserOutsideItsGroup() throws {
        let group = "alveo-ctl-test", member = "alveo-member", outsider = "alveo-outsider"
        _ = try ChildProcess.run(["groupadd", "-f", group])
        for (user, groups) in [(member, [group]), (outsider, [])] {
            _ = try ChildProcess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin"]
                + (groups.isEmpty ? [] : ["-G", groups.joined(separator: ",")]) + [user])
        }
        // Both may reach the socket's directory and run the binary; only the socket's mode decides.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        let socket = directory.appendingPathComponent("alveo.sock").path
        let config = directory.appendingPathComponent("bed.yaml").path
        // A ventilator that is not there: the agent runs (and finds it silent).
        try """
            patient: {sex: female, height_cm: 160}
            devices:
              - {id: vent, profile: \(Paths.repository.appendingPathComponent("devices/alveo-gateway-v1/profile.yaml").path), transport: {kind: modbus_tcp, host: 127.0.0.1, port: \(freePort())}}
            control: {socket: \(socket), group: \(group)}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let agent = try RunningProcess([Paths.alveo, "run", "--config", config], directory: directory, name: "run")
        defer { agent.kill() }
        #expect(waitUntil(timeout: 30) { !status(socket).isEmpty }, "\(agent.stderr)")
        let attributes = try FileManager.default.attributesOfItem(atPath: socket)
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
        #expect(mode & 0o777 == 0o660, "mode \(String(mode & 0o777, radix: 8))")
        let groupEntry = getgrnam(group)
        #expect(groupEntry != nil && (attributes[.groupOwnerAccountID] as? NSNumber)?.uint32Value == groupEntry!.pointee.gr_gid)

        func asUser(_ user: String) throws -> ChildProcess.Result {
            try ChildProcess.run(["setpriv", "--reuid=\(user)", "--regid=\(user)", "--init-groups", Paths.alveo, "status", "--socket", socket])
        }
        let allowed = try asUser(member)
        let refused = try asUser(outsider)
        // The binary must be reachable by the test users: when it is not (a home directory of 0700), the
        // member's run says so and the result proves nothing.
        if allowed.stderr.contains("Permission denied") && allowed.status == 126 || allowed.status == 127 {
            Issue.record("the test users cannot run \(Paths.alveo): \(allowed.stderr)")
            return
        }
        #expect(allowed.status == 0, "member: \(allowed.status) \(allowed.stderr)")
        #expect(refused.status == 77 && refused.stderr.contains("permission denied"), "outsider: \(refused.status) \(refused.stderr)")
    }
}

/// The central station of a test: a python-hl7 MLLP receiver and an rsyslog, writing what they get.
struct Station {
    let directory: URL
    var receivedLog: String { directory.appendingPathComponent("received.jsonl").path }
    var syslogFile: String { directory.appendingPathComponent("messages.log").path }

    func startReceiver(port: Int) throws -> RunningProcess {
        try Receivers.hl7(port: port, log: receivedLog, in: directory)
    }

    func startRsyslog(port: Int) throws -> RunningProcess {
        try Receivers.rsyslog(port: port, logFile: syslogFile, in: directory)
    }

    func received() -> [[String: Any]] {
        ((try? String(contentsOfFile: receivedLog, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    func syslogLines() -> [String] {
        ((try? String(contentsOfFile: syslogFile, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }
}
