import AlveoCore
@testable import AlveoOutput
import Foundation
import Testing

/// HL7 and syslog escaping on Unicode scalars (issue 23 item 4): a delimiter followed by a combining
/// mark is one Swift `Character` but still a delimiter on the wire, so escaping per Character let
/// `DOE|\u{301}X` out raw and a strict station refused every alarm of that patient. Checked with the
/// attacker's strings, then over thousands of random Unicode texts read back by strict readers written
/// here (not the builders' own code).
@Suite struct WireEscapingTests {
    // MARK: - Strict readers

    /// ER7 as a strict receiver reads it: segments by CR, fields by `|`, repetitions `~`, components
    /// `^`, subcomponents `&` (all bytes), values unescaped; a `\` that opens none of `\F\ \S\ \T\ \R\
    /// \E\` is an error (nil).
    static func unescape(_ bytes: ArraySlice<UInt8>) -> String? {
        var out: [UInt8] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] != UInt8(ascii: "\\") {
                out.append(bytes[index])
                index += 1
                continue
            }
            guard index + 2 < bytes.endIndex, bytes[index + 2] == UInt8(ascii: "\\"),
                  let decoded = ["F": "|", "S": "^", "T": "&", "R": "~", "E": "\\"][Character(Unicode.Scalar(bytes[index + 1]))] else { return nil }
            out += Array(decoded.utf8)
            index += 3
        }
        return String(validating: out, as: UTF8.self)
    }

    /// The message's segments, each a list of fields, each a list of components, each a list of
    /// subcomponents, unescaped (repetitions are not used by the fields checked here). MSH-1 and MSH-2 are
    /// left out of the unescaping.
    static func read(_ message: String) throws -> [[[[String]]]] {
        let bytes = Array(message.utf8)
        #expect(bytes.last == 0x0D, "a message ends with CR")
        return try bytes.split(separator: 0x0D).map { segment in
            try segment.split(separator: UInt8(ascii: "|"), omittingEmptySubsequences: false).enumerated().map { number, field in
                if segment.starts(with: "MSH".utf8) && number == 1 { return [[String(decoding: field, as: UTF8.self)]] }
                return try field.split(separator: UInt8(ascii: "^"), omittingEmptySubsequences: false).map { component in
                    try component.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: false).map { piece in
                        try #require(unescape(piece), "a stray backslash in \(String(decoding: segment, as: UTF8.self))")
                    }
                }
            }
        }
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool { scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) }

    /// Controls (C0, DEL, C1) as spaces: what a text must read as on the wire.
    static func sanitized(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { isControl($0) ? " " : $0 }))
    }

    static func prefix(_ text: String, _ scalars: Int) -> String { String(String.UnicodeScalarView(text.unicodeScalars.prefix(scalars))) }

    /// A composite value as held (components by `^`, subcomponents by `&`, escapes `\F\ \S\ \T\ \R\ \E\`
    /// inside a piece), decoded: what the receiver must read from its field.
    static func decodeComposite(_ text: String) -> [[String]] {
        let scalars = Array(text.unicodeScalars)
        var components: [[String]] = [[]]
        var piece = ""
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "^" || scalar == "&" {
                components[components.count - 1].append(piece)
                piece = ""
                if scalar == "^" { components.append([]) }
            } else if scalar == "\\", index + 2 < scalars.count, scalars[index + 2] == "\\",
                      let decoded = ["F": "|", "S": "^", "T": "&", "R": "~", "E": "\\"][Character(scalars[index + 1])] {
                piece += decoded
                index += 2
            } else {
                piece += sanitized(String(scalar))
            }
            index += 1
        }
        components[components.count - 1].append(piece)
        return components
    }

    /// A composite's pieces as a field of at most `components` components and `subcomponents(i)`
    /// subcomponents in component i: what is beyond goes, as data, into the last piece kept.
    static func fold(_ pieces: [[String]], components: Int, subcomponents: (Int) -> Int) -> [[String]] {
        var kept = Array(pieces.prefix(components))
        if pieces.count > components {
            kept[components - 1][kept[components - 1].count - 1] += "^" + pieces[components...].map { $0.joined(separator: "&") }.joined(separator: "^")
        }
        return kept.enumerated().map { index, subs in
            let limit = subcomponents(index)
            guard subs.count > limit else { return subs }
            return Array(subs.prefix(limit - 1)) + [subs[(limit - 1)...].joined(separator: "&")]
        }
    }

    /// The SD of an RFC 5424 message, strictly (6.3): SD-ELEMENTs with SD-NAMEs of 1 to 32 printable
    /// US-ASCII characters but `=`, space, `]`, `"`, values in quotes with only `\"`, `\\`, `\]` as
    /// escapes and no raw `]` or `"`; then the MSG after one space. Nil when it is not well-formed.
    static func structuredData(_ message: String) -> (header: [String], elements: [(String, [(String, String)])], msg: String)? {
        let bytes = Array(message.utf8)
        var index = 0
        var header: [String] = []
        for _ in 0..<6 {
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: " ") {
                guard bytes[index] > 32, bytes[index] < 127 else { return nil }
                index += 1
            }
            guard index > start, index < bytes.count else { return nil }
            header.append(String(decoding: bytes[start..<index], as: UTF8.self))
            index += 1
        }
        func sdName() -> String? {
            let start = index
            while index < bytes.count, bytes[index] > 32, bytes[index] < 127, !"= ]\"".utf8.contains(bytes[index]) { index += 1 }
            guard (1...32).contains(index - start) else { return nil }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }
        var elements: [(String, [(String, String)])] = []
        guard index < bytes.count, bytes[index] == UInt8(ascii: "[") else { return nil }
        while index < bytes.count, bytes[index] == UInt8(ascii: "[") {
            index += 1
            guard let id = sdName() else { return nil }
            var params: [(String, String)] = []
            while index < bytes.count, bytes[index] == UInt8(ascii: " ") {
                index += 1
                guard let name = sdName(), index + 1 < bytes.count, bytes[index] == UInt8(ascii: "="), bytes[index + 1] == UInt8(ascii: "\"") else { return nil }
                index += 2
                var value: [UInt8] = []
                while true {
                    guard index < bytes.count, bytes[index] != UInt8(ascii: "]") else { return nil }
                    if bytes[index] == UInt8(ascii: "\"") { break }
                    if bytes[index] == UInt8(ascii: "\\") {
                        guard index + 1 < bytes.count, "\"\\]".utf8.contains(bytes[index + 1]) else { return nil }
                        index += 1
                    }
                    value.append(bytes[index])
                    index += 1
                }
                index += 1
                guard let text = String(validating: value, as: UTF8.self) else { return nil }
                params.append((name, text))
            }
            guard index < bytes.count, bytes[index] == UInt8(ascii: "]") else { return nil }
            index += 1
            elements.append((id, params))
        }
        guard index < bytes.count, bytes[index] == UInt8(ascii: " ") else { return nil }
        return (header, elements, String(decoding: bytes[(index + 1)...], as: UTF8.self))
    }

    // MARK: - Building

    static var identity: HL7Identity {
        var identity = HL7Identity()
        identity.eui64 = "0A1B2CFFFE3D4E5F"
        identity.patientID = "4711"
        identity.patientIDAuthority = "HOSP"
        identity.patientName = "DOE^JANE"
        identity.bedLocation = "ICU^B1^B1^HOSP"
        identity.bedID = "ICU-B1"
        identity.devices = ["vent", "oxi"]
        return identity
    }

    static func event(_ rule: RuleID = .sensorOff, source: String? = "oxi", text: String = "text", evidence: [(String, JSONValue)] = [],
                      reason: String? = nil) -> AlarmEvent {
        AlarmEvent(t: 60, alarmID: 3, rule: rule, source: source, parameter: nil, phase: .start, priority: .medium, state: .active,
                   acknowledged: false, reason: reason, text: text, evidence: evidence)
    }

    static func pcd04(_ event: AlarmEvent = event(), identity: HL7Identity = identity, patient: JournalPatient? = nil,
                      unjournaledID: String? = nil) -> String {
        let entry = JournalEntry(seq: 9, run: "R1", wallTime: "2026-11-25T16:47:00.000Z", event: event, unjournaledID: unjournaledID, patient: patient)
        return PCD04Message.build(entry: entry, event: event, identity: identity, now: Date(timeIntervalSince1970: 1_795_593_661))
    }

    static func segment(_ message: String, _ name: String) -> String {
        message.split(separator: "\r").first { $0.hasPrefix(name + "|") }.map(String.init) ?? ""
    }

    // MARK: - The attacker's strings

    @Test func aDelimiterFollowedByACombiningMarkIsEscaped() throws {
        // Through the configuration, and through /v1/patient (the name journaled with the event).
        var identity = Self.identity
        identity.patientName = "DOE|\u{0301}X^JANE"
        let expected = "PID|||4711^^^HOSP^MR||DOE\\F\\\u{0301}X^JANE^^^^^L"
        #expect(Self.segment(Self.pcd04(identity: identity), "PID") == expected)
        let patient = JournalPatient(id: "4711", authority: "HOSP", name: "DOE|\u{0301}X^JANE")
        #expect(Self.segment(Self.pcd04(patient: patient), "PID") == expected)
        // Every delimiter, each followed by a combining mark, in free text.
        let text = "a|\u{301}b^\u{301}c~\u{301}d\\\u{301}e&\u{301}f"
        let obx = try Self.read(Self.pcd04(Self.event(text: text)))[5]
        #expect(obx.count == 19 && obx[5] == [[text]], "\(obx)")
        #expect(Self.segment(Self.pcd04(Self.event(text: text)), "OBX|2").contains("|a\\F\\\u{301}b\\S\\\u{301}c\\R\\\u{301}d\\E\\\u{301}e\\T\\\u{301}f|"))
        // A composite's `^` and `&` followed by a mark are still its separators (one scalar each); a
        // given name has no subcomponents (XPN.2 is ST), so its `&` goes out as data.
        identity.patientName = "DOE&\u{301}VAN^\u{301}JANE&\u{301}X"
        #expect(try Self.read(Self.pcd04(identity: identity))[1][5] == [["DOE", "\u{301}VAN"], ["\u{301}JANE&\u{301}X"], [""], [""], [""], [""], ["L"]])
        #expect(Self.segment(Self.pcd04(identity: identity), "PID").hasSuffix("||DOE&\u{301}VAN^\u{301}JANE\\T\\\u{301}X^^^^^L"))
        // The ACK parser reads bytes too.
        #expect(PCD04Message.parseACK("MSH|^~\\&|A\rMSA|AA|ICU-B1-9|\u{301}x\r")?.controlID == "ICU-B1-9")
    }

    @Test func anEscapedDelimiterInsideAComponentStaysEscaped() throws {
        // An ADT family DOE\S\X (decoded DOE^X) is held as DOE\S\X^JANE and goes out as it came.
        #expect(HL7Escaping.component("DOE^X") == "DOE\\S\\X" && HL7Escaping.component("a&b\\c") == "a\\T\\b\\E\\c")
        var identity = Self.identity
        identity.patientName = HL7Escaping.component("DOE^X") + "^JANE"
        #expect(Self.segment(Self.pcd04(identity: identity), "PID") == "PID|||4711^^^HOSP^MR||DOE\\S\\X^JANE^^^^^L")
        #expect(try Self.read(Self.pcd04(identity: identity))[1][5][0] == ["DOE^X"])
        // A hex escape or a lone backslash in a held composite is data, not an escape for the receiver.
        identity.patientName = "A\\X0D\\B^\\"
        #expect(Self.segment(Self.pcd04(identity: identity), "PID").hasSuffix("||A\\E\\X0D\\E\\B^\\E\\^^^^^L"))
        #expect(HL7Escaping.pieces("DOE\\S\\X^JANE&\\T\\") == [["DOE^X"], ["JANE", "&"]])
        // A cut never leaves half an escape or half a scalar.
        #expect(HL7Escaping.component("ab^c", maxBytes: 4) == "ab" && HL7Escaping.component("ab^c", maxBytes: 5) == "ab\\S\\")
        #expect(HL7Escaping.component("éé", maxBytes: 3) == "é")
    }

    @Test func controlCharactersNeverReachTheWire() throws {
        let controls = (0..<0x20).map { Unicode.Scalar($0)! } + (0x7F...0x9F).map { Unicode.Scalar($0)! }
        for control in controls {
            let text = "a" + String(control) + "\u{301}b"
            var identity = Self.identity
            identity.patientName = "DOE" + String(control) + "^JANE"
            identity.patientID = text
            let message = Self.pcd04(Self.event(source: text, text: text + "\r\n"), identity: identity, unjournaledID: text)
            #expect(!message.unicodeScalars.contains { $0 != "\r" && Self.isControl($0) }, "U+\(String(control.value, radix: 16))")
            #expect(message.split(separator: "\r", omittingEmptySubsequences: false).count == 13)
            let read = try Self.read(message)
            #expect(read[1][5][0] == ["DOE "] && read[1][3][0] == ["a \u{301}b"] && read[5][5] == [["a \u{301}b  "]] && read[0][9] == [["ICU-B1-a \u{301}b"]])
        }
    }

    @Test func decodedControlCharactersAreNotKept() throws {
        // \X0D\ and \X0A\ (segment ends), a raw VT and FS (MLLP's frame bytes), UTF-8 NEL (C1), DEL.
        let bytes = Array("MSH|^~\\&|LIS|HOSP|||20261129103000||ADT^A08|X1|P|2.5\rPID|1||1^^^H||DOE\\X0D\\X\\X0A0D\\Y".utf8)
            + [0x0B, 0x1C] + Array("Z\\XC285\\W\u{7F}V\u{85}U^JANE".utf8)
        let message = try HL7Message.parse(bytes).get()
        let pid = try #require(message.first("PID"))
        #expect(message.value(pid, 5) == "DOE X  Y  Z W V U" && message.value(pid, 5, component: 2) == "JANE")
        // Latin-1: the bytes 0x80-0x9F are C1 controls there.
        let latin1 = Array("MSH|^~\\&|LIS|HOSP|||20261129103000||ADT^A08|X1|P|2.5||||||8859/1\rPID|1||1||D".utf8) + [0x85, 0x9F, 0xDC] + Array("E".utf8)
        let parsed = try HL7Message.parse(latin1).get()
        #expect(parsed.value(try #require(parsed.first("PID")), 5) == "D  ÜE")
    }

    @Test func acknowledgementsEchoHostileControlIDsEscapedAndCutByScalars() throws {
        let now = Date(timeIntervalSince1970: 1_795_948_200)
        // (MSH-10 as sent, what MSA-2 must read as.)
        let cases: [(String, String)] = [
            ("X\\F\\\u{301}Y", "X|\u{301}Y"),
            ("A\\X0D0A\\B\\S\\\u{301}C", "A  B^\u{301}C"),
            ("\\E\\\\T\\\\R\\", "\\&~"),
            (String(repeating: "a", count: 63) + "\\F\\", String(repeating: "a", count: 63) + "|"),
            (String(repeating: "a", count: 64) + "\\F\\", String(repeating: "a", count: 64)),
            (String(repeating: "é", count: 70), String(repeating: "é", count: 64)),
            (String(repeating: "\u{1F469}\u{200D}\u{1F467}", count: 30), Self.prefix(String(repeating: "\u{1F469}\u{200D}\u{1F467}", count: 30), 64)),
            (String(repeating: "\\F\\\u{301}", count: 40), String(repeating: "|\u{301}", count: 32)),
        ]
        for (sent, echoed) in cases {
            let inbound = try HL7Message.parse(Array("MSH|^~\\&|LIS|HOSP|ALVEO|ICU|20261129103000||ORU^R01^ORU_R01|\(sent)|P|2.5\rPID|1||1".utf8)).get()
            let ack = inbound.acknowledgement(code: "AE", text: "why: " + sent + "|\u{301}\r", controlID: "ALVEO-1", now: now)
            let read = try Self.read(ack)
            #expect(read.count == 2 && read[1].count == 4 && read[0].count == 12, "\(ack)")
            #expect(read[1][2] == [[echoed]], "\(sent)")
            #expect(read[1][3] == [[Self.sanitized(Self.prefix("why: " + sent + "|\u{301}\r", 200))]])
            #expect(!ack.unicodeScalars.contains { $0 != "\r" && Self.isControl($0) })
        }
        let rejection = HL7Message.rejection(text: "bad |\u{301}^\r\n\\X0D\\", controlID: "ALVEO-1", now: now)
        #expect(try Self.read(rejection)[1][3] == [["bad |\u{301}^  \\X0D\\"]])
    }

    // MARK: - Random Unicode

    /// Texts made to break escaping: delimiters, escape-like sequences, controls, combining marks, ZWJ
    /// sequences, U+FFFD, BOM, line separators, astral and random BMP scalars.
    static func randomText(_ random: inout SplitMix, maxLength: Int = 24) -> String {
        let pieces = ["|", "^", "~", "\\", "&", "\"", "]", "[", "=", " ", "\\S\\", "\\F\\", "\\X0D\\", "\\E", "UNKNOWN", "\r\n", "\u{301}", "\u{20DD}",
                      "\u{1F469}\u{200D}\u{1F469}\u{200D}\u{1F467}", "\u{1F44D}\u{1F3FD}", "\u{FFFD}", "\u{FEFF}", "\u{2028}", "\u{200D}", "\u{E0001}",
                      "\u{10FFFF}", "\u{0627}\u{0644}", "\u{202E}", "é", "Ü", "a", "Z", "0"]
        var text = ""
        for _ in 0..<Int.random(in: 0...maxLength, using: &random) {
            switch Int.random(in: 0..<10, using: &random) {
            case 0: text.unicodeScalars.append(Unicode.Scalar(UInt32.random(in: 0..<0x20, using: &random))!)
            case 1: text.unicodeScalars.append(Unicode.Scalar(UInt32.random(in: 0x7F...0x9F, using: &random))!)
            case 2: text.unicodeScalars.append(Unicode.Scalar(UInt32.random(in: 0x300...0x36F, using: &random))!)
            case 3: text.unicodeScalars.append(Unicode.Scalar(UInt32.random(in: 0xA0...0xFFFF, using: &random)) ?? "\u{FFFD}")
            case 4: text.unicodeScalars.append(Unicode.Scalar(UInt32.random(in: 0x10000...0x10FFFF, using: &random))!)
            default: text += pieces[Int.random(in: 0..<pieces.count, using: &random)]
            }
        }
        return text
    }

    /// A composite with every piece "x": the structure its field must have.
    static func shape(_ composite: String) -> String {
        composite.unicodeScalars.filter { $0 == "^" || $0 == "&" }.map { "x" + String($0) }.joined() + "x"
    }

    @Test func randomUnicodeNeverBreaksAPCD04Message() throws {
        var random = SplitMix(seed: 23)
        for round in 0..<3000 {
            let rules: [RuleID] = [.spo2Low, .plateauHigh, .sensorOff, .valueRejected, .proneStop, .deliveryFailed]
            let rule = rules[round % rules.count]
            var identity = Self.identity
            identity.patientName = Self.randomText(&random)
            identity.patientID = Self.randomText(&random)
            identity.patientIDAuthority = Self.randomText(&random)
            identity.bedLocation = Self.randomText(&random)
            identity.bedID = Self.randomText(&random, maxLength: 8)
            identity.sendingFacility = Self.randomText(&random)
            let source = Bool.random(using: &random) ? Self.randomText(&random) : nil
            let device = Self.randomText(&random)
            let text = Self.randomText(&random, maxLength: 80)
            let unjournaled = Bool.random(using: &random) ? Self.randomText(&random) : nil
            let patient = round % 3 == 0 ? JournalPatient(id: Self.randomText(&random), authority: Self.randomText(&random), name: Self.randomText(&random)) : nil
            func message(_ identity: HL7Identity, source: String?, device: String, text: String, patient: JournalPatient?, unjournaled: String?) -> String {
                let evidence: [(String, JSONValue)] = [("spo2_pct", .number(86)), ("threshold_pct", .number(88)), ("spo2_source", .string(device)),
                                                       ("pplat_cmh2o", .number(32)), ("pplat_source", .string(device))]
                return Self.pcd04(Self.event(rule, source: source, text: text, evidence: evidence), identity: identity, patient: patient,
                                  unjournaledID: unjournaled)
            }
            let built = message(identity, source: source, device: device, text: text, patient: patient, unjournaled: unjournaled)
            // The same message from plain texts of the same shape.
            var plain = identity
            plain.patientName = ["UNKNOWN", ""].contains(identity.patientName) ? identity.patientName : Self.shape(identity.patientName)
            plain.patientID = "I"
            plain.patientIDAuthority = Self.shape(identity.patientIDAuthority)
            plain.bedLocation = Self.shape(identity.bedLocation)
            plain.bedID = "B"
            plain.sendingFacility = "F"
            let plainPatient = patient.map { JournalPatient(id: "I", authority: Self.shape($0.authority!), name: ["UNKNOWN", ""].contains($0.name!) ? $0.name : Self.shape($0.name!)) }
            let reference = message(plain, source: source.map { _ in "S" }, device: "D", text: "T", patient: plainPatient, unjournaled: unjournaled.map { _ in "U" })

            let read = try Self.read(built), expected = try Self.read(reference)
            #expect(built.split(separator: "\r", omittingEmptySubsequences: false).count == 13 && read.count == 12)
            #expect(!built.unicodeScalars.contains { $0 != "\r" && Self.isControl($0) }, "a control character")
            for (segment, want) in zip(read, expected) {
                #expect(segment.count == want.count, "fields of \(segment.first?.first?.first ?? "")")
                for (field, wanted) in zip(segment, want) {
                    #expect(field.count == wanted.count && field.map(\.count) == wanted.map(\.count), "components of \(field)")
                }
            }
            for (segment, want) in zip(built.split(separator: "\r"), reference.split(separator: "\r")) {
                #expect(segment.utf8.filter { $0 == UInt8(ascii: "~") }.count == want.utf8.filter { $0 == UInt8(ascii: "~") }.count)
            }
            // And every text reads back as given.
            let name = patient?.name ?? identity.patientName
            var names = Self.fold(Self.decodeComposite(name), components: 7, subcomponents: { $0 == 0 ? 5 : 1 })
            if !["UNKNOWN", ""].contains(name), names.count < 7 { names += Array(repeating: [""], count: 6 - names.count) + [["L"]] }
            #expect(read[1][5] == names, "PID-5 of \(name.unicodeScalars.map { $0.value })")
            let authority = Self.fold(Self.decodeComposite(patient?.authority ?? identity.patientIDAuthority), components: 1, subcomponents: { _ in 3 })
            #expect(read[1][3] == [[Self.sanitized(patient?.id ?? identity.patientID)], [""], [""]] + authority + [["MR"]])
            #expect(read[1][5].count == 7 || ["UNKNOWN", ""].contains(name))
            #expect(read[1][5].dropFirst().allSatisfy { $0.count == 1 } && read[1][5][0].count <= 5 && read[1][3].count == 5 && read[1][3][3].count <= 3)
            #expect(read[2][3] == Self.decodeComposite(identity.bedLocation))
            #expect(read[5][5] == [[Self.sanitized(text)]] && read[0][9] == [[Self.sanitized("\(identity.bedID)-\(unjournaled ?? "9")")]])
            if rule == .sensorOff || rule == .valueRejected, let source {
                #expect(read[6][5] == [[Self.sanitized(source)]])
            }
        }
    }

    // MARK: - Syslog

    static func syslog(_ event: AlarmEvent, settings: SyslogSettings = SyslogSettings()) -> String {
        let entry = JournalEntry(seq: 9, run: "R1", wallTime: "2026-11-25T16:47:00.000Z", event: event)
        return SyslogMessage.build(entry: entry, event: event, settings: settings, now: Date(timeIntervalSince1970: 0))
    }

    @Test func syslogEscapesByScalarsAndKeepsItsHeaderPrintableASCII() throws {
        var settings = SyslogSettings()
        settings.hostname = "bed\u{301} b1\r\n\u{85}é"
        settings.appName = ""
        settings.bedID = "B\"\u{301}]\u{301}\\\u{301}1\r\n"
        let event = Self.event(source: "o\"\u{301}x]", text: "line 1\r\nline 2\u{85}", evidence: [("k\u{301}e=y ]\"\r", .string("v\"\u{301}]\\")), ("é", .number(1))],
                               reason: "]")
        let message = Self.syslog(event, settings: settings)
        #expect(message.contains(" bed=\"B\\\"\u{301}\\]\u{301}\\\\\u{301}1  \" "), "\(message)")
        let parsed = try #require(Self.structuredData(message), "\(message)")
        #expect(parsed.header[2] == "bedb1" && parsed.header[3] == "-")
        #expect(parsed.elements.map(\.0) == ["alarm@32473", "evidence@32473"])
        let alarm = Dictionary(parsed.elements[0].1, uniquingKeysWith: { first, _ in first })
        #expect(alarm["bed"] == "B\"\u{301}]\u{301}\\\u{301}1  " && alarm["source"] == "o\"\u{301}x]" && alarm["reason"] == "]")
        let evidence = Dictionary(parsed.elements[1].1, uniquingKeysWith: { first, _ in first })
        #expect(parsed.elements[1].1.count == 2 && evidence["key"] == "v\"\u{301}]\\" && evidence["_"] == "1", "\(parsed.elements)")
        #expect(parsed.msg == "line 1  line 2 ")
    }

    @Test func randomUnicodeStructuredDataParsesBackToTheValues() throws {
        var random = SplitMix(seed: 5424)
        for _ in 0..<3000 {
            var settings = SyslogSettings()
            settings.hostname = Self.randomText(&random)
            settings.appName = Self.randomText(&random)
            settings.bedID = Self.randomText(&random)
            let source = Bool.random(using: &random) ? Self.randomText(&random) : nil
            let reason = Bool.random(using: &random) ? Self.randomText(&random) : nil
            let text = Self.randomText(&random, maxLength: 80)
            let evidence: [(String, JSONValue)] = (0..<Int.random(in: 0...4, using: &random)).map { _ in
                (Self.randomText(&random, maxLength: 40), .string(Self.randomText(&random)))
            }
            let message = Self.syslog(Self.event(.deviceSilent, source: source, text: text, evidence: evidence, reason: reason), settings: settings)
            #expect(!message.unicodeScalars.contains { Self.isControl($0) }, "a control character")
            let parsed = try #require(Self.structuredData(message), "not RFC 5424: \(message.unicodeScalars.map { $0.value })")
            #expect(parsed.header.count == 6 && parsed.header[2].utf8.count <= 255 && parsed.header[3].utf8.count <= 48 && parsed.header[5] == "technical.device_silent")
            let alarm = Dictionary(parsed.elements[0].1, uniquingKeysWith: { first, _ in first })
            #expect(alarm["bed"] == Self.sanitized(settings.bedID) && alarm["source"] == source.map(Self.sanitized) && alarm["reason"] == reason.map(Self.sanitized))
            let expected = evidence.sorted { $0.0 < $1.0 }.map { key, value -> (String, String) in
                let name = String(String.UnicodeScalarView(key.unicodeScalars.filter { $0.value > 32 && $0.value < 127 && !"=]\"".unicodeScalars.contains($0) }.prefix(32)))
                return (name.isEmpty ? "_" : name, Self.sanitized(value.text ?? ""))
            }
            #expect(parsed.elements.count == (evidence.isEmpty ? 1 : 2))
            if parsed.elements.count == 2 {
                #expect(parsed.elements[1].1.map(\.0) == expected.map(\.0) && parsed.elements[1].1.map(\.1) == expected.map(\.1))
            }
            #expect(parsed.msg == Self.sanitized(text))
        }
    }
}

/// SplitMix64: a seeded generator, so a failure is the same on every run.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
