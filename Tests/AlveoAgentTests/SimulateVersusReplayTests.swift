import AlveoTestKit
import AlveoAgent
import AlveoCore
import Foundation
import Testing

/// `alveo run` against `alveo simulate` playing a scenario gives the same rule starts as replaying it.
@Suite(.serialized, .endToEnd, .ownThread) struct SimulateVersusReplayTests {
    /// A 1 Hz scenario of ventilator and oximeter rows (dense, so that replay evaluates every second
    /// as the live agent does), with delays shortened in the config so that the test takes ~35 s.
    static func scenario() -> String {
        var text = "t,source,parameter,value\n"
        for t in 0...30 {
            let spo2 = t < 8 ? 95 : (t < 20 ? 84 : 93)
            let pplat = t < 12 ? 24 : 33
            let vt = t < 16 ? 320 : 470
            text += "\(t),vent,fio2,50\n\(t),vent,peep,8\n\(t),vent,vt,\(vt)\n\(t),vent,pplat,\(pplat)\n"
            text += t == 4 ? "\(t),oxi,sensor,off\n" : "\(t),oxi,spo2,\(spo2)\n\(t),oxi,pulse_rate,90\n"
        }
        return text
    }

    static let rules = """
        rules:
          oxygenation.spo2_low: {delay_s: 4, high_delay_s: 3}
          lpv.tidal_volume_high: {delay_s: 6, high_delay_s: 3}
          technical.device_silent: {timeout_s: 5}
        """

    @Test func liveRunAgainstSimulatorMatchesReplay() throws {
        let directory = try Paths.temporaryDirectory()
        let scenarioPath = directory.appendingPathComponent("scenario.csv").path
        try Self.scenario().write(toFile: scenarioPath, atomically: true, encoding: .utf8)
        let port = freePort()
        let link = directory.appendingPathComponent("oxi").path
        let profile = Paths.repository.appendingPathComponent("devices/alveo-gateway-v1/profile.yaml").path
        let patient = "patient: {sex: male, height_cm: 175, conditions: [diffuse_alveolar_hemorrhage]}\n"
        let liveConfig = directory.appendingPathComponent("live.yaml").path
        try (patient + """
            devices:
              - {id: vent, profile: \(profile), poll_interval_s: 0.25, transport: {kind: modbus_tcp, host: 127.0.0.1, port: \(port)}}
              - {id: oxi, profile: \(profile), poll_interval_s: 0.25, transport: {kind: modbus_rtu, path: \(link), baud: 19200}}

            """ + Self.rules).write(toFile: liveConfig, atomically: true, encoding: .utf8)
        let replayConfig = directory.appendingPathComponent("replay.yaml").path
        try (patient + Self.rules).write(toFile: replayConfig, atomically: true, encoding: .utf8)

        // Replay first: the expected rule starts.
        var expected: [AlarmEvent] = []
        try ScenarioReplay.run(config: try AgentConfig.load(path: replayConfig), scenarioPath: scenarioPath) { expected.append($0) }
        let expectedStarts = expected.filter { $0.phase == .start }
        #expect(expectedStarts.count >= 6, "the scenario exercises several rules: \(expectedStarts.map(\.rule.id))")

        let simulator = try RunningProcess([Paths.alveo, "simulate", "--scenario", scenarioPath, "--vent-port", "\(port)", "--oxi-link", link],
                                           directory: directory, name: "simulate")
        defer { simulator.kill() }
        #expect(waitUntil(timeout: 30) { isListening(port) && FileManager.default.fileExists(atPath: link) },
                "simulator did not start: \(simulator.stderr)")
        let agent = try RunningProcess([Paths.alveo, "run", "--config", liveConfig], directory: directory, name: "run")
        defer { agent.kill() }

        func liveStarts() -> [[String: Any]] {
            agent.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                // The agent's own stop (SIGTERM below) is not the scenario's.
                .filter { $0["phase"] as? String == "start" && $0["rule"] as? String != "technical.monitoring_stopped" }
        }
        #expect(waitUntil(timeout: 90) { liveStarts().count >= expectedStarts.count }, "live: \(agent.stdout)\n\(agent.stderr)")
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 15) == 0)
        simulator.signal(SIGTERM)
        #expect(simulator.waitForExit(timeout: 15) == 0, "simulator: \(simulator.stderr)")

        let live = liveStarts()
        let liveKeys = live.map { "\($0["rule"] as? String ?? "")/\($0["source"] as? String ?? "")" }
        let replayKeys = expectedStarts.map { "\($0.rule.id)/\($0.source ?? "")" }
        #expect(Set(liveKeys) == Set(replayKeys), "live \(liveKeys) vs replay \(replayKeys)")
        // The live clock starts with the agent, the scenario's with the simulator, shortly before:
        // each start lands within the poll interval, the 1 s tick and the start-up offset.
        for event in expectedStarts {
            let key = "\(event.rule.id)/\(event.source ?? "")"
            if let match = live.first(where: { "\($0["rule"] as? String ?? "")/\($0["source"] as? String ?? "")" == key }),
               let t = match["t"] as? Double
            {
                #expect(abs(t - event.t) <= 2.5, "\(key): live t=\(t), replay t=\(event.t)")
            }
        }
    }
}
