import AlveoTestKit
import Foundation
import Testing

/// No ghost alarms: `alveo run` against a real Modbus peer (pymodbus), a real HL7 receiver (python-hl7,
/// messages validated by hl7apy) and a real rsyslog, stopped with SIGTERM, killed with SIGKILL and
/// crash-looped; every alarm start that reached the station gets an end, threaded by OBR-3.
@Suite(.serialized, .endToEnd, .ownThread) struct AlarmContinuityTests {
    static let gatewayProfile = Paths.repository.appendingPathComponent("devices/alveo-gateway-v1/profile.yaml").path
    /// Probe off; Pplat 35.0 and PEEP 5.0 (plateau high, driving pressure 30); Vt 300 (5.7 ml/kg).
    static let highPlateau = "1,3,0,42,80,72,400,300,350,50,140,280"
    /// The same with Pplat 22.0: the plateau alarm latches (driving pressure 17 stays high).
    static let lowPlateau = "1,3,0,42,80,72,400,300,220,50,140,280"

    let directory: URL
    let modbusPort = freePort()
    let hl7Port = freePort()
    let syslogPort = freePort()

    init() throws {
        directory = try Paths.temporaryDirectory()
    }

    var receivedLog: String { directory.appendingPathComponent("received.jsonl").path }
    var syslogFile: String { directory.appendingPathComponent("messages.log").path }

    func startPeer(_ registers: String, name: String) throws -> RunningProcess {
        try Receivers.modbusPeer(["--tcp", "\(modbusPort)", "--ir", registers], in: directory, name: name)
    }

    func startReceivers() throws -> (RunningProcess, RunningProcess) {
        (try Receivers.hl7(port: hl7Port, log: receivedLog, in: directory, name: "hl7"),
         try Receivers.rsyslog(port: syslogPort, logFile: syslogFile, in: directory))
    }

    func config() throws -> String {
        let path = directory.appendingPathComponent("bed.yaml").path
        try """
            patient: {sex: female, height_cm: 160}
            devices:
              - id: gw
                profile: \(Self.gatewayProfile)
                poll_interval_s: 0.2
                reconnect_max_s: 0.5
                transport: {kind: modbus_tcp, host: 127.0.0.1, port: \(modbusPort), unit_id: 1, response_timeout_ms: 300}
            rules:
              technical.device_silent: {timeout_s: 60}
            outputs:
              journal: {directory: journal}
              shutdown_budget_s: 20
              hl7: {host: 127.0.0.1, port: \(hl7Port), bed_id: ICU-B1, patient_id: "12345", eui64: 0A1B2CFFFE3D4E5F, reconnect_max_s: 0.5}
              syslog: {host: 127.0.0.1, port: \(syslogPort), facility: local0, hostname: bed-b1, bed_id: ICU-B1, reconnect_max_s: 0.5}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func startAgent(_ n: Int, extra: [String] = []) throws -> RunningProcess {
        try RunningProcess([Paths.alveo, "run", "--config", try config()] + extra, directory: directory, name: "alveo-\(n)")
    }

    static func events(_ agent: RunningProcess) -> [[String: Any]] {
        agent.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    static func has(_ agent: RunningProcess, _ rule: String, _ phase: String, state: String? = nil, reason: String? = nil) -> Bool {
        events(agent).contains {
            $0["rule"] as? String == rule && $0["phase"] as? String == phase && (state == nil || $0["state"] as? String == state)
                && (reason == nil || $0["reason"] as? String == reason)
        }
    }

    /// One message as the receiver logged it: OBR-3's alert id, the rule (row .1's code or alternate),
    /// the phase (row .3), the state (row .4).
    struct Message {
        var thread: String
        var rule: String
        var phase: String
        var state: String
        var valid: Bool
    }

    func messages() -> [Message] {
        ((try? String(contentsOfFile: receivedLog, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["type"] as? String == "ORU^R40^ORU_R40", let segments = object["segments"] as? [String] else { return nil }
            func field(_ prefix: String, _ index: Int) -> String {
                guard let segment = segments.first(where: { $0.hasPrefix(prefix) }) else { return "" }
                let fields = segment.split(separator: "|", omittingEmptySubsequences: false)
                return index < fields.count ? String(fields[index]) : ""
            }
            let code = field("OBX|2|", 3).split(separator: "^", omittingEmptySubsequences: false)
            let rule = code.count >= 6 ? String(code[3]) : String(code.first ?? "")
            return Message(thread: String(field("OBR|", 3).split(separator: "^").first ?? ""), rule: rule, phase: field("OBX|4|", 5),
                           state: field("OBX|5|", 5), valid: object["valid"] as? Bool == true)
        }
    }

    /// Alert threads (OBR-3) with a start but no end at the receiver.
    func threadsWithoutEnd() -> [String: String] {
        var open: [String: String] = [:]
        for message in messages() {
            if message.phase == "end" { open[message.thread] = nil } else if message.phase == "start" { open[message.thread] = message.rule }
        }
        return open
    }

    func syslogLines() -> [String] {
        ((try? String(contentsOfFile: syslogFile, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Waits for the three alarms, then latches the plateau by lowering it.
    func raiseThreeAlarmsOneLatched(_ agent: RunningProcess, peer: inout RunningProcess) throws {
        // Bounds on failure, not measurements: a loaded box took 30 s to start the pymodbus peer.
        #expect(waitUntil(timeout: 180) {
            Self.has(agent, "technical.sensor_off", "start") && Self.has(agent, "lpv.plateau_high", "start")
                && Self.has(agent, "lpv.driving_pressure_high", "start")
        }, "three alarms: \(agent.stdout) \(agent.stderr)")
        peer.kill()
        peer = try startPeer(Self.lowPlateau, name: "peer-low-\(UUID().uuidString.prefix(4))")
        #expect(waitUntil(timeout: 180) { Self.has(agent, "lpv.plateau_high", "update", state: "latched") }, "latched: \(agent.stdout)")
    }

    @Test func sigtermEndsEveryAlarmAndSaysTheBedIsUnwatchedBeforeExit() throws {
        let (hl7, rsyslog) = try startReceivers()
        defer { hl7.kill(); rsyslog.kill() }
        var peer = try startPeer(Self.highPlateau, name: "peer")
        defer { peer.kill() }
        let agent = try startAgent(1)
        defer { agent.kill() }
        try raiseThreeAlarmsOneLatched(agent, peer: &peer)
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 40) == 0, "\(agent.stderr)")
        // Delivered before the process exited: the receiver logs a message before it answers it.
        let atExit = messages()
        let stopEnds = Self.events(agent).filter { $0["reason"] as? String == "agent_stopped" }
        #expect(stopEnds.count == 3, "\(stopEnds)")
        #expect(Set(stopEnds.compactMap { $0["rule"] as? String }) == ["technical.sensor_off", "lpv.plateau_high", "lpv.driving_pressure_high"])
        #expect(atExit.contains { $0.rule == "technical.monitoring_stopped" && $0.phase == "start" }, "\(atExit.map(\.rule))")
        let open = threadsWithoutEnd()
        #expect(open.values.sorted() == ["technical.monitoring_stopped"], "only the stop itself is open at exit: \(open)")
        #expect(atExit.allSatisfy { $0.valid })
        #expect(waitUntil(timeout: 20) {
            syslogLines().filter { $0.contains("reason=\"agent_stopped\"") }.count == 3
                && syslogLines().contains { $0.contains("rule=\"technical.monitoring_stopped\"") && $0.contains("phase=\"start\"") }
        }, "rsyslog: \(syslogLines().suffix(5))")

        // The next start: the latched plateau is carried over, and the stop ends once it polls.
        let next = try startAgent(2)
        defer { next.kill() }
        #expect(waitUntil(timeout: 30) { !threadsWithoutEnd().values.contains("technical.monitoring_stopped") },
                "the stop's end at the next start: \(threadsWithoutEnd())")
        #expect(waitUntil(timeout: 30) { Self.has(next, "lpv.plateau_high", "start", state: "latched", reason: "carried_over") }, "\(next.stdout)")
        let carried = try #require(Self.events(next).first { $0["reason"] as? String == "carried_over" })
        #expect((carried["evidence"] as? [String: Any])?["previous_alarm"] as? String != nil)
        #expect(Self.has(next, "technical.monitoring_stopped", "end", reason: "monitoring_resumed"))
        #expect(!Self.events(next).contains { $0["rule"] as? String == "technical.monitoring_gap" }, "a clean stop leaves no gap")
        next.signal(SIGTERM)
        #expect(next.waitForExit(timeout: 40) == 0)
    }

    @Test func sigkillIsReconciledAtTheNextStartBeforeAnyNewEvent() throws {
        let (hl7, rsyslog) = try startReceivers()
        defer { hl7.kill(); rsyslog.kill() }
        var peer = try startPeer(Self.highPlateau, name: "peer")
        defer { peer.kill() }
        let agent = try startAgent(1)
        defer { agent.kill() }
        try raiseThreeAlarmsOneLatched(agent, peer: &peer)
        // Delivered, then killed: nothing ends them.
        #expect(waitUntil(timeout: 30) { threadsWithoutEnd().count == 3 }, "\(threadsWithoutEnd())")
        let before = threadsWithoutEnd()
        agent.signal(SIGKILL)
        _ = agent.waitForExit(timeout: 10)
        let countBefore = messages().count

        // The next run is recorded: its trace holds the reconciliation, and replays to the same events.
        let traces = directory.appendingPathComponent("traces").path
        let next = try startAgent(2, extra: ["--record", traces])
        defer { next.kill() }
        #expect(waitUntil(timeout: 30) { before.keys.allSatisfy { threadsWithoutEnd()[$0] == nil } }, "ended at the receiver: \(threadsWithoutEnd())")
        #expect(waitUntil(timeout: 30) { messages().contains { $0.rule == "technical.monitoring_gap" && $0.phase == "end" } })
        // In order: the three ends and the gap come before any new event of this run.
        let after = Array(messages().dropFirst(countBefore))
        let firstNew = after.firstIndex { $0.phase == "start" && $0.rule != "technical.monitoring_gap" && $0.state != "latched" } ?? after.count
        let reconciled = after.prefix(firstNew)
        #expect(Set(reconciled.filter { $0.phase == "end" && $0.rule != "technical.monitoring_gap" }.map(\.thread)) == Set(before.keys),
                "\(after.map { "\($0.rule)/\($0.phase)" })")
        #expect(reconciled.contains { $0.rule == "technical.monitoring_gap" && $0.phase == "start" })
        let ends = Self.events(next).filter { $0["reason"] as? String == "agent_restarted" }
        #expect(ends.count == 3 && ends.allSatisfy { $0["run"] as? String != nil })
        // The latched plateau is carried over, latched, naming the old instance.
        #expect(waitUntil(timeout: 30) { messages().contains { $0.rule == "lpv.plateau_high" && $0.phase == "start" && $0.state == "latched" } },
                "\(next.stdout)")
        #expect(waitUntil(timeout: 20) { syslogLines().filter { $0.contains("reason=\"agent_restarted\"") && $0.contains("alarm_run=") }.count == 3 },
                "rsyslog: \(syslogLines().suffix(5))")
        #expect(messages().allSatisfy { $0.valid })
        next.signal(SIGTERM)
        #expect(next.waitForExit(timeout: 40) == 0)
        let trace = try #require(try FileManager.default.contentsOfDirectory(atPath: traces).first { $0.hasSuffix(".alvtrace") })
        let replay = try ChildProcess.run([Paths.alveo, "replay", traces + "/" + trace])
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdout.contains("\"reason\":\"agent_restarted\"") && replay.stdout.contains("technical.monitoring_gap"))
        LiveVersusReplay.expectSame(live: next.stdout, replay: replay.stdout, tolerance: 1.0)
    }

    @Test func aCrashLoopLeavesNoAlarmWithoutAnEnd() throws {
        let (hl7, rsyslog) = try startReceivers()
        defer { hl7.kill(); rsyslog.kill() }
        let peer = try startPeer(Self.highPlateau, name: "peer")
        defer { peer.kill() }
        for n in 1...5 {
            let agent = try startAgent(n)
            defer { agent.kill() }
            // Killed once its alarms are raised (again) and journaled.
            #expect(waitUntil(timeout: 30) {
                Self.events(agent).filter { $0["phase"] as? String == "start" && $0["rule"] as? String != "technical.monitoring_gap" }.count >= 3
            }, "run \(n): \(agent.stdout) \(agent.stderr)")
            agent.signal(SIGKILL)
            _ = agent.waitForExit(timeout: 10)
        }
        let last = try startAgent(6)
        defer { last.kill() }
        #expect(waitUntil(timeout: 30) { Self.events(last).filter { $0["phase"] as? String == "start" }.count >= 4 }, "\(last.stdout)")
        last.signal(SIGTERM)
        #expect(last.waitForExit(timeout: 40) == 0, "\(last.stderr)")
        // Every OBR-3 thread at the receiver has an end, but the last stop's (ended at the next start).
        let open = threadsWithoutEnd()
        #expect(open.values.sorted() == ["technical.monitoring_stopped"], "\(open)")
        let threads = Set(messages().map(\.thread))
        #expect(threads.count >= 6 * 3, "alarms of every run reached the receiver: \(threads.count)")
        #expect(messages().filter { $0.rule == "technical.monitoring_gap" && $0.phase == "start" }.count == 5)
        #expect(messages().allSatisfy { $0.valid })
    }
}
