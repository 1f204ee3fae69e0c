import AlveoCore

extension SerialDeviceEncoders {
    /// A Masimo ASCII 1 line.
    package static func masimoLine(_ values: Values, sensor: SensorState) -> [UInt8] {
        let exc = switch sensor {
        case .ok: "000800"
        case .off: "000820"
        case .disconnected: "000801"
        }
        let spo2 = sensor == .ok ? values[.spo2].map { fixed($0, 0).leftPadded(3) } ?? "---" : "---"
        let bpm = sensor == .ok ? values[.pulseRate].map { fixed($0, 0).leftPadded(3) } ?? "---" : "---"
        return Array("01/01/26 12:00:00 SN=0000000001 SPO2=\(spo2)% BPM=\(bpm) PI=02.00% ALARM=0000 EXC=\(exc)\r\n".utf8)
    }
}
