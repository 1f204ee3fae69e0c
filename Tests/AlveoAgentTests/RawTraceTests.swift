import AlveoTrace
import Foundation
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

    @Test func aCorruptRecordStopsTheReaderWithAReason() throws {
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: try writeTrace())))
        bytes[10 + RawTrace.encode(Self.records[0]).count + 10] ^= 0xFF
        let (records, problem) = RawTrace.decode(bytes)
        #expect(records.count == 1)
        #expect(problem?.contains("CRC mismatch") == true)
    }
}
