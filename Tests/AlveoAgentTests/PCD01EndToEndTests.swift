import AlveoTestKit
import Foundation
import Testing

/// IHE PCD-01 end to end: the independent gateway `Tests/Peers/pcd01_gateway.py` (written from the public
/// description of what gateways send) pushes a monitor's and a ventilator's observations over MLLP to
/// `alveo run --record`'s HL7 listener, with faults (a code Alveo does not read in every message, every
/// 4th message for another bed, demo data, a garbled message). The values in the trace are the
/// gateway's, the alarms follow them, silence after the gateway stops is each device's, and the trace
/// replays to the live events byte for byte.
@Suite(.serialized, .endToEnd, .ownThread) struct PCD01EndToEndTests {
    let directory: URL

    init() throws {
        directory = try Paths.temporaryDirectory()
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func hasEvent(_ agent: RunningProcess, _ rule: String, _ phase: String, source: String? = nil, after: Int = 0) -> Bool {
        agent.stdout.split(separator: "\n").dropFirst(after).contains { line in
            line.contains("\"rule\":\"\(rule)\"") && line.contains("\"phase\":\"\(phase)\"") && (source.map { line.contains("\"source\":\"\($0)\"") } ?? true)
        }
    }

    @Test func aGatewaysObservationsReachTheRulesAndReplay() throws {
        let port = freePort()
        try """
            patient: {sex: female, height_cm: 165}
            control: {socket: \(path("alveo.sock"))}
            devices:
              - {id: monitor, transport: {kind: pcd01, equipment: 00A037FFFE123456}}
              - {id: vent, transport: {kind: pcd01, equipment: VENT_B1}}
            inputs:
              hl7:
                bind: 127.0.0.1
                port: \(port)
                allowed_senders: [LIS]
                device_gateway: {senders: [GATEWAY], location: ICU^B1}
            rules:
              technical.device_silent: {timeout_s: 5}
            """.write(toFile: path("bed.yaml"), atomically: true, encoding: .utf8)
        let check = try ChildProcess.run([Paths.alveo, "check-config", path("bed.yaml")])
        #expect(check.status == 0 && check.stdout.contains("device vent: through the device gateway (IHE PCD-01 on the HL7 listener), OBX-18 VENT_B1 at PV1-3 ICU^B1"),
                "\(check.stdout)\(check.stderr)")
        try #"{"monitor": {"spo2": 95, "pulse_rate": 90, "heart_rate": 92, "map": 74, "nibp_map": 78, "nibp_age_s": 120}, "vent": {"fio2": 50, "vt": 400, "pplat": 33, "peep": 10, "rr": 20}}"#
            .write(toFile: path("values.json"), atomically: true, encoding: .utf8)
        let agent = try RunningProcess([Paths.alveo, "run", "--config", path("bed.yaml"), "--record", path("traces")], directory: directory, name: "alveo")
        defer { agent.kill() }
        // The gateway connects again every half second until the listener is up.
        let gateway = try RunningProcess(["python3", Paths.repository.appendingPathComponent("Tests/Peers/pcd01_gateway.py").path, "--port", "\(port)",
                                          "--values", path("values.json"), "--interval", "0.5", "--ready", path("gateway.ready"), "--log", path("gateway.jsonl"),
                                          "--faults"], directory: directory, name: "gateway")
        defer { gateway.kill() }
        #expect(waitUntil(timeout: 60) { hasEvent(agent, "lpv.plateau_high", "start") }, "stdout: \(agent.stdout)\nstderr: \(agent.stderr)\ngateway: \(gateway.stderr)")
        // Past the garbled 6th message and two other-bed ones.
        #expect(waitUntil(timeout: 60) { ((try? String(contentsOfFile: path("gateway.jsonl"), encoding: .utf8)) ?? "").split(separator: "\n").count >= 10 })
        let status = try ChildProcess.run([Paths.alveo, "status", "--socket", path("alveo.sock")])
        #expect(status.stdout.contains("monitor (pcd01): connected") && status.stdout.contains("vent (pcd01): connected"), "\(status.stdout)\n\(status.stderr)")
        #expect(status.stdout.contains("MAP 74 mmHg (arterial line"), "\(status.stdout)")
        #expect(agent.stderr.contains("codes Alveo does not read, counted and ignored: 150488^MDC_PULS_OXIM_PERF_REL"), "\(agent.stderr)")

        // The gateway stops: each device falls silent.
        gateway.kill()
        let stopped = agent.stdout.split(separator: "\n").count
        #expect(waitUntil(timeout: 60) {
            hasEvent(agent, "technical.device_silent", "start", source: "monitor", after: stopped) && hasEvent(agent, "technical.device_silent", "start", source: "vent", after: stopped)
        }, "\(agent.stdout)")
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 30) == 0, "\(agent.stderr)")

        // What the gateway answered: AA for every message but the garbled one.
        let sentLines = try String(contentsOfFile: path("gateway.jsonl"), encoding: .utf8).split(separator: "\n")
        let sent = sentLines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(sent.filter { ($0["garbled"] as? Bool) == true }.allSatisfy { ($0["ack"] as? String) != "AA" }, "\(sentLines)")
        #expect(sent.filter { ($0["garbled"] as? Bool) != true && $0["ack"] is String }.allSatisfy { ($0["ack"] as? String) == "AA" }, "\(sentLines)")

        // The trace: the live events byte for byte, and every value in it one the gateway sent that device.
        let trace = try LiveVersusReplay.trace(in: path("traces"))
        let replay = try LiveVersusReplay.replayTwice(trace)
        #expect(replay.stdout == LiveVersusReplay.withoutWallTime(agent.stdout), "replay equals live")
        let export = try ChildProcess.run([Paths.alveo, "trace", "export", "--csv", trace])
        var sentValues: [String: Set<Double>] = [:]
        for message in sent {
            for (device, values) in (message["sent"] as? [String: [String: Any]]) ?? [:] {
                for (key, value) in values { if let number = value as? Double { sentValues["\(device),\(key)", default: []].insert(number) } }
            }
        }
        var exported = 0
        for line in export.stdout.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 4, let value = Double(fields[3]) else { continue }
            exported += 1
            #expect(sentValues["\(fields[1]),\(fields[2])"]?.contains(value) == true, "\(line) is not a value the gateway sent")
        }
        #expect(exported > 20 && export.stdout.contains(",vent,pplat,33\n") && export.stdout.contains(",monitor,heart_rate,92\n")
                && export.stdout.contains(",monitor,nibp_map,78\n"), "\(export.stdout.prefix(1500))")
        let info = try ChildProcess.run([Paths.alveo, "trace", "info", trace])
        #expect(info.stdout.contains("monitor: through the device gateway (IHE PCD-01), OBX-18 00A037FFFE123456"), "\(info.stdout)")
        let raw = try Data(contentsOf: URL(fileURLWithPath: trace))
        #expect(raw.range(of: Data("99999^^^Hospital".utf8)) == nil && raw.range(of: Data("PV1|".utf8)) == nil, "no identity in the trace")
    }
}
