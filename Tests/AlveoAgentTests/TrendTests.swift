import AlveoTestKit
import AlveoAgent
import AlveoCore
import AlveoTrace
import AlveoTrends
import Foundation
import Synchronization
import Testing

/// The trend store and the report (docs/trends.md): the store holds exactly what the core accepted,
/// keeps its retention, survives SIGKILL, and a store that cannot be written raises an alarm while
/// monitoring goes on; the report of the DAH course and of a golden raw trace is checked against the
/// store by an independent Python reader and rendered by headless Chromium with no network fetch.
@Suite(.serialized, .endToEnd, .ownThread) struct TrendTests {
    let directory: URL

    init() throws {
        directory = try Paths.temporaryDirectory()
    }

    static let origin = 1_790_000_000.0

    static var goldenTraces: [String] {
        let devices = Paths.repository.appendingPathComponent("devices")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: devices.path)) ?? []
        return names.sorted().flatMap { name -> [String] in
            let traces = devices.appendingPathComponent(name).appendingPathComponent("traces")
            return ((try? FileManager.default.contentsOfDirectory(atPath: traces.path)) ?? []).filter { $0.hasSuffix(".alvtrace") }.sorted()
                .map { traces.appendingPathComponent($0).path }
        }
    }

    /// Every golden trace: the store's observations are the replay's decoded values minus those the
    /// core rejects (impossible numbers), value for value, in order.
    @Test(arguments: goldenTraces) func theStoreHoldsExactlyTheObservationsTheCoreAccepted(trace: String) throws {
        let store = try TrendStore(path: ":memory:")
        var rows: [TrendRow] = []
        var exported: [TrendObservation] = []
        var rejected = 0
        _ = try TraceReplay.run(path: trace, observations: { t, group in
            for observation in group {
                guard case .number(let value) = observation.value else { continue }
                guard let range = observation.parameter.acceptedRange, DeviceNumber.isUsable(value), range.contains(value) else {
                    rejected += 1
                    continue
                }
                let sampled = observation.parameter.isStreamed ? t : min(observation.sampledAt ?? t, t)
                exported.append(TrendObservation(time: Self.origin + sampled, parameter: observation.parameter.name, value: value,
                                                 unit: observation.parameter.unit, source: observation.source, method: "device"))
            }
        }, trends: TrendOutput(origin: Self.origin) { rows += $0 }) { _ in }
        try store.write(rows)
        let stored = try store.observations().filter { $0.method == "device" }
        #expect(stored.count == exported.count, "\(trace): \(stored.count) stored, \(exported.count) accepted (\(rejected) rejected)")
        #expect(stored == exported)
    }

    /// A scenario with impossible and unusable values among good ones, charted and laboratory values:
    /// the store holds the good ones only, each with its method and sample time.
    @Test func impossibleValuesNeverReachTheStore() throws {
        let scenario = directory.appendingPathComponent("s.csv").path
        try """
            t,source,parameter,value
            0,oxi,spo2,93
            1,oxi,spo2,150
            2,oxi,spo2,1e308
            4,oxi,spo2,91
            5,vent,fio2,60
            6,lab,pao2,70
            7,chart,hemoptysis,20
            8,vent,fio2,-5
            """.write(toFile: scenario, atomically: true, encoding: .utf8)
        var rows: [TrendRow] = []
        _ = try ScenarioReplay.run(config: AgentConfig(patient: Patient(sex: .female, heightCm: 160)), scenarioPath: scenario,
                                   trends: TrendOutput(origin: Self.origin) { rows += $0 }) { _ in }
        let store = try TrendStore(path: ":memory:")
        try store.write(rows)
        let stored = try store.observations().map { "\($0.parameter)=\(JSONValue.formatted($0.value))/\($0.method)@\(Int($0.time - Self.origin))" }
        #expect(stored == ["spo2=93/device@0", "spo2=91/device@4", "fio2=60/device@5", "pao2=70/lab@6", "hemoptysis=20/charted@7"], "\(stored)")
        let derived = rows.compactMap { row -> String? in if case .derived(let d) = row { return "\(d.name)/\(d.method)" } else { return nil } }
        #expect(derived.contains("pf/measured") && derived.contains("sf/computed"), "\(derived)")
    }

    /// A long replay (more rows than the live writer would hold for a store that cannot be written)
    /// stores every one of them: `alveo replay --trends` writes as it goes.
    @Test func aLongReplayStoresEveryRow() throws {
        let scenario = directory.appendingPathComponent("long.csv").path
        var text = "t,source,parameter,value\n"
        for t in 0..<60_000 {
            text += "\(t),oxi,spo2,\(90 + t % 7)\n\(t),vent,fio2,\(40 + t % 3)\n\(t),vent,vt,\(320 + t % 11)\n\(t),vent,pplat,\(24 + t % 4)\n"
            text += "\(t),vent,peep,10\n\(t),vent,ppeak,30\n\(t),vent,rr,20\n"
        }
        try text.write(toFile: scenario, atomically: true, encoding: .utf8)
        let config = directory.appendingPathComponent("bed.yaml").path
        try "patient: {sex: female, height_cm: 160}\n".write(toFile: config, atomically: true, encoding: .utf8)
        let store = directory.appendingPathComponent("long.sqlite").path
        _ = try runChecked([Paths.alveo, "replay", "--config", config, "--start", "2026-11-01T00:00:00Z", "--trends", store, scenario])
        let counts = try TrendStore(path: store, readOnly: true).counts()
        #expect(counts["observation"] == 420_000, "\(counts)")
        #expect((counts["derived"] ?? 0) >= 180_000, "\(counts)")
    }

    /// Retention by the data's time: raw values older than retention_days go, minute summaries and
    /// alarm events stay until summary_retention_days.
    @Test func retentionKeepsRawValuesForTheirDaysAndSummariesLonger() throws {
        let path = directory.appendingPathComponent("trends.sqlite").path
        let store = try TrendStore(path: path)
        var rows: [TrendRow] = []
        let origin = 1_789_999_980.0  // on a minute
        for day in 0..<20 {
            for minute in 0..<10 {
                let time = origin + Double(day) * 86400 + Double(minute) * 60
                rows.append(.observation(TrendObservation(time: time, parameter: "spo2", value: 90 + Double(minute), unit: "%", source: "oxi", method: "device")))
            }
            rows.append(.alarm(TrendAlarmEvent(time: origin + Double(day) * 86400, alarmID: day + 1, rule: "oxygenation.spo2_low", type: "physiological",
                                               title: "SpO2 low", phase: "start", priority: "high", state: "active", acknowledged: false, reason: nil,
                                               source: nil, text: "low")))
        }
        let writer = TrendWriter(store: store, rawRetention: 14 * 86400, summaryRetention: 17 * 86400)
        writer.append(rows)
        #expect(writer.flush())
        let counts = try store.counts()
        // The newest value is day 19 + 9 min: raw values from day 5 + 9 min on stay (14 days), summaries
        // and alarms from day 2 + 9 min on (17 days).
        #expect(counts["observation"] == 141, "\(counts)")
        let oldest = try #require(try store.observations().first)
        #expect(oldest.time >= origin + 19 * 86400 + 9 * 60 - 14 * 86400)
        #expect(counts["minute_summary"] == 17 * 10 + 1, "\(counts)")
        #expect(counts["alarm_event"] == 17, "\(counts)")
        // A report of the whole store still draws the older days, from the summaries (30 minutes).
        let data = try store.read(from: origin, to: origin + 20 * 86400)
        #expect(data.series["spo2"]?.values == 141 + 30)
        #expect(data.series["spo2"]?.fromSummaries == true)
        #expect(data.series["spo2"]?.points.first?.time == origin + 2 * 86400 + 9 * 60)
        // The file is patient data: not readable by others.
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode & 0o077 == 0, "mode \(String(mode, radix: 8))")
    }

    /// A store never takes the last room of its disk: below trends.min_free_mb the writer holds its
    /// rows and says why (technical.trend_store_failed), and writes them once there is 10 % more room.
    @Test func belowItsFreeSpaceFloorTheStoreWaitsAndSaysWhy() throws {
        let path = directory.appendingPathComponent("floor.sqlite").path
        let free = Mutex<UInt64>(100 << 20)
        let writer = TrendWriter(path: path, interval: 0.05, rawRetention: 14 * 86400, summaryRetention: 17 * 86400,
                                 minFreeBytes: 512 << 20, freeSpace: { free.withLock { $0 } }) { () throws(TrendStoreError) in
            try TrendStore(path: path)
        }
        writer.start()
        defer { writer.stop() }
        let row = TrendRow.observation(TrendObservation(time: Self.origin, parameter: "spo2", value: 93, unit: "%", source: "oxi", method: "device"))
        writer.append([row])
        #expect(waitUntil(timeout: 20) { writer.problem?.contains("min_free_mb") == true }, "\(writer.problem ?? "no problem")")
        #expect(writer.counters.written == 0 && writer.counters.pending == 1)
        // Just above the floor is not enough once paused (no flapping at the edge); 10 % above is.
        free.withLock { $0 = 520 << 20 }
        writer.append([row])
        #expect(!waitUntil(timeout: 7) { writer.counters.written > 0 }, "resumed within 10 % of the floor")
        free.withLock { $0 = 600 << 20 }
        #expect(waitUntil(timeout: 20) { writer.counters.written == 2 && writer.problem == nil }, "\(writer.counters) \(writer.problem ?? "")")
    }

    /// The downsampling keeps every extreme and at most two points per bucket.
    @Test func downsamplingKeepsTheExtremesOfADayAt1Hz() throws {
        let store = try TrendStore(path: ":memory:")
        var rows: [TrendRow] = []
        for t in 0..<86400 {
            let value = 92 + 4 * sin(Double(t) / 600) + (t == 40_000 ? -30 : 0) + (t == 70_001 ? 7 : 0)
            rows.append(.observation(TrendObservation(time: Self.origin + Double(t), parameter: "spo2", value: value, unit: "%", source: "oxi", method: "device")))
        }
        try store.write(rows)
        let data = try store.read(from: nil, to: nil)
        let series = try #require(data.series["spo2"])
        #expect(series.values == 86400)
        #expect(series.points.count <= 2 * Downsampling.defaultBuckets && series.points.count > Downsampling.defaultBuckets)
        #expect(series.points.contains { $0.time == Self.origin + 40_000 && $0.value < 63 }, "the dip is kept")
        #expect(series.points.contains { $0.time == Self.origin + 70_001 }, "the peak is kept")
        #expect(zip(series.points, series.points.dropFirst()).allSatisfy { $0.time <= $1.time })
    }

    func runChecked(_ arguments: [String]) throws -> ChildProcess.Result {
        let result = try ChildProcess.run(arguments, timeout: 300, environment: ["TZ": "UTC"])
        #expect(result.status == 0, "\(arguments.joined(separator: " ")): \(result.stderr)")
        return result
    }

    func checkReport(_ html: String, store: String) throws -> [String: Any] {
        let png = html.replacingOccurrences(of: ".html", with: ".png")
        let check = try ChildProcess.run(["python3", Paths.repository.appendingPathComponent("Tests/Peers/report_check.py").path, html, "--db", store, "--png", png],
                                         timeout: 300)
        #expect(check.status == 0, "\(check.stdout)\n\(check.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [String: Any])
        #expect(summary["network_connections"] as? Int == 0)
        #expect(FileManager.default.fileExists(atPath: png))
        return summary
    }

    /// The bundled 37-hour DAH course: replayed into a store, reported, checked and rendered.
    @Test func theDAHCourseReportIsCheckedAgainstTheStoreAndRendered() throws {
        let store = directory.appendingPathComponent("dah.sqlite").path
        let html = directory.appendingPathComponent("dah.html").path
        _ = try runChecked([Paths.alveo, "replay", "--config", Paths.repository.appendingPathComponent("config/dah-demo.yaml").path,
                            "--start", "2026-11-01T06:00:00Z", "--trends", store,
                            Paths.repository.appendingPathComponent("devices/scenarios/dah_escalation.csv").path])
        let config = Paths.repository.appendingPathComponent("config/dah-demo.yaml").path
        _ = try runChecked([Paths.alveo, "report", "--trends", store, "--config", config, "-o", html])
        let summary = try checkReport(html, store: store)
        let charts = try #require(summary["charts"] as? [String: [String: [String: Int]]])
        #expect(charts["pf"]?["pf/measured"]?["values"] == 3, "three blood gases: \(charts["pf"] ?? [:])")
        #expect((charts["pf"]?["pf/imputed"]?["values"] ?? 0) > 100)
        #expect(charts["hb"]?["hb"]?["values"] == 4 && charts["hemoptysis"]?["hemoptysis"]?["values"] == 4)
        #expect(charts["rr"]?["rr"]?["values"] == 445 && charts["heart_rate"]?["pulse_rate"]?["values"] == 445, "RR and pulse: \(charts)")
        #expect(charts["ppeak"] == [:] && charts["map"] == [:], "the course has no Ppeak and no MAP: empty tracks")
        // One column on one axis (the checker measured the rendered page): the alarm lane among the
        // tracks, right under the time axis; every time at the same pixel on every track.
        let tracks = try #require(summary["tracks"] as? [String])
        #expect(tracks.prefix(3) == ["axis-top", "alarms", "spo2"] && tracks.last == "axis-bottom", "\(tracks)")
        let rendered = try #require(summary["rendered"] as? [String: Any])
        #expect(rendered["tracks"] as? Int == tracks.count && (rendered["tick_spread_px"] as? Double ?? 9) <= 0.5, "\(rendered)")
        // 06:00 on 1 November to 19:01 on the 2nd (UTC): two dates on the axis, 38 whole hours, 3 gases.
        #expect(summary["day_ticks"] as? Int == 2 && summary["hourly_rows"] as? Int == 38 && summary["gas_rows"] as? Int == 3, "\(summary)")
        // 60 + 90 + 80 ml and 20 ml prone: 250 ml within 24 h, against the configured 200 ml.
        #expect(summary["hemoptysis_total_max"] as? Double == 250, "\(summary)")
        #expect(summary["plasma_exchange_marks"] as? Int == 1)
        let alarms = summary["alarms"] as? Int ?? 0, events = summary["alarm_events"] as? Int ?? 0
        #expect(alarms >= 10 && events > alarms, "\(alarms) alarms, \(events) events")
        let text = try String(contentsOfFile: html, encoding: .utf8)
        #expect(text.contains("\(alarms) alarms (episodes, start to end") && text.contains("from \(events) alarm events (state changes"))
        #expect(text.contains(">P/F ratio in an ARDS severity band<title>") && text.contains(">Plasma exchange to consider<title>"), "titles, not rule ids")
        #expect(text.contains("anca_vasculitis") && text.contains("52.4 kg"), "the header names the patient's conditions and PBW")
        #expect(text.contains("data-table=\"prompts\"") && text.contains("data-rule=\"escalation.plasma_exchange\""))
        #expect(text.contains("@page { size: A4 landscape"))
        // The same report straight from the scenario (no store on disk) is the same document.
        let direct = try runChecked([Paths.alveo, "report", "--config", Paths.repository.appendingPathComponent("config/dah-demo.yaml").path,
                                     "--start", "2026-11-01T06:00:00Z", Paths.repository.appendingPathComponent("devices/scenarios/dah_escalation.csv").path])
        #expect(direct.stdout.replacingOccurrences(of: "dah_escalation.csv", with: "dah.sqlite") == text)
    }

    /// A golden raw trace with its faults, and a window of it (--from/--to).
    @Test func aGoldenTraceReportIsCheckedAgainstTheStoreAndRendered() throws {
        let trace = Paths.repository.appendingPathComponent("devices/bedside/traces/live-bedside.alvtrace").path
        let store = directory.appendingPathComponent("trace.sqlite").path
        let html = directory.appendingPathComponent("trace.html").path
        _ = try runChecked([Paths.alveo, "replay", "--trends", store, trace])
        _ = try runChecked([Paths.alveo, "report", "--trends", store, "-o", html])
        let summary = try checkReport(html, store: store)
        let charts = try #require(summary["charts"] as? [String: [String: [String: Int]]])
        #expect(!(charts["spo2"] ?? [:]).isEmpty, "\(charts)")
        // A window: only what lies in it.
        let observations = try TrendStore(path: store, readOnly: true).observations()
        let first = try #require(observations.first?.time), last = try #require(observations.last?.time)
        let middle = Date(timeIntervalSince1970: ((first + last) / 2).rounded())
        let window = directory.appendingPathComponent("window.html").path
        _ = try runChecked([Paths.alveo, "report", "--trends", store, "--from", ISO8601DateFormatter().string(from: middle), "-o", window])
        let windowed = try checkReport(window, store: store)
        let spo2All = (charts["spo2"]?["spo2"]?["values"]) ?? 0
        let spo2Window = ((windowed["charts"] as? [String: [String: [String: Int]]])?["spo2"]?["spo2"]?["values"]) ?? 0
        #expect(spo2Window > 0 && spo2Window < spo2All, "\(spo2Window) of \(spo2All)")
    }

    /// A pymodbus gateway peer and a bed (bed.yaml in the test's directory) polling it every 0.2 s, with
    /// a journal and the `trends` section given.
    func liveBed(trends: String) throws -> (peer: RunningProcess, config: String) {
        let modbusPort = freePort()
        let peer = try Receivers.modbusPeer(["--tcp", "\(modbusPort)", "--ir", "1,3,0,42,80,72,400,300,220,50,140,280"], in: directory)
        let config = directory.appendingPathComponent("bed.yaml").path
        try """
            patient: {sex: female, height_cm: 160}
            devices:
              - {id: gw, profile: \(Paths.repository.appendingPathComponent("devices/alveo-gateway-v1/profile.yaml").path), poll_interval_s: 0.2, transport: {kind: modbus_tcp, host: 127.0.0.1, port: \(modbusPort)}}
            trends: \(trends)
            outputs: {journal: {directory: journal}}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        return (peer, config)
    }

    /// `alveo run` with a trend store: values flow in while it polls a real Modbus peer; SIGKILL leaves
    /// a store SQLite finds intact, which the next run reopens and goes on writing.
    @Test func theLiveStoreSurvivesSIGKILLAndTheNextRunWritesOn() throws {
        let (peer, config) = try liveBed(trends: "{path: state/trends.sqlite, retention_days: 14}")
        defer { peer.kill() }
        let store = directory.appendingPathComponent("state/trends.sqlite").path
        func observations() -> Int {
            guard let store = try? TrendStore(path: store, readOnly: true), let counts = try? store.counts() else { return 0 }
            return counts["observation"] ?? 0
        }
        let agent = try RunningProcess([Paths.alveo, "run", "--config", config], directory: directory, name: "alveo")
        #expect(waitUntil(timeout: 40) { observations() >= 50 }, "\(agent.stderr)")
        agent.signal(SIGKILL)
        _ = agent.waitForExit(timeout: 10)
        let before = observations()
        let check = try ChildProcess.run([Paths.alveo, "report", "--trends", store, "--check"])
        #expect(check.status == 0 && check.stdout.contains("quick_check: ok"), "\(check.stdout)\(check.stderr)")
        let again = try RunningProcess([Paths.alveo, "run", "--config", config], directory: directory, name: "alveo2")
        defer { again.kill() }
        #expect(waitUntil(timeout: 40) { observations() >= before + 50 }, "\(again.stderr)")
        again.signal(SIGTERM)
        #expect(again.waitForExit(timeout: 30) == 0)
        #expect(!again.stdout.contains("technical.trend_store_failed"), "\(again.stdout)")
    }

    /// A store locked by another process (a long write in the sqlite3 shell) and a file that is not a
    /// database: technical.trend_store_failed, and the agent goes on raising its other alarms; the
    /// lock released, the alarm ends and the values held meanwhile are written.
    @Test func aLockedOrDamagedStoreRaisesAnAlarmAndMonitoringGoesOn() throws {
        let (peer, config) = try liveBed(trends: "{path: trends.sqlite}")
        defer { peer.kill() }
        let store = directory.appendingPathComponent("trends.sqlite").path
        let events = { (agent: RunningProcess) in StationHealthTests.events(agent.stdout) }
        func has(_ agent: RunningProcess, _ rule: String, _ phase: String) -> Bool {
            events(agent).contains { $0["rule"] as? String == rule && $0["phase"] as? String == phase }
        }
        // Locked: a writer holds the database's write lock.
        _ = try TrendStore(path: store)
        let locker = try RunningProcess(["python3", "-c", """
            import sqlite3, sys, time, os
            db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)
            db.execute("BEGIN IMMEDIATE")
            open(sys.argv[1] + ".locked", "w").close()
            while not os.path.exists(sys.argv[1] + ".release"):
                time.sleep(0.05)
            db.execute("COMMIT")
            """, store], directory: directory, name: "locker")
        defer { locker.kill() }
        #expect(waitUntil(timeout: 20) { FileManager.default.fileExists(atPath: store + ".locked") })
        let agent = try RunningProcess([Paths.alveo, "run", "--config", config], directory: directory, name: "alveo")
        defer { agent.kill() }
        #expect(waitUntil(timeout: 40) { has(agent, "technical.trend_store_failed", "start") }, "\(agent.stdout)\n\(agent.stderr)")
        // Monitoring goes on: the peer's values raise their alarms meanwhile.
        #expect(waitUntil(timeout: 20) { events(agent).contains { $0["rule"] as? String != "technical.trend_store_failed" } }, "\(agent.stdout)")
        _ = FileManager.default.createFile(atPath: store + ".release", contents: nil)
        #expect(waitUntil(timeout: 40) { has(agent, "technical.trend_store_failed", "end") }, "\(agent.stdout)")
        let written = try TrendStore(path: store, readOnly: true).counts()["observation"] ?? 0
        #expect(written > 0, "the values held while locked are written")
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 30) == 0, "\(agent.stderr)")

        // Damaged: not a database at all.
        let damaged = directory.appendingPathComponent("damaged")
        try FileManager.default.createDirectory(at: damaged, withIntermediateDirectories: true)
        try Data(repeating: 0x5A, count: 8192).write(to: damaged.appendingPathComponent("trends.sqlite"))
        let damagedConfig = damaged.appendingPathComponent("bed.yaml").path
        try String(contentsOfFile: config, encoding: .utf8).write(toFile: damagedConfig, atomically: true, encoding: .utf8)
        let second = try RunningProcess([Paths.alveo, "run", "--config", damagedConfig], directory: damaged, name: "alveo-damaged")
        defer { second.kill() }
        #expect(waitUntil(timeout: 40) { has(second, "technical.trend_store_failed", "start") }, "\(second.stdout)\n\(second.stderr)")
        #expect(waitUntil(timeout: 20) { events(second).contains { $0["rule"] as? String != "technical.trend_store_failed" } }, "\(second.stdout)")
        let text = try #require(events(second).first { $0["rule"] as? String == "technical.trend_store_failed" }?["text"] as? String)
        #expect(text.contains("trends.sqlite") && text.contains("monitoring and alarms go on"), "\(text)")
        second.signal(SIGTERM)
        #expect(second.waitForExit(timeout: 30) == 0)
    }
}
