import AlveoAgent
import AlveoCore
import AlveoTrends
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// CPU seconds (user + system) of this process so far.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

enum TrendBench {
    /// `make bench BENCH=report`: a store holding `days` of 10 parameters at 1 Hz (as a week of
    /// `alveo run` would write it, derived values included), then the report of the whole period:
    /// seconds to read and draw it, and its size. Targets: under 2 s and 3 MB for 7 days.
    static func report(days: Int) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alveo-bench-report-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // ALVEO_BENCH_STORE=FILE keeps the store there (to look at it with the sqlite3 shell).
        let path = ProcessInfo.processInfo.environment["ALVEO_BENCH_STORE"] ?? directory.appendingPathComponent("trends.sqlite").path
        let store = try TrendStore(path: path)
        let origin = 1_790_000_000.0
        let seconds = days * 86400
        var rows: [TrendRow] = []
        rows.reserveCapacity(3600 * 14)
        rows.append(.context(TrendContext(bed: "ICU-B1", sex: "female", heightCm: 160, pbwKg: 52.4, conditions: ["diffuse_alveolar_hemorrhage"],
                                          devices: ["vent (pb840)", "oxi (nonin_df8)"])))
        let built = Date()
        for t in 0..<seconds {
            let time = origin + Double(t)
            let phase = Double(t % 86400) / 86400 * 2 * Double.pi
            let spo2 = 92 + 4 * sin(phase) + Double(t % 3)
            let fio2 = 50 + 10 * cos(phase)
            let vt = 330 + 20 * sin(phase * 3)
            let pplat = 26 + 3 * sin(phase * 2)
            let peep = 10.0
            let values: [(String, Double, String, String)] = [
                ("spo2", spo2, "%", "oxi"), ("pulse_rate", 90 + Double(t % 7), "/min", "oxi"), ("fio2", fio2, "%", "vent"),
                ("vt", vt, "ml", "vent"), ("pplat", pplat, "cmH2O", "vent"), ("peep", peep, "cmH2O", "vent"),
                ("ppeak", pplat + 5, "cmH2O", "vent"), ("rr", 20, "/min", "vent"), ("hb", 9, "g/dL", "lab"), ("creatinine", 1.1, "mg/dL", "lab"),
            ]
            for (name, value, unit, source) in values where !(source == "lab" && t % 21600 != 0) {
                rows.append(.observation(TrendObservation(time: time, parameter: name, value: value, unit: unit, source: source,
                                                          method: source == "lab" ? "lab" : "device")))
            }
            rows.append(.derived(TrendDerived(time: time, name: "pf", value: spo2 * 1.5 / (fio2 / 100), unit: "mmHg", method: "imputed", inputs: "{}")))
            rows.append(.derived(TrendDerived(time: time, name: "sf", value: spo2 / (fio2 / 100), unit: "1", method: "computed", inputs: "{}")))
            rows.append(.derived(TrendDerived(time: time, name: "vt_per_kg", value: vt / 52.4, unit: "ml/kg", method: "computed", inputs: "{}")))
            rows.append(.derived(TrendDerived(time: time, name: "driving_pressure", value: pplat - peep, unit: "cmH2O", method: "computed", inputs: "{}")))
            if t % 21600 == 0 { rows.append(.position(time: time, position: (t / 21600) % 3 == 1 ? "prone" : "supine")) }
            if t % 3600 == 1800 {
                rows.append(.alarm(TrendAlarmEvent(time: time, alarmID: t / 3600, rule: "oxygenation.spo2_low", type: "physiological", title: "SpO2 low",
                                                   phase: "start", priority: "high", state: "active", acknowledged: false, reason: nil, source: nil,
                                                   text: "SpO2 below 88 %")))
                rows.append(.alarm(TrendAlarmEvent(time: time + 600, alarmID: t / 3600, rule: "oxygenation.spo2_low", type: "physiological",
                                                   title: "SpO2 low", phase: "end", priority: "high", state: "inactive", acknowledged: false,
                                                   reason: nil, source: nil, text: "Ended")))
            }
            if rows.count >= 3600 * 14 {
                try store.write(rows)
                rows.removeAll(keepingCapacity: true)
            }
        }
        try store.write(rows)
        store.checkpoint()  // as a running agent's store is: its log checkpointed as it grows
        let counts = try store.counts()
        print("report: store of \(days) days at 1 Hz built in \(String(format: "%.1f", Date().timeIntervalSince(built))) s: \(counts["observation"] ?? 0) observations, \(counts["derived"] ?? 0) derived, \(counts["minute_summary"] ?? 0) minute summaries; \(fileSize(path) / 1_048_576) MB")
        for run in 1...3 {
            let clock = ContinuousClock()
            let cpu = processCPUSeconds()
            var html = ""
            var data: TrendData?
            let reading = try clock.measure {
                let reader = try TrendStore(path: path, readOnly: true)
                data = try reader.read(from: nil, to: nil)
            }
            let drawing = clock.measure {
                html = TrendReport(timeZone: TimeZone(identifier: "UTC")!, sourceName: "trends.sqlite").html(data!)
            }
            func s(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
            print(String(format: "report: run %d: %.3f s wall (reading %.3f, drawing %.3f), %.3f s CPU, %.2f MB of HTML (target: < 2 s, < 3 MB)", run,
                         s(reading + drawing), s(reading), s(drawing), processCPUSeconds() - cpu, Double(html.utf8.count) / 1_048_576))
        }
    }

    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int ?? 0)
            + ((try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? Int ?? 0)
    }

    /// `make bench BENCH=trend-writes`: what the trend store adds to `alveo run`. A scenario of `hours`
    /// at 1 Hz with 10 device parameters goes through the bedside loop twice, without and with trends
    /// written to a store on disk (the writer thread's batches each second, as live): the CPU difference
    /// per simulated second is the share of a core the trends cost. Target: under 0.1 %.
    static func writes(hours: Int) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alveo-bench-trends-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = AgentConfig(patient: Patient(sex: .female, heightCm: 160))
        let seconds = hours * 3600
        func observations(_ t: Int) -> [Observation] {
            let phase = Double(t % 3600) / 3600 * 2 * Double.pi
            return [("spo2", 92 + 3 * sin(phase)), ("pulse_rate", 90), ("fio2", 50), ("vt", 330 + 10 * sin(phase)), ("pplat", 26), ("peep", 10),
                    ("ppeak", 31), ("rr", 20), ("spo2", 92 + 3 * sin(phase)), ("pulse_rate", 91)].enumerated().map { index, pair in
                Observation(source: index < 8 && index >= 2 ? "vent" : "oxi", parameter: Parameter(name: pair.0)!, value: .number(pair.1))
            }
        }
        func run(store: TrendStore?) -> (cpu: Double, rows: Int, loop: Duration) {
            var loop = BedsideLoop(config: config)
            let writer = store.map { TrendWriter(store: $0, interval: 1, rawRetention: 14 * 86400, summaryRetention: 365 * 86400) }
            var rows = 0
            if let writer {
                loop.recordTrends(origin: 1_790_000_000, config: config) { batch in
                    rows += batch.count
                    writer.append(batch)
                }
            }
            let cpu = processCPUSeconds()
            let clock = ContinuousClock()
            var inLoop = Duration.zero
            for t in 0..<seconds {
                let group = observations(t)
                // What the loop that feeds the core spends: the core, the recorder and the append.
                inLoop += clock.measure { _ = loop.take(group, at: Double(t)) }
                // As live, a batch per second of data: here the writer is flushed each simulated second.
                if let writer, t % 1 == 0 { writer.flush() }
            }
            writer?.stop()
            return (processCPUSeconds() - cpu, rows, inLoop)
        }
        let without = run(store: nil)
        let with = run(store: try TrendStore(path: directory.appendingPathComponent("trends.sqlite").path))
        let added = (with.cpu - without.cpu) / Double(seconds)
        func microseconds(_ d: Duration) -> Double { (Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12) / Double(seconds) }
        print(String(format: "trend-writes: the loop that feeds the core: %.2f µs per group without trends, %.2f µs with (recorder and append; the writing is on the store's thread)",
                     microseconds(without.loop), microseconds(with.loop)))
        print(String(format: "trend-writes: %d s of 10 parameters at 1 Hz: %.3f s CPU without trends, %.3f s with (%d rows, one transaction a second): %.1f µs of CPU per second of monitoring = %.4f %% of a core (target: < 0.1 %%)",
                     seconds, without.cpu, with.cpu, with.rows, added * 1e6, added * 100))
    }
}
