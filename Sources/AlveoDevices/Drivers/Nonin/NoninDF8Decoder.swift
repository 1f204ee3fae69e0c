import AlveoCore

/// Nonin serial data format #8: 4-byte frames `STATUS HR_LSB7 SPO2 STATUS2` once a second, no
/// checksum. STATUS has bit 7 set and the other three bytes have it clear, which is how frames are
/// found (sliding one byte at a time otherwise). HR 511 and SpO2 127 mean no value.
package struct NoninDF8Decoder: StreamDecoder {
    package let source: String
    package private(set) var counters = StreamCounters()
    package private(set) var lastRejection: String? {
        didSet { if let lastRejection { rejections.append(lastRejection) } }
    }
    /// Each rejection's reason (every one sets `lastRejection`).
    package private(set) var rejections = RejectionLog()
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
/// decodes the stream in that format. Frames decoded while it waits end the waiting (an oximeter
/// already streaming may answer with data instead), unless it said NAK: after a NAK only an ACK or
/// the third selection does (NAK followed by data in the same read is still a refusal; format 8 has
/// no checksum, so frames that look valid do not prove the format).
package struct NoninSession<Decoder: StreamDecoder>: SerialSession {
    package private(set) var decoder: Decoder
    package let format: UInt8
    private var awaitingAnswer = false
    private var sentAt = -Double.infinity
    private var attempts = 0
    private var nakReason: String?
    /// The oximeter said NAK on this connection: only an ACK (or the last selection) ends the asking.
    private var refused = false
    /// The NAKs' and the decoder's rejections, in order.
    package private(set) var rejections = RejectionLog()

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
        refused = false
        attempts = 1
        sentAt = t
        return NoninDF2Decoder.selectFormat(format)
    }

    package mutating func receive(_ bytes: [UInt8], at t: Double) -> (frames: [[Observation]], reply: [UInt8]) {
        var data = bytes
        // The answer is one byte, ACK or NAK; an oximeter already streaming sends it between two of
        // its frames, so it need not be the first byte read, and ACK/NAK values inside frame data are
        // data, not answers (`answerIndex`).
        if awaitingAnswer, let at = answerIndex(in: data) {
            let answer = data.remove(at: at)
            if answer == 0x06 {
                acknowledged = true
                awaitingAnswer = false
                nakReason = nil
            } else {
                naks += 1
                refused = true
                let reason = "the oximeter refused data format \(format) (NAK)"
                nakReason = reason
                rejections.append(reason)
            }
        }
        let loggedBefore = decoder.rejections.total
        let frames = decoder.feed(data)
        for reason in decoder.rejections.since(loggedBefore) ?? [] { rejections.append(reason) }
        if awaitingAnswer, !frames.isEmpty, !refused {
            awaitingAnswer = false  // it streams in the format asked for
            nakReason = nil
        }
        return (frames, [])
    }

    /// Where the answer (ACK 0x06 or NAK 0x15) is in `data`: the first byte of the read, or the first
    /// such byte that is not part of a frame (between two frames of a running stream: the decoder
    /// would skip it, and taking it out decodes as many frames with fewer bytes skipped), provided
    /// taking it out costs no frame. Only the first 8 candidates are tried (each a trial decode of
    /// the read on a copy of the decoder).
    func answerIndex(in data: [UInt8]) -> Int? {
        var tried = 0
        for index in data.indices where data[index] == 0x06 || data[index] == 0x15 {
            var kept = decoder, taken = decoder
            let keptFrames = kept.feed(data).count
            var without = data
            without.remove(at: index)
            let takenFrames = taken.feed(without).count
            if takenFrames >= keptFrames, index == 0 || taken.counters.skippedBytes < kept.counters.skippedBytes { return index }
            tried += 1
            if tried == 8 { break }
        }
        return nil
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
