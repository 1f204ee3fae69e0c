import AlveoCore

/// What a byte-stream decoder has seen: the figures a clinical engineer reads when a line is noisy.
package struct StreamCounters: Sendable, Equatable {
    /// Complete, valid frames decoded.
    package var frames = 0
    /// Bytes skipped while looking for the next frame (noise, a partial frame).
    package var skippedBytes = 0
    /// Frames whose checksum, byte count or field count did not match: rejected, never decoded.
    package var rejectedFrames = 0

    package init() {}
}

/// The reasons of a device's latest rejected frames, each its own (three frames rejected in one read
/// are three reasons), for the log: at most `capacity` kept, with the count of all ever added so that
/// a reader knows which are new and whether it missed some.
package struct RejectionLog: Sendable, Equatable {
    package static let capacity = 16
    package private(set) var reasons: [String] = []
    /// Reasons ever added.
    package private(set) var total = 0

    package init() {}

    package mutating func append(_ reason: String) {
        total += 1
        reasons.append(reason)
        if reasons.count > Self.capacity { reasons.removeFirst(reasons.count - Self.capacity) }
    }

    /// The reasons added after the first `seen`, oldest first; nil when some of them are no longer kept.
    package func since(_ seen: Int) -> [String]? {
        let new = total - seen
        guard new >= 0, new <= reasons.count else { return nil }
        return Array(reasons.suffix(new))
    }
}

/// A decoder of a serial device's byte stream: handed whatever bytes arrived (in any chunks), it
/// returns the observations of each complete frame, in order. Garbled bytes are counted and skipped,
/// never fatal. Pure: the transport (libserialport live, a recorded trace, a test) is injected.
package protocol StreamDecoder: Sendable {
    /// The source name observations carry.
    var source: String { get }
    var counters: StreamCounters { get }
    /// Why the last rejected frame was rejected, for the log.
    var lastRejection: String? { get }
    /// Each rejected frame's reason (a decoder that keeps only the last gives an empty log, and the
    /// log then says the count and the last reason).
    var rejections: RejectionLog { get }
    /// Feeds bytes; returns one observation list per frame completed by them.
    mutating func feed(_ bytes: [UInt8]) -> [[Observation]]
}

extension StreamDecoder {
    package var rejections: RejectionLog { RejectionLog() }
}
