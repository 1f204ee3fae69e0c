import AlveoCore

/// Dräger ventilators over MEDIBUS: ICC to open, measured-data requests, NOP to keep the link
/// (device-protocols.md §MEDIBUS; devices/medibus/README.md).
public struct MedibusDriver: SerialDriver {
    public init() {}
    public var name: String { "medibus" }
    public var title: String { "Dräger ventilator (MEDIBUS)" }
    public var role: DeviceRole { .ventilator }
    public var polled: Bool { true }
    /// Evita 4 and the MEDIBUS.X default (device-protocols.md); EvitaXL and V500 use 19200 8N1.
    public var line: LineDefaults { LineDefaults(baud: 19200, parity: .even) }
    public var parameters: [Parameter] { [.fio2, .vt, .pplat, .peep, .ppeak, .rr, .spo2, .pulseRate] }

    public func makeSession(source: String, pollInterval: Double) -> any SerialSession {
        MedibusSession(source: source, pollInterval: pollInterval)
    }

    public func dataFrame(_ values: SerialDeviceEncoders.Values, sensor: SensorState) -> [UInt8] {
        SerialDeviceEncoders.medibusMeasured(values)
    }

    public var fuzzTarget: String { "medibus" }
    public var fuzzSeeds: [String] { ["Tests/AlveoDevicesTests/Fixtures/medibus_*.bin"] }

    /// Measured data after the ventilator echoed the ICC.
    public func benchmark(_ values: SerialDeviceEncoders.Values) -> DriverBenchmark {
        var session = MedibusSession(source: "v")
        _ = session.start(at: 0)
        _ = session.receive(MedibusSession.echo(0x51), at: 0)
        return DriverBenchmark(label: "MEDIBUS cp1", frame: dataFrame(values, sensor: .ok), session: session)
    }

    /// It echoes ICC and NOP and answers a measured-data request with its data frame.
    public func answers(to heard: inout [UInt8]) -> [SimulatedAnswer] {
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
