import AlveoCore

/// A serial device protocol as a conversation: what to send when the line opens, what to answer,
/// what to send as time passes (polls, keep-alives), and the observations of each complete frame.
/// Pure: the transport (libserialport live, a recorded trace, a test) is injected, and time comes in
/// as data (seconds).
package protocol SerialSession: Sendable {
    var source: String { get }
    var counters: StreamCounters { get }
    var lastRejection: String? { get }
    /// Each rejected frame's reason, when the session keeps them (`RejectionLog`); empty otherwise.
    var rejections: RejectionLog { get }
    /// Bytes to send when the line opens (handshake, format selection, first poll). It must reset
    /// every piece of state that `tick` changes: replay does not see the live poller's last ticks
    /// before a line failed (their times are those of empty reads, which are not recorded), and is
    /// exact only because the reopened session forgets them.
    mutating func start(at t: Double) -> [UInt8]
    /// Handles received bytes: the observations of each frame they complete, and bytes to answer with.
    mutating func receive(_ bytes: [UInt8], at t: Double) -> (frames: [[Observation]], reply: [UInt8])
    /// Bytes due now: polls, keep-alives, retries after silence.
    mutating func tick(at t: Double) -> [UInt8]
    /// The device's own active alarms, as it reports them (PB840 alarm status fields).
    var deviceAlarms: [String] { get }
    /// Where a session with a handshake stands ("associated, polling numerics"), for the log; nil for
    /// a device without one.
    var linkState: String? { get }
    /// What the device says it is, once it has said it (a SERVO's `RCTY` reply: "Servo-i"), for the log.
    var identification: String? { get }
    /// The device's own answer while it keeps refusing to give data although asked as its protocol
    /// says ("SERVO answered RADC with error 16 (…)"), for `technical.device_refused`; nil while the
    /// conversation goes on, and for a device that cannot refuse.
    var refusal: String? { get }
}

extension SerialSession {
    package var deviceAlarms: [String] { [] }
    package var linkState: String? { nil }
    package var identification: String? { nil }
    package var refusal: String? { nil }
    package var rejections: RejectionLog { RejectionLog() }
}

/// A device that streams on its own (Masimo ASCII 1, Nonin): nothing to send but an optional opener.
package struct StreamingSession<Decoder: StreamDecoder>: SerialSession {
    package private(set) var decoder: Decoder
    private let opener: [UInt8]

    package init(decoder: Decoder, opener: [UInt8] = []) {
        self.decoder = decoder
        self.opener = opener
    }

    package var source: String { decoder.source }
    package var counters: StreamCounters { decoder.counters }
    package var lastRejection: String? { decoder.lastRejection }
    package var rejections: RejectionLog { decoder.rejections }
    package mutating func start(at t: Double) -> [UInt8] { opener }
    package mutating func receive(_ bytes: [UInt8], at t: Double) -> (frames: [[Observation]], reply: [UInt8]) {
        (decoder.feed(bytes), [])
    }
    package mutating func tick(at t: Double) -> [UInt8] { [] }
}

/// When a serial session is ticked (for its polls, keep-alives, retries and link timeouts): every
/// 100 ms from the moment its line opened, and every tick due at or before a time runs before the
/// bytes received at that time. The live poller and trace replay both tick by this grid, so a session
/// goes through exactly the same states in replay as it did live, from the trace's records alone.
package struct SessionTickGrid: Sendable {
    package static let interval = 0.1
    private var origin = 0.0
    private var ticked = 0
    private var isOpen = false

    package init() {}

    /// The line opened at `t`: the first tick is one interval later.
    package mutating func open(at t: Double) {
        origin = t
        ticked = 0
        isOpen = true
    }

    /// The line failed or closed: no ticks until it opens again.
    package mutating func close() { isOpen = false }

    /// The next tick's time, nil while the line is closed.
    package var next: Double? { isOpen ? origin + Double(ticked + 1) * Self.interval : nil }

    /// At most this much of a gap is ticked through: a session's timers (retries every 2 s, a 3 s
    /// link timeout, three format selections) settle within seconds, so ticking the last minute of a
    /// longer gap leaves it as ticking all of it would for what it decodes, and a gap of a day costs
    /// 600 ticks, not 864,000 (a crafted trace of records a day apart once took hours to replay).
    package static let maxCatchUp = 60.0

    /// The earliest grid time at or before `t` not yet ticked, now counted as ticked; nil if none.
    /// Call until nil, ticking the session at each time returned. After a gap longer than
    /// `maxCatchUp` (replay of a line open and silent for long; a machine suspended live), the grid
    /// moves on to the ticks of the last `maxCatchUp` seconds before `t`.
    package mutating func takeDue(upTo t: Double) -> Double? {
        guard let next, next <= t else { return nil }
        if t - next > Self.maxCatchUp {
            let last = Int(saturating: ((t - origin) / Self.interval).rounded(.down))
            ticked = max(ticked, last - Int(Self.maxCatchUp / Self.interval))
        }
        guard let due = self.next, due <= t else { return nil }
        ticked += 1
        return due
    }
}
