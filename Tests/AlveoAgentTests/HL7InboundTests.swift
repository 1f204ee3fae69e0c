import AlveoTestKit
import AlveoAgent
import AlveoCore
import AlveoOutput
import Foundation
import Testing

/// The HL7 v2 parser and what laboratory and ADT messages mean for the bed, in the shapes real senders
/// use (blood gas analysers' middleware with kPa and no OBX-14, UCUM units as coded elements, "LOINC"
/// spelled out as the coding system, ISO 8859-1, several PID-3 identifiers).
@Suite struct HL7InboundTests {
    static let utc = TimeZone(identifier: "UTC")!
    /// 2026-11-29 10:30:00 UTC.
    static let now = Date(timeIntervalSince1970: 1_795_948_200)

    static func message(_ lines: [String]) -> HL7Message {
        guard case .success(let message) = HL7Message.parse(Array(lines.joined(separator: "\r").utf8)) else {
            Issue.record("did not parse: \(lines)")
            return try! HL7Message.parse(Array("MSH|^~\\&|X".utf8)).get()
        }
        return message
    }

    static var config: LabListenerConfig {
        var config = LabListenerConfig()
        config.bind = "127.0.0.1"
        config.port = 2575
        config.allowedSenders = [.init(application: "ABL90", facility: "ICU"), .init(application: "LIS")]
        config.bedLocation = "ICU^B1^B1^HOSP"
        return config
    }

    static let msh = "MSH|^~\\&|ABL90|ICU|ALVEO|HOSP|20261129103000||ORU^R01^ORU_R01|M1|P|2.5.1"
    static let pid = "PID|1||12345^^^HOSP^MR~998877^^^NHS^NH||DOE^JANE||19700101|F"

    func interpret(_ lines: [String], config: LabListenerConfig = HL7InboundTests.config) -> HL7Inbound.Decision {
        HL7Inbound.interpret(Self.message(lines), config: config, now: Self.now, zone: Self.utc)
    }

    func taken(_ decision: HL7Inbound.Decision) -> (entry: BedsideEntry, notes: [String])? {
        if case .take(let entry, _, let notes) = decision { return (entry, notes) }
        return nil
    }

    func rejected(_ decision: HL7Inbound.Decision) -> (code: String, reason: String)? {
        if case .reject(let code, let reason) = decision { return (code, reason) }
        return nil
    }

    // MARK: - Parser

    @Test func fieldsComponentsRepetitionsAndEscapes() throws {
        let message = Self.message([
            Self.msh, Self.pid,
            "NTE|1||a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\X41420D\\g\\.br\\h",
        ])
        #expect(message.sendingApplication == "ABL90" && message.sendingFacility == "ICU")
        #expect(message.type.code == "ORU" && message.type.event == "R01" && message.controlID == "M1")
        let pid = try #require(message.first("PID"))
        #expect(message.repetitions(pid, 3) == 2)
        #expect(message.value(pid, 3) == "12345" && message.value(pid, 3, component: 4) == "HOSP")
        #expect(message.value(pid, 3, repetition: 1) == "998877" && message.value(pid, 3, component: 4, repetition: 1) == "NHS")
        #expect(message.value(pid, 5, component: 2) == "JANE" && message.value(pid, 99) == "" && message.value(pid, 3, repetition: 5) == "")
        let nte = try #require(message.first("NTE"))
        // \X0D\ decodes to a CR, which is never kept: a space (issue 23).
        #expect(message.value(nte, 3) == "a|b^c&d~e\\fAB g h")
        #expect(message.value(message.msh, 1) == "|" && message.value(message.msh, 2) == "^~\\&")
    }

    @Test func otherSeparatorsLineFeedsAndLatin1() throws {
        // Separators are what MSH declares; segments may end with LF or CRLF; MSH-18 8859/1 is Latin-1.
        var bytes = Array("MSH#*!@%#LIS#HOSP#####ADT*A08#X9#P#2.5######8859/1\r\nPID#1##1***HOSP!2***NHS##".utf8)
        bytes += [0xDC, 0x6C, 0x6B, 0xFC, 0x2A, 0x4A] + Array("\nPV1#1#I#ICU*B1*B1".utf8)  // Ülkü*J
        guard case .success(let message) = HL7Message.parse(bytes) else { Issue.record("did not parse"); return }
        #expect(message.type.code == "ADT" && message.type.event == "A08" && message.controlID == "X9")
        let pid = try #require(message.first("PID"))
        #expect(message.value(pid, 3, component: 4) == "HOSP" && message.value(pid, 3, component: 4, repetition: 1) == "NHS")
        #expect(message.value(pid, 5) == "Ülkü" && message.value(pid, 5, component: 2) == "J", "\(message.value(pid, 5)) \(message.value(pid, 4))")
        #expect(message.all("PV1").count == 1)
    }

    @Test func notAMessageIsAClearError() {
        for bytes: [UInt8] in [[], Array("hello".utf8), Array("MSH".utf8), Array("MSH|^|".utf8), Array("MSHA^~\\&|x".utf8),
                               Array("MSH|^^\\&|x".utf8), [0x0B, 0x1C, 0x0D], Array("PID|1||2\rMSH|^~\\&|".utf8)] {
            guard case .failure(let error) = HL7Message.parse(bytes) else {
                Issue.record("parsed \(bytes)")
                continue
            }
            #expect(!error.description.isEmpty)
        }
    }

    @Test func hugeAndHostileInputIsBounded() {
        // 4 MiB of separators and a 1 MiB field: parsed in linear time, fields and segments capped.
        let separators = Array("MSH|^~\\&|".utf8) + [UInt8](repeating: UInt8(ascii: "|"), count: 4 << 20)
        if case .success(let message) = HL7Message.parse(separators) {
            #expect(message.value(message.msh, HL7Message.maxFields + 1) == "" && message.value(message.msh, 5) == "")
        }
        let segments = Array("MSH|^~\\&|A".utf8) + Array(repeating: Array("\rOBX|1".utf8), count: 100_000).flatMap { $0 }
        if case .success(let message) = HL7Message.parse(segments) { #expect(message.segments.count <= HL7Message.maxSegments) }
        let long = Array("MSH|^~\\&|".utf8) + [UInt8](repeating: UInt8(ascii: "\\"), count: 1 << 20)
        if case .success(let message) = HL7Message.parse(long) { #expect(message.sendingApplication.utf8.count <= HL7Message.maxValueBytes) }
    }

    @Test func hl7Times() {
        let utc = Self.utc
        #expect(HL7Message.date("202611291030", zone: utc) == Date(timeIntervalSince1970: 1_795_948_200))
        #expect(HL7Message.date("20261129103000.5", zone: utc) == Date(timeIntervalSince1970: 1_795_948_200.5))
        #expect(HL7Message.date("20261129113000+0100", zone: utc) == Date(timeIntervalSince1970: 1_795_948_200))
        #expect(HL7Message.date("20261129053000-0500") == Date(timeIntervalSince1970: 1_795_948_200))
        for bad in ["", "2026", "20261129", "2026112910", "202613291030", "202602301030", "20261129256000", "20261129103000+25", "20261129103000Z",
                    "99999999999999999999999999", "20261129103000+01000"] {
            #expect(HL7Message.date(bad, zone: utc) == nil, "\(bad)")
        }
    }

    @Test func acknowledgementsEchoTheControlIDAndEscapeTheText() throws {
        let message = Self.message([Self.msh, Self.pid])
        let ack = message.acknowledgement(code: "AE", text: "OBX 1: unit 'x|y' is wrong", controlID: "ALVEO-M1", now: Self.now)
        let parsed = try HL7Message.parse(Array(ack.utf8)).get()
        let msa = try #require(parsed.first("MSA"))
        #expect(parsed.value(msa, 1) == "AE" && parsed.value(msa, 2) == "M1" && parsed.value(msa, 3) == "OBX 1: unit 'x|y' is wrong")
        #expect(parsed.sendingApplication == "ALVEO" && parsed.value(parsed.msh, 5) == "ABL90" && parsed.type.code == "ACK")
        #expect(!ack.contains("\n"))
    }

    // MARK: - Laboratory results

    @Test func bloodGasInKPaWithItsSampleTime() throws {
        let decision = interpret([
            Self.msh, Self.pid,
            "OBR|1||GAS1|24336-0^Gas panel - Arterial blood^LN|||20261129100000",
            "OBX|1|NM|2744-1^pH^LN||7.31|[pH]|||||F",
            "OBX|2|NM|2703-7^Oxygen [Partial pressure] in Arterial blood^LN||8.2|kPa|||||F|||20261129100200",
            "OBX|3|NM|718-7^Hemoglobin [Mass/volume] in Blood^LOINC||81|g/L^g/L^UCUM|||||C",
            "OBX|4|NM|14682-9^Creatinine^LN||180|umol/L|||||F|||20261129090000",
        ])
        let (entry, notes) = try #require(taken(decision))
        #expect(notes.isEmpty)
        #expect(entry.via == "hl7" && entry.by == "ABL90^ICU")
        #expect(entry.forPatient == [PatientIdentifier(id: "12345", authority: "HOSP"), PatientIdentifier(id: "998877", authority: "NHS")])
        guard case .chart(let values) = entry.action else { Issue.record("\(entry.action)"); return }
        // The arterial pH (rules v3 §3.2) with its UCUM unit `[pH]`.
        #expect(values.map(\.parameter) == ["ph", "pao2", "hb", "creatinine"])
        #expect(values.map(\.value) == ["7.31[pH]", "8.2kPa", "81g/L", "180umol/L"])
        #expect(values.map(\.corrects) == [false, false, true, false])
        // OBX-14 where given, else OBR-7 (10:00): 30 min, 28 min, 30 min and 90 min before 10:30.
        #expect(values.map(\.sampleAge) == [1800, 1680, 1800, 5400])
    }

    /// An arterial PaCO2 and a pH with no unit (OBX-6 empty, as many analysers send it): taken.
    @Test func arterialPaCO2AndAUnitlessPHAreTaken() throws {
        let decision = interpret([
            Self.msh, Self.pid, "OBR|1||GAS2|24336-0^Gas panel - Arterial blood^LN|||20261129100000",
            "OBX|1|NM|2744-1^pH of Arterial blood^LN||7.18||||||F",
            "OBX|2|NM|2019-8^Carbon dioxide [Partial pressure] in Arterial blood^LN||9.6|kPa|||||F",
        ])
        let (entry, _) = try #require(taken(decision))
        guard case .chart(let values) = entry.action else { Issue.record("\(entry.action)"); return }
        #expect(values.map(\.parameter) == ["ph", "paco2"])
        #expect(values.map(\.value) == ["7.18", "9.6kPa"])
        let paco2 = try BedsideLoop.observation(values[1], source: "lab", sampledAt: 0).get()
        #expect(paco2.value == .number(9.6 * 7.50062))
        #expect(throws: (any Error).self) { try BedsideLoop.observation(ChartedValue(parameter: "ph", value: "9.1", corrects: false, sampleAge: 0), source: "lab", sampledAt: 0).get() }
    }

    @Test func whatIsNotTakenAndWhy() throws {
        // Preliminary results, venous or unspecified pO2, and codes Alveo does not use.
        let decision = interpret([
            Self.msh, Self.pid, "OBR|1||G|x|||20261129100000",
            "OBX|1|NM|2703-7^pO2^LN||9.1|kPa|||||P",
            "OBX|2|NM|11556-8^Oxygen [Partial pressure] in Blood^LN||5.0|kPa|||||F",
            "OBX|3|NM|19211-2^pO2 venous^LN||5.2|kPa|||||F",
            "OBX|4|NM|2021-4^Carbon dioxide [Partial pressure] in Venous blood^LN||6|kPa|||||F",
            "OBX|5|NM|LOCAL1^Haemoglobin^L||8|g/dL|||||F",
            "OBX|6|NM|2746-6^pH of Venous blood^LN||7.30||||||F",
        ])
        guard case .ignore(let reason, let notes) = decision else { Issue.record("\(decision)"); return }
        #expect(reason.contains("no result Alveo uses"))
        #expect(notes.count == 5, "\(notes)")
        #expect(notes[0].contains("OBX 1") && notes[0].contains("only final"))
        #expect(notes[1].contains("not a PaO2") && notes[2].contains("not a PaO2"))
        #expect(notes[3].contains("OBX 4") && notes[3].contains("not a PaCO2"))
        #expect(notes[4].contains("OBX 6") && notes[4].contains("not arterial (2744-1)"))
    }

    @Test func contentThatCannotBeTakenIsAnApplicationError() {
        let head = [Self.msh, Self.pid, "OBR|1||G|x|||20261129100000"]
        for (obx, expected) in [
            ("OBX|1|NM|2703-7^^LN||8.2||||||F", "unit ''"),
            ("OBX|1|NM|2703-7^^LN||8.2|g/L|||||F", "unit 'g/L'"),
            ("OBX|1|NM|2703-7^^LN||<5|kPa|||||F", "is not a number"),
            ("OBX|1|NM|2703-7^^LN||1e999|kPa|||||F", "is not a number"),
            ("OBX|1|SN|718-7^^LN||>^20|g/dL|||||F", "is not a number"),
        ] {
            let decision = rejected(interpret(head + [obx]))
            #expect(decision?.code == "AE" && decision?.reason.contains(expected) == true, "\(obx): \(String(describing: decision))")
        }
        #expect(rejected(interpret([Self.msh, Self.pid, "OBX|1|NM|2703-7^^LN||8.2|kPa|||||F"]))?.reason.contains("no sample time") == true)
        #expect(rejected(interpret([Self.msh, "PID|1||", "OBR|1||G|x|||20261129100000", "OBX|1|NM|2703-7^^LN||8.2|kPa|||||F"]))?.reason.contains("PID-3") == true)
    }

    @Test func notForUsIsAnApplicationReject() {
        let gas = [Self.pid, "OBR|1||G|x|||20261129100000", "OBX|1|NM|2703-7^^LN||8.2|kPa|||||F"]
        let stranger = rejected(interpret(["MSH|^~\\&|ABL90|WARD7|ALVEO|HOSP|20261129103000||ORU^R01|M1|P|2.5"] + gas))
        #expect(stranger?.code == "AR" && stranger?.reason.contains("allowed_senders") == true)
        // LIS is allowed from any facility.
        #expect(taken(interpret(["MSH|^~\\&|lis|ANY|ALVEO|HOSP|20261129103000||ORU^R01|M1|P|2.5"] + gas)) != nil)
        let test = rejected(interpret(["MSH|^~\\&|ABL90|ICU|ALVEO|HOSP|20261129103000||ORU^R01|M1|T|2.5"] + gas))
        #expect(test?.code == "AR" && test?.reason.contains("production") == true)
        let order = rejected(interpret(["MSH|^~\\&|ABL90|ICU|ALVEO|HOSP|20261129103000||ORM^O01|M1|P|2.5"] + gas))
        #expect(order?.code == "AR" && order?.reason.contains("ORM^O01") == true)
    }

    // MARK: - Admissions

    static func adt(_ event: String, location: String = "ICU^B1^B1^HOSP", extra: [String] = []) -> [String] {
        ["MSH|^~\\&|LIS|HOSP|ALVEO|HOSP|20261129103000||ADT^\(event)^ADT_A01|A1|P|2.5",
         "PID|1||67890^^^HOSP^MR||ROE^ANN||19800101|F", "PV1|1|I|\(location)||||"] + extra
    }

    @Test func admissionsTransfersDischargesAndUpdates() throws {
        let admit = try #require(taken(interpret(Self.adt("A01", extra: ["OBX|1|NM|8302-2^Body height^LN||64|[in_i]|||||F"]))))
        guard case .set(let record) = admit.entry.action else { Issue.record("\(admit.entry.action)"); return }
        #expect(record.id == "67890" && record.idAuthority == "HOSP" && record.name == "ROE^ANN" && record.sex == "female" && record.heightCm == 162.6)
        #expect(admit.entry.forPatient == nil)
        // Another bed: nothing to do. The facility may be left out; case does not matter.
        guard case .ignore = interpret(Self.adt("A01", location: "ICU^B2^B2^HOSP")) else { Issue.record("another bed taken"); return }
        #expect(taken(interpret(Self.adt("A01", location: "icu^b1^B1"))) != nil)
        guard case .ignore = interpret(Self.adt("A01", location: "ICU^B1^B1^OTHER")) else { Issue.record("another hospital's bed taken"); return }

        let into = try #require(taken(interpret(Self.adt("A02"))))
        guard case .set = into.entry.action else { Issue.record("\(into.entry.action)"); return }
        let out = try #require(taken(interpret(Self.adt("A02", location: "WARD^7^3"))))
        #expect(out.entry.action == .discharge && out.entry.forPatient?.first?.id == "67890")
        let discharge = try #require(taken(interpret(Self.adt("A03"))))
        #expect(discharge.entry.action == .discharge && discharge.entry.forPatient?.first?.id == "67890")
        let update = try #require(taken(interpret(Self.adt("A08", extra: ["OBX|1|NM|8302-2^^LN||171|cm|||||F"]))))
        guard case .update(let updated) = update.entry.action else { Issue.record("\(update.entry.action)"); return }
        #expect(updated.heightCm == 171 && updated.id == nil && update.entry.forPatient?.first?.id == "67890")
        guard case .ignore = interpret(Self.adt("A04")) else { Issue.record("A04 taken"); return }
    }

    /// Issue 23: a decoded `\S\` became a component separator once the name was written again, and a
    /// decoded `\X0D\` a CR in the record. The name is held as PID-5 is written (FAMILY^GIVEN, each
    /// component's own delimiters escaped), so it goes out to the station as it came in.
    @Test func anAdmittedNameKeepsItsEscapedDelimitersAndNoControlCharacters() throws {
        // (PID-5 as sent, the name held, PID-5 in the PCD-04 messages of this patient.)
        let cases: [(String, String, String)] = [
            ("DOE\\S\\X^JANE", "DOE\\S\\X^JANE", "DOE\\S\\X^JANE^^^^^L"),
            ("DOE\\F\\\u{0301}X", "DOE|\u{0301}X", "DOE\\F\\\u{0301}X^^^^^^L"),
            ("DOE\\X0D\\X^JA\\T\\NE\\X0A\\", "DOE X^JA\\T\\NE ", "DOE X^JA\\T\\NE ^^^^^L"),
            ("O\\E\\BRIEN^\\R\\ANN", "O\\E\\BRIEN^~ANN", "O\\E\\BRIEN^\\R\\ANN^^^^^L"),
        ]
        for (sent, held, sentOn) in cases {
            let update = try #require(taken(interpret(Self.adt("A08").map { $0.hasPrefix("PID") ? "PID|1||67890^^^HO\\S\\SP^MR||\(sent)||19800101|F" : $0 })))
            guard case .update(let record) = update.entry.action else { Issue.record("\(update.entry.action)"); return }
            #expect(record.name == held, "\(sent)")
            #expect(update.entry.forPatient?.first?.authority == "HO\\S\\SP")
            let event = AlarmEvent(t: 1, alarmID: 1, rule: .sensorOff, source: "oxi", parameter: nil, phase: .start, priority: .medium, state: .active,
                                   acknowledged: false, reason: nil, text: "t", evidence: [])
            let entry = JournalEntry(seq: 1, run: "R", wallTime: nil, event: event, patient: JournalPatient(id: "67890", authority: "HO\\S\\SP", name: record.name))
            let message = PCD04Message.build(entry: entry, event: event, identity: HL7Identity(), now: Self.now)
            #expect(message.split(separator: "\r").map(String.init)[1] == "PID|||67890^^^HO\\S\\SP^MR||\(sentOn)", "\(sent)")
        }
        // At most 128 bytes held, cut before an escape, never inside one.
        let long = try #require(taken(interpret(Self.adt("A08").map {
            $0.hasPrefix("PID") ? "PID|1||67890^^^HOSP^MR||\(String(repeating: "\\S\\", count: 60))^JANE" : $0
        })))
        guard case .update(let record) = long.entry.action, let name = record.name else { Issue.record("\(long.entry.action)"); return }
        #expect(name == String(repeating: "\\S\\", count: 42) + "^J" && name.utf8.count == 128)
    }

    @Test func anImplausibleHeightOrUnknownSexIsLeftUnknownAndSaid() throws {
        let admit = try #require(taken(interpret(Self.adt("A01", extra: ["OBX|1|NM|8302-2^^LN||1.7|cm|||||F"]).map {
            $0.hasPrefix("PID") ? "PID|1||67890^^^HOSP^MR||ROE^ANN||19800101|U" : $0
        })))
        guard case .set(let record) = admit.entry.action else { Issue.record("\(admit.entry.action)"); return }
        #expect(record.heightCm == nil && record.sex == nil)
        #expect(admit.notes.count == 2 && admit.notes.contains { $0.contains("height") } && admit.notes.contains { $0.contains("PID-8") }, "\(admit.notes)")
    }

    // MARK: - The loop takes them for the bed's patient only

    static func loopConfig() throws -> AgentConfig {
        try AgentConfig.parse(yaml: """
            patient: {sex: female, height_cm: 160}
            outputs:
              journal: {directory: /tmp/unused}
              hl7: {host: 127.0.0.1, port: 1, patient_id: "12345", patient_id_authority: HOSP, bed_id: B1}
            """, file: "test.yaml")
    }

    @Test func resultsAreTakenForTheBedsPatientOnly() throws {
        var loop = BedsideLoop(config: try Self.loopConfig(), expectDevices: false)
        func lab(_ id: String, authority: String? = "HOSP", hb: String, age: Double = 60, corrects: Bool = false) -> BedsideEntry {
            var entry = BedsideEntry(action: .chart([ChartedValue(parameter: "hb", value: hb, corrects: corrects, sampleAge: age)]), via: "hl7",
                                     forPatient: [PatientIdentifier(id: id, authority: authority)])
            entry.stamp(at: 1000)
            return entry
        }
        guard case .failure(.otherPatient(let reason)) = loop.take(lab("99999", hb: "10g/dL"), at: 1000) else { Issue.record("another patient taken"); return }
        #expect(!reason.contains("99999") && !reason.contains("12345"), "no identifiers in reasons (they are logged)")
        guard case .failure(.otherPatient) = loop.take(lab("12345", authority: "OTHER", hb: "10g/dL"), at: 1000) else { Issue.record("another authority's taken"); return }
        #expect(loop.core.current(.hb) == nil)
        guard case .success = loop.take(lab("12345", authority: nil, hb: "100g/L"), at: 1000) else { Issue.record("refused"); return }
        #expect(loop.core.current(.hb)?.value == 10 && loop.core.current(.hb)?.t == 940 && loop.core.current(.hb)?.source == "lab")
        // A correction of the same sample replaces it.
        guard case .success = loop.take(lab("12345", hb: "7.5g/dL", corrects: true), at: 1000) else { Issue.record("refused"); return }
        #expect(loop.core.current(.hb)?.value == 7.5)
        // A stale sample is refused with the reason.
        guard case .failure(.invalid(let stale)) = loop.take(lab("12345", hb: "8g/dL", age: 7 * 3600), at: 1000) else { Issue.record("stale taken"); return }
        #expect(stale.contains("max_sample_age_s"))
        // A laboratory clock a little ahead of ours is taken as now; far ahead is refused.
        guard case .success = loop.take(lab("12345", hb: "8g/dL", age: -20), at: 1000) else { Issue.record("20 s clock skew refused"); return }
        #expect(loop.core.current(.hb)?.value == 8 && loop.core.current(.hb)?.t == 1000)
        guard case .failure(.invalid(let future)) = loop.take(lab("12345", hb: "8g/dL", age: -600), at: 1000) else { Issue.record("future taken"); return }
        #expect(future.contains("future"))
        // After a discharge no patient is known: results are refused.
        _ = loop.take(BedsideEntry(action: .discharge, via: "control"), at: 1001)
        guard case .failure(.otherPatient(let nobody)) = loop.take(lab("12345", hb: "8g/dL"), at: 1002) else { Issue.record("taken with no patient"); return }
        #expect(nobody.contains("no patient"))
    }

    @Test func aResentAdmissionOfThePatientHereEndsNothing() throws {
        var loop = BedsideLoop(config: try Self.loopConfig(), expectDevices: false)
        let hemoptysis = BedsideEntry(action: .chart([ChartedValue(parameter: "hemoptysis", value: "250")]), via: "control")
        guard case .success(let step) = loop.take(hemoptysis, at: 10) else { Issue.record("refused"); return }
        #expect(step.events.contains { $0.rule == .hemoptysisVolume && $0.phase == .start })
        let again = BedsideEntry(action: .set(PatientRecord(sex: "female", heightCm: 160, id: "12345", idAuthority: "HOSP")), via: "hl7")
        guard case .success(let resent) = loop.take(again, at: 20) else { Issue.record("refused"); return }
        #expect(resent.events.isEmpty && loop.core.activeAlarms.count == 1)
        let other = BedsideEntry(action: .set(PatientRecord(sex: "male", heightCm: 180, id: "67890")), via: "hl7")
        guard case .success(let admitted) = loop.take(other, at: 30) else { Issue.record("refused"); return }
        #expect(admitted.events.contains { $0.rule == .hemoptysisVolume && $0.phase == .end && $0.reason == "patient_changed" })
        #expect(loop.core.activeAlarms.isEmpty && loop.patient.id == "67890" && loop.core.pbw.map { ($0 * 10).rounded() / 10 } == 75.1)
    }

    @Test func pseudonymsAreConsistentAndNotDerivedFromTheValues() throws {
        let pseudonyms = IdentityPseudonyms(config: try Self.loopConfig())
        #expect(pseudonyms.pseudonym("12345") == "REDACTED" && pseudonyms.pseudonym("HOSP") == "REDACTED")
        #expect(pseudonyms.pseudonym("67890") == "REDACTED-3" || pseudonyms.pseudonym("67890").hasPrefix("REDACTED-"))
        let first = pseudonyms.pseudonym("ROE^ANN")
        #expect(pseudonyms.pseudonym("ROE^ANN") == first && first != pseudonyms.pseudonym("67890") && !first.contains("ROE"))
        let entry = BedsideEntry(action: .admit(PatientRecord(sex: "female", heightCm: 160, id: "67890", idAuthority: "HOSP", name: "ROE^ANN")), via: "hl7",
                                 forPatient: [PatientIdentifier(id: "12345", authority: "HOSP")])
        let text = String(decoding: entry.redacted(pseudonyms.pseudonym).json(), as: UTF8.self)
        #expect(!text.contains("67890") && !text.contains("ROE") && !text.contains("12345") && !text.contains("HOSP") && text.contains("\"heightCm\":160"), "\(text)")
    }
}
