import AlveoCore

/// What a simulated serial device says, built from the values it currently "measures" (in Alveo's
/// units): the inverse of the decoders, for `alveo simulate` and tests.
public enum SerialDeviceEncoders {
    public typealias Values = [Parameter: Double]

    /// A PB840 MISCF reply (169 fields, byte and field counts consistent) carrying the given values.
    public static func pb840MISCF(_ values: Values, time: String = "12:00") -> [UInt8] {
        var fields = [String](repeating: "      ", count: 169)
        func set(_ number: Int, _ text: String) {
            fields[number - 5] = text.count >= 6 ? text : text + String(repeating: " ", count: 6 - text.count)
        }
        set(5, time)
        set(55, values[.fio2] == nil ? "Disabled " : "Enabled  ")
        if let rr = values[.rr] { set(70, fixed(rr, 1)) }
        if let vt = values[.vt] { set(71, fixed(vt / 1000, 3)) }
        if let ppeak = values[.ppeak] { set(73, fixed(ppeak, 1)) }
        if let fio2 = values[.fio2] { set(77, fixed(fio2, 0)) }
        if let peep = values[.peep] { set(87, fixed(peep, 1)) }
        set(94, fixed(values[.pplat] ?? 0, 1))  // 0.0: no pause manoeuvre
        for number in 105...153 { set(number, "NORMAL") }
        let payload = Array((fields.joined(separator: ",") + ",").utf8)
        return Array("MISCF,\(payload.count),169 ,".utf8) + [0x02] + payload + [0x03, 0x0D]
    }

    /// A MEDIBUS measured-data (code page 1) response: SOH '$' records checksum CR.
    public static func medibusMeasured(_ values: Values) -> [UInt8] {
        let records: [(UInt8, Parameter, Double)] = [
            (0x88, .vt, 1), (0x74, .pplat, 1 / 1.019716), (0x78, .peep, 1 / 1.019716), (0x7D, .ppeak, 1 / 1.019716),
            (0xF0, .fio2, 1), (0xD6, .rr, 1), (0xEB, .spo2, 1), (0xE1, .pulseRate, 1),
        ]
        var body: [UInt8] = [0x01, 0x24]
        for (code, parameter, factor) in records {
            let text = values[parameter].map { fixed($0 * factor, parameter == .vt || parameter == .spo2 || parameter == .pulseRate || parameter == .fio2 ? 0 : 1) } ?? ""
            let value = String(text.suffix(4))
            body += Hex.digits(of: code) + Array((String(repeating: " ", count: 4 - value.count) + value).utf8)
        }
        return body + MedibusSession.checksum(body) + [0x0D]
    }

    /// A Masimo ASCII 1 line.
    public static func masimoLine(_ values: Values, sensor: SensorState) -> [UInt8] {
        let exc = switch sensor {
        case .ok: "000800"
        case .off: "000820"
        case .disconnected: "000801"
        }
        let spo2 = sensor == .ok ? values[.spo2].map { fixed($0, 0).leftPadded(3) } ?? "---" : "---"
        let bpm = sensor == .ok ? values[.pulseRate].map { fixed($0, 0).leftPadded(3) } ?? "---" : "---"
        return Array("01/01/26 12:00:00 SN=0000000001 SPO2=\(spo2)% BPM=\(bpm) PI=02.00% ALARM=0000 EXC=\(exc)\r\n".utf8)
    }

    /// A Nonin format #2 packet (25 frames).
    public static func noninPacket(_ values: Values, sensor: SensorState) -> [UInt8] {
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

    /// A Nonin format #8 frame (4 bytes: status with the high bits of HR, HR, SpO2, reserved).
    public static func noninDF8Frame(_ values: Values, sensor: SensorState) -> [UInt8] {
        let hr = values[.pulseRate].map { Int(saturating: $0.rounded()) } ?? 511
        let spo2 = values[.spo2].map { Int(saturating: $0.rounded()) } ?? 127
        return [0x80 | (sensor == .ok ? 0 : 0x40) | UInt8((hr >> 7) & 3), UInt8(hr & 0x7F), UInt8(spo2 & 0x7F), 0]
    }

    static func fixed(_ value: Double, _ decimals: Int) -> String { Fmt.fixed(value, decimals) }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
