import AlveoCore

/// Masimo Radical-7, Rad-8 and Rad-97 over their serial output in ASCII 1 mode: one line a second,
/// nothing sent to the device (device-protocols.md §Masimo; devices/masimo-ascii1/README.md).
public struct MasimoASCII1Driver: SerialDriver {
    public init() {}
    public var name: String { "masimo_ascii1" }
    public var title: String { "Masimo pulse oximeter (ASCII 1 serial output)" }
    public var role: DeviceRole { .oximeter }
    public var polled: Bool { false }
    public var line: LineDefaults { LineDefaults(baud: 9600) }
    public var parameters: [Parameter] { [.spo2, .pulseRate] }

    public func makeSession(source: String, pollInterval: Double) -> any SerialSession {
        StreamingSession(decoder: MasimoASCII1Decoder(source: source))
    }

    public var streamInterval: Double? { 1 }

    public func dataFrame(_ values: SerialDeviceEncoders.Values, sensor: SensorState) -> [UInt8] {
        SerialDeviceEncoders.masimoLine(values, sensor: sensor)
    }

    public var fuzzTarget: String { "masimo" }
    public var fuzzSeeds: [String] { ["Tests/AlveoDevicesTests/Fixtures/masimo_*.txt"] }

    public func benchmark(_ values: SerialDeviceEncoders.Values) -> DriverBenchmark {
        DriverBenchmark(label: "Masimo ASCII 1", frame: dataFrame(values, sensor: .ok), session: fuzzSession())
    }
}
