import AlveoCore

/// Masimo Radical-7, Rad-8 and Rad-97 over their serial output in ASCII 1 mode: one line a second,
/// nothing sent to the device (device-protocols.md §Masimo; devices/masimo-ascii1/README.md).
package struct MasimoASCII1Driver: SerialDriver {
    package init() {}
    package var name: String { "masimo_ascii1" }
    package var title: String { "Masimo pulse oximeter (ASCII 1 serial output)" }
    package var role: DeviceRole { .oximeter }
    package var polled: Bool { false }
    package var line: LineDefaults { LineDefaults(baud: 9600) }
    package var parameters: [Parameter] { [.spo2, .pulseRate] }

    package func makeSession(source: String, pollInterval: Double) -> any SerialSession {
        StreamingSession(decoder: MasimoASCII1Decoder(source: source))
    }

    package var streamInterval: Double? { 1 }

    package func dataFrame(_ values: SerialDeviceEncoders.Values, sensor: SensorState) -> [UInt8] {
        SerialDeviceEncoders.masimoLine(values, sensor: sensor)
    }

    package var fuzzTarget: String { "masimo" }
    package var fuzzSeeds: [String] { ["Tests/AlveoDevicesTests/Fixtures/masimo_*.txt"] }

    package func benchmark(_ values: SerialDeviceEncoders.Values) -> DriverBenchmark {
        DriverBenchmark(label: "Masimo ASCII 1", frame: dataFrame(values, sensor: .ok), session: fuzzSession())
    }
}
