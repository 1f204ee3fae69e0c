import AlveoTestKit
import Foundation
import Testing

/// Maquet SERVO-i over the CIE end to end: `Tests/Peers/servo_peer.py`, an independent SERVO written
/// from the protocol document alone (not from Alveo's encoder), on one end of a socat pty pair, and
/// `alveo run` on the other through libserialport (with the tests' LD_PRELOAD shim), into alarms.
/// Parity none on the pty pair: a pseudo-terminal refuses even parity (a real SERVO line is 8E1).
@Suite(.serialized, .endToEnd, .ownThread) struct ServoEndToEndTests {
    let line: SerialDeviceTests
    var directory: URL { line.directory }

    init() throws {
        line = try SerialDeviceTests()
    }

    func startPeer(_ arguments: [String], port: String, values: String) throws -> RunningProcess {
        let ready = directory.appendingPathComponent("servo.ready").path
        let peer = try RunningProcess(["python3", Paths.repository.appendingPathComponent("Tests/Peers/servo_peer.py").path,
                                       "--port", port, "--baud", "9600", "--ready", ready, "--values", values] + arguments,
                                      directory: directory, name: "servo-peer")
        #expect(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: ready) || peer.poll() != nil }, "\(peer.stderr)")
        return peer
    }

    /// How many events of `rule` in `phase` the agent printed so far.
    func count(_ agent: RunningProcess, _ rule: String, _ phase: String) -> Int {
        agent.stdout.split(separator: "\n").filter { $0.contains("\"rule\":\"\(rule)\"") && $0.contains("\"phase\":\"\(phase)\"") }.count
    }

    func writeValues(_ path: String, pplat: Int) throws {
        try #"{"rr": 18, "vt": 420, "ppeak": 36, "pplat": \#(pplat), "peep": 8, "fio2": 50}"#.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Polled (`servo_cie`): identification, values into alarms (Pplat 32 → `lpv.plateau_high`, then
    /// 24 → back below 28: a high-priority alarm stays latched until acknowledged, so it is an update,
    /// not an end), noise counted, a pulled cable (silent, then back), recorded and replayed.
    @Test func polledBreathDataWithNoiseAPulledCableAndReplay() throws {
        let pty = try line.ptyPair()
        defer { pty.socat.kill() }
        let values = directory.appendingPathComponent("values.json").path
        try writeValues(values, pplat: 32)
        let peer = try startPeer(["--noise", "--gain-vt", "10", "--pull-after", "30", "--pull-for", "8"], port: pty.device, values: values)
        defer { peer.kill() }
        let traces = directory.appendingPathComponent("traces").path
        let agent = try line.startAgent(
            device: "{id: vent, poll_interval_s: 0.5, transport: {kind: serial, protocol: servo_cie, path: \(pty.agent), baud: 9600, parity: none}}",
            extra: ["--record", traces])
        defer { agent.kill() }
        #expect(waitUntil(timeout: 30) { line.hasEvent(agent, "lpv.plateau_high", "start") },
                "stdout: \(agent.stdout)\nstderr: \(agent.stderr)\npeer: \(peer.stderr)")
        #expect(agent.stderr.contains("the device identifies itself as Servo-i"), "\(agent.stderr)")
        #expect(agent.stderr.contains("link: polling breath data (RADAB)"), "\(agent.stderr)")
        try writeValues(values, pplat: 24)
        #expect(waitUntil(timeout: 20) { agent.stdout.contains("\"rule\":\"lpv.plateau_high\",\"phase\":\"update\"") && agent.stdout.contains("back at or below 28") },
                "\(agent.stdout)")
        #expect(agent.stdout.contains("lowering Vt from 420 ml"), "Vte read with the ventilator's gain of 10 (raw 42): \(agent.stdout)")
        // The peer's noise (a copy of a reply with a wrong checksum before every third) is counted.
        #expect(waitUntil(timeout: 20) { agent.stderr.contains("with a bad checksum") }, "\(agent.stderr)")
        // The cable pulled after 30 replies for 8 s: silent, then back.
        #expect(waitUntil(timeout: 40) { peer.stderr.contains("cable pulled") }, "\(peer.stderr)")
        let silentBefore = count(agent, "technical.device_silent", "start"), backBefore = count(agent, "technical.device_silent", "end")
        #expect(waitUntil(timeout: 20) { count(agent, "technical.device_silent", "start") > silentBefore }, "\(agent.stdout)\n\(peer.stderr)")
        #expect(waitUntil(timeout: 40) { count(agent, "technical.device_silent", "end") > backBefore },
                "\(agent.stdout)\n\(agent.stderr)\n\(peer.stderr)")
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 15) == 0, "\(agent.stderr)")
        #expect(agent.stderr.contains("rejected_frames="))

        let trace = try LiveVersusReplay.trace(in: traces)
        let first = try LiveVersusReplay.replayTwice(trace)
        #expect(first.stdout == LiveVersusReplay.withoutWallTime(agent.stdout), "the replayed events are the live ones")
        #expect(first.stderr.contains("vent: decoded "), "\(first.stderr)")
    }

    /// Streaming (`servo_cie_radc`): the real captured RADC stream first (its breath blocks hold 3
    /// channels, not the 6 Alveo defines, so they are rejected; its failing curve block too; it ends
    /// mid-block), then the peer's breath blocks; a standby (binary E0 11, then ER17 to RADC) and the
    /// stream back.
    @Test func radcStreamAfterTheRealCaptureWithAStandby() throws {
        let pty = try line.ptyPair()
        defer { pty.socat.kill() }
        let values = directory.appendingPathComponent("values.json").path
        try writeValues(values, pplat: 32)
        let capture = SerialDeviceTests.fixtures.appendingPathComponent("servo_cie_radc_stream_servoscreen.bin").path
        let peer = try startPeer(["--replay-fixture", capture, "--breath-s", "1", "--standby-after", "6"], port: pty.device, values: values)
        defer { peer.kill() }
        let traces = directory.appendingPathComponent("traces").path
        let agent = try line.startAgent(
            device: "{id: vent, transport: {kind: serial, protocol: servo_cie_radc, path: \(pty.agent), baud: 9600, parity: none}}",
            extra: ["--record", traces])
        defer { agent.kill() }
        #expect(waitUntil(timeout: 30) { line.hasEvent(agent, "lpv.plateau_high", "start") },
                "stdout: \(agent.stdout)\nstderr: \(agent.stderr)\npeer: \(peer.stderr)")
        #expect(agent.stderr.contains("RADC breath block of 3 values for the 6 channels defined"), "\(agent.stderr)")
        #expect(agent.stderr.contains("failed its checksum"), "\(agent.stderr)")
        #expect(waitUntil(timeout: 30) { agent.stderr.contains("ventilator in standby (ER17)") }, "\(agent.stderr)\n\(peer.stderr)")
        // In standby the ventilator sends no values: technical.device_silent is in force (a new alarm, or
        // the one of the start-up still within its 10 s offset), and ends only after the standby is over.
        let inStandby = agent.stdout.split(separator: "\n").count
        #expect(waitUntil(timeout: 30) {
            count(agent, "technical.device_silent", "start") > count(agent, "technical.device_silent", "end")
        }, "\(agent.stdout)")
        #expect(waitUntil(timeout: 60) {
            agent.stdout.split(separator: "\n").dropFirst(inStandby).contains { $0.contains("\"rule\":\"technical.device_silent\"") && $0.contains("\"phase\":\"end\"") }
                && peer.stderr.contains("standby over")
        }, "\(agent.stdout)\n\(agent.stderr)\n\(peer.stderr)")
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 15) == 0, "\(agent.stderr)")

        let trace = try LiveVersusReplay.trace(in: traces)
        let first = try LiveVersusReplay.replayTwice(trace)
        #expect(first.stdout == LiveVersusReplay.withoutWallTime(agent.stdout), "the replayed events are the live ones")
    }

    /// RADC against a peer that follows the manual strictly (§4.4: binary error 16 while no curve
    /// channel is defined): Alveo defines one with SDADC before RADC, and the breath data are recorded
    /// and replay to the live events.
    @Test func radcAgainstAPeerThatFollowsTheManualRecordsValues() throws {
        let pty = try line.ptyPair()
        defer { pty.socat.kill() }
        let values = directory.appendingPathComponent("values.json").path
        try writeValues(values, pplat: 32)
        let peer = try startPeer(["--strict", "--breath-s", "1"], port: pty.device, values: values)
        defer { peer.kill() }
        let traces = directory.appendingPathComponent("traces").path
        let agent = try line.startAgent(
            device: "{id: vent, transport: {kind: serial, protocol: servo_cie_radc, path: \(pty.agent), baud: 9600, parity: none}}",
            extra: ["--record", traces])
        defer { agent.kill() }
        #expect(waitUntil(timeout: 30) { line.hasEvent(agent, "lpv.plateau_high", "start") },
                "stdout: \(agent.stdout)\nstderr: \(agent.stderr)\npeer: \(peer.stderr)")
        #expect(peer.stderr.contains("SDADC [100] -> *"), "\(peer.stderr)")
        #expect(agent.stderr.contains("link: streaming breath data (RADC)"), "\(agent.stderr)")
        #expect(!peer.stderr.contains("binary error E0 10"), "RADC is never sent before the curve channel: \(peer.stderr)")
        #expect(!agent.stderr.contains("refuses"), "\(agent.stderr)")
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 15) == 0, "\(agent.stderr)")

        let trace = try LiveVersusReplay.trace(in: traces)
        let first = try LiveVersusReplay.replayTwice(trace)
        #expect(first.stdout == LiveVersusReplay.withoutWallTime(agent.stdout), "the replayed events are the live ones")
        #expect(first.stdout.contains("\"rule\":\"lpv.plateau_high\""), "\(first.stdout)")
    }

    /// A ventilator that refuses every RADC (binary error 16 although the channels are defined): Alveo
    /// asks again with pauses doubling from 1 s (never in a tight loop), and raises
    /// `technical.device_refused` with the ventilator's answer in its text.
    @Test func aVentilatorThatAlwaysRefusesRADCIsAskedWithGrowingPausesAndAlarmed() throws {
        let pty = try line.ptyPair()
        defer { pty.socat.kill() }
        let values = directory.appendingPathComponent("values.json").path
        try writeValues(values, pplat: 32)
        let peer = try startPeer(["--refuse-radc"], port: pty.device, values: values)
        defer { peer.kill() }
        let agent = try line.startAgent(
            device: "{id: vent, transport: {kind: serial, protocol: servo_cie_radc, path: \(pty.agent), baud: 9600, parity: none}}",
            journal: true)
        defer { agent.kill() }
        #expect(waitUntil(timeout: 30) { line.hasEvent(agent, "technical.device_refused", "start", source: "vent") },
                "stdout: \(agent.stdout)\nstderr: \(agent.stderr)\npeer: \(peer.stderr)")
        let start = agent.stdout.split(separator: "\n").first { $0.contains("\"rule\":\"technical.device_refused\"") } ?? ""
        #expect(start.contains("SERVO answered RADC with error 16 (CIE not configured: no curve channels defined)"), "\(start)")
        #expect(agent.stderr.contains("the device refuses to send data: SERVO answered RADC with error 16"), "\(agent.stderr)")
        // The peer's clock: when it heard each RADC. Five attempts take at least 1 + 2 + 4 + 8 s of pauses.
        func attempts() -> [Double] {
            peer.stderr.split(separator: "\n").compactMap { line -> Double? in
                guard let range = line.range(of: "RADC attempt #"), let at = line.range(of: " at ", range: range.upperBound..<line.endIndex) else { return nil }
                return Double(line[at.upperBound...].split(separator: " ").first ?? "")
            }
        }
        #expect(waitUntil(timeout: 60) { attempts().count >= 5 }, "\(peer.stderr)")
        let heard = attempts()
        let first = try #require(heard.first)
        #expect(heard.filter { $0 - first < 10 }.count <= 5, "at most 5 RADC in the first 10 s (a tight loop sent 37 in 9 s): \(heard)")
        #expect(heard.count >= 5 && heard[4] - first >= 13, "pauses of 1, 2, 4 and 8 s between the first five: \(heard)")
        #expect(!line.hasEvent(agent, "technical.device_refused", "end"), "\(agent.stdout)")
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 15) == 0, "\(agent.stderr)")
    }

    /// `alveo simulate --serial servo_cie=LINK` and `servo_cie_radc=LINK` serve SERVOs that `alveo run` reads.
    @Test func simulateServesBothModes() throws {
        let scenario = directory.appendingPathComponent("scenario.csv").path
        var text = "t,source,parameter,value\n"
        for t in 0...30 { text += "\(t),vent,fio2,40\n\(t),vent,vt,420\n\(t),vent,peep,8\n\(t),vent,pplat,32\n\(t),vent,rr,18\n" }
        try text.write(toFile: scenario, atomically: true, encoding: .utf8)
        let polled = directory.appendingPathComponent("servo").path, radc = directory.appendingPathComponent("servo-radc").path
        let simulator = try RunningProcess([Paths.alveo, "simulate", "--scenario", scenario, "--vent-port", "\(freePort())",
                                            "--oxi-link", directory.appendingPathComponent("oxi").path,
                                            "--serial", "servo_cie=\(polled)", "--serial", "servo_cie_radc=\(radc)"],
                                           directory: directory, name: "simulate")
        defer { simulator.kill() }
        #expect(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: polled) && FileManager.default.fileExists(atPath: radc) },
                "\(simulator.stderr)")
        // One agent per mode: each SERVO alone must bring the plateau alarm.
        for (name, path) in [("servo_cie", polled), ("servo_cie_radc", radc)] {
            let config = directory.appendingPathComponent("bed-\(name).yaml").path
            try """
                patient: {sex: male, height_cm: 170}
                devices:
                  - {id: vent, poll_interval_s: 0.5, transport: {kind: serial, protocol: \(name), path: \(path)}}
                """.write(toFile: config, atomically: true, encoding: .utf8)
            let agent = try RunningProcess([Paths.alveo, "run", "--config", config], directory: directory, name: "alveo-\(name)",
                                           environment: ["LD_PRELOAD": try SerialPortTests.buildShim(in: directory)])
            defer { agent.kill() }
            #expect(waitUntil(timeout: 30) { line.hasEvent(agent, "lpv.plateau_high", "start") }, "\(name): stdout: \(agent.stdout)\nstderr: \(agent.stderr)")
            #expect(agent.stderr.contains("the device identifies itself as Servo-i"), "\(agent.stderr)")
            #expect(!line.hasEvent(agent, "technical.device_silent", "start"))
            agent.signal(SIGTERM)
            #expect(agent.waitForExit(timeout: 15) == 0)
        }
    }
}
