import AlveoCore
import AlveoOutput
import Foundation

/// The two message builders fed arbitrary Unicode (issue 23: escaping per Swift `Character` let a
/// delimiter followed by a combining mark through): every text that can reach a PCD-04 message or a
/// syslog message (patient name, id and authority, bed location, control id, alarm text, source,
/// evidence) is made from the input, and the wire form must keep its structure whatever the text.
extension FuzzTargets {
    /// Unicode text from fuzz bytes, biased towards what breaks escaping: delimiters, controls (C0,
    /// DEL, C1), combining marks, ZWJ sequences, U+FFFD, BOM, line separators, astral scalars.
    struct UnicodeInput {
        var bytes: ArraySlice<UInt8>

        init(_ data: [UInt8]) { bytes = data[...] }

        mutating func byte() -> UInt8 {
            guard let first = bytes.first else { return 0 }
            bytes = bytes.dropFirst()
            return first
        }

        static let delimiters: [Unicode.Scalar] = ["|", "^", "~", "\\", "&", "\"", "]", "[", "=", " ", "\r", "\n", "S", "F", "T", "R", "E", "X", "0", "D"]
        static let specials: [Unicode.Scalar] = ["\u{200D}", "\u{FFFD}", "\u{FEFF}", "\u{2028}", "\u{2029}", "\u{00A0}", "\u{0085}",
                                                 "\u{1F469}", "\u{1F3FB}", "\u{FE0F}", "\u{E0001}", "\u{10FFFF}", "\u{0000}", "\u{001C}",
                                                 "\u{000B}", "\u{0301}", "\u{20DD}", "\u{1F1EB}", "\u{0627}", "\u{202E}"]

        mutating func scalar() -> Unicode.Scalar {
            let kind = byte()
            switch kind % 10 {
            case 0, 1: return Self.delimiters[Int(byte()) % Self.delimiters.count]
            case 2: return Unicode.Scalar(byte() % 0x20)
            case 3: return Unicode.Scalar(0x7F + UInt32(byte()) % 0x21)!
            case 4: return Unicode.Scalar(0x300 + UInt32(byte()) % 0x70)!
            case 5: return Self.specials[Int(byte()) % Self.specials.count]
            case 6: return Unicode.Scalar(UInt32(byte()) << 8 | UInt32(byte())) ?? "\u{FFFD}"
            case 7: return Unicode.Scalar(0x10000 + (UInt32(byte()) << 12 | UInt32(byte()) << 4 | UInt32(byte() & 0xF))) ?? "\u{FFFD}"
            default: return Unicode.Scalar(0x20 + byte() % 0x5F)
            }
        }

        mutating func text(max: Int = 40) -> String {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<Int(byte()) % (max + 1) { scalars.append(scalar()) }
            return String(scalars)
        }

        mutating func optionalText() -> String? { byte() % 4 == 0 ? nil : text() }
    }

    /// The bytes of an ER7 field split by a delimiter (no escaping involved: delimiters are bytes).
    static func count(_ bytes: ArraySlice<UInt8>, _ delimiter: Character) -> Int {
        bytes.reduce(0) { $0 + ($1 == delimiter.asciiValue! ? 1 : 0) }
    }

    /// Strictly unescaped ER7 text: only `\F\ \S\ \T\ \R\ \E\` (what the builders write), anything
    /// else is a broken message; nil then.
    static func strictUnescape(_ bytes: ArraySlice<UInt8>) -> String? {
        var out: [UInt8] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            guard bytes[index] == UInt8(ascii: "\\") else {
                out.append(bytes[index])
                index += 1
                continue
            }
            guard index + 2 < bytes.endIndex, bytes[index + 2] == UInt8(ascii: "\\") else { return nil }
            switch bytes[index + 1] {
            case UInt8(ascii: "F"): out.append(UInt8(ascii: "|"))
            case UInt8(ascii: "S"): out.append(UInt8(ascii: "^"))
            case UInt8(ascii: "T"): out.append(UInt8(ascii: "&"))
            case UInt8(ascii: "R"): out.append(UInt8(ascii: "~"))
            case UInt8(ascii: "E"): out.append(UInt8(ascii: "\\"))
            default: return nil
            }
            index += 3
        }
        return String(validating: out, as: UTF8.self)
    }

    static func isControl(_ value: UInt32) -> Bool { value < 0x20 || (0x7F...0x9F).contains(value) }

    /// What a text must read as on the other side: itself, its control characters as spaces.
    static func sanitized(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { isControl($0.value) ? " " : $0 }))
    }

    /// A composite value with every piece replaced by "x": the structure the field must have.
    static func shape(_ composite: String) -> String {
        var out = ""
        for scalar in composite.unicodeScalars where scalar == "^" || scalar == "&" { out += "x" + String(scalar) }
        return out + "x"
    }

    /// A PCD-04 message of any rule, phase and source, from identity and event texts made of the input:
    /// exactly 12 segments ending in CR, each segment with the field count, and each field with the
    /// component, repetition and subcomponent counts, of the same message built from plain texts of the
    /// same shape; no control character but the segment ends; every `\` opening one of the five
    /// delimiter escapes; the alarm text, the patient id and MSH-10 reading back as given (controls as
    /// spaces). Likewise the heartbeat.
    static func pcd04Builder(_ data: [UInt8]) {
        var input = UnicodeInput(data)
        let rule = RuleID.allCases[Int(input.byte()) % RuleID.allCases.count]
        let phase = AlarmPhase.allCases[Int(input.byte()) % AlarmPhase.allCases.count]
        let flags = input.byte()
        var identity = HL7Identity()
        identity.eui64 = "0A1B2CFFFE3D4E5F"
        identity.devices = ["vent", "oxi"]
        identity.sendingApplication = input.text()
        identity.sendingFacility = input.text()
        identity.patientID = input.text()
        identity.patientIDAuthority = input.text()
        identity.patientName = flags & 1 == 0 ? input.text() : "UNKNOWN"
        identity.bedLocation = input.text()
        identity.bedID = input.text()
        let source = input.optionalText()
        let deviceKey = ["spo2_source", "vt_source", "pplat_source"][Int(input.byte()) % 3]
        let device = input.text()
        let text = input.text(max: 200)
        let patient = flags & 2 == 0 ? nil : JournalPatient(id: input.optionalText(), authority: input.optionalText(), name: input.optionalText())
        let unjournaled = flags & 4 == 0 ? nil : input.text()
        let run = input.optionalText()

        func build(_ identity: HL7Identity, source: String?, device: String, text: String, patient: JournalPatient?, unjournaled: String?,
                   run: String?) -> String {
            let event = AlarmEvent(t: 60, alarmID: 3, rule: rule, source: source, parameter: rule == .valueRejected ? .spo2 : nil, phase: phase,
                                   priority: .high, state: phase == .end ? .inactive : .active, acknowledged: flags & 8 != 0, reason: nil, text: text,
                                   evidence: [("spo2_pct", .number(86)), ("threshold_pct", .number(88)), ("vt_ml", .number(520)),
                                              ("pplat_cmh2o", .number(32)), (deviceKey, .string(device))], run: run)
            var entry = JournalEntry(seq: 7, run: "R", wallTime: "2026-11-25T08:01:00.000Z", event: event)
            entry.patient = patient
            entry.unjournaledID = unjournaled
            return PCD04Message.build(entry: entry, event: event, identity: identity, now: Date(timeIntervalSince1970: 1_795_593_661))
        }
        let message = build(identity, source: source, device: device, text: text, patient: patient, unjournaled: unjournaled, run: run)
        // The same message from plain texts of the same shape (presence, composite structure).
        var plain = identity
        plain.sendingApplication = "A"
        plain.sendingFacility = "F"
        plain.patientID = "I"
        plain.patientIDAuthority = shape(identity.patientIDAuthority)
        plain.patientName = identity.patientName == "UNKNOWN" || identity.patientName.isEmpty ? identity.patientName : shape(identity.patientName)
        plain.bedLocation = shape(identity.bedLocation)
        plain.bedID = "B"
        let plainPatient = patient.map { patient in
            JournalPatient(id: patient.id.map { _ in "I" }, authority: patient.authority.map(shape),
                           name: patient.name.map { $0 == "UNKNOWN" || $0.isEmpty ? $0 : shape($0) })
        }
        let reference = build(plain, source: source.map { _ in "S" }, device: "D", text: "T", patient: plainPatient, unjournaled: unjournaled.map { _ in "U" },
                              run: run.map { _ in "R" })
        checkStructure(message, like: reference)

        // Free text reads back as given.
        let segments = Array(message.utf8).split(separator: 0x0D, omittingEmptySubsequences: false)
        func field(_ segment: Int, _ number: Int) -> ArraySlice<UInt8> {
            let fields = segments[segment].split(separator: UInt8(ascii: "|"), omittingEmptySubsequences: false)
            return fields[number]
        }
        let controlID = unjournaled.map { "\(identity.bedID)-\($0)" } ?? "\(identity.bedID)-7"
        precondition(strictUnescape(field(0, 9)) == sanitized(controlID), "MSH-10 does not read back")
        precondition(strictUnescape(field(5, 5)) == sanitized(text), "the alarm text does not read back")
        let id = field(1, 3).split(separator: UInt8(ascii: "^"), omittingEmptySubsequences: false)[0]
        precondition(strictUnescape(id) == sanitized(patient.map { $0.id ?? "UNKNOWN" } ?? identity.patientID), "PID-3.1 does not read back")

        let heartbeat = PCD04Message.heartbeat(identity: identity, controlID: controlID, now: Date(timeIntervalSince1970: 0))
        checkStructure(heartbeat, like: PCD04Message.heartbeat(identity: plain, controlID: "C", now: Date(timeIntervalSince1970: 0)))
    }

    static func checkStructure(_ message: String, like reference: String) {
        precondition(!message.unicodeScalars.contains { isControl($0.value) && $0 != "\r" }, "a control character in the message")
        let segments = Array(message.utf8).split(separator: 0x0D, omittingEmptySubsequences: false)
        let expected = Array(reference.utf8).split(separator: 0x0D, omittingEmptySubsequences: false)
        precondition(segments.count == expected.count && segments.last?.isEmpty == true, "\(segments.count - 1) segments instead of \(expected.count - 1)")
        for (segment, want) in zip(segments, expected) {
            let fields = segment.split(separator: UInt8(ascii: "|"), omittingEmptySubsequences: false)
            let wanted = want.split(separator: UInt8(ascii: "|"), omittingEmptySubsequences: false)
            precondition(fields.count == wanted.count, "a segment with \(fields.count) fields instead of \(wanted.count)")
            for (number, (field, reference)) in zip(fields, wanted).enumerated() where !(segment.starts(with: "MSH".utf8) && number == 1) {
                for delimiter: Character in ["^", "~", "&"] {
                    precondition(count(field, delimiter) == count(reference, delimiter), "field \(number): a '\(delimiter)' too many or too few")
                }
                for piece in field.split(whereSeparator: { $0 == UInt8(ascii: "^") || $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "&") }) {
                    precondition(strictUnescape(piece) != nil, "field \(number): a '\\' that opens no delimiter escape")
                }
            }
        }
    }

    /// A syslog message from event texts, evidence keys and values and header settings made of the
    /// input: one line, header fields printable US-ASCII, the structured data parsed back strictly (RFC
    /// 5424 6.3) to exactly the names and values given (names as PARAM-NAME allows, values with their
    /// controls as spaces), and MSG the alarm text.
    static func syslogBuilder(_ data: [UInt8]) {
        var input = UnicodeInput(data)
        let rule = RuleID.allCases[Int(input.byte()) % RuleID.allCases.count]
        var settings = SyslogSettings()
        settings.hostname = input.text()
        settings.appName = input.text()
        settings.bedID = input.text()
        let source = input.optionalText()
        let reason = input.optionalText()
        let run = input.optionalText()
        let text = input.text(max: 200)
        var evidence: [(String, JSONValue)] = []
        for _ in 0..<Int(input.byte() % 6) {
            let key = input.text(max: 40)
            evidence.append((key, input.byte() % 3 == 0 ? .number(Double(Int8(bitPattern: input.byte())) / 4) : .string(input.text())))
        }
        let event = AlarmEvent(t: 60, alarmID: 3, rule: rule, source: source, parameter: nil, phase: .start, priority: .medium, state: .active,
                               acknowledged: false, reason: reason, text: text, evidence: evidence, run: run)
        let entry = JournalEntry(seq: 7, run: "R", wallTime: "2026-11-25T08:01:00.000Z", event: event)
        let message = SyslogMessage.build(entry: entry, event: event, settings: settings, now: Date(timeIntervalSince1970: 0))
        precondition(!message.unicodeScalars.contains { isControl($0.value) }, "a control character in the syslog message")

        // HEADER: six fields of printable US-ASCII.
        let bytes = Array(message.utf8)
        var index = 0
        for number in 0..<6 {
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: " ") {
                precondition(bytes[index] > 32 && bytes[index] < 127, "header field \(number): not PRINTUSASCII")
                index += 1
            }
            precondition(index > start && index < bytes.count, "header field \(number) empty or the message cut")
            index += 1
        }
        // STRUCTURED-DATA, strictly.
        var elements: [(id: String, params: [(String, String)])] = []
        while index < bytes.count, bytes[index] == UInt8(ascii: "[") {
            index += 1
            func name() -> String {
                let start = index
                while index < bytes.count, bytes[index] > 32, bytes[index] < 127, bytes[index] != UInt8(ascii: "="),
                      bytes[index] != UInt8(ascii: "]"), bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: " ") {
                    index += 1
                }
                precondition(index - start >= 1 && index - start <= 32, "an SD-NAME of \(index - start) characters")
                return String(decoding: bytes[start..<index], as: UTF8.self)
            }
            let id = name()
            var params: [(String, String)] = []
            while index < bytes.count, bytes[index] == UInt8(ascii: " ") {
                index += 1
                let key = name()
                precondition(index + 1 < bytes.count && bytes[index] == UInt8(ascii: "=") && bytes[index + 1] == UInt8(ascii: "\""), "no =\" after a PARAM-NAME")
                index += 2
                var value: [UInt8] = []
                while true {
                    precondition(index < bytes.count, "a PARAM-VALUE never closed")
                    let byte = bytes[index]
                    if byte == UInt8(ascii: "\"") { break }
                    precondition(byte != UInt8(ascii: "]"), "an unescaped ] in a PARAM-VALUE")
                    if byte == UInt8(ascii: "\\") {
                        precondition(index + 1 < bytes.count, "a PARAM-VALUE ending in a backslash")
                        let next = bytes[index + 1]
                        precondition(next == UInt8(ascii: "\"") || next == UInt8(ascii: "\\") || next == UInt8(ascii: "]"), "a backslash escaping nothing")
                        value.append(next)
                        index += 2
                        continue
                    }
                    value.append(byte)
                    index += 1
                }
                index += 1
                params.append((key, String(validating: value, as: UTF8.self) ?? "\u{0}invalid UTF-8"))
            }
            precondition(index < bytes.count && bytes[index] == UInt8(ascii: "]"), "an SD-ELEMENT not closed by ]")
            index += 1
            elements.append((id, params))
        }
        precondition(index < bytes.count && bytes[index] == UInt8(ascii: " "), "no space before MSG")
        precondition(String(decoding: bytes[(index + 1)...], as: UTF8.self) == sanitized(text), "MSG is not the alarm text")
        precondition(elements.map(\.id) == ["alarm@32473"] + (elements.count == 2 ? ["evidence@32473"] : []), "SD-IDs")
        let alarm = Dictionary(elements[0].params, uniquingKeysWith: { first, _ in first })
        precondition(alarm["bed"] == sanitized(settings.bedID) && alarm["source"] == source.map(sanitized) && alarm["reason"] == reason.map(sanitized)
                     && alarm["alarm_run"] == run.map(sanitized), "an alarm value does not read back")
        let strings = evidence.compactMap { key, value -> (String, String)? in
            switch value {
            case .string(let text): (key, text)
            case .number(let number): (key, JSONValue.formatted(number))
            default: nil
            }
        }
        if elements.count == 2 {
            let expected = strings.sorted { $0.0 < $1.0 }.map { key, value in
                let kept = key.unicodeScalars.filter { $0.value > 32 && $0.value < 127 && $0 != "=" && $0 != "]" && $0 != "\"" }.prefix(32)
                return (kept.isEmpty ? "_" : String(String.UnicodeScalarView(kept)), sanitized(value))
            }
            precondition(elements[1].params.map(\.0) == expected.map(\.0) && elements[1].params.map(\.1) == expected.map(\.1), "evidence does not read back")
        } else {
            precondition(strings.isEmpty, "evidence left out")
        }
    }
}
