import AlveoCore

/// Dräger MEDIBUS (Evita, V500, Savina, Apollo): an ICC handshake, then measured data (code page 1)
/// requested every poll, NOP as keep-alive, and the ventilator's own ICC and NOP answered by echo.
/// Frames are checked by their checksum; realtime bytes (bit 7 set) and DC1/DC3 are filtered out.
package struct MedibusSession: SerialSession {
    package let source: String
    package let pollInterval: Double
    package private(set) var counters = StreamCounters()
    package private(set) var lastRejection: String? {
        didSet { if let lastRejection { rejections.append(lastRejection) } }
    }
    /// Each rejection's reason (every one sets `lastRejection`).
    package private(set) var rejections = RejectionLog()
    private var buffer: [UInt8] = []
    private var linked = false
    private var lastSent = -Double.infinity
    private var lastReceived = -Double.infinity
    /// The last plateau reported: repeated in every measured-data reply, new only when it changes.
    private var lastPlateau: String?

    static let esc: UInt8 = 0x1B, soh: UInt8 = 0x01, cr: UInt8 = 0x0D
    package static let icc: UInt8 = 0x51, nop: UInt8 = 0x30, measured: UInt8 = 0x24
    /// Send NOP after this much idle time; the link times out after 3 s of silence.
    static let keepAlive = 1.5
    /// Longer than any reply (code page 1 with every code is about 600 bytes).
    static let maxFrameLength = 2048
    static let linkTimeout = 3.0

    package init(source: String, pollInterval: Double = 1) {
        self.source = source
        self.pollInterval = pollInterval
    }

    /// Two uppercase hex characters of the byte sum, mod 256.
    package static func checksum(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        Hex.digits(of: UInt8(bytes.reduce(0) { ($0 + Int($1)) & 0xFF }))
    }

    /// A command: ESC cmd checksum CR.
    package static func command(_ code: UInt8) -> [UInt8] {
        [esc, code] + checksum([esc, code]) + [cr]
    }

    /// An echo reply to the ventilator's command: SOH cmd checksum CR.
    package static func echo(_ code: UInt8) -> [UInt8] {
        [soh, code] + checksum([soh, code]) + [cr]
    }

    package mutating func start(at t: Double) -> [UInt8] {
        linked = false
        lastSent = t
        return MedibusSession.command(MedibusSession.icc)
    }

    package mutating func tick(at t: Double) -> [UInt8] {
        if linked, t - lastReceived > MedibusSession.linkTimeout {
            linked = false  // the ventilator went quiet: start over
        }
        if !linked {
            guard t - lastSent >= MedibusSession.linkTimeout else { return [] }
            lastSent = t
            return MedibusSession.command(MedibusSession.icc)
        }
        if t - lastSent >= pollInterval {
            lastSent = t
            return MedibusSession.command(MedibusSession.measured)
        }
        if t - lastSent >= MedibusSession.keepAlive {
            lastSent = t
            return MedibusSession.command(MedibusSession.nop)
        }
        return []
    }

    package mutating func receive(_ bytes: [UInt8], at t: Double) -> (frames: [[Observation]], reply: [UInt8]) {
        for byte in bytes {
            // Realtime waveform bytes have bit 7 set; DC1/DC3 are flow control: neither is protocol.
            if byte & 0x80 != 0 || byte == 0x11 || byte == 0x13 { continue }
            buffer.append(byte)
        }
        var frames: [[Observation]] = []
        var reply: [UInt8] = []
        // One pass over the buffer and one removal at the end: linear in the bytes, however many CRs.
        var consumed = 0
        defer { buffer.removeFirst(consumed) }
        while let end = buffer[consumed...].firstIndex(of: MedibusSession.cr) {
            let frame = buffer[consumed..<end]
            consumed = end + 1
            // A frame starts at its SOH (a reply) or ESC (the ventilator's command), which never occur
            // inside one: an earlier start is a frame that lost its CR, and is skipped with the noise.
            guard let start = frame.lastIndex(where: { $0 == MedibusSession.soh || $0 == MedibusSession.esc }) else {
                counters.skippedBytes += frame.count + 1
                continue
            }
            counters.skippedBytes += start - frame.startIndex
            // No real reply is longer than a few hundred bytes: a longer "frame" is noise.
            guard end - start <= MedibusSession.maxFrameLength else {
                counters.rejectedFrames += 1
                counters.skippedBytes += end - start + 1
                lastRejection = "frame of \(end - start) bytes, longer than any MEDIBUS reply"
                continue
            }
            let body = Array(buffer[start..<end])
            guard body.count >= 4, Array(body.suffix(2)) == MedibusSession.checksum(body.dropLast(2)) else {
                counters.rejectedFrames += 1
                lastRejection = "frame with a bad checksum or too short (\(body.count) bytes)"
                continue
            }
            // The data between the command code and the checksum is printable text; measured data is
            // 6-character records (a byte sum cannot see an added 0x00).
            let data = body[2..<(body.count - 2)]
            guard data.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }),
                  body[0] != MedibusSession.soh || body[1] != MedibusSession.measured || data.count % 6 == 0 else {
                counters.rejectedFrames += 1
                lastRejection = "frame whose data is not printable text or not 6-character records (\(data.count) bytes)"
                continue
            }
            lastReceived = t
            let code = body[1]
            if body[0] == MedibusSession.esc {
                // The ventilator's own command: ICC resets the link, NOP checks it; both are echoed.
                if code == MedibusSession.icc { linked = false }
                if code == MedibusSession.icc || code == MedibusSession.nop { reply += MedibusSession.echo(code) }
                continue
            }
            counters.frames += 1
            switch code {
            case MedibusSession.icc:
                linked = true
            case MedibusSession.measured:
                frames.append(decodeMeasured(Array(body[2..<(body.count - 2)])))
            default:
                break
            }
        }
        if buffer.count - consumed > 4096 {
            counters.skippedBytes += buffer.count - consumed
            consumed = buffer.count
        }
        return (frames, reply)
    }

    /// Code page 1 measured data: repeated 2-hex-char code + 4-char value, blanks = no data.
    private mutating func decodeMeasured(_ data: [UInt8]) -> [Observation] {
        var observations: [Observation] = []
        var index = 0
        // Vt may come in ml (0x88) and in litres (0x82): with both, the ml value is the one used.
        let hasVtInMl = stride(from: 0, to: data.count - 5, by: 6).contains { String(decoding: data[$0..<($0 + 2)], as: UTF8.self) == "88" }
        while index + 6 <= data.count {
            let code = UInt8(String(decoding: data[index..<(index + 2)], as: UTF8.self), radix: 16)
            let text = String(decoding: data[(index + 2)..<(index + 6)], as: UTF8.self).filter { $0 != " " }
            index += 6
            guard let code, let (parameter, factor) = MedibusSession.codes[code] else { continue }
            if code == 0x82 && hasVtInMl { continue }
            if parameter == .pplat {
                defer { lastPlateau = text }
                if text == lastPlateau { continue }
            }
            let value = DeviceNumber.parse(text.utf8, times: factor, unit: factor == 1 ? parameter.unit : (factor == 1000 ? "l" : "mbar")) ?? .noData
            observations.append(Observation(source: source, parameter: parameter, value: value))
        }
        return observations
    }

    /// Code page 1 codes Alveo reads, with the factor to its units (1 mbar = 1.019716 cmH2O, L → ml).
    static let codes: [UInt8: (Parameter, Double)] = [
        0x88: (.vt, 1), 0x82: (.vt, 1000), 0x74: (.pplat, 1.019716), 0x78: (.peep, 1.019716),
        0x7D: (.ppeak, 1.019716), 0xF0: (.fio2, 1), 0xD6: (.rr, 1), 0xEB: (.spo2, 1), 0xE1: (.pulseRate, 1),
    ]
}
