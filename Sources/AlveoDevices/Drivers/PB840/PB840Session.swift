import AlveoCore

/// Puritan Bennett 840/980: send SNDF, decode the MISCF reply, send SNDF again at the next poll;
/// without a reply for `retryAfter` seconds, send it again.
public struct PB840Session: SerialSession {
    public private(set) var decoder: PB840Decoder
    public let pollInterval: Double
    public let retryAfter: Double
    private var lastSent = -Double.infinity
    private var lastReceived = -Double.infinity
    private var awaiting = false

    public init(source: String, pollInterval: Double = 1, retryAfter: Double = 2) {
        decoder = PB840Decoder(source: source)
        self.pollInterval = pollInterval
        self.retryAfter = retryAfter
    }

    public var source: String { decoder.source }
    public var counters: StreamCounters { decoder.counters }
    public var lastRejection: String? { decoder.lastRejection }
    public var deviceAlarms: [String] { decoder.deviceAlarms }

    public mutating func start(at t: Double) -> [UInt8] {
        lastSent = t
        awaiting = true
        return PB840Decoder.sndf
    }

    public mutating func receive(_ bytes: [UInt8], at t: Double) -> (frames: [[Observation]], reply: [UInt8]) {
        let frames = decoder.feed(bytes)
        lastReceived = t
        if !frames.isEmpty { awaiting = false }
        return (frames, [])
    }

    public mutating func tick(at t: Double) -> [UInt8] {
        // A MISCF takes about 1.3 s at 9600 baud: while a reply is still arriving, do not ask again.
        let replyArriving = t - lastReceived < 0.5
        let due = awaiting ? t - lastSent >= retryAfter && !replyArriving : t - lastSent >= pollInterval
        guard due else { return [] }
        lastSent = t
        awaiting = true
        return PB840Decoder.sndf
    }
}
