import AlveoCore
import AlveoIO
import Foundation

/// One record of a raw device trace (format in docs/trace-format.md).
package struct TraceRecord: Sendable, Equatable {
    package enum Kind: UInt8, Sendable {
        /// The configuration the run used (YAML text), written first.
        case config = 1
        /// Bytes received from a serial device.
        case received = 2
        /// Bytes sent to a serial device.
        case sent = 3
        /// One Modbus block read: u8 table (3 holding, 4 input), u16 address, u16 count, count × u16.
        case modbusRegisters = 4
        /// A Modbus poll or connection attempt, or a serial line open or read, that failed (UTF-8
        /// reason): the device gave nothing.
        case pollFailed = 5
        /// The recording ended cleanly at this time (the agent was stopped): replay runs the clock to here.
        case end = 6
        /// The Modbus profile (YAML text) a device was decoded with, so the trace replays anywhere.
        case profile = 7
        /// A serial line was opened: the protocol session starts (handshake) at this time.
        case opened = 8
        /// The live agent's clock tick (about once a second): the rules were evaluated at this time
        /// without new data. Replay evaluates them at exactly these times.
        case tick = 9
        /// An entry from a person or the hospital (charted or laboratory values, an acknowledgement, a
        /// patient admitted, updated or discharged) as JSON, at the time the loop took it; the device id
        /// is empty. Replay takes it exactly as the live loop did.
        case entry = 10
        /// The agent's own stop (SIGTERM) or its reconciliation at start with what the previous run left
        /// in force (JSON, `LifecycleEntry`): replay gives the same ends and lifecycle alarms.
        case lifecycle = 11
    }

    package var kind: Kind
    /// Seconds since the run started, from the monotonic clock (what the core's time was). The file
    /// stores whole nanoseconds: a live agent must give the core `seconds(nanoseconds:)` of its clock,
    /// or the replayed time can differ from the live one in the last bit.
    package var monotonic: Double

    /// The one conversion from the file's nanoseconds to the core's seconds, used by the live clock
    /// and the trace reader alike, so that live and replayed times are the same Double.
    package static func seconds(nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1e9 }

    /// The nanoseconds the file stores for `seconds`: for a time that came from
    /// `seconds(nanoseconds:)`, one that reads back as exactly the same Double, however long the run
    /// (from about 26 days on, 2^51 ns, the plain rounded product can be off by one).
    package static func nanoseconds(seconds: Double) -> UInt64 {
        guard seconds > 0, seconds.isFinite else { return 0 }
        guard seconds < 1.8e10 else { return UInt64.max / 2 }
        let guess = UInt64(saturating: (seconds * 1e9).rounded())
        if Self.seconds(nanoseconds: guess) == seconds { return guess }
        for delta: UInt64 in 1...4 {
            if Self.seconds(nanoseconds: guess + delta) == seconds { return guess + delta }
            if guess >= delta, Self.seconds(nanoseconds: guess - delta) == seconds { return guess - delta }
        }
        return guess
    }
    /// Wall-clock time, nanoseconds since 1970 (for people reading the trace; replay never uses it).
    package var wallNanoseconds: Int64
    /// The device id (source); empty for the config record.
    package var device: String
    package var payload: [UInt8]

    package init(kind: Kind, monotonic: Double, wallNanoseconds: Int64, device: String, payload: [UInt8]) {
        self.kind = kind
        self.monotonic = monotonic
        self.wallNanoseconds = wallNanoseconds
        self.device = device
        self.payload = payload
    }
}

/// Raw trace file layout: an 8-byte magic and a version, then records framed as
/// `u32 body length | body | u32 CRC-32 of body`, all little-endian. A power cut can tear only the
/// record being written: the reader stops there with a warning.
package enum RawTrace {
    package static let magic: [UInt8] = Array("ALVTRACE".utf8)
    /// 2: the agent's clock ticks are recorded (kind 9) and replay runs the rules only at them.
    package static let version: UInt16 = 2

    private static let crcTable: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        return crc
    }

    /// CRC-32 (IEEE 802.3, as zlib), table-driven.
    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        crcTable.withUnsafeBufferPointer { table in
            bytes.withUnsafeBufferPointer { buffer in
                for byte in buffer { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
            }
        }
        return ~crc
    }

    static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    static func read<T: FixedWidthInteger>(_ type: T.Type, _ bytes: ArraySlice<UInt8>, at offset: Int) -> T {
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { raw in
            for index in 0..<MemoryLayout<T>.size { raw[index] = bytes[bytes.startIndex + offset + index] }
        }
        return T(littleEndian: value)
    }

    /// The framed bytes of one record.
    package static func encode(_ record: TraceRecord) -> [UInt8] {
        var body: [UInt8] = [record.kind.rawValue]
        append(TraceRecord.nanoseconds(seconds: record.monotonic), to: &body)
        append(record.wallNanoseconds, to: &body)
        let id = Array(record.device.utf8.prefix(255))
        body.append(UInt8(id.count))
        body += id
        body += record.payload
        var framed: [UInt8] = []
        append(UInt32(body.count), to: &framed)
        framed += body
        append(crc32(body[...]), to: &framed)
        return framed
    }

    /// Decodes as many whole records as `bytes` holds after the header, exactly as the streaming
    /// reader does: `problem` says where and why it stopped early (torn record, or corruption with no
    /// whole record after it), nil if the data ended cleanly; `damage` the corrupt stretches skipped.
    package static func decode(_ bytes: [UInt8]) -> (records: [TraceRecord], problem: String?) {
        let (records, problem, _) = decodeReportingDamage(bytes)
        return (records, problem)
    }

    /// `decode`, with the corrupt stretches that were skipped.
    package static func decodeReportingDamage(_ bytes: [UInt8]) -> (records: [TraceRecord], problem: String?, damage: [String]) {
        if let problem = checkHeader(bytes[...]) { return ([], problem, []) }
        var reader = RawTraceReader(bytes: bytes)
        var records: [TraceRecord] = []
        while let record = reader.next() { records.append(record) }
        return (records, reader.problem, reader.damage)
    }

    /// Whether a record could start at `offset` of `bytes`, from its header alone (length in range,
    /// known kind, device id inside it): the cheap test before a CRC while looking for the next whole
    /// record after a corrupt one. nil: not enough bytes to tell.
    /// `after`: the monotonic nanoseconds of the last good record; a candidate more than an hour
    /// before it or 30 days after it is not the next record (random bytes almost never pass this, so a
    /// long damaged stretch costs a scan, not a CRC at every offset). Device ids are printable ASCII.
    static func plausibleRecord(_ bytes: ArraySlice<UInt8>, after: UInt64? = nil) -> Bool? {
        guard bytes.count >= 22 else { return nil }
        let length = Int(read(UInt32.self, bytes, at: 0))
        guard length >= 18, length <= maxRecordLength, TraceRecord.Kind(rawValue: bytes[bytes.startIndex + 4]) != nil else { return false }
        if let after {
            let hour: UInt64 = 3_600_000_000_000, day: UInt64 = 30 * 86_400_000_000_000
            let monotonic = read(UInt64.self, bytes, at: 5)
            let earliest = after >= hour ? after - hour : 0
            let latest = after <= UInt64.max - day ? after + day : UInt64.max
            guard monotonic >= earliest, monotonic <= latest else { return false }
        }
        let idLength = Int(bytes[bytes.startIndex + 21])
        guard 18 + idLength <= length, idLength <= 64 else { return false }
        guard bytes.count >= 22 + idLength else { return nil }
        return bytes[(bytes.startIndex + 22)..<(bytes.startIndex + 22 + idLength)].allSatisfy { $0 >= 0x20 && $0 < 0x7F }
    }

    /// Why `bytes` does not start with a trace header this version reads, or nil if it does.
    package static func checkHeader(_ bytes: ArraySlice<UInt8>) -> String? {
        guard bytes.count >= 10 else { return "the trace is shorter than its header" }
        guard Array(bytes.prefix(8)) == magic else { return "not an Alveo trace (bad magic)" }
        let version = UInt16(bytes[bytes.startIndex + 8]) | UInt16(bytes[bytes.startIndex + 9]) << 8
        guard version == Self.version else { return "trace format version \(version); this Alveo reads version \(Self.version)" }
        return nil
    }

    /// No record is this long (the largest are a configuration text and a 4 KiB serial read): a longer
    /// length is corruption, not a reason to read the rest of the file into memory.
    package static let maxRecordLength = 16 << 20

    enum Step {
        case record(TraceRecord, size: Int)
        case needMore
        case problem(String)
    }

    /// The record at the start of `bytes` (which begins at `fileOffset` in the file). `atEnd`: no more
    /// bytes follow, so a record running past them is torn rather than still to be read.
    static func nextRecord(_ bytes: ArraySlice<UInt8>, fileOffset offset: Int, atEnd: Bool) -> Step {
        guard bytes.count >= 4 else { return atEnd ? .problem("torn record at byte \(offset): length cut") : .needMore }
        let length = Int(read(UInt32.self, bytes, at: 0))
        guard length >= 18 else { return .problem("corrupt record at byte \(offset): length \(length) is shorter than a record header") }
        guard length <= maxRecordLength else { return .problem("corrupt record at byte \(offset): length \(length) is over the \(maxRecordLength)-byte limit") }
        guard 4 + length + 4 <= bytes.count else {
            return atEnd ? .problem("torn record at byte \(offset): \(bytes.count) bytes of \(length + 8)") : .needMore
        }
        let body = bytes[(bytes.startIndex + 4)..<(bytes.startIndex + 4 + length)]
        guard read(UInt32.self, bytes, at: 4 + length) == crc32(body) else {
            return .problem("corrupt record at byte \(offset): CRC mismatch")
        }
        guard let kind = TraceRecord.Kind(rawValue: body[body.startIndex]) else {
            return .problem("unknown record kind \(body[body.startIndex]) at byte \(offset)")
        }
        let monotonic = TraceRecord.seconds(nanoseconds: read(UInt64.self, body, at: 1))
        let wall = read(Int64.self, body, at: 9)
        let idLength = Int(body[body.startIndex + 17])
        guard 18 + idLength <= length else { return .problem("corrupt record at byte \(offset): device id too long") }
        let id = String(decoding: body[(body.startIndex + 18)..<(body.startIndex + 18 + idLength)], as: UTF8.self)
        let payload = Array(body[(body.startIndex + 18 + idLength)...])
        return .record(TraceRecord(kind: kind, monotonic: monotonic, wallNanoseconds: wall, device: id, payload: payload), size: 4 + length + 4)
    }
}

/// Reads a trace file record by record in bounded memory (1 MiB reads), so a day-long trace replays
/// without being loaded whole. A corrupt record in the middle is skipped to the next whole record
/// (noted in `damage`); a torn last record, or corruption with nothing whole after it, stops the
/// reader with `problem`.
package struct RawTraceReader {
    /// nil: the whole trace is in `buffer` already (`RawTrace.decode`).
    private let handle: FileHandle?
    private var buffer: [UInt8] = []
    private var start = 0
    private var fileOffset = 0
    private var atEnd = false
    /// Why reading stopped before the end of the file (a torn last record, a read error, or
    /// corruption with no whole record after it), if it did.
    package private(set) var problem: String?
    /// Corrupt stretches in the middle of the trace that were skipped, each with where and why: the
    /// reader goes on at the next whole record (CRC-checked), so one bad sector loses one record, not
    /// the hours after it.
    package private(set) var damage: [String] = []
    /// While inside a corrupt stretch: why, and the buffer index to try next.
    private var resync: (problem: String, scan: Int)?
    /// Where the corrupt stretch began (file offset) and the CRC bytes spent looking past it.
    private var resyncStart = 0
    private var resyncSpent = 0
    static let resyncBudget = 16 << 20
    /// The last good record's monotonic nanoseconds (nil before the first), for judging candidates.
    private var lastGoodMonotonic: UInt64?

    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    /// `path` "-" reads standard input, so a compressed trace is replayed without unpacking it to
    /// disk: `zstd -dc run.alvtrace.zst | alveo replay -`.
    package init(path: String) throws {
        let header: [UInt8]
        do {
            let opened = try FileReading.open(path)
            handle = opened
            header = try FileReading.read(opened, count: 10)
        } catch {
            throw Failure(description: "\(path): cannot read the trace: \(error)")
        }
        if let problem = RawTrace.checkHeader(header[...]) {
            let hint = FileReading.compression(header).map { "; it is \($0)-compressed: read it through a pipe, `\($0) -dc \(path) | alveo replay -` (or trace info, dump, export with -)" } ?? ""
            throw Failure(description: "\(path): \(problem)\(hint)")
        }
        fileOffset = 10
    }

    /// A reader over a whole trace in memory (header included; check it with `RawTrace.checkHeader`).
    package init(bytes: [UInt8]) {
        handle = nil
        buffer = bytes
        start = min(10, bytes.count)
        fileOffset = start
        atEnd = true
        problem = RawTrace.checkHeader(bytes[...])
    }

    /// The next whole record, or nil at the end of the file or where reading had to stop.
    package mutating func next() -> TraceRecord? {
        guard problem == nil else { return nil }
        while true {
            if let (reason, scan) = resync {
                // Look for the next offset where a whole record with a good CRC begins. A CRC costs the
                // candidate's length: the bytes checked are budgeted (16 MiB, plus 16 per byte
                // skipped), so a stretch of crafted plausible headers costs time linear in its size.
                var position = scan
                var found = false
                scanning: while position < buffer.count {
                    // Most offsets fail on two bytes (a known kind; a length under 32 MiB): skip
                    // those without building a slice.
                    position = buffer.withUnsafeBufferPointer { bytes in
                        var index = position
                        while index + 5 <= bytes.count, bytes[index + 3] > 1 || TraceRecord.Kind(rawValue: bytes[index + 4]) == nil { index += 1 }
                        return index
                    }
                    switch RawTrace.plausibleRecord(buffer[position...], after: lastGoodMonotonic) {
                    case nil where !atEnd: break scanning
                    case true?:
                        let length = Int(RawTrace.read(UInt32.self, buffer[position...], at: 0))
                        let budget = RawTraceReader.resyncBudget + 16 * (fileOffset + position - start - resyncStart)
                        guard resyncSpent + length <= budget else {
                            position += 1
                            continue scanning
                        }
                        switch RawTrace.nextRecord(buffer[position...], fileOffset: fileOffset + position - start, atEnd: atEnd) {
                        case .record:
                            found = true
                            break scanning
                        case .needMore: break scanning
                        case .problem:
                            resyncSpent += length
                            position += 1
                        }
                    default: position += 1
                    }
                }
                if found {
                    fileOffset += position - start
                    start = position
                    damage.append("\(reason): skipped \(fileOffset - resyncStart) bytes, went on at byte \(fileOffset)")
                    resync = nil
                    continue
                }
                if position >= buffer.count, atEnd {
                    problem = reason.hasPrefix("torn") ? reason : "\(reason); no whole record after it"
                    return nil
                }
                resync = (reason, position)
            } else if start < buffer.count || atEnd {
                if start == buffer.count, atEnd { return nil }
                switch RawTrace.nextRecord(buffer[start...], fileOffset: fileOffset, atEnd: atEnd) {
                case .record(let record, let size):
                    lastGoodMonotonic = TraceRecord.nanoseconds(seconds: record.monotonic)
                    start += size
                    fileOffset += size
                    return record
                case .problem(let problem):
                    // Torn (a power loss cut the last record) or corrupt: either way, whatever whole
                    // record follows is read; a torn last record has none after it.
                    resync = (problem, start + 1)
                    resyncStart = fileOffset
                    resyncSpent = 0
                    continue
                case .needMore: break
                }
            }
            guard let handle, !atEnd else {
                atEnd = true
                continue
            }
            // Keep the unread tail, then read on. Inside a corrupt stretch, what was scanned is not
            // kept: memory stays bounded however long the stretch.
            if let (_, scan) = resync, scan > start {
                fileOffset += scan - start
                start = scan
            }
            let need = needed(at: resync?.scan ?? start)
            if start > 0 {
                buffer.removeFirst(start)
                if let (reason, scan) = resync { resync = (reason, scan - start) }
                start = 0
            }
            do {
                let more = try FileReading.read(handle, count: max(1 << 20, need))
                if more.isEmpty { atEnd = true } else { buffer += more }
            } catch {
                // A failing disk or USB stick: what was read stands, and the reader says where it stopped.
                problem = "read error at byte \(fileOffset + buffer.count - start): \(error)"
                return nil
            }
        }
    }

    /// Bytes the record at buffer index `index` needs beyond the start, when its length is known.
    private func needed(at index: Int) -> Int {
        guard buffer.count - index >= 4 else { return 0 }
        // Never more than the longest record: a length still to be judged may be garbage.
        return min(Int(RawTrace.read(UInt32.self, buffer[index...], at: 0)), RawTrace.maxRecordLength) + 8 + (index - start)
    }
}

/// Appends records to a trace file, each written and fsync'ed before the next (append-safe: a power
/// cut loses at most the record being written). Safe to call from several poller threads.
package final class TraceWriter: @unchecked Sendable {
    // @unchecked: `handle`, `finished` and `failures` are only touched under `lock`.
    private let lock = NSLock()
    private let handle: FileHandle
    package let path: String

    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    private let durable: Bool
    private var finished = false
    private var failures = 0
    /// The file's length after the last whole record written.
    private var goodLength: UInt64 = 0
    /// The latest monotonic time written.
    private var latest = 0.0
    private let onError: @Sendable (String) -> Void
    private let onStop: (@Sendable (String) -> Void)?

    /// Where a recording stops on its own while the agent runs on: a trace must never fill the disk
    /// that the alarm journal is written to.
    package struct Limits: Sendable {
        /// Stop recording when the file reaches this many bytes (nil: no cap).
        package var maxBytes: Int64?
        /// Stop recording when the trace's file system has fewer free bytes than this (nil: no floor);
        /// checked at the start and after every MiB written.
        package var minFreeBytes: Int64?
        /// The free bytes on the trace's file system (replaceable in tests).
        package var freeSpace: @Sendable (String) -> Int64?

        package init(maxBytes: Int64? = nil, minFreeBytes: Int64? = nil,
                    freeSpace: @escaping @Sendable (String) -> Int64? = TraceWriter.freeSpace) {
            self.maxBytes = maxBytes
            self.minFreeBytes = minFreeBytes
            self.freeSpace = freeSpace
        }
    }

    /// Free bytes available to this user on the file system holding `path`.
    package static func freeSpace(_ path: String) -> Int64? {
        let attributes = try? FileManager.default.attributesOfFileSystem(forPath: path)
        return (attributes?[.systemFreeSize] as? NSNumber)?.int64Value
    }

    private let limits: Limits
    private var bytesSinceSpaceCheck = 0
    /// Why the recording stopped while the agent ran on (size cap, low disk space), if it did.
    package var stoppedReason: String? { lock.withLock { stopReason } }
    private var stopReason: String?

    /// `durable`: fsync after every record (recording a patient); false only for generated traces.
    /// `onError` hears of the first record that could not be written, and of every 1000th after it;
    /// `onStop` (else `onError`) of a recording stopped by `limits` (`stoppedReason` then says why).
    /// A file system already below `limits.minFreeBytes` is refused here, before anything is created.
    package init(path: String, durable: Bool = true, limits: Limits = Limits(),
                onError: @escaping @Sendable (String) -> Void = { _ in }, onStop: (@Sendable (String) -> Void)? = nil) throws {
        self.path = path
        self.durable = durable
        self.onError = onError
        self.onStop = onStop
        self.limits = limits
        if let floor = limits.minFreeBytes, let free = limits.freeSpace((path as NSString).deletingLastPathComponent), free < floor {
            throw Failure(description: "\(path): not recording: \(TraceWriter.megabytes(free)) free on its file system, "
                + "below the \(TraceWriter.megabytes(floor)) kept free for the alarm journal and the system")
        }
        // A trace holds device data about a patient: readable by owner and group only (0640).
        let handle: FileHandle
        do {
            handle = try PrivateFiles.open(path, truncate: true)
            try handle.write(contentsOf: Data(RawTrace.magic + [UInt8(RawTrace.version & 0xFF), UInt8(RawTrace.version >> 8)]))
        } catch {
            throw Failure(description: "\(path): cannot create the trace file: \(error)")
        }
        goodLength = try handle.seekToEnd()
        self.handle = handle
    }

    static func megabytes(_ bytes: Int64) -> String {
        String(format: bytes < 1_000_000 ? "%.3f MB" : "%.1f MB", Double(bytes) / 1_000_000)
    }

    deinit { try? handle.close() }

    package func write(_ record: TraceRecord) {
        write(record) {}
    }

    /// Writes the record, then runs `then` (handing its observations to the core) before any other
    /// record is written: the order of the records in the file is the order the core saw them in,
    /// so that replay feeds the rules in exactly the live order.
    package func write(_ record: TraceRecord, then: () -> Void) {
        write([record], then: then)
    }

    /// Writes the records consecutively (a Modbus poll's blocks), then runs `then`, in one step.
    package func write(_ records: [TraceRecord], then: () -> Void) {
        let encoded = records.map { Data(RawTrace.encode($0)) }
        lock.withLock {
            for (record, bytes) in zip(records, encoded) {
                latest = max(latest, record.monotonic)
                append(bytes)
            }
            then()
        }
    }

    /// Under `lock`. A failed write is cut back off the file, so that one bad record (disk full) does
    /// not hide the records after it from a reader: only the failed records are lost, and counted.
    private func append(_ bytes: Data) {
        guard !finished else { return }
        do {
            try handle.write(contentsOf: bytes)
            if durable { try handle.synchronize() }
            goodLength += UInt64(bytes.count)
        } catch {
            try? handle.truncate(atOffset: goodLength)
            failures += 1
            if failures == 1 || failures % 1000 == 0 { onError("\(path): \(failures) record(s) could not be written: \(error)") }
            return
        }
        checkLimits(after: bytes.count)
    }

    /// Under `lock`, after a record was written: stops the recording (an end record carrying the
    /// reason, then nothing more) when the file reached its cap or the disk is nearly full.
    private func checkLimits(after written: Int) {
        var reason: String?
        if let cap = limits.maxBytes, Int64(goodLength) >= cap {
            reason = "the trace reached its size limit of \(TraceWriter.megabytes(cap))"
        }
        bytesSinceSpaceCheck += written
        if reason == nil, let floor = limits.minFreeBytes, bytesSinceSpaceCheck >= 1 << 20 {
            bytesSinceSpaceCheck = 0
            if let free = limits.freeSpace((path as NSString).deletingLastPathComponent), free < floor {
                reason = "only \(TraceWriter.megabytes(free)) free on the trace's file system, below the \(TraceWriter.megabytes(floor)) kept free for the alarm journal and the system"
            }
        }
        guard let reason else { return }
        let end = TraceRecord(kind: .end, monotonic: latest, wallNanoseconds: TraceWriter.wallNow(), device: "",
                              payload: Array("recording stopped: \(reason)".utf8))
        finished = true  // first, so that nothing, not even this end record, is checked again
        let bytes = RawTrace.encode(end)
        do {
            try handle.write(contentsOf: Data(bytes))
            if durable { try handle.synchronize() }
            goodLength += UInt64(bytes.count)
        } catch {
            try? handle.truncate(atOffset: goodLength)
        }
        stopReason = reason
        (onStop ?? onError)("\(path): recording stopped: \(reason)")
    }

    /// Writes the end record (a clean stop) as the trace's last, then runs `then` (closing the
    /// core's input), in one step: what was written before it reached the core, nothing is written
    /// after it. Its time is never before a record already written. Only the first call writes.
    package func finish(_ record: TraceRecord, before: [TraceRecord] = [], then: () -> Void = {}) {
        lock.withLock {
            if !finished {
                // Records that belong with the end (the agent's stop), in the same step.
                for other in before {
                    latest = max(latest, other.monotonic)
                    append(Data(RawTrace.encode(other)))
                }
                var last = record
                last.monotonic = max(record.monotonic, latest)
                append(Data(RawTrace.encode(last)))
                finished = true
            }
            then()
        }
    }

    /// Records that could not be written (disk full, I/O error).
    package var failedRecords: Int { lock.withLock { failures } }

    /// Wall-clock nanoseconds now, for records.
    package static func wallNow() -> Int64 { Int64(saturating: Date().timeIntervalSince1970 * 1e9) }
}
