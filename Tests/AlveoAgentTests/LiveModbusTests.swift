import AlveoTestKit
import AlveoTrace
import Foundation
import Testing

/// `alveo run` as a process against pymodbus, a real and independent Modbus stack, over TCP and over
/// RTU on a socat pty pair; peers are started and stopped by the tests.
@Suite(.serialized, .endToEnd, .ownThread) struct LiveModbusTests {
    static let peerScript = Paths.repository.appendingPathComponent("Tests/Peers/modbus_peer.py").path
    static let gatewayProfile = Paths.repository.appendingPathComponent("devices/alveo-gateway-v1/profile.yaml").path
    /// STATUS valid + probe off; SpO2 80, PR 72, FiO2 40.0 %, Vt 450, Pplat 22.0, PEEP 5.0, RR 14.0, Ppeak 28.0.
    static let probeOffRegisters = "1,3,0,42,80,72,400,450,220,50,140,280"
    static let normalRegisters = "1,1,0,42,97,72,400,450,220,50,140,280"

    let directory: URL

    init() throws {
        directory = try Paths.temporaryDirectory()
    }

    func startPeer(_ arguments: [String], name: String = "peer") throws -> RunningProcess {
        try Receivers.modbusPeer(arguments, in: directory, name: name)
    }

    func writeConfig(transport: String, unitID: Int = 1, profile: String = LiveModbusTests.gatewayProfile) throws -> String {
        let path = directory.appendingPathComponent("bed.yaml").path
        try """
            patient: {sex: female, height_cm: 160, conditions: [diffuse_alveolar_hemorrhage]}
            devices:
              - id: gw
                profile: \(profile)
                poll_interval_s: 0.2
                reconnect_max_s: 0.5
                transport: {\(transport), unit_id: \(unitID), response_timeout_ms: 300}
            rules:
              technical.device_silent: {timeout_s: 2}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func startAgent(config: String, extra: [String] = []) throws -> RunningProcess {
        try RunningProcess([Paths.alveo, "run", "--config", config] + extra, directory: directory, name: "alveo")
    }

    func events(_ agent: RunningProcess) -> [[String: Any]] {
        agent.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    func hasEvent(_ agent: RunningProcess, rule: String, phase: String, source: String? = nil) -> Bool {
        events(agent).contains {
            $0["rule"] as? String == rule && $0["phase"] as? String == phase && (source == nil || $0["source"] as? String == source)
        }
    }

    @Test func tcpPollsDecodeIntoAlarmsAndSIGTERMShutsDownCleanly() throws {
        let port = freePort()
        let peer = try startPeer(["--tcp", "\(port)", "--ir", Self.probeOffRegisters])
        defer { peer.kill() }
        let agent = try startAgent(config: try writeConfig(transport: "kind: modbus_tcp, host: 127.0.0.1, port: \(port)"))
        defer { agent.kill() }
        #expect(waitUntil(timeout: 30) { hasEvent(agent, rule: "technical.sensor_off", phase: "start", source: "gw") },
                "stdout: \(agent.stdout)\nstderr: \(agent.stderr)")
        // Pplat 22.0 - PEEP 5.0 = 17 cmH2O: the decoded values reach the clinical rules.
        #expect(waitUntil(timeout: 10) { hasEvent(agent, rule: "lpv.driving_pressure_high", phase: "start") })
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 15) == 0, "stderr: \(agent.stderr)")
        #expect(agent.stderr.contains("stopped"))
    }

    @Test func recordedModbusRunReplaysToTheSameAlarms() throws {
        let port = freePort()
        let peer = try startPeer(["--tcp", "\(port)", "--ir", Self.probeOffRegisters])
        defer { peer.kill() }
        let traces = directory.appendingPathComponent("traces").path
        let agent = try startAgent(config: try writeConfig(transport: "kind: modbus_tcp, host: 127.0.0.1, port: \(port)"),
                                   extra: ["--record", traces])
        defer { agent.kill() }
        #expect(waitUntil(timeout: 30) {
            hasEvent(agent, rule: "technical.sensor_off", phase: "start") && hasEvent(agent, rule: "lpv.driving_pressure_high", phase: "start")
        }, "\(agent.stderr)")
        peer.kill()  // and a silence, recorded as failed polls
        #expect(waitUntil(timeout: 30) { hasEvent(agent, rule: "technical.device_silent", phase: "start", source: "gw") })
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 15) == 0)
        let trace = try #require(try FileManager.default.contentsOfDirectory(atPath: traces).first { $0.hasSuffix(".alvtrace") })
        let replay = try ChildProcess.run([Paths.alveo, "replay", traces + "/" + trace])
        #expect(replay.status == 0, "\(replay.stderr)")
        // The same (rule, phase, source) sequence, t within the poll interval and the 1 s tick.
        LiveVersusReplay.expectSame(live: agent.stdout, replay: replay.stdout, tolerance: 1.0)
    }

    /// A recording that reaches its size cap ends itself, saying why, and the agent runs on: an alarm
    /// raised after the recording stopped still reaches stdout. A disk already below the free-space
    /// floor refuses the recording at the start, with the reason.
    @Test func aRecordingAtItsCapStopsAndTheAgentRunsOn() throws {
        let port = freePort()
        let peer = try startPeer(["--tcp", "\(port)", "--ir", Self.probeOffRegisters])
        defer { peer.kill() }
        let config = try writeConfig(transport: "kind: modbus_tcp, host: 127.0.0.1, port: \(port)")
        // `alveo record` has nothing left to do when its recording stops: it ends by itself.
        let captures = directory.appendingPathComponent("captures").path
        let capture = try RunningProcess([Paths.alveo, "record", "--config", config, "--out", captures, "--trace-max-mb", "0.004"],
                                         directory: directory, name: "record")
        defer { capture.kill() }
        #expect(capture.waitForExit(timeout: 30) == 0, "\(capture.stderr)")
        #expect(capture.stderr.contains("recording stopped: the trace reached its size limit of 0.004 MB; alveo record stops"), "\(capture.stderr)")
        #expect(capture.stdout.contains(try LiveVersusReplay.trace(in: captures)))

        let traces = directory.appendingPathComponent("traces").path
        // The configuration and profile take about 3 kB: the cap is reached within a few polls.
        let agent = try startAgent(config: config, extra: ["--record", traces, "--trace-max-mb", "0.004"])
        defer { agent.kill() }
        #expect(waitUntil(timeout: 30) { agent.stderr.contains("recording stopped: the trace reached its size limit of 0.004 MB; alveo run goes on") },
                "\(agent.stderr)")
        peer.kill()
        #expect(waitUntil(timeout: 30) { hasEvent(agent, rule: "technical.device_silent", phase: "start", source: "gw") },
                "the agent runs on after the recording stopped: \(agent.stderr)")
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 15) == 0, "\(agent.stderr)")
        let trace = try LiveVersusReplay.trace(in: traces)
        #expect((try FileManager.default.attributesOfItem(atPath: trace)[.size] as? Int ?? 0) < 4_500)
        let (records, problem) = RawTrace.decode(Array(try Data(contentsOf: URL(fileURLWithPath: trace))))
        #expect(problem == nil && records.last?.kind == .end)
        let info = try ChildProcess.run([Paths.alveo, "trace", "info", trace])
        #expect(info.stdout.contains("ended early, the agent running on: recording stopped: the trace reached its size limit"), "\(info.stdout)")
        let replay = try ChildProcess.run([Paths.alveo, "replay", trace])
        #expect(replay.status == 0 && replay.stderr.contains("the replay ends there, the live agent ran on after it"), "\(replay.stderr)")
        #expect(!replay.stdout.contains("device_silent"), "the silence came after the recording stopped")

        let refused = try ChildProcess.run([Paths.alveo, "record", "--config", config, "--out", traces, "--seconds", "1",
                                            "--trace-min-free-mb", "1000000000000"])
        #expect(refused.status == 74, "\(refused.stderr)")
        #expect(refused.stderr.contains("not recording: ") && refused.stderr.contains("kept free for the alarm journal"), "\(refused.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: traces).count == 1, "no second trace file")
    }

    /// `alveo record`: the same pollers without the clinical core or outputs, stopping by itself; the
    /// trace carries its profile and replays on its own from anywhere (the profile file deleted).
    @Test func recordAloneCapturesPollsWithoutOutputsAndReplaysAnywhere() throws {
        let port = freePort()
        let peer = try startPeer(["--tcp", "\(port)", "--ir", Self.probeOffRegisters])
        defer { peer.kill() }
        let profile = directory.appendingPathComponent("gw-profile.yaml").path
        try FileManager.default.copyItem(atPath: Self.gatewayProfile, toPath: profile)
        let config = try writeConfig(transport: "kind: modbus_tcp, host: 127.0.0.1, port: \(port)", profile: "gw-profile.yaml")
        let journal = directory.appendingPathComponent("journal").path
        try (String(contentsOfFile: config, encoding: .utf8) + "\noutputs:\n  journal: {directory: \(journal)}\n")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let traces = directory.appendingPathComponent("traces").path
        let record = try RunningProcess([Paths.alveo, "record", "--config", config, "--out", traces, "--seconds", "3"],
                                        directory: directory, name: "record")
        defer { record.kill() }
        #expect(record.waitForExit(timeout: 30) == 0, "it stops by itself after --seconds: \(record.stderr)")
        let trace = try LiveVersusReplay.trace(in: traces)
        #expect(record.stdout.contains(trace), "prints the trace it wrote: \(record.stdout)")
        #expect(record.stdout.split(separator: "\n").count == 1, "no alarm events: \(record.stdout)")
        #expect(!FileManager.default.fileExists(atPath: journal), "no journal: recording only")
        #expect(record.stderr.range(of: "decoded=[1-9]", options: .regularExpression) != nil, "polls were decoded: \(record.stderr)")

        let (records, problem) = RawTrace.decode(Array(try Data(contentsOf: URL(fileURLWithPath: trace))))
        #expect(problem == nil)
        #expect(records.map(\.kind).prefix(2) == [.config, .profile])
        #expect(records.filter { $0.kind == .modbusRegisters }.count >= 5)
        #expect(records.filter { $0.kind == .tick }.count >= 2)
        #expect(records.last?.kind == .end)

        try FileManager.default.removeItem(atPath: profile)
        let replay = try ChildProcess.run([Paths.alveo, "replay", trace])
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdout.contains("\"rule\":\"technical.sensor_off\""), "\(replay.stdout)")
        #expect(replay.stderr.contains("gw: decoded "), "\(replay.stderr)")
    }

    @Test func peerKilledRaisesDeviceSilentAndItsReturnEndsIt() throws {
        let port = freePort()
        var peer = try startPeer(["--tcp", "\(port)", "--ir", Self.normalRegisters])
        let agent = try startAgent(config: try writeConfig(transport: "kind: modbus_tcp, host: 127.0.0.1, port: \(port)"))
        defer { agent.kill() }
        #expect(waitUntil(timeout: 30) { agent.stderr.contains("connected") }, "stderr: \(agent.stderr)")
        peer.kill()
        let killed = Date()
        #expect(waitUntil(timeout: 15) { hasEvent(agent, rule: "technical.device_silent", phase: "start", source: "gw") },
                "stderr: \(agent.stderr)")
        // Timeout 2 s, plus at most one 1 s tick and the reconnect backoff; generous for a loaded CI machine.
        #expect(Date().timeIntervalSince(killed) < 10)

        peer = try startPeer(["--tcp", "\(port)", "--ir", Self.normalRegisters], name: "peer2")
        defer { peer.kill() }
        #expect(waitUntil(timeout: 30) { hasEvent(agent, rule: "technical.device_silent", phase: "end", source: "gw") },
                "the agent reconnects by itself; stderr: \(agent.stderr)")
        #expect(agent.poll() == nil, "the agent was never restarted")
    }

    @Test func oneDeadDeviceDoesNotStallTheOthers() throws {
        let port = freePort(), deadPort = freePort()
        let peer = try startPeer(["--tcp", "\(port)", "--ir", Self.probeOffRegisters])
        defer { peer.kill() }
        let config = directory.appendingPathComponent("two.yaml").path
        try """
            patient: {sex: male, height_cm: 180}
            devices:
              - {id: dead, profile: \(Self.gatewayProfile), poll_interval_s: 0.2,
                 transport: {kind: modbus_tcp, host: 127.0.0.1, port: \(deadPort), response_timeout_ms: 2000}}
              - {id: gw, profile: \(Self.gatewayProfile), poll_interval_s: 0.2,
                 transport: {kind: modbus_tcp, host: 127.0.0.1, port: \(port)}}
            rules:
              technical.device_silent: {timeout_s: 2}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let agent = try startAgent(config: config)
        defer { agent.kill() }
        #expect(waitUntil(timeout: 30) { hasEvent(agent, rule: "technical.sensor_off", phase: "start", source: "gw") },
                "the live device is decoded while the other is dead: \(agent.stderr)")
        #expect(waitUntil(timeout: 15) { hasEvent(agent, rule: "technical.device_silent", phase: "start", source: "dead") })
        #expect(!hasEvent(agent, rule: "technical.device_silent", phase: "start", source: "gw"))
    }

    @Test func exceptionResponseIsATypedErrorAndATechnicalAlarm() throws {
        let port = freePort()
        let peer = try startPeer(["--tcp", "\(port)", "--ir", Self.normalRegisters])
        defer { peer.kill() }
        // The peer serves unit 1 only: a request for unit 2 gets an exception response.
        let agent = try startAgent(config: try writeConfig(transport: "kind: modbus_tcp, host: 127.0.0.1, port: \(port)", unitID: 2))
        defer { agent.kill() }
        #expect(waitUntil(timeout: 30) { hasEvent(agent, rule: "technical.device_silent", phase: "start", source: "gw") })
        #expect(agent.stderr.contains("from unit 2"), "stderr: \(agent.stderr)")
        #expect(agent.stderr.contains("Modbus exception 0x"), "stderr: \(agent.stderr)")
    }

    @Test func wrongRegisterIsNamedInTheError() throws {
        let profile = directory.appendingPathComponent("far.yaml").path
        try """
            name: far-register
            registers:
              - {parameter: spo2, address: 1000, table: input, type: int16, unit: "%"}
            """.write(toFile: profile, atomically: true, encoding: .utf8)
        let port = freePort()
        let peer = try startPeer(["--tcp", "\(port)", "--ir", Self.normalRegisters])
        defer { peer.kill() }
        let agent = try startAgent(config: try writeConfig(transport: "kind: modbus_tcp, host: 127.0.0.1, port: \(port)", profile: profile))
        defer { agent.kill() }
        #expect(waitUntil(timeout: 30) { agent.stderr.contains("Modbus exception 0x02") }, "stderr: \(agent.stderr)")
        #expect(agent.stderr.contains("at 1000"), "names the register")
        #expect(waitUntil(timeout: 15) { hasEvent(agent, rule: "technical.device_silent", phase: "start", source: "gw") })
    }

    @Test func missingSerialPathIsAClearErrorAndTheDeviceIsSilent() throws {
        let path = directory.appendingPathComponent("ttyNOPE").path
        let agent = try startAgent(config: try writeConfig(transport: "kind: modbus_rtu, path: \(path), baud: 19200"))
        defer { agent.kill() }
        #expect(waitUntil(timeout: 30) { agent.stderr.contains("No such file or directory") }, "stderr: \(agent.stderr)")
        #expect(agent.stderr.contains(path))
        #expect(waitUntil(timeout: 15) { hasEvent(agent, rule: "technical.device_silent", phase: "start", source: "gw") })
        agent.signal(SIGINT)
        #expect(agent.waitForExit(timeout: 15) == 0)
    }

    @Test func devicesSharingOneSerialLineArePolledInTurn() throws {
        let a = directory.appendingPathComponent("ttyA").path, b = directory.appendingPathComponent("ttyB").path
        let socat = try RunningProcess(["socat", "pty,raw,echo=0,link=\(a)", "pty,raw,echo=0,link=\(b)"], directory: directory, name: "socat")
        defer { socat.kill() }
        #expect(waitUntil(timeout: 15) { FileManager.default.fileExists(atPath: a) && FileManager.default.fileExists(atPath: b) })
        let peer = try startPeer(["--rtu", a, "--unit", "1", "--unit", "2", "--ir", Self.probeOffRegisters])
        defer { peer.kill() }
        let config = directory.appendingPathComponent("multidrop.yaml").path
        let transport = "kind: modbus_rtu, path: \(b), baud: 19200, response_timeout_ms: 300"
        try """
            patient: {sex: male, height_cm: 180}
            devices:
              - {id: bed1, profile: \(Self.gatewayProfile), poll_interval_s: 0.3, transport: {\(transport), unit_id: 1}}
              - {id: bed2, profile: \(Self.gatewayProfile), poll_interval_s: 0.3, transport: {\(transport), unit_id: 2}}
              - {id: absent, profile: \(Self.gatewayProfile), poll_interval_s: 0.3, transport: {\(transport), unit_id: 3}}
            rules:
              technical.device_silent: {timeout_s: 2}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let agent = try startAgent(config: config)
        defer { agent.kill() }
        #expect(waitUntil(timeout: 30) {
            hasEvent(agent, rule: "technical.sensor_off", phase: "start", source: "bed1")
                && hasEvent(agent, rule: "technical.sensor_off", phase: "start", source: "bed2")
        }, "stdout: \(agent.stdout)\nstderr: \(agent.stderr)")
        #expect(waitUntil(timeout: 15) { hasEvent(agent, rule: "technical.device_silent", phase: "start", source: "absent") })
        #expect(!hasEvent(agent, rule: "technical.device_silent", phase: "start", source: "bed1"), "a silent unit does not take the line down")
        #expect(agent.stderr.components(separatedBy: "connected").count == 2, "one connection for the whole line: \(agent.stderr)")
    }

    @Test func rtuOverASocatPtyPair() throws {
        let a = directory.appendingPathComponent("ttyA").path, b = directory.appendingPathComponent("ttyB").path
        let socat = try RunningProcess(["socat", "pty,raw,echo=0,link=\(a)", "pty,raw,echo=0,link=\(b)"], directory: directory, name: "socat")
        defer { socat.kill() }
        #expect(waitUntil(timeout: 15) { FileManager.default.fileExists(atPath: a) && FileManager.default.fileExists(atPath: b) },
                "socat did not create the pty pair (is socat installed? make test-deps): \(socat.stderr)")
        let peer = try startPeer(["--rtu", a, "--ir", Self.probeOffRegisters])
        defer { peer.kill() }
        let traces = directory.appendingPathComponent("traces").path
        let agent = try startAgent(config: try writeConfig(transport: "kind: modbus_rtu, path: \(b), baud: 19200, parity: none"),
                                   extra: ["--record", traces])
        defer { agent.kill() }
        #expect(waitUntil(timeout: 30) { hasEvent(agent, rule: "technical.sensor_off", phase: "start", source: "gw") },
                "stdout: \(agent.stdout)\nstderr: \(agent.stderr)")
        #expect(waitUntil(timeout: 10) { hasEvent(agent, rule: "lpv.driving_pressure_high", phase: "start") })
        peer.kill()  // the unit stops answering: timeouts on the line, recorded as failed polls
        #expect(waitUntil(timeout: 30) { hasEvent(agent, rule: "technical.device_silent", phase: "start", source: "gw") })
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 15) == 0)

        // Recorded over RTU, replayed from the trace alone: the same events, t within the poll interval.
        let replay = try ChildProcess.run([Paths.alveo, "replay", try LiveVersusReplay.trace(in: traces)])
        #expect(replay.status == 0, "\(replay.stderr)")
        LiveVersusReplay.expectSame(live: agent.stdout, replay: replay.stdout, tolerance: 1.0)
    }
}
