import AlveoCore
import Foundation

// The control API's requests (docs/control-api.md), one Codable type per endpoint, shared by the
// server (ControlServer decodes them) and the client (the CLI's bedside commands encode them).
//
// Decoding is the server's reading of a body: a field of the wrong JSON type is refused as
// `wrongType` (400) naming the field, a well-typed value that is not acceptable as `unacceptable`
// (422), in the order the fields are listed, each with the text the documentation and
// ControlContractTests pin. Absent fields are nil; fields not named are ignored. Encoding writes only
// the fields given.

/// The name of a member of a request's JSON object.
struct ControlField: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// The members of a request's JSON object, read by type: absent gives nil; JSON null or another type
/// than asked is a `wrongType` naming the member. Messages never echo more than a bounded part of a value.
struct ControlFields {
    typealias RequestError = ControlServer.RequestError
    let container: KeyedDecodingContainer<ControlField>

    init(_ decoder: any Decoder) throws {
        container = try decoder.container(keyedBy: ControlField.self)
    }

    func string(_ key: String, _ what: String) throws(RequestError) -> String? {
        let field = ControlField(key)
        guard container.contains(field) else { return nil }
        guard let text = try? container.decode(String.self, forKey: field) else { throw .wrongType("\(key): give \(what)") }
        return text
    }

    /// A text field: a string (else 400) of 1 to 128 bytes without control characters (else 422).
    func text(_ key: String) throws(RequestError) -> String? {
        guard let value = try string(key, "text") else { return nil }
        if let problem = ControlServer.textProblem(value) { throw .unacceptable("\(key): \(problem)") }
        return value
    }

    /// A JSON number (true and false are not numbers).
    func number(_ key: String, _ what: String) throws(RequestError) -> Double? {
        let field = ControlField(key)
        guard container.contains(field) else { return nil }
        guard let number = try? container.decode(Double.self, forKey: field) else { throw .wrongType("\(key): give \(what)") }
        return number
    }

    func object(_ key: String, _ what: String) throws(RequestError) -> ControlFields? {
        let field = ControlField(key)
        guard container.contains(field) else { return nil }
        guard let nested = try? container.nestedContainer(keyedBy: ControlField.self, forKey: field) else { throw .wrongType("\(key): give \(what)") }
        return ControlFields(container: nested)
    }

    init(container: KeyedDecodingContainer<ControlField>) { self.container = container }

    func strings(_ key: String, _ what: String) throws(RequestError) -> [String]? {
        let field = ControlField(key)
        guard container.contains(field) else { return nil }
        guard var list = try? container.nestedUnkeyedContainer(forKey: field) else { throw .wrongType("\(key): give \(what)") }
        var strings: [String] = []
        while !list.isAtEnd {
            guard let text = try? list.decode(String.self) else { throw .wrongType("\(key)[\(strings.count)]: give \(what)") }
            strings.append(text)
        }
        return strings
    }
}

/// `POST /v1/ack`: acknowledge the alarms of a rule (of one source).
package struct AckRequest: Codable, Sendable, Equatable {
    package var rule: String
    package var source: String?
    package var by: String?

    package init(rule: String, source: String? = nil, by: String? = nil) {
        self.rule = rule
        self.source = source
        self.by = by
    }

    enum CodingKeys: String, CodingKey { case rule, source, by }

    package init(from decoder: any Decoder) throws {
        let fields = try ControlFields(decoder)
        guard let rule = try fields.string("rule", "a rule id as text") else {
            throw ControlServer.RequestError.unacceptable("give the rule to acknowledge: {\"rule\": \"oxygenation.spo2_low\"}")
        }
        self.rule = rule
        source = try fields.text("source")
        by = try fields.text("by")
    }

    var entry: BedsideEntry { BedsideEntry(action: .acknowledge(rule: rule, source: source), by: by, via: "control") }
}

/// A value to chart: a number in Alveo's unit, or a text of a number and its unit ("8.2kPa") or a position.
package enum ChartValue: Codable, Sendable, Equatable {
    case number(Double)
    case text(String)

    package init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer()
        if let number = try? value.decode(Double.self) { self = .number(number) } else { self = .text(try value.decode(String.self)) }
    }

    package func encode(to encoder: any Encoder) throws {
        var value = encoder.singleValueContainer()
        switch self {
        case .number(let number): try value.encode(number)
        case .text(let text): try value.encode(text)
        }
    }

    /// As the loop reads it.
    var text: String {
        switch self {
        case .number(let number): JSONValue.formatted(number)
        case .text(let text): text
        }
    }
}

/// `POST /v1/chart`: values of one sample time.
package struct ChartRequest: Codable, Sendable, Equatable {
    package var values: [String: ChartValue]
    /// When sampled, RFC 3339 UTC; or `sampledAgoS`, seconds before now; neither: now.
    package var sampled: String?
    package var sampledAgoS: Double?
    package var by: String?

    package init(values: [String: ChartValue], sampled: String? = nil, sampledAgoS: Double? = nil, by: String? = nil) {
        self.values = values
        self.sampled = sampled
        self.sampledAgoS = sampledAgoS
        self.by = by
    }

    enum CodingKeys: String, CodingKey {
        case values, sampled, by
        case sampledAgoS = "sampled_ago_s"
    }

    /// The most values one chart request takes (as the loop).
    static let maxValues = 32

    package init(from decoder: any Decoder) throws {
        let fields = try ControlFields(decoder)
        guard let given = try fields.object("values", "an object of parameters and values, e.g. {\"pao2\": 62}") else {
            throw ControlServer.RequestError.unacceptable("give the values to chart: {\"values\": {\"pao2\": 62}}")
        }
        let names = given.container.allKeys.map(\.stringValue)
        let count = Set(names).count
        guard (1...Self.maxValues).contains(count) else {
            throw ControlServer.RequestError.unacceptable("values: give 1 to \(Self.maxValues) values to chart (\(count) given), e.g. {\"pao2\": 62}")
        }
        var values: [String: ChartValue] = [:]
        for name in Set(names).sorted() {
            guard let value = try? given.container.decode(ChartValue.self, forKey: ControlField(name)) else {
                throw ControlServer.RequestError.wrongType(
                    "values.\(Shown.text(name.utf8, limit: 24)): give a number, or a text of a number and its unit (\"8.2kPa\") or a position")
            }
            values[name] = value
        }
        self.values = values
        let ago = try fields.number("sampled_ago_s", "a number of seconds")
        let sampled = try fields.string("sampled", "an RFC 3339 UTC time as text, e.g. \"2026-11-29T10:02:00Z\"")
        if ago != nil, sampled != nil { throw ControlServer.RequestError.unacceptable("give sampled or sampled_ago_s, not both") }
        if let ago, !(ago.isFinite && ago >= 0 && ago <= ControlServer.maxSampledAgo) {
            throw ControlServer.RequestError.unacceptable("sampled_ago_s: give a number of seconds from 0 to \(Int(ControlServer.maxSampledAgo)) (7 days)")
        }
        if let sampled, UTCTime.parse(rfc3339: sampled) == nil {
            throw ControlServer.RequestError.unacceptable(
                "sampled: '\(Shown.text(sampled.utf8, limit: 40))' is not an RFC 3339 UTC time, e.g. 2026-11-29T10:02:00Z")
        }
        self.sampledAgoS = ago
        self.sampled = sampled
        by = try fields.text("by")
    }

    /// How long before `now` the values were sampled. A time ahead of this clock gives a negative age:
    /// the loop takes it as now when it is at most 60 s ahead (`BedsideLoop.clockSkewTolerance`), and
    /// refuses it otherwise.
    func sampleAge(now: Date) -> Double? {
        if let sampledAgoS { return sampledAgoS }
        if let sampled, let milliseconds = UTCTime.parse(rfc3339: sampled) { return now.timeIntervalSince1970 - Double(milliseconds) / 1000 }
        return nil
    }

    func entry(now: Date) -> BedsideEntry {
        let charted = values.keys.sorted().map { ChartedValue(parameter: $0, value: values[$0]!.text) }
        return BedsideEntry(action: .chart(charted), sampleAge: sampleAge(now: now), by: by, via: "control")
    }
}

/// `POST /v1/patient`: set the patient (an admission when `id` differs from the current one's).
package struct PatientRequest: Codable, Sendable, Equatable {
    package var sex: String?
    package var heightCm: Double?
    package var pbwKg: Double?
    package var conditions: [String]?
    package var id: String?
    package var idAuthority: String?
    package var name: String?
    package var by: String?

    package init(sex: String? = nil, heightCm: Double? = nil, pbwKg: Double? = nil, conditions: [String]? = nil, id: String? = nil,
                idAuthority: String? = nil, name: String? = nil, by: String? = nil) {
        self.sex = sex
        self.heightCm = heightCm
        self.pbwKg = pbwKg
        self.conditions = conditions
        self.id = id
        self.idAuthority = idAuthority
        self.name = name
        self.by = by
    }

    enum CodingKeys: String, CodingKey {
        case sex, conditions, id, name, by
        case heightCm = "height_cm", pbwKg = "pbw_kg", idAuthority = "id_authority"
    }

    package init(from decoder: any Decoder) throws {
        let fields = try ControlFields(decoder)
        sex = try fields.string("sex", "male or female, as text")
        heightCm = try fields.number("height_cm", "a number of centimetres")
        pbwKg = try fields.number("pbw_kg", "a number of kilograms")
        conditions = try fields.strings("conditions", "a list of condition names, e.g. [\"anca_vasculitis\"]")
        id = try fields.text("id")
        idAuthority = try fields.text("id_authority")
        name = try fields.text("name")
        by = try fields.text("by")
    }

    var entry: BedsideEntry {
        let record = PatientRecord(sex: sex, heightCm: heightCm, conditions: conditions ?? [], id: id, idAuthority: idAuthority,
                                   name: name, pbwKg: pbwKg)
        return BedsideEntry(action: .set(record), by: by, via: "control")
    }
}

/// `POST /v1/patient/discharge`: the patient has left the bed.
package struct DischargeRequest: Codable, Sendable, Equatable {
    package var by: String?

    package init(by: String? = nil) { self.by = by }

    enum CodingKeys: String, CodingKey { case by }

    package init(from decoder: any Decoder) throws {
        by = try ControlFields(decoder).text("by")
    }

    var entry: BedsideEntry { BedsideEntry(action: .discharge, by: by, via: "control") }
}
