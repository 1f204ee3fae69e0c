import AlveoCore

/// Nonin OEM III modules and Xpod in data format 2 (75 frames a second in packets of 25) or 8 (one
/// frame a second); Alveo selects the format when the line opens and the device acknowledges
/// (device-protocols.md §Nonin; devices/nonin/README.md).
package struct NoninDriver: SerialDriver {
    /// 2 or 8.
    package let format: Int

    package init(format: Int) {
        self.format = format == 2 ? 2 : 8
    }

    package var name: String { "nonin_df\(format)" }
    package var title: String { "Nonin pulse oximeter (data format \(format))" }
    package var role: DeviceRole { .oximeter }
    package var polled: Bool { false }
    package var line: LineDefaults { LineDefaults(baud: 9600) }
    package var parameters: [Parameter] { [.spo2, .pulseRate] }

    package func makeSession(source: String, pollInterval: Double) -> any SerialSession {
        format == 2 ? NoninSession(decoder: NoninDF2Decoder(source: source), format: 2)
            : NoninSession(decoder: NoninDF8Decoder(source: source), format: 8)
    }

    package var streamInterval: Double? { format == 2 ? 1.0 / 3 : 1 }

    package func dataFrame(_ values: SerialDeviceEncoders.Values, sensor: SensorState) -> [UInt8] {
        format == 2 ? SerialDeviceEncoders.noninPacket(values, sensor: sensor) : SerialDeviceEncoders.noninDF8Frame(values, sensor: sensor)
    }

    package var fuzzTarget: String { "nonin\(format)" }
    package var fuzzSeeds: [String] {
        ["Tests/AlveoDevicesTests/Fixtures/" + (format == 2 ? "nonin_*.bin" : "nonin_cmd_set_format8.bin")]
    }

    /// The frame decoder alone (the session adds only the format selection's acknowledgement).
    package func benchmark(_ values: SerialDeviceEncoders.Values) -> DriverBenchmark {
        let frame = dataFrame(values, sensor: .ok)
        if format == 2 {
            var decoder = NoninDF2Decoder(source: "o")
            return DriverBenchmark(label: "Nonin format 2", frame: frame) { decoder.feed($0).count }
        }
        var decoder = NoninDF8Decoder(source: "o")
        return DriverBenchmark(label: "Nonin format 8", frame: frame) { decoder.feed($0).count }
    }

    /// It acknowledges a format selection (`02 70 02 02 <format> 03`) with ACK.
    package func answers(to heard: inout [UInt8]) -> [SimulatedAnswer] {
        var answers: [SimulatedAnswer] = []
        while let start = heard.firstIndex(of: 0x02), heard.count - start >= 6 {
            if heard[start + 1] == 0x70, heard[start + 5] == 0x03 { answers.append(.bytes([0x06])) }
            heard.removeSubrange(...(start + 5))
        }
        return answers
    }
}
