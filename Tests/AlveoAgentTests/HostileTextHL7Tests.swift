import AlveoTestKit
import AlveoAgent
import AlveoCore
import AlveoOutput
import Foundation
import Testing

/// Issue 23 item 4 through a strict outside reader: PCD-04 messages carrying the attacker's strings and
/// random Unicode (names, ids, texts, sources), and the ACKs the HL7 listener answers to messages with
/// hostile control ids (bytes that are not a message get an AE with no MSH to answer from, so no MSA-2:
/// not valid for hl7apy, and not checked here), validated by hl7apy as the test receiver validates (v2.6, strict, per segment).
/// hl7apy alone would take `DOE|\u{301}X` raw (a stray `|` just makes PID-6 another name): the structure
/// itself is checked by WireEscapingTests and the `pcd04_builder` fuzz target.
@Suite(.endToEnd, .ownThread) struct HostileTextHL7Tests {
    static let validator = Paths.repository.appendingPathComponent("Tests/Peers/hl7_validate.py").path

    /// hl7apy over the messages (CR-separated segments); each must be valid.
    static func validate(_ messages: [String], _ name: String) throws {
        let file = try Paths.temporaryDirectory().appendingPathComponent(name).path
        // One segment per line, a blank line between messages: no raw CR or LF may be left inside a value.
        try messages.map { $0.replacingOccurrences(of: "\r", with: "\n") }.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let result = try ChildProcess.run(["python3", validator, file])
        #expect(result.status == 0, "hl7apy: \(result.stdout.split(separator: "\n").filter { !$0.contains("\"errors\": []") }.prefix(5)) \(result.stderr)")
        #expect(result.stdout.split(separator: "\n").count == messages.count, "a message split or merged on its way to hl7apy")
    }

    /// Texts made to break escaping: delimiters, escape-like sequences, controls (C0, DEL, C1),
    /// combining marks, ZWJ sequences, U+FFFD, BOM, line separators, astral scalars.
    static func randomText(_ random: inout SplitMix, maxLength: Int = 20) -> String {
        let pieces = ["|", "^", "~", "\\", "&", "\\S\\", "\\F\\", "\\X0D\\", "\\E", "\r", "\n", "\r\n", "\u{1C}", "\u{0B}", "\u{85}", "\u{7F}", "\u{301}",
                      "\u{1F469}\u{200D}\u{1F469}\u{200D}\u{1F467}", "\u{FFFD}", "\u{FEFF}", "\u{2028}", "\u{200D}", "\u{10FFFF}", "é", "ß", "a", "Z", "7", " "]
        var text = ""
        for _ in 0..<Int.random(in: 0...maxLength, using: &random) {
            switch Int.random(in: 0..<6, using: &random) {
            case 0: text.unicodeScalars.append(Unicode.Scalar(UInt32.random(in: 0x300...0x36F, using: &random))!)
            case 1: text.unicodeScalars.append(Unicode.Scalar(UInt32.random(in: 0x10000...0x10FFFF, using: &random))!)
            default: text += pieces[Int.random(in: 0..<pieces.count, using: &random)]
            }
        }
        return text
    }

    static var identity: HL7Identity {
        var identity = HL7Identity()
        identity.eui64 = "0A1B2CFFFE3D4E5F"
        identity.sendingFacility = "HOSP_ICU"
        identity.patientID = "4711"
        identity.patientIDAuthority = "HOSP"
        identity.bedLocation = "ICU^B1^B1^HOSP"
        identity.bedID = "ICU-B1"
        identity.devices = ["vent", "oxi"]
        return identity
    }

    static func message(rule: RuleID, identity: HL7Identity, patient: JournalPatient? = nil, text: String, source: String?, seq: Int) -> String {
        let event = AlarmEvent(t: 60, alarmID: seq, rule: rule, source: source, parameter: rule == .valueRejected ? .spo2 : nil, phase: .start,
                               priority: .high, state: .active, acknowledged: false, reason: nil, text: text,
                               evidence: [("spo2_pct", .number(86)), ("threshold_pct", .number(88)), ("spo2_source", .string(source ?? "oxi"))])
        let entry = JournalEntry(seq: Int64(seq), run: "R", wallTime: "2026-11-25T08:01:00.000Z", event: event, patient: patient)
        return PCD04Message.build(entry: entry, event: event, identity: identity, now: Date(timeIntervalSince1970: 1_795_593_661))
    }

    @Test func pcd04WithTheAttackersStringsAndRandomNamesIsValidHL7() throws {
        var messages: [String] = []
        // The attacker's: through the configuration or /v1/patient, and as an ADT A08 leaves them.
        let names = ["DOE|\u{0301}X^JANE", "DOE\\S\\X^JANE", "DOE\\F\\\u{0301}X", "DOE X^JA\\T\\NE", "DOE&VAN^JA&NE", "A^B^C^D^E^F^G^H^I^J^K^L^M^N^O^P",
                     "DOE^\u{0301}JANE\r\nMSH|^~\\&|EVIL", "\\X0D\\^\\", "UNKNOWN", "\u{1F469}\u{200D}\u{1F467}^\u{FEFF}\u{2028}"]
        for (index, name) in names.enumerated() {
            var identity = Self.identity
            identity.patientName = name
            identity.patientIDAuthority = "HOSP&1.2.3&ISO&X^Y|\u{301}"
            messages.append(Self.message(rule: .spo2Low, identity: identity, text: "a|\u{301}b^\u{301}c~\u{301}d\\\u{301}e&\u{301}f\r\n", source: "oxi|\u{301}",
                                         seq: index + 1))
            messages.append(Self.message(rule: .sensorOff, identity: Self.identity, patient: JournalPatient(id: "4711|\u{301}^", authority: "HO\\S\\SP", name: name),
                                         text: "\u{85}", source: "oxi^\u{301}", seq: index + 100))
        }
        // And random ones: names as the control API takes them (components by `^`) and as ADT holds them.
        var random = SplitMix(seed: 2304)
        let rules: [RuleID] = [.spo2Low, .sensorOff, .valueRejected, .proneStop, .deliveryFailed]
        for round in 0..<400 {
            var identity = Self.identity
            // PID-3.1 and the family name (FN.1) are required: never empty, whatever follows.
            identity.patientName = round % 2 == 0 ? "F" + Self.randomText(&random)
                : HL7Escaping.component("F" + Self.randomText(&random)) + "^" + HL7Escaping.component(Self.randomText(&random))
            identity.patientID = "P" + Self.randomText(&random)
            // hl7apy holds an HD's namespace id (the authority, MSH-4) to 20 characters, escapes included.
            identity.patientIDAuthority = Self.randomText(&random, maxLength: 2)
            identity.sendingFacility = Self.randomText(&random, maxLength: 2)
            identity.bedID = Self.randomText(&random, maxLength: 6)
            let source = round % 3 == 0 ? nil : Self.randomText(&random)
            messages.append(Self.message(rule: rules[round % rules.count], identity: identity, text: Self.randomText(&random, maxLength: 60), source: source,
                                         seq: round + 1000))
        }
        try Self.validate(messages, "hostile-pcd04.hl7")
    }

    @Test func acksToHostileControlIDsAreValidHL7() throws {
        let now = Date(timeIntervalSince1970: 1_795_948_200)
        var controlIDs = ["X\\F\\\u{301}Y", "A\\X0D0A\\B\\S\\\u{301}C", "\\E\\\\T\\\\R\\", String(repeating: "\\F\\\u{301}", count: 40),
                          String(repeating: "a", count: 64) + "\\F\\", String(repeating: "\u{1F469}\u{200D}\u{1F467}", count: 30), "1\\X1C0B\\\u{85}"]
        var random = SplitMix(seed: 10)
        for _ in 0..<200 {
            // A raw MSH-10 holds no `|` and no segment end; anything else goes, escapes and all.
            controlIDs.append(String(String.UnicodeScalarView(Self.randomText(&random, maxLength: 40).unicodeScalars.filter { !["|", "\r", "\n"].contains($0) })))
        }
        var acks: [String] = []
        for controlID in controlIDs {
            let bytes = Array("MSH|^~\\&|LIS\\F\\\u{301}|HOSP|ALVEO|ICU|20261129103000||ORU^R01^ORU_R01|\(controlID)|P|2.5\rPID|1||99999".utf8)
            let message = try HL7Message.parse(bytes).get()
            // As the listener answers: its own control id, the reason, the sender's control id in MSA-2.
            let received = message.controlID
            // A control id that reads as nothing (none sent, or only separators, controls and blanks) is
            // echoed as nothing: MSA-2 is then empty, which hl7apy refuses as it refuses the message.
            guard !received.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { continue }
            acks.append(message.acknowledgement(code: "AR", text: "results for another patient: \(received)",
                                                controlID: "ALVEO-\(Shown.text(received.utf8, limit: 40))", now: now))
        }
        #expect(acks.count > 150)
        try Self.validate(acks, "hostile-acks.hl7")
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
