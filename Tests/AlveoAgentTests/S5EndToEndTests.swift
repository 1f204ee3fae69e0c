import AlveoTestKit
import AlveoTrace
import Foundation
import Testing

/// GE Datex-Ohmeda S/5 end to end: the independent peer `Tests/Peers/s5_peer.py` (written from the
/// public description, not from Alveo's encoder) plays the monitor on one end of a socat pty pair;
/// `alveo run` reads it through libserialport (with the tests' LD_PRELOAD shim) into alarms.
@Suite(.serialized, .endToEnd, .ownThread) struct S5EndToEndTests {
    let directory: URL

    init() throws {
        directory = try Paths.temporaryDirectory()
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func ptyPair() throws -> PtyPair { try PtyPair(in: directory) }

    func writeValues(_ json: String) throws {
        // Atomically: the peer re-reads the file before every record.
        try json.write(toFile: path("values.json"), atomically: true, encoding: .utf8)
    }

    func startPeer(port: String, _ options: [String], name: String = "peer") throws -> RunningProcess {
        let ready = path("\(name).ready")
        let peer = try RunningProcess(["python3", Paths.repository.appendingPathComponent("Tests/Peers/s5_peer.py").path, "--port", port,
                                       "--ready", ready, "--values", path("values.json")] + options,
                                      directory: directory, name: name)
        #expect(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: ready) || peer.poll() != nil }, "\(peer.stderr)")
        return peer
    }

    /// The line as 19200 8N1: a pseudo-terminal has no parity to set (libserialport refuses even parity on
    /// one), and carries the bytes whatever the settings.
    func startAgent(port: String, record: String? = nil, silentAfter: Int = 3) throws -> RunningProcess {
        try """
            patient: {sex: female, height_cm: 165}
            control: {socket: \(path("alveo.sock"))}
            devices:
              - {id: mon, transport: {kind: serial, protocol: ge_s5, path: \(port), baud: 19200}}
            rules:
              technical.device_silent: {timeout_s: \(silentAfter)}
            """.write(toFile: path("bed.yaml"), atomically: true, encoding: .utf8)
        return try RunningProcess([Paths.alveo, "run", "--config", path("bed.yaml")] + (record.map { ["--record", $0] } ?? []),
                                  directory: directory, name: "alveo", environment: ["LD_PRELOAD": try SerialPortTests.buildShim(in: directory)])
    }

    func hasEvent(_ agent: RunningProcess, _ rule: String, _ phase: String, after: Int = 0) -> Bool {
        agent.stdout.split(separator: "\n").dropFirst(after).contains { $0.contains("\"rule\":\"\(rule)\"") && $0.contains("\"phase\":\"\(phase)\"") }
    }

    /// The request, records every 0.5 s (the peer's shortcut for the monitor's 10 s) with noise, a record
    /// with other values and a bad checksum, a cut record, and a pulled cable; the plateau alarm from the
    /// monitor's spirometry values, the MAP and heart rate in status, all recorded; the trace holds
    /// exactly the peer's values and replays to the live events byte for byte.
    @Test func recordsNoiseBadChecksumCutRecordPulledCableAndReplay() throws {
        let line = try ptyPair()
        defer { line.socat.kill() }
        try writeValues(#"{"spo2": 96, "pulse_rate": 88, "fio2": 50, "vt": 400, "pplat": 33, "peep": 10, "ppeak": 36, "rr": 20, "map": 74, "heart_rate": 91, "nibp_map": 85}"#)
        let peer = try startPeer(port: line.device, ["--period", "0.5", "--noise", "--bad-checksum", "4", "--cut", "5",
                                                     "--pull-after", "30", "--pull-for", "5"])
        defer { peer.kill() }
        let traces = path("traces")
        let agent = try startAgent(port: line.agent, record: traces)
        defer { agent.kill() }
        #expect(waitUntil(timeout: 40) { hasEvent(agent, "lpv.plateau_high", "start") }, "stdout: \(agent.stdout)\nstderr: \(agent.stderr)\npeer: \(peer.stderr)")
        #expect(peer.stderr.contains("request: displayed values every 10 s, classes 0x0"), "Alveo asked for the basic class every 10 s: \(peer.stderr)")
        let status = try ChildProcess.run([Paths.alveo, "status", "--socket", path("alveo.sock")])
        #expect(status.stdout.contains("mon (ge_s5): connected") && status.stdout.contains("; link receiving displayed values every 10 s"),
                "\(status.stdout)\n\(status.stderr)")
        #expect(status.stdout.contains("MAP 74 mmHg (arterial line"), "the monitor's arterial mean is the MAP the rules use: \(status.stdout)")
        #expect(waitUntil(timeout: 30) { agent.stderr.contains("bad checksum") && agent.stderr.contains("length field") },
                "the peer's bad checksum, noise and cut records are counted and said: \(agent.stderr)")
        let counted = try ChildProcess.run([Paths.alveo, "status", "--socket", path("alveo.sock")])
        #expect(counted.stdout.contains("rejected frames ") && !counted.stdout.contains("rejected frames 0,"), "\(counted.stdout)")
        // The cable is pulled after 30 records for 5 s: silence, then the records again.
        #expect(waitUntil(timeout: 60) { hasEvent(agent, "technical.device_silent", "start") }, "\(agent.stdout)\n\(peer.stderr)")
        #expect(waitUntil(timeout: 60) { hasEvent(agent, "technical.device_silent", "end") }, "\(agent.stdout)\n\(agent.stderr)\n\(peer.stderr)")
        let before = agent.stdout.split(separator: "\n").count
        try writeValues(#"{"spo2": 96, "pulse_rate": 88, "fio2": 50, "vt": 400, "pplat": 22, "peep": 10, "ppeak": 25, "rr": 20, "map": 74, "heart_rate": 91}"#)
        #expect(waitUntil(timeout: 30) { hasEvent(agent, "lpv.driving_pressure_high", "end", after: before) }, "\(agent.stdout)")
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 15) == 0, "\(agent.stderr)")

        let trace = try LiveVersusReplay.trace(in: traces)
        let first = try LiveVersusReplay.replayTwice(trace)
        #expect(first.stdout == LiveVersusReplay.withoutWallTime(agent.stdout), "replay equals live")
        let export = try ChildProcess.run([Paths.alveo, "trace", "export", "--csv", trace])
        let rows = export.stdout.split(separator: "\n").filter { $0.contains(",mon,") }
        var seen: [String: Set<String>] = [:]
        for row in rows {
            let fields = row.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count >= 2 else { continue }
            seen[String(fields[fields.count - 2]), default: []].insert(String(fields[fields.count - 1]))
        }
        let expected: [String: Set<String>] = ["spo2": ["96"], "pulse_rate": ["88"], "fio2": ["50"], "vt": ["400"], "pplat": ["33", "22"],
                                               "peep": ["10"], "ppeak": ["36", "25"], "rr": ["20"], "map": ["74"], "heart_rate": ["91"]]
        #expect(seen == expected, "exactly the peer's values, none of the bad-checksum record's (+7), no cuff mean: \(seen)\n\(export.stdout.prefix(1500))")
    }

    /// `alveo serial-check --protocol ge_s5` sends the request for a commissioning engineer and prints
    /// each record's values and each rejected frame, without the rules.
    @Test func serialCheckSendsTheRequestAndPrintsTheRecords() throws {
        let line = try ptyPair()
        defer { line.socat.kill() }
        try writeValues(#"{"spo2": 93, "pulse_rate": 101, "heart_rate": 99, "fio2": null}"#)
        let peer = try startPeer(port: line.device, ["--period", "0.5", "--bad-checksum", "2"])
        defer { peer.kill() }
        let result = try ChildProcess.run([Paths.alveo, "serial-check", "--path", line.agent, "--baud", "19200", "--protocol", "ge_s5",
                                           "--seconds", "4"], environment: ["LD_PRELOAD": try SerialPortTests.buildShim(in: directory)])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)\n\(peer.stderr)")
        #expect(result.stdout.contains("link: receiving displayed values every 10 s"), "\(result.stdout)")
        #expect(result.stdout.contains("heart_rate=99 /min") && result.stdout.contains("spo2=93 %") && result.stdout.contains("pulse_rate=101 /min")
                && result.stdout.contains("fio2=(no value) %"), "\(result.stdout)")
        #expect(result.stdout.contains("bad checksum"), "the peer's bad record: \(result.stdout)")
    }

    /// `alveo simulate --serial ge_s5=LINK` plays an S/5 that `alveo run` reads.
    @Test func simulateServesAnS5() throws {
        var scenario = "t,source,parameter,value\n"
        for t in 0...300 { scenario += "\(t),oxi,spo2,\(t < 5 ? 95 : 80)\n\(t),oxi,pulse_rate,110\n" }
        try scenario.write(toFile: path("scenario.csv"), atomically: true, encoding: .utf8)
        let link = path("monitor")
        let simulator = try RunningProcess([Paths.alveo, "simulate", "--scenario", path("scenario.csv"), "--vent-port", "\(freePort())",
                                            "--oxi-link", path("rtu"), "--serial", "ge_s5=\(link)"], directory: directory, name: "simulate")
        defer { simulator.kill() }
        #expect(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: link) }, "\(simulator.stderr)")
        let agent = try startAgent(port: link, silentAfter: 30)
        defer { agent.kill() }
        #expect(waitUntil(timeout: 150) { hasEvent(agent, "oxygenation.spo2_low", "start") }, "\(agent.stdout)\n\(agent.stderr)")
        #expect(!hasEvent(agent, "technical.device_silent", "start"))
    }
}
