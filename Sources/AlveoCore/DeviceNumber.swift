/// Where a device's (or a file's) text or bits become a number the clinical core may take.
///
/// A value is usable when it is finite and no larger in magnitude than `magnitudeLimit`: no parameter
/// Alveo reads comes near it in any unit a device uses, so anything past it is a fault of the device
/// or the line, not a measurement. Such a value is never converted or computed with: it becomes
/// `ObservedValue.unusable` carrying the text received (printable and short), and the core reports it
/// as `technical.value_rejected`. Numbers within the limit but outside a parameter's accepted range
/// (an SpO2 of 140 %) are the core's to reject, with the same alarm.
package enum DeviceNumber {
    /// The largest magnitude a decoded number may have and still be handed to the core as a number.
    package static let magnitudeLimit = 1e9
    /// Longest decimal text read as a number; anything longer is not a number (and is not copied).
    package static let maxTextLength = 40
    /// Longest text of an unusable value kept for the alarm text.
    package static let shownLength = 24

    /// The observed value for a decoded number: `.number` when usable, else `.unusable` with `text`.
    package static func value(_ x: Double, text: @autoclosure () -> String) -> ObservedValue {
        isUsable(x) ? .number(x) : .unusable(shown(text()))
    }

    /// Finite and within ±`magnitudeLimit`.
    package static func isUsable(_ x: Double) -> Bool {
        x.isFinite && abs(x) <= magnitudeLimit
    }

    /// Strict decimal text as an observed value: `.number` or `.unusable` (text kept); nil when the
    /// text is not a number at all (blank, a dash, a word: the caller decides what that means for its
    /// protocol). A device that sends `INF`, `-nan` or 50 digits sent a number no measurement can be:
    /// that is `.unusable`, so the core reports it, never "no data".
    package static func parse(_ bytes: some Collection<UInt8>) -> ObservedValue? {
        let array = Array(bytes.prefix(maxTextLength + 1))
        return array.withUnsafeBufferPointer { buffer -> ObservedValue? in
            if let x = DecimalText.parse(buffer) { return value(x, text: String(decoding: buffer, as: UTF8.self)) }
            if isNonFiniteWord(buffer) || (buffer.count > maxTextLength && buffer.allSatisfy(isNumberByte)) {
                return .unusable(shown(String(decoding: buffer, as: UTF8.self)))
            }
            return nil
        }
    }

    private static func isNumberByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
    }

    /// `inf`, `infinity`, `nan` in any case, with an optional sign.
    private static func isNonFiniteWord(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var word = bytes[...]
        if let first = word.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") { word = word.dropFirst() }
        let lowered = String(decoding: word.map { $0 | 0x20 }, as: UTF8.self)
        return lowered == "inf" || lowered == "infinity" || lowered == "nan"
    }

    /// As `parse`, then multiplied by `factor` (a unit conversion from `unit`, the device's), the
    /// product bounded again. An unusable product keeps the device's text with its unit ("2000000 l"):
    /// the number alone would read as Alveo's unit.
    package static func parse(_ bytes: some Collection<UInt8>, times factor: Double, unit: String) -> ObservedValue? {
        guard let parsed = parse(bytes) else { return nil }
        guard case .number(let x) = parsed else { return parsed }
        return value(x * factor, text: String(decoding: bytes.prefix(maxTextLength), as: UTF8.self) + " " + unit)
    }

    /// `text` as an alarm text shows it: printable and at most `shownLength` characters (`Shown`).
    package static func shown(_ text: String) -> String {
        Shown.text(text.utf8, limit: shownLength)
    }
}

/// Text that came from outside (a device, a file, a person) as it may be echoed into an alarm text,
/// an error message, a log line or a terminal: printable ASCII only, every other byte and the
/// backslash as `\xNN`, at most `limit` characters, then "…". Never the whole of a 100 MB field.
package enum Shown {
    package static func text(_ bytes: some Sequence<UInt8>, limit: Int = 60) -> String {
        var out = ""
        var count = 0
        for byte in bytes {
            guard count < limit else { return out + "…" }
            if byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\\") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "\\x" + String(decoding: Hex.digits(of: byte), as: UTF8.self)
            }
            count += 1
        }
        return out
    }
}

/// Strict decimal numbers from bytes, without building strings: optional sign, digits, optional
/// fraction, optional exponent. "nan", "inf", hex, blanks inside and empty text are refused, and so
/// is text longer than `DeviceNumber.maxTextLength`. Decimal text past Double's range ("1e400") gives
/// ±infinity, never NaN: the caller bounds the result. Exact for up to 15 significant digits (an
/// integer mantissa divided by an exact power of ten is correctly rounded).
package enum DecimalText {
    private static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    package static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        guard !bytes.isEmpty, bytes.count <= DeviceNumber.maxTextLength else { return nil }
        var index = bytes.startIndex
        let end = bytes.endIndex
        var negative = false
        if bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        var mantissa: UInt64 = 0
        var significant = 0, fractionDigits = 0
        var sawPoint = false, sawDigit = false
        while index < end {
            let byte = bytes[index]
            if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                sawDigit = true
                let digit = UInt64(byte - UInt8(ascii: "0"))
                if significant == 0 && digit == 0 {
                    if sawPoint { fractionDigits += 1 }
                } else {
                    guard significant < 15 else { return slowParse(bytes) }
                    mantissa = mantissa * 10 + digit
                    significant += 1
                    if sawPoint { fractionDigits += 1 }
                }
            } else if byte == UInt8(ascii: "."), !sawPoint {
                sawPoint = true
            } else {
                break
            }
            index += 1
        }
        guard sawDigit else { return nil }
        if index < end {
            guard bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") else { return nil }
            return slowParse(bytes)
        }
        guard fractionDigits <= 22 else { return slowParse(bytes) }
        // A whole number (most device values and every scenario time) needs no division.
        var value = fractionDigits == 0 ? Double(mantissa) : Double(mantissa) / powersOfTen[fractionDigits]
        if negative { value = -value }
        return value
    }

    private static func slowParse(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "e"), UInt8(ascii: "E"): continue
            default: return nil
            }
        }
        return Double(String(decoding: bytes, as: UTF8.self))
    }
}
