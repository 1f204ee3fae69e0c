import AlveoCore

/// The pieces of the Maquet SERVO-i / SERVO-s Computer Interface Emulator (CIE) protocol that both
/// modes share: commands with their XOR checksum, the breath channels Alveo reads with the manual's
/// gains, and the channel configuration (`RCCO`) and error (`ER<nn>`) replies
/// (device-protocols-monitors-vents.md §SERVO; devices/servo/README.md).
package enum ServoCIE {
    package static let eot: UInt8 = 0x04, esc: UInt8 = 0x1B, endFlag: UInt8 = 0x7F
    package static let xon: UInt8 = 0x11, xoff: UInt8 = 0x13

    /// A breath channel (type BT) and how its raw value becomes Alveo's: raw × gain − offset.
    package struct Channel: Sendable, Equatable {
        package var number: Int
        package var parameter: Parameter
        /// Per unit of the raw value, in the channel's unit.
        package var gain: Double
        package var offset: Double
        /// From the channel's unit to Alveo's (mbar → cmH2O, l → ml); 1 in the manual's units.
        package var toAlveo: Double

        package init(number: Int, parameter: Parameter, gain: Double, offset: Double = 0, toAlveo: Double = 1) {
            self.number = number
            self.parameter = parameter
            self.gain = gain
            self.offset = offset
            self.toAlveo = toAlveo
        }

        /// The value in Alveo's unit of a raw value the ventilator sent.
        package func value(raw: Int) -> ObservedValue {
            // A gain of 0.1 divides by 10, so that 169 reads 16.9 and not 16.900000000000002.
            let inverse = (1 / gain).rounded()
            let scaled = inverse > 1 && abs(1 / inverse - gain) <= gain * 1e-12 ? Double(raw) / inverse : Double(raw) * gain
            let x = (scaled - offset) * toAlveo
            return DeviceNumber.value(x, text: "\(raw) (channel \(number))")
        }
    }

    /// The breath channels Alveo defines with `SDADB`, in table order, with the manual's gains
    /// (65 43 388 rev 12; offset 0). `RCCO` replaces a gain when the ventilator reports its own.
    package static let breathChannels: [Channel] = [
        Channel(number: 200, parameter: .rr, gain: 0.1),     // measured breath frequency, breaths/min
        Channel(number: 201, parameter: .vt, gain: 1),       // expiratory tidal volume, ml
        Channel(number: 205, parameter: .ppeak, gain: 0.1),  // peak pressure, cmH2O
        Channel(number: 207, parameter: .pplat, gain: 0.1),  // pause (plateau) pressure, cmH2O
        Channel(number: 208, parameter: .peep, gain: 0.1),   // end-expiratory pressure, cmH2O
        Channel(number: 209, parameter: .fio2, gain: 0.1),   // O2 concentration, %
    ]

    /// The manual's channel, by number (only the channels above).
    package static func channel(_ number: Int) -> Channel? {
        breathChannels.first { $0.number == number }
    }

    /// XOR of the bytes.
    package static func xor(_ bytes: some Sequence<UInt8>) -> UInt8 {
        bytes.reduce(0, ^)
    }

    /// The EXTENDED-mode checksum: the XOR of the message bytes as two uppercase hex characters.
    package static func checksum(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        Hex.digits(of: xor(bytes))
    }

    /// The message of an EXTENDED-mode reply, `text` being every byte received between the command
    /// and the reply's EOT (XON/XOFF removed): the text is printable, at least one character and its
    /// 2-character checksum, and the checksum is the XOR of all the rest. nil otherwise. A reply starts
    /// where the answer to the command starts: nothing is searched for inside the text, because an XOR
    /// cannot tell a shifted or permuted reply from the real one (`0` inserted after `005` in
    /// `005200450280022000550400`: the longest suffix whose XOR held read RR 50.2, not 5.2). Noise
    /// before a reply therefore discards the reply, not just the noise.
    package static func checkedMessage(_ text: [UInt8]) -> [UInt8]? {
        guard text.count >= 3, text.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return nil }
        let message = Array(text[..<(text.count - 2)])
        guard checksum(message).elementsEqual(text.suffix(2)) else { return nil }
        return message
    }

    /// An EXTENDED-mode command or reply: text, checksum, EOT (`RCTY` → `RCTY1C<EOT>`).
    package static func message(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        return bytes + checksum(bytes) + [eot]
    }

    /// `SDADB` with each channel as 3 digits.
    package static func defineBreath(_ channels: [Channel]) -> [UInt8] {
        message("SDADB" + channels.map { String($0.number).leftPadded(3) }.joined())
    }

    /// Decimal digits only (no sign, at most 9): nil otherwise.
    package static func integer(_ bytes: some Collection<UInt8>) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 9, bytes.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return bytes.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    }

    /// What an error code means (manual: ASCII `ER<nn>`, binary `E0 <code>`).
    package static func errorText(_ code: Int) -> String {
        switch code {
        case 10: "invalid command"
        case 11: "syntax error"
        case 12: "value out of range or not supported"
        case 15: "trend channel undefined"
        case 16: "CIE not configured (no channels)"
        case 17: "ventilator in standby"
        case 18: "checksum error"
        case 19: "buffer full"
        default: "error"
        }
    }

    /// A channel's configuration from an `RCCO<ch>` reply, `<ch>,<gain>,<offset>,<unit>,<type>,<id>;`
    /// (a reply may hold several `;`-separated entries, or a sampling time first): the manual's channel
    /// with the ventilator's gain, offset and unit. nil with the reason when the reply is not usable,
    /// and the caller keeps the manual's gain.
    package static func configuration(_ reply: [UInt8], for manual: Channel) -> (channel: Channel?, problem: String?) {
        let entries = reply.split(separator: UInt8(ascii: ";"))
        guard let entry = entries.first(where: { entry in
            entry.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false).first.map { integer($0) == manual.number } ?? false
        }) else {
            return (nil, "no configuration of channel \(manual.number) in the RCCO reply '\(Shown.text(reply, limit: 40))'")
        }
        let fields = entry.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
        guard fields.count >= 4 else { return (nil, "channel \(manual.number): RCCO reply with \(fields.count) fields, expected 6") }
        guard case .number(let gain)? = DeviceNumber.parse(fields[1]), gain > 0, gain <= 1000 else {
            return (nil, "channel \(manual.number): gain '\(Shown.text(fields[1], limit: 16))' is not a usable gain")
        }
        var offset = 0.0
        if !fields[2].allSatisfy({ $0 == UInt8(ascii: "-") }) {
            guard case .number(let value)? = DeviceNumber.parse(fields[2]), abs(value) <= 100_000 else {
                return (nil, "channel \(manual.number): offset '\(Shown.text(fields[2], limit: 16))' is not a usable offset")
            }
            offset = value
        }
        let unit = integer(fields[3])
        guard let unit, let toAlveo = factor(unit: unit, for: manual.parameter) else {
            return (nil, "channel \(manual.number): unit code '\(Shown.text(fields[3], limit: 8))' is not one Alveo reads for \(manual.parameter.name)")
        }
        var channel = manual
        channel.gain = gain
        channel.offset = offset
        channel.toAlveo = toAlveo
        return (channel, nil)
    }

    /// CIE unit codes (01 ml, 04 cmH2O, 06 breaths/min, 07 %, 11 kPa, 12 mbar, 17 l) as the units every
    /// device adapter converts with (`DeviceUnit`), with a multiplier (1 kPa = 10 mbar).
    static let units: [Int: (unit: DeviceUnit, times: Double)] = [
        1: (.millilitre, 1), 4: (.cmH2O, 1), 6: (.perMinute, 1), 7: (.percent, 1), 11: (.mbar, 10), 12: (.mbar, 1), 17: (.litre, 1),
    ]

    /// The factor from a CIE unit code to Alveo's unit for `parameter`; nil for a unit it does not take.
    static func factor(unit code: Int, for parameter: Parameter) -> Double? {
        guard let (unit, times) = units[code], DeviceUnit.allowed(for: parameter).contains(unit) else { return nil }
        return unit.toScenarioUnit(times)
    }
}

