/// MLLP framing from a byte stream (HL7 v2 minimal lower layer protocol): a frame is
/// `VT (0x0B) message FS (0x1C) CR (0x0D)`. Total and bounded: whatever the receiver sends (noise,
/// a frame end before its start, megabytes without an end), feeding it never traps and never holds
/// more than `maxFrame` bytes. A frame with no VT before its end is taken from the first byte kept
/// (some receivers omit it); bytes before a frame's VT are discarded.
package struct MLLPFrameReader: Sendable {
    /// Longer than any acknowledgement: a frame still open past this is dropped as noise.
    package static let maxFrame = 1 << 20
    private var buffer: [UInt8] = []
    /// Bytes dropped as noise or as an over-long frame.
    package private(set) var discarded = 0

    package init() {}

    /// Feeds received bytes; returns the messages of the frames they complete, in order.
    package mutating func feed(_ bytes: [UInt8]) -> [String] {
        frames(bytes).map { String(decoding: $0, as: UTF8.self) }
    }

    /// As `feed`, the frames' bytes as received (the listener decodes them in the message's character set).
    package mutating func frames(_ bytes: [UInt8]) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        for byte in bytes {
            buffer.append(byte)
            let count = buffer.count
            if count >= 2, buffer[count - 1] == 0x0D, buffer[count - 2] == 0x1C {
                let end = count - 2
                let start = buffer[..<end].lastIndex(of: 0x0B).map { $0 + 1 } ?? 0
                discarded += start > 0 ? start - 1 : 0
                frames.append(Array(buffer[start..<end]))
                buffer.removeAll(keepingCapacity: true)
            } else if count > MLLPFrameReader.maxFrame {
                discarded += count
                buffer.removeAll(keepingCapacity: true)
            }
        }
        if buffer.capacity > 64 * 1024 && buffer.isEmpty { buffer = [] }
        return frames
    }

    /// Bytes of a frame begun and not yet ended.
    package var pending: Int { buffer.count }

    /// Drops a frame begun and never ended (its sender went quiet mid-frame).
    package mutating func dropPending() {
        discarded += buffer.count
        buffer = []
    }
}
