import AlveoTestKit
import Foundation
import Testing

/// The critical defect, live: one huge number from a device killed `alveo run` (SIGILL, exit 132)
/// while it built the `technical.value_rejected` text, and again at every poll under a supervisor.
/// Here a real Modbus server (pymodbus) publishes a float32 of 3.4e38 (CDAB) as the plateau, and real
/// serial peers on socat ptys send a Masimo SpO2 of 20 digits and a MEDIBUS plateau of 9E99 with a
/// valid checksum: the agent must report each as an impossible value and keep running. (Since issue 28
/// a Masimo SpO2 must be 3 characters wide, so the 20-digit line is rejected by the decoder before any
/// number is made of it, and the valid line after it decodes.)
@Suite(.serialized, .endToEnd, .ownThread) struct HugeValueLiveTests {
    let directory: URL

    init() throws {
        directory = try Paths.temporaryDirectory()
    }

    static let float32Profile = Paths.repository.appendingPathComponent("devices/generic-float32-cdab/profile.yaml").path

    /// Registers of the generic-float32-cdab map, low word first: SpO2 97, PR 72, FiO2 0.4, Vt 0.45 l,
    /// Pplat FLT_MAX (3.4028235e38 mbar), PEEP 5 mbar.
    static var registers: String {
        let values: [Float] = [97, 72, 0.4, 0.45, .greatestFiniteMagnitude, 5]
        return values.flatMap { value -> [UInt16] in
            let bits = value.bitPattern
            return [UInt16(bits & 0xFFFF), UInt16(bits >> 16)]
        }.map(String.init).joined(separator: ",")
    }

    func events(_ agent: RunningProcess) -> [[String: Any]] {
        agent.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func rejected(_ agent: RunningProcess, source: String, parameter: String) -> [String: Any]? {
        events(agent).first {
            $0["rule"] as? String == "technical.value_rejected" && $0["source"] as? String == source
                && $0["parameter"] as? String == parameter && $0["phase"] as? String == "start"
        }
    }

    @Test func hugeValuesFromModbusAndSerialDevicesAreRejectedAndTheAgentRunsOn() throws {
        // The Modbus gateway: pymodbus over TCP.
        let port = freePort()
        let ready = directory.appendingPathComponent("modbus.ready").path
        let modbus = try RunningProcess(["python3", LiveModbusTests.peerScript, "--tcp", "\(port)", "--hr", Self.registers, "--ready", ready],
                                        directory: directory, name: "modbus")
        defer { modbus.kill() }
        #expect(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: ready) || modbus.poll() != nil }, "\(modbus.stderr)")

        // The serial devices: pyserial peers on socat pty pairs.
        func pair(_ name: String) throws -> (device: String, agent: String, socat: RunningProcess) {
            let a = directory.appendingPathComponent("\(name)-dev").path, b = directory.appendingPathComponent("\(name)-alveo").path
            let socat = try RunningProcess(["socat", "pty,raw,echo=0,link=\(a)", "pty,raw,echo=0,link=\(b)"], directory: directory, name: "socat-\(name)")
            #expect(waitUntil(timeout: 15) { FileManager.default.fileExists(atPath: a) && FileManager.default.fileExists(atPath: b) })
            return (a, b, socat)
        }
        func peer(_ arguments: [String], port: String, baud: Int, name: String) throws -> RunningProcess {
            let ready = directory.appendingPathComponent("\(name).ready").path
            let peer = try RunningProcess(["python3", Paths.repository.appendingPathComponent("Tests/Peers/serial_device.py").path,
                                           "--port", port, "--baud", "\(baud)", "--ready", ready] + arguments, directory: directory, name: name)
            #expect(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: ready) || peer.poll() != nil }, "\(peer.stderr)")
            return peer
        }
        let masimoLine = directory.appendingPathComponent("masimo.txt").path
        try "11/29/26 10:00:00 SN=1 SPO2=12345678901234567890% BPM=072 PI=1.00% ALARM=0000 EXC=000000\r\n11/29/26 10:00:01 SN=1 SPO2=097% BPM=072 PI=1.00% ALARM=0000 EXC=000800\r\n"
            .write(toFile: masimoLine, atomically: true, encoding: .utf8)
        var medibus: [UInt8] = [0x01, 0x24] + Array("749E99EB 97 ".utf8)
        let sum = medibus.reduce(0) { ($0 + Int($1)) & 0xFF }
        medibus += Array(String(format: "%02X", sum).utf8) + [0x0D]
        let medibusReply = directory.appendingPathComponent("medibus.bin")
        try Data(medibus).write(to: medibusReply)
        let oxi = try pair("oxi"), vent = try pair("vent")
        defer { oxi.socat.kill(); vent.socat.kill() }
        let masimo = try peer(["stream", masimoLine, "--interval", "0.3"], port: oxi.device, baud: 9600, name: "masimo")
        defer { masimo.kill() }
        let drager = try peer(["medibus", medibusReply.path], port: vent.device, baud: 19200, name: "medibus")
        defer { drager.kill() }

        let config = directory.appendingPathComponent("bed.yaml").path
        try """
            patient: {sex: female, height_cm: 160}
            devices:
              - {id: gw, profile: \(Self.float32Profile), poll_interval_s: 0.3, transport: {kind: modbus_tcp, host: 127.0.0.1, port: \(port)}}
              - {id: oxi, transport: {kind: serial, protocol: masimo_ascii1, path: \(oxi.agent), baud: 9600}}
              - {id: vent, poll_interval_s: 0.5, transport: {kind: serial, protocol: medibus, path: \(vent.agent), baud: 19200}}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let agent = try RunningProcess([Paths.alveo, "run", "--config", config], directory: directory, name: "alveo",
                                       environment: ["LD_PRELOAD": try SerialPortTests.buildShim(in: directory)])
        defer { agent.kill() }
        #expect(waitUntil(timeout: 60) {
            rejected(agent, source: "gw", parameter: "pplat") != nil && agent.stderr.contains("SPO2=12345678901234567890% is not three digits")
                && rejected(agent, source: "vent", parameter: "pplat") != nil || agent.poll() != nil
        }, "stdout: \(agent.stdout)\nstderr: \(agent.stderr)")
        #expect(agent.poll() == nil, "the agent is alive (exit \(String(describing: agent.poll())); 132 was SIGILL)")
        let texts = [("gw", "pplat"), ("vent", "pplat")].compactMap { rejected(agent, source: $0.0, parameter: $0.1)?["text"] as? String }
        #expect(texts.contains { $0.contains("Impossible pplat value 3.4028235e+38 cmH2O from gw") }, "\(texts)")
        #expect(texts.contains { $0.contains("Impossible pplat value 9E99 cmH2O from vent") }, "\(texts)")
        // Polls go on after the rejections: the agent stays up, stops cleanly, and its stop lines count
        // many decoded polls and frames from every device.
        #expect(!waitUntil(timeout: 4) { agent.poll() != nil })
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 15) == 0, "\(agent.stderr)")
        func decoded(_ device: String) -> Int {
            let line = agent.stderr.split(separator: "\n").last { $0.contains("stopped") && $0.contains("device=\(device) ") } ?? ""
            return line.firstMatch(of: /decoded=(\d+)/).flatMap { Int($0.1) } ?? 0
        }
        #expect(decoded("gw") >= 10, "\(agent.stderr)")
        #expect(decoded("oxi") >= 5, "\(agent.stderr)")
        #expect(decoded("vent") >= 3, "\(agent.stderr)")
    }
}
