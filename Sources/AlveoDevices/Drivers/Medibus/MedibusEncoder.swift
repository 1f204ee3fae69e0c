import AlveoCore

extension SerialDeviceEncoders {
    /// A MEDIBUS measured-data (code page 1) response: SOH '$' records checksum CR.
    package static func medibusMeasured(_ values: Values) -> [UInt8] {
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
}
