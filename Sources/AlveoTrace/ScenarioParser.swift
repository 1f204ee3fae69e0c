import AlveoCore

/// Parses the scenario CSV contract (`t,source,parameter,value`, `#` comments) one line at a time,
/// from raw bytes, without building intermediate strings: replay must run at millions of rows a second.
package struct ScenarioParser {
    package static let header = "t,source,parameter,value"
    /// The header of a scenario whose charted and laboratory rows may say when they were sampled.
    package static let headerWithSampleTime = "t,source,parameter,value,sampled_t"
    /// No row is longer: a longer line is refused, not read into memory whole.
    package static let maxLineLength = 4096
    /// The latest time a scenario row may have: 10 years in seconds.
    package static let maxTime = 315_576_000.0

    package let file: String
    /// How long before its row a value may have been sampled (`rules: alarm_system: max_sample_age_s`).
    package let maxSampleAge: Double
    private var sawHeader = false
    /// 4 or 5 (with `sampled_t`).
    private var columns = 4
    private var lastTime = -Double.infinity
    private var sourceCache: [(bytes: [UInt8], name: String)] = []
    /// The most distinct sources a scenario may name.
    package static let maxSources = 64

    package init(file: String, maxSampleAge: Double = 6 * 3600) {
        self.file = file
        self.maxSampleAge = maxSampleAge
    }

    /// One data row.
    package struct Row: Sendable, Equatable {
        package var t: Double
        package var observation: Observation
    }

    /// Parses one line (without its newline). Returns nil for the header, comments and blank lines.
    package mutating func parse(line raw: UnsafeBufferPointer<UInt8>, number: Int) throws(ScenarioError) -> Row? {
        guard raw.count <= ScenarioParser.maxLineLength else {
            throw error(number, "line longer than \(ScenarioParser.maxLineLength) bytes: not a scenario row (starts '\(Shown.text(raw))')")
        }
        var line = raw
        if let last = line.last, last == UInt8(ascii: "\r") { line = UnsafeBufferPointer(rebasing: line.dropLast()) }
        let trimmed = ScenarioParser.trim(UnsafeBufferPointer(rebasing: line[...]))
        if trimmed.isEmpty || trimmed[trimmed.startIndex] == UInt8(ascii: "#") { return nil }
        if !sawHeader {
            let text = String(decoding: trimmed, as: UTF8.self)
            switch text.replacingSpaces {
            case ScenarioParser.header: columns = 4
            case ScenarioParser.headerWithSampleTime: columns = 5
            default:
                throw error(number, "missing header: the first line must be '\(ScenarioParser.header)' (or '\(ScenarioParser.headerWithSampleTime)'), found '\(Shown.text(trimmed))'")
            }
            sawHeader = true
            return nil
        }

        // Split into exactly the header's fields: the commas' places kept in place (no array per row).
        var commas: (Int, Int, Int, Int) = (0, 0, 0, 0)
        var count = 1
        for index in line.indices where line[index] == UInt8(ascii: ",") {
            switch count {
            case 1: commas.0 = index
            case 2: commas.1 = index
            case 3: commas.2 = index
            case 4: commas.3 = index
            default: break
            }
            count += 1
        }
        guard count == columns else {
            throw error(number, "expected \(columns) fields (\(columns == 4 ? ScenarioParser.header : ScenarioParser.headerWithSampleTime)), found \(count)")
        }
        func comma(_ index: Int) -> Int {
            switch index {
            case 0: commas.0
            case 1: commas.1
            case 2: commas.2
            default: commas.3
            }
        }
        func field(_ index: Int) -> UnsafeBufferPointer<UInt8> {
            let start = index == 0 ? line.startIndex : comma(index - 1) + 1
            let end = index == columns - 1 ? line.endIndex : comma(index)
            return UnsafeBufferPointer(rebasing: line[start..<end])
        }
        let tField = ScenarioParser.trim(field(0))
        let sourceField = ScenarioParser.trim(field(1))
        let parameterField = ScenarioParser.trim(field(2))
        let valueField = ScenarioParser.trim(field(3))

        guard let t = ScenarioParser.parseNumber(tField) else {
            throw error(number, "time '\(Shown.text(tField))' is not a number of seconds")
        }
        guard t >= 0 else { throw error(number, "time \(Shown.text(tField)) is negative") }
        guard t <= ScenarioParser.maxTime else {
            throw error(number, "time \(Shown.text(tField)) is beyond \(Int(ScenarioParser.maxTime)) s (10 years): not a scenario time")
        }
        guard t >= lastTime else {
            throw error(number, "time goes backwards: \(Shown.text(tField)) after \(JSONValue.formatted(lastTime))")
        }
        lastTime = t
        guard !sourceField.isEmpty else { throw error(number, "source is empty") }
        guard let parameter = ScenarioParser.parameter(parameterField) else {
            let allowed = Parameter.allCases.map(\.name).joined(separator: ", ")
            throw error(number, "unknown parameter '\(Shown.text(parameterField))' (allowed: \(allowed))")
        }
        let value = try parseValue(valueField, parameter: parameter, line: number)
        var sampledAt: Double?
        if columns == 5 {
            let sampleField = ScenarioParser.trim(field(4))
            if !sampleField.isEmpty {
                guard !parameter.isStreamed else {
                    throw error(number, "sampled_t is for charted and laboratory values; \(parameter.name) from a device is of its row's time")
                }
                guard let sampled = ScenarioParser.parseNumber(sampleField), sampled.isFinite else {
                    throw error(number, "sampled_t '\(Shown.text(sampleField))' is not a number of seconds")
                }
                guard sampled <= t else { throw error(number, "sampled_t \(Shown.text(sampleField)) is after the row's time \(JSONValue.formatted(t)): a value cannot be charted before it is sampled") }
                guard t - sampled <= maxSampleAge else {
                    throw error(number, "sampled_t \(Shown.text(sampleField)) is more than \(JSONValue.formatted(maxSampleAge)) s before the row's time (max_sample_age_s)")
                }
                sampledAt = sampled
            }
        }
        let source = try sourceName(sourceField, line: number)
        return Row(t: t, observation: Observation(source: source, parameter: parameter, value: value, sampledAt: sampledAt))
    }

    /// Call at end of input: a file with no header is an error.
    package func finish(lines: Int) throws(ScenarioError) {
        guard sawHeader else {
            throw error(max(lines, 1), "missing header: the file has no '\(ScenarioParser.header)' line")
        }
    }

    private func parseValue(_ field: UnsafeBufferPointer<UInt8>, parameter: Parameter, line: Int) throws(ScenarioError) -> ObservedValue {
        if parameter.isNumeric {
            if field.isEmpty { return .noData }
            guard let number = ScenarioParser.parseNumber(field) else {
                throw error(line, "\(parameter.name) value '\(Shown.text(field))' is not a number (\(parameter.unit))")
            }
            // A number no device sends (9.3e18, 1e999) is kept as an unusable value, as a decoder
            // would: the core rejects it and raises technical.value_rejected.
            return DeviceNumber.value(number, text: String(decoding: field, as: UTF8.self))
        }
        let text = Shown.text(field)
        switch parameter {
        case .position:
            guard let position = Position(rawValue: text) else {
                throw error(line, "position '\(text)' is not one of: supine, prone")
            }
            return .position(position)
        case .sensor:
            if text.isEmpty { return .noData }
            guard let state = SensorState(rawValue: text) else {
                throw error(line, "sensor '\(text)' is not one of: ok, off, disconnected")
            }
            return .sensor(state)
        case .ecmo:
            guard let mode = ECMOMode(rawValue: text) else {
                throw error(line, "ecmo '\(text)' is not one of: vv, va, none")
            }
            return .ecmo(mode)
        case .massiveHemoptysis:
            guard text == "yes" || text == "no" else {
                throw error(line, "massive_hemoptysis '\(text)' is not one of: yes, no")
            }
            return .yesNo(text == "yes")
        default:
            guard let rule = RuleID(rawValue: text) else {
                throw error(line, "ack '\(text)' is not a rule id (one of: \(RuleID.allCases.map(\.id).joined(separator: ", ")))")
            }
            return .ack(rule)
        }
    }

    private func error(_ line: Int, _ message: String) -> ScenarioError {
        ScenarioError(file: file, line: line, message: message)
    }

    /// The source's name, checked once (then remembered with its bytes). A bed has a handful of
    /// sources; every one is evaluated at every group, so their number is bounded (a million distinct
    /// names would make a replay quadratic).
    private mutating func sourceName(_ bytes: UnsafeBufferPointer<UInt8>, line number: Int) throws(ScenarioError) -> String {
        for entry in sourceCache where ScenarioParser.same(entry.bytes, bytes) { return entry.name }
        guard SourceName.isValid(bytes: bytes) else {
            throw error(number, "source '\(Shown.text(bytes))' is not a usable name (\(SourceName.rule))")
        }
        guard sourceCache.count < ScenarioParser.maxSources else {
            throw error(number, "source '\(Shown.text(bytes))' is one more than the \(ScenarioParser.maxSources) sources a scenario may name")
        }
        let name = String(decoding: bytes, as: UTF8.self)
        sourceCache.append((Array(bytes), name))
        return name
    }

    /// Byte equality, length first (the generic `elementsEqual` costs a replay a tenth of its time).
    static func same(_ a: [UInt8], _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        for index in 0..<a.count where a[index] != b[b.startIndex + index] { return false }
        return true
    }

    private static let parameterNames: [(bytes: [UInt8], parameter: Parameter)] =
        Parameter.allCases.map { (Array($0.name.utf8), $0) }

    private static func parameter(_ bytes: UnsafeBufferPointer<UInt8>) -> Parameter? {
        for entry in parameterNames where same(entry.bytes, bytes) { return entry.parameter }
        return nil
    }

    @inline(__always)
    static func trim(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var lower = bytes.startIndex, upper = bytes.endIndex
        while lower < upper, bytes[lower] == UInt8(ascii: " ") || bytes[lower] == UInt8(ascii: "\t") { lower += 1 }
        while upper > lower, bytes[upper - 1] == UInt8(ascii: " ") || bytes[upper - 1] == UInt8(ascii: "\t") { upper -= 1 }
        return UnsafeBufferPointer(rebasing: bytes[lower..<upper])
    }

    /// A strict decimal number (`DecimalText`): optional sign, digits, optional fraction, optional
    /// exponent; "nan", "inf", hex, empty and over-long text are refused.
    package static func parseNumber(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        DecimalText.parse(bytes)
    }
}

extension String {
    var replacingSpaces: String { String(filter { $0 != " " && $0 != "\t" }) }
}
