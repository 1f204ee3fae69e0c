// Nonin format 8 traces whose probe flag flaps (issue 24's acceptance: a trace like this gave 630,000
// events before the alarm engine had a chatter bound). Made on virtual time through the live session
// (TraceSynthesizer), one 4-byte frame a second at 9600 baud with the agent's 1 s tick, as the golden
// traces are:
//
//   toggle  the sensor-disconnect bit flips with every frame (off, ok, off, ok, ...);
//   fuzzed  the bit is drawn at random for every frame (seeded), and before about one frame in eight
//           the line carries 1 to 16 garbled bytes, some of which fit the frame pattern and decode as
//           frames with arbitrary flags and values (format 8 has no checksum).
//
// `alveo-bench flap-trace KIND HOURS PATH [SEED]` writes one (FlapTraceTests replays a few hours of
// each with `alveo replay`); `alveo-bench replay-flap` writes about 16 MB of each and times the replay.
import AlveoAgent
import AlveoCore
import AlveoDevices
import AlveoTrace
import Foundation

enum FlapTrace {
    enum Kind: String, CaseIterable {
        case toggle, fuzzed
    }

    static let devices = """
        devices:
          - {id: oxi, transport: {kind: serial, protocol: nonin_df8, path: /dev/ttyUSB1, baud: 9600}}
        """

    static let config = """
        # Flap trace: synthesized by `alveo-bench flap-trace` on virtual time (Nonin format 8, probe flag flapping).
        patient: {sex: male, height_cm: 170}
        \(devices)
        """

    static let values: SerialDeviceEncoders.Values = [.spo2: 96, .pulseRate: 70]

    /// A small seeded generator (SplitMix64): the same seed gives the same trace on every machine.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    }

    /// The device's script: the oximeter streams a frame at each whole second (plus the poller's read
    /// phase), so the flag for the frame of second k+1 is set at k + 0.5.
    static func script(_ kind: Kind, hours: Double, seed: UInt64) -> GoldenTraces.Script {
        let seconds = Int(hours * 3600)
        var script: GoldenTraces.Script = [(0, "oxi", .values(values))]
        script.reserveCapacity(seconds + seconds / 4)
        var random = Random(state: seed)
        for k in 0..<seconds {
            let t = Double(k) + 0.5
            switch kind {
            case .toggle:
                script.append((t, "oxi", .sensor(k % 2 == 0 ? .off : .ok)))
            case .fuzzed:
                script.append((t, "oxi", .sensor(random.below(2) == 0 ? .off : .ok)))
                if random.below(8) == 0 {
                    let count = 1 + random.below(16)
                    script.append((t, "oxi", .noise((0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) })))
                }
            }
        }
        return script
    }

    /// Writes the trace; returns its records and bytes.
    @discardableResult
    static func write(_ kind: Kind, hours: Double, path: String, seed: UInt64 = 24) throws -> (records: Int, bytes: Int) {
        var synthesizer = try TraceSynthesizer(path: path, configYAML: config, script: script(kind, hours: hours, seed: seed))
        synthesizer.run(until: hours * 3600)
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        return (synthesizer.records, size)
    }
}

/// `make bench BENCH=replay-flap`: about 16 MB of each flap trace, replayed as `alveo replay TRACE`
/// replays it (target: under 5 s, fewer than 1,000 events), with the time split by stage: reading the
/// records (CRC), reading and decoding (the Nonin pump, as replay drives it), the whole replay into a
/// sink that drops the events, the whole replay into JSON Lines on /dev/null, and the release
/// `alveo replay` binary as a process (its wall time includes start-up).
func benchmarkReplayFlap(hours: Int) throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alveo-bench-flap-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let clock = ContinuousClock()
    func seconds(_ duration: Duration) -> Double { Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18 }
    func best(of runs: Int, _ body: () throws -> Void) rethrows -> Double {
        var best = Double.infinity
        for _ in 0..<runs {
            let start = clock.now
            try body()
            best = min(best, seconds(clock.now - start))
        }
        return best
    }
    let alveo = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("alveo").path
    let devNull = FileHandle(forWritingAtPath: "/dev/null")!
    print("replay of a Nonin format 8 trace whose probe flag flaps (issue 24: fewer than 1,000 events, under 5 s)")
    for kind in FlapTrace.Kind.allCases {
        let path = directory.appendingPathComponent("flap-\(kind.rawValue).alvtrace").path
        let start = clock.now
        let (records, size) = try FlapTrace.write(kind, hours: Double(hours), path: path)
        let made = seconds(clock.now - start)
        let megabytes = Double(size) / 1e6
        print(String(format: "  %@, %d h: %d records, %.1f MB (synthesized in %.1f s)", kind.rawValue, hours, records, megabytes, made))

        // Stage 1: the reader alone (1 MiB reads, CRC of every record).
        var read = 0
        let reading = try best(of: 3) {
            var reader = try RawTraceReader(path: path)
            read = 0
            while reader.next() != nil { read += 1 }
        }
        precondition(read == records, "read \(read) of \(records) records")

        // Stage 2: reader and Nonin pump, as replay drives it (opens, reads, failures), no core.
        var frames = 0
        let decoding = try best(of: 3) {
            var reader = try RawTraceReader(path: path)
            guard let first = reader.next(), first.kind == .config else { fatalError("no configuration record") }
            let config = try AgentConfig.parse(yaml: String(decoding: first.payload, as: UTF8.self), file: path, readOutputs: false)
            var pumps: [String: DevicePump] = [:]
            for device in config.serialDevices { pumps[device.id] = device.makePump() }
            frames = 0
            while let record = reader.next() {
                switch record.kind {
                case .opened: _ = pumps[record.device]?.open(at: record.monotonic)
                case .received: _ = pumps[record.device]?.receive(record.payload, at: record.monotonic) { _ in frames += 1 }
                case .pollFailed: pumps[record.device]?.fail()
                default: break
                }
            }
        }

        // Stage 3: the whole replay (pump, clinical core and alarm engine), events dropped.
        var summary = TraceReplay.Summary()
        let replaying = try best(of: 3) { summary = try TraceReplay.run(path: path) { _ in } }
        precondition(summary.warning == nil && summary.records == records, "replayed \(summary.records) of \(records)")

        // Stage 4: as `alveo replay` writes them: JSON Lines to /dev/null.
        let writing = try best(of: 3) {
            let writer = EventWriter(handle: devNull, format: .jsonl)
            summary = try TraceReplay.run(path: path) { writer.write($0) }
            writer.flush()
        }

        // Stage 5: the release binary, as a user runs it, under /usr/bin/time for its own peak RSS (a
        // child spawned from this process would be charged this process's high-water mark).
        var process = Double.nan, peak = Double.nan
        if FileManager.default.isExecutableFile(atPath: alveo) {
            let time = "/usr/bin/time"
            let timed = FileManager.default.isExecutableFile(atPath: time)
            process = try best(of: 3) {
                let replay = Process()
                replay.executableURL = URL(fileURLWithPath: timed ? time : alveo)
                replay.arguments = (timed ? ["-f", "maxrss_kib=%M", alveo] : []) + ["replay", path]
                replay.standardOutput = devNull
                let stderr = Pipe()
                replay.standardError = stderr
                try replay.run()
                let text = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                replay.waitUntilExit()
                precondition(replay.terminationStatus == 0, "alveo replay \(path) failed: \(text)")
                if let line = text.split(separator: "\n").last(where: { $0.hasPrefix("maxrss_kib=") }),
                   let kib = Double(line.dropFirst("maxrss_kib=".count)) { peak = kib / 1024 }
            }
        }
        print(String(format: "    %d frames decoded, %d events; best of 3: read %.2f s, read + decode %.2f s, replay %.2f s, replay to JSON Lines %.2f s (%.1f MB/s), `alveo replay` %.2f s (%.1f MB/s, peak RSS %.1f MB)",
                     frames, summary.events, reading, decoding, replaying, writing, megabytes / writing, process, megabytes / process, peak))
        print(String(format: "    by stage: reader %.2f s, pump and decoder %.2f s, clinical core and alarm engine %.2f s, JSON Lines %.2f s",
                     reading, max(0, decoding - reading), max(0, replaying - decoding), max(0, writing - replaying)))
    }
}

