import AlveoCore

/// Parses the scenario CSV contract (`t,source,parameter,value`, `#` comments) one line at a time,
/// from raw bytes, without building intermediate strings: replay must run at millions of rows a second.
public struct ScenarioParser {
    public static let header = "t,source,parameter,value"
    /// No row is longer: a longer line is refused, not read into memory whole.
    public static let maxLineLength = 4096
    /// The latest time a scenario row may have: 10 years in seconds.
    public static let maxTime = 315_576_000.0

    public let file: String
    private var sawHeader = false
    private var lastTime = -Double.infinity
    private var sourceCache: [(bytes: [UInt8], name: String)] = []
    private var sources: Set<String> = []
    /// The most distinct sources a scenario may name.
    public static let maxSources = 64

    public init(file: String) {
        self.file = file
    }

    /// One data row.
    public struct Row: Sendable, Equatable {
        public var t: Double
        public var observation: Observation
    }

    /// Parses one line (without its newline). Returns nil for the header, comments and blank lines.
    public mutating func parse(line raw: UnsafeBufferPointer<UInt8>, number: Int) throws(ScenarioError) -> Row? {
        guard raw.count <= ScenarioParser.maxLineLength else {
            throw error(number, "line longer than \(ScenarioParser.maxLineLength) bytes: not a scenario row (starts '\(Shown.text(raw))')")
        }
        var line = raw
        if let last = line.last, last == UInt8(ascii: "\r") { line = UnsafeBufferPointer(rebasing: line.dropLast()) }
        let trimmed = ScenarioParser.trim(UnsafeBufferPointer(rebasing: line[...]))
        if trimmed.isEmpty || trimmed[trimmed.startIndex] == UInt8(ascii: "#") { return nil }
        if !sawHeader {
            let text = String(decoding: trimmed, as: UTF8.self)
            guard text.replacingSpaces == ScenarioParser.header else {
                throw error(number, "missing header: the first line must be '\(ScenarioParser.header)', found '\(Shown.text(trimmed))'")
            }
            sawHeader = true
            return nil
        }

        // Split into exactly four fields.
        var fields: [UnsafeBufferPointer<UInt8>] = []
        fields.reserveCapacity(4)
        var start = line.startIndex
        for index in line.indices where line[index] == UInt8(ascii: ",") {
            fields.append(UnsafeBufferPointer(rebasing: line[start..<index]))
            start = index + 1
        }
        fields.append(UnsafeBufferPointer(rebasing: line[start..<line.endIndex]))
        guard fields.count == 4 else {
            throw error(number, "expected 4 fields (t,source,parameter,value), found \(fields.count)")
        }
        let tField = ScenarioParser.trim(fields[0])
        let sourceField = ScenarioParser.trim(fields[1])
        let parameterField = ScenarioParser.trim(fields[2])
        let valueField = ScenarioParser.trim(fields[3])

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
        guard SourceName.isValid(bytes: sourceField) else {
            throw error(number, "source '\(Shown.text(sourceField))' is not a usable name (\(SourceName.rule))")
        }
        guard let parameter = ScenarioParser.parameter(parameterField) else {
            let allowed = Parameter.allCases.map(\.name).joined(separator: ", ")
            throw error(number, "unknown parameter '\(Shown.text(parameterField))' (allowed: \(allowed))")
        }
        let value = try parseValue(valueField, parameter: parameter, line: number)
        let source = sourceName(sourceField)
        if !sources.contains(source) {
            // A bed has a handful of sources; every one is evaluated at every group, so their number
            // is bounded (a million distinct names would make a replay quadratic).
            guard sources.count < ScenarioParser.maxSources else {
                throw error(number, "source '\(Shown.text(sourceField))' is one more than the \(ScenarioParser.maxSources) sources a scenario may name")
            }
            sources.insert(source)
        }
        return Row(t: t, observation: Observation(source: source, parameter: parameter, value: value))
    }

    /// Call at end of input: a file with no header is an error.
    public func finish(lines: Int) throws(ScenarioError) {
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

    private mutating func sourceName(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        for entry in sourceCache where entry.bytes.elementsEqual(bytes) { return entry.name }
        let name = String(decoding: bytes, as: UTF8.self)
        if sourceCache.count < 64 { sourceCache.append((Array(bytes), name)) }
        return name
    }

    private static let parameterNames: [(bytes: [UInt8], parameter: Parameter)] =
        Parameter.allCases.map { (Array($0.name.utf8), $0) }

    private static func parameter(_ bytes: UnsafeBufferPointer<UInt8>) -> Parameter? {
        for entry in parameterNames where entry.bytes.elementsEqual(bytes) { return entry.parameter }
        return nil
    }

    static func trim(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var lower = bytes.startIndex, upper = bytes.endIndex
        while lower < upper, bytes[lower] == UInt8(ascii: " ") || bytes[lower] == UInt8(ascii: "\t") { lower += 1 }
        while upper > lower, bytes[upper - 1] == UInt8(ascii: " ") || bytes[upper - 1] == UInt8(ascii: "\t") { upper -= 1 }
        return UnsafeBufferPointer(rebasing: bytes[lower..<upper])
    }

    /// A strict decimal number (`DecimalText`): optional sign, digits, optional fraction, optional
    /// exponent; "nan", "inf", hex, empty and over-long text are refused.
    public static func parseNumber(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        DecimalText.parse(bytes)
    }
}

extension String {
    var replacingSpaces: String { String(filter { $0 != " " && $0 != "\t" }) }
}
