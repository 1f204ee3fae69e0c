import AlveoCore

/// Dräger ventilators over MEDIBUS: ICC to open, measured-data requests, NOP to keep the link
/// (device-protocols.md §MEDIBUS; devices/medibus/README.md).
package struct MedibusDriver: SerialDriver {
    package init() {}
    package var name: String { "medibus" }
    package var title: String { "Dräger ventilator (MEDIBUS)" }
    package var role: DeviceRole { .ventilator }
    package var polled: Bool { true }
    /// Evita 4 and the MEDIBUS.X default (device-protocols.md); EvitaXL and V500 use 19200 8N1.
    package var line: LineDefaults { LineDefaults(baud: 19200, parity: .even) }
    package var parameters: [Parameter] { [.fio2, .vt, .pplat, .peep, .ppeak, .rr, .spo2, .pulseRate] }

    package func makeSession(source: String, pollInterval: Double) -> any SerialSession {
        MedibusSession(source: source, pollInterval: pollInterval)
    }

    package func dataFrame(_ values: SerialDeviceEncoders.Values, sensor: SensorState) -> [UInt8] {
        SerialDeviceEncoders.medibusMeasured(values)
    }

    package var fuzzTarget: String { "medibus" }
    package var fuzzSeeds: [String] { ["Tests/AlveoDevicesTests/Fixtures/medibus_*.bin"] }

    /// Measured data after the ventilator echoed the ICC.
    package func benchmark(_ values: SerialDeviceEncoders.Values) -> DriverBenchmark {
        var session = MedibusSession(source: "v")
        _ = session.start(at: 0)
        _ = session.receive(MedibusSession.echo(0x51), at: 0)
        return DriverBenchmark(label: "MEDIBUS cp1", frame: dataFrame(values, sensor: .ok), session: session)
    }

    /// It echoes ICC and NOP and answers a measured-data request with its data frame.
    package func answers(to heard: inout [UInt8]) -> [SimulatedAnswer] {
        var answers: [SimulatedAnswer] = []
        while let end = heard.firstIndex(of: 0x0D) {
            let command = Array(heard[..<end])
            heard.removeSubrange(...end)
            guard command.count >= 2, command[0] == 0x1B else { continue }
            switch command[1] {
            case MedibusSession.icc, MedibusSession.nop: answers.append(.bytes(MedibusSession.echo(command[1])))
            case MedibusSession.measured: answers.append(.dataFrame)
            default: break
            }
        }
        return answers
    }
}
