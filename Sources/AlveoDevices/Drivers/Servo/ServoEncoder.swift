import AlveoCore

extension SerialDeviceEncoders {
    /// A SERVO channel's raw value for a value in Alveo's units: (value ÷ unit factor + offset) ÷ gain,
    /// rounded and kept below the "no value" codes; nil → nil.
    static func servoRaw(_ value: Double?, _ channel: ServoCIE.Channel, max: Int) -> Int? {
        guard let value else { return nil }
        let raw = ((value / channel.toAlveo + channel.offset) / channel.gain).rounded()
        return Swift.max(0, Swift.min(max, Int(saturating: raw)))
    }

    /// A SERVO `RADAB` reply for the manual's six breath channels: 4 digits each (`9999`: no value),
    /// checksum, EOT.
    package static func servoBreathReply(_ values: Values, channels: [ServoCIE.Channel] = ServoCIE.breathChannels) -> [UInt8] {
        let digits = channels.map { channel in
            servoRaw(values[channel.parameter], channel, max: 9998).map { String($0).leftPadded(4) } ?? "9999"
        }
        return ServoCIE.message(digits.joined())
    }

    /// A SERVO `RADC` breath block: 'B', 2 bytes per channel MSB first (`7E FF`: no value), 0x7F, XOR.
    package static func servoBreathBlock(_ values: Values, channels: [ServoCIE.Channel] = ServoCIE.breathChannels) -> [UInt8] {
        var block: [UInt8] = [UInt8(ascii: "B")]
        for channel in channels {
            let raw = servoRaw(values[channel.parameter], channel, max: 0x7EFE) ?? 0x7EFF
            block += [UInt8(raw >> 8), UInt8(raw & 0xFF)]
        }
        block.append(ServoCIE.endFlag)
        return block + [ServoCIE.xor(block)]
    }

    /// A SERVO `RCCO<ch>` reply with the manual's gain: `<ch>,<gain>,<offset>,<unit>,BT,<id>;`.
    package static func servoChannelConfiguration(_ channel: ServoCIE.Channel) -> [UInt8] {
        let unit = switch channel.parameter {
        case .vt: "01"
        case .rr: "06"
        case .fio2: "07"
        default: "04"
        }
        // The manual's gains are 1 and 0.1: 00001E+000 and 00001E-001.
        let gain = channel.gain == 1 ? "00001E+000" : "00001E-001"
        return ServoCIE.message("\(channel.number),\(gain),00000E+000,\(unit),BT,\(channel.number);")
    }
}
