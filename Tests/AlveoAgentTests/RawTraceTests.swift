import AlveoTestKit
import AlveoCore
import AlveoTrace
import Foundation
import Synchronization
import Testing

@Suite struct RawTraceTests {
    static let records = [
        TraceRecord(kind: .config, monotonic: 0, wallNanoseconds: 1_764_000_000_000_000_000, device: "", payload: Array("patient: {}".utf8)),
        TraceRecord(kind: .sent, monotonic: 0.001, wallNanoseconds: 1_764_000_000_001_000_000, device: "vent", payload: Array("SNDF\r".utf8)),
        TraceRecord(kind: .received, monotonic: 0.25, wallNanoseconds: 1_764_000_000_250_000_000, device: "vent", payload: [0x02, 0x03, 0x0D]),
        TraceRecord(kind: .modbusRegisters, monotonic: 1.5, wallNanoseconds: 1_764_000_001_500_000_000, device: "gw", payload: [4, 1, 0, 2, 0, 97, 0, 72, 0]),
        TraceRecord(kind: .pollFailed, monotonic: 2.5, wallNanoseconds: 1_764_000_002_500_000_000, device: "gw", payload: Array("timeout".utf8)),
    ]

    func writeTrace() throws -> String {
        let path = try Paths.temporaryDirectory().appendingPathComponent("run.alvtrace").path
        let writer = try TraceWriter(path: path)
        Self.records.forEach(writer.write)
        return path
    }

    @Test func recordsRoundTrip() throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: try writeTrace())))
        let (records, problem) = RawTrace.decode(bytes)
        #expect(problem == nil)
        #expect(records == Self.records)
    }

    /// The live agent's clock gives the core whole nanoseconds as `seconds(nanoseconds:)`; the file
    /// must give back the very same Double, or a replayed event's `t` prints differently from the
    /// live one (CI once failed on 7.929628626 read back as 7.9296286259999995).
    @Test func liveTimesSurviveTheFileExactly() {
        var generator = SystemRandomNumberGenerator()
        let ranges: [ClosedRange<UInt64>] = [0...10_000_000_000, 0...86_400_000_000_000,
                                            0...(30 * 86_400_000_000_000), 0...(400 * 86_400_000_000_000)]
        var samples: [UInt64] = [7_929_628_626, 1, 999_999_999, 1 << 53, (1 << 53) + 1]
        for range in ranges { for _ in 0..<20_000 { samples.append(UInt64.random(in: range, using: &generator)) } }
        for nanoseconds in samples {
            let live = TraceRecord.seconds(nanoseconds: nanoseconds)
            let record = TraceRecord(kind: .tick, monotonic: live, wallNanoseconds: 0, device: "", payload: [])
            let header = RawTrace.magic + [UInt8(RawTrace.version & 0xFF), UInt8(RawTrace.version >> 8)]
            let decoded = RawTrace.decode(header + RawTrace.encode(record)).records.first?.monotonic
            #expect(decoded == live, "\(nanoseconds) ns")
            if decoded != live { return }
        }
    }

    @Test func recordsAreListedForPeople() {
        #expect(TraceListing.quoted([0x1B, 0x51, 0x36, 0x43, 0x0D, 0x0A, 0x09, 0x5C, 0x22, 0x7F, 0x00, 0xFF, 0x41]) == #""\x1BQ6C\r\n\t\\\"\x7F\x00\xFFA""#)
        #expect(TraceListing.registers([4, 1, 0, 2, 0, 97, 0, 0x00, 0x80]) == "input 1..2 (2): 0061 8000")
        #expect(TraceListing.registers([3, 0x10, 0, 3, 0, 1, 0]) == "holding 16..18 (3) (only 1 present): 0001")
        #expect(TraceListing.registers([4, 1]) == "(malformed block: 2 B)")
        #expect(TraceListing.registers([4, 7, 0, 0, 0]) == "input at 7 (0 registers)")
        #expect(TraceListing.registers([4, 1, 0, 1, 0, 1, 0, 9]) == "input 1..1 (1) (1 B after them): 0001")
        #expect(TraceListing.wallTime(1_764_000_000_250_000_000) == "2025-11-24T16:00:00.250Z")
        #expect(TraceListing.wallTime(0) == "1970-01-01T00:00:00.000Z")
        #expect(TraceListing.wallTime(-1) == "1969-12-31T23:59:59.999Z", "rounded down before 1970 too")
        #expect(TraceListing.wallTime(-1_500_000) == "1969-12-31T23:59:59.998Z")
        // Text from the file cannot break a line or reach the terminal as control sequences.
        let hostile = TraceRecord(kind: .pollFailed, monotonic: 1, wallNanoseconds: 0, device: "a\nb", payload: Array("x\u{1B}[2Jy\n".utf8))
        #expect(TraceListing.line(hostile, index: 1) == #"#1  1.000000000  1970-01-01T00:00:00.000Z  a\nb  failed  x\x1B[2Jy\n"#)
        #expect(TraceListing.line(Self.records[1], index: 2) == #"#2  0.001000000  2025-11-24T16:00:00.001Z  vent  sent 5 B  "SNDF\r""#)
        #expect(TraceListing.line(Self.records[4], index: 5) == "#5  2.500000000  2025-11-24T16:00:02.500Z  gw  failed  timeout")
    }

    /// The one RFC 3339 formatter (journal wall_time, HL7, syslog, trace listings) agrees with
    /// Foundation's on whole milliseconds, across centuries and leap days.
    @Test func utcTimesMatchFoundation() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var generator = SystemRandomNumberGenerator()
        var samples: [Int64] = [0, 951_782_400_000, 951_868_799_999, 4_107_542_400_000, -86_400_000, 1_795_564_800_123]
        for _ in 0..<5000 { samples.append(Int64.random(in: -2_208_988_800_000...7_258_118_400_000, using: &generator)) }
        for milliseconds in samples {
            // A quarter millisecond in: Foundation rounds to the nearest millisecond, we round down
            // (a timestamp is never later than the moment); both give this one.
            let date = Date(timeIntervalSince1970: (Double(milliseconds) + 0.25) / 1000)
            #expect(UTCTime.rfc3339(millisecondsSince1970: milliseconds) == formatter.string(from: date), "\(milliseconds) ms")
        }
    }

    /// What people type to list part of a trace: agent seconds, h:mm:ss as `trace info` prints, or UTC.
    @Test func listingBoundsReadTheWaysPeopleWriteTimes() {
        #expect(TraceTimeBound("192.5") == .agent(192.5))
        #expect(TraceTimeBound("0:03:12") == .agent(192))
        #expect(TraceTimeBound("3:12.5") == .agent(192.5))
        #expect(TraceTimeBound("72:00:05") == .agent(259_205))
        #expect(TraceTimeBound("2026-11-25T03:12:00Z") == .wall(1_795_576_320_000 * 1_000_000))
        #expect(TraceTimeBound("2026-11-25T03:12:00.25Z") == .wall(1_795_576_320_250 * 1_000_000))
        for bad in ["", "nan", "-5", "3:99", "1:2:3:4", "abc", "2026-02-30T00:00:00Z", "2026-11-25T24:00:00Z", "2026-11-25T03:12:00",
                    "2026-11-25T03:12:00.1234567891Z", "inf"] {
            #expect(TraceTimeBound(bad) == nil, "\(bad)")
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let milliseconds = Int64.random(in: -2_208_988_800_000...7_258_118_400_000, using: &generator)
            #expect(UTCTime.parse(rfc3339: UTCTime.rfc3339(millisecondsSince1970: milliseconds)) == milliseconds, "\(milliseconds)")
        }
    }

    @Test func theSummaryCountsWhatEachDeviceDid() {
        var summary = TraceSummary()
        Self.records.forEach { summary.add($0) }
        #expect(summary.records == 5 && summary.ticks == 0 && !summary.ended)
        #expect(summary.configuration == "patient: {}")
        #expect(summary.devices["vent"]?.sentBytes == 5 && summary.devices["vent"]?.receivedBytes == 3)
        #expect(summary.devices["gw"]?.registerBlocks == 1 && summary.devices["gw"]?.failed == 1)
        #expect(summary.devices["gw"]?.lastFailure == "timeout")
        let text = summary.text(path: "run.alvtrace", problem: nil)
        #expect(text.contains("no end record"), "\(text)")
        #expect(text.contains("  gw: 1 register block, 1 failed, from 1.5 s to 2.5 s\n    last failure: timeout\n"), "\(text)")
        summary.add(TraceRecord(kind: .end, monotonic: 3, wallNanoseconds: 1_764_000_003_000_000_000, device: "", payload: []))
        #expect(summary.text(path: "run.alvtrace", problem: nil).contains("ended cleanly"))
        #expect(summary.text(path: "run.alvtrace", problem: "torn record at byte 99: length cut").contains("ends early: torn record at byte 99"))
    }

    @Test func aTraceCutAnywhereGivesTheRecordsBeforeTheCutAndSaysWhere() throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: try writeTrace())))
        let ends = RawTrace.decode(bytes).records.indices.map { index in
            10 + Self.records[...index].reduce(0) { $0 + RawTrace.encode($1).count }
        }
        for cut in 11..<bytes.count {
            let (records, problem) = RawTrace.decode(Array(bytes.prefix(cut)))
            let whole = ends.filter { $0 <= cut }.count
            #expect(records == Array(Self.records.prefix(whole)), "cut at \(cut)")
            if ends.contains(cut) {
                #expect(problem == nil, "cut at a record boundary is clean")
            } else {
                #expect(problem?.contains("torn record") == true, "cut at \(cut): \(problem ?? "nil")")
            }
        }
    }

    /// One damaged byte anywhere loses the record it is in, and only that one: reading goes on at the
    /// next whole record, and says where and how much it skipped. Damage in the last record stops the
    /// reader there with the reason.
    @Test func aCorruptByteLosesOnlyItsRecord() throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: try writeTrace())))
        var starts: [Int] = [10]
        for record in Self.records { starts.append(starts.last! + RawTrace.encode(record).count) }
        for position in 10..<bytes.count {
            let index = starts.lastIndex { $0 <= position }!
            for flip: UInt8 in [0xFF, 0x01] {
                var damaged = bytes
                damaged[position] ^= flip
                let (records, problem, damage) = RawTrace.decodeReportingDamage(damaged)
                var expected = Self.records
                expected.remove(at: index)
                #expect(records == expected, "byte \(position) ^ \(flip) (record \(index))")
                if index == Self.records.count - 1 {
                    #expect(problem != nil && damage.isEmpty, "byte \(position): \(problem ?? "nil")")
                } else {
                    #expect(problem == nil, "byte \(position): \(problem ?? "")")
                    let skipped = starts[index + 1] - starts[index]
                    #expect(damage.count == 1 && damage[0].contains("record at byte \(starts[index])")
                        && damage[0].hasSuffix("skipped \(skipped) bytes, went on at byte \(starts[index + 1])"), "byte \(position): \(damage)")
                }
            }
        }
    }

    /// Bytes that are not records at all between two records (a bad sector, a stray write) are skipped.
    @Test func garbageBetweenRecordsIsSkipped() throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: try writeTrace())))
        let at = 10 + RawTrace.encode(Self.records[0]).count
        let garbage: [UInt8] = (0..<37).map { UInt8(truncatingIfNeeded: $0 &* 97 &+ 13) }
        let (records, problem, damage) = RawTrace.decodeReportingDamage(Array(bytes[..<at]) + garbage + Array(bytes[at...]))
        #expect(records == Self.records && problem == nil)
        #expect(damage.count == 1 && damage[0].hasSuffix("skipped 37 bytes, went on at byte \(at + 37)"), "\(damage)")
    }

    /// The streaming reader `alveo replay` uses agrees with `decode` at every cut: same records, same reason.
    @Test func theStreamingReaderStopsWhereDecodeDoesForEveryCut() throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: try writeTrace())))
        let directory = try Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for cut in 10...bytes.count {
            let file = directory.appendingPathComponent("cut-\(cut).alvtrace")
            try Data(bytes.prefix(cut)).write(to: file)
            var reader = try RawTraceReader(path: file.path)
            var records: [TraceRecord] = []
            while let record = reader.next() { records.append(record) }
            let (expected, problem) = RawTrace.decode(Array(bytes.prefix(cut)))
            #expect(records == expected, "cut at \(cut)")
            #expect(reader.problem == problem, "cut at \(cut)")
        }
    }

    /// A record longer than one 1 MiB read is still read whole, and the records after it too.
    @Test func aRecordLargerThanOneReadIsReadWhole() throws {
        let path = try Paths.temporaryDirectory().appendingPathComponent("big.alvtrace").path
        let writer = try TraceWriter(path: path, durable: false)
        let big = TraceRecord(kind: .received, monotonic: 1, wallNanoseconds: 0, device: "vent",
                              payload: (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let records = [Self.records[0], big, Self.records[2]]
        records.forEach(writer.write)
        var reader = try RawTraceReader(path: path)
        var read: [TraceRecord] = []
        while let record = reader.next() { read.append(record) }
        #expect(reader.problem == nil)
        #expect(read == records)
    }

    /// A corrupt length is reported, not used to read the rest of the file into memory.
    @Test func anImpossibleLengthIsCorruption() {
        let bytes = RawTrace.magic + [UInt8(RawTrace.version), 0] + [0xF0, 0xFF, 0xFF, 0x7F] + [UInt8](repeating: 0, count: 64)
        let (records, problem) = RawTrace.decode(bytes)
        #expect(records.isEmpty)
        #expect(problem?.contains("over the \(RawTrace.maxRecordLength)-byte limit") == true, "\(problem ?? "nil")")
    }

    /// The end record is the last: records written after it are dropped, and its time is never
    /// before a record already written.
    @Test func nothingIsWrittenAfterTheEnd() throws {
        let path = try Paths.temporaryDirectory().appendingPathComponent("end.alvtrace").path
        let writer = try TraceWriter(path: path, durable: false)
        Self.records.forEach(writer.write)
        var closed = false
        writer.finish(TraceRecord(kind: .end, monotonic: 1, wallNanoseconds: 0, device: "", payload: [])) { closed = true }
        writer.write(Self.records[1])
        writer.finish(TraceRecord(kind: .end, monotonic: 9, wallNanoseconds: 0, device: "", payload: []))
        #expect(closed)
        let (records, problem) = RawTrace.decode(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(problem == nil)
        #expect(records.count == Self.records.count + 1)
        #expect(records.last?.kind == .end)
        #expect(records.last?.monotonic == 2.5, "not before the last record written (2.5 s)")
    }

    /// A recording must never fill the disk the alarm journal is on: at its size cap it ends itself
    /// with an end record saying why, and every later write still hands the core its data.
    @Test func aRecordingStopsItselfAtItsSizeCap() throws {
        let path = try Paths.temporaryDirectory().appendingPathComponent("cap.alvtrace").path
        let heard = Mutex<[String]>([])
        let writer = try TraceWriter(path: path, durable: false, limits: .init(maxBytes: 400, minFreeBytes: nil)) { problem in
            heard.withLock { $0.append(problem) }
        }
        var delivered = 0
        for index in 0..<20 {
            writer.write(TraceRecord(kind: .received, monotonic: Double(index), wallNanoseconds: 0, device: "oxi", payload: Array(repeating: 0x41, count: 50))) {
                delivered += 1
            }
        }
        var closed = false
        writer.finish(TraceRecord(kind: .end, monotonic: 30, wallNanoseconds: 0, device: "", payload: [])) { closed = true }
        #expect(delivered == 20 && closed, "the core gets every delivery whether or not it is recorded")
        let (records, problem) = RawTrace.decode(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(problem == nil)
        let kept = records.filter { $0.kind == .received }
        #expect(kept.count == 5, "records up to the first at or past 400 bytes (10 + 5 × 79)")
        #expect(records.last?.kind == .end && records.count == kept.count + 1)
        #expect(records.last?.monotonic == kept.last?.monotonic, "the end is the last recorded time, not the agent's stop")
        let reason = String(decoding: records.last?.payload ?? [], as: UTF8.self)
        #expect(reason.hasPrefix("recording stopped: the trace reached its size limit"), "\(reason)")
        #expect(writer.stoppedReason?.contains("size limit") == true)
        let messages = heard.withLock { $0 }
        #expect(messages.count == 1 && messages[0].hasSuffix(": recording stopped: \(reason.dropFirst("recording stopped: ".count))"), "\(messages)")
    }

    @Test func aRecordingStopsItselfWhenTheDiskIsNearlyFull() throws {
        let directory = try Paths.temporaryDirectory()
        let free = Mutex<Int64>(10_000_000)
        let limits = TraceWriter.Limits(maxBytes: nil, minFreeBytes: 5_000_000) { _ in free.withLock { $0 } }
        let writer = try TraceWriter(path: directory.appendingPathComponent("disk.alvtrace").path, durable: false, limits: limits)
        let big = TraceRecord(kind: .received, monotonic: 1, wallNanoseconds: 0, device: "vent", payload: Array(repeating: 0, count: 400_000))
        writer.write(big)
        writer.write(big)
        writer.write(big)  // 1.2 MB written: space checked, 10 MB free
        #expect(writer.stoppedReason == nil)
        free.withLock { $0 = 4_000_000 }
        for _ in 0..<3 { writer.write(big) }  // checked again after the next MiB: 4 MB < 5 MB
        #expect(writer.stoppedReason?.contains("only 4.0 MB free on the trace's file system, below the 5.0 MB kept free") == true,
                "\(writer.stoppedReason ?? "not stopped")")
        let (records, _) = RawTrace.decode(Array(try Data(contentsOf: URL(fileURLWithPath: directory.appendingPathComponent("disk.alvtrace").path))))
        #expect(records.count == 6 + 1, "the records up to the check, then the end record")
        #expect(records.last?.kind == .end)

        // Too little space at the start: nothing is created, and the error says why.
        let refused = directory.appendingPathComponent("refused.alvtrace").path
        #expect(throws: TraceWriter.Failure.self) { try TraceWriter(path: refused, limits: limits) }
        do { _ = try TraceWriter(path: refused, limits: limits) } catch { #expect("\(error)".contains("kept free for the alarm journal")) }
        #expect(!FileManager.default.fileExists(atPath: refused))
    }

    /// A trace from an older format version is refused with the reason, not misread.
    @Test func anOlderVersionIsRefusedWithItsNumber() throws {
        let path = try Paths.temporaryDirectory().appendingPathComponent("v1.alvtrace").path
        try Data(RawTrace.magic + [1, 0]).write(to: URL(fileURLWithPath: path))
        #expect(throws: (any Error).self) { try RawTraceReader(path: path) }
        do {
            _ = try RawTraceReader(path: path)
        } catch {
            #expect("\(error)".contains("version 1; this Alveo reads version \(RawTrace.version)"))
        }
    }
}
