import AlveoTestKit
import AlveoTrace
import Foundation
import Testing

/// Golden raw traces: every trace under devices/<device>/traces replayed by `alveo replay` (from a
/// scratch directory: the trace alone, with its stored configuration and profiles) must give exactly
/// the events in `<name>.expected.jsonl`, twice byte-identically, and the faults it holds must show.
/// The traces are made by `swift run alveo-bench golden-traces` (see docs/trace-format.md); to accept
/// a deliberate change of the expected events, run with ALVEO_UPDATE_GOLDEN=1 and review the diff.
/// `simulated-bed/traces/live-all-protocols` was recorded live (devices/simulated-bed/record-live.sh):
/// its expected events are the live agent's own output, so replay must equal live byte for byte.
@Suite(.endToEnd, .ownThread) struct GoldenTraceTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var device: String
        var name: String
        /// rule/phase or rule/phase/source that must be among the events.
        var required: [String]
        /// The device's tally line on stderr must show rejected frames or skipped bytes (noise was sent).
        var garbled: Bool
        /// Recorded live by `alveo run --record`: the expected events are what the live agent printed,
        /// never rewritten from a replay (re-record with the script beside it instead).
        var live = false
        var testDescription: String { "\(device)/\(name)" }
        var trace: URL { Paths.repository.appendingPathComponent("devices/\(device)/traces/\(name).alvtrace") }
        var expected: URL { Paths.repository.appendingPathComponent("devices/\(device)/traces/\(name).expected.jsonl") }
    }

    static let cases = [
        Case(device: "pb840", name: "pb840-faults", required: [
            "technical.value_rejected/start/vent", "lpv.plateau_high/start", "lpv.driving_pressure_high/end",
            "technical.device_silent/start/vent", "technical.device_silent/end/vent",
        ], garbled: true),
        Case(device: "medibus", name: "medibus-faults", required: [
            "lpv.plateau_high/start", "technical.device_silent/start/vent", "technical.device_silent/end/vent",
        ], garbled: true),
        Case(device: "masimo-ascii1", name: "masimo-faults", required: [
            "technical.sensor_off/start/oxi", "technical.sensor_off/end/oxi", "oxygenation.spo2_low/start",
            "oxygenation.spo2_low/end", "technical.device_silent/start/oxi", "technical.device_silent/end/oxi",
        ], garbled: true),
        Case(device: "nonin", name: "nonin-df2-faults", required: [
            "technical.sensor_off/start/oxi", "oxygenation.spo2_low/start", "technical.device_silent/start/oxi",
            "technical.device_silent/end/oxi",
        ], garbled: true),
        Case(device: "nonin", name: "nonin-df8-faults", required: [
            "technical.sensor_off/start/oxi", "technical.sensor_off/end/oxi", "technical.device_silent/start/oxi",
        ], garbled: false),
        // The probe flag drawn at random for every frame, garbled bytes on the line (FlapTrace, an hour):
        // one sensor_off alarm for the hour, and value_rejected held intermittent at its chatter bound.
        Case(device: "nonin", name: "nonin-df8-flap", required: [
            "technical.sensor_off/start/oxi", "technical.sensor_off/continue/oxi", "technical.value_rejected/start/oxi",
            "technical.value_rejected/update/oxi",
        ], garbled: true),
        Case(device: "intellivue", name: "intellivue-faults", required: [
            "lpv.plateau_high/start", "oxygenation.spo2_low/start", "technical.device_silent/start/mon", "technical.device_silent/end/mon",
        ], garbled: true),
        Case(device: "ge-s5", name: "ge-s5-faults", required: [
            "lpv.plateau_high/start", "oxygenation.spo2_low/start", "technical.device_silent/start/mon", "technical.device_silent/end/mon",
        ], garbled: true),
        Case(device: "servo", name: "servo-faults", required: [
            "lpv.plateau_high/start", "lpv.driving_pressure_high/start", "lpv.driving_pressure_high/end",
            "technical.device_silent/start/vent", "technical.device_silent/end/vent",
        ], garbled: true),
        Case(device: "servo", name: "servo-radc", required: [
            "lpv.plateau_high/start", "technical.device_silent/start/vent", "technical.device_silent/end/vent",
        ], garbled: true),
        Case(device: "alveo-gateway-v1", name: "gateway-faults", required: [
            "lpv.tidal_volume_high/start", "technical.sensor_off/start/oxi", "technical.device_silent/start/vent",
            "technical.device_silent/start/oxi", "technical.device_silent/end/oxi",
        ], garbled: false),
        Case(device: "generic-float32-cdab", name: "float32-cdab", required: [
            "lpv.plateau_high/start", "oxygenation.pf_severity/start", "technical.device_silent/start/vent",
        ], garbled: false),
        Case(device: "simulated-bed", name: "live-all-protocols", required: [
            "lpv.plateau_high/start", "oxygenation.spo2_low/start",
            "technical.sensor_off/start/masimo", "technical.sensor_off/end/df2", "technical.sensor_off/end/df8",
            "technical.sensor_off/end/oxi", "technical.device_silent/start/vent", "technical.device_silent/start/pb840",
            "technical.device_silent/start/medibus",
        ], garbled: false, live: true),
        // Recorded live with a clinician and the hospital at the bed (devices/bedside/record-bedside.sh):
        // acknowledgements, a gas charted after it was drawn, laboratory results over MLLP, an admission.
        Case(device: "bedside", name: "live-bedside", required: [
            "oxygenation.spo2_low/end", "oxygenation.pf_severity/de-escalate",
            "dah.hemoglobin_drop/start", "dah.hemoptysis_volume/start", "dah.hemoptysis_volume/update", "dah.hemoptysis_volume/end",
        ], garbled: false, live: true),
    ]

    static func keys(_ jsonl: String) -> [String] {
        jsonl.split(separator: "\n").compactMap { line -> String? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return "\(object["rule"] ?? "")/\(object["phase"] ?? "")" + (object["source"].map { "/\($0)" } ?? "")
        }
    }

    @Test(arguments: cases)
    func traceReplaysToItsExpectedEvents(_ testCase: Case) throws {
        let first = try ChildProcess.run([Paths.alveo, "replay", testCase.trace.path])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(!first.stderr.contains("warning"), "a golden trace is whole: \(first.stderr)")
        let second = try ChildProcess.run([Paths.alveo, "replay", testCase.trace.path])
        #expect(first.stdout == second.stdout, "byte-identical replays")

        if ProcessInfo.processInfo.environment["ALVEO_UPDATE_GOLDEN"] == "1", !testCase.live {
            try first.stdout.write(to: testCase.expected, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: testCase.expected, encoding: .utf8)
        let got = first.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let want = expected.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, (g, w)) in zip(got, want).enumerated() where g != w {
            Issue.record("\(testCase.name): first difference at event \(index + 1)\n got: \(g)\nwant: \(w)")
            break
        }
        #expect(got.count == want.count, "\(testCase.name): \(got.count - 1) events, expected \(want.count - 1)")

        let keys = Self.keys(first.stdout)
        for required in testCase.required {
            #expect(keys.contains { $0 == required || $0.hasPrefix(required + "/") }, "\(testCase.name): no \(required) in \(keys)")
        }
        // The tally line: "<id>: decoded N, rejected R, skipped bytes S, failed reads F".
        let tallies = first.stderr.split(separator: "\n").filter { $0.contains(": decoded ") }
        #expect(!tallies.isEmpty, "\(first.stderr)")
        for tally in tallies {
            let numbers = tally.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            #expect(numbers.count >= 4 && numbers[numbers.count - 4] > 0, "every device decoded something: \(tally)")
            if testCase.garbled {
                #expect(numbers[numbers.count - 3] > 0 || numbers[numbers.count - 2] > 0, "noise is counted: \(tally)")
            }
        }
    }

    /// `--speed 100`: a 150 s trace takes at least 1.5 s (a lower bound only: a slow machine is never
    /// wrong) and gives the same events as flat out.
    @Test func speedPacesTheReplayWithoutChangingIt() throws {
        let trace = Self.cases.first { $0.name == "float32-cdab" }!
        let flat = try ChildProcess.run([Paths.alveo, "replay", trace.trace.path])
        let clock = ContinuousClock()
        let start = clock.now
        let paced = try ChildProcess.run([Paths.alveo, "replay", "--speed", "100", trace.trace.path])
        #expect(clock.now - start >= .milliseconds(1500))
        #expect(paced.status == 0, "\(paced.stderr)")
        #expect(paced.stdout == flat.stdout)
    }

    /// A trace cut mid-record at several places (a power cut while recording) replays up to the cut,
    /// with a warning naming the byte: its events are exactly the first events of the whole trace.
    @Test func aCutTraceReplaysUpToTheCutWithAWarning() throws {
        let trace = Self.cases.first { $0.name == "pb840-faults" }!
        let whole = try ChildProcess.run([Paths.alveo, "replay", trace.trace.path])
        let bytes = try Data(contentsOf: trace.trace)
        let records = RawTrace.decode(Array(bytes)).records
        var boundaries: [Int] = [10]
        for record in records { boundaries.append(boundaries.last! + RawTrace.encode(record).count) }
        let directory = try Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var shorter = 0
        for fraction in [0.2, 0.45, 0.7, 0.95] {
            let index = Int(Double(records.count) * fraction)
            let cut = boundaries[index] + 7  // inside record `index`
            let file = directory.appendingPathComponent("cut-\(cut).alvtrace")
            try bytes.prefix(cut).write(to: file)
            let partial = try ChildProcess.run([Paths.alveo, "replay", file.path])
            #expect(partial.status == 0, "\(partial.stderr)")
            #expect(partial.stderr.contains("warning: \(file.path): torn record at byte \(boundaries[index])"), "\(partial.stderr)")
            #expect(partial.stderr.contains("replayed the \(index) records before it"), "\(partial.stderr)")
            #expect(whole.stdout.hasPrefix(partial.stdout), "cut at \(cut): the events before the cut, unchanged")
            if partial.stdout.count < whole.stdout.count { shorter += 1 }
        }
        #expect(shorter >= 3, "the cuts lose the events after them")
    }

    /// A damaged byte in the middle of a trace (a bad sector) loses the record it is in, not the hours
    /// after it: replay says where and goes on, and finds the events after the damage.
    @Test func aDamagedByteLosesOneRecordNotTheRest() throws {
        let trace = Self.cases.first { $0.name == "pb840-faults" }!
        let whole = try ChildProcess.run([Paths.alveo, "replay", trace.trace.path])
        var bytes = try Data(contentsOf: trace.trace)
        let middle = bytes.count / 2
        bytes[middle] ^= 0x5A
        let directory = try Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("damaged.alvtrace")
        try bytes.write(to: file)
        let damaged = try ChildProcess.run([Paths.alveo, "replay", file.path])
        #expect(damaged.status == 0, "\(damaged.stderr)")
        #expect(damaged.stderr.contains(": CRC mismatch: skipped "), "\(damaged.stderr)")
        #expect(damaged.stderr.contains("the records in it are lost, so events near it may differ from the live run"))
        let last = try #require(whole.stdout.split(separator: "\n").last)
        #expect(damaged.stdout.contains(last), "the events after the damage are still found")
        let info = try ChildProcess.run([Paths.alveo, "trace", "info", file.path])
        #expect(info.stdout.contains("damaged: corrupt record at byte ") && info.stdout.contains("ended cleanly"), "\(info.stdout)")
    }

    /// `alveo trace info` and `alveo trace dump`: what an engineer reads in a trace without replaying it.
    @Test func infoAndDumpShowWhatTheDeviceSentAndReceived() throws {
        let trace = Self.cases.first { $0.name == "medibus-faults" }!
        let info = try ChildProcess.run([Paths.alveo, "trace", "info", trace.trace.path])
        #expect(info.status == 0, "\(info.stderr)")
        #expect(info.stdout.contains("ended cleanly (end record)"), "\(info.stdout)")
        #expect(info.stdout.contains("\n  vent: opened 1 time, received "), "\(info.stdout)")
        #expect(info.stdout.contains("\n  vent: medibus on /dev/ttyUSB0 at 19200 baud\n"), "\(info.stdout)")

        let dump = try ChildProcess.run([Paths.alveo, "trace", "dump", "--device", "vent", "--to", "1.5", trace.trace.path])
        #expect(dump.status == 0, "\(dump.stderr)")
        let lines = dump.stdout.split(separator: "\n")
        // The ICC handshake (the fixture medibus_cmd_icc.bin) is sent first, and echoed by the ventilator.
        #expect(lines.first?.hasSuffix(#"vent  opened (line open: the protocol session starts)"#) == true, "\(dump.stdout)")
        #expect(lines.dropFirst().first?.hasSuffix(#"vent  sent 5 B  "\x1BQ6C\r""#) == true, "\(dump.stdout)")
        #expect(lines.contains { $0.hasSuffix(#"received 5 B  "\x01Q52\r""#) }, "\(dump.stdout)")
        #expect(!lines.contains { $0.contains("tick") || $0.contains("config") }, "only vent's records")
        let times = lines.compactMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Double($0) } }
        #expect(times.count == lines.count && times.allSatisfy { $0 <= 1.5 } && times.contains { $0 > 1 }, "up to 1.5 s: \(times)")

        // The same stretch by wall-clock time (UTC), and by agent time as `trace info` prints it.
        let byWall = try ChildProcess.run([Paths.alveo, "trace", "dump", "--device", "vent", "--to", "2026-11-25T00:00:01.500Z", trace.trace.path])
        let byClock = try ChildProcess.run([Paths.alveo, "trace", "dump", "--device", "vent", "--from", "0:00:00", "--to", "0:00:01.5", trace.trace.path])
        #expect(byWall.stdout == dump.stdout && byClock.stdout == dump.stdout, "\(byWall.stderr)\(byClock.stderr)")

        let gateway = Self.cases.first { $0.name == "gateway-faults" }!
        let registers = try ChildProcess.run([Paths.alveo, "trace", "dump", "--no-ticks", gateway.trace.path])
        #expect(registers.stdout.contains("registers  input "), "\(registers.stdout.prefix(2000))")
        #expect(registers.stdout.contains("failed  read input registers: Connection timed out"))

        // Piped into head, as people read a long listing: the reader leaving ends dump quietly (EPIPE).
        let long = Self.cases.first { $0.live }!
        let headed = try ChildProcess.run(["/bin/bash", "-c", "set -o pipefail; '\(Paths.alveo)' trace dump '\(long.trace.path)' | head -n 2"])
        #expect(headed.status == 0, "\(headed.stderr)")
        #expect(headed.stdout.split(separator: "\n").count == 2 && headed.stderr.isEmpty, "\(headed.stderr)")

        // A cut trace: listed up to the cut, with a warning; info says where it ends.
        let directory = try Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let cut = directory.appendingPathComponent("cut.alvtrace")
        try Data(contentsOf: trace.trace).prefix(3001).write(to: cut)
        let partial = try ChildProcess.run([Paths.alveo, "trace", "dump", cut.path])
        #expect(partial.status == 0 && partial.stderr.contains("warning: \(cut.path): torn record at byte"), "\(partial.stderr)")
        #expect(!partial.stdout.isEmpty)
        let cutInfo = try ChildProcess.run([Paths.alveo, "trace", "info", cut.path])
        #expect(cutInfo.stdout.contains("ends early: torn record at byte"), "\(cutInfo.stdout)")
    }

    /// A trace is kept and sent on compressed: `-` replays (and lists) one from standard input.
    @Test func aCompressedTraceReplaysFromStandardInput() throws {
        let trace = Self.cases.first { $0.name == "masimo-faults" }!
        let directory = try Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let packed = directory.appendingPathComponent("masimo.alvtrace.gz").path
        let gzip = try ChildProcess.run(["/bin/sh", "-c", "gzip -c '\(trace.trace.path)' > '\(packed)'"])
        #expect(gzip.status == 0, "\(gzip.stderr)")
        let replay = try ChildProcess.run(["/bin/sh", "-c", "gzip -dc '\(packed)' | '\(Paths.alveo)' replay -"])
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdout == (try String(contentsOf: trace.expected, encoding: .utf8)))
        let piped = try ChildProcess.run(["/bin/sh", "-c", "gzip -dc '\(packed)' | '\(Paths.alveo)' trace info -"])
        #expect(piped.stdout.contains("ended cleanly"), "\(piped.stdout)\(piped.stderr)")
        // Given by its path, a compressed trace, a directory or a missing file is named for what it is,
        // not taken for a scenario CSV without --config.
        let byPath = try ChildProcess.run([Paths.alveo, "replay", packed])
        #expect(byPath.status == 66 && byPath.stderr.contains("it is gzip-compressed: read a trace through a pipe, `gzip -dc \(packed) | alveo replay -`"),
                "\(byPath.stderr)")
        let info = try ChildProcess.run([Paths.alveo, "trace", "info", packed])
        #expect(info.status == 65 && info.stderr.contains("bad magic); it is gzip-compressed"), "\(info.stderr)")
        let folder = try ChildProcess.run([Paths.alveo, "replay", "--config", Paths.repository.appendingPathComponent("config/pb840-bed.yaml").path,
                                           directory.path])
        #expect(folder.status == 66 && folder.stderr.contains("Is a directory"), "\(folder.stderr)")
        let missing = try ChildProcess.run([Paths.alveo, "trace", "dump", directory.appendingPathComponent("nosuch.alvtrace").path])
        #expect(missing.status == 65 && missing.stderr.contains("No such file or directory"), "\(missing.stderr)")

        // Not a trace on standard input: a clear error, not a hang or a crash.
        let csv = try ChildProcess.run(["/bin/sh", "-c", "echo 't,source,parameter,value' | '\(Paths.alveo)' replay -"])
        #expect(csv.status != 0 && csv.stderr.contains("-: "), "\(csv.stderr)")
    }

    /// A trace added under devices/ without a case here (and its expected events) would go untested.
    @Test func everyDeviceTraceHasACaseAndExpectedEvents() throws {
        let devices = Paths.repository.appendingPathComponent("devices")
        var found: [String] = []
        for device in try FileManager.default.contentsOfDirectory(atPath: devices.path) {
            let traces = devices.appendingPathComponent(device).appendingPathComponent("traces")
            for file in (try? FileManager.default.contentsOfDirectory(atPath: traces.path)) ?? [] where file.hasSuffix(".alvtrace") {
                found.append("\(device)/\(file.dropLast(".alvtrace".count))")
            }
        }
        #expect(Set(found) == Set(Self.cases.map(\.testDescription)))
        for serialDevice in ["pb840", "medibus", "masimo-ascii1", "nonin", "servo", "alveo-gateway-v1", "generic-float32-cdab", "simulated-bed"] {
            #expect(found.contains { $0.hasPrefix(serialDevice + "/") }, "every supported device has a golden trace: \(serialDevice)")
        }
        for testCase in Self.cases {
            #expect(FileManager.default.fileExists(atPath: testCase.expected.path), "\(testCase.expected.path)")
        }
    }
}
