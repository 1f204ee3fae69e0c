import AlveoCore

/// The IntelliVue MIB/RS232 frame: `C0 | 11 01 LL LL | payload | FCS_lo FCS_hi | C1`, with every C0, C1
/// and 7D between the flags sent as `7D (b ^ 20)`; the FCS is PPP's FCS-16 (RFC 1662) over the
/// unescaped header and payload, complemented, low byte first (device-protocols-monitors-vents.md
/// §IntelliVue "Physical and framing layer").
package enum IntelliVueFrame {
    static let bof: UInt8 = 0xC0, eof: UInt8 = 0xC1, escape: UInt8 = 0x7D
    static let protocolID: UInt8 = 0x11, messageType: UInt8 = 0x01
    /// Running the FCS over a frame's header, payload and both FCS bytes gives this when it is good.
    static let goodFinalFCS: UInt16 = 0xF0B8
    /// Longer than any reply a monitor sends (its MTU is at most a few KiB; the largest length field is
    /// 65535): a "frame" longer than this is noise and is dropped as it arrives.
    package static let maxPayload = 8192

    static let table: [UInt16] = (0..<256).map { index in
        var fcs = UInt16(index)
        for _ in 0..<8 { fcs = fcs & 1 != 0 ? (fcs >> 1) ^ 0x8408 : fcs >> 1 }
        return fcs
    }

    /// The running FCS-16 over `bytes` (start with 0xFFFF).
    package static func fcs(_ bytes: some Sequence<UInt8>, from start: UInt16 = 0xFFFF) -> UInt16 {
        var fcs = start
        for byte in bytes { fcs = (fcs >> 8) ^ table[Int((fcs ^ UInt16(byte)) & 0xFF)] }
        return fcs
    }

    /// The frame on the wire for `payload`.
    package static func encode(_ payload: [UInt8]) -> [UInt8] {
        let count = min(payload.count, Int(UInt16.max))
        var body: [UInt8] = [protocolID, messageType, UInt8(count >> 8), UInt8(count & 0xFF)] + payload.prefix(count)
        let check = ~fcs(body)
        body += [UInt8(check & 0xFF), UInt8(check >> 8)]
        var wire: [UInt8] = [bof]
        wire.reserveCapacity(body.count + 8)
        for byte in body {
            if byte == bof || byte == eof || byte == escape {
                wire += [escape, byte ^ 0x20]
            } else {
                wire.append(byte)
            }
        }
        wire.append(eof)
        return wire
    }
}

/// Takes the bytes a monitor sends, in any chunks, and gives each good frame's payload. Bytes outside
/// a frame, frames that are too long, aborted (`7D C1`), cut by a new `C0`, of the wrong length or
/// with a bad FCS are counted and dropped, never fatal. Memory is bounded by `maxPayload`.
package struct IntelliVueDeframer: Sendable {
    package private(set) var counters = StreamCounters()
    package private(set) var lastRejection: String?
    package private(set) var rejections = RejectionLog()
    private var inFrame = false
    private var escaped = false
    private var body: [UInt8] = []

    package init() {}

    package mutating func reset() {
        inFrame = false
        escaped = false
        body.removeAll(keepingCapacity: true)
    }

    private mutating func reject(_ reason: String) {
        counters.rejectedFrames += 1
        lastRejection = reason
        rejections.append(reason)
    }

    /// The payloads of the frames `bytes` complete.
    package mutating func feed(_ bytes: some Sequence<UInt8>) -> [[UInt8]] {
        var payloads: [[UInt8]] = []
        for byte in bytes {
            guard inFrame else {
                if byte == IntelliVueFrame.bof {
                    inFrame = true
                    escaped = false
                    body.removeAll(keepingCapacity: true)
                } else {
                    counters.skippedBytes += 1
                }
                continue
            }
            switch byte {
            case IntelliVueFrame.bof:
                // A new frame starts before this one ended: this one is lost (a repeated flag is not a frame).
                counters.skippedBytes += body.count + 1
                if !body.isEmpty || escaped { reject("frame cut short by the start of another (\(body.count) bytes)") }
                body.removeAll(keepingCapacity: true)
                escaped = false
            case IntelliVueFrame.eof:
                inFrame = false
                if escaped {
                    counters.skippedBytes += body.count + 3
                    reject("frame aborted by the monitor (7D C1)")
                } else if let payload = check() {
                    payloads.append(payload)
                }
                escaped = false
            case IntelliVueFrame.escape where !escaped:
                escaped = true
            default:
                body.append(escaped ? byte ^ 0x20 : byte)
                escaped = false
                if body.count > IntelliVueFrame.maxPayload + 6 {
                    counters.skippedBytes += body.count + 1
                    reject("frame longer than \(IntelliVueFrame.maxPayload) bytes (no end flag)")
                    inFrame = false
                    body.removeAll(keepingCapacity: true)
                }
            }
        }
        return payloads
    }

    private mutating func check() -> [UInt8]? {
        guard body.count >= 6 else {
            counters.skippedBytes += body.count + 2
            reject("frame of \(body.count) bytes, shorter than a header and an FCS")
            return nil
        }
        guard body[0] == IntelliVueFrame.protocolID, body[1] == IntelliVueFrame.messageType else {
            counters.skippedBytes += body.count + 2
            reject("frame header \(Hex.byte(body[0])) \(Hex.byte(body[1])), not 11 01")
            return nil
        }
        let length = Int(body[2]) << 8 | Int(body[3])
        guard length == body.count - 6 else {
            counters.skippedBytes += body.count + 2
            reject("frame length field \(length) for \(body.count - 6) payload bytes")
            return nil
        }
        guard IntelliVueFrame.fcs(body) == IntelliVueFrame.goodFinalFCS else {
            counters.skippedBytes += body.count + 2
            reject("frame with a bad FCS (\(body.count - 6) payload bytes)")
            return nil
        }
        counters.frames += 1
        return Array(body[4..<(body.count - 2)])
    }
}
