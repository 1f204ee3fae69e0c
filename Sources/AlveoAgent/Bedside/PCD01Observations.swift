import AlveoCore
import AlveoDevices
import AlveoOutput
import Foundation

/// IHE PCD-01 (Communicate PCD Data, ORU^R01) from a device-integration gateway, read into the values
/// of the bed's `pcd01` devices: which rows are whose (OBX-18, inherited through OBX-4's MDS), what each
/// row is (OBX-3, by MDC code and REFID), in which unit (OBX-6: MDC or UCUM), of when (OBX-14, else
/// OBR-8/OBR-7, else MSH-7), and whether it is the patient's at all (OBX-8 DEMO, OBX-11 X, OBX-17
/// settings). Pure, and the same for the live listener and for replay: a trace holds each message as
/// it was taken (`traced`: MSH, OBR and OBX only, so no patient identity), and replay reads it again
/// here. devices/pcd01/README.md; the public description: shared PCD-01 reference.
package enum PCD01 {
    /// MSH-21 component 1 of a PCD-01 message (the OID after it differs between senders: never checked).
    package static let profileID = "IHE_PCD_001"

    /// A metric Alveo reads: code and REFID (IEEE 11073-10101), the parameter, and its rank among the
    /// codes of that parameter (0 first).
    package struct Metric: Sendable, Equatable {
        package var code: String
        package var refid: String
        package var parameter: Parameter
        package var rank: Int
    }

    /// Alveo's table (devices/pcd01/README.md gives each code's source). Ventilator codes before the
    /// monitor's generic ones; the labelled arterial line before the generic one; the cuff apart.
    package static let metrics: [Metric] = {
        let table: [(String, String, Parameter)] = [
            ("150456", "MDC_PULS_OXIM_SAT_O2", .spo2),
            ("149530", "MDC_PULS_OXIM_PULS_RATE", .pulseRate),
            ("152196", "MDC_CONC_AWAY_O2_INSP", .fio2),
            ("151980", "MDC_VENT_VOL_TIDAL", .vt),
            ("152664", "MDC_VOL_AWAY_TIDAL_EXP", .vt),
            ("152660", "MDC_VOL_AWAY_TIDAL_INSP", .vt),
            ("151784", "MDC_PRESS_RESP_PLAT", .pplat),
            ("151976", "MDC_VENT_PRESS_AWAY_END_EXP_POS", .peep),
            ("151804", "MDC_PRESS_AWAY_END_EXP_POS", .peep),
            ("151817", "MDC_PRESS_AWAY_INSP_PEAK", .ppeak),
            ("151586", "MDC_VENT_RESP_RATE", .rr),
            ("152490", "MDC_VENT_RESP_BTSD_PSAZC_RATE", .rr),
            ("151562", "MDC_RESP_RATE", .rr),
            ("150039", "MDC_PRESS_BLD_ART_ABP_MEAN", .map),
            ("150035", "MDC_PRESS_BLD_ART_MEAN", .map),
            ("150023", "MDC_PRESS_BLD_NONINV_MEAN", .nibpMap),
            ("150303", "MDC_PRESS_CUFF_MEAN", .nibpMap),
            ("147842", "MDC_ECG_HEART_RATE", .heartRate),
        ]
        var ranks: [Parameter: Int] = [:]
        return table.map { code, refid, parameter in
            defer { ranks[parameter, default: 0] += 1 }
            return Metric(code: code, refid: refid, parameter: parameter, rank: ranks[parameter, default: 0])
        }
    }()

    /// Units as gateways write them (OBX-6: the MDC code, its REFID, or UCUM), to the units every
    /// device adapter converts with. A unit not here makes the value unusable: never guessed.
    static let units: [String: DeviceUnit] = [
        "262688": .percent, "MDC_DIM_PERCENT": .percent, "%": .percent,
        "264864": .perMinute, "MDC_DIM_BEAT_PER_MIN": .perMinute, "{beat}/min": .perMinute, "/min": .perMinute,
        "264928": .perMinute, "MDC_DIM_RESP_PER_MIN": .perMinute, "{breath}/min": .perMinute, "{breaths}/min": .perMinute,
        "266016": .mmHg, "MDC_DIM_MMHG": .mmHg, "mm[Hg]": .mmHg,
        "MDC_DIM_KILO_PASCAL": .kPa, "kPa": .kPa,
        "266048": .cmH2O, "MDC_DIM_CM_H2O": .cmH2O, "cm[H2O]": .cmH2O,
        "MDC_DIM_HECTO_PASCAL": .hPa, "hPa": .hPa, "mbar": .mbar,
        "263762": .millilitre, "MDC_DIM_MILLI_L": .millilitre, "mL": .millilitre,
        "MDC_DIM_L": .litre, "L": .litre,
    ]

    /// The 11073 "no value" of a 24-bit FLOAT mantissa, which one public sample sends as a number.
    static let noValueSentinel = "8388607"

    /// Is this a PCD-01 message (MSH-21, any repetition, component 1)?
    package static func isPCD01(_ message: HL7Message) -> Bool {
        (0..<min(message.repetitions(message.msh, 21), 8)).contains { message.value(message.msh, 21, repetition: $0) == profileID }
    }

    /// One OBX row, with the equipment it belongs to.
    struct Row {
        var obx: HL7Message.Segment
        var number: Int
        var equipment: [String]
    }

    /// The OBX rows of `message` with their equipment: a row's own OBX-18 (its name, component 1, and
    /// its EUI-64, component 3, of each repetition); else its MDS's (the first part of OBX-4), else the
    /// latest row's that had one; else MSH-3's name and EUI-64 (a device sending for itself).
    static func rows(_ message: HL7Message) -> [Row] {
        let sender = [message.value(message.msh, 3), message.value(message.msh, 3, component: 2)].filter { !$0.isEmpty }
        var byMDS: [String: [String]] = [:]
        var latest: [String]?
        var rows: [Row] = []
        for (index, obx) in message.all("OBX").enumerated() {
            let mds = String(message.value(obx, 4).prefix { $0 != "." }.prefix(16))
            var own: [String] = []
            for repetition in 0..<min(message.repetitions(obx, 18), 4) {
                for component in [1, 3] {
                    let id = message.value(obx, 18, component: component, repetition: repetition)
                    if !id.isEmpty, id.utf8.count <= 64 { own.append(id) }
                }
            }
            let equipment: [String]
            if !own.isEmpty {
                equipment = own
                if byMDS.count < 64 { byMDS[mds] = own }
                latest = own
            } else {
                equipment = byMDS[mds] ?? latest ?? sender
            }
            rows.append(Row(obx: obx, number: index + 1, equipment: equipment))
        }
        return rows
    }

    /// The configured devices that have rows in `message`.
    package static func devices(in message: HL7Message, of configured: [GatewayDeviceConfig]) -> [GatewayDeviceConfig] {
        let all = rows(message)
        return configured.filter { device in all.contains { device.matches($0.equipment) } }
    }

    /// The equipment in `message` that no configured device takes (at most 8, for the log).
    package static func unconfiguredEquipment(in message: HL7Message, of configured: [GatewayDeviceConfig]) -> [String] {
        var seen: [String] = []
        for row in rows(message) where !configured.contains(where: { $0.matches(row.equipment) }) {
            let name = row.equipment.last ?? "(none)"
            if !seen.contains(name), seen.count < 8 { seen.append(name) }
        }
        return seen
    }

    /// The message as a trace keeps it: MSH, OBR and OBX segments only (no PID, PV1 or NTE: a trace
    /// names nobody), each ended by a carriage return.
    package static func traced(_ frame: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var start = frame.startIndex
        while start < frame.endIndex {
            var end = start
            while end < frame.endIndex, frame[end] != 0x0D, frame[end] != 0x0A { end += 1 }
            let line = frame[start..<end]
            if line.count >= 4, let name = String(bytes: line.prefix(3), encoding: .ascii), ["MSH", "OBR", "OBX"].contains(name) {
                out += line
                out.append(0x0D)
            }
            start = end + 1
        }
        return out
    }

    /// What one message gave one device.
    package struct Decoded: Sendable, Equatable {
        package var observations: [Observation] = []
        /// Metric rows of the device (OBX-2 NM).
        package var rows = 0
        /// Rows whose code Alveo does not read (counted and ignored), with up to 8 of the codes.
        package var unknown = 0
        package var unknownCodes: [String] = []
        /// Periodic values older than the device's `max_age_s` before the message: not taken.
        package var stale = 0
        /// Rows that are settings (OBX-17 MSET, ASET, RSET), not measurements: not taken.
        package var settings = 0
        /// What the reader should know (a REFID taken without its code, a row without a time).
        package var notes: [String] = []
    }

    /// The device's values in `payload` (a message as `traced` keeps it, or as it came), received at
    /// agent time `t`. Every periodic value is of `t`; a cuff pressure is of its own time (OBX-14),
    /// which is `t` less its age before MSH-7 (both the gateway's clock).
    package static func decode(_ payload: [UInt8], device: GatewayDeviceConfig, at t: Double) -> Decoded {
        var decoded = Decoded()
        guard case .success(let message) = HL7Message.parse(payload) else { return decoded }
        let utc = TimeZone(identifier: "UTC")!
        let messageTime = HL7Message.date(message.value(message.msh, 7), zone: utc)
        let obr = message.first("OBR")
        let groupTime = obr.flatMap { segment in
            HL7Message.date(message.value(segment, 8), zone: utc) ?? HL7Message.date(message.value(segment, 7), zone: utc)
        }
        var best: [Parameter: (rank: Int, observation: Observation)] = [:]
        for row in rows(message) where device.matches(row.equipment) {
            let obx = row.obx
            guard message.value(obx, 2) == "NM" else { continue }  // the MDS, VMD and channel rows, text rows
            decoded.rows += 1
            let code = message.value(obx, 3), refid = message.value(obx, 3, component: 2)
            guard let metric = metric(code: code, refid: refid, notes: &decoded.notes, row: row.number) else {
                decoded.unknown += 1
                let shown = Shown.text((refid.isEmpty ? code : "\(code)^\(refid)").utf8, limit: 48)
                if decoded.unknownCodes.count < 8, !decoded.unknownCodes.contains(shown) { decoded.unknownCodes.append(shown) }
                continue
            }
            if isSetting(message, obx) {
                decoded.settings += 1
                continue
            }
            if let (rank, _) = best[metric.parameter], rank <= metric.rank { continue }
            // Of when: its own time, else the group's, else the message's.
            // Its age is read on the gateway's clock (MSH-7 less the row's time): no clock sync needed.
            let rowTime = HL7Message.date(message.value(obx, 14), zone: utc) ?? groupTime
            var age = 0.0
            if let messageTime, let rowTime { age = max(0, messageTime.timeIntervalSince(rowTime)) }
            let parameter = metric.parameter
            if !parameter.isIntermittent, age > device.maxAge {
                decoded.stale += 1
                continue
            }
            let observation = Observation(source: device.id, parameter: parameter, value: value(message, obx, parameter),
                                          sampledAt: parameter.isIntermittent ? t - age : nil)
            best[parameter] = (metric.rank, observation)
        }
        decoded.observations = Parameter.allCases.compactMap { best[$0]?.observation }
        return decoded
    }

    /// The metric of OBX-3: by the (code, REFID) pair; by the REFID alone when the code differs (some
    /// senders number a term wrongly: noted); by the code alone only when no REFID is given.
    static func metric(code: String, refid: String, notes: inout [String], row: Int) -> Metric? {
        if let both = metrics.first(where: { $0.code == code && $0.refid == refid }) { return both }
        if !refid.isEmpty, let byName = metrics.first(where: { $0.refid.caseInsensitiveCompare(refid) == .orderedSame }) {
            if notes.count < 8 {
                notes.append("OBX \(row): \(byName.refid) with code \(Shown.text(code.utf8, limit: 12)) (its code is \(byName.code)): taken by its REFID")
            }
            return byName
        }
        if refid.isEmpty { return metrics.first { $0.code == code } }
        return nil
    }

    /// OBX-17 names a setting (MSET, ASET, RSET: manual, automatic, remote), not a measurement.
    static func isSetting(_ message: HL7Message, _ obx: HL7Message.Segment) -> Bool {
        (0..<min(message.repetitions(obx, 17), 4)).contains { repetition in
            [1, 2].contains { component in
                ["MSET", "ASET", "RSET"].contains(message.value(obx, 17, component: component, repetition: repetition).uppercased())
            }
        }
    }

    /// The row's value in the parameter's unit: `.noData` when the gateway says there is none (OBX-11
    /// X, an empty OBX-5, the 11073 no-value number), `.unusable` (reported, never used) for demo data,
    /// text, an impossible number or a unit Alveo does not take for the parameter.
    static func value(_ message: HL7Message, _ obx: HL7Message.Segment, _ parameter: Parameter) -> ObservedValue {
        let raw = message.value(obx, 5)
        if message.value(obx, 11).uppercased() == "X" || raw.isEmpty || raw == noValueSentinel { return .noData }
        let shown = DeviceNumber.shown(raw)
        let demo = (0..<min(message.repetitions(obx, 8), 8)).contains { message.value(obx, 8, repetition: $0).uppercased() == "DEMO" }
        if demo { return .unusable("\(shown) (demo data)") }
        guard let number = DeviceNumber.parse(Array(raw.utf8.prefix(DeviceNumber.maxTextLength + 1))) else { return .unusable(shown) }
        guard case .number(let x) = number else { return number }
        guard let unit = unit(message, obx), DeviceUnit.allowed(for: parameter).contains(unit) else {
            let given = message.value(obx, 6, component: 2).isEmpty ? message.value(obx, 6) : message.value(obx, 6, component: 2)
            return .unusable("\(shown) \(given.isEmpty ? "no unit" : "unit " + DeviceNumber.shown(given))")
        }
        return DeviceNumber.value(unit.toScenarioUnit(x), text: "\(shown) \(unit.rawValue)")
    }

    /// OBX-6 in any of its forms (MDC code and REFID, UCUM, or both: components 1-2 and 4-5): the one
    /// unit they agree on; nil when none is known or two disagree.
    static func unit(_ message: HL7Message, _ obx: HL7Message.Segment) -> DeviceUnit? {
        var found: DeviceUnit?
        for component in [1, 2, 4, 5] {
            let text = message.value(obx, 6, component: component)
            guard !text.isEmpty else { continue }
            guard let unit = units[text] else { continue }
            if let found, found != unit { return nil }
            found = unit
        }
        return found
    }
}
