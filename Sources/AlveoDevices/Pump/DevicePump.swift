import AlveoCore

/// A byte line the pump reads and writes: libserialport live (AlveoAgent's `PortLine`), a fake in tests.
package protocol PumpLine {
    /// Up to `maxCount` bytes that arrived within `timeout`, possibly none.
    func read(maxCount: Int, timeout: Duration) throws -> [UInt8]
    /// All of `bytes`, or a failure after `timeout`.
    func write(_ bytes: [UInt8], timeout: Duration) throws
}

/// The one data path between a device's bytes and its observations, whoever drives it: the live
/// pollers (a serial line, a Modbus bus), trace replay (the recorded bytes and register blocks),
/// trace synthesis (a virtual line on virtual time) and `alveo serial-check`. Its inputs are the
/// trace's own vocabulary (the line opened, bytes received, a Modbus block read, a read failed), so
/// whatever drove it live, replay drives it again with the same inputs at the same times and it goes
/// through the same states.
///
/// A serial device: its protocol session, ticked on a grid from the line's open (`SessionTickGrid`),
/// every tick due at or before a read handed to the session before the bytes of that read, which are
/// handed over in pieces of at most `maxRead` bytes. A Modbus device: its decoder and the blocks of
/// the poll in progress, decoded when the plan's last block is in.
///
/// After a stall (a VM paused, a slow fsync, a process stopped) every grid time passed is ticked,
/// because the session's timers (retries, link timeouts, the poll interval) must see them as replay
/// will, but only the bytes the latest of those ticks wanted are sent: for a real device a catch-up
/// of stale polls is a burst of requests it answers one after another (a PB840 takes about a second
/// to send each MISCF reply at 9600 baud), each reply then read as the answer to a later request,
/// and the data of the newest one arrives last. The session wanted one poll now, so it gets one.
package struct DevicePump: Sendable {
    /// Live, a serial read asks for at most this many bytes; replay hands a longer recorded read (not
    /// written by Alveo) to the session in pieces of this size, so decoding stays in bounded memory.
    package static let maxRead = 4096

    /// The serial session, nil for a Modbus device.
    package private(set) var session: (any SerialSession)?
    private var grid = SessionTickGrid()
    /// The Modbus decoder, nil for a serial device.
    package private(set) var decoder: ModbusDecoder?
    /// The blocks of the Modbus poll read so far.
    private var blocks: [[UInt16]] = []

    package init(session: any SerialSession) {
        self.session = session
    }

    package init(modbus decoder: ModbusDecoder) {
        self.decoder = decoder
    }

    /// What one turn gave: the observations of each frame completed, and what to send, in order (the
    /// bytes the latest due tick wanted, then the session's reply to what was received), none empty.
    package struct Turn: Sendable, Equatable {
        /// When the bytes were received (the time the session saw).
        package var t = 0.0
        package var frames: [[Observation]] = []
        package var outgoing: [[UInt8]] = []
        package init() {}
    }

    /// The session's counters (frames, rejected frames, skipped bytes); zero for a Modbus device.
    package var counters: StreamCounters { session?.counters ?? StreamCounters() }

    // MARK: Serial

    /// Whether the serial line is open (ticks are due).
    package var isOpen: Bool { grid.next != nil }

    /// The serial line opened at `t`: the session starts and the tick grid with it. Returns the bytes
    /// to send first (handshake, format selection, first poll), possibly none.
    package mutating func open(at t: Double) -> [UInt8] {
        guard session != nil else { return [] }
        grid.open(at: t)
        return session?.start(at: t) ?? []
    }

    /// A read or open failed (the line, or a Modbus poll): the serial session is not ticked until the
    /// line opens again, and the blocks of a Modbus poll in progress are dropped.
    package mutating func fail() {
        grid.close()
        blocks.removeAll(keepingCapacity: true)
    }

    /// How long a read started at `now` may wait for bytes before the next tick is due: at most one
    /// tick interval, at least a millisecond (a zero timeout blocks in some serial libraries).
    package func readWait(at now: Double) -> Duration {
        let seconds = min(SessionTickGrid.interval, (grid.next ?? 0) - now)
        return .milliseconds(max(1, Int64(saturating: (seconds * 1000).rounded(.up))))
    }

    /// The bytes of one read, received at `t` (possibly none): every tick due by `t` runs first, then
    /// the bytes go to the session. A pump that is not a serial one (or a read for a line never
    /// opened, in a damaged trace) is ticked never and decodes what it is handed all the same.
    package mutating func receive(_ bytes: [UInt8], at t: Double) -> Turn {
        var frames: [[Observation]] = []
        var turn = Turn()
        turn.outgoing = receive(bytes, at: t) { frames.append($0) }
        turn.t = t
        turn.frames = frames
        return turn
    }

    /// As `receive(_:at:)`, each frame's observations handed to `frame` as its piece is decoded, so
    /// a huge read (a crafted trace) is decoded in bounded memory; returns what to send.
    package mutating func receive(_ bytes: [UInt8], at t: Double, frame: ([Observation]) -> Void) -> [[UInt8]] {
        guard session != nil else { return [] }
        var due: [UInt8] = []
        while let tickTime = grid.takeDue(upTo: t) {
            let wanted = session!.tick(at: tickTime)
            if !wanted.isEmpty { due = wanted }
        }
        var reply: [UInt8] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + Self.maxRead, bytes.count)
            let (frames, answer) = session!.receive(Array(bytes[offset..<end]), at: t)
            for observations in frames { frame(observations) }
            reply += answer
            offset = end
        }
        return [due, reply].filter { !$0.isEmpty }
    }

    /// Opens the session on a live line at `now`, writing its opener (given to `sending` first).
    package mutating func open(on line: some PumpLine, at now: Double, sending: (_ bytes: [UInt8], _ t: Double) -> Void = { _, _ in }) throws {
        let opener = open(at: now)
        guard !opener.isEmpty else { return }
        sending(opener, now)
        try line.write(opener, timeout: .seconds(1))
    }

    /// One turn on a live line: waits for bytes until the next tick is due, runs the due ticks, gives
    /// what was read (possibly nothing) and its frames to `received` before anything is written (so
    /// a write that fails cannot lose them), then writes what the session wants sent, each piece given
    /// to `sending` first. `clock` is the time the session and the core see (seconds).
    @discardableResult
    package mutating func turn(on line: some PumpLine, clock: () -> Double,
                              received: (_ bytes: [UInt8], _ turn: Turn, _ t: Double) -> Void = { _, _, _ in },
                              sending: (_ bytes: [UInt8], _ t: Double) -> Void = { _, _ in }) throws -> Turn
    {
        let bytes = try line.read(maxCount: Self.maxRead, timeout: readWait(at: clock()))
        let now = clock()
        let turn = receive(bytes, at: now)
        received(bytes, turn, now)
        for out in turn.outgoing {
            sending(out, now)
            try line.write(out, timeout: .seconds(1))
        }
        return turn
    }

    // MARK: Modbus

    /// One block of a Modbus poll, in the plan's order: the poll's result once its last block is in,
    /// nil before (and for a pump that is not a Modbus one).
    package mutating func take(block registers: [UInt16]) -> ModbusDecoder.Result? {
        guard let plan = decoder?.plan, !plan.blocks.isEmpty else { return nil }
        blocks.append(registers)
        guard blocks.count >= plan.blocks.count else { return nil }
        defer { blocks.removeAll(keepingCapacity: true) }
        return decoder?.decode(blocks)
    }

    /// A live Modbus poll: reads each block of the plan through `read`, in order, and decodes them.
    /// Returns the registers read (to record) and what they decode to; nil for a pump that is not a
    /// Modbus one. A read that fails drops the poll and fails the call.
    package mutating func poll<Failure: Error>(
        _ read: (ModbusPollPlan.Block) throws(Failure) -> [UInt16]
    ) throws(Failure) -> (blocks: [[UInt16]], result: ModbusDecoder.Result)? {
        guard let plan = decoder?.plan else { return nil }
        blocks.removeAll(keepingCapacity: true)
        var registers: [[UInt16]] = []
        registers.reserveCapacity(plan.blocks.count)
        for block in plan.blocks {
            do { registers.append(try read(block)) } catch {
                fail()
                throw error
            }
        }
        guard let result = decoder?.decode(registers) else { return nil }
        return (registers, result)
    }
}
