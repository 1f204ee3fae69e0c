// The soak's bed on virtual time: a stay of H hours of a PB840, a Masimo oximeter and a Modbus TCP
// gateway, through the live protocol sessions (TraceSynthesizer), with faults injected on a seeded
// schedule: cables and adapters pulled and back, noise bursts, damaged frames, impossible values
// (SpO2 140 %, FiO2 5 %, a PB840 field of 9E99), probes off, a gateway losing its device or answering
// exceptions, and clinical episodes (SpO2 dips, high plateau, high Vt). Written as two traces, the
// two runs of an agent restarted half way: A is [0, H/2) and B is [H/2, H), each starting at t = 0.
// `alveo-bench soak-trace HOURS DIR [SEED]`; SoakTests and Tests/Soak/soak.sh replay them into a
// real HL7 receiver with the station down for an hour and the agent killed.
import AlveoCore
import AlveoDevices
import Foundation

enum SoakTrace {
    static let config = """
        # Soak bed: synthesized by `alveo-bench soak-trace` on virtual time.
        patient: {sex: male, height_cm: 170}
        devices:
          - {id: vent, poll_interval_s: 5, transport: {kind: serial, protocol: pb840, path: /dev/ttyUSB0, baud: 9600}}
          - {id: oxi, transport: {kind: serial, protocol: masimo_ascii1, path: /dev/ttyUSB1, baud: 9600}}
          - {id: gw, profile: devices/alveo-gateway-v1/profile.yaml, poll_interval_s: 1,
             transport: {kind: modbus_tcp, host: 192.168.10.20, port: 502, unit_id: 1}}
        rules:
          technical.device_silent: {timeout_s: 15}
        """

    static let ventilation: SerialDeviceEncoders.Values = [.vt: 420, .pplat: 22, .peep: 8, .fio2: 40, .rr: 18, .ppeak: 28]
    static let oximetry: SerialDeviceEncoders.Values = [.spo2: 95, .pulseRate: 80]
    static let gateway: SerialDeviceEncoders.Values = [.fio2: 40, .vt: 420, .pplat: 22, .peep: 8, .rr: 18, .ppeak: 28, .spo2: 95, .pulseRate: 80]

    /// A PB840 reply whose Vt field reads 9E99 (the MDPNP sample, same widths and byte count).
    static func hugeMISCF() -> [UInt8] {
        var bytes = GoldenTraces.fixture("pb840_miscf_mdpnp_2011.bin")
        let text = String(decoding: bytes, as: UTF8.self)
        if let range = text.range(of: "0.378") {
            let offset = text.utf8.distance(from: text.startIndex, to: range.lowerBound)
            bytes.replaceSubrange(offset..<(offset + 5), with: Array(" 9E99".utf8))
        }
        return bytes
    }

    /// The fault schedule of the whole stay, seeded: one incident every 10 to 45 minutes, the 14 kinds
    /// in turn (a stay of about 7 hours has each of them; `make test`'s 6 hours has the first 12 or
    /// so, the impossible values and the probe off among them), their lengths random.
    static func script(hours: Double, seed: UInt64) -> GoldenTraces.Script {
        var random = seed | 1
        func next(_ bound: Int) -> Int {
            random ^= random << 13
            random ^= random >> 7
            random ^= random << 17
            return Int(random % UInt64(bound))
        }
        var script: GoldenTraces.Script = [(0, "vent", .values(ventilation)), (0, "oxi", .values(oximetry)), (0, "gw", .values(gateway))]
        var impossibleGateway = gateway
        impossibleGateway[.fio2] = 5
        var high = ventilation
        high[.pplat] = 32
        high[.vt] = 560
        var incident = 0
        var t = 600.0
        let end = hours * 3600 - 600
        while t < end {
            let length = Double(60 + next(300))
            switch incident % 14 {
            case 0: script += [(t, "oxi", .unplug), (t + length, "oxi", .plug)]
            case 1: script += [(t, "vent", .adapterRemoved), (t + length, "vent", .adapterBack)]
            case 2: script += [(t, "gw", .commsLost(true)), (t + length, "gw", .commsLost(false))]
            case 3: script += [(t, "oxi", .values([.spo2: 140, .pulseRate: 80])), (t + 20, "oxi", .values(oximetry))]
            case 4: script += [(t, "vent", .frames([hugeMISCF()]))]
            case 5: script += [(t, "gw", .values(impossibleGateway)), (t + 20, "gw", .values(gateway))]
            case 6: script += [(t, "oxi", .sensor(.off)), (t + length, "oxi", .sensor(.ok))]
            case 7: script += [(t, "vent", .noise(GoldenTraces.noise)), (t + 5, "vent", .truncateNext), (t + 10, "vent", .corruptNext)]
            case 8: script += [(t, "gw", .exception("read input registers: Gateway target device failed to respond (exception 0x0B)")),
                               (t + length, "gw", .values(gateway))]
            case 9: script += [(t, "oxi", .values([.spo2: 85, .pulseRate: 104])), (t + 300 + length, "oxi", .values(oximetry))]
            case 10: script += [(t, "vent", .values(high)), (t + 1200 + length, "vent", .values(ventilation))]
            case 11: script += [(t, "gw", .unplug), (t + length, "gw", .plug)]
            case 12: script += [(t, "oxi", .noise(GoldenTraces.noise)), (t + 5, "oxi", .corruptNext)]
            default: script += [(t, "vent", .unplug), (t + length, "vent", .plug)]
            }
            incident += 1
            t += Double(600 + next(2100))
        }
        return script
    }

    /// Writes `A.alvtrace` and `B.alvtrace` in `directory`.
    static func write(hours: Double, directory: String, seed: UInt64) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let whole = script(hours: hours, seed: seed)
        let half = hours * 3600 / 2
        let profiles = ["gw": GoldenTraces.profile("alveo-gateway-v1")]
        // The second run starts from the devices' state at the restart, then the rest of the schedule.
        var restart: GoldenTraces.Script = [(0, "vent", .values(ventilation)), (0, "oxi", .values(oximetry)), (0, "gw", .values(gateway))]
        restart += whole.filter { $0.t >= half }.map { ($0.t - half, $0.device, $0.action) }
        for (name, script) in [("A", whole.filter { $0.t < half }), ("B", restart)] {
            let path = directory + "/\(name).alvtrace"
            var synthesizer = try TraceSynthesizer(path: path, configYAML: config, profiles: profiles, script: script)
            synthesizer.run(until: half)
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            print("\(path): \(synthesizer.records) records, \(size) bytes, \(Int(half)) s, \(script.count) scripted actions")
        }
    }
}
