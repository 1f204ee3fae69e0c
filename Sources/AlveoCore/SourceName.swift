/// The name of a source of observations (a device id such as `vent` or `oxi`, or `lab`, `nurse`) and
/// of a bed (`bed_id`): it goes into alarm texts, journal entries, HL7 fields, syslog structured data
/// and log lines, so it is kept to what is safe in all of them: 1 to 64 letters, digits, `_`, `-` and
/// `.` (letters and digits of any script, as configurations have always allowed: `beatmung_ü`; never
/// spaces, punctuation, control or formatting characters).
package enum SourceName {
    package static let maxLength = 64

    /// Whether `name` may name a source (configuration and scenario files refuse any other).
    package static func isValid(_ name: some StringProtocol) -> Bool {
        guard !name.isEmpty, name.count <= maxLength else { return false }
        return name.allSatisfy { character in
            character == "_" || character == "-" || character == "." || character.isLetter || character.isNumber
        }
    }

    /// As `isValid`, over UTF-8 bytes (invalid UTF-8 is not a name).
    package static func isValid(bytes: some Collection<UInt8>) -> Bool {
        guard !bytes.isEmpty, bytes.count <= 4 * maxLength, let text = String(validating: Array(bytes), as: UTF8.self) else { return false }
        return isValid(text)
    }

    /// What a valid name is, for error messages.
    package static let rule = "1 to 64 letters, digits, _ - . (no spaces)"
}
