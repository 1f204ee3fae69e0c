import AlveoCore

extension SerialDeviceEncoders {
    /// A Nonin format #2 packet (25 frames).
    package static func noninPacket(_ values: Values, sensor: SensorState) -> [UInt8] {
        let hr = values[.pulseRate].map { Int(saturating: $0.rounded()) } ?? 511
        let spo2 = values[.spo2].map { Int(saturating: $0.rounded()) } ?? 127
        var bytes: [UInt8] = []
        for index in 0..<25 {
            var status: UInt8 = 0x80 | 0x02  // perfusion green
            if index == 0 { status |= 0x01 }  // SYNC
            if sensor != .ok { status |= 0x40 }
            let data: UInt8 = switch index {
            case 0: UInt8((hr >> 7) & 0x03)
            case 1: UInt8(hr & 0x7F)
            case 2: UInt8(spo2 & 0x7F)
            default: 0
            }
            let frame: [UInt8] = [0x01, status, 0x00, data]
            bytes += frame + [UInt8(truncatingIfNeeded: frame.reduce(0) { $0 + Int($1) })]
        }
        return bytes
    }
}

extension SerialDeviceEncoders {
    /// A Nonin format #8 frame (4 bytes: status with the high bits of HR, HR, SpO2, reserved).
    package static func noninDF8Frame(_ values: Values, sensor: SensorState) -> [UInt8] {
        let hr = values[.pulseRate].map { Int(saturating: $0.rounded()) } ?? 511
        let spo2 = values[.spo2].map { Int(saturating: $0.rounded()) } ?? 127
        return [0x80 | (sensor == .ok ? 0 : 0x40) | UInt8((hr >> 7) & 3), UInt8(hr & 0x7F), UInt8(spo2 & 0x7F), 0]
    }

    static func fixed(_ value: Double, _ decimals: Int) -> String { Fmt.fixed(value, decimals) }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
