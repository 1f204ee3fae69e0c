/// Uppercase hexadecimal: bytes shown to people (trace listings, serial checks, Modbus exception
/// codes) and protocols that carry hex digits (MEDIBUS checksums and codes).
package enum Hex {
    private static let digits: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// The two ASCII digits of `byte`.
    package static func digits(of byte: UInt8) -> [UInt8] {
        [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
    }

    /// `byte` as two digits: 0x1B → "1B".
    package static func byte(_ byte: UInt8) -> String {
        String(decoding: digits(of: byte), as: UTF8.self)
    }

    /// `word` as four digits: 0x8000 → "8000".
    package static func word(_ word: UInt16) -> String {
        String(decoding: digits(of: UInt8(word >> 8)) + digits(of: UInt8(word & 0xFF)), as: UTF8.self)
    }
}

extension Hex {
    /// The value of one ASCII hex digit (either case), or nil.
    package static func value(_ digit: UInt8) -> UInt8? {
        switch digit {
        case 0x30...0x39: digit - 0x30
        case 0x41...0x46: digit - 0x41 + 10
        case 0x61...0x66: digit - 0x61 + 10
        default: nil
        }
    }

    /// The byte two ASCII hex digits spell ("1b" → 0x1B), or nil.
    package static func byte(_ high: UInt8, _ low: UInt8) -> UInt8? {
        guard let high = value(high), let low = value(low) else { return nil }
        return high << 4 | low
    }
}
