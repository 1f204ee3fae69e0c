import AlveoCore

/// Maquet SERVO-i / SERVO-s over the Computer Interface Emulator (CIE) on its RS-232 port: breath
/// data polled with `RADAB` (`servo_cie`) or streamed with `RADC` (`servo_cie_radc`)
/// (device-protocols-monitors-vents.md §SERVO; devices/servo/README.md).
package struct ServoDriver: SerialDriver {
    package let mode: ServoSession.Mode

    package init(mode: ServoSession.Mode) {
        self.mode = mode
    }

    package var name: String { mode == .polled ? "servo_cie" : "servo_cie_radc" }
    package var title: String {
        mode == .polled ? "Maquet SERVO-i/SERVO-s ventilator (CIE: RADAB breath data)" : "Maquet SERVO-i/SERVO-s ventilator (CIE: RADC stream)"
    }
    package var role: DeviceRole { .ventilator }
    package var polled: Bool { mode == .polled }
    /// The manual's settings (§2.2): binary replies need 8 data bits.
    package var line: LineDefaults { LineDefaults(baud: 9600, parity: .even, flow: .xonxoff) }
    package var parameters: [Parameter] { ServoCIE.breathChannels.map(\.parameter) }

    package func makeSession(source: String, pollInterval: Double) -> any SerialSession {
        ServoSession(source: source, mode: mode, pollInterval: pollInterval)
    }

    /// A breath every 3 s (20/min) on the stream.
    package var streamInterval: Double? { mode == .polled ? nil : 3 }

    package func dataFrame(_ values: SerialDeviceEncoders.Values, sensor: SensorState) -> [UInt8] {
        mode == .polled ? SerialDeviceEncoders.servoBreathReply(values) : SerialDeviceEncoders.servoBreathBlock(values)
    }

    package var fuzzTarget: String { mode == .polled ? "servo" : "servoradc" }
    package var fuzzSeeds: [String] {
        ["Tests/AlveoDevicesTests/Fixtures/" + (mode == .polled ? "servo_cie_*_computed.bin" : "servo_cie_radc_*.bin")]
    }

    /// RADAB replies after the identification and channel configuration were answered; RADC blocks
    /// through the stream decoder.
    package func benchmark(_ values: SerialDeviceEncoders.Values) -> DriverBenchmark {
        let frame = dataFrame(values, sensor: .ok)
        guard mode == .polled else {
            var decoder = ServoRADCDecoder(source: "v")
            return DriverBenchmark(label: "SERVO RADC", frame: frame) { decoder.feed($0).count }
        }
        var session = ServoSession(source: "v", mode: .polled)
        _ = session.start(at: 0)
        for reply in [ServoCIE.message("Servo-i0")] + Array(repeating: ServoCIE.message("ER12"), count: 6) + [ServoCIE.message("*")] {
            _ = session.receive(reply, at: 0)
        }
        return DriverBenchmark(label: "SERVO RADAB", frame: frame, session: session)
    }

    /// A SERVO-i in EXTENDED mode: it identifies itself, gives the manual's channel configuration,
    /// acknowledges channel definitions and the connection check with `*`, answers `RADAB` with its
    /// breath data; `RADC` starts the stream (played by `streamInterval`), ESC is dropped.
    package func answers(to heard: inout [UInt8]) -> [SimulatedAnswer] {
        var answers: [SimulatedAnswer] = []
        while let end = heard.firstIndex(of: ServoCIE.eot) {
            var command = Array(heard[..<end])
            heard.removeSubrange(...end)
            command.removeAll { $0 == ServoCIE.esc }
            guard command.count >= 2, Array(command.suffix(2)) == ServoCIE.checksum(command.dropLast(2)) else {
                answers.append(.bytes(command.isEmpty ? ServoCIE.message("*") : ServoCIE.message("ER18")))
                continue
            }
            let text = String(decoding: command.dropLast(2), as: UTF8.self)
            if text == "RCTY" {
                answers.append(.bytes(ServoCIE.message("Servo-i0")))
            } else if text.hasPrefix("RCCO"), let number = Int(text.dropFirst(4)), let channel = ServoCIE.channel(number) {
                answers.append(.bytes(SerialDeviceEncoders.servoChannelConfiguration(channel)))
            } else if text.hasPrefix("SDAD") || text.hasPrefix("SPVE") {
                answers.append(.bytes(ServoCIE.message("*")))
            } else if text == "RHVE" {
                answers.append(.bytes(ServoCIE.message("005")))
            } else if text == "RADAB", mode == .polled {
                answers.append(.dataFrame)
            } else if text != "RADC" {
                answers.append(.bytes(ServoCIE.message("ER10")))
            }
        }
        // ESC alone (a stream stopped) has no EOT after it.
        if heard.allSatisfy({ $0 == ServoCIE.esc }) { heard.removeAll() }
        return answers
    }
}
