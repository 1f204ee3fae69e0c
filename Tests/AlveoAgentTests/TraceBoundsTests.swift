import AlveoTestKit
import AlveoTrace
import Foundation
import Testing

/// Reading a trace costs time and memory linear in what is in it, however it was damaged or made:
/// before, a record 2^63 ns ahead made replay tick its sessions for hours, 32 MB of junk took 69 s to
/// resynchronise through, and a 16 MiB Nonin format 8 record took 764 MB to replay.
@Suite(.serialized, .endToEnd, .ownThread) struct TraceBoundsTests {
    let directory: URL

    init() throws {
        directory = try Paths.temporaryDirectory()
    }

    func config(_ device: String) -> TraceRecord {
        TraceRecord(kind: .config, monotonic: 0, wallNanoseconds: 0, device: "",
                    payload: Array("patient: {sex: male, height_cm: 170}\ndevices:\n  - \(device)\n".utf8))
    }

    func write(_ records: [TraceRecord], junk: (after: Int, bytes: [UInt8])? = nil, name: String = "t.alvtrace") throws -> String {
        let path = directory.appendingPathComponent(name).path
        var bytes = RawTrace.magic + [UInt8(RawTrace.version & 0xFF), UInt8(RawTrace.version >> 8)]
        for (index, record) in records.enumerated() {
            bytes += RawTrace.encode(record)
            if let junk, junk.after == index { bytes += junk.bytes }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static let masimo = "{id: oxi, transport: {kind: serial, protocol: masimo_ascii1, path: /dev/null, baud: 9600}}"
    static let probeOff = Array("11/29/26 10:00:00 SN=1 SPO2=---% BPM=--- PI=--.--% ALARM=0000 EXC=000820\r\n".utf8)

    @Test func aRecordTimeJumpingFarAheadIsSkippedAndReported() throws {
        let trace = try write([
            config(Self.masimo),
            TraceRecord(kind: .opened, monotonic: 0.5, wallNanoseconds: 0, device: "oxi", payload: []),
            TraceRecord(kind: .received, monotonic: 1, wallNanoseconds: 0, device: "oxi", payload: Self.probeOff),
            TraceRecord(kind: .tick, monotonic: 2, wallNanoseconds: 0, device: "", payload: []),
            // 2^63 ns: about 292 years ahead.
            TraceRecord(kind: .received, monotonic: 9.223372036854775807e9, wallNanoseconds: 0, device: "oxi", payload: Self.probeOff),
            TraceRecord(kind: .tick, monotonic: 3, wallNanoseconds: 0, device: "", payload: []),
            TraceRecord(kind: .end, monotonic: 4, wallNanoseconds: 0, device: "", payload: []),
        ])
        let result = try ChildProcess.run([Paths.alveo, "replay", trace], timeout: 60)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("1 record(s) skipped: their time jumped more than 24 h past the latest record replayed"), "\(result.stderr)")
        #expect(result.stdout.contains("technical.sensor_off"), "the records around it replay: \(result.stdout)")
        #expect(!result.stdout.contains("\"t\":9223"), "nothing happens at the jumped time")
    }

    @Test func aJumpWithinADayIsReplayed() throws {
        let trace = try write([
            config(Self.masimo),
            TraceRecord(kind: .opened, monotonic: 0.5, wallNanoseconds: 0, device: "oxi", payload: []),
            TraceRecord(kind: .received, monotonic: 1, wallNanoseconds: 0, device: "oxi", payload: Self.probeOff),
            TraceRecord(kind: .tick, monotonic: 23 * 3600, wallNanoseconds: 0, device: "", payload: []),
            TraceRecord(kind: .end, monotonic: 23 * 3600 + 1, wallNanoseconds: 0, device: "", payload: []),
        ])
        let result = try ChildProcess.run([Paths.alveo, "replay", trace], timeout: 60)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains("record(s) skipped"), "\(result.stderr)")
        #expect(result.stdout.contains("\"rule\":\"technical.device_silent\""), "23 h of silence is found: \(result.stdout)")
    }

    /// 64 MB of random bytes inside a trace (a bad stretch of disk): the reader scans it once, in
    /// bounded memory, and goes on at the next whole record.
    @Test func aLongStretchOfJunkIsScannedOnceInBoundedMemory() throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var junk = [UInt8](repeating: 0, count: 64 << 20)
        for index in junk.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            junk[index] = UInt8(truncatingIfNeeded: state >> 33)
        }
        let trace = try write([
            config(Self.masimo),
            TraceRecord(kind: .opened, monotonic: 0.5, wallNanoseconds: 0, device: "oxi", payload: []),
            TraceRecord(kind: .received, monotonic: 1, wallNanoseconds: 0, device: "oxi", payload: Self.probeOff),
            TraceRecord(kind: .tick, monotonic: 2, wallNanoseconds: 0, device: "", payload: []),
            TraceRecord(kind: .end, monotonic: 3, wallNanoseconds: 0, device: "", payload: []),
        ], junk: (after: 2, bytes: junk))
        let (result, peak) = try peakMemory([Paths.alveo, "trace", "info", trace], timeout: 60)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("skipped \(64 << 20) bytes"), "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("ended cleanly (end record)"), "the records after the junk are read: \(result.stdout)")
        #expect(peak > 0 && peak < 150_000, "peak \(peak) KiB for 64 MB of junk")
        print("trace info through 64 MB of junk: peak \(peak) KiB")
    }

    /// A 4 MiB received record of Nonin format 8 frames (1 Mi frames, a group each) replays in bounded
    /// memory: it is handed to the session in pieces no larger than a live read (before, every frame's
    /// observations were built at once: 764 MB for 16 MiB).
    @Test func aHugeReceivedRecordReplaysInBoundedMemory() throws {
        let count = 1 << 20
        let frames = [UInt8]([0x80, 72, 97, 0x00]).repeated(count: count)
        let trace = try write([
            config("{id: df8, transport: {kind: serial, protocol: nonin_df8, path: /dev/null, baud: 9600}}"),
            TraceRecord(kind: .opened, monotonic: 0.5, wallNanoseconds: 0, device: "df8", payload: []),
            TraceRecord(kind: .received, monotonic: 1, wallNanoseconds: 0, device: "df8", payload: frames),
            TraceRecord(kind: .end, monotonic: 2, wallNanoseconds: 0, device: "", payload: []),
        ])
        let (result, peak) = try peakMemory([Paths.alveo, "replay", trace], timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("df8: decoded \(count)"), "\(result.stderr)")
        #expect(peak > 0 && peak < 120_000, "peak \(peak) KiB")
        print("replay of a 4 MiB Nonin format 8 record: peak \(peak) KiB")
    }
}

extension Array {
    func repeated(count: Int) -> [Element] {
        var out: [Element] = []
        out.reserveCapacity(self.count * count)
        for _ in 0..<count { out += self }
        return out
    }
}
