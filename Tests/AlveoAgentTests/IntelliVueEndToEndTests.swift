import AlveoTestKit
import AlveoTrace
import Foundation
import Testing

/// Philips IntelliVue end to end: the independent peer `Tests/Peers/intellivue_peer.py` (written from
/// the protocol document alone, not from Alveo's encoder) plays the monitor on one end of a socat pty
/// pair; `alveo run` reads it through libserialport (with the tests' LD_PRELOAD shim) into alarms.
@Suite(.serialized, .endToEnd, .ownThread) struct IntelliVueEndToEndTests {
    let directory: URL

    init() throws {
        directory = try Paths.temporaryDirectory()
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func ptyPair() throws -> PtyPair { try PtyPair(in: directory) }

    func writeValues(_ json: String) throws {
        // Atomically: the peer re-reads the file before every reply.
        try json.write(toFile: path("values.json"), atomically: true, encoding: .utf8)
    }

    func startPeer(port: String, _ options: [String], name: String = "peer") throws -> RunningProcess {
        let ready = path("\(name).ready")
        let peer = try RunningProcess(["python3", Paths.repository.appendingPathComponent("Tests/Peers/intellivue_peer.py").path, "--port", port,
                                       "--baud", "115200", "--ready", ready, "--values", path("values.json")] + options,
                                      directory: directory, name: name)
        #expect(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: ready) || peer.poll() != nil }, "\(peer.stderr)")
        return peer
    }

    func startAgent(port: String, record: String? = nil) throws -> RunningProcess {
        try """
            patient: {sex: female, height_cm: 165}
            control: {socket: \(path("alveo.sock"))}
            devices:
              - {id: mon, poll_interval_s: 0.5, transport: {kind: serial, protocol: intellivue, path: \(port), baud: 115200}}
            rules:
              technical.device_silent: {timeout_s: 3}
            """.write(toFile: path("bed.yaml"), atomically: true, encoding: .utf8)
        return try RunningProcess([Paths.alveo, "run", "--config", path("bed.yaml")] + (record.map { ["--record", $0] } ?? []),
                                  directory: directory, name: "alveo", environment: ["LD_PRELOAD": try SerialPortTests.buildShim(in: directory)])
    }

    func hasEvent(_ agent: RunningProcess, _ rule: String, _ phase: String, after: Int = 0) -> Bool {
        agent.stdout.split(separator: "\n").dropFirst(after).contains { $0.contains("\"rule\":\"\(rule)\"") && $0.contains("\"phase\":\"\(phase)\"") }
    }

    /// Association (the first one refused), numerics with noise between frames into a lung-protective
    /// alarm and its end, a pulled cable (the monitor forgets the association: silence, then Alveo
    /// associates again), all recorded; the trace replays to the live events byte for byte.
    @Test func associationNumericsNoisePulledCableAndReplay() throws {
        let line = try ptyPair()
        defer { line.socat.kill() }
        try writeValues(#"{"spo2": 96, "pulse_rate": 88, "fio2": 50, "vt": 400, "pplat": 33, "peep": 10, "ppeak": 36, "rr": 20, "map": 74, "heart_rate": 91}"#)
        let peer = try startPeer(port: line.device, ["--refuse-first", "--noise", "--pull-after", "30", "--pull-for", "4"])
        defer { peer.kill() }
        let traces = path("traces")
        let agent = try startAgent(port: line.agent, record: traces)
        defer { agent.kill() }
        #expect(waitUntil(timeout: 40) { hasEvent(agent, "lpv.plateau_high", "start") }, "stdout: \(agent.stdout)\nstderr: \(agent.stderr)\npeer: \(peer.stderr)")
        #expect(agent.stderr.contains("link: associating (refused by the monitor: asking again in 5 s)"),
                "the first association was refused and retried: \(agent.stderr)")
        #expect(agent.stderr.contains("link: associated, polling numerics"))
        // The bedside status shows the link's state.
        let status = try ChildProcess.run([Paths.alveo, "status", "--socket", path("alveo.sock")])
        #expect(status.stdout.contains("mon (intellivue): connected") && status.stdout.contains("; link associated, polling numerics"),
                "\(status.stdout)\n\(status.stderr)")
        #expect(status.stdout.contains("MAP 74 mmHg (arterial line"), "the monitor's arterial mean is the MAP the rules use: \(status.stdout)")
        #expect(waitUntil(timeout: 30) { agent.stderr.contains("rejected") }, "the peer's bad-FCS and aborted frames are counted: \(agent.stderr)")
        // The cable is pulled after 30 replies: silence, then a new association, data again.
        // (The end of the silence while the first association was refused comes 10 s after the data, its
        // offset: it may come after this point, so the pulled cable's end is looked for after the link
        // has noticed the silence.)
        let associated = agent.stdout.split(separator: "\n").count
        #expect(waitUntil(timeout: 60) { hasEvent(agent, "technical.device_silent", "start", after: associated) }, "\(agent.stdout)\n\(peer.stderr)")
        #expect(waitUntil(timeout: 60) { agent.stderr.contains("link: associating (no answer from the monitor for 10 s)") }, "\(agent.stderr)")
        let noticed = agent.stdout.split(separator: "\n").count
        #expect(waitUntil(timeout: 60) { hasEvent(agent, "technical.device_silent", "end", after: noticed) },
                "\(agent.stdout)\n\(agent.stderr)\n\(peer.stderr)")
        // The plateau falls: the driving pressure alarm ends (the high-priority plateau alarm latches).
        let before = agent.stdout.split(separator: "\n").count
        try writeValues(#"{"spo2": 96, "pulse_rate": 88, "fio2": 50, "vt": 400, "pplat": 22, "peep": 10, "ppeak": 25, "rr": 20}"#)
        #expect(waitUntil(timeout: 30) { hasEvent(agent, "lpv.driving_pressure_high", "end", after: before) }, "\(agent.stdout)")
        #expect(hasEvent(agent, "lpv.plateau_high", "update", after: before), "latched")
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 15) == 0, "\(agent.stderr)")

        let trace = try LiveVersusReplay.trace(in: traces)
        let first = try LiveVersusReplay.replayTwice(trace)
        #expect(first.stdout == LiveVersusReplay.withoutWallTime(agent.stdout), "replay equals live")
        let export = try ChildProcess.run([Paths.alveo, "trace", "export", "--csv", trace])
        #expect(export.stdout.contains(",mon,spo2,96\n") && export.stdout.contains(",mon,pplat,33\n") && export.stdout.contains(",mon,vt,400\n"),
                "\(export.stdout.prefix(2000))")
        #expect(export.stdout.contains(",mon,map,74\n") && export.stdout.contains(",mon,heart_rate,91\n"), "the arterial mean and the ECG heart rate")
    }

    /// Data Export over the LAN (issue 28): the same peer as a monitor on UDP (one message per datagram,
    /// no frame), with garbage and cut datagrams between replies and the network cable pulled (the
    /// monitor forgets the association: silence, then Alveo associates again); recorded, and the trace
    /// replays to the live events byte for byte.
    @Test func dataExportOverTheLAN() throws {
        let udp = freePort()
        try writeValues(#"{"spo2": 96, "pulse_rate": 88, "fio2": 50, "vt": 400, "pplat": 33, "peep": 10, "ppeak": 36, "rr": 20, "map": 71, "heart_rate": 93}"#)
        let ready = path("lan.ready")
        let peer = try RunningProcess(["python3", Paths.repository.appendingPathComponent("Tests/Peers/intellivue_peer.py").path, "--udp", "\(udp)",
                                       "--ready", ready, "--values", path("values.json"), "--noise", "--pull-after", "20", "--pull-for", "4"],
                                      directory: directory, name: "peer")
        defer { peer.kill() }
        #expect(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: ready) || peer.poll() != nil }, "\(peer.stderr)")
        try """
            patient: {sex: female, height_cm: 165}
            control: {socket: \(path("alveo.sock"))}
            devices:
              - {id: mon, poll_interval_s: 0.5, transport: {kind: lan, protocol: intellivue, host: 127.0.0.1, port: \(udp)}}
            rules:
              technical.device_silent: {timeout_s: 3}
            """.write(toFile: path("lan.yaml"), atomically: true, encoding: .utf8)
        let check = try ChildProcess.run([Paths.alveo, "check-config", path("lan.yaml")])
        #expect(check.status == 0 && check.stdout.contains("device mon: on the LAN, udp://127.0.0.1:\(udp) (UDP), intellivue")
                && !check.stdout.contains("warning") && !check.stdout.contains("note:"), "\(check.stdout)\(check.stderr)")
        let traces = path("lan-traces")
        let agent = try RunningProcess([Paths.alveo, "run", "--config", path("lan.yaml"), "--record", traces], directory: directory, name: "alveo")
        defer { agent.kill() }
        #expect(waitUntil(timeout: 40) { hasEvent(agent, "lpv.plateau_high", "start") }, "stdout: \(agent.stdout)\nstderr: \(agent.stderr)\npeer: \(peer.stderr)")
        #expect(peer.stderr.contains("association request -> accepted") && agent.stderr.contains("link: associated, polling numerics"), "\(agent.stderr)")
        let status = try ChildProcess.run([Paths.alveo, "status", "--socket", path("alveo.sock")])
        #expect(status.stdout.contains("; link associated, polling numerics") && status.stdout.contains("MAP 71 mmHg (arterial line"),
                "\(status.stdout)\n\(status.stderr)")
        #expect(waitUntil(timeout: 30) { agent.stderr.contains("rejected") }, "the garbage and cut datagrams are counted: \(agent.stderr)")
        // The network cable is pulled after 20 replies: silence, a new association, data again.
        #expect(waitUntil(timeout: 60) { hasEvent(agent, "technical.device_silent", "start") }, "\(agent.stdout)\n\(peer.stderr)")
        let silent = agent.stdout.split(separator: "\n").count
        #expect(waitUntil(timeout: 60) { hasEvent(agent, "technical.device_silent", "end", after: silent - 1) }, "\(agent.stdout)\n\(agent.stderr)\n\(peer.stderr)")
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 15) == 0, "\(agent.stderr)")

        let trace = try LiveVersusReplay.trace(in: traces)
        let first = try LiveVersusReplay.replayTwice(trace)
        #expect(first.stdout == LiveVersusReplay.withoutWallTime(agent.stdout), "replay equals live")
        let info = try ChildProcess.run([Paths.alveo, "trace", "info", trace])
        #expect(info.stdout.contains("mon: intellivue on the LAN, udp://127.0.0.1:\(udp)"), "\(info.stdout)")
        let export = try ChildProcess.run([Paths.alveo, "trace", "export", "--csv", trace])
        #expect(export.stdout.contains(",mon,pplat,33\n") && export.stdout.contains(",mon,map,71\n") && export.stdout.contains(",mon,heart_rate,93\n"),
                "\(export.stdout.prefix(2000))")
        // Every value in the trace is one the peer sent (the cut reply gave none).
        for line in export.stdout.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: ",").map(String.init)
            guard fields.count == 4, let value = Double(fields[3]) else { continue }
            let sent: [String: Double] = ["spo2": 96, "pulse_rate": 88, "fio2": 50, "vt": 400, "pplat": 33, "peep": 10, "ppeak": 36, "rr": 20, "map": 71, "heart_rate": 93]
            #expect(sent[fields[2]].map { abs($0 - value) < 0.01 } == true, "\(line)")
        }
    }

    /// Linked results, pressures in mbar and volumes in litres, a value with no value (NaN), an abort
    /// from the monitor, and demo data, which is reported and never charted.
    @Test func linkedRepliesUnitsAbortAndDemoData() throws {
        let line = try ptyPair()
        defer { line.socat.kill() }
        try writeValues(#"{"spo2": 95, "pulse_rate": 70, "fio2": null, "vt": 450, "pplat": 25, "peep": 8, "ppeak": 30, "rr": 18}"#)
        var peer = try startPeer(port: line.device, ["--linked", "--pressure-unit", "mbar", "--volume-unit", "l", "--abort-after", "6"])
        let traces = path("traces")
        let agent = try startAgent(port: line.agent, record: traces)
        defer { agent.kill() }
        #expect(waitUntil(timeout: 40) { agent.stderr.components(separatedBy: "link: associated, polling numerics").count >= 3 },
                "associated, aborted by the monitor, associated again: \(agent.stderr)\npeer: \(peer.stderr)")
        #expect(agent.stderr.contains("link: associating (the monitor aborted the association)"), "\(agent.stderr)")
        peer.kill()
        _ = peer.waitForExit(timeout: 10)
        // The same monitor in demo mode: its values are refused with a technical alarm.
        peer = try startPeer(port: line.device, ["--demo"], name: "peer2")
        defer { peer.kill() }
        #expect(waitUntil(timeout: 40) { hasEvent(agent, "technical.value_rejected", "start") }, "\(agent.stdout)\n\(agent.stderr)\n\(peer.stderr)")
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 15) == 0)
        let trace = try LiveVersusReplay.trace(in: traces)
        let export = try ChildProcess.run([Paths.alveo, "trace", "export", "--csv", trace])
        let rows = export.stdout.split(separator: "\n")
        // 25 cmH2O sent as 24.5 mbar comes back as 25.0 (rounding of the peer's mbar to its decimals aside).
        // (A refused value, the demo data, is exported as 1e999.)
        let pplat = rows.filter { $0.contains(",mon,pplat,") && !$0.hasSuffix(",1e999") }.compactMap { Double($0.split(separator: ",").last ?? "") }
        #expect(!pplat.isEmpty && pplat.allSatisfy { abs($0 - 25) < 0.1 }, "\(pplat.prefix(5))")
        #expect(rows.contains { $0.hasSuffix(",mon,vt,450") }, "0.45 l read as 450 ml")
        #expect(!rows.contains { $0.contains(",mon,fio2,") && !$0.hasSuffix(",") }, "no FiO2 number from a NaN")
        let replay = try ChildProcess.run([Paths.alveo, "replay", trace])
        #expect(replay.stdout == LiveVersusReplay.withoutWallTime(agent.stdout))
    }

    /// `alveo serial-check --protocol intellivue` holds the association for a commissioning engineer and
    /// prints what the monitor gives, without the rules.
    @Test func serialCheckHoldsTheConversation() throws {
        let line = try ptyPair()
        defer { line.socat.kill() }
        try writeValues(#"{"spo2": 93, "pulse_rate": 101, "fio2": null}"#)
        let peer = try startPeer(port: line.device, ["--noise"])
        defer { peer.kill() }
        let result = try ChildProcess.run([Paths.alveo, "serial-check", "--path", line.agent, "--baud", "115200", "--protocol", "intellivue",
                                           "--seconds", "5"], environment: ["LD_PRELOAD": try SerialPortTests.buildShim(in: directory)])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)\n\(peer.stderr)")
        #expect(result.stdout.contains("link: associating\n") && result.stdout.contains("link: associated, polling numerics"), "\(result.stdout)")
        #expect(result.stdout.contains("spo2=93 %  pulse_rate=101 /min  fio2=(no value) %"), "\(result.stdout)")
        #expect(result.stdout.contains(": frame with a bad FCS"), "the peer's noise: \(result.stdout)")
        // A protocol that is not in the registry is refused before the port is touched.
        let unknown = try ChildProcess.run([Paths.alveo, "serial-check", "--path", line.agent, "--protocol", "hamilton"])
        #expect(unknown.status == 64 && unknown.stderr.contains("is not one of: pb840, medibus"), "\(unknown.stderr)")
    }

    /// `alveo simulate --serial intellivue=LINK` plays a monitor that `alveo run` reads.
    @Test func simulateServesAnIntelliVue() throws {
        var scenario = "t,source,parameter,value\n"
        for t in 0...300 { scenario += "\(t),oxi,spo2,\(t < 5 ? 95 : 80)\n\(t),oxi,pulse_rate,110\n" }
        try scenario.write(toFile: path("scenario.csv"), atomically: true, encoding: .utf8)
        let link = path("monitor")
        let simulator = try RunningProcess([Paths.alveo, "simulate", "--scenario", path("scenario.csv"), "--vent-port", "\(freePort())",
                                            "--oxi-link", path("rtu"), "--serial", "intellivue=\(link)"], directory: directory, name: "simulate")
        defer { simulator.kill() }
        #expect(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: link) }, "\(simulator.stderr)")
        let agent = try startAgent(port: link)
        defer { agent.kill() }
        #expect(waitUntil(timeout: 90) { hasEvent(agent, "oxygenation.spo2_low", "start") }, "\(agent.stdout)\n\(agent.stderr)")
        #expect(!hasEvent(agent, "technical.device_silent", "start"))
    }
}
