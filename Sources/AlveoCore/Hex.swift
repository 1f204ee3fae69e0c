/// Uppercase hexadecimal: bytes shown to people (trace listings, serial checks, Modbus exception
/// codes) and protocols that carry hex digits (MEDIBUS checksums and codes).
public enum Hex {
    private static let digits: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// The two ASCII digits of `byte`.
    public static func digits(of byte: UInt8) -> [UInt8] {
        [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
    }

    /// `byte` as two digits: 0x1B → "1B".
    public static func byte(_ byte: UInt8) -> String {
        String(decoding: digits(of: byte), as: UTF8.self)
    }

    /// `word` as four digits: 0x8000 → "8000".
    public static func word(_ word: UInt16) -> String {
        String(decoding: digits(of: UInt8(word >> 8)) + digits(of: UInt8(word & 0xFF)), as: UTF8.self)
    }
}
