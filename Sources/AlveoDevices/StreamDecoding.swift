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

/// A decoder of a serial device's byte stream: handed whatever bytes arrived (in any chunks), it
/// returns the observations of each complete frame, in order. Garbled bytes are counted and skipped,
/// never fatal. Pure: the transport (libserialport live, a recorded trace, a test) is injected.
package protocol StreamDecoder: Sendable {
    /// The source name observations carry.
    var source: String { get }
    var counters: StreamCounters { get }
    /// Why the last rejected frame was rejected, for the log.
    var lastRejection: String? { get }
    /// Feeds bytes; returns one observation list per frame completed by them.
    mutating func feed(_ bytes: [UInt8]) -> [[Observation]]
}
