import AlveoTestKit
import AlveoAgent
import AlveoCore
import AlveoOutput
import Foundation
import Testing

/// IHE PCD-01 from a device-integration gateway: which messages are taken (sender, type, this bed's
/// PV1-3, this bed's devices by OBX-18), and what each row gives a device (MDC code and REFID, MDC or
/// UCUM units, DEMO, X, settings, stale rows, a cuff pressure of its own time). The message is the
/// public description's example (monitor and ventilator at bed B1 through one gateway), as senders
/// build it (devices/pcd01/README.md).
@Suite struct PCD01Tests {
    static let utc = TimeZone(identifier: "UTC")!
    static let now = Date(timeIntervalSince1970: 1_795_625_220)  // 2026-11-25 16:47:00 UTC

    static let msh = "MSH|^~\\&|GATEWAY^0A1B2CFFFE000001^EUI-64|HOSP|ALVEO|HOSP_ICU|20261125164700+0000||ORU^R01^ORU_R01|GW-88231|P|2.6|||AL|NE||UNICODE UTF-8|||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"
    static let monitorRows = [
        "OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X|||||||MON_B1^^00A037FFFE123456^EUI-64",
        "OBX|2|NM|147842^MDC_ECG_HEART_RATE^MDC|1.5.1.147842|92|264864^MDC_DIM_BEAT_PER_MIN^MDC|50-120||||R|||20261125164655+0000",
        "OBX|3|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.150456|91|262688^MDC_DIM_PERCENT^MDC|90-100||||R|||20261125164655+0000",
        "OBX|4|NM|150039^MDC_PRESS_BLD_ART_ABP_MEAN^MDC|1.13.1.150039|74|266016^MDC_DIM_MMHG^MDC|65-105||||R|||20261125164655+0000",
        "OBX|5|NM|150303^MDC_PRESS_CUFF_MEAN^MDC|1.1.9.150303|78|266016^MDC_DIM_MMHG^MDC|||||R|||20261125164500+0000|||^APERIODIC",
    ]
    static let ventRows = [
        "OBX|6||70001^MDC_DEV_SYS_PT_VENT_MDS^MDC|2.0.0.0|||||||X|||||||VENT_B1^^0030E6FFFE000042^EUI-64",
        "OBX|7|NM|152196^MDC_CONC_AWAY_O2_INSP^MDC|2.1.1.152196|50|262688^MDC_DIM_PERCENT^MDC|||||R|||20261125164650+0000",
        "OBX|8|NM|151980^MDC_VENT_VOL_TIDAL^MDC|2.1.1.151980|410|263762^MDC_DIM_MILLI_L^MDC|||||R|||20261125164650+0000",
        "OBX|9|NM|151784^MDC_PRESS_RESP_PLAT^MDC|2.1.1.151784|27|266048^MDC_DIM_CM_H2O^MDC|||||R|||20261125164650+0000",
        "OBX|10|NM|151976^MDC_VENT_PRESS_AWAY_END_EXP_POS^MDC|2.1.1.151976|10|266048^MDC_DIM_CM_H2O^MDC|||||R|||20261125164650+0000",
        "OBX|11|NM|151586^MDC_VENT_RESP_RATE^MDC|2.1.1.151586|22|264928^MDC_DIM_RESP_PER_MIN^MDC|||||R|||20261125164650+0000",
    ]
    static let head = [msh, "PID|||12345^^^HOSP^MR||DOE^JANE^^^^^L", "PV1||I|ICU^B1^B1^HOSP",
                       "OBR|1|GW-88231^GATEWAY^0A1B2CFFFE000001^EUI-64|GW-88231^GATEWAY^0A1B2CFFFE000001^EUI-64|182777000^monitoring of patient^SCT|||20261125164655+0000"]
    static let example = head + monitorRows + ventRows

    static let monitor = GatewayDeviceConfig(id: "monitor", equipment: "00A037FFFE123456")
    static let vent = GatewayDeviceConfig(id: "vent", equipment: "VENT_B1")

    static var config: LabListenerConfig {
        var config = LabListenerConfig()
        config.bind = "127.0.0.1"
        config.port = 2576
        config.allowedSenders = [.init(application: "LIS")]
        var gateway = LabListenerConfig.DeviceGateway()
        gateway.senders = [.init(application: "GATEWAY")]
        gateway.location = ["ICU", "B1"]
        config.deviceGateway = gateway
        config.gatewayDevices = [monitor, vent]
        return config
    }

    static func bytes(_ lines: [String]) -> [UInt8] { Array(lines.joined(separator: "\r").utf8) }

    static func message(_ lines: [String]) throws -> HL7Message { try HL7Message.parse(bytes(lines)).get() }

    func interpret(_ lines: [String], config: LabListenerConfig = PCD01Tests.config) throws -> HL7Inbound.Decision {
        HL7Inbound.interpret(try Self.message(lines), config: config, now: Self.now, zone: Self.utc)
    }

    func values(_ lines: [String], device: GatewayDeviceConfig = PCD01Tests.monitor, at t: Double = 1000) -> [Parameter: ObservedValue] {
        Dictionary(PCD01.decode(Self.bytes(lines), device: device, at: t).observations.map { ($0.parameter, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    // MARK: - Which messages

    @Test func theExampleIsForBothDevicesOfThisBed() throws {
        guard case .devices(let ids, let notes) = try interpret(Self.example) else { Issue.record("\(try interpret(Self.example))"); return }
        #expect(ids == ["monitor", "vent"] && notes.isEmpty)
        // Only one device configured: the other's rows are named and ignored.
        var one = Self.config
        one.gatewayDevices = [Self.vent]
        guard case .devices(let only, let noted) = try interpret(Self.example, config: one) else { Issue.record("one"); return }
        #expect(only == ["vent"] && noted.first?.contains("00A037FFFE123456") == true, "\(noted)")
    }

    @Test func otherBedsSendersAndTypesAreNotTaken() throws {
        var otherBed = Self.example
        otherBed[2] = "PV1||I|ICU^B2^B2^HOSP"
        guard case .ignore(let reason, _) = try interpret(otherBed) else { Issue.record("other bed"); return }
        #expect(reason.contains("ICU^B2") && reason.contains("not this bed"), "\(reason)")
        guard case .ignore(let noPV1, _) = try interpret(Self.example.filter { !$0.hasPrefix("PV1") }) else { Issue.record("no PV1"); return }
        #expect(noPV1.contains("no PV1-3"))
        // The room left open in the location matches any room.
        var anyRoom = Self.config
        anyRoom.deviceGateway?.location = ["ICU", ""]
        if case .devices = try interpret(otherBed, config: anyRoom) {} else { Issue.record("an empty component matches any") }

        var stranger = Self.example
        stranger[0] = stranger[0].replacingOccurrences(of: "GATEWAY^0A1B", with: "OTHERGW^0A1B")
        guard case .reject("AR", let who) = try interpret(stranger) else { Issue.record("sender"); return }
        #expect(who.contains("device_gateway.senders"))
        var none = Self.config
        none.deviceGateway = nil
        guard case .reject("AR", let off) = try interpret(Self.example, config: none) else { Issue.record("off"); return }
        #expect(off.contains("device_gateway is not configured"))
        var training = Self.example
        training[0] = training[0].replacingOccurrences(of: "|GW-88231|P|", with: "|GW-88231|T|")
        if case .reject("AR", _) = try interpret(training) {} else { Issue.record("training") }
        // Rows of no device of this bed: accepted, nothing to do.
        guard case .ignore(let nothing, _) = try interpret(Self.head + ["OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1|91|%^%^UCUM|||||R|||||||OTHER^^FFFFFFFFFFFFFFFF^EUI-64"]) else {
            Issue.record("no rows"); return
        }
        #expect(nothing.contains("no row of this bed's pcd01 devices"))
        // A lab result is still a lab result (no MSH-21, a results sender).
        let lab = ["MSH|^~\\&|LIS|HOSP|ALVEO|HOSP|20261125164700||ORU^R01|L1|P|2.5.1", "PID|||12345^^^HOSP^MR",
                   "OBR|1||L1|24336-0^Gas panel^LN|||20261125164000",
                   "OBX|1|NM|2703-7^pO2^LN||9.1|kPa|||||F|||20261125164000"]
        if case .take = try interpret(lab) {} else { Issue.record("a lab result went elsewhere: \(try interpret(lab))") }
    }

    // MARK: - What each row gives

    @Test func theExampleGivesEachDeviceItsValuesInAlveosUnits() throws {
        let t = 5000.0
        let monitor = PCD01.decode(Self.bytes(Self.example), device: Self.monitor, at: t)
        let byParameter = Dictionary(monitor.observations.map { ($0.parameter, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byParameter[.heartRate]?.value == .number(92) && byParameter[.spo2]?.value == .number(91) && byParameter[.map]?.value == .number(74))
        #expect(monitor.observations.allSatisfy { $0.source == "monitor" })
        // The cuff is of its own time: 2 min before the message (MSH-7 16:47:00, OBX-14 16:45:00).
        #expect(byParameter[.nibpMap]?.value == .number(78) && byParameter[.nibpMap]?.sampledAt == t - 120)
        #expect(byParameter[.spo2]?.sampledAt == nil, "a periodic value is of its receipt")
        #expect(monitor.rows == 4 && monitor.unknown == 0 && monitor.stale == 0)
        #expect(values(Self.example, device: Self.vent) == [.fio2: .number(50), .vt: .number(410), .pplat: .number(27), .peep: .number(10), .rr: .number(22)])
    }

    func row(_ code: String, _ value: String, unit: String, flags: String = "", status: String = "R", time: String = "20261125164655+0000",
             method: String = "") -> [String] {
        Self.head + [Self.monitorRows[0], "OBX|2|NM|\(code)|1.3.1|\(value)|\(unit)||\(flags)|||\(status)|||\(time)|||\(method)"]
    }

    @Test func unitsFlagsSettingsAndAge() throws {
        let spo2 = "150456^MDC_PULS_OXIM_SAT_O2^MDC", map = "150035^MDC_PRESS_BLD_ART_MEAN^MDC", vt = "151980^MDC_VENT_VOL_TIDAL^MDC"
        #expect(values(row(spo2, "95", unit: "%^%^UCUM")) == [.spo2: .number(95)], "UCUM only")
        #expect(values(row(spo2, "95", unit: "262688^MDC_DIM_PERCENT^MDC^%^%^UCUM")) == [.spo2: .number(95)], "both forms")
        #expect(values(row(vt, "0.41", unit: "L^L^UCUM"))[.vt] == .number(410), "litres to millilitres")
        guard case .number(let mmHg) = values(row(map, "10", unit: "kPa^kPa^UCUM"))[.map] else { Issue.record("kPa"); return }
        #expect(abs(mmHg - 75.006) < 0.01)
        #expect(values(row(map, "74", unit: "266016^MDC_DIM_MMHG^MDC^cm[H2O]^cm[H2O]^UCUM")) == [.map: .unusable("74 unit MDC_DIM_MMHG")], "two units disagree")
        #expect(values(row(map, "74", unit: "266048^MDC_DIM_CM_H2O^MDC")) == [.map: .unusable("74 unit MDC_DIM_CM_H2O")], "a pressure in cmH2O is not a blood pressure")
        #expect(values(row(spo2, "95", unit: "")) == [.spo2: .unusable("95 no unit")], "never a guessed unit")
        #expect(values(row(spo2, "95", unit: "%^%^UCUM", flags: "DEMO")) == [.spo2: .unusable("95 (demo data)")])
        #expect(values(row(spo2, "", unit: "%^%^UCUM", status: "X")) == [.spo2: .noData])
        #expect(values(row(spo2, "8388607", unit: "%^%^UCUM")) == [.spo2: .noData], "the 11073 no-value number")
        #expect(values(row(spo2, "1e308", unit: "%^%^UCUM")) == [.spo2: .unusable("1e308")])
        #expect(values(row(spo2, "12345678901234567890", unit: "%^%^UCUM")) == [.spo2: .unusable("12345678901234567890")])
        #expect(values(row(spo2, "NaN", unit: "%^%^UCUM")) == [.spo2: .unusable("NaN")])
        #expect(values(row(spo2, "ninety", unit: "%^%^UCUM")) == [.spo2: .unusable("ninety")])
        #expect(values(row("151976^MDC_VENT_PRESS_AWAY_END_EXP_POS^MDC", "8", unit: "266048^MDC_DIM_CM_H2O^MDC", method: "^MSET")).isEmpty, "a setting")
        // Five minutes old before the message: not a value of now.
        let stale = PCD01.decode(Self.bytes(row(spo2, "95", unit: "%^%^UCUM", time: "20261125164200+0000")), device: Self.monitor, at: 0)
        #expect(stale.observations.isEmpty && stale.stale == 1)
        // The same row with a local time and no offset: ages are read on one clock (MSH-7 with none too).
        var local = row(spo2, "95", unit: "%^%^UCUM", time: "20261125174650")
        local[0] = local[0].replacingOccurrences(of: "20261125164700+0000", with: "20261125174700")
        #expect(values(local) == [.spo2: .number(95)])
        // A code numbered wrongly with the right REFID is taken by its REFID, and said.
        let wrong = PCD01.decode(Self.bytes(row("150019^MDC_PRESS_BLD_NONINV_MEAN^MDC", "80", unit: "266016^MDC_DIM_MMHG^MDC")), device: Self.monitor, at: 100)
        #expect(wrong.observations.first?.parameter == .nibpMap && wrong.notes.first?.contains("taken by its REFID") == true, "\(wrong.notes)")
        // A code Alveo does not read: counted and named.
        let unknown = PCD01.decode(Self.bytes(row("150488^MDC_PULS_OXIM_PERF_REL^MDC", "2.1", unit: "262688^MDC_DIM_PERCENT^MDC")), device: Self.monitor, at: 100)
        #expect(unknown.observations.isEmpty && unknown.unknown == 1 && unknown.unknownCodes == ["150488^MDC_PULS_OXIM_PERF_REL"])
        // Preference within a message: the labelled arterial line before the generic one.
        let both = Self.head + [Self.monitorRows[0], "OBX|2|NM|150035^MDC_PRESS_BLD_ART_MEAN^MDC|1.2.1|70|mm[Hg]^mm[Hg]^UCUM|||||R",
                                Self.monitorRows[3]]
        #expect(values(both)[.map] == .number(74))
    }

    @Test func equipmentIsInheritedThroughTheMDSAndFromTheSender() throws {
        // Mindray style: no MDS rows, OBX-18 on the first row only.
        let mindray = [Self.msh, "PV1||I|ICU^B1", "OBR|1",
                       "OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.150456|93|262688^MDC_DIM_PERCENT^MDC|||||R|||20261125164655||||00A037FFFE123456^^00A037FFFE123456^EUI-64",
                       "OBX|2|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.3.1.149530|88|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R|||20261125164655"]
        #expect(values(mindray) == [.spo2: .number(93), .pulseRate: .number(88)])
        // A device sending for itself: its EUI-64 in MSH-3.
        let direct = ["MSH|^~\\&|MINDRAY_VS900^00A037FFFE123456^EUI-64|HOSP|ALVEO|HOSP|20261125164700||ORU^R01^ORU_R01|M2|P|2.6|||AL|NE||||IHE_PCD_001",
                      "PV1||I|ICU^B1", "OBR|1", "OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.150456|94|%^%^UCUM|||||R"]
        #expect(values(direct) == [.spo2: .number(94)])
        // The GE-style repetition: bed~model^DEC^EUI-64^EUI-64.
        let ge = [Self.msh, "PV1||I|ICU^B1", "OBR|1",
                  "OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.1|90|%^%^UCUM|||||R|||||||ICU-01~B450^DEC^00A037FFFE123456^EUI-64"]
        #expect(values(ge) == [.spo2: .number(90)])
    }

    @Test func aTraceKeepsNoIdentity() throws {
        let traced = PCD01.traced(Self.bytes(Self.example))
        let text = String(decoding: traced, as: UTF8.self)
        #expect(!text.contains("DOE") && !text.contains("12345^^^HOSP") && !text.contains("PV1") && text.hasPrefix("MSH|"))
        #expect(text.split(separator: "\r").count == 1 + 1 + Self.monitorRows.count + Self.ventRows.count)
        #expect(PCD01.decode(traced, device: Self.vent, at: 1).observations == PCD01.decode(Self.bytes(Self.example), device: Self.vent, at: 1).observations)
    }

    /// Any bytes, and every single-byte change of the example: no trap, at most one value per parameter,
    /// each a number, no data or unusable.
    @Test func anyBytesAreTotal() throws {
        let good = Self.bytes(Self.example)
        var generator = SplitMix(seed: 28)
        for _ in 0..<3000 {
            var bytes = good
            for _ in 0..<(1 + Int(generator.next() % 4)) {
                let index = Int(generator.next() % UInt64(bytes.count))
                switch generator.next() % 3 {
                case 0: bytes[index] = UInt8(truncatingIfNeeded: generator.next())
                case 1: bytes.remove(at: index)
                default: bytes.insert(UInt8(truncatingIfNeeded: generator.next()), at: index)
                }
            }
            for device in [Self.monitor, Self.vent] {
                let decoded = PCD01.decode(bytes, device: device, at: 10)
                #expect(Set(decoded.observations.map(\.parameter)).count == decoded.observations.count)
                #expect(decoded.notes.count <= 8 && decoded.unknownCodes.count <= 8)
            }
            if case .success(let message) = HL7Message.parse(bytes) {
                _ = HL7Inbound.interpret(message, config: Self.config, now: Self.now, zone: Self.utc)
            }
        }
        for length in [0, 1, 3, 8, 100] {
            _ = PCD01.decode(Array(repeating: 0x7C, count: length), device: Self.monitor, at: 0)
        }
    }

    /// A cuff pressure keeps its measurement's time in the core: a monitor repeating it does not make it
    /// current again, and an older one than that in force changes nothing.
    @Test func aCuffPressureIsOfItsOwnTime() throws {
        var core = ClinicalCore(patient: .unknown, settings: RuleSettings())
        _ = core.process([Observation(source: "monitor", parameter: .nibpMap, value: .number(60), sampledAt: 880)], at: 1000)
        #expect(core.current(.nibpMap)?.t == 880)
        _ = core.process([Observation(source: "monitor", parameter: .nibpMap, value: .number(60), sampledAt: 880)], at: 1900)
        #expect(core.current(.nibpMap)?.t == 880, "repeated: still of 880")
        _ = core.process([Observation(source: "monitor", parameter: .nibpMap, value: .number(90), sampledAt: 700)], at: 1910)
        #expect(core.current(.nibpMap)?.value == 60, "an older measurement changes nothing")
        // Past its validity (nibp_valid_s 1200 by default), it is no MAP for the rules.
        // A sample time that is no number is no sample time: the value is of now.
        _ = core.process([Observation(source: "cuff2", parameter: .nibpMap, value: .number(70), sampledAt: .nan)], at: 1920)
        #expect(core.current(.nibpMap)?.t == 1920 && core.current(.nibpMap)?.value == 70)
        var fresh = ClinicalCore(patient: .unknown, settings: RuleSettings())
        _ = fresh.process([Observation(source: "monitor", parameter: .nibpMap, value: .number(60), sampledAt: 880)], at: 1000)
        core = fresh
        #expect(Hypotension.currentMAP(core, nibpValid: 1200, at: 2090) == nil, "measured 1210 s before")
        #expect(Hypotension.currentMAP(core, nibpValid: 1200, at: 2070) != nil)
    }
}
