import AlveoCore
import Foundation

/// What a person or the hospital tells the bed, as the bedside loop takes it: values charted or
/// measured by the laboratory (with the time they were sampled), an acknowledgement, a patient admitted,
/// updated or discharged. It is journaled (with who and through what) and written into raw traces, so
/// that replay takes it exactly as the live loop did.
package struct BedsideEntry: Sendable, Equatable, Codable {
    package enum Action: Sendable, Equatable, Codable {
        /// Charted or laboratory values, all of one sample time.
        case chart([ChartedValue])
        /// Acknowledge the alarms of a rule (of one source only, when given).
        case acknowledge(rule: String, source: String?)
        /// A new patient at the bed: the previous patient's alarms end and a new state starts.
        case admit(PatientRecord)
        /// The same patient, better known: sex, height or identity given or corrected, conditions added.
        case update(PatientRecord)
        /// `alveo patient set`: an admission when it names another patient (an identifier other than the
        /// current one), else an update.
        case set(PatientRecord)
        /// The patient has left the bed: their alarms end, and the bed waits for its next patient.
        case discharge
        /// What the hospital's alert manager reports about one of this run's alarms (IHE PCD-05,
        /// ORA^R41): delivered, read, accepted, …; an acknowledgement when the site counts it as one.
        case alertStatus(AlertStatus)
    }

    package var action: Action
    /// When charted values were sampled, in the core's seconds; nil: when received.
    package var sampledAt: Double?
    /// How long before its arrival the values were sampled (seconds), as the control API or the
    /// listener know it; turned into `sampledAt` by `stamp(at:)` when the loop's clock reads the
    /// arrival, and never recorded.
    package var sampleAge: Double?
    /// Who: a user name (`--by`), or the sending application and facility of a laboratory message.
    package var by: String?
    /// Through what: `control` (the control API), `hl7` (the laboratory and ADT listener).
    package var via: String
    /// The patient the entry is about, as the hospital names them (PID-3, every identifier given):
    /// taken only for the bed's current patient. Nil: for whoever is at the bed (the control API).
    package var forPatient: [PatientIdentifier]?

    package init(action: Action, sampledAt: Double? = nil, sampleAge: Double? = nil, by: String? = nil, via: String,
                forPatient: [PatientIdentifier]? = nil) {
        self.action = action
        self.sampledAt = sampledAt
        self.sampleAge = sampleAge
        self.by = by
        self.via = via
        self.forPatient = forPatient
    }

    enum CodingKeys: String, CodingKey {
        case action, sampledAt, by, via, forPatient
    }

    /// Turns the sample ages into sample times, now that the entry arrived at `t` (core seconds). A
    /// time at most `BedsideLoop.clockSkewTolerance` ahead of `t` is taken as `t` here (the clock read
    /// was a little ahead of this box's), so that the journal, the trace and the answer carry the sample
    /// time the loop uses; one further ahead is kept as it is, for the loop to refuse.
    package mutating func stamp(at t: Double) {
        func used(_ age: Double) -> Double { age < 0 && -age <= BedsideLoop.clockSkewTolerance ? t : t - age }
        if let sampleAge { sampledAt = used(sampleAge) }
        sampleAge = nil
        if case .chart(var values) = action {
            for index in values.indices {
                if let age = values[index].sampleAge { values[index].sampledAt = used(age) }
                values[index].sampleAge = nil
            }
            action = .chart(values)
        }
    }

    /// The entry with the patient's identity replaced as `redact` says (for traces recorded without
    /// identity): identifiers and names, never the clinical content.
    package func redacted(_ redact: (String) -> String) -> BedsideEntry {
        var copy = self
        copy.forPatient = forPatient?.map { PatientIdentifier(id: redact($0.id), authority: $0.authority.map(redact)) }
        func scrub(_ record: PatientRecord) -> PatientRecord {
            var record = record
            record.id = record.id.map(redact)
            record.idAuthority = record.idAuthority.map(redact)
            record.name = record.name.map(redact)
            return record
        }
        switch action {
        case .admit(let record): copy.action = .admit(scrub(record))
        case .update(let record): copy.action = .update(scrub(record))
        case .set(let record): copy.action = .set(scrub(record))
        default: break
        }
        return copy
    }

    /// Compact JSON with sorted keys: the same entry is always the same bytes (traces, journal).
    package func json() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(self)) ?? Data("{}".utf8))
    }

    package static func decode(_ bytes: [UInt8]) -> BedsideEntry? {
        try? JSONDecoder().decode(BedsideEntry.self, from: Data(bytes))
    }
}

/// One status report of the alert manager about an alarm (IHE PCD-05; docs/integration.md §9): which
/// alarm (already resolved from the alert reference to this run's alarm id, so that replay needs no run
/// id), the status, who and on what device.
package struct AlertStatus: Sendable, Equatable, Codable {
    /// This run's alarm id (`A<n>` of the alert reference).
    package var alarm: Int
    /// The alert reference as the manager sent it (OBR-3 components 1-2, or the MSA-2 it was found by).
    package var reference: String
    /// `forwarded`, `delivered`, `read`, `accepted`, `rejected`, `cancelled`, `callback` or `other`.
    package var status: String
    /// PRT-3 as sent (escaped and bounded), when it is not one of the statuses above word for word.
    package var statusText: String?
    /// The person who acted (PRT-5: "4711 NURSE ANNA"), escaped and bounded.
    package var person: String?
    /// The endpoint device (PRT-10), escaped and bounded.
    package var device: String?
    /// When the manager says it happened (PRT-11, else MSH-7), RFC 3339 UTC.
    package var time: String?
    /// The site counts this status as an acknowledgement (`inputs.hl7.alert_manager.acknowledge`).
    package var acknowledges: Bool

    package init(alarm: Int, reference: String, status: String, statusText: String? = nil, person: String? = nil,
                 device: String? = nil, time: String? = nil, acknowledges: Bool) {
        self.alarm = alarm
        self.reference = reference
        self.status = status
        self.statusText = statusText
        self.person = person
        self.device = device
        self.time = time
        self.acknowledges = acknowledges
    }
}

/// One charted or laboratory value: a parameter name (`pao2`, `hb`, `hemoptysis`, `creatinine`,
/// `position`) and its value in Alveo's unit (or a position word).
package struct ChartedValue: Sendable, Equatable, Codable {
    package var parameter: String
    package var value: String
    /// A laboratory correction (HL7 OBX-11 "C"): replaces the result of the same sample time.
    package var corrects: Bool
    /// This value's own sample time (core seconds), when it differs from the entry's (the results of
    /// one laboratory message may be of several samples).
    package var sampledAt: Double?
    /// Its age on arrival, until `BedsideEntry.stamp(at:)`; never recorded.
    package var sampleAge: Double?

    package init(parameter: String, value: String, corrects: Bool = false, sampledAt: Double? = nil, sampleAge: Double? = nil) {
        self.parameter = parameter
        self.value = value
        self.corrects = corrects
        self.sampledAt = sampledAt
        self.sampleAge = sampleAge
    }

    enum CodingKeys: String, CodingKey {
        case parameter, value, corrects, sampledAt
    }
}

/// A patient identifier as HL7 PID-3 carries it: the identifier and its assigning authority.
package struct PatientIdentifier: Sendable, Equatable, Codable {
    package var id: String
    package var authority: String?

    package init(id: String, authority: String? = nil) {
        self.id = id
        self.authority = authority
    }
}

/// A patient as the bed knows them: what the rules need (sex, height, conditions) and who they are
/// (identifier, name, location), for `alveo status` and the messages to the central station.
package struct PatientRecord: Sendable, Equatable, Codable {
    package var sex: String?
    package var heightCm: Double?
    package var conditions: [String]
    package var id: String?
    package var idAuthority: String?
    package var name: String?
    /// A predicted body weight entered by hand, kg.
    package var pbwKg: Double?

    package init(sex: String? = nil, heightCm: Double? = nil, conditions: [String] = [], id: String? = nil,
                idAuthority: String? = nil, name: String? = nil, pbwKg: Double? = nil) {
        self.sex = sex
        self.pbwKg = pbwKg
        self.heightCm = heightCm
        self.conditions = conditions
        self.id = id
        self.idAuthority = idAuthority
        self.name = name
    }

    /// This record's values over `base`'s (an update gives only what changes; conditions add up).
    package func over(_ base: PatientRecord) -> PatientRecord {
        PatientRecord(sex: sex ?? base.sex, heightCm: heightCm ?? base.heightCm,
                      conditions: Array(Set(base.conditions).union(conditions)).sorted(),
                      id: id ?? base.id, idAuthority: idAuthority ?? base.idAuthority, name: name ?? base.name,
                      pbwKg: pbwKg ?? base.pbwKg)
    }

    /// What the rules see, or why not (an unknown sex or condition, a height out of range).
    package func patient() -> Result<Patient, BedsideRefusal> {
        var sexValue: Sex?
        if let sex {
            guard let parsed = Sex(rawValue: sex) else { return .failure(.invalid("sex '\(Shown.text(sex.utf8))' is not one of: male, female")) }
            sexValue = parsed
        }
        if let pbwKg {
            guard pbwKg.isFinite, Patient.pbwRangeKg.contains(pbwKg) else {
                return .failure(.invalid("pbw_kg \(Shown.text(String(pbwKg).utf8, limit: 24)) is outside \(Int(Patient.pbwRangeKg.lowerBound))-\(Int(Patient.pbwRangeKg.upperBound)) kg"))
            }
        }
        if let heightCm, let problem = Patient.heightProblem(heightCm, pbwGiven: pbwKg != nil) {
            return .failure(.invalid(problem))
        }
        var conditionSet: Set<Condition> = []
        for name in conditions {
            guard let condition = Condition(rawValue: name) else {
                return .failure(.invalid("condition '\(Shown.text(name.utf8))' is not one of: \(Condition.allCases.map(\.rawValue).joined(separator: ", "))"))
            }
            conditionSet.insert(condition)
        }
        // One ECMO state at start (rules v3 §3.3).
        if conditionSet.isSuperset(of: [.ecmoVV, .ecmoVA]) {
            return .failure(.invalid("conditions ecmo_vv and ecmo_va: give at most one (the ECMO state until an ecmo value is charted)"))
        }
        return .success(Patient(sex: sexValue, heightCm: heightCm, conditions: conditionSet, pbwKg: pbwKg))
    }

    package init(_ patient: Patient) {
        self.init(sex: patient.sex?.rawValue, heightCm: patient.heightCm, conditions: patient.conditions.map(\.rawValue).sorted(),
                  pbwKg: patient.pbwKg)
    }
}

/// Why the bedside loop did not take an entry: nothing changed.
package enum BedsideRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// The entry is malformed or out of range (a bad parameter, number, unit or time).
    case invalid(String)
    /// It is well formed but there is nothing it could do (no such alarm, already acknowledged).
    case nothingToDo(String)
    /// It is about another patient than the one at this bed (or no patient is known here).
    case otherPatient(String)

    package var description: String {
        switch self {
        case .invalid(let reason), .nothingToDo(let reason), .otherPatient(let reason): reason
        }
    }
}
