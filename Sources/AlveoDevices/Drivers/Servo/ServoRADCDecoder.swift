import AlveoCore

/// The SERVO's continuous `RADC` stream (binary, 8 data bits): blocks each ending with the end flag
/// 0x7F and one raw checksum byte, the XOR of the block's bytes including 0x7F. Breath blocks ('B',
/// then 2 bytes MSB first per defined breath channel) are decoded by position; settings, alarm,
/// error and trend blocks ('S', 'A', 'E', 'T': 2-byte values) and curve data (0x81 phase flag + phase,
/// 0x80 value flag + 2 bytes, otherwise one difference byte) are checked and skipped by their flags.
/// A 0x7F inside a 2-byte value is data: only a 0x7F where a flag or a value's first byte is due ends
/// a block. A block failing its checksum is counted as rejected and dropped; a stream that ends
/// mid-block loses nothing already decoded. Total: any bytes, any chunking, bounded state.
package struct ServoRADCDecoder: StreamDecoder {
    /// What the stream said besides breath data.
    package enum Item: Sendable, Equatable {
        case breath([Observation])
        /// A binary error block `E0 <code> 7F <CHK>` (0x11: standby).
        case error(Int)
        /// An ASCII error reply in the stream's place (`ER17<CHK><EOT>` when RADC is refused).
        case asciiError(Int)
        /// `900PCI<EOT>`: the CIE is in BASIC mode.
        case basicMode
        /// The end flag once more after a block: the ventilator stopped the stream (ESC, buffer
        /// overflow or standby).
        case stopped
    }

    package let source: String
    package var channels: [ServoCIE.Channel]
    package private(set) var counters = StreamCounters()
    package private(set) var lastRejection: String? {
        didSet { if let lastRejection { rejections.append(lastRejection) } }
    }
    /// Each rejection's reason (every one sets `lastRejection`).
    package private(set) var rejections = RejectionLog()

    /// A block longer than this without its end flag is noise (the longest seen is about 400 bytes).
    package static let maxBlockLength = 4096
    /// The manual allows at most 50 channels in a table.
    static let maxValues = 50

    private enum CurveExpect { case flag, phase, high, low }
    private enum State {
        case between
        case curve(CurveExpect)
        /// A block of 2-byte values; `high` is a value's first byte when its second is due.
        case values(kind: UInt8, high: UInt8?)
        case error(code: UInt8?)
        /// The end flag was read: the checksum byte is due.
        case checksum(kind: UInt8)
    }

    private var state = State.between
    private var xor: UInt8 = 0
    private var length = 0
    private var values: [UInt16] = []
    private var valueCount = 0
    private var errorCode: UInt8 = 0
    /// The last bytes, for an ASCII error reply or BASIC-mode answer in the stream's place.
    private var tail: [UInt8] = []

    package init(source: String, channels: [ServoCIE.Channel] = ServoCIE.breathChannels) {
        self.source = source
        self.channels = channels
    }

    /// Back to a block boundary, forgetting a partial block (a new stream).
    package mutating func reset() {
        state = .between
        resynchronising = false
        reread = false
        tail.removeAll()
        values.removeAll()
    }

    package mutating func feed(_ bytes: [UInt8]) -> [[Observation]] {
        decode(bytes).compactMap { item in
            if case .breath(let observations) = item { observations } else { nil }
        }
    }

    package mutating func decode(_ bytes: [UInt8]) -> [Item] {
        var items: [Item] = []
        for byte in bytes {
            if let item = asciiReply(byte) {
                items.append(item)
                continue
            }
            if let item = step(byte) { items.append(item) }
            // A byte that ended a block as wrong (a breath block's value past the channels defined, a
            // checksum that does not hold) may be the start of the next block: a byte lost or added in
            // one block costs that block, and the next only when a disturbed byte reads as the start
            // of a block whose length Alveo cannot know (devices/servo/README.md, "Disturbed frames").
            if reread {
                reread = false
                if let item = step(byte) { items.append(item) }
            }
        }
        return items
    }

    /// Set by `step` when the byte it was given is to be read again between blocks.
    private var reread = false
    /// A block failed and no valid block has come since.
    private var resynchronising = false

    /// Watches for `ER<nn><CHK><EOT>` and `900PCI<EOT>`, which can only be ASCII replies: the
    /// checksum makes a chance match in binary data negligible. A match drops the partial block.
    private mutating func asciiReply(_ byte: UInt8) -> Item? {
        tail.append(byte)
        if tail.count > 7 { tail.removeFirst(tail.count - 7) }
        guard byte == ServoCIE.eot, tail.count == 7 else { return nil }
        let text = tail[0..<6]
        var item: Item?
        if text.elementsEqual("900PCI".utf8) {
            item = .basicMode
        } else if text.starts(with: "ER".utf8), let code = ServoCIE.integer(text[2..<4]),
                  Array(text[4..<6]) == ServoCIE.checksum(text[0..<4]) {
            item = .asciiError(code)
        }
        if item != nil {
            state = .between
            tail.removeAll()
        }
        return item
    }

    private mutating func step(_ byte: UInt8) -> Item? {
        switch state {
        case .between:
            switch byte {
            case 0x80, 0x81: begin(.curve(byte == 0x80 ? .high : .phase), byte)
            case UInt8(ascii: "B"), UInt8(ascii: "S"), UInt8(ascii: "A"), UInt8(ascii: "E"), UInt8(ascii: "T"):
                begin(.values(kind: byte, high: nil), byte)
                values.removeAll(keepingCapacity: true)
                valueCount = 0
            case 0xE0: begin(.error(code: nil), byte)
            case ServoCIE.endFlag:
                // After a block that failed, a 0x7F is a byte of the disturbed data, not the ventilator
                // stopping the stream.
                guard !resynchronising else {
                    counters.skippedBytes += 1
                    return nil
                }
                return .stopped
            case ServoCIE.xon, ServoCIE.xoff: break  // flow control between blocks
            default: counters.skippedBytes += 1
            }
            return nil
        case .curve(let expect):
            add(byte)
            switch expect {
            case .phase: state = .curve(.flag)
            case .high: state = .curve(.low)
            case .low: state = .curve(.flag)
            case .flag:
                switch byte {
                case ServoCIE.endFlag: state = .checksum(kind: 0x80)
                case 0x80: state = .curve(.high)
                case 0x81: state = .curve(.phase)
                default: break  // a difference byte
                }
            }
        case .values(let kind, let high):
            if kind == UInt8(ascii: "B"), high == nil, valueCount == channels.count, byte != ServoCIE.endFlag {
                // A breath block has exactly one value per channel defined, then its end flag.
                reread = true
                return drop("RADC breath block with more than the \(channels.count) values of the channels defined")
            }
            add(byte)
            if let high {
                if kind == UInt8(ascii: "B"), values.count <= Self.maxValues { values.append(UInt16(high) << 8 | UInt16(byte)) }
                valueCount += 1
                state = .values(kind: kind, high: nil)
                if valueCount > Self.maxValues {
                    return drop("RADC '\(Shown.text([kind]))' block of more than \(Self.maxValues) values")
                }
            } else if byte == ServoCIE.endFlag {
                state = .checksum(kind: kind)
            } else {
                state = .values(kind: kind, high: byte)
            }
        case .error(let code):
            add(byte)
            if let code {
                guard byte == ServoCIE.endFlag else {
                    return drop("RADC error block E0 \(Hex.byte(code)) without its end flag")
                }
                errorCode = code
                state = .checksum(kind: 0xE0)
            } else {
                state = .error(code: byte)
            }
        case .checksum(let kind):
            state = .between
            guard byte == xor else {
                counters.rejectedFrames += 1
                lastRejection = "RADC \(Self.name(kind)) failed its checksum (XOR 0x\(Hex.byte(xor)), received 0x\(Hex.byte(byte)))"
                // The checksum byte may have been lost: this byte may start the next block.
                reread = Self.startsBlock(byte)
                resynchronising = true
                return nil
            }
            counters.frames += 1
            resynchronising = false
            switch kind {
            case UInt8(ascii: "B"): return breath()
            case 0xE0: return .error(Int(errorCode))
            default: return nil
            }
        }
        if length > Self.maxBlockLength {
            return drop("RADC \(Self.name(blockKind)) longer than \(Self.maxBlockLength) bytes without its end flag")
        }
        return nil
    }

    /// The bytes a block starts with.
    private static func startsBlock(_ byte: UInt8) -> Bool {
        [0x80, 0x81, 0xE0, UInt8(ascii: "B"), UInt8(ascii: "S"), UInt8(ascii: "A"), UInt8(ascii: "E"), UInt8(ascii: "T")].contains(byte)
    }

    private var blockKind: UInt8 {
        switch state {
        case .curve: 0x80
        case .values(let kind, _), .checksum(let kind): kind
        case .error: 0xE0
        case .between: 0
        }
    }

    private static func name(_ kind: UInt8) -> String {
        switch kind {
        case 0x80: "curve data block"
        case 0xE0: "error block"
        default: "'\(Shown.text([kind]))' block"
        }
    }

    private mutating func begin(_ next: State, _ byte: UInt8) {
        state = next
        xor = byte
        length = 1
    }

    private mutating func add(_ byte: UInt8) {
        xor ^= byte
        length += 1
    }

    /// Drops the block being read as noise: rejected, its bytes counted as skipped.
    private mutating func drop(_ reason: String) -> Item? {
        resynchronising = true
        counters.rejectedFrames += 1
        counters.skippedBytes += length
        lastRejection = reason
        state = .between
        return nil
    }

    /// A valid breath block: one observation per defined channel, in table order; `7E FF` is no value.
    private mutating func breath() -> Item? {
        guard values.count == channels.count else {
            counters.frames -= 1
            counters.rejectedFrames += 1
            lastRejection = "RADC breath block of \(values.count) values for the \(channels.count) channels defined"
            return nil
        }
        return .breath(zip(channels, values).map { channel, raw in
            Observation(source: source, parameter: channel.parameter, value: raw == 0x7EFF ? .noData : channel.value(raw: Int(raw)))
        })
    }
}
