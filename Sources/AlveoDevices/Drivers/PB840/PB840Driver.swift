import AlveoCore

/// Puritan Bennett 840/980 over its DCI port: SNDF asks, the MISCF reply carries the settings and the
/// measured values (device-protocols.md §PB840; devices/pb840/README.md).
public struct PB840Driver: SerialDriver {
    public init() {}
    public var name: String { "pb840" }
    public var title: String { "Puritan Bennett 840/980 ventilator (DCI: SNDF / MISCF)" }
    public var role: DeviceRole { .ventilator }
    public var polled: Bool { true }
    public var line: LineDefaults { LineDefaults(baud: 9600) }
    public var parameters: [Parameter] { [.fio2, .vt, .pplat, .peep, .ppeak, .rr] }

    public func makeSession(source: String, pollInterval: Double) -> any SerialSession {
        PB840Session(source: source, pollInterval: pollInterval)
    }

    public func dataFrame(_ values: SerialDeviceEncoders.Values, sensor: SensorState) -> [UInt8] {
        SerialDeviceEncoders.pb840MISCF(values)
    }

    public var fuzzTarget: String { "pb840" }
    public var fuzzSeeds: [String] { ["Tests/AlveoDevicesTests/Fixtures/pb8*0_*.bin", "Tests/AlveoDevicesTests/Fixtures/pb980_*.bin"] }

    public func benchmark(_ values: SerialDeviceEncoders.Values) -> DriverBenchmark {
        var decoder = PB840Decoder(source: "v")
        return DriverBenchmark(label: "PB840 MISCF", frame: dataFrame(values, sensor: .ok), count: 20_000) { decoder.feed($0).count }
    }

    /// It answers each SNDF with its data frame.
    public func answers(to heard: inout [UInt8]) -> [SimulatedAnswer] {
        var answers: [SimulatedAnswer] = []
        while let range = heard.firstRange(of: PB840Decoder.sndf) {
            heard.removeSubrange(..<range.upperBound)
            answers.append(.dataFrame)
        }
        return answers
    }
}
