import AlveoCore

/// The S/5 computer interface's framing (GE "S/5 Computer Interface Specification" M1017617, as
/// device-protocols-monitors-vents.md quotes it): `7E | record | checksum | 7E`, the checksum the low
/// 8 bits of the sum of the record's bytes, and inside the flags 0x7E sent as `7D 5E` and 0x7D as
/// `7D 5D` (the checksum included).
package enum S5Frame {
    package static let flag: UInt8 = 0x7E
    package static let escape: UInt8 = 0x7D
    /// A record is a 40-byte header and at most 1450 bytes of data (the DRI record's size).
    package static let headerSize = 40
    package static let maxRecord = 1490

    /// The 8-bit sum of `record`'s bytes.
    package static func checksum(_ record: some Sequence<UInt8>) -> UInt8 {
        record.reduce(0) { $0 &+ $1 }
    }

    /// `record` framed for the wire.
    package static func encode(_ record: [UInt8]) -> [UInt8] {
        var wire: [UInt8] = [flag]
        wire.reserveCapacity(record.count + 8)
        for byte in record + [checksum(record)] {
            if byte == flag || byte == escape {
                wire += [escape, byte ^ 0x20]
            } else {
                wire.append(byte)
            }
        }
        wire.append(flag)
        return wire
    }
}

/// Takes what a monitor sends, in any chunks, and gives each good frame's record. A frame is what lies
/// between two flags; a frame is good only if it is whole: its escapes are `7D 5E` or `7D 5D`, it is no
/// longer than a record can be, its record's length field (r_len) is the record's length and its
/// checksum holds. Anything else is counted and dropped as a whole — the deframer never looks inside a
/// bad frame for a part that happens to check. Bytes before the first flag are skipped. Memory is
/// bounded by `S5Frame.maxRecord`.
package struct S5Deframer: Sendable {
    package private(set) var counters = StreamCounters()
    package private(set) var lastRejection: String?
    /// Each rejected frame's reason.
    package private(set) var rejections = RejectionLog()
    private var inFrame = false
    private var escaped = false
    /// A bad escape or an overlong frame: the rest up to the next flag is dropped.
    private var dropping = false
    private var body: [UInt8] = []

    package init() {}

    package mutating func reset() {
        inFrame = false
        escaped = false
        dropping = false
        body.removeAll(keepingCapacity: true)
    }

    private mutating func reject(_ reason: String, bytes: Int) {
        counters.rejectedFrames += 1
        counters.skippedBytes += bytes
        lastRejection = reason
        rejections.append(reason)
    }

    /// The records of the frames `bytes` complete.
    package mutating func feed(_ bytes: some Sequence<UInt8>) -> [[UInt8]] {
        var records: [[UInt8]] = []
        for byte in bytes {
            guard inFrame else {
                if byte == S5Frame.flag {
                    inFrame = true
                    body.removeAll(keepingCapacity: true)
                } else {
                    counters.skippedBytes += 1
                }
                continue
            }
            if byte == S5Frame.flag {
                // The end of this frame; the same flag may also open the next one.
                if dropping {
                    counters.skippedBytes += 1
                } else if escaped {
                    reject("frame ending in an escape byte (7D 7E)", bytes: body.count + 2)
                } else if !body.isEmpty, let record = check() {
                    records.append(record)
                }
                body.removeAll(keepingCapacity: true)
                escaped = false
                dropping = false
                continue
            }
            if dropping {
                counters.skippedBytes += 1
                continue
            }
            if escaped {
                escaped = false
                guard byte == 0x5E || byte == 0x5D else {
                    reject("escape 7D followed by \(Hex.byte(byte)), not 5E or 5D", bytes: body.count + 2)
                    dropping = true
                    continue
                }
                body.append(byte ^ 0x20)
            } else if byte == S5Frame.escape {
                escaped = true
                continue
            } else {
                body.append(byte)
            }
            if body.count > S5Frame.maxRecord + 1 {
                reject("frame longer than a record can be (\(S5Frame.maxRecord) bytes and a checksum)", bytes: body.count + 1)
                body.removeAll(keepingCapacity: true)
                dropping = true
            }
        }
        return records
    }

    private mutating func check() -> [UInt8]? {
        let count = body.count - 1
        guard count >= S5Frame.headerSize else {
            reject("frame of \(body.count) bytes, shorter than a record header and a checksum", bytes: body.count + 1)
            return nil
        }
        let length = Int(body[0]) | Int(body[1]) << 8
        guard length == count else {
            reject("record length field \(length) for a record of \(count) bytes", bytes: body.count + 1)
            return nil
        }
        guard S5Frame.checksum(body[0..<count]) == body[count] else {
            reject("record with a bad checksum (\(Hex.byte(body[count])), the bytes sum to \(Hex.byte(S5Frame.checksum(body[0..<count]))))",
                   bytes: body.count + 1)
            return nil
        }
        counters.frames += 1
        return Array(body[0..<count])
    }
}
