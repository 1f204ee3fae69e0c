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

    private mutating func decode(_ raw: [UInt8]) -> [Observation]? {
        let text = String(decoding: raw, as: UTF8.self)
        var tokens: [String: String] = [:]
        for token in text.split(separator: " ") {
            guard let equals = token.firstIndex(of: "=") else { continue }
            tokens[String(token[..<equals]).uppercased()] = String(token[token.index(after: equals)...])
        }
        guard tokens["SPO2"] != nil || tokens["BPM"] != nil || tokens["EXC"] != nil else {
            counters.rejectedFrames += 1
            counters.skippedBytes += raw.count
            lastRejection = "not an ASCII 1 line (no SPO2, BPM or EXC): \(Shown.text(raw))"
            return nil
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
