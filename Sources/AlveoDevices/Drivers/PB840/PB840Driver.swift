import AlveoCore

/// Puritan Bennett 840/980 over its DCI port: SNDF asks, the MISCF reply carries the settings and the
/// measured values (device-protocols.md §PB840; devices/pb840/README.md).
package struct PB840Driver: SerialDriver {
    package init() {}
    package var name: String { "pb840" }
    package var title: String { "Puritan Bennett 840/980 ventilator (DCI: SNDF / MISCF)" }
    package var role: DeviceRole { .ventilator }
    package var polled: Bool { true }
    package var line: LineDefaults { LineDefaults(baud: 9600) }
    package var parameters: [Parameter] { [.fio2, .vt, .pplat, .peep, .ppeak, .rr] }

    package func makeSession(source: String, pollInterval: Double) -> any SerialSession {
        PB840Session(source: source, pollInterval: pollInterval)
    }

    package func dataFrame(_ values: SerialDeviceEncoders.Values, sensor: SensorState) -> [UInt8] {
        SerialDeviceEncoders.pb840MISCF(values)
    }

    package var fuzzTarget: String { "pb840" }
    package var fuzzSeeds: [String] { ["Tests/AlveoDevicesTests/Fixtures/pb8*0_*.bin", "Tests/AlveoDevicesTests/Fixtures/pb980_*.bin"] }

    package func benchmark(_ values: SerialDeviceEncoders.Values) -> DriverBenchmark {
        var decoder = PB840Decoder(source: "v")
        return DriverBenchmark(label: "PB840 MISCF", frame: dataFrame(values, sensor: .ok), count: 20_000) { decoder.feed($0).count }
    }

    /// It answers each SNDF with its data frame.
    package func answers(to heard: inout [UInt8]) -> [SimulatedAnswer] {
        var answers: [SimulatedAnswer] = []
        while let range = heard.firstRange(of: PB840Decoder.sndf) {
            heard.removeSubrange(..<range.upperBound)
            answers.append(.dataFrame)
        }
        return answers
    }
}
