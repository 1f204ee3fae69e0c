import AlveoCore

/// Puritan Bennett 840/980 replies to SNDF/SNDA: `MISCx,<bytes>,<fields> ,` STX fields ETX CR, with
/// fixed-width comma-terminated fields and no checksum: the byte count between STX and ETX and the
/// field count are validated instead. Fields are keyed by number (the layout varies with options).
public struct PB840Decoder: StreamDecoder {
    public let source: String
    public private(set) var counters = StreamCounters()
    public private(set) var lastRejection: String?
    /// The ventilator's own alarm status fields of the last MISCF (105–153): anything not NORMAL/OFF.
    public private(set) var deviceAlarms: [String] = []
    private var buffer: [UInt8] = []
    /// The ventilator repeats its last plateau in every reply: only a changed value is a new measurement.
    private var lastPlateau: String?

    /// The poll command for the full field set.
    public static let sndf: [UInt8] = Array("SNDF\r".utf8)

    public init(source: String) {
        self.source = source
    }

    public mutating func feed(_ bytes: [UInt8]) -> [[Observation]] {
        buffer += bytes
        var frames: [[Observation]] = []
        while let start = find(Array("MISC".utf8), in: buffer, from: 0) {
            if start > 0 {
                counters.skippedBytes += start
                buffer.removeFirst(start)
            }
            // Header: MISCx,<bytes>,<fields>,STX
            guard let stx = buffer.firstIndex(of: 0x02) else {
                if buffer.count > 64 { reject("no STX after the MISC header", drop: 4) ; continue }
                break
            }
            let header = String(decoding: buffer[0..<stx], as: UTF8.self).split(separator: ",", omittingEmptySubsequences: false)
            guard header.count >= 3, header[0].count == 5,
                  let byteCount = Int(header[1].trimmingCharacters(in: " ")),
                  let fieldCount = Int(header[2].trimmingCharacters(in: " "))
            else {
                reject("malformed header \(String(decoding: buffer[0..<stx], as: UTF8.self).prefix(24))", drop: 4)
                continue
            }
            let etx = stx + 1 + byteCount
            // A new reply starting inside this one: this one was cut short.
            if let next = find(Array("MISC".utf8), in: buffer, from: stx), next <= min(etx, buffer.count - 1) {
                reject("truncated \(header[0]): \(next - stx - 1) of \(byteCount) bytes before the next reply", drop: next)
                continue
            }
            guard buffer.count > etx + 1 else { break }  // wait for the rest
            guard buffer[etx] == 0x03 else {
                reject("\(header[0]) byte count \(byteCount) does not end at ETX", drop: 4)
                continue
            }
            let payload = String(decoding: buffer[(stx + 1)..<etx], as: UTF8.self)
            var fields = payload.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if fields.last == "" { fields.removeLast() }
            guard fields.count == fieldCount else {
                reject("\(header[0]) has \(fields.count) fields, its header says \(fieldCount)", drop: etx + 1)
                continue
            }
            let kind = String(header[0])
            buffer.removeFirst(etx + 1 + (buffer.count > etx + 1 && buffer[etx + 1] == 0x0D ? 1 : 0))
            counters.frames += 1
            frames.append(decode(kind: kind, fields: fields))
        }
        if buffer.count > 4096 {  // noise without any MISC header
            counters.skippedBytes += buffer.count - 3
            buffer.removeFirst(buffer.count - 3)
        }
        return frames
    }

    private mutating func reject(_ reason: String, drop: Int) {
        counters.rejectedFrames += 1
        counters.skippedBytes += drop
        lastRejection = reason
        buffer.removeFirst(min(drop, buffer.count))
    }

    private func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard haystack.count >= needle.count, from <= haystack.count - needle.count else { return nil }
        for index in from...(haystack.count - needle.count) where haystack[index] == needle[0] {
            if Array(haystack[index..<(index + needle.count)]) == needle { return index }
        }
        return nil
    }

    /// Field N in the manual's numbering (1 = "MISCF", 4 = STX, 5 = time) is `fields[N - 5]`.
    private func field(_ fields: [String], _ number: Int) -> String? {
        let index = number - 5
        guard index >= 0, index < fields.count else { return nil }
        return fields[index].trimmingCharacters(in: " ")
    }

    private mutating func decode(kind: String, fields: [String]) -> [Observation] {
        var observations: [Observation] = []
        func add(_ parameter: Parameter, _ number: Int, scale: Double = 1) {
            guard let text = field(fields, number) else { return }
            if text.isEmpty {
                observations.append(Observation(source: source, parameter: parameter, value: .noData))
            } else if let value = Double(text) {
                observations.append(Observation(source: source, parameter: parameter, value: .number(value * scale)))
            } else {
                observations.append(Observation(source: source, parameter: parameter, value: .noData))
            }
        }
        if kind == "MISCF" {
            add(.rr, 70)
            add(.vt, 71, scale: 1000)  // litres
            add(.ppeak, 73)
            add(.peep, 87)
            if field(fields, 55)?.lowercased().hasPrefix("disabled") == true {
                observations.append(Observation(source: source, parameter: .fio2, value: .noData))
            } else {
                add(.fio2, 77)
            }
            // 0.0 means no inspiratory-pause manoeuvre was done: not a plateau of 0 cmH2O. The last
            // plateau is repeated in every reply: only a changed value is a new measurement.
            if let pplat = field(fields, 94), let value = Double(pplat), value > 0, pplat != lastPlateau {
                observations.append(Observation(source: source, parameter: .pplat, value: .number(value)))
            }
            lastPlateau = field(fields, 94)
            deviceAlarms = (105...153).compactMap { field(fields, $0) }.filter { !$0.isEmpty && $0 != "NORMAL" && $0 != "OFF" && $0 != "RESET" }
        } else if kind == "MISCA" {
            add(.rr, 34)
            add(.vt, 35, scale: 1000)
            add(.ppeak, 38)
        }
        return observations
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var text = Substring(self)
        while text.first == set { text = text.dropFirst() }
        while text.last == set { text = text.dropLast() }
        return String(text)
    }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> String { String(self).trimmingCharacters(in: set) }
}
