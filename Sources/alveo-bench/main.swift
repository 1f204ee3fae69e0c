// Benchmarks for Alveo. Targets and figures live in docs/performance.md, not in tests.
//
//   swift run -c release alveo-bench            # all benchmarks
//   swift run -c release alveo-bench replay     # scenario replay only
//   swift run -c release alveo-bench trace-replay [HOURS]   # raw-trace replay of a 24 h PB840 + Nonin trace
//   swift run -c release alveo-bench bedside [N]   # chart/ORU -> event latency, status latency
//   swift run -c release alveo-bench replay-flap [HOURS]    # replay of ~16 MB Nonin format 8 traces whose probe flag flaps
//   swift run alveo-bench golden-traces         # rewrite devices/<device>/traces (not a benchmark)
import AlveoAgent
import AlveoCore
import AlveoDevices
import AlveoIO
import AlveoOutput
import AlveoTrace
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Resident set size now, in bytes (from /proc/self/statm).
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Samples RSS on its own thread while a benchmark runs, keeping the peak.
final class RSSSampler: @unchecked Sendable {
    private let lock = NSLock()
    private var peak = 0
    private var running = true

    func start() {
        Thread.detachNewThread { [self] in
            while lock.withLock({ running }) {
                let now = residentBytes()
                lock.withLock { peak = max(peak, now) }
                usleep(20_000)
            }
        }
    }

    func stop() -> Int {
        lock.withLock {
            running = false
            return max(peak, residentBytes())
        }
    }
}

/// Writes a scenario of `hours` at 1 Hz: a ventilator (fio2, vt, pplat, peep, ppeak, rr) and an
/// oximeter (spo2, pulse_rate), 8 rows per second, with slow drifts so that rules fire now and then.
func generateScenario(hours: Int, path: String) throws -> Int {
    _ = FileManager.default.createFile(atPath: path, contents: nil)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
    func noise(_ span: Int) -> Int {
        seed = seed &* 6364136223846793005 &+ 1442695040888963407
        return Int((seed >> 33) % UInt64(2 * span + 1)) - span
    }
    var text = "t,source,parameter,value\n"
    var rows = 0
    for t in 0..<(hours * 3600) {
        let phase = (t / 1800) % 8  // a different situation every 30 min
        let spo2 = [96, 94, 92, 89, 86, 93, 95, 90][phase] + noise(1)
        let vt = [400, 430, 450, 520, 560, 380, 300, 410][phase] + noise(5)
        let fio2 = [40, 50, 60, 70, 80, 60, 50, 45][phase]
        text += "\(t),vent,fio2,\(fio2)\n\(t),vent,vt,\(vt)\n\(t),vent,pplat,\(24 + phase + noise(1))\n"
        text += "\(t),vent,peep,\(8 + phase / 2)\n\(t),vent,ppeak,\(30 + phase)\n\(t),vent,rr,\(18 + noise(2))\n"
        text += "\(t),oxi,spo2,\(spo2)\n\(t),oxi,pulse_rate,\(90 + noise(10))\n"
        rows += 8
        if text.utf8.count > 1 << 20 {
            handle.write(Data(text.utf8))
            text = ""
        }
    }
    handle.write(Data(text.utf8))
    return rows
}

func benchmarkReplay() throws {
    let config = AgentConfig(patient: Patient(sex: .female, heightCm: 160, conditions: [.diffuseAlveolarHemorrhage, .ancaVasculitis]))
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alveo-bench-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let devNull = FileHandle(forWritingAtPath: "/dev/null")!

    print("scenario replay, end to end (CSV file -> parser -> clinical core -> JSON Lines -> /dev/null)")
    for hours in [24, 72] {
        let path = directory.appendingPathComponent("scenario-\(hours)h.csv").path
        let rows = try generateScenario(hours: hours, path: path)
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        var best = Double.infinity
        var peak = 0
        var summary = ScenarioReplay.Summary()
        for _ in 0..<3 {
            let sampler = RSSSampler()
            sampler.start()
            let writer = EventWriter(handle: devNull, format: .jsonl)
            let clock = ContinuousClock()
            let start = clock.now
            summary = try ScenarioReplay.run(config: config, scenarioPath: path) { writer.write($0) }
            writer.flush()
            let elapsed = clock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            best = min(best, seconds)
            peak = max(peak, sampler.stop())
        }
        precondition(summary.rows == rows)
        let rate = Double(rows) / best
        print(String(format: "  %2d h at 1 Hz, 8 parameters: %9d rows (%5.1f MB), %6d events: best of 3 %.3f s = %.2f M rows/s (%.0fx real time); peak RSS %.1f MB",
                     hours, rows, Double(size) / 1e6, summary.events, best, rate / 1e6, Double(hours * 3600) / best,
                     Double(peak) / 1_048_576))
    }
}

/// A raw trace of a PB840 polled over RS-232 at 9600 baud (a MISCF every ~1.4 s, read in 100 ms
/// chunks) and a Nonin oximeter streaming format #2 (3 packets a second), synthesized on virtual time
/// through their live sessions, then replayed the way `alveo replay TRACE` does.
func benchmarkTraceReplay(hours: Int) throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alveo-bench-trace-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("bed-\(hours)h.alvtrace").path
    let config = """
        patient: {sex: female, height_cm: 160, conditions: [diffuse_alveolar_hemorrhage]}
        devices:
          - {id: vent, poll_interval_s: 1, transport: {kind: serial, protocol: pb840, path: /dev/ttyUSB0, baud: 9600}}
          - {id: oxi, transport: {kind: serial, protocol: nonin_df2, path: /dev/ttyUSB1, baud: 9600}}
        """
    // Values drift minute by minute so that rules start and end now and then; every 3 h the oximeter
    // probe comes off for a minute and every 6 h the ventilator's cable is out for two.
    var script: GoldenTraces.Script = []
    for minute in 0..<(hours * 60) {
        let t = Double(minute * 60), phase = Double(minute) / 60
        script.append((t, "vent", .values([.vt: 360 + 60 * sin(phase / 1.7), .pplat: 27 + 4 * sin(phase / 2.3),
                                           .peep: 10, .fio2: 50 + 10 * sin(phase / 5), .rr: 18, .ppeak: 32])))
        script.append((t, "oxi", .values([.spo2: 90 + 5 * sin(phase / 1.3), .pulseRate: 90 + 10 * sin(phase)])))
        if minute % 180 == 90 { script += [(t + 5, "oxi", .sensor(.off)), (t + 65, "oxi", .sensor(.ok))] }
        if minute % 360 == 200 { script += [(t + 10, "vent", .unplug), (t + 130, "vent", .plug)] }
    }
    let clock = ContinuousClock()
    func seconds(_ duration: Duration) -> Double { Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18 }
    var start = clock.now
    var synthesizer = try TraceSynthesizer(path: path, configYAML: config, script: script)
    synthesizer.run(until: Double(hours * 3600))
    let made = seconds(clock.now - start)
    let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    print("raw trace replay (trace file -> reader -> PB840 and Nonin sessions -> clinical core -> JSON Lines -> /dev/null)")
    print(String(format: "  %d h trace: %d records, %.1f MB (synthesized in %.1f s)", hours, synthesizer.records, Double(size) / 1e6, made))
    let devNull = FileHandle(forWritingAtPath: "/dev/null")!
    var best = Double.infinity, peak = 0
    var summary = TraceReplay.Summary()
    for _ in 0..<3 {
        let sampler = RSSSampler()
        sampler.start()
        let writer = EventWriter(handle: devNull, format: .jsonl)
        start = clock.now
        summary = try TraceReplay.run(path: path) { writer.write($0) }
        writer.flush()
        best = min(best, seconds(clock.now - start))
        peak = max(peak, sampler.stop())
    }
    precondition(summary.warning == nil && summary.records == synthesizer.records, "replayed \(summary.records) of \(synthesizer.records)")
    print(String(format: "  replay: %d events, best of 3 %.2f s = %.0fx real time (%.2f M records/s, %.0f MB/s); peak RSS %.1f MB",
                 summary.events, best, Double(hours * 3600) / best, Double(summary.records) / best / 1e6, Double(size) / best / 1e6,
                 Double(peak) / 1_048_576))
}

/// The same poll as Alveo's Modbus adapter makes, as a plain C program over libmodbus: the floor.
let plainPollSource = #"""
#include <modbus/modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
int main(int argc, char **argv) {
    int port = atoi(argv[1]), polls = atoi(argv[2]), address = atoi(argv[3]), count = atoi(argv[4]);
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", port);
    modbus_set_slave(ctx, 1);
    if (modbus_connect(ctx) != 0) { perror("connect"); return 1; }
    uint16_t regs[125];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < polls; i++) {
        if (modbus_read_input_registers(ctx, address, count, regs) != count) { perror("read"); return 1; }
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%.9f\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
    modbus_close(ctx); modbus_free(ctx);
    return 0;
}
"""#

/// Runs a command to completion and returns its stdout.
func capture(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw NSError(domain: "bench", code: Int(process.terminationStatus)) }
    return String(decoding: data, as: UTF8.self)
}

func benchmarkPollCost() throws {
    let polls = 20_000
    let port = 15_800 + Int(getpid() % 100)
    let profile = ModbusProfile.gatewayV1
    let block = ModbusPollPlan(profile: profile).blocks[0]
    // One libmodbus server (in this process, its own thread) answers both clients, one after the other.
    let server = try ModbusServer(endpoint: .tcp(host: "127.0.0.1", port: port), unitID: 1)
    server.set(.input, address: 0, [1, 1, 0, 42, 97, 72, 400, 450, 220, 50, 140, 280])
    try server.start()

    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alveo-bench-c-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let source = directory.appendingPathComponent("plain_poll.c").path
    let binary = directory.appendingPathComponent("plain_poll").path
    try plainPollSource.write(toFile: source, atomically: true, encoding: .utf8)
    _ = try capture(["cc", "-O2", "-o", binary, source, "-lmodbus"])

    print("Modbus poll cost (\(polls) polls of \(block.count) input registers over TCP loopback, best of 5)")
    var plainBest = Double.infinity, alveoBest = Double.infinity
    for _ in 0..<5 {
        let plain = Double(try capture([binary, "\(port)", "\(polls)", "\(block.address)", "\(block.count)"])
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? .infinity
        plainBest = min(plainBest, plain)

        let connection = try ModbusConnection(endpoint: .tcp(host: "127.0.0.1", port: port), unitID: 1)
        try connection.connect()
        var decoder = ModbusDecoder(profile: profile, source: "bench")
        var observations = 0
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<polls {
            let registers = try connection.read(.input, address: block.address, count: block.count)
            observations += decoder.decode([registers]).observations.count
        }
        let elapsed = clock.now - start
        connection.close()
        alveoBest = min(alveoBest, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        precondition(observations >= polls * 8)
    }
    print(String(format: "  plain C libmodbus loop: %.1f us/poll", plainBest / Double(polls) * 1e6))
    print(String(format: "  Alveo ModbusConnection + ModbusDecoder: %.1f us/poll", alveoBest / Double(polls) * 1e6))
    print(String(format: "  ratio Alveo / plain C: %.3f (target <= 1.1)", alveoBest / plainBest))
}

/// CPU time and peak RSS of `alveo run` with 3 devices polled at 1 Hz: a simulated ventilator
/// (Modbus TCP) and oximeter (Modbus RTU on a pseudo-terminal) from `alveo simulate`, and a third
/// gateway served by pymodbus (Tests/Peers/modbus_peer.py).
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted[max(0, min(sorted.count - 1, Int(saturating: (Double(sorted.count) * p).rounded(.up)) - 1))]
}

/// Journal append throughput with an fsync per event, and the latency from an observation entering
/// the core to the PCD-04 ACK received from a real MLLP receiver (python-hl7) on loopback.
func benchmarkDelivery(events: Int) throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alveo-bench-out-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let event = AlarmEvent(t: 1, alarmID: 1, rule: .sensorOff, source: "oxi", parameter: nil, phase: .start, priority: .medium,
                           state: .active, acknowledged: false, reason: nil,
                           text: "Oximeter probe on oxi is off the patient: SpO2 is not being monitored; check the probe and its site.",
                           evidence: [("sensor", .string("off")), ("since_t", .number(1))])

    // 1. Journal appends, fsync each.
    let journal = try Journal(directory: directory.appendingPathComponent("append-only").path)
    var appendTimes: [Double] = []
    let clock = ContinuousClock()
    let start = clock.now
    for _ in 0..<events {
        let before = clock.now
        try journal.append(event, wallTime: "2026-11-25T16:00:00.000Z")
        appendTimes.append(Double((clock.now - before).components.attoseconds) / 1e12 + Double((clock.now - before).components.seconds) * 1e6)
    }
    let total = clock.now - start
    let seconds = Double(total.components.seconds) + Double(total.components.attoseconds) / 1e18
    appendTimes.sort()
    print("journal append with fsync per event (\(events) events)")
    print(String(format: "  %.0f events/s; per append p50 %.0f us, p99 %.0f us", Double(events) / seconds,
                 percentile(appendTimes, 0.5), percentile(appendTimes, 0.99)))

    // 2. Observation -> core -> journal (fsync) -> forwarder -> MLLP -> ACK -> position (fsync).
    let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let port = 17_000 + Int(getpid() % 500)
    let ready = directory.appendingPathComponent("ready").path
    let receiver = Process()
    receiver.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    receiver.arguments = ["python3", repository.appendingPathComponent("Tests/Peers/hl7_receiver.py").path, "--port", "\(port)",
                          "--log", directory.appendingPathComponent("log").path, "--fast", "--ready", ready]
    try receiver.run()
    defer { receiver.terminate(); receiver.waitUntilExit() }
    var waited = 0
    while !FileManager.default.fileExists(atPath: ready), waited < 300 { usleep(100_000); waited += 1 }

    var outputs = OutputConfig()
    outputs.journalDirectory = directory.appendingPathComponent("journal").path
    var hl7 = HL7Settings()
    hl7.port = port
    hl7.identity.bedID = "BENCH"
    outputs.hl7 = hl7
    var logger = Logger(label: "bench")
    logger.logLevel = .critical
    let pipeline = try OutputPipeline(config: outputs, logger: logger)
    pipeline.start()
    defer { pipeline.stop() }
    var core = ClinicalCore(patient: Patient(sex: .male, heightCm: 170))
    var latencies: [Double] = []
    var buffer: [AlarmEvent] = []
    for n in 0..<events {
        let observation = Observation(source: "oxi", parameter: .sensor, value: .sensor(n % 2 == 0 ? .off : .ok))
        let before = clock.now
        buffer.removeAll(keepingCapacity: true)
        core.process(CollectionOfOne(observation), at: Double(n), into: &buffer)
        precondition(buffer.count == 1)
        pipeline.record(buffer, wallTime: nil)
        let target = pipeline.lastSeq
        while pipeline.forwarders[0].position < target { usleep(20) }
        let elapsed = clock.now - before
        latencies.append(Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15)
    }
    latencies.sort()
    print("observation -> core -> journal (fsync) -> PCD-04 over MLLP -> ACK -> position (fsync), \(events) events, one at a time")
    print(String(format: "  p50 %.2f ms, p99 %.2f ms, max %.2f ms (target p99 < 5 ms)", percentile(latencies, 0.5),
                 percentile(latencies, 0.99), latencies.last ?? 0))
}

/// Decoder throughput: frames per second through each serial decoder, bytes handed over in 4 KiB
/// chunks as a serial read would, with the encoders' frames as input.
func benchmarkDecoders() {
    let values: SerialDeviceEncoders.Values = [.rr: 18, .vt: 420, .ppeak: 28, .fio2: 45, .peep: 8, .pplat: 24, .spo2: 93, .pulseRate: 88]
    func measure(_ name: String, frame: [UInt8], count: Int, _ decode: ([UInt8]) -> Int) {
        var stream: [UInt8] = []
        stream.reserveCapacity(frame.count * count)
        for _ in 0..<count { stream += frame }
        let clock = ContinuousClock()
        var best = Double.infinity
        var decoded = 0
        for _ in 0..<3 {
            let start = clock.now
            decoded = 0
            var offset = 0
            while offset < stream.count {
                let end = min(offset + 4096, stream.count)
                decoded += decode(Array(stream[offset..<end]))
                offset = end
            }
            let elapsed = clock.now - start
            best = min(best, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        precondition(decoded == count, "\(name): decoded \(decoded) of \(count)")
        print(String(format: "  %-16@ %7d frames of %4d bytes: %10.0f frames/s (%.0f MB/s)", name as NSString, count, frame.count,
                     Double(count) / best, Double(stream.count) / best / 1e6))
    }
    print("serial decoder throughput (best of 3, 4 KiB chunks)")
    // Every driver in the registry, each with the frame and session it hands the benchmark.
    for driver in SerialDrivers.all {
        let bench = driver.benchmark(values)
        measure(bench.label, frame: bench.frame, count: bench.count, bench.decode)
    }
}

/// Recording cost: records written with an fsync each (as `alveo run --record` writes them), in the
/// mix of a PB840 and a Nonin (96-byte chunks, 38-byte reads, a tick a second), from several threads
/// at once as the pollers write; per-record latency is what a poller waits before it hands the core
/// its data.
func benchmarkTraceWrite(records: Int) throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alveo-bench-trace-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let writer = try TraceWriter(path: directory.appendingPathComponent("bench.alvtrace").path)
    let kinds: [(String, Int)] = [("vent", 96), ("oxi", 38), ("", 0)]
    let threads = 3
    let latencies = Mutex<[Double]>([])
    let clock = ContinuousClock()
    let start = clock.now
    DispatchQueue.concurrentPerform(iterations: threads) { thread in
        let (device, size) = kinds[thread]
        var mine: [Double] = []
        mine.reserveCapacity(records / threads)
        for n in 0..<(records / threads) {
            let record = TraceRecord(kind: size == 0 ? .tick : .received, monotonic: Double(n) * 0.1, wallNanoseconds: TraceWriter.wallNow(),
                                     device: device, payload: Array(repeating: 0x41, count: size))
            let before = clock.now
            writer.write(record) {}
            mine.append(Double((clock.now - before).wholeNanoseconds) / 1000)
        }
        latencies.withLock { $0 += mine }
    }
    let seconds = Double((clock.now - start).wholeNanoseconds) / 1e9
    let sorted = latencies.withLock { $0 }.sorted()
    let live = 1_406_964.0 / 86_400  // records a second of the 24 h PB840 + Nonin trace
    print("trace write with fsync per record, \(sorted.count) records from \(threads) threads (PB840 chunks, Nonin reads, ticks)")
    print(String(format: "  %.0f records/s = %.0fx the PB840 + Nonin rate (%.1f records/s); per record p50 %.0f us, p99 %.0f us, max %.0f us",
                 Double(sorted.count) / seconds, Double(sorted.count) / seconds / live, live,
                 percentile(sorted, 0.5), percentile(sorted, 0.99), sorted.last ?? 0))
    print("  failed records: \(writer.failedRecords)")
}

let arguments = Array(CommandLine.arguments.dropFirst())
let which = arguments.first ?? "all"
let benchmarks = ["all", "replay", "trace-replay", "trace-write", "poll", "decoders", "delivery", "bedside", "run", "golden-traces", "soak-trace", "report", "trend-writes",
                  "replay-flap", "flap-trace"]
if ["-h", "--help", "help"].contains(which) || !benchmarks.contains(which) {
    let usage = """
        usage: alveo-bench [BENCHMARK [N]]   (make bench BENCH=NAME)
          all              every benchmark below but golden-traces (default)
          replay           scenario replay rows/s (72 h of 1 Hz data)
          trace-replay [H] raw trace replay of H hours (default 24) of a PB840 + Nonin
          trace-write [N]  fsync'ed trace records/s from three threads (default 30000)
          poll             Modbus poll cost against the libmodbus server
          decoders         serial decoders, bytes/s
          delivery [N]     journal -> HL7 delivery of N events (default 10000)
          bedside [N]      chart, ORU and status latency under a running `alveo run`, N each (default 1000)
          run [S]          CPU and memory of `alveo run` (3 devices, control API, trends, journal) over S seconds (default 300)
          report [D]       the HTML report of a trend store of D days (default 7) of 10 parameters at 1 Hz
          trend-writes [H] CPU the trend store adds to the bedside loop, H hours at 1 Hz (default 2)
          golden-traces    rewrite the golden raw traces under devices/*/traces
          soak-trace H DIR [SEED]  the soak's two traces (H hours in all, faults injected) in DIR
          replay-flap [H]  replay of H hours (default 75, about 16 MB) of Nonin format 8 whose probe flag flaps
          flap-trace toggle|fuzzed H PATH [SEED]  H hours of a Nonin format 8 whose probe flag flips with every
                           frame (toggle) or at random amid garbled bytes (fuzzed), at PATH (not a benchmark)
        """
    if ["-h", "--help", "help"].contains(which) {
        print(usage)
        exit(0)
    }
    FileHandle.standardError.write(Data("alveo-bench: unknown benchmark '\(which)'\n\(usage)\n".utf8))
    exit(64)
}
/// The benchmark's size argument, bounded (a negative or huge count is the default or the limit, never a trap).
func count(_ fallback: Int) -> Int {
    guard arguments.count > 1, let given = Int(arguments[1]) else { return fallback }
    return min(max(given, 1), 100_000_000)
}
if which == "golden-traces" { try GoldenTraces.writeAll() }
if which == "soak-trace" {
    guard arguments.count >= 3, let hours = Double(arguments[1]), hours >= 1, hours <= 24 * 31 else {
        FileHandle.standardError.write(Data("usage: alveo-bench soak-trace HOURS(1-744) DIR [SEED]\n".utf8))
        exit(64)
    }
    try SoakTrace.write(hours: hours, directory: arguments[2], seed: arguments.count > 3 ? UInt64(arguments[3]) ?? 1 : 1)
}
if which == "flap-trace" {
    guard arguments.count >= 4, let kind = FlapTrace.Kind(rawValue: arguments[1]), let hours = Double(arguments[2]), hours > 0, hours <= 24 * 31 else {
        FileHandle.standardError.write(Data("usage: alveo-bench flap-trace toggle|fuzzed HOURS(up to 744) PATH [SEED]\n".utf8))
        exit(64)
    }
    let (records, bytes) = try FlapTrace.write(kind, hours: hours, path: arguments[3], seed: arguments.count > 4 ? UInt64(arguments[4]) ?? 24 : 24)
    print("\(arguments[3]): \(records) records, \(bytes) bytes")
}
if which == "all" || which == "replay" { try benchmarkReplay() }
if which == "all" || which == "replay-flap" { try benchmarkReplayFlap(hours: count(75)) }
if which == "all" || which == "trace-replay" { try benchmarkTraceReplay(hours: count(24)) }
if which == "all" || which == "trace-write" { try benchmarkTraceWrite(records: count(30_000)) }
if which == "all" || which == "poll" { try benchmarkPollCost() }
if which == "all" || which == "decoders" { benchmarkDecoders() }
if which == "all" || which == "delivery" { try benchmarkDelivery(events: count(10_000)) }
if which == "all" || which == "bedside" { try await BedsideLatency.run(entries: count(1000)) }
if which == "all" || which == "run" { try RunCost.run(seconds: count(300)) }
if which == "all" || which == "trend-writes" { try TrendBench.writes(hours: count(2)) }
if which == "all" || which == "report" { try TrendBench.report(days: count(7)) }
