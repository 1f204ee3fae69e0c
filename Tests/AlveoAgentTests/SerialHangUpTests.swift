import AlveoTestKit
import Foundation
import Testing

/// The line goes away and comes back, for every serial protocol (PB840, MEDIBUS, Masimo, Nonin 2 and
/// 8, Modbus RTU): `alveo run` talks to a real peer over a socat pty pair, the pair is killed while
/// the device is sending (the adapter pulled), the agent must not spin while the line is gone (its CPU
/// time is measured from /proc) and must raise `technical.device_silent`; a new pair and peer on the
/// same paths (the adapter plugged back) must end it. Before the fix, Masimo and Nonin read 0 bytes
/// from the hung-up line forever, at 0.65-0.74 s of CPU per second, and were never reopened.
@Suite(.serialized, .endToEnd, .ownThread) struct SerialHangUpTests {
    let directory: URL
    static let fixtures = Paths.repository.appendingPathComponent("Tests/AlveoDevicesTests/Fixtures")

    init() throws {
        directory = try Paths.temporaryDirectory()
    }

    struct Case: CustomStringConvertible, Sendable {
        var name: String
        /// The device entry of the configuration, with PATH for the agent's end of the line.
        var device: String
        /// The peer's command line, with PORT for the device's end of the line.
        var peer: [String]
        var description: String { name }
    }

    static func file(_ name: String, _ bytes: [UInt8]) -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("alveo-hangup-\(name)")
        try? Data(bytes).write(to: url)
        return url.path
    }

    static let cases: [Case] = {
        var medibus: [UInt8] = [0x01, 0x24] + Array("EB 97 E1 70 ".utf8)
        let sum = medibus.reduce(0) { ($0 + Int($1)) & 0xFF }
        medibus += Array(String(format: "%02X", sum).utf8) + [0x0D]
        let serial = ["python3", Paths.repository.appendingPathComponent("Tests/Peers/serial_device.py").path, "--port", "PORT"]
        return [
            Case(name: "pb840", device: "{id: dev, poll_interval_s: 0.5, transport: {kind: serial, protocol: pb840, path: PATH, baud: 9600}}",
                 peer: serial + ["--baud", "9600", "pb840", fixtures.appendingPathComponent("pb840_miscf_rta_2023-04-04.bin").path]),
            Case(name: "medibus", device: "{id: dev, poll_interval_s: 0.5, transport: {kind: serial, protocol: medibus, path: PATH, baud: 19200}}",
                 peer: serial + ["--baud", "19200", "medibus", file("medibus.bin", medibus)]),
            Case(name: "masimo_ascii1", device: "{id: dev, transport: {kind: serial, protocol: masimo_ascii1, path: PATH, baud: 9600}}",
                 peer: serial + ["--baud", "9600", "stream", fixtures.appendingPathComponent("masimo_rad8_ascii1_yahnatan.txt").path,
                                 "--interval", "0.3"]),
            Case(name: "nonin_df2", device: "{id: dev, transport: {kind: serial, protocol: nonin_df2, path: PATH, baud: 9600}}",
                 peer: serial + ["--baud", "9600", "stream", fixtures.appendingPathComponent("nonin_df2_packet_pufferfish.bin").path,
                                 "--interval", "0.3"]),
            Case(name: "nonin_df8", device: "{id: dev, transport: {kind: serial, protocol: nonin_df8, path: PATH, baud: 9600}}",
                 peer: serial + ["--baud", "9600", "stream", file("df8.bin", [0x80, 72, 97, 0x00]), "--interval", "0.3"]),
            Case(name: "modbus_rtu",
                 device: "{id: dev, profile: \(LiveModbusTests.gatewayProfile), poll_interval_s: 0.5, transport: {kind: modbus_rtu, path: PATH, baud: 19200, response_timeout_ms: 300}}",
                 peer: ["python3", LiveModbusTests.peerScript, "--rtu", "PORT", "--ir", LiveModbusTests.normalRegisters]),
        ]
    }()

    func startPeer(_ testCase: Case, port: String, name: String) throws -> RunningProcess {
        let ready = directory.appendingPathComponent("\(name).ready").path
        let peer = try RunningProcess(testCase.peer.map { $0 == "PORT" ? port : $0 } + ["--ready", ready], directory: directory, name: name)
        #expect(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: ready) || peer.poll() != nil }, "\(peer.stderr)")
        return peer
    }

    /// CPU seconds (user + system) the process has used, from /proc/PID/stat.
    static func cpuSeconds(_ pid: pid_t) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After "pid (comm)": state is field 3, utime 14, stime 15 (1-based) → 11 and 12 here.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func events(_ agent: RunningProcess, _ rule: String, _ phase: String) -> Int {
        agent.stdout.split(separator: "\n").filter { $0.contains("\"rule\":\"\(rule)\"") && $0.contains("\"phase\":\"\(phase)\"") }.count
    }

    @Test(arguments: cases)
    func unpluggedLineIsReopenedWithoutSpinning(_ testCase: Case) throws {
        let deviceEnd = directory.appendingPathComponent("ttyDEV").path, agentEnd = directory.appendingPathComponent("ttyALVEO").path
        func plugIn(_ name: String) throws -> RunningProcess {
            let socat = try RunningProcess(["socat", "pty,raw,echo=0,link=\(deviceEnd)", "pty,raw,echo=0,link=\(agentEnd)"],
                                           directory: directory, name: "socat-\(name)")
            #expect(waitUntil(timeout: 15) { FileManager.default.fileExists(atPath: deviceEnd) && FileManager.default.fileExists(atPath: agentEnd) })
            return socat
        }
        func unplug(_ socat: RunningProcess) {
            socat.kill()
            // A pulled USB adapter takes its device node with it; socat killed leaves its links.
            try? FileManager.default.removeItem(atPath: deviceEnd)
            try? FileManager.default.removeItem(atPath: agentEnd)
        }
        var socat = try plugIn("1")
        defer { socat.kill() }
        var peer = try startPeer(testCase, port: deviceEnd, name: "peer1")
        defer { peer.kill() }
        let config = directory.appendingPathComponent("bed.yaml").path
        try """
            patient: {sex: male, height_cm: 170}
            devices:
              - \(testCase.device.replacingOccurrences(of: "PATH", with: agentEnd))
            rules:
              technical.device_silent: {timeout_s: 5}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let agent = try RunningProcess([Paths.alveo, "run", "--config", config], directory: directory, name: "alveo",
                                       environment: ["LD_PRELOAD": try SerialPortTests.buildShim(in: directory)])
        defer { agent.kill() }
        // Data flows: the device is not silent for a while (well past the 2 s timeout).
        #expect(waitUntil(timeout: 30) { agent.stderr.contains("opened") || agent.stderr.contains("connected") }, "\(agent.stderr)")
        #expect(!waitUntil(timeout: 8) { events(agent, "technical.device_silent", "start") > 0 }, "\(agent.stdout)\n\(agent.stderr)")

        // Pull the adapter while the device is sending.
        unplug(socat)
        #expect(waitUntil(timeout: 15) { events(agent, "technical.device_silent", "start") > 0 }, "\(agent.stdout)\n\(agent.stderr)")
        _ = peer.waitForExit(timeout: 5)
        peer.kill()
        // While the line is gone the agent waits with backoff: under 1 % of a core over 10 s (the
        // spinning poller used 100 %; /proc counts in 10 ms ticks).
        let before = try #require(Self.cpuSeconds(agent.pid))
        let start = Date()
        #expect(!waitUntil(timeout: 10) { agent.poll() != nil }, "the agent must keep running: \(agent.stderr)")
        let after = try #require(Self.cpuSeconds(agent.pid))
        let share = (after - before) / Date().timeIntervalSince(start)
        print("\(testCase.name): agent CPU while the line was gone: \(String(format: "%.2f", share * 100)) % of a core")
        #expect(share < 0.01, "\(testCase.name): agent used \(share * 100) % of a core while the line was gone\n\(agent.stderr)")

        // Plug it back in (same paths, a new pty): the line is reopened and data flows again.
        socat = try plugIn("2")
        peer = try startPeer(testCase, port: deviceEnd, name: "peer2")
        #expect(waitUntil(timeout: 30) { events(agent, "technical.device_silent", "end") > 0 }, "\(agent.stdout)\n\(agent.stderr)")
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 15) == 0, "\(agent.stderr)")
        if testCase.name != "modbus_rtu" {
            #expect(agent.stderr.components(separatedBy: "opened").count - 1 >= 2, "reopened after the hang-up: \(agent.stderr)")
        }
    }
}
