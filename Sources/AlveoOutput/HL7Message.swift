import AlveoCore
import Foundation

/// An HL7 v2 message in its usual encoding (ER7: segments by CR, fields by `|`, components `^`,
/// repetitions `~`, escape `\`, subcomponents `&`, as MSH-1 and MSH-2 declare them), as a laboratory
/// system, a blood gas middleware or an ADT feed sends it. Parsed without trusting it: any byte sequence
/// gives a message or a reason, in time and memory linear in its length, with at most `maxSegments`
/// segments and `maxFields` fields per segment kept. Values are unescaped when read.
package struct HL7Message: Sendable {
    package struct Segment: Sendable {
        /// The segment id: MSH, PID, OBR, OBX, PV1, …
        package let name: String
        /// Raw (escaped) fields; `fields[n]` is field n (for MSH, MSH-1 is the field separator itself).
        let fields: [[UInt8]]
    }

    package let segments: [Segment]
    let separators: Separators
    /// MSH-18 said ISO 8859-1: text is read as Latin-1, else as UTF-8.
    let latin1: Bool

    package static let maxSegments = 2000
    package static let maxFields = 300
    /// A single value longer than this is cut (no field Alveo reads is longer).
    package static let maxValueBytes = 4096

    struct Separators: Sendable {
        var field: UInt8
        var component: UInt8
        var repetition: UInt8
        var escape: UInt8?
        var subcomponent: UInt8?
    }

    /// Why a message could not be read; short, printable, and never the message's content.
    package struct ParseError: Error, Sendable, CustomStringConvertible, Equatable {
        package var description: String
    }

    package static func parse(_ bytes: [UInt8]) -> Result<HL7Message, ParseError> {
        var start = 0
        // Leading line breaks (some senders frame with a CR or LF first).
        while start < bytes.count, bytes[start] == 0x0D || bytes[start] == 0x0A { start += 1 }
        guard bytes.count - start >= 8, bytes[start] == UInt8(ascii: "M"), bytes[start + 1] == UInt8(ascii: "S"), bytes[start + 2] == UInt8(ascii: "H") else {
            return .failure(ParseError(description: "not an HL7 v2 message: it does not start with MSH"))
        }
        let field = bytes[start + 3]
        // MSH-2: component, repetition, escape, subcomponent (the last two optional; v2.7 adds truncation).
        var encoding: [UInt8] = []
        var index = start + 4
        while index < bytes.count, bytes[index] != field, bytes[index] != 0x0D, bytes[index] != 0x0A, encoding.count < 5 {
            encoding.append(bytes[index])
            index += 1
        }
        let all = [field] + encoding
        func printable(_ byte: UInt8) -> Bool { byte > 0x20 && byte < 0x7F && !(byte >= 0x30 && byte <= 0x39) && !((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A) }
        guard encoding.count >= 2, all.allSatisfy(printable), Set(all).count == all.count else {
            return .failure(ParseError(description: "MSH-1/MSH-2: the separators must be distinct printable non-alphanumeric characters"))
        }
        let separators = Separators(field: field, component: encoding[0], repetition: encoding[1],
                                    escape: encoding.count > 2 ? encoding[2] : nil, subcomponent: encoding.count > 3 ? encoding[3] : nil)
        var segments: [Segment] = []
        var lineStart = start
        var position = start
        func finishLine(_ end: Int) {
            guard end > lineStart, segments.count < maxSegments else { return }
            var fields: [[UInt8]] = []
            var fieldStart = lineStart
            var cursor = lineStart
            while cursor <= end, fields.count < maxFields {
                if cursor == end || bytes[cursor] == field {
                    fields.append(Array(bytes[fieldStart..<min(cursor, fieldStart + maxValueBytes * 4)]))
                    fieldStart = cursor + 1
                }
                cursor += 1
            }
            let nameBytes = fields.first ?? []
            guard (3...3).contains(nameBytes.count), nameBytes.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) }) else { return }
            let name = String(decoding: nameBytes, as: UTF8.self)
            if name == "MSH" {
                // MSH-1 is the separator between "MSH" and MSH-2: field n is fields[n - 1].
                fields.insert([field], at: 1)
            }
            segments.append(Segment(name: name, fields: fields))
        }
        while position < bytes.count {
            let byte = bytes[position]
            if byte == 0x0D || byte == 0x0A {
                finishLine(position)
                lineStart = position + 1
            }
            position += 1
        }
        finishLine(bytes.count)
        guard segments.first?.name == "MSH" else { return .failure(ParseError(description: "not an HL7 v2 message: no MSH segment")) }
        let charset = segments[0].fields.count > 18 ? String(decoding: segments[0].fields[18].prefix(32), as: UTF8.self).uppercased() : ""
        return .success(HL7Message(segments: segments, separators: separators, latin1: charset.contains("8859/1")))
    }

    /// The first segment of that name, and every one.
    package func first(_ name: String) -> Segment? { segments.first { $0.name == name } }
    package func all(_ name: String) -> [Segment] { segments.filter { $0.name == name } }

    /// A value: segment's field `field` (1-based, as HL7 numbers them), repetition `repetition`
    /// (0-based), component and subcomponent (1-based); unescaped, "" when absent.
    package func value(_ segment: Segment, _ field: Int, component: Int = 1, subcomponent: Int = 1, repetition: Int = 0) -> String {
        text(raw(segment, field, component: component, subcomponent: subcomponent, repetition: repetition))
    }

    /// How many repetitions field `field` has (0 when empty).
    package func repetitions(_ segment: Segment, _ field: Int) -> Int {
        guard field >= 1, field < segment.fields.count, !segment.fields[field].isEmpty else { return 0 }
        if segment.name == "MSH" && field <= 2 { return 1 }
        return min(segment.fields[field].split(separator: separators.repetition, omittingEmptySubsequences: false).count, 64)
    }

    func raw(_ segment: Segment, _ field: Int, component: Int, subcomponent: Int, repetition: Int) -> ArraySlice<UInt8> {
        guard field >= 1, field < segment.fields.count else { return [] }
        let whole = segment.fields[field][...]
        // MSH-1 and MSH-2 are the separators themselves.
        if segment.name == "MSH" && field <= 2 { return component == 1 && repetition == 0 ? whole : [] }
        guard let repeated = nth(whole, separators.repetition, repetition),
              let part = nth(repeated, separators.component, component - 1) else { return [] }
        guard let subcomponentSeparator = separators.subcomponent else { return subcomponent == 1 ? part : [] }
        return nth(part, subcomponentSeparator, subcomponent - 1) ?? []
    }

    private func nth(_ bytes: ArraySlice<UInt8>, _ separator: UInt8, _ n: Int) -> ArraySlice<UInt8>? {
        guard n >= 0 else { return nil }
        var count = 0
        var start = bytes.startIndex
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] == separator {
                if count == n { return bytes[start..<index] }
                count += 1
                start = index + 1
            }
            index += 1
        }
        return count == n ? bytes[start..<bytes.endIndex] : nil
    }

    /// Unescapes \F\ \S\ \T\ \R\ \E\ and \Xhh…\; other escapes (formatting: \.br\, \H\, \N\) become a
    /// space or nothing; the result is decoded in the message's character set, at most maxValueBytes.
    /// Control characters (C0, DEL, C1), sent raw or decoded from `\X0D\`, become spaces: a value is
    /// never stored with a CR that could end a segment when it is written again, and a field with a
    /// formatting byte in it (a name with a line break) is still taken rather than the whole message
    /// refused (an ADT feed stalls on a refused admission).
    func text(_ bytes: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(min(bytes.count, HL7Message.maxValueBytes))
        var index = bytes.startIndex
        while index < bytes.endIndex, out.count < HL7Message.maxValueBytes {
            let byte = bytes[index]
            if let escape = separators.escape, byte == escape,
               let close = bytes[(index + 1)...].firstIndex(of: escape), close - index <= 64 {
                let code = bytes[(index + 1)..<close]
                switch code.first {
                case UInt8(ascii: "F") where code.count == 1: out.append(separators.field)
                case UInt8(ascii: "S") where code.count == 1: out.append(separators.component)
                case UInt8(ascii: "R") where code.count == 1: out.append(separators.repetition)
                case UInt8(ascii: "E") where code.count == 1: out.append(escape)
                case UInt8(ascii: "T") where code.count == 1: out.append(separators.subcomponent ?? UInt8(ascii: "&"))
                case UInt8(ascii: "X"):
                    var digits = code.dropFirst().makeIterator()
                    while let high = digits.next(), let low = digits.next(), let value = Hex.byte(high, low) { out.append(value) }
                case UInt8(ascii: "."): out.append(UInt8(ascii: " "))
                default: break
                }
                index = close + 1
                continue
            }
            out.append(byte)
            index += 1
        }
        var scalars = String.UnicodeScalarView()
        if latin1 {
            scalars.append(contentsOf: out.map { Unicode.Scalar($0) })
        } else {
            scalars = String(decoding: out, as: UTF8.self).unicodeScalars
        }
        guard scalars.contains(where: { HL7Escaping.isControl($0) }) else { return String(scalars) }
        return String(String.UnicodeScalarView(scalars.map { HL7Escaping.isControl($0) ? " " : $0 }))
    }

    // MARK: - Common fields

    package var msh: Segment { segments[0] }
    /// MSH-9: message code and trigger event, e.g. ("ORU", "R01").
    package var type: (code: String, event: String) { (value(msh, 9), value(msh, 9, component: 2)) }
    package var controlID: String { value(msh, 10) }
    package var sendingApplication: String { value(msh, 3) }
    package var sendingFacility: String { value(msh, 4) }

    /// The original-mode acknowledgement of this message: MSA-1 `code` (AA, AE, AR), MSA-2 its control
    /// id (decoded, at most 64 scalars, escaped again in our delimiters), MSA-3 `text` (escaped, at most
    /// 200 scalars); sender and receiver swapped (at most 64 scalars each). Every value is cut before it is escaped, by Unicode
    /// scalars, so a cut never splits an escape sequence or a UTF-8 sequence.
    package func acknowledgement(code: String, text: String, controlID: String, now: Date) -> String {
        let e = HL7Escaping.escape
        func cut(_ text: String, _ scalars: Int) -> String { HL7Escaping.prefix(text, scalars: scalars) }
        let version = value(msh, 12).isEmpty ? "2.6" : cut(value(msh, 12), 8)
        let header = ["MSH", "^~\\&", e(cut(value(msh, 5), 64)), e(cut(value(msh, 6), 64)), e(cut(value(msh, 3), 64)), e(cut(value(msh, 4), 64)),
                      PCD04Message.timestamp(now), "", "ACK^\(e(cut(type.event, 3)))^ACK", e(controlID), "P", e(version)]
        return [header.joined(separator: "|"), "MSA|\(e(code))|\(e(cut(self.controlID, 64)))|\(e(cut(text, 200)))"].joined(separator: "\r") + "\r"
    }

    /// An AE for bytes that are not a message at all (no MSH to answer from).
    package static func rejection(text: String, controlID: String, now: Date) -> String {
        ["MSH|^~\\&|ALVEO||||\(PCD04Message.timestamp(now))||ACK|\(HL7Escaping.escape(controlID))|P|2.6",
         "MSA|AE||\(HL7Escaping.escape(HL7Escaping.prefix(text, scalars: 200)))"].joined(separator: "\r") + "\r"
    }

    /// An HL7 DTM (YYYY[MM[DD[HH[MM[SS[.S…]]]]]][+/-ZZZZ]) as a date; without an offset, in `zone`
    /// (the sender's local time, by HL7's rule the sender's; taken as this machine's). Nil if malformed.
    package static func date(_ text: String, zone: TimeZone = .current) -> Date? {
        let bytes = Array(text.utf8.prefix(40))
        var digits: [Int] = []
        var index = 0
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39, digits.count < 14 {
            digits.append(Int(bytes[index] - 0x30))
            index += 1
        }
        guard digits.count >= 12, digits.count % 2 == 0 else { return nil }  // at least to the minute
        func number(_ from: Int, _ count: Int) -> Int { digits[from..<(from + count)].reduce(0) { $0 * 10 + $1 } }
        var components = DateComponents()
        components.year = number(0, 4)
        components.month = number(4, 2)
        components.day = number(6, 2)
        components.hour = number(8, 2)
        components.minute = number(10, 2)
        components.second = digits.count >= 14 ? number(12, 2) : 0
        guard (1900...2999).contains(components.year!), (1...12).contains(components.month!), (1...31).contains(components.day!),
              (0...23).contains(components.hour!), (0...59).contains(components.minute!), (0...60).contains(components.second!) else { return nil }
        var fraction = 0.0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                fraction += Double(bytes[index] - 0x30) * scale
                scale /= 10
                index += 1
            }
        }
        var timeZone = zone
        if index < bytes.count {
            guard bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-"), bytes.count - index == 5,
                  bytes[(index + 1)...].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            let hours = Int(bytes[index + 1] - 0x30) * 10 + Int(bytes[index + 2] - 0x30)
            let minutes = Int(bytes[index + 3] - 0x30) * 10 + Int(bytes[index + 4] - 0x30)
            guard hours <= 14, minutes < 60, let offset = TimeZone(secondsFromGMT: sign * (hours * 3600 + minutes * 60)) else { return nil }
            timeZone = offset
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        guard let date = calendar.date(from: components), calendar.component(.day, from: date) == components.day else { return nil }
        return date.addingTimeInterval(fraction)
    }
}
