/// The name of a source of observations (a device id such as `vent` or `oxi`, or `lab`, `nurse`):
/// it goes into alarm texts, journal entries, HL7 fields, syslog structured data and log lines, so it
/// is kept to what is safe in all of them: 1 to 32 ASCII letters, digits, `_`, `-` and `.`.
public enum SourceName {
    public static let maxLength = 32

    /// Whether `name` may name a source (configuration and scenario files refuse any other).
    public static func isValid(_ name: some StringProtocol) -> Bool {
        let bytes = name.utf8
        guard !bytes.isEmpty, bytes.count <= maxLength else { return false }
        return bytes.allSatisfy(isAllowed)
    }

    /// As `isValid`, over bytes.
    public static func isValid(bytes: some Collection<UInt8>) -> Bool {
        !bytes.isEmpty && bytes.count <= maxLength && bytes.allSatisfy(isAllowed)
    }

    /// What a valid name is, for error messages.
    public static let rule = "1 to 32 ASCII letters, digits, _ - . (no spaces)"

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."): true
        default: false
        }
    }
}
