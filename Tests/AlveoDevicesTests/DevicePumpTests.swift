import AlveoCore
@testable import AlveoDevices
import Testing

/// A serial line on virtual time: each read returns what the script gives it after the script's
/// delay (or, with the script used up, nothing after its whole timeout); writes are kept with the
/// time they were made. The pump's clock is the line's `now`.
final class FakeLine: PumpLine {
    struct Read {
        /// Seconds the read takes; nil: its whole timeout.
        var after: Double?
        var bytes: [UInt8] = []
        var fails = false
    }

    struct Failure: Error {}

    var script: [Read]
    var now = 0.0
    var written: [(t: Double, bytes: [UInt8])] = []
    var timeouts: [Duration] = []
    var failWrites = false

    init(_ script: [Read] = []) { self.script = script }

    func read(maxCount: Int, timeout: Duration) throws -> [UInt8] {
        timeouts.append(timeout)
        let whole = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        guard !script.isEmpty else {
            now += whole
            return []
        }
        let next = script.removeFirst()
        now += next.after ?? whole
        if next.fails { throw Failure() }
        return Array(next.bytes.prefix(maxCount))
    }

    func write(_ bytes: [UInt8], timeout: Duration) throws {
        if failWrites { throw Failure() }
        written.append((now, bytes))
    }
}

/// A session that keeps what the pump does to it: it polls every second (a byte with the poll's
/// number), retries its handshake after 3 s of silence, and decodes one frame per newline.
struct RecordingSession: SerialSession {
    var source = "dev"
    var counters = StreamCounters()
    var lastRejection: String?
    var ticks: [Double] = []
    var chunks: [Int] = []
    var polls = 0
    var lastPoll = 0.0
    var linked = false
    var lastHeard = 0.0
    var pending: [UInt8] = []

    mutating func start(at t: Double) -> [UInt8] {
        lastPoll = t
        lastHeard = t
        linked = false
        return Array("HELLO".utf8)
    }

    mutating func receive(_ bytes: [UInt8], at t: Double) -> (frames: [[Observation]], reply: [UInt8]) {
        chunks.append(bytes.count)
        lastHeard = t
        linked = true
        pending += bytes
        var frames: [[Observation]] = []
        while let end = pending.firstIndex(of: 0x0A) {
            frames.append([Observation(source: source, parameter: .spo2, value: .number(Double(end)))])
            counters.frames += 1
            pending.removeSubrange(...end)
        }
        if pending.count > 65_536 { pending.removeAll() }
        return (frames, frames.isEmpty ? [] : [0x06])
    }

    mutating func tick(at t: Double) -> [UInt8] {
        ticks.append(t)
        if !linked {
            guard t - lastHeard >= 3 else { return [] }
            lastHeard = t
            return Array("HELLO".utf8)
        }
        guard t - lastPoll >= 1 else { return [] }
        lastPoll = t
        polls += 1
        return [0x50, UInt8(truncatingIfNeeded: polls)]
    }

    var linkState: String? { linked ? "linked" : "handshaking" }
}

@Suite struct DevicePumpTests {
    static func recorded(_ pump: DevicePump) -> RecordingSession { pump.session as! RecordingSession }

    /// Reads wait for the next tick and no longer; the line's open starts the grid.
    @Test func readsWaitForTheNextTick() throws {
        let line = FakeLine()
        var pump = DevicePump(session: RecordingSession())
        #expect(!pump.isOpen && pump.readWait(at: 0) == .milliseconds(1), "closed: no tick to wait for, a read returns at once")
        try pump.open(on: line, at: 0)
        #expect(pump.isOpen)
        #expect(line.written.map(\.bytes) == [Array("HELLO".utf8)], "the opener is written on open")
        #expect(pump.readWait(at: 0) == .milliseconds(100))
        #expect(pump.readWait(at: 0.0655) == .milliseconds(35), "rounded up: the read ends at or after the tick")
        #expect(pump.readWait(at: 0.25) == .milliseconds(1), "overdue: at least a millisecond")
        var reads = 0
        while line.now < 1.05 {
            try pump.turn(on: line, clock: { line.now })
            reads += 1
        }
        let ticks = Self.recorded(pump).ticks
        let gridTimes = (1...20).map { Double($0) * SessionTickGrid.interval }.filter { $0 <= line.now }
        #expect(ticks == gridTimes, "every grid time once on an idle line: \(ticks)")
        #expect(reads <= 20, "reads end at the ticks (a millisecond more where the times round): \(reads) reads")
        for (index, t) in ticks.enumerated() { #expect(abs(t - Double(index + 1) * 0.1) < 1e-9) }
    }

    /// After a stall every grid time is ticked (the session's timers see them, as replay does), but
    /// only the latest tick's bytes are written: one poll, not a burst of stale ones.
    @Test func afterAStallEveryTickRunsButOnlyTheLatestPollIsSent() throws {
        let line = FakeLine([Read(after: 0.05, bytes: Array("ok\n".utf8)), Read(after: 5.43)])
        var pump = DevicePump(session: RecordingSession())
        try pump.open(on: line, at: 0)
        line.written.removeAll()
        let first = try pump.turn(on: line, clock: { line.now })
        #expect(first.frames.count == 1 && first.outgoing == [[0x06]], "the frame, and the session's reply to it")
        line.written.removeAll()
        let stalled = try pump.turn(on: line, clock: { line.now })
        let session = Self.recorded(pump)
        #expect(session.ticks.count == 54, "every grid time to 5.48 s is ticked: \(session.ticks.count)")
        #expect(session.polls == 5, "the session wanted a poll at 1, 2, 3, 4 and 5 s")
        #expect(stalled.outgoing == [[0x50, 5]], "only the latest: \(stalled.outgoing)")
        #expect(line.written.map(\.bytes) == [[0x50, 5]])
        #expect(abs(stalled.t - 5.48) < 1e-9)
    }

    /// A machine suspended for a day ticks at most the last minute of it (`SessionTickGrid.maxCatchUp`).
    @Test func aLongStallTicksOnlyItsLastMinute() throws {
        let line = FakeLine([Read(after: 86_400)])
        var pump = DevicePump(session: RecordingSession())
        try pump.open(on: line, at: 0)
        try pump.turn(on: line, clock: { line.now })
        let ticks = Self.recorded(pump).ticks
        #expect(ticks.count <= Int(SessionTickGrid.maxCatchUp / SessionTickGrid.interval) + 1)
        #expect((ticks.first ?? 0) >= 86_400 - SessionTickGrid.maxCatchUp - 0.2)
    }

    /// A frame split across reads decodes once, at the read that completes it (a real PB840 session).
    @Test func aFrameInPiecesDecodesWhenItsLastPieceArrives() throws {
        let frame = SerialDeviceEncoders.pb840MISCF([.vt: 420, .pplat: 24, .peep: 8, .rr: 18, .fio2: 45])
        let third = frame.count / 3
        let line = FakeLine([Read(after: 0.03, bytes: Array(frame[..<third])), Read(after: 0.03, bytes: Array(frame[third..<(2 * third)])),
                             Read(after: 0.03, bytes: Array(frame[(2 * third)...]))])
        var pump = DevicePump(session: PB840Session(source: "vent"))
        try pump.open(on: line, at: 0)
        let turns = try (0..<3).map { _ in try pump.turn(on: line, clock: { line.now }) }
        #expect(turns.map(\.frames.count) == [0, 0, 1])
        #expect(turns[2].frames.first?.contains { $0.parameter == .vt && $0.value == .number(420) } == true)
        #expect(pump.counters.frames == 1 && pump.counters.rejectedFrames == 0)
    }

    /// A read longer than a live read can be (a trace not written by Alveo) reaches the session in
    /// pieces of `maxRead` bytes, all at its time, after the ticks due by then.
    @Test func aLongReadIsHandedOverInBoundedPieces() {
        var pump = DevicePump(session: RecordingSession())
        _ = pump.open(at: 0)
        let bytes = [UInt8](repeating: 0x41, count: 2 * DevicePump.maxRead + 10) + [0x0A]
        let turn = pump.receive(bytes, at: 0.35)
        let session = Self.recorded(pump)
        #expect(session.chunks == [DevicePump.maxRead, DevicePump.maxRead, 11])
        #expect(session.ticks.count == 3, "the ticks due by then run first")
        #expect(turn.frames.count == 1)
        #expect(pump.receive([], at: 0.35).frames.isEmpty && Self.recorded(pump).chunks.count == 3, "an empty read hands nothing")
    }

    /// The session's timers run on the pump's ticks: on a silent line its handshake is retried every
    /// 3 s; a failed line is not ticked until it opens again, and the reopen restarts the session.
    @Test func sessionTimeoutsRunOnTheTicksAndStopWhenTheLineFails() throws {
        let line = FakeLine()
        var pump = DevicePump(session: RecordingSession())
        try pump.open(on: line, at: 0)
        while line.now < 7 { try pump.turn(on: line, clock: { line.now }) }
        let hello = Array("HELLO".utf8)
        #expect(line.written.map(\.bytes) == [hello, hello, hello])
        let times = line.written.map(\.t)
        #expect(abs(times[1] - 3) < 0.01 && abs(times[2] - 6) < 0.01, "retries at 3 s and 6 s: \(times)")

        line.script = [Read(after: 0.01, fails: true)]
        #expect(throws: FakeLine.Failure.self) { try pump.turn(on: line, clock: { line.now }) }
        pump.fail()
        #expect(!pump.isOpen)
        let ticked = Self.recorded(pump).ticks.count
        _ = pump.receive([], at: 60)
        #expect(Self.recorded(pump).ticks.count == ticked, "a failed line is not ticked")
        line.now = 60
        try pump.open(on: line, at: 60)
        try pump.turn(on: line, clock: { line.now })
        #expect(Self.recorded(pump).ticks.last.map { abs($0 - 60.1) < 1e-9 } == true, "a new grid from the reopen")
    }

    /// What was read is handed over before anything is written, so a write that fails loses nothing.
    @Test func receivedBytesAreHandedOverBeforeAWriteFails() throws {
        let line = FakeLine([Read(after: 0.02, bytes: Array("x\n".utf8))])
        var pump = DevicePump(session: RecordingSession())
        try pump.open(on: line, at: 0)
        line.failWrites = true
        var handed: [[Observation]] = []
        #expect(throws: FakeLine.Failure.self) {
            try pump.turn(on: line, clock: { line.now }, received: { _, turn, _ in handed += turn.frames })
        }
        #expect(handed.count == 1)
    }

    /// Modbus: a poll's blocks are decoded when the last is in; a failure drops a poll in progress.
    @Test func modbusBlocksAreAssembledIntoPolls() throws {
        let profile = ModbusProfile(name: "two-blocks", fields: [
            .init(address: 0, table: .input, type: .uint16, scale: 1, unit: .percent, parameter: .spo2),
            .init(address: 0, table: .holding, type: .uint16, scale: 1, unit: .percent, parameter: .fio2),
        ])
        var pump = DevicePump(modbus: ModbusDecoder(profile: profile, source: "gw"))
        let plan = try #require(pump.decoder?.plan)
        #expect(plan.blocks.count == 2)
        // The plan's blocks in its order: SpO2's input register, FiO2's holding register.
        func registers(spo2: UInt16, fio2: UInt16) -> [[UInt16]] { plan.blocks.map { $0.table == .input ? [spo2] : [fio2] } }
        let half = pump.take(block: registers(spo2: 93, fio2: 45)[0])
        #expect(half == nil, "half a poll")
        let whole = pump.take(block: registers(spo2: 93, fio2: 45)[1])
        let result = try #require(whole)
        #expect(result.observations.contains { $0.parameter == .spo2 && $0.value == .number(93) })
        #expect(result.observations.contains { $0.parameter == .fio2 && $0.value == .number(45) })

        let beforeFailure = pump.take(block: registers(spo2: 90, fio2: 40)[0])
        #expect(beforeFailure == nil)
        pump.fail()
        let afterFailure = pump.take(block: registers(spo2: 91, fio2: 40)[0])
        #expect(afterFailure == nil, "the failed poll's block was dropped: this one starts a new poll")
        let next = pump.take(block: registers(spo2: 91, fio2: 40)[1])
        #expect(try #require(next).observations.contains { $0.parameter == .spo2 && $0.value == .number(91) })

        var reads: [ModbusPollPlan.Block] = []
        let poll = try pump.poll { (block: ModbusPollPlan.Block) throws(FakeLine.Failure) -> [UInt16] in
            reads.append(block)
            return [block.table == .input ? 88 : 50]
        }
        let polled = try #require(poll)
        #expect(reads == plan.blocks && polled.blocks == registers(spo2: 88, fio2: 50))
        #expect(polled.result.observations.contains { $0.parameter == .spo2 && $0.value == .number(88) })
        #expect(throws: FakeLine.Failure.self) {
            _ = try pump.poll { (_: ModbusPollPlan.Block) throws(FakeLine.Failure) -> [UInt16] in throw FakeLine.Failure() }
        }

        // A serial pump takes no blocks and a Modbus pump no bytes: a damaged trace can hand either.
        var serial = DevicePump(session: RecordingSession())
        let notABlock = serial.take(block: [1])
        #expect(notABlock == nil)
        let bytes = pump.receive([0x0A], at: 1)
        let opener = pump.open(at: 1)
        #expect(bytes.frames.isEmpty && opener.isEmpty)
    }
}

private typealias Read = FakeLine.Read
