import AlveoTestKit
import AlveoAgent
import AlveoCore
import AlveoDevices
import AlveoFuzzTargets
import AlveoIO
import Foundation
import Testing

/// The serial-driver registry (`SerialDrivers.all`): every driver is whole (a session that decodes what
/// its own simulator sends into the parameters it declares), the configuration takes its name and its
/// line defaults, and docs/configuration.md's table is the registry's.
@Suite struct DriverRegistryTests {
    @Test func everyDriverIsWholeAndItsSimulatorDecodes() {
        let names = SerialDrivers.all.map(\.name)
        #expect(Set(names).count == names.count, "unique names: \(names)")
        for driver in SerialDrivers.all {
            #expect(!driver.parameters.isEmpty && !driver.title.isEmpty, "\(driver.name)")
            #expect(driver.polled == (driver.streamInterval == nil), "\(driver.name): polled or streaming, not both")
            var session = driver.makeSession(source: "dev", pollInterval: 1)
            var device = SimulatedSerialDevice(driver)
            let values: SerialDeviceEncoders.Values = [.spo2: 93, .pulseRate: 88, .fio2: 45, .vt: 350, .pplat: 27, .peep: 10, .ppeak: 31, .rr: 22, .map: 72, .heartRate: 91]
            var decoded: [Observation] = []
            var t = 0.0
            var toDevice = session.start(at: t)
            for _ in 0..<60 {
                for answer in device.hear(toDevice) {
                    let bytes = SimulatedSerialDevice.dataFrame(driver, for: answer, values: values, sensor: .ok) ?? {
                        if case .bytes(let reply) = answer { reply } else { [] }
                    }()
                    let (frames, reply) = session.receive(bytes, at: t)
                    decoded += frames.flatMap { $0 }
                    toDevice = reply
                }
                if device.streams(at: t) {
                    let (frames, reply) = session.receive(driver.dataFrame(values, sensor: .ok), at: t)
                    decoded += frames.flatMap { $0 }
                    toDevice += reply
                }
                t += 0.1
                toDevice += session.tick(at: t)
            }
            let got = Set(decoded.compactMap { observation -> Parameter? in
                guard case .number = observation.value else { return nil }
                return observation.parameter
            })
            #expect(got == Set(driver.parameters), "\(driver.name) decoded \(got.map(\.name).sorted()), declares \(driver.parameters.map(\.name))")
            for observation in decoded {
                if case .number(let value) = observation.value, let expected = values[observation.parameter] {
                    #expect(abs(value - expected) <= max(0.6, expected * 0.01), "\(driver.name) \(observation.parameter.name): \(value) for \(expected)")
                }
            }
        }
    }

    @Test func theConfigurationTakesADriverByName() throws {
        let config = try AgentConfig.parse(yaml: """
            patient: {sex: female, height_cm: 160}
            devices:
              - {id: vent, transport: {kind: serial, protocol: medibus, path: /dev/ttyUSB0}}
              - {id: oxi, transport: {kind: serial, protocol: nonin_df8, path: /dev/ttyUSB1, baud: 19200}}
            """, file: "bed.yaml")
        #expect(config.serialDevices.map(\.driver.name) == ["medibus", "nonin_df8"])
        #expect(config.serialDevices[0].settings.baud == 9600 && config.serialDevices[0].settings.parity == .none, "9600 8N1 unless given")
        #expect(config.serialDevices[1].settings.baud == 19200)
        #expect(SerialDeviceConfig.settings(MedibusDriver().line).parity == .even && MedibusDriver().line.description == "19200 8E1")
        #expect(throws: ConfigError.self) {
            _ = try AgentConfig.parse(yaml: "devices:\n  - {id: v, transport: {kind: serial, protocol: hamilton, path: /dev/x}}\n", file: "bed.yaml")
        }
        do {
            _ = try AgentConfig.parse(yaml: "devices:\n  - {id: v, transport: {kind: serial, protocol: hamilton, path: /dev/x}}\n", file: "bed.yaml")
        } catch {
            #expect("\(error)".contains("'hamilton' is not one of: \(SerialDrivers.names)"), "\(error)")
        }
    }

    @Test func theConfigurationDocumentListsTheRegistry() throws {
        let text = try String(contentsOf: Paths.repository.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let start = try #require(text.range(of: "<!-- drivers: "))
        let end = try #require(text.range(of: "<!-- /drivers -->"))
        let rows = text[start.upperBound..<end.lowerBound].split(separator: "\n").filter { $0.hasPrefix("| `") && !$0.hasPrefix("| `protocol`") }
        let expected = SerialDrivers.all.map { driver in
            "| `\(driver.name)` | \(driver.title) | \(driver.role.rawValue) | \(driver.polled ? "polled" : "streaming") | \(driver.line) | \(driver.parameters.map(\.name).joined(separator: ", ")) |"
        }
        #expect(rows.map(String.init) == expected)
    }

    /// The fuzz targets and the decoder benchmark follow from the registry: each driver names a
    /// target of its own with seeds that exist, and its benchmark decodes a stream of its frame.
    @Test func everyDriverHandsOverItsFuzzTargetAndBenchmark() throws {
        let targets = SerialDrivers.all.map(\.fuzzTarget)
        #expect(Set(targets).count == targets.count, "one target each: \(targets)")
        for driver in SerialDrivers.all {
            #expect(FuzzTargets.names.contains(driver.fuzzTarget), "\(driver.name)")
            #expect(SerialDrivers.fuzzing(driver.fuzzTarget)?.name == driver.name)
            #expect(!driver.fuzzSeeds.isEmpty, "\(driver.name) seeds its fuzz target")
            for glob in driver.fuzzSeeds {
                let directory = Paths.repository.appendingPathComponent((glob as NSString).deletingLastPathComponent)
                let pattern = (glob as NSString).lastPathComponent
                let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { fnmatch(pattern, $0, 0) == 0 }
                #expect(!files.isEmpty, "\(driver.name): no file matches \(glob)")
            }
            let values: SerialDeviceEncoders.Values = [.rr: 18, .vt: 420, .ppeak: 28, .fio2: 45, .peep: 8, .pplat: 24, .spo2: 93, .pulseRate: 88]
            let bench = driver.benchmark(values)
            let stream = Array([[UInt8]](repeating: bench.frame, count: 20).joined())
            var decoded = 0
            var offset = 0
            while offset < stream.count {
                decoded += bench.decode(Array(stream[offset..<min(offset + 4096, stream.count)]))
                offset += 4096
            }
            #expect(decoded == 20, "\(bench.label): \(decoded) of 20 frames")
        }
    }
}
