// Benchmarks for Alveo. Targets and figures live in docs/performance.md, not in tests.
//
//   swift run -c release alveo-bench            # all benchmarks
//   swift run -c release alveo-bench replay     # scenario replay only
import AlveoAgent
import AlveoCore
import Foundation

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

let which = CommandLine.arguments.dropFirst().first ?? "all"
if which == "all" || which == "replay" { try benchmarkReplay() }
