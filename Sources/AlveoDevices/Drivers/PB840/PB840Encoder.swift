import AlveoCore

extension SerialDeviceEncoders {
    /// A PB840 MISCF reply (169 fields, byte and field counts consistent) carrying the given values.
    package static func pb840MISCF(_ values: Values, time: String = "12:00") -> [UInt8] {
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
}
