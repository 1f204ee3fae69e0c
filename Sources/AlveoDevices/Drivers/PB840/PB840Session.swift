import AlveoCore

/// Puritan Bennett 840/980: send SNDF, decode the MISCF reply, send SNDF again at the next poll;
/// without a reply for `retryAfter` seconds, send it again.
package struct PB840Session: SerialSession {
    package private(set) var decoder: PB840Decoder
    package let pollInterval: Double
    package let retryAfter: Double
    private var lastSent = -Double.infinity
    private var lastReceived = -Double.infinity
    private var awaiting = false

    package init(source: String, pollInterval: Double = 1, retryAfter: Double = 2) {
        decoder = PB840Decoder(source: source)
        self.pollInterval = pollInterval
        self.retryAfter = retryAfter
    }

    package var source: String { decoder.source }
    package var counters: StreamCounters { decoder.counters }
    package var lastRejection: String? { decoder.lastRejection }
    package var rejections: RejectionLog { decoder.rejections }
    package var deviceAlarms: [String] { decoder.deviceAlarms }

    package mutating func start(at t: Double) -> [UInt8] {
        lastSent = t
        awaiting = true
        return PB840Decoder.sndf
    }

    package mutating func receive(_ bytes: [UInt8], at t: Double) -> (frames: [[Observation]], reply: [UInt8]) {
        let frames = decoder.feed(bytes)
        lastReceived = t
        if !frames.isEmpty { awaiting = false }
        return (frames, [])
    }

    package mutating func tick(at t: Double) -> [UInt8] {
        // A MISCF takes about 1.3 s at 9600 baud: while a reply is still arriving, do not ask again.
        let replyArriving = t - lastReceived < 0.5
        let due = awaiting ? t - lastSent >= retryAfter && !replyArriving : t - lastSent >= pollInterval
        guard due else { return [] }
        lastSent = t
        awaiting = true
        return PB840Decoder.sndf
    }
}
