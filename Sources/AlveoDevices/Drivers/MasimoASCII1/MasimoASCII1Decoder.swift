import AlveoCore

/// Masimo "ASCII 1" serial output (Radical-7, Rad-8, Rad-97): one text line a second of KEY=value
/// tokens, read by key whatever the model's field set. Dashes mean no value. EXC (hex) carries the
/// sensor state. The device's own date and time are ignored: observations are stamped on receipt.
package struct MasimoASCII1Decoder: StreamDecoder {
    package let source: String
    package private(set) var counters = StreamCounters()
    package private(set) var lastRejection: String? {
        didSet { if let lastRejection { rejections.append(lastRejection) } }
    }
    /// Each rejection's reason (every one sets `lastRejection`).
    package private(set) var rejections = RejectionLog()
    private var line: [UInt8] = []
    /// Longer than any real line: a stream without line ends is noise, not a line.
    static let maxLineLength = 512

    package init(source: String) {
        self.source = source
    }

    package mutating func feed(_ bytes: [UInt8]) -> [[Observation]] {
        var frames: [[Observation]] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n") {
                if !line.isEmpty, let observations = decode(line) { frames.append(observations) }
                line.removeAll(keepingCapacity: true)
            } else if line.count >= MasimoASCII1Decoder.maxLineLength {
                counters.skippedBytes += line.count
                line.removeAll(keepingCapacity: true)
                line.append(byte)
            } else {
                line.append(byte)
            }
        }
        return frames
    }

    /// EXC bits (Masimo ASCII 1 specification as published in shared/device-protocols.md).
    package static func sensorState(exc: Int) -> SensorState {
        let noSensor = 0x001, defective = 0x002, sensorOff = 0x020, unrecognised = 0x080, noCable = 0x1000
        if exc & (noSensor | noCable | unrecognised | defective) != 0 { return .disconnected }
        if exc & sensorOff != 0 { return .off }
        return .ok
    }

    /// A line starts with the device's date and time, `MM/DD/YY HH:MM:SS ` (18 characters).
    static let dateLayout = Array("99/99/99 99:99:99 ".utf8)

    /// Why a line (from its date, `lineStart`) is not an ASCII 1 line as the protocol lays it out, nil
    /// when it is: the date and time first, then `KEY=VALUE` tokens with uppercase keys,
    /// each key once, SPO2, BPM and EXC among them, SPO2 three digits or dashes and `%`, BPM three
    /// digits or dashes, EXC hexadecimal. The line has no checksum: a digit changed into another
    /// digit cannot be detected, but a character added or lost in a value Alveo reads changes its
    /// width and rejects the line.
    static func layoutProblem(_ raw: ArraySlice<UInt8>) -> String? {
        guard raw.count > dateLayout.count, zip(raw, dateLayout).allSatisfy({ byte, layout in
            layout == UInt8(ascii: "9") ? (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) : byte == layout
        }) else { return "not an ASCII 1 line (no date and time first)" }
        var keys: Set<[UInt8]> = []
        for token in raw.dropFirst(dateLayout.count).split(separator: UInt8(ascii: " ")) {
            guard let equals = token.firstIndex(of: UInt8(ascii: "=")), equals > token.startIndex, equals < token.endIndex - 1,
                  token[..<equals].allSatisfy({ ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) }),
                  token.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
            else { return "not a KEY=VALUE token: \(Shown.text(token, limit: 24))" }
            guard keys.insert(Array(token[..<equals])).inserted else { return "\(Shown.text(token[..<equals])) twice in one line" }
            let value = token[(equals + 1)...]
            func threeDigitsOrDashes(_ v: some Collection<UInt8>) -> Bool {
                v.count == 3 && (v.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } || v.allSatisfy { $0 == UInt8(ascii: "-") })
            }
            switch Shown.text(token[..<equals]) {
            case "SPO2":
                guard value.last == UInt8(ascii: "%"), threeDigitsOrDashes(value.dropLast()) else {
                    return "SPO2=\(Shown.text(value, limit: 24)) is not three digits or dashes and %"
                }
            case "BPM":
                guard threeDigitsOrDashes(value) else { return "BPM=\(Shown.text(value, limit: 24)) is not three digits or dashes" }
            case "EXC":
                guard value.count <= 8, value.allSatisfy({ Hex.value($0) != nil }) else {
                    return "EXC=\(Shown.text(value, limit: 24)) is not hexadecimal"
                }
            default:
                break
            }
        }
        for key in ["SPO2", "BPM", "EXC"] where !keys.contains(Array(key.utf8)) {
            return "not an ASCII 1 line (no \(key))"
        }
        return nil
    }

    /// Where the date and time start in a line: bytes before them (a line end lost to noise) are not
    /// part of the line. The date's fixed shape marks the start, and the whole rest of the line must
    /// still hold its layout, so skipping them never makes a value.
    static func lineStart(_ raw: [UInt8]) -> Int? {
        guard raw.count >= dateLayout.count else { return nil }
        return (0...(raw.count - dateLayout.count)).first { start in
            zip(raw[start...], dateLayout).allSatisfy { byte, layout in
                layout == UInt8(ascii: "9") ? (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) : byte == layout
            }
        }
    }

    private mutating func decode(_ whole: [UInt8]) -> [Observation]? {
        let start = Self.lineStart(whole) ?? 0
        let raw = whole[start...]
        if let problem = Self.layoutProblem(raw) {
            counters.rejectedFrames += 1
            counters.skippedBytes += whole.count
            lastRejection = "\(problem): \(Shown.text(whole))"
            return nil
        }
        counters.skippedBytes += start
        let text = String(decoding: raw, as: UTF8.self)
        var tokens: [String: String] = [:]
        for token in text.split(separator: " ") {
            guard let equals = token.firstIndex(of: "=") else { continue }
            tokens[String(token[..<equals])] = String(token[token.index(after: equals)...])
        }
        var observations: [Observation] = []
        var sensor: SensorState = .ok
        if let exc = tokens["EXC"] {
            guard let bits = Int(exc, radix: 16) else {
                counters.rejectedFrames += 1
                lastRejection = "EXC=\(Shown.text(exc.utf8, limit: 24)) is not hexadecimal"
                return nil
            }
            sensor = MasimoASCII1Decoder.sensorState(exc: bits)
            observations.append(Observation(source: source, parameter: .sensor, value: .sensor(sensor)))
        }
        for (key, parameter) in [("SPO2", Parameter.spo2), ("BPM", .pulseRate)] {
            guard let raw = tokens[key] else { continue }
            let digits = raw.filter { $0 != "%" }
            if sensor != .ok || digits.contains("-") || digits.isEmpty {
                observations.append(Observation(source: source, parameter: parameter, value: .noData))
            } else if let value = DeviceNumber.parse(digits.utf8) {
                observations.append(Observation(source: source, parameter: parameter, value: value))
            } else {
                counters.rejectedFrames += 1
                lastRejection = "\(key)=\(DeviceNumber.shown(raw)) is not a number"
                return nil
            }
        }
        counters.frames += 1
        return observations
    }
}
