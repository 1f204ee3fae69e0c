import AlveoCore

/// A simulated S/5 monitor's physiological record (for `alveo simulate`, the tests and the trace
/// synthesizer): one displayed basic-class subrecord with the ECG, an arterial line (P1 labelled ART),
/// SpO2, O2 and spirometry groups present for the values given; a probe off the finger makes SpO2
/// and pulse rate "no valid data" (-32767).
extension SerialDeviceEncoders {
    package static func s5Record(_ values: Values, sensor: SensorState, number: UInt8 = 0, time: UInt32 = 0) -> [UInt8] {
        S5Frame.encode(s5PhysiologicalRecord(values, sensor: sensor, number: number, time: time))
    }

    /// The record unframed.
    package static func s5PhysiologicalRecord(_ values: Values, sensor: SensorState, number: UInt8 = 0, time: UInt32 = 0) -> [UInt8] {
        var sub = [UInt8](repeating: 0, count: S5Record.phdbSize)
        put32(&sub, 0, time)
        // Every value field "no valid data" first; groups not present.
        for at in stride(from: 4, to: 4 + 268, by: 2) { put16(&sub, at, UInt16(bitPattern: -32767)) }
        for offset in [S5Record.ecg, S5Record.nibp, S5Record.spo2, S5Record.o2, S5Record.flowVolume] + S5Record.invasivePressures {
            put32(&sub, offset, 0)
            put16(&sub, offset + 4, 0)
        }
        func group(_ offset: Int, label: UInt16 = 0, _ fields: [(Int, Double?, Double)]) {
            put32(&sub, offset, 3)  // exists, active
            put16(&sub, offset + 4, label)
            for (field, value, factor) in fields {
                let raw: Int16 = value.map { Int16(clamping: Int(saturating: ($0 * factor).rounded())) } ?? -32767
                put16(&sub, offset + 6 + 2 * field, UInt16(bitPattern: raw))
            }
        }
        let probeOn = sensor == .ok
        if values[.heartRate] != nil { group(S5Record.ecg, [(0, values[.heartRate], 1)]) }
        if values[.map] != nil { group(S5Record.invasivePressures[0], label: 1, [(2, values[.map], 100)]) }
        if values[.spo2] != nil || values[.pulseRate] != nil {
            group(S5Record.spo2, [(0, probeOn ? values[.spo2] : nil, 100), (1, probeOn ? values[.pulseRate] : nil, 1)])
        }
        if values[.fio2] != nil { group(S5Record.o2, [(1, values[.fio2], 100)]) }
        let ventilation: [Parameter] = [.rr, .ppeak, .peep, .pplat, .vt]
        if ventilation.contains(where: { values[$0] != nil }) {
            group(S5Record.flowVolume, [(0, values[.rr], 1), (1, values[.ppeak], 100), (2, values[.peep], 100),
                                        (3, values[.pplat], 100), (5, values[.vt], 10)])
        }
        put16(&sub, S5Record.phdbSize - 2, UInt16(S5Record.displayed))  // basic class, displayed values
        let header = S5Record.header(length: S5Frame.headerSize + sub.count, number: number, time: time,
                                     mainType: S5Record.physiologicalData, subrecords: [(0, S5Record.displayed)])
        return header + sub
    }

    private static func put16(_ bytes: inout [UInt8], _ at: Int, _ value: UInt16) {
        bytes[at] = UInt8(value & 0xFF)
        bytes[at + 1] = UInt8(value >> 8)
    }

    private static func put32(_ bytes: inout [UInt8], _ at: Int, _ value: UInt32) {
        put16(&bytes, at, UInt16(value & 0xFFFF))
        put16(&bytes, at + 2, UInt16(value >> 16))
    }
}
