import AlveoCore
@testable import AlveoOutput
import Foundation
import Testing

/// PCD-04 by the IHE PCD ACM profile as public senders send it: each rule of
/// shared/pcd04-reference.md (copied to Fixtures/pcd04-reference.md) checked on every kind of message.
@Suite struct PCD04ConformanceTests {
    static let reference: String = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/pcd04-reference.md").path
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }()
    /// shared/pcd01-reference.md (copied to Fixtures): the codes of observations real gateways send,
    /// where the metrics of rules v3 §3.2 (MAP, NIBP mean, ECG heart rate) are tabulated.
    static let pcd01Reference: String = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/pcd01-reference.md").path
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }()

    /// The identity of the reference's examples (§12).
    static var exampleIdentity: HL7Identity {
        var identity = HL7Identity()
        identity.eui64 = "0A1B2CFFFE3D4E5F"
        identity.sendingFacility = "HOSP_ICU"
        identity.receivingApplication = "CENTRAL"
        identity.receivingFacility = "HOSP"
        identity.patientID = "12345"
        identity.patientIDAuthority = "HOSP"
        identity.patientName = "DOE^JANE"
        identity.bedLocation = "ICU^B1^B1^HOSP"
        identity.bedID = "ICU-B1"
        identity.devices = ["vent", "oxi"]
        return identity
    }

    static func date(_ text: String) -> Date { PCD04Message.parseRFC3339(text)! }

    /// The code block following the heading `### <title>` in the reference.
    static func example(_ title: String) throws -> [String] {
        let text = try #require(reference.range(of: "### \(title)").map { reference[$0.upperBound...] })
        let start = try #require(text.range(of: "```\n"))
        let end = try #require(text[start.upperBound...].range(of: "```"))
        return text[start.upperBound..<end.lowerBound].split(separator: "\n").map(String.init)
    }

    static func event(_ rule: RuleID, phase: AlarmPhase = .start, priority: Priority = .medium, state: AlarmState = .active,
                      acknowledged: Bool = false, source: String? = nil, parameter: Parameter? = nil, text: String = "text",
                      evidence: [(String, JSONValue)] = []) -> AlarmEvent
    {
        AlarmEvent(t: 0, alarmID: 7, rule: rule, source: source, parameter: parameter, phase: phase, priority: priority, state: state,
                   acknowledged: acknowledged, reason: nil, text: text, evidence: evidence)
    }

    static func build(_ event: AlarmEvent, identity: HL7Identity = exampleIdentity) -> [[String]] {
        let entry = JournalEntry(seq: 9, run: "20261125T160000Z", wallTime: "2026-11-25T16:47:00.000Z", event: event)
        return PCD04Message.build(entry: entry, event: event, identity: identity, now: date("2026-11-25T16:47:07.800Z"))
            .split(separator: "\r").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
    }

    // MARK: - The reference's two examples, byte for byte

    @Test func physiologicalExampleIsReproducedByteForByte() throws {
        var identity = Self.exampleIdentity
        identity.alternateRuleCode = false  // the example carries the MDC event code alone
        let event = AlarmEvent(t: 2820, alarmID: 2, rule: .spo2Low, source: nil, parameter: nil, phase: .start, priority: .high,
                               state: .active, acknowledged: false, reason: nil,
                               text: "SpO2 86 % is below 88 %: check the probe, FiO2 and PEEP.",
                               evidence: [("spo2_pct", .number(86)), ("spo2_t", .number(2820)), ("spo2_source", .string("oxi")),
                                          ("threshold_pct", .number(88))])
        let entry = JournalEntry(seq: 3, run: "20261125T160000Z", wallTime: "2026-11-25T16:47:00.000Z", event: event)
        let message = PCD04Message.build(entry: entry, event: event, identity: identity, now: Self.date("2026-11-25T16:47:07.800Z"))
        #expect(message.split(separator: "\r").map(String.init) == (try Self.example("12.1 Physiological")))
    }

    @Test func technicalExampleIsReproducedByteForByte() throws {
        let event = AlarmEvent(t: 1859, alarmID: 1, rule: .sensorOff, source: "oxi", parameter: nil, phase: .end, priority: .medium,
                               state: .inactive, acknowledged: false, reason: nil,
                               text: "Oximeter probe on oxi is back on the patient; SpO2 monitoring resumed.", evidence: [])
        let entry = JournalEntry(seq: 2, run: "20261125T160000Z", wallTime: "2026-11-25T16:30:59.000Z", event: event)
        let message = PCD04Message.build(entry: entry, event: event, identity: Self.exampleIdentity,
                                         now: Self.date("2026-11-25T16:31:00.212Z"))
        #expect(message.split(separator: "\r").map(String.init) == (try Self.example("12.2 Technical")))
    }

    // MARK: - Every rule, every phase

    /// One event per rule with the evidence the core gives it.
    static var everyRule: [AlarmEvent] {
        RuleID.allCases.map { rule in
            switch rule {
            case .spo2Low:
                event(rule, evidence: [("spo2_pct", .number(86)), ("spo2_source", .string("oxi")), ("threshold_pct", .number(88))])
            case .tidalVolumeHigh:
                event(rule, evidence: [("vt_ml", .number(520)), ("vt_source", .string("vent")), ("pbw_kg", .number(52.4)),
                                       ("threshold_ml_per_kg", .number(8))])
            case .tidalVolumeLow:
                event(rule, evidence: [("vt_ml", .number(150)), ("vt_source", .string("vent")), ("pbw_kg", .number(52.4)),
                                       ("threshold_ml_per_kg", .number(4))])
            case .plateauHigh:
                event(rule, evidence: [("pplat_cmh2o", .number(32.5)), ("pplat_source", .string("vent")), ("threshold_cmh2o", .number(30))])
            case .drivingPressureHigh:
                event(rule, evidence: [("driving_pressure_cmh2o", .number(17)), ("pplat_source", .string("vent")),
                                       ("threshold_cmh2o", .number(15))])
            case .pfSeverity:
                event(rule, evidence: [("pf", .object([("value", .number(142.5))])), ("band", .string("moderate")), ("band_limit", .number(200))])
            case .pfFalling:
                event(rule, evidence: [("pf", .object([("value", .number(150))])), ("pf_limit", .number(160))])
            case .hypotension:
                event(rule, evidence: [("map_mmhg", .number(61)), ("map_source", .string("abp")), ("map_device", .string("vent")),
                                       ("threshold_mmhg", .number(65))])
            case .deviceSilent, .sensorOff: event(rule, source: "oxi")
            case .valueRejected: event(rule, source: "vent", parameter: .pplat)
            case .deliveryFailed: event(rule, source: "hl7")
            case .journalFailed: event(rule, source: "journal")
            default: event(rule)
            }
        }
    }

    @Test func everyRuleGivesTheProfilesRows() throws {
        for event in Self.everyRule {
            let segments = Self.build(event)
            let what = event.rule.id
            #expect(segments.map { $0[0] } == ["MSH", "PID", "PV1", "OBR", "OBX", "OBX", "OBX", "OBX", "OBX", "OBX", "OBX", "OBX"], "\(what)")
            let obx = Array(segments[4...])
            // The MDS row, then the alert's rows .1 to .7 under one containment prefix.
            #expect(obx[0][3] == "69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC" && obx[0][4] == "1.0.0.0", "\(what)")
            let prefix = String(obx[1][4].dropLast(2))
            #expect(prefix.split(separator: ".").count == 4 && prefix.hasPrefix("1."), "\(what): \(prefix)")
            for facet in 1...7 { #expect(obx[facet][4] == "\(prefix).\(facet)", "\(what): row .\(facet)") }
            // Attribute rows 68481-68485.
            #expect(obx[3...7].map { $0[3] } == ["68481^MDC_ATTR_EVENT_PHASE^MDC", "68482^MDC_ATTR_ALARM_STATE^MDC",
                                                   "68483^MDC_ATTR_ALARM_INACTIVATION_STATE^MDC", "68484^MDC_ATTR_ALARM_PRIORITY^MDC",
                                                   "68485^MDC_ATTR_ALERT_TYPE^MDC"], "\(what)")
            // OBX-8 on the identification row only.
            let typeCode = ["physiological": "SP", "technical": "ST", "advisory": "SA"][event.type.rawValue]!
            #expect(obx[1][8].hasSuffix("~PM~\(typeCode)"), "\(what): \(obx[1][8])")
            for row in obx where row[4] != obx[1][4] { #expect(row.count < 9 || row[8].isEmpty, "\(what): OBX-8 on \(row[4])") }
            #expect(obx[6][5] == "PM" && obx[7][5] == typeCode, "\(what)")
            // Local codes in a table 0396 form; never the bare ALVEO coding system.
            for row in obx {
                let code = row[3].split(separator: "^", omittingEmptySubsequences: false)
                #expect(code.count >= 3 && (code[2] == "MDC" || code[2] == "99ALV"), "\(what): \(row[3])")
                if code.count >= 6 { #expect(code[5] == "99ALV", "\(what): alternate \(row[3])") }
            }
            #expect(!segments.joined().joined().contains("^ALVEO|") && !segments.contains { $0.contains { $0.hasSuffix("^ALVEO") } })
            // The agent's EUI-64 in MSH-3, OBR-3 and OBX-18 of the MDS and event rows.
            #expect(segments[0][2] == "ALVEO^0A1B2CFFFE3D4E5F^EUI-64")
            #expect(segments[3][2] == "ICU-B1-20261125T160000Z-A7^ALVEO^0A1B2CFFFE3D4E5F^EUI-64" && segments[3][3] == segments[3][2])
            #expect(obx[0][18] == "ALVEO^^0A1B2CFFFE3D4E5F^EUI-64" && obx[1][18] == obx[0][18], "\(what)")
            // Times: detection in OBR-7 and OBX-14, the build time in MSH-7.
            #expect(segments[0][6] == "20261125164707.800+0000" && segments[3][7] == "20261125164700.000+0000" && obx[1][14] == segments[3][7])
        }
    }

    @Test func limitAlarmsCarryTheMeasurementWithUnitAndLimit() throws {
        let expected: [RuleID: (event: String, flag: String, metric: String, value: String, unit: String, limit: String, vmd: String, source: String)] = [
            .spo2Low: ("196670^MDC_EVT_LO^MDC", "L", "150456^MDC_PULS_OXIM_SAT_O2^MDC", "86", "262688^MDC_DIM_PERCENT^MDC", "88-100", "1.2.1.150456", "ALVEO-oxi"),
            .tidalVolumeHigh: ("196648^MDC_EVT_HI^MDC", "H", "151980^MDC_VENT_VOL_TIDAL^MDC", "520", "263762^MDC_DIM_MILLI_L^MDC", "<419", "1.1.1.151980", "ALVEO-vent"),
            .tidalVolumeLow: ("196670^MDC_EVT_LO^MDC", "L", "151980^MDC_VENT_VOL_TIDAL^MDC", "150", "263762^MDC_DIM_MILLI_L^MDC", ">210", "1.1.1.151980", "ALVEO-vent"),
            .plateauHigh: ("196648^MDC_EVT_HI^MDC", "H", "151784^MDC_PRESS_RESP_PLAT^MDC", "32.5", "266048^MDC_DIM_CM_H2O^MDC", "<30", "1.1.1.151784", "ALVEO-vent"),
            .drivingPressureHigh: ("196648^MDC_EVT_HI^MDC", "H", "152720^MDC_VENT_PRESS_AWAY_DELTA^MDC", "17", "266048^MDC_DIM_CM_H2O^MDC", "<15", "1.1.1.152720", "ALVEO-vent"),
            .pfSeverity: ("196670^MDC_EVT_LO^MDC", "L", "150656^MDC_O2_OXYGENATION_RATIO^MDC", "142.5", "266016^MDC_DIM_MMHG^MDC", ">200", "1.0.1.150656", "ALVEO^^0A1B2CFFFE3D4E5F^EUI-64"),
            .pfFalling: ("196670^MDC_EVT_LO^MDC", "L", "150656^MDC_O2_OXYGENATION_RATIO^MDC", "150", "266016^MDC_DIM_MMHG^MDC", ">160", "1.0.1.150656", "ALVEO^^0A1B2CFFFE3D4E5F^EUI-64"),
            .hypotension: ("196670^MDC_EVT_LO^MDC", "L", "150039^MDC_PRESS_BLD_ART_ABP_MEAN^MDC", "61", "266016^MDC_DIM_MMHG^MDC", ">65", "1.1.1.150039", "ALVEO-vent"),
        ]
        for event in Self.everyRule {
            let obx = Array(Self.build(event)[4...])
            guard let want = expected[event.rule] else {
                // Not a limit alarm on a numeric: a local event code and the source named in a 68480 row.
                #expect(obx[1][3] == "\(event.rule.id)^\(event.rule.title)^99ALV", "\(event.rule.id)")
                #expect(obx[2][2] == "ST" && obx[2][3] == "68480^MDC_ATTR_ALERT_SOURCE^MDC", "\(event.rule.id)")
                continue
            }
            let what = event.rule.id
            #expect(obx[1][3] == want.event + "^\(event.rule.id)^\(event.rule.title)^99ALV", "\(what): \(obx[1][3])")
            #expect(obx[1][8] == "\(want.flag)~PM~SP", "\(what)")
            #expect(obx[2][2] == "NM" && obx[2][3] == want.metric && obx[2][5] == want.value && obx[2][6] == want.unit && obx[2][7] == want.limit,
                    "\(what): \(obx[2])")
            #expect(obx[2][4] == want.vmd + ".2" && obx[2][11] == "F" && obx[2][18] == want.source, "\(what): \(obx[2])")
        }
        // Rules v3 §5.1: a MAP from the cuff is coded on the cuff's metric.
        let cuff = Array(Self.build(Self.event(.hypotension, evidence: [("map_mmhg", .number(60)), ("map_source", .string("nibp")),
                                                                         ("map_device", .string("vent")), ("threshold_mmhg", .number(65))]))[4...])
        #expect(cuff[2][3] == "150303^MDC_PRESS_CUFF_MEAN^MDC" && cuff[2][5] == "60" && cuff[2][7] == ">65", "\(cuff[2])")
        // Technical alarms sit under their device's VMD; a rejected value under its metric.
        let silent = Array(Self.build(Self.event(.deviceSilent, source: "oxi"))[4...])
        #expect(silent[2][4] == "1.2.0.0.2" && silent[2][5] == "oxi" && silent[2][18] == "ALVEO-oxi")
        let rejected = Array(Self.build(Self.event(.valueRejected, source: "vent", parameter: .pplat))[4...])
        #expect(rejected[1][4] == "1.1.1.151784.1")
        // No value (a value no longer reported): the source row names the device instead of an empty NM.
        let noValue = Array(Self.build(Self.event(.spo2Low, evidence: [("spo2_pct", .null), ("spo2_source", .string("oxi"))]))[4...])
        #expect(noValue[2][2] == "ST" && noValue[2][3] == "68480^MDC_ATTR_ALERT_SOURCE^MDC" && noValue[2][5] == "oxi")
        #expect(noValue[1][4] == "1.2.1.150456.1", "the containment keeps the metric: every message of one alarm has the same OBX-4")
    }

    @Test func phasesAndStatesMeanWhatTheProfileMeans() throws {
        func rows(_ event: AlarmEvent) -> (phase: String, state: String, inactivation: String, priority: String) {
            let obx = Array(Self.build(event)[4...])
            return (obx[3][5], obx[4][5], obx[5][5], obx[6][5])
        }
        let start = rows(Self.event(.spo2Low))
        #expect(start == ("start", "active", "enabled", "PM"))
        #expect(rows(Self.event(.spo2Low, phase: .escalate, priority: .high)) == ("escalate", "active", "enabled", "PH"))
        #expect(rows(Self.event(.spo2Low, phase: .deescalate, priority: .low)) == ("de-escalate", "active", "enabled", "PL"))
        #expect(rows(Self.event(.spo2Low, phase: .continue)) == ("continue", "active", "enabled", "PM"))
        #expect(rows(Self.event(.spo2Low, phase: .update, acknowledged: true)) == ("update", "active", "alert-acknowledged", "PM"))
        #expect(rows(Self.event(.spo2Low, phase: .update, priority: .high, state: .latched)) == ("update", "latched", "enabled", "PH"))
        #expect(rows(Self.event(.spo2Low, phase: .end, state: .inactive)) == ("end", "inactive", "enabled", "PM"))
        #expect(rows(Self.event(.spo2Low, phase: .end, state: .inactive, acknowledged: true)) == ("end", "inactive", "alert-acknowledged", "PM"))
        // Every phase the core can give has its PCD-04 word.
        #expect(AlarmPhase.allCases.map(\.pcd04) == ["start", "update", "escalate", "de-escalate", "continue", "end"])
    }

    @Test func patientIdentifierCarriesItsTypeCode() throws {
        var identity = Self.exampleIdentity
        #expect(Self.build(Self.event(.sensorOff, source: "oxi"), identity: identity)[1] == ["PID", "", "", "12345^^^HOSP^MR", "", "DOE^JANE^^^^^L"])
        identity.patientIDTypeCode = "PI"
        identity.patientIDAuthority = ""
        identity.patientName = "UNKNOWN"
        #expect(Self.build(Self.event(.sensorOff, source: "oxi"), identity: identity)[1] == ["PID", "", "", "12345^^^^PI", "", "UNKNOWN"])
        identity.profileOID = "1.3.6.1.4.1.19376.1.6.4.4.1"
        #expect(Self.build(Self.event(.sensorOff, source: "oxi"), identity: identity)[0][20] == "IHE_PCD_ACM_001^IHE PCD^1.3.6.1.4.1.19376.1.6.4.4.1^ISO")
    }

    // MARK: - The code table

    /// Every MDC code Alveo sends appears with the same number and name in the reference's tables
    /// (§5 rows, §5.3 attributes, §6 events, metrics and units), or in the PCD-01 reference's metric
    /// table (MAP, NIBP mean, ECG heart rate); the plateau is 151784, never 152424.
    @Test func everyCodeIsTheReferencesCode() throws {
        #expect(!Self.reference.isEmpty && !Self.pcd01Reference.isEmpty)
        for code in MDC.all {
            let forms = ["| \(code.code) | \(code.text) |", "`\(code.code)^\(code.text)^MDC`", "\(code.code) \(code.text)",
                         "\(code.code)^\(code.text)^MDC", "`\(code.code)^\(code.text)`", "\(code.code) \(code.text) ", "| \(code.code) | \(code.text) | "]
            #expect(forms.contains { Self.reference.contains($0) || Self.pcd01Reference.contains($0) }, "\(code.code) \(code.text) is not in the reference's tables")
        }
        #expect(MDC.plateau == CodedElement(code: "151784", text: "MDC_PRESS_RESP_PLAT", system: "MDC"))
        #expect(!MDC.all.contains { $0.code == "152424" || ["68164", "68165", "68166", "68167"].contains($0.code) })
        // The codes of the reference's metric table rows for Alveo's device parameters.
        for (parameter, code) in [(Parameter.spo2, "150456"), (.vt, "151980"), (.pplat, "151784"), (.peep, "151976"), (.fio2, "152196"),
                                  (.rr, "151586"), (.ppeak, "151973"), (.pulseRate, "149538")]
        {
            #expect(MDC.metric(parameter)?.metric.code == code, "\(parameter.name)")
        }
    }

    // MARK: - EUI-64

    @Test func eui64IsNormalisedOrDerivedInTheLocallyAdministeredRange() throws {
        #expect(EUI64.normalised("0a-1b-2c-ff-fe-3d-4e-5f") == "0A1B2CFFFE3D4E5F")
        #expect(EUI64.normalised("0A:1B:2C:FF:FE:3D:4E") == nil && EUI64.normalised("0A1B2CFFFE3D4E5G") == nil)
        let a = EUI64.derived(machineID: "4f1c1e7b8d2a4c3e9f0a1b2c3d4e5f60\n")
        #expect(a == EUI64.derived(machineID: "4f1c1e7b8d2a4c3e9f0a1b2c3d4e5f60"), "stable")
        #expect(a != EUI64.derived(machineID: "4f1c1e7b8d2a4c3e9f0a1b2c3d4e5f61"))
        #expect(a.count == 16 && EUI64.normalised(a) == a)
        let first = try #require(UInt8(a.prefix(2), radix: 16))
        #expect(first & 0x02 == 0x02 && first & 0x01 == 0, "locally administered, unicast: \(a)")
        #expect(!a.contains("4F1C1E7B"), "the machine id itself is not exposed")
        #expect(EUI64.forThisMachine().value.count == 16)
    }

    // MARK: - Typed journal records

    @Test func aJournalEventDecodesOnceIntoItsTypeAndAnUnknownRuleIsUnreadable() throws {
        let event = Self.event(.plateauHigh, phase: .deescalate, priority: .low, evidence: [("pplat_cmh2o", .number(31)), ("stale", .bool(true))])
        let entry = JournalEntry(seq: 1, run: nil, wallTime: nil, eventJSON: event.jsonLine())
        let decoded = try #require(entry.event)
        #expect(decoded.rule == .plateauHigh && decoded.phase == .deescalate && decoded.priority == .low)
        #expect(decoded.evidence("pplat_cmh2o")?.number == 31 && decoded.evidence("stale") == .bool(true))
        let unknown = JournalEntry(seq: 2, run: nil, wallTime: nil, eventJSON: event.jsonLine().replacingOccurrences(of: "lpv.plateau_high", with: "lpv.future_rule"))
        guard case .unreadable(let why) = unknown.content else { Issue.record("an unknown rule must not decode"); return }
        #expect(why.contains("unknown rule 'lpv.future_rule'"))
        guard case .unreadable = JournalEntry(seq: 3, run: nil, wallTime: nil, eventJSON: "{\"rule\":").content else {
            Issue.record("a damaged line must not decode"); return
        }
    }
}
