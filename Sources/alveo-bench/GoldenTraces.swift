// The golden raw traces under devices/<device>/traces: each device's protocol through its live
// session on virtual time, starting with the shared fixture frames, then the simulator's frames with
// the faults a clinical engineer meets (noise, damaged frames, a pulled cable, a pulled USB adapter,
// a probe off the finger). `swift run alveo-bench golden-traces` rewrites them; the expected events
// beside each are what `alveo replay` gives (the GoldenTraceTests regenerate them with
// ALVEO_UPDATE_GOLDEN=1 and otherwise compare byte for byte).
import AlveoCore
import AlveoDevices
import Foundation

enum GoldenTraces {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func fixture(_ name: String) -> [UInt8] {
        let url = repository.appendingPathComponent("Tests/AlveoDevicesTests/Fixtures/\(name)")
        guard let data = try? Data(contentsOf: url) else { fatalError("missing fixture \(url.path)") }
        return Array(data)
    }

    static func profile(_ device: String) -> String {
        (try? String(contentsOf: repository.appendingPathComponent("devices/\(device)/profile.yaml"), encoding: .utf8)) ?? ""
    }

    static let patient = """
        # Golden trace: synthesized on virtual time by `alveo-bench golden-traces` (see the README beside it).
        patient: {sex: male, height_cm: 170}    # PBW 66.0 kg
        """

    typealias Script = [(t: Double, device: String, action: DeviceAction)]

    static func make(_ name: String, device: String, config: String, profiles: [String: String] = [:], duration: Double,
                     script: Script) throws
    {
        let directory = repository.appendingPathComponent("devices/\(device)/traces")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("\(name).alvtrace").path
        var synthesizer = try TraceSynthesizer(path: path, configYAML: patient + "\n" + config, profiles: profiles, script: script)
        synthesizer.run(until: duration)
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        print("\(path): \(synthesizer.records) records, \(size) bytes, \(Int(duration)) s")
    }

    static let noise: [UInt8] = [0xFF, 0x00, 0x41, 0x13] + Array("garbage".utf8) + [0x9C, 0x0D, 0x0A]

    static func writeAll() throws {
        try make("pb840-faults", device: "pb840", config: """
            devices:
              - {id: vent, poll_interval_s: 1, transport: {kind: serial, protocol: pb840, path: /dev/ttyUSB0, baud: 9600}}
            """, duration: 220, script: [
                // The recorded replies first: 20 % O2 (impossible, rejected), O2 sensor disabled, a PB980.
                (0, "vent", .frames([fixture("pb840_miscf_mdpnp_2011.bin"), fixture("pb840_miscf_rta_2023-04-04.bin"),
                                     fixture("pb980_miscf_rta_2023-04-24.bin")])),
                (0, "vent", .values([.vt: 420, .pplat: 32, .peep: 8, .fio2: 50, .rr: 18, .ppeak: 35])),
                (40, "vent", .noise(noise)),
                (50, "vent", .truncateNext),
                (60, "vent", .corruptNext),
                (80, "vent", .unplug),
                (110, "vent", .plug),
                (130, "vent", .adapterRemoved),
                (160, "vent", .adapterBack),
                (170, "vent", .values([.vt: 400, .pplat: 20, .peep: 8, .fio2: 40, .rr: 18, .ppeak: 24])),
            ])

        try make("medibus-faults", device: "medibus", config: """
            devices:
              - {id: vent, poll_interval_s: 1, transport: {kind: serial, protocol: medibus, path: /dev/ttyUSB0, baud: 19200}}
            """, duration: 200, script: [
                (0, "vent", .frames([fixture("medibus_spec_p47_spo2_pulse_response.bin")])),
                (0, "vent", .values([.vt: 450, .pplat: 31, .peep: 10, .fio2: 60, .rr: 20, .ppeak: 34])),
                (40, "vent", .noise([0x81, 0x92, 0xA3, 0x11] + Array("junk\r".utf8))),
                (50, "vent", .corruptNext),
                (80, "vent", .unplug),
                (110, "vent", .plug),
                (150, "vent", .values([.vt: 420, .pplat: 22, .peep: 10, .fio2: 50, .rr: 20, .ppeak: 26])),
            ])

        let rad8 = String(decoding: fixture("masimo_rad8_ascii1_yahnatan.txt"), as: UTF8.self)
            .split(separator: "\n").map { Array($0.utf8) + [0x0A] }
        try make("masimo-faults", device: "masimo-ascii1", config: """
            devices:
              - {id: oxi, transport: {kind: serial, protocol: masimo_ascii1, path: /dev/ttyUSB1, baud: 9600}}
            """, duration: 200, script: [
                (0, "oxi", .frames(rad8 + [fixture("masimo_radical5_mdpnp_example.txt") + [0x0D, 0x0A],
                                           fixture("masimo_radical7_mdpnp_example.txt") + [0x0D, 0x0A]])),
                (0, "oxi", .values([.spo2: 95, .pulseRate: 80])),
                (30, "oxi", .values([.spo2: 86, .pulseRate: 96])),
                (100, "oxi", .values([.spo2: 94, .pulseRate: 84])),
                (110, "oxi", .sensor(.off)),
                (130, "oxi", .sensor(.ok)),
                (140, "oxi", .noise(noise)),
                (150, "oxi", .unplug),
                (170, "oxi", .plug),
            ])

        try make("nonin-df2-faults", device: "nonin", config: """
            devices:
              - {id: oxi, transport: {kind: serial, protocol: nonin_df2, path: /dev/ttyUSB1, baud: 9600}}
            """, duration: 180, script: [
                (0, "oxi", .frames([fixture("nonin_df2_packet_pufferfish.bin")])),
                (0, "oxi", .values([.spo2: 96, .pulseRate: 70])),
                (30, "oxi", .sensor(.off)),
                (45, "oxi", .sensor(.ok)),
                (50, "oxi", .corruptNext),
                (55, "oxi", .noise(noise)),
                (60, "oxi", .values([.spo2: 84, .pulseRate: 110])),
                (120, "oxi", .values([.spo2: 95, .pulseRate: 88])),
                (130, "oxi", .adapterRemoved),
                (150, "oxi", .adapterBack),
            ])

        try make("nonin-df8-faults", device: "nonin", config: """
            devices:
              - {id: oxi, transport: {kind: serial, protocol: nonin_df8, path: /dev/ttyUSB1, baud: 9600}}
            """, duration: 120, script: [
                (0, "oxi", .values([.spo2: 97, .pulseRate: 66])),
                (20, "oxi", .sensor(.off)),
                (40, "oxi", .sensor(.ok)),
                (60, "oxi", .unplug),
                (90, "oxi", .plug),
            ])

        // An hour of the fuzzed flap trace (FlapTrace): the probe flag drawn at random for every frame,
        // garbled bytes before about one frame in eight.
        try make("nonin-df8-flap", device: "nonin", config: FlapTrace.devices, duration: 3600,
                 script: FlapTrace.script(.fuzzed, hours: 1, seed: 24))

        try make("intellivue-faults", device: "intellivue", config: """
            devices:
              - {id: mon, poll_interval_s: 1, transport: {kind: serial, protocol: intellivue, path: /dev/ttyUSB3, baud: 115200}}
            """, duration: 300, script: [
                // The computed poll reply of the protocol document first (SpO2 97, pulse 72, RR invalid,
                // FiO2 40.5), then an MX monitor with an IntelliBridge module bringing the ventilator's values.
                (0, "mon", .frames([fixture("intellivue_poll_reply_computed.bin")])),
                (0, "mon", .values([.spo2: 95, .pulseRate: 80, .fio2: 60, .vt: 450, .pplat: 31, .peep: 10, .ppeak: 34, .rr: 20])),
                (40, "mon", .noise(noise + [0xC1, 0x7D, 0xC0, 0x11, 0x01])),
                (50, "mon", .corruptNext),
                (60, "mon", .truncateNext),
                // The monitor aborts the association (e.g. its Data Export was reconfigured).
                (70, "mon", .frames([IntelliVueFrame.encode([0x19, 0x2E, 0x11, 0x01, 0x03])])),
                (90, "mon", .unplug),
                (120, "mon", .plug),
                (140, "mon", .sensor(.off)),
                (160, "mon", .sensor(.ok)),
                (170, "mon", .values([.spo2: 86, .pulseRate: 104, .fio2: 60, .vt: 400, .pplat: 26, .peep: 10, .ppeak: 29, .rr: 22])),
                (250, "mon", .adapterRemoved),
                (270, "mon", .adapterBack),
            ])

        // A GE S/5 monitor with an arterial line and an airway module: the request at open, a record every
        // 10 s; noise, a damaged and a cut record, a pulled cable (25 s without a record: the request
        // again), the SpO2 probe off, then a desaturation with a falling arterial mean.
        try make("ge-s5-faults", device: "ge-s5", config: """
            devices:
              - {id: mon, transport: {kind: serial, protocol: ge_s5, path: /dev/ttyUSB3, baud: 19200, parity: even}}
            rules:
              technical.device_silent: {timeout_s: 25}
            """, duration: 420, script: [
                (0, "mon", .values([.spo2: 95, .pulseRate: 80, .heartRate: 82, .map: 76, .fio2: 60, .vt: 450, .pplat: 31, .peep: 10,
                                    .ppeak: 34, .rr: 20])),
                (60, "mon", .noise(noise + [0x7E, 0x7D, 0x41, 0x7E])),
                (80, "mon", .corruptNext),
                (100, "mon", .truncateNext),
                (130, "mon", .unplug),
                (180, "mon", .plug),
                (200, "mon", .sensor(.off)),
                (240, "mon", .sensor(.ok)),
                (250, "mon", .values([.spo2: 84, .pulseRate: 104, .heartRate: 106, .map: 62, .fio2: 60, .vt: 400, .pplat: 26, .peep: 10,
                                      .ppeak: 29, .rr: 22])),
            ])

        // SERVO-i over the CIE, polled: the computed RADAB reply fixture first (RR 16, Vte 450, Ppeak 28,
        // Pplat 22, PEEP 5, O2 40), then a high plateau and driving pressure, noise, a damaged and a cut
        // reply, a pulled cable, 15 s of standby (ER17 instead of breath data) and a safer setting.
        let er17 = ServoCIE.message("ER17")
        try make("servo-faults", device: "servo", config: """
            devices:
              - {id: vent, poll_interval_s: 1, transport: {kind: serial, protocol: servo_cie, path: /dev/ttyUSB0, baud: 9600, parity: even}}
            """, duration: 220, script: [
                (0, "vent", .frames([fixture("servo_cie_radab_reply_computed.bin")])),
                (0, "vent", .values([.vt: 420, .pplat: 32, .peep: 8, .fio2: 50, .rr: 18, .ppeak: 35])),
                (40, "vent", .noise(noise)),
                (50, "vent", .corruptNext),
                (60, "vent", .truncateNext),
                (80, "vent", .unplug),
                (110, "vent", .plug),
                (130, "vent", .frames(Array(repeating: er17, count: 15))),
                (170, "vent", .values([.vt: 400, .pplat: 20, .peep: 8, .fio2: 40, .rr: 18, .ppeak: 24])),
            ])

        // SERVO over the CIE, streaming (RADC): the real captured stream first (its breath blocks hold 3
        // channels, not the 6 Alveo defines, so they are rejected, as is its curve block that fails its
        // checksum; it ends mid-block), then the simulator's breath blocks every 3 s with noise, a
        // damaged block, a pulled cable (15 s without a block: ESC, then RCTY again until it is back) and
        // a standby (the binary error block E0 11).
        var standby: [UInt8] = [0xE0, 0x11, 0x7F]
        standby.append(ServoCIE.xor(standby))
        try make("servo-radc", device: "servo", config: """
            devices:
              - {id: vent, transport: {kind: serial, protocol: servo_cie_radc, path: /dev/ttyUSB0, baud: 9600, parity: even}}
            """, duration: 200, script: [
                (2, "vent", .frames([fixture("servo_cie_radc_stream_servoscreen.bin")])),
                (0, "vent", .values([.vt: 450, .pplat: 31, .peep: 10, .fio2: 60, .rr: 20, .ppeak: 34])),
                (40, "vent", .noise(noise)),
                (50, "vent", .corruptNext),
                (80, "vent", .unplug),
                (110, "vent", .plug),
                (130, "vent", .frames([standby])),
                (150, "vent", .values([.vt: 420, .pplat: 22, .peep: 10, .fio2: 50, .rr: 20, .ppeak: 26])),
            ])

        try make("gateway-faults", device: "alveo-gateway-v1", config: """
            devices:
              - {id: vent, profile: devices/alveo-gateway-v1/profile.yaml, poll_interval_s: 1,
                 transport: {kind: modbus_tcp, host: 192.168.10.20, port: 502, unit_id: 1}}
              - {id: oxi, profile: devices/alveo-gateway-v1/profile.yaml, poll_interval_s: 1,
                 transport: {kind: modbus_rtu, path: /dev/ttyUSB2, baud: 19200, unit_id: 2}}
            """, profiles: ["vent": profile("alveo-gateway-v1"), "oxi": profile("alveo-gateway-v1")], duration: 210, script: [
                (0, "vent", .values([.fio2: 40, .vt: 550, .pplat: 29, .peep: 5, .rr: 16, .ppeak: 33])),
                (0, "oxi", .values([.spo2: 97, .pulseRate: 80])),
                (40, "oxi", .sensor(.off)),
                (60, "oxi", .sensor(.ok)),
                (80, "vent", .commsLost(true)),
                (110, "vent", .commsLost(false)),
                (120, "oxi", .unplug),
                (150, "oxi", .plug),
                (160, "vent", .exception("read input registers: Gateway target device failed to respond (exception 0x0B)")),
                (180, "vent", .values([.fio2: 40, .vt: 390, .pplat: 22, .peep: 10, .rr: 16, .ppeak: 26])),
            ])

        try make("float32-cdab", device: "generic-float32-cdab", config: """
            devices:
              - {id: vent, profile: devices/generic-float32-cdab/profile.yaml, poll_interval_s: 2,
                 transport: {kind: modbus_tcp, host: 192.168.10.21, port: 502, unit_id: 1}}
            """, profiles: ["vent": profile("generic-float32-cdab")], duration: 150, script: [
                (0, "vent", .values([.spo2: 93, .pulseRate: 90, .fio2: 60, .vt: 480, .pplat: 33, .peep: 12])),
                (60, "vent", .unplug),
                (90, "vent", .plug),
                (100, "vent", .values([.spo2: 95, .pulseRate: 86, .fio2: 50, .vt: 400, .pplat: 24, .peep: 12])),
            ])
    }
}
