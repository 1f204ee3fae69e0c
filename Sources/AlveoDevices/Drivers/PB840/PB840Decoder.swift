import AlveoCore

/// Puritan Bennett 840/980 replies to SNDF/SNDA: `MISCx,<bytes>,<fields> ,` STX fields ETX CR, with
/// fixed-width comma-terminated fields and no checksum: the byte count between STX and ETX and the
/// field count are validated instead. Fields are keyed by number (the layout varies with options).
package struct PB840Decoder: StreamDecoder {
    package let source: String
    package private(set) var counters = StreamCounters()
    package private(set) var lastRejection: String? {
        didSet { if let lastRejection { rejections.append(lastRejection) } }
    }
    /// Each rejection's reason (every one sets `lastRejection`).
    package private(set) var rejections = RejectionLog()
    /// The ventilator's own alarm status fields of the last MISCF (105–153): anything not NORMAL/OFF.
    package private(set) var deviceAlarms: [String] = []
    private var buffer: [UInt8] = []
    /// The ventilator repeats its last plateau in every reply: only a changed value is a new measurement.
    private var lastPlateau: String?

    /// Larger than any real reply (a MISCF is about 1,250 bytes in about 170 fields).
    static let maxReplyBytes = 8192
    static let maxFields = 512
    /// Fewest fields of a MISCF: the manual's fields 1–153 (field N is the (N−4)th after STX).
    static let miscfFields = 149

    /// The poll command for the full field set.
    package static let sndf: [UInt8] = Array("SNDF\r".utf8)

    package init(source: String) {
        self.source = source
    }

    private static let misc: [UInt8] = Array("MISC".utf8)

    /// Bytes of the buffer already searched for a next reply inside the current one (so that a reply
    /// arriving in 100 ms chunks is scanned once, not once per chunk).
    private var searchedUpTo = 0

    package mutating func feed(_ bytes: [UInt8]) -> [[Observation]] {
        buffer += bytes
        var frames: [[Observation]] = []
        while let start = find(Self.misc, from: 0) {
            if start > 0 {
                counters.skippedBytes += start
                drop(start)
            }
            // Header: MISCx,<bytes>,<fields>,STX
            guard let stx = buffer.firstIndex(of: 0x02) else {
                if buffer.count > 64 { reject("no STX after the MISC header", drop: 4) ; continue }
                break
            }
            let commas = buffer[0..<min(stx, 64)].indices.filter { buffer[$0] == 0x2C }
            // A reply has at most a few hundred fields in a few kilobytes: larger counts are noise, and
            // must not size anything (a field count of 999999999 once asked for 16 GB).
            guard commas.count >= 2, commas[0] == 5,
                  let byteCount = integer(buffer[(commas[0] + 1)..<commas[1]]), byteCount <= PB840Decoder.maxReplyBytes,
                  let fieldCount = integer(buffer[(commas[1] + 1)..<(commas.count > 2 ? commas[2] : stx)]),
                  fieldCount <= PB840Decoder.maxFields, fieldCount <= byteCount + 1
            else {
                reject("malformed header \(Shown.text(buffer[0..<min(stx, 24)]))", drop: 4)
                continue
            }
            let kind = Shown.text(buffer[0..<5])
            // Only MISCF (SNDF) and MISCA (SNDA) replies are read: another letter is a disturbed header.
            // A MISCF carries the fields up to 153 (the last alarm status; 169 seen), a MISCA fewer
            // (97): the letter and the field count must agree, or F read as A would read a MISCF's
            // fields by MISCA's numbers.
            guard kind == "MISCF" ? fieldCount >= Self.miscfFields : kind == "MISCA" && fieldCount < Self.miscfFields else {
                reject("unknown reply or a field count that does not fit it: \(Shown.text(buffer[0..<min(stx, 24)]))", drop: 4)
                continue
            }
            let etx = stx + 1 + byteCount
            // A new reply starting inside this one: this one was cut short.
            let searchEnd = min(etx, buffer.count - 1)
            if let next = find(Self.misc, from: max(stx, searchedUpTo - 3)), next <= searchEnd {
                reject("truncated \(kind): \(next - stx - 1) of \(byteCount) bytes before the next reply", drop: next)
                continue
            }
            searchedUpTo = buffer.count
            guard buffer.count > etx + 1 else { break }  // wait for the rest
            guard buffer[etx] == 0x03 else {
                reject("\(kind) byte count \(byteCount) does not end at ETX", drop: 4)
                continue
            }
            // Fields are comma-terminated: field i spans [starts[i], its comma).
            var fields: [Range<Int>] = []
            fields.reserveCapacity(fieldCount + 1)
            var fieldStart = stx + 1
            for index in (stx + 1)..<etx where buffer[index] == 0x2C {
                fields.append(fieldStart..<index)
                fieldStart = index + 1
            }
            if fieldStart < etx { fields.append(fieldStart..<etx) }
            guard fields.count == fieldCount else {
                reject("\(kind) has \(fields.count) fields, its header says \(fieldCount)", drop: etx + 1)
                continue
            }
            let frame = decode(kind: kind, fields: fields)
            drop(etx + 1 + (buffer.count > etx + 1 && buffer[etx + 1] == 0x0D ? 1 : 0))
            counters.frames += 1
            frames.append(frame)
        }
        if buffer.count > 4096 {  // noise without any MISC header
            counters.skippedBytes += buffer.count - 3
            drop(buffer.count - 3)
        }
        return frames
    }

    private mutating func drop(_ count: Int) {
        buffer.removeFirst(min(count, buffer.count))
        searchedUpTo = 0
    }

    private mutating func reject(_ reason: String, drop count: Int) {
        counters.rejectedFrames += 1
        counters.skippedBytes += count
        lastRejection = reason
        drop(count)
    }

    private func find(_ needle: [UInt8], from: Int) -> Int? {
        guard buffer.count >= needle.count, from <= buffer.count - needle.count else { return nil }
        return buffer.withUnsafeBufferPointer { haystack in
            search: for index in max(0, from)...(haystack.count - needle.count) where haystack[index] == needle[0] {
                for offset in 1..<needle.count where haystack[index + offset] != needle[offset] { continue search }
                return index
            }
            return nil
        }
    }

    /// A decimal integer between optional spaces.
    private func integer(_ bytes: ArraySlice<UInt8>) -> Int? {
        let digits = trimmed(bytes)
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    private func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var text = bytes
        while text.first == 0x20 { text = text.dropFirst() }
        while text.last == 0x20 { text = text.dropLast() }
        return text
    }

    /// Field N in the manual's numbering (1 = "MISCF", 4 = STX, 5 = time) is `fields[N - 5]`: its bytes
    /// without the padding spaces.
    private func field(_ fields: [Range<Int>], _ number: Int) -> ArraySlice<UInt8>? {
        let index = number - 5
        guard index >= 0, index < fields.count else { return nil }
        return trimmed(buffer[fields[index]])
    }

    private func text(_ fields: [Range<Int>], _ number: Int) -> String? {
        field(fields, number).map { String(decoding: $0, as: UTF8.self) }
    }

    private static let quietAlarmStates: [[UInt8]] = ["NORMAL", "OFF", "RESET"].map { Array($0.utf8) }

    private mutating func decode(kind: String, fields: [Range<Int>]) -> [Observation] {
        var observations: [Observation] = []
        func add(_ parameter: Parameter, _ number: Int, scale: Double = 1, unit: String) {
            guard let bytes = field(fields, number) else { return }
            // Blank or text that is not a number: no value; a number no device sends: unusable.
            let value = DeviceNumber.parse(bytes, times: scale, unit: unit) ?? .noData
            observations.append(Observation(source: source, parameter: parameter, value: value))
        }
        if kind == "MISCF" {
            add(.rr, 70, unit: "/min")
            add(.vt, 71, scale: 1000, unit: "l")  // litres
            add(.ppeak, 73, unit: "cmH2O")
            add(.peep, 87, unit: "cmH2O")
            if text(fields, 55)?.lowercased().hasPrefix("disabled") == true {
                observations.append(Observation(source: source, parameter: .fio2, value: .noData))
            } else {
                add(.fio2, 77, unit: "%")
            }
            // 0.0 means no inspiratory-pause manoeuvre was done: not a plateau of 0 cmH2O. The last
            // plateau is repeated in every reply: only a changed value is a new measurement.
            let pplat = text(fields, 94)
            if let pplat, pplat != lastPlateau, let value = DeviceNumber.parse(pplat.utf8) {
                if case .number(let number) = value, number <= 0 {
                    // no manoeuvre: nothing to report
                } else {
                    observations.append(Observation(source: source, parameter: .pplat, value: value))
                }
            }
            lastPlateau = pplat
            deviceAlarms = (105...153).compactMap { number -> String? in
                guard let state = field(fields, number), !state.isEmpty,
                      !Self.quietAlarmStates.contains(where: { $0.elementsEqual(state) }) else { return nil }
                return Shown.text(state, limit: 32)
            }
        } else if kind == "MISCA" {
            add(.rr, 34, unit: "/min")
            add(.vt, 35, scale: 1000, unit: "l")
            add(.ppeak, 38, unit: "cmH2O")
        }
        return observations
    }
}
