import AlveoCore

/// Nonin serial data format #8: 4-byte frames `STATUS HR_LSB7 SPO2 STATUS2` once a second, no
/// checksum. STATUS has bit 7 set and the other three bytes have it clear, which is how frames are
/// found (sliding one byte at a time otherwise). HR 511 and SpO2 127 mean no value.
package struct NoninDF8Decoder: StreamDecoder {
    package let source: String
    package private(set) var counters = StreamCounters()
    package private(set) var lastRejection: String?
    private var buffer: [UInt8] = []

    package init(source: String) {
        self.source = source
    }

    package mutating func feed(_ bytes: [UInt8]) -> [[Observation]] {
        buffer += bytes
        var frames: [[Observation]] = []
        var index = 0
        while buffer.count - index >= 4 {
            let b = buffer[index..<(index + 4)].map { $0 }
            guard b[0] & 0x80 != 0, b[1] & 0x80 == 0, b[2] & 0x80 == 0, b[3] & 0x80 == 0 else {
                counters.skippedBytes += 1
                index += 1
                continue
            }
            index += 4
            counters.frames += 1
            let status = b[0]
            let disconnected = status & 0x40 != 0
            let unusable = status & 0x20 != 0 || status & 0x04 != 0  // out of track, artifact
            let hr = (Int(status) & 0x03) << 7 | Int(b[1])
            let spo2 = Int(b[2])
            frames.append([
                Observation(source: source, parameter: .sensor, value: .sensor(disconnected ? .disconnected : .ok)),
                Observation(source: source, parameter: .spo2, value: disconnected || unusable || spo2 == 127 ? .noData : .number(Double(spo2))),
                Observation(source: source, parameter: .pulseRate, value: disconnected || unusable || hr == 511 ? .noData : .number(Double(hr))),
            ])
        }
        buffer.removeFirst(index)
        return frames
    }
}

/// A Nonin oximeter: selects its data format when the line opens (`02 70 02 02 <fmt> 03`), waits for
/// ACK (0x06) or NAK (0x15), retries a refused or unanswered selection every 2 s (three times), then
/// decodes the stream in that format.
package struct NoninSession<Decoder: StreamDecoder>: SerialSession {
    package private(set) var decoder: Decoder
    package let format: UInt8
    private var awaitingAnswer = false
    private var sentAt = -Double.infinity
    private var attempts = 0
    private var nakReason: String?

    package init(decoder: Decoder, format: UInt8) {
        self.decoder = decoder
        self.format = format
    }

    package var source: String { decoder.source }
    private var naks = 0
    package var counters: StreamCounters {
        var counters = decoder.counters
        counters.rejectedFrames += naks
        return counters
    }
    package var lastRejection: String? { nakReason ?? decoder.lastRejection }
    /// Whether the device acknowledged the format selection.
    package private(set) var acknowledged = false

    package mutating func start(at t: Double) -> [UInt8] {
        awaitingAnswer = true
        attempts = 1
        sentAt = t
        return NoninDF2Decoder.selectFormat(format)
    }

    package mutating func receive(_ bytes: [UInt8], at t: Double) -> (frames: [[Observation]], reply: [UInt8]) {
        var data = bytes
        // The answer is the first byte after the command; an oximeter already streaming in the format
        // answers with frames instead, and ACK/NAK values inside frame data are data, not answers.
        if awaitingAnswer, let first = data.first, first == 0x06 || first == 0x15 {
            if first == 0x06 {
                acknowledged = true
                awaitingAnswer = false
                nakReason = nil
            } else {
                naks += 1
                nakReason = "the oximeter refused data format \(format) (NAK)"
            }
            data.removeFirst()
        }
        let frames = decoder.feed(data)
        if awaitingAnswer, !frames.isEmpty {
            awaitingAnswer = false  // it streams in the format asked for
            nakReason = nil
        }
        return (frames, [])
    }

    package mutating func tick(at t: Double) -> [UInt8] {
        guard awaitingAnswer, t - sentAt >= 2 else { return [] }
        guard attempts < 3 else {
            awaitingAnswer = false  // decode whatever it streams; counters will show a wrong format
            return []
        }
        attempts += 1
        sentAt = t
        return NoninDF2Decoder.selectFormat(format)
    }
}
