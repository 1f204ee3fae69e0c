import AlveoTestKit
import AlveoTrace
import Foundation
import Testing

/// Serial device protocols end to end: a pyserial peer built from the shared fixtures on one end of a
/// socat pty pair, `alveo run` on the other through libserialport (with the test-only LD_PRELOAD shim),
/// into alarm events.
@Suite(.serialized, .endToEnd, .ownThread) struct SerialDeviceTests {
    let directory: URL
    static let fixtures = Paths.repository.appendingPathComponent("Tests/AlveoDevicesTests/Fixtures")

    init() throws {
        directory = try Paths.temporaryDirectory()
    }

    func fixture(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: Self.fixtures.appendingPathComponent(name)))
    }

    struct Line {
        var device: String
        var agent: String
        var socat: RunningProcess
    }

    func ptyPair() throws -> Line {
        let a = directory.appendingPathComponent("ttyDEV").path, b = directory.appendingPathComponent("ttyALVEO").path
        let socat = try RunningProcess(["socat", "pty,raw,echo=0,link=\(a)", "pty,raw,echo=0,link=\(b)"], directory: directory, name: "socat")
        #expect(waitUntil(timeout: 15) { FileManager.default.fileExists(atPath: a) && FileManager.default.fileExists(atPath: b) })
        return Line(device: a, agent: b, socat: socat)
    }

    func startPeer(_ arguments: [String], port: String, baud: Int, name: String = "peer") throws -> RunningProcess {
        let ready = directory.appendingPathComponent("\(name).ready").path
        let peer = try RunningProcess(["python3", Paths.repository.appendingPathComponent("Tests/Peers/serial_device.py").path,
                                       "--port", port, "--baud", "\(baud)", "--ready", ready] + arguments, directory: directory, name: name)
        #expect(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: ready) || peer.poll() != nil }, "\(peer.stderr)")
        return peer
    }

    /// `alveo run` with `device` as its one device; `journal`: with an alarm journal (the agent's own
    /// alarms, `technical.device_refused` among them, need one).
    func startAgent(device: String, extra: [String] = [], journal: Bool = false) throws -> RunningProcess {
        let config = directory.appendingPathComponent("bed.yaml").path
        try """
            patient: {sex: male, height_cm: 170}
            devices:
              - \(device)
            rules:
              technical.device_silent: {timeout_s: 2}
            """.appending(journal ? "\noutputs: {journal: {directory: journal}}\n" : "").write(toFile: config, atomically: true, encoding: .utf8)
        let shim = try SerialPortTests.buildShim(in: directory)
        return try RunningProcess([Paths.alveo, "run", "--config", config] + extra, directory: directory, name: "alveo",
                                  environment: ["LD_PRELOAD": shim])
    }

    func hasEvent(_ agent: RunningProcess, _ rule: String, _ phase: String, source: String? = nil, parameter: String? = nil) -> Bool {
        agent.stdout.split(separator: "\n").contains { line in
            line.contains("\"rule\":\"\(rule)\"") && line.contains("\"phase\":\"\(phase)\"")
                && (source == nil || line.contains("\"source\":\"\(source!)\"")) && (parameter == nil || line.contains("\"parameter\":\"\(parameter!)\""))
        }
    }

    @Test func pb840RepliesWithNoiseAndATruncatedReplyBecomeAlarms() throws {
        let line = try ptyPair()
        defer { line.socat.kill() }
        let peer = try startPeer(["pb840", Self.fixtures.appendingPathComponent("pb840_miscf_mdpnp_2011.bin").path, "--noise"],
                                 port: line.device, baud: 9600)
        defer { peer.kill() }
        let agent = try startAgent(device: "{id: vent, poll_interval_s: 0.5, transport: {kind: serial, protocol: pb840, path: \(line.agent), baud: 9600}}")
        defer { agent.kill() }
        // The 2011 sample's delivered O2 of 20 % is impossible: the core rejects it and says so.
        #expect(waitUntil(timeout: 30) { hasEvent(agent, "technical.value_rejected", "start", source: "vent", parameter: "fio2") },
                "stdout: \(agent.stdout)\nstderr: \(agent.stderr)")
        #expect(waitUntil(timeout: 10) { agent.stderr.contains("truncated MISCF") }, "the cut reply is rejected with its reason")
        #expect(!hasEvent(agent, "technical.device_silent", "start"), "good replies keep flowing between the bad ones")
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 15) == 0)
        #expect(agent.stderr.contains("rejected_frames="))
    }

    @Test func masimoStreamThenUnpluggedThenBack() throws {
        let line = try ptyPair()
        defer { line.socat.kill() }
        let probeOff = directory.appendingPathComponent("off.txt").path
        try "01/01/20 00:00:00 SN=1 SPO2=---% BPM=--- PI=--.--% ALARM=0000 EXC=000820\r\n".write(toFile: probeOff, atomically: true, encoding: .utf8)
        var peer = try startPeer(["stream", probeOff, "--noise", "--stop-after", "20"], port: line.device, baud: 9600)
        let agent = try startAgent(device: "{id: oxi, transport: {kind: serial, protocol: masimo_ascii1, path: \(line.agent), baud: 9600}}")
        defer { agent.kill() }
        #expect(waitUntil(timeout: 30) { hasEvent(agent, "technical.sensor_off", "start", source: "oxi") },
                "stdout: \(agent.stdout)\nstderr: \(agent.stderr)")
        // The peer stops mid-stream: silence, then a real line brings the data back.
        #expect(waitUntil(timeout: 30) { hasEvent(agent, "technical.device_silent", "start", source: "oxi") }, "\(agent.stderr)")
        _ = peer.waitForExit(timeout: 10)
        peer = try startPeer(["stream", Self.fixtures.appendingPathComponent("masimo_rad8_ascii1_yahnatan.txt").path], port: line.device,
                             baud: 9600, name: "peer2")
        defer { peer.kill() }
        #expect(waitUntil(timeout: 30) {
            hasEvent(agent, "technical.device_silent", "end", source: "oxi") && hasEvent(agent, "technical.sensor_off", "end", source: "oxi")
        }, "\(agent.stdout)")
    }

    @Test func noninPacketsWithBadChecksumsStillDecode() throws {
        let line = try ptyPair()
        defer { line.socat.kill() }
        // SpO2 97 and HR 72 give no alarm: make the probe "disconnected" in the first frame instead.
        var packet = try Data(contentsOf: Self.fixtures.appendingPathComponent("nonin_df2_packet_pufferfish.bin"))
        packet[1] |= 0x40
        packet[4] = UInt8(truncatingIfNeeded: Int(packet[0]) + Int(packet[1]) + Int(packet[2]) + Int(packet[3]))
        let file = directory.appendingPathComponent("nonin.bin")
        try packet.write(to: file)
        let peer = try startPeer(["stream", file.path, "--noise", "--interval", "0.3"], port: line.device, baud: 9600)
        defer { peer.kill() }
        let agent = try startAgent(device: "{id: oxi, transport: {kind: serial, protocol: nonin_df2, path: \(line.agent), baud: 9600}}")
        defer { agent.kill() }
        #expect(waitUntil(timeout: 30) { hasEvent(agent, "technical.sensor_off", "start", source: "oxi") },
                "stdout: \(agent.stdout)\nstderr: \(agent.stderr)")
        #expect(waitUntil(timeout: 10) { agent.stderr.contains("rejected") }, "corrupted copies are counted and logged")
    }

    /// A Nonin already streaming format 8 answers the format selection with NAK and its next frame in
    /// the same write (one read for Alveo): the NAK is its answer, so Alveo selects again 2 s later,
    /// three selections in all as devices/nonin/README.md says, decoding the frames meanwhile; the
    /// third is acknowledged.
    @Test func noninFormat8NAKFollowedByDataIsAskedAgain() throws {
        let line = try ptyPair()
        defer { line.socat.kill() }
        // STATUS with the sensor-disconnected bit: the frames decode to technical.sensor_off.
        let file = directory.appendingPathComponent("df8.bin")
        try Data([0x80 | 0x40 | 0x03, 0x7F, 127, 0x00]).write(to: file)
        let peer = try startPeer(["nonin-nak", file.path, "--naks", "2", "--interval", "0.5"], port: line.device, baud: 9600)
        defer { peer.kill() }
        let agent = try startAgent(device: "{id: oxi, transport: {kind: serial, protocol: nonin_df8, path: \(line.agent), baud: 9600}}")
        defer { agent.kill() }
        #expect(waitUntil(timeout: 30) { peer.stderr.contains("selection #3 of format 8") }, "peer: \(peer.stderr)\nagent: \(agent.stderr)")
        #expect(waitUntil(timeout: 30) { hasEvent(agent, "technical.sensor_off", "start", source: "oxi") },
                "the frames after a NAK are decoded: \(agent.stdout)\n\(agent.stderr)")
        let heard = peer.stderr.split(separator: "\n").filter { $0.hasPrefix("selection #") }
        #expect(heard.map { $0.hasSuffix("-> NAK") } == [true, true, false], "\(heard)")
        let times = heard.compactMap { line in line.range(of: " at ").flatMap { Double(line[$0.upperBound...].split(separator: " ").first ?? "") } }
        #expect(times.count == 3 && times[1] - times[0] >= 1.5 && times[2] - times[1] >= 1.5, "about 2 s apart: \(heard)")
        #expect(agent.stderr.contains("the oximeter refused data format 8 (NAK)"), "\(agent.stderr)")
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 15) == 0, "\(agent.stderr)")
        #expect(!peer.stderr.contains("selection #4"), "acknowledged: no fourth selection: \(peer.stderr)")
    }

    @Test func medibusHandshakeAndMeasuredData() throws {
        let line = try ptyPair()
        defer { line.socat.kill() }
        // SpO2 84 (below 85 %) from the ventilator's measured data: spo2_low after its delay.
        var response: [UInt8] = [0x01, 0x24] + Array("EB 84 E1 70 ".utf8)
        let sum = response.reduce(0) { ($0 + Int($1)) & 0xFF }
        response += Array(String(format: "%02X", sum).utf8) + [0x0D]
        let file = directory.appendingPathComponent("medibus.bin")
        try Data(response).write(to: file)
        let peer = try startPeer(["medibus", file.path], port: line.device, baud: 19200)
        defer { peer.kill() }
        let config = "{id: vent, poll_interval_s: 0.5, transport: {kind: serial, protocol: medibus, path: \(line.agent), baud: 19200, parity: none}}"
        let agent = try startAgent(device: config)
        defer { agent.kill() }
        #expect(waitUntil(timeout: 60) { hasEvent(agent, "oxygenation.spo2_low", "start") }, "stdout: \(agent.stdout)\nstderr: \(agent.stderr)")
    }

    @Test func simulateServesSerialDevicesThatRunReads() throws {
        let scenario = directory.appendingPathComponent("scenario.csv").path
        var text = "t,source,parameter,value\n"
        for t in 0...20 {
            text += "\(t),vent,fio2,40\n\(t),vent,vt,420\n\(t),vent,peep,8\n\(t),vent,pplat,32\n\(t),oxi,sensor,off\n"
        }
        try text.write(toFile: scenario, atomically: true, encoding: .utf8)
        let pb840 = directory.appendingPathComponent("pb840").path, masimo = directory.appendingPathComponent("masimo").path
        let simulator = try RunningProcess([Paths.alveo, "simulate", "--scenario", scenario, "--vent-port", "\(freePort())",
                                            "--oxi-link", directory.appendingPathComponent("oxi").path,
                                            "--serial", "pb840=\(pb840)", "--serial", "masimo_ascii1=\(masimo)"],
                                           directory: directory, name: "simulate")
        defer { simulator.kill() }
        #expect(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: pb840) && FileManager.default.fileExists(atPath: masimo) },
                "\(simulator.stderr)")
        let config = directory.appendingPathComponent("bed.yaml").path
        try """
            patient: {sex: male, height_cm: 170}
            devices:
              - {id: vent, poll_interval_s: 0.5, transport: {kind: serial, protocol: pb840, path: \(pb840), baud: 9600}}
              - {id: oxi, transport: {kind: serial, protocol: masimo_ascii1, path: \(masimo), baud: 9600}}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let agent = try RunningProcess([Paths.alveo, "run", "--config", config], directory: directory, name: "alveo",
                                       environment: ["LD_PRELOAD": try SerialPortTests.buildShim(in: directory)])
        defer { agent.kill() }
        #expect(waitUntil(timeout: 30) {
            hasEvent(agent, "lpv.plateau_high", "start") && hasEvent(agent, "technical.sensor_off", "start", source: "oxi")
        }, "stdout: \(agent.stdout)\nstderr: \(agent.stderr)")
        #expect(!hasEvent(agent, "technical.device_silent", "start"))
    }

    /// MEDIBUS, Masimo, Nonin format 2 and format 8 served by `alveo simulate` on pseudo-terminals and a
    /// Modbus RTU oximeter on its pty bridge, recorded live with a probe-off episode and then the
    /// simulator killed (every device silent); the trace replays to the same events.
    @Test func everySerialProtocolRecordedLiveReplaysToTheSameEvents() throws {
        let scenario = directory.appendingPathComponent("scenario.csv").path
        var text = "t,source,parameter,value\n"
        for t in 0...600 {
            text += "\(t),vent,fio2,40\n\(t),vent,vt,420\n\(t),vent,peep,8\n\(t),vent,pplat,32\n\(t),vent,rr,18\n"
            text += (8...15).contains(t) ? "\(t),oxi,sensor,off\n" : "\(t),oxi,spo2,95\n\(t),oxi,pulse_rate,80\n"
        }
        try text.write(toFile: scenario, atomically: true, encoding: .utf8)
        let link = { (name: String) in self.directory.appendingPathComponent(name).path }
        let simulator = try RunningProcess([Paths.alveo, "simulate", "--scenario", scenario, "--vent-port", "\(freePort())",
                                            "--oxi-link", link("rtu"), "--serial", "medibus=\(link("medibus"))",
                                            "--serial", "masimo_ascii1=\(link("masimo"))", "--serial", "nonin_df2=\(link("df2"))",
                                            "--serial", "nonin_df8=\(link("df8"))"], directory: directory, name: "simulate")
        defer { simulator.kill() }
        #expect(waitUntil(timeout: 30) { ["medibus", "masimo", "df2", "df8", "rtu"].allSatisfy { FileManager.default.fileExists(atPath: link($0)) } },
                "\(simulator.stderr)")
        let config = directory.appendingPathComponent("bed.yaml").path
        try """
            patient: {sex: male, height_cm: 170}
            devices:
              - {id: vent, poll_interval_s: 0.5, transport: {kind: serial, protocol: medibus, path: \(link("medibus")), baud: 19200}}
              - {id: masimo, transport: {kind: serial, protocol: masimo_ascii1, path: \(link("masimo")), baud: 9600}}
              - {id: df2, transport: {kind: serial, protocol: nonin_df2, path: \(link("df2")), baud: 9600}}
              - {id: df8, transport: {kind: serial, protocol: nonin_df8, path: \(link("df8")), baud: 9600}}
              - {id: rtu, profile: \(Paths.repository.path)/devices/alveo-gateway-v1/profile.yaml, poll_interval_s: 0.5,
                 transport: {kind: modbus_rtu, path: \(link("rtu")), baud: 19200}}
            rules:
              technical.device_silent: {timeout_s: 3}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let traces = directory.appendingPathComponent("traces").path
        let agent = try RunningProcess([Paths.alveo, "run", "--config", config, "--record", traces], directory: directory, name: "alveo",
                                       environment: ["LD_PRELOAD": try SerialPortTests.buildShim(in: directory)])
        defer { agent.kill() }
        // The probe-off episode (scenario 8-15 s) seen by every oximeter, then the devices go silent.
        #expect(waitUntil(timeout: 60) {
            ["masimo", "df2", "df8", "rtu"].allSatisfy { hasEvent(agent, "technical.sensor_off", "end", source: $0) }
                && hasEvent(agent, "lpv.plateau_high", "start")
        }, "stdout: \(agent.stdout)\nstderr: \(agent.stderr)\nsimulator: \(simulator.stderr)")
        simulator.signal(SIGKILL)
        #expect(waitUntil(timeout: 30) {
            ["vent", "masimo", "df2", "df8", "rtu"].allSatisfy { hasEvent(agent, "technical.device_silent", "start", source: $0) }
        }, "stdout: \(agent.stdout)")
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 15) == 0, "\(agent.stderr)")

        let trace = try LiveVersusReplay.trace(in: traces)
        let first = try LiveVersusReplay.replayTwice(trace)
        LiveVersusReplay.expectSame(live: agent.stdout, replay: first.stdout, tolerance: 1.0)
        // The trace holds the deliveries in the order the core took them, with their times: the
        // replayed events are the live ones, byte for byte.
        #expect(first.stdout == LiveVersusReplay.withoutWallTime(agent.stdout))
        for device in ["vent", "masimo", "df2", "df8", "rtu"] {
            #expect(first.stderr.contains("\(device): decoded "), "\(first.stderr)")
        }
    }

    @Test func runRecordsEveryByteAndTheConfiguration() throws {
        let line = try ptyPair()
        defer { line.socat.kill() }
        // The 2011 sample's 20 % O2 is rejected as impossible: an alarm both live and in replay.
        let peer = try startPeer(["pb840", Self.fixtures.appendingPathComponent("pb840_miscf_mdpnp_2011.bin").path],
                                 port: line.device, baud: 9600)
        defer { peer.kill() }
        let traces = directory.appendingPathComponent("traces").path
        let agent = try startAgent(device: "{id: vent, poll_interval_s: 0.3, transport: {kind: serial, protocol: pb840, path: \(line.agent), baud: 9600}}",
                                   extra: ["--record", traces])
        defer { agent.kill() }
        func records() -> [TraceRecord] {
            guard let name = try? FileManager.default.contentsOfDirectory(atPath: traces).first(where: { $0.hasSuffix(".alvtrace") }),
                  let data = FileManager.default.contents(atPath: traces + "/" + name) else { return [] }
            return RawTrace.decode(Array(data)).records
        }
        #expect(waitUntil(timeout: 30) { records().filter { $0.kind == .received }.reduce(0) { $0 + $1.payload.count } >= 2 * 1244 },
                "\(agent.stderr)")
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 15) == 0)
        let all = records()
        #expect(all.first?.kind == .config)
        let configText = String(decoding: all.first?.payload ?? [], as: UTF8.self)
        #expect(configText.contains("protocol: pb840"))
        #expect(all.contains { $0.kind == .sent && $0.device == "vent" && $0.payload == Array("SNDF\r".utf8) })
        let received = all.filter { $0.kind == .received }.flatMap(\.payload)
        let reply = try fixture("pb840_miscf_mdpnp_2011.bin")
        #expect(Array(received.prefix(reply.count)) == reply, "the device's bytes, exactly")
        // In time order per source; across sources (the device's thread and the agent's tick) a record
        // may step back by the moment between stamping and taking the trace's lock (docs/trace-format.md):
        // under load that is milliseconds, never a second.
        for device in Set(all.map(\.device)) {
            let own = all.filter { $0.device == device }
            #expect(zip(own, own.dropFirst()).allSatisfy { $0.monotonic <= $1.monotonic }, "records of '\(device)' in time order")
        }
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.monotonic <= $1.monotonic + 1 }, "no step back of a second")

        // Replaying the trace gives the live run's alarms, twice byte-identically, from the trace alone.
        let trace = try #require(try FileManager.default.contentsOfDirectory(atPath: traces).first { $0.hasSuffix(".alvtrace") })
        let tracePath = traces + "/" + trace
        let first = try LiveVersusReplay.replayTwice(tracePath)
        #expect(!first.stdout.isEmpty)
        func starts(_ output: String) -> [String] {
            output.split(separator: "\n").compactMap { line -> String? in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      object["phase"] as? String == "start" else { return nil }
                return "\(object["rule"] ?? "")/\(object["source"] ?? "")/\(object["parameter"] ?? "")"
            }
        }
        #expect(starts(first.stdout) == starts(agent.stdout), "live: \(agent.stdout)\nreplay: \(first.stdout)")

        // The trace exported as a scenario CSV replays to the same alarm starts.
        let export = try ChildProcess.run([Paths.alveo, "trace", "export", "--csv", tracePath])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(export.stdout.contains(",vent,fio2,20\n"))
        #expect(export.stdout.contains(",vent,vt,378\n"))
        let csv = directory.appendingPathComponent("exported.csv").path
        try export.stdout.write(toFile: csv, atomically: true, encoding: .utf8)
        let patient = directory.appendingPathComponent("patient.yaml").path
        try "patient: {sex: male, height_cm: 170}\nrules:\n  technical.device_silent: {timeout_s: 2}\n".write(toFile: patient, atomically: true, encoding: .utf8)
        let fromCSV = try ChildProcess.run([Paths.alveo, "replay", "--config", patient, csv])
        #expect(fromCSV.status == 0, "\(fromCSV.stderr)")
        #expect(starts(fromCSV.stdout).contains("technical.value_rejected/vent/fio2"))

        // A trace cut mid-record replays up to the cut, with a warning.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: tracePath))
        let cut = directory.appendingPathComponent("cut.alvtrace")
        try bytes.prefix(bytes.count - 3).write(to: cut)
        let partial = try ChildProcess.run([Paths.alveo, "replay", cut.path])
        #expect(partial.status == 0)
        #expect(partial.stderr.contains("warning: \(cut.path): torn record"), "\(partial.stderr)")
    }
}
