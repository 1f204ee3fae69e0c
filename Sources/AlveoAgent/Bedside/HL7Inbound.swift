import AlveoCore
import AlveoOutput
import Foundation

/// What an HL7 v2 message from the hospital means for this bed: laboratory results (ORU^R01) as a
/// chart entry of the sample times they carry, admissions, transfers, discharges and updates (ADT) as
/// patient entries, or why it is not taken (the answer's code and text). Pure: the listener hands it
/// the parsed message, the configuration and the time; the bedside loop then takes the entry (and
/// checks PID-3 against the bed's patient, which only it knows). Mapping and units:
/// shared/clinical-reference.md §8; docs/integration.md.
package enum HL7Inbound {
    package enum Kind: String, Sendable {
        case result = "ORU"
        case admission = "ADT"
        /// An alert manager's status report on one of Alveo's alarms (IHE PCD-05, ORA^R41).
        case alertStatus = "ORA"
    }

    package enum Decision: Sendable {
        /// Hand this entry to the loop; `notes` are what was left out and why (logged).
        case take(BedsideEntry, kind: Kind, notes: [String])
        /// Accepted, nothing to do (AA): an admission for another bed, results Alveo does not use.
        case ignore(String, notes: [String])
        /// Refused: AR (not for us: sender, type, processing id) or AE (content that cannot be taken).
        case reject(code: String, String)
        /// Device observations (IHE PCD-01) with rows of these of the bed's `pcd01` devices (ids): the
        /// loop reads them (`PCD01.decode`) as it takes them, so that replay reads the same.
        case devices([String], notes: [String])
    }

    /// LOINC codes taken, to Alveo's parameters.
    package static let loinc: [String: Parameter] = [
        "2703-7": .pao2,  // Oxygen [Partial pressure] in Arterial blood
        "718-7": .hb,  // Hemoglobin [Mass/volume] in Blood
        "59260-0": .hb,  // Hemoglobin [Moles/volume] in Blood
        "2160-0": .creatinine,  // Creatinine [Mass/volume] in Serum or Plasma
        "14682-9": .creatinine,  // Creatinine [Moles/volume] in Serum or Plasma
        "2744-1": .ph,  // pH of Arterial blood (rules v3 §3.2; a venous or capillary pH is another code, not used)
        "2019-8": .paco2,  // Carbon dioxide [Partial pressure] in Arterial blood
    ]
    /// Body height (ADT OBX), cm or inches.
    package static let heightLOINC = "8302-2"
    /// pO2 of blood with no specimen named: not a PaO2 (clinical-reference §8).
    static let nonArterialPO2 = ["11556-8"]
    /// Venous (2021-4), capillary (2020-6) and unspecified (11557-6) pCO2; venous (2746-6), capillary
    /// (2745-8) and unspecified (11558-4) pH: not arterial, not used (rules v3 §3.2).
    static let nonArterialPCO2 = ["2021-4", "2020-6", "11557-6"]
    static let nonArterialPH = ["2746-6", "2745-8", "11558-4"]

    /// `runID`: this run's id, in the alert references of its alarms (status reports name them).
    package static func interpret(_ message: HL7Message, config: LabListenerConfig, now: Date, zone: TimeZone = .current,
                                  runID: String? = nil) -> Decision {
        let application = message.sendingApplication, facility = message.sendingFacility
        if message.type.code == "ORA" {
            // The alert manager has its own allow-list: a results feed must not acknowledge alarms.
            guard let manager = config.alertManager else {
                return .reject(code: "AR", "status reports (ORA^R41) are not taken here: inputs.hl7.alert_manager is not configured")
            }
            guard manager.senders.contains(where: { $0.allows(application: application, facility: facility) }) else {
                return .reject(code: "AR", "sender \(Shown.text(application.utf8, limit: 40))^\(Shown.text(facility.utf8, limit: 40)) (MSH-3^MSH-4) is not in alert_manager.senders")
            }
            guard message.type.event == "R41" else {
                return .reject(code: "AR", "message type ORA^\(Shown.text(message.type.event.utf8, limit: 8)) is not taken here (ORA^R41)")
            }
            let processing = message.value(message.msh, 11)
            guard processing.isEmpty || processing == "P" else {
                return .reject(code: "AR", "processing id (MSH-11) \(Shown.text(processing.utf8, limit: 4)): only production (P) reports change an alarm")
            }
            return alertStatus(message, manager: manager, bedID: config.alertBedID ?? "", runID: runID, now: now, zone: zone)
        }
        // Device observations from a device-integration gateway: by MSH-21 (IHE_PCD_001), or from a
        // gateway sender that is not also a results sender.
        let fromGateway = config.deviceGateway?.senders.contains(where: { $0.allows(application: application, facility: facility) }) ?? false
        let fromLab = config.allowedSenders.contains(where: { $0.allows(application: application, facility: facility) })
        if PCD01.isPCD01(message) || (fromGateway && !fromLab) {
            return deviceObservations(message, config: config, fromGateway: fromGateway)
        }
        guard fromLab else {
            return .reject(code: "AR", "sender \(Shown.text(application.utf8, limit: 40))^\(Shown.text(facility.utf8, limit: 40)) (MSH-3^MSH-4) is not in allowed_senders")
        }
        let processing = message.value(message.msh, 11)
        guard processing.isEmpty || processing == "P" else {
            return .reject(code: "AR", "processing id (MSH-11) \(Shown.text(processing.utf8, limit: 4)): only production (P) messages change a patient's record")
        }
        let by = facility.isEmpty ? application : "\(application)^\(facility)"
        let (code, event) = message.type
        switch (code, event) {
        case ("ORU", "R01"): return results(message, by: Shown.text(by.utf8, limit: 128), now: now, zone: zone)
        case ("ADT", "A01"), ("ADT", "A02"), ("ADT", "A03"), ("ADT", "A08"):
            return admission(message, event: event, config: config, by: Shown.text(by.utf8, limit: 128), now: now, zone: zone)
        case ("ADT", _):
            return .ignore("ADT^\(Shown.text(event.utf8, limit: 8)) is not used by Alveo (A01, A02, A03, A08 are)", notes: [])
        default:
            return .reject(code: "AR", "message type \(Shown.text(code.utf8, limit: 8))^\(Shown.text(event.utf8, limit: 8)) is not taken here (ORU^R01; ADT^A01, A02, A03, A08)")
        }
    }

    /// Device observations (IHE PCD-01) from the device gateway: its sender, ORU^R01, production, this
    /// bed's location (PV1-3 against `device_gateway.location`), and rows of the bed's `pcd01` devices.
    /// A message for another bed, or with none of this bed's devices, is accepted with nothing to do (a
    /// gateway may send every bed's values to every subscriber).
    static func deviceObservations(_ message: HL7Message, config: LabListenerConfig, fromGateway: Bool) -> Decision {
        let application = message.sendingApplication, facility = message.sendingFacility
        guard let gateway = config.deviceGateway else {
            return .reject(code: "AR", "device observations (IHE PCD-01) are not taken here: inputs.hl7.device_gateway is not configured")
        }
        guard fromGateway else {
            return .reject(code: "AR", "sender \(Shown.text(application.utf8, limit: 40))^\(Shown.text(facility.utf8, limit: 40)) (MSH-3^MSH-4) is not in device_gateway.senders")
        }
        guard message.type.code == "ORU", message.type.event == "R01" else {
            return .reject(code: "AR", "message type \(Shown.text(message.type.code.utf8, limit: 8))^\(Shown.text(message.type.event.utf8, limit: 8)) from the device gateway is not taken (IHE PCD-01 is ORU^R01)")
        }
        let processing = message.value(message.msh, 11)
        guard processing.isEmpty || processing == "P" else {
            return .reject(code: "AR", "processing id (MSH-11) \(Shown.text(processing.utf8, limit: 4)): only production (P) device values reach the rules")
        }
        guard let pv1 = message.first("PV1") else {
            return .ignore("no PV1-3: not known to be this bed's (device_gateway.location \(Shown.text(gateway.locationText.utf8, limit: 64)))", notes: [])
        }
        for (index, wanted) in gateway.location.enumerated() where !wanted.isEmpty {
            let theirs = message.value(pv1, 3, component: index + 1)
            guard theirs.caseInsensitiveCompare(wanted) == .orderedSame else {
                let shown = (1...max(1, gateway.location.count)).map { message.value(pv1, 3, component: $0) }.joined(separator: "^")
                return .ignore("PV1-3 \(Shown.text(shown.utf8, limit: 64)) is not this bed (\(Shown.text(gateway.locationText.utf8, limit: 64))): nothing to do", notes: [])
            }
        }
        var notes: [String] = []
        let unconfigured = PCD01.unconfiguredEquipment(in: message, of: config.gatewayDevices)
        if !unconfigured.isEmpty {
            notes.append("rows of equipment no pcd01 device takes, ignored: \(unconfigured.map { Shown.text($0.utf8, limit: 40) }.joined(separator: ", "))")
        }
        let devices = PCD01.devices(in: message, of: config.gatewayDevices)
        guard !devices.isEmpty else { return .ignore("no row of this bed's pcd01 devices (OBX-18)", notes: notes) }
        return .devices(devices.map(\.id), notes: notes)
    }

    /// An alert manager's status report (IHE PCD-05; shared/pcd05-reference.md): which of this run's
    /// alarms (OBR-3, else OBR-2: `<bed>-<run>-A<n>`, components 1-2), what status (PRT-3, CWE-1 or -2,
    /// any case), who (PRT-5), on what (PRT-10), when (PRT-11, else MSH-7).
    static func alertStatus(_ message: HL7Message, manager: LabListenerConfig.AlertManager, bedID: String, runID: String?,
                            now: Date, zone: TimeZone) -> Decision {
        let obr = message.first("OBR")
        var reference = ""
        for field in [3, 2] {
            if let obr, !message.value(obr, field).isEmpty { reference = message.value(obr, field); break }
        }
        guard !reference.isEmpty else {
            return .reject(code: "AR", "no alert reference (OBR-3 or OBR-2 as Alveo sent it): Alveo threads status reports by the alert, not by MSA-2")
        }
        let shown = Shown.text(reference.utf8, limit: 80)
        guard reference.hasPrefix(bedID + "-") else { return .reject(code: "AR", "alert \(shown) is not of this bed (\(Shown.text(bedID.utf8, limit: 40)))") }
        let rest = reference.dropFirst(bedID.count + 1)
        guard let marker = rest.range(of: "-A", options: .backwards),
              let alarm = Int(rest[marker.upperBound...]), alarm >= 1, rest[marker.upperBound...].allSatisfy(\.isASCII) else {
            return .reject(code: "AR", "alert \(shown) is not an Alveo alert reference (<bed>-<run>-A<alarm>)")
        }
        let run = String(rest[..<marker.lowerBound])
        guard let runID, run == runID else { return .reject(code: "AR", "alert \(shown) is of another run of Alveo (this run: \(runID ?? "unknown"))") }
        guard let prt = message.first("PRT") else { return .reject(code: "AE", "no status (PRT-3)") }
        let code = message.value(prt, 3).lowercased(), text = message.value(prt, 3, component: 2).lowercased()
        let status = LabListenerConfig.AlertManager.statuses.first { $0 == code || $0 == text } ?? "other"
        let raw = message.value(prt, 3).isEmpty ? message.value(prt, 3, component: 2) : message.value(prt, 3)
        let person = [1, 2, 3].map { message.value(prt, 5, component: $0) }.filter { !$0.isEmpty }.joined(separator: " ")
        let device = message.value(prt, 10)
        let when = HL7Message.date(message.value(prt, 11), zone: zone) ?? HL7Message.date(message.value(message.msh, 7), zone: zone)
        let report = AlertStatus(alarm: alarm, reference: Shown.text(reference.utf8, limit: 128), status: status,
                                 statusText: raw.lowercased() == status ? nil : Shown.text(raw.utf8, limit: 64),
                                 person: person.isEmpty ? nil : Shown.text(person.utf8, limit: 128),
                                 device: device.isEmpty ? nil : Shown.text(device.utf8, limit: 64),
                                 time: when.map { PCD04Message.rfc3339($0) }, acknowledges: manager.acknowledge.contains(status))
        let sender = message.sendingFacility.isEmpty ? message.sendingApplication : "\(message.sendingApplication)^\(message.sendingFacility)"
        let by = report.person ?? report.device ?? Shown.text(sender.utf8, limit: 128)
        return .take(BedsideEntry(action: .alertStatus(report), by: by, via: "hl7-acm"), kind: .alertStatus,
                     notes: status == "other" ? ["PRT-3 status '\(Shown.text(raw.utf8, limit: 64))' is not one Alveo knows: taken as other"] : [])
    }

    /// PID-3's identifiers (every repetition: a hospital may send its record number and others).
    static func identifiers(_ message: HL7Message) -> [PatientIdentifier] {
        guard let pid = message.first("PID") else { return [] }
        return (0..<min(message.repetitions(pid, 3), 8)).compactMap { repetition in
            let id = message.value(pid, 3, repetition: repetition)
            guard !id.isEmpty, id.utf8.count <= 64 else { return nil }
            let authority = message.value(pid, 3, component: 4, repetition: repetition)
            // Held as a composite (HD: namespace&id&type), so its own `^` `&` `\` stay data: escaped.
            return PatientIdentifier(id: id, authority: authority.isEmpty || authority.utf8.count > 64 ? nil : HL7Escaping.component(authority))
        }
    }

    /// Names senders give LOINC in a coded element's coding system (HL7 table 0396 says LN).
    static let loincSystems: Set<String> = ["LN", "LOINC", "HTTP://LOINC.ORG"]

    /// OBX-3 as LOINC: the code when its system is LOINC (or the alternate code's), or a code of
    /// LOINC's shape with no system named.
    static func loincCode(_ message: HL7Message, _ obx: HL7Message.Segment) -> String? {
        let code = message.value(obx, 3), system = message.value(obx, 3, component: 3)
        if loincSystems.contains(system.uppercased()) { return code }
        if loincSystems.contains(message.value(obx, 3, component: 6).uppercased()) { return message.value(obx, 3, component: 4) }
        if system.isEmpty, code.utf8.count <= 10, code.wholeMatch(of: /[0-9]{1,7}-[0-9]/) != nil { return code }
        return nil
    }

    static func results(_ message: HL7Message, by: String, now: Date, zone: TimeZone) -> Decision {
        let patient = identifiers(message)
        guard !patient.isEmpty else { return .reject(code: "AE", "no patient identifier (PID-3)") }
        var values: [ChartedValue] = []
        var notes: [String] = []
        var collected: Date?
        var number = 0
        for segment in message.segments {
            if segment.name == "OBR" {
                collected = HL7Message.date(message.value(segment, 7), zone: zone)
                continue
            }
            guard segment.name == "OBX" else { continue }
            number += 1
            let where_ = "OBX \(number)"
            guard let code = loincCode(message, segment) else { continue }
            let text = message.value(segment, 3, component: 2).lowercased()
            guard let parameter = loinc[code] else {
                if nonArterialPO2.contains(code) || text.contains("po2") || (text.contains("oxygen") && text.contains("partial pressure")) {
                    notes.append("\(where_): pO2 of LOINC \(Shown.text(code.utf8, limit: 12)) is not arterial (2703-7): not a PaO2, ignored")
                } else if nonArterialPCO2.contains(code) || text.contains("pco2") || (text.contains("carbon dioxide") && text.contains("partial pressure")) {
                    notes.append("\(where_): pCO2 of LOINC \(Shown.text(code.utf8, limit: 12)) is not arterial (2019-8): not a PaCO2, ignored")
                } else if nonArterialPH.contains(code) {
                    notes.append("\(where_): pH of LOINC \(Shown.text(code.utf8, limit: 12)) is not arterial (2744-1): ignored")
                }
                continue
            }
            let status = message.value(segment, 11)
            guard status == "F" || status == "C" else {
                notes.append("\(where_) (\(code)): result status '\(Shown.text(status.utf8, limit: 4))': only final (F) or corrected (C) results count, ignored")
                continue
            }
            let raw = message.value(segment, 5).trimmingSpaces
            guard let parsed = DeviceNumber.parse(Array(raw.utf8.prefix(32))[...]), case .number = parsed else {
                return .reject(code: "AE", "\(where_) (\(code)): '\(Shown.text(raw.utf8, limit: 24))' is not a number")
            }
            let unit = message.value(segment, 6).trimmingSpaces
            // pH has no unit: OBX-6 is often empty, or `[pH]` (UCUM).
            guard !unit.isEmpty || parameter == .ph, LabUnits.factor(unit, for: parameter) != nil else {
                return .reject(code: "AE", "\(where_) (\(code)): unit '\(Shown.text(unit.utf8, limit: 16))' (OBX-6) is not one of \(LabUnits.accepted(for: parameter))")
            }
            let observed = message.value(segment, 14)
            guard let sampled = observed.isEmpty ? collected : HL7Message.date(observed, zone: zone) else {
                return .reject(code: "AE", "\(where_) (\(code)): no sample time (OBX-14 '\(Shown.text(observed.utf8, limit: 24))', or OBR-7)")
            }
            values.append(ChartedValue(parameter: parameter.name, value: raw + unit, corrects: status == "C",
                                       sampleAge: now.timeIntervalSince(sampled)))
            if values.count > 32 { return .reject(code: "AE", "more than 32 results Alveo uses in one message") }
        }
        guard !values.isEmpty else { return .ignore("no result Alveo uses (LOINC 2703-7, 718-7, 59260-0, 2160-0, 14682-9, 2744-1, 2019-8; F or C)", notes: notes) }
        return .take(BedsideEntry(action: .chart(values), by: by, via: "hl7", forPatient: patient), kind: .result, notes: notes)
    }

    /// PV1-3 (or another PL field) against this bed's location: point of care, room and bed equal
    /// (ignoring case), and the facility too when both name one.
    static func isThisBed(_ message: HL7Message, _ segment: HL7Message.Segment, field: Int, bed: String) -> Bool {
        let mine = HL7Escaping.pieces(bed).map { $0.first ?? "" }
        guard mine.count >= 3 else { return false }
        for index in 0..<3 {
            let theirs = message.value(segment, field, component: index + 1)
            guard !mine[index].isEmpty, theirs.caseInsensitiveCompare(mine[index]) == .orderedSame else { return false }
        }
        let facility = message.value(segment, field, component: 4)
        if mine.count >= 4, !mine[3].isEmpty, !facility.isEmpty, facility.caseInsensitiveCompare(mine[3]) != .orderedSame { return false }
        return true
    }

    static func admission(_ message: HL7Message, event: String, config: LabListenerConfig, by: String, now: Date, zone: TimeZone) -> Decision {
        let patient = identifiers(message)
        guard let first = patient.first, let pid = message.first("PID") else { return .reject(code: "AE", "no patient identifier (PID-3)") }
        guard let bed = config.bedLocation, !bed.isEmpty else {
            return .reject(code: "AR", "this bed has no bed_location (inputs.hl7 or outputs.hl7): admissions cannot be matched to it")
        }
        var notes: [String] = []
        var record = PatientRecord(id: first.id, idAuthority: first.authority)
        // The name is held as PID-5 is written, FAMILY^GIVEN: each decoded component escaped as it is
        // joined, so a family `DOE\S\X` (decoded DOE^X) stays one component and goes out as it came.
        // At most 128 bytes, as through the control API, cut before a scalar or an escape, never in one.
        let family = message.value(pid, 5), given = message.value(pid, 5, component: 2)
        if !family.isEmpty {
            let held = HL7Escaping.component(family, maxBytes: 128)
            let room = 128 - held.utf8.count - 1
            let givenHeld = room > 0 ? HL7Escaping.component(given, maxBytes: room) : ""
            record.name = givenHeld.isEmpty ? held : held + "^" + givenHeld
        }
        switch message.value(pid, 8).uppercased() {
        case "M": record.sex = Sex.male.rawValue
        case "F": record.sex = Sex.female.rawValue
        case "": break
        case let other: notes.append("PID-8 sex '\(Shown.text(other.utf8, limit: 4))': unknown to the predicted body weight (M or F), left unknown")
        }
        var number = 0
        for segment in message.all("OBX") {
            number += 1
            guard loincCode(message, segment) == heightLOINC else { continue }
            let raw = message.value(segment, 5).trimmingSpaces
            let unit = message.value(segment, 6).trimmingSpaces.lowercased()
            let factor: Double? = ["cm": 1, "[in_i]": 2.54, "in": 2.54, "inch": 2.54, "m": 100][unit]
            guard let factor, let parsed = DeviceNumber.parse(Array(raw.utf8.prefix(32))[...]), case .number(let value) = parsed,
                  Patient.heightRangeCm.contains(value * factor) else {
                notes.append("OBX \(number) (8302-2): height '\(Shown.text(raw.utf8, limit: 16))' '\(Shown.text(unit.utf8, limit: 8))' is not an adult height (130-250 cm, the ARDSNet PBW is for adults) in cm or in: height left unknown")
                continue
            }
            record.heightCm = (value * factor * 10).rounded() / 10
        }
        let pv1 = message.first("PV1")
        let intoThisBed = pv1.map { isThisBed(message, $0, field: 3, bed: bed) } ?? false
        let entry: (BedsideEntry.Action, [PatientIdentifier]?)
        switch event {
        case "A01":
            guard intoThisBed else { return .ignore("A01 for another bed (PV1-3)", notes: notes) }
            // A resent admission of the patient already here updates; another patient is admitted.
            entry = (.set(record), nil)
        case "A02":
            if intoThisBed {
                entry = (.set(record), nil)
            } else {
                // Out of this bed (PV1-6, the prior location, or simply: this bed's patient went elsewhere).
                entry = (.discharge, patient)
            }
        case "A03": entry = (.discharge, patient)
        default:  // A08: what is known of this bed's patient
            var update = record
            update.id = nil
            update.idAuthority = nil
            entry = (.update(update), patient)
        }
        return .take(BedsideEntry(action: entry.0, by: by, via: "hl7", forPatient: entry.1), kind: .admission, notes: notes)
    }
}
