import AlveoTestKit
import Foundation
import Testing

/// The alarm journal cannot be written (a full disk, simulated at the system-call level by a
/// test-only LD_PRELOAD shim that makes writes to journal segments fail with ENOSPC while a flag
/// file exists). Before the fix the agent logged "alarm event NOT journaled" for each event, the
/// station heard nothing and `replay` exited 0. Now `technical.journal_failed` goes to stdout and to
/// a real HL7 receiver at once, the events are held and written once the disk has room again (none
/// lost, order kept, all delivered), and a replay that leaves events unjournaled exits 74.
@Suite(.serialized, .endToEnd, .ownThread) struct JournalFailureTests {
    let directory: URL

    init() throws {
        directory = try Paths.temporaryDirectory()
    }

    var flag: String { directory.appendingPathComponent("disk-full").path }

    func shim() throws -> String { try Shims.build("enospc_shim", in: directory) }

    func environment() throws -> [String: String] {
        ["LD_PRELOAD": try shim(), "ALVEO_FAULT_FLAG": flag, "ALVEO_FAULT_MATCH": "/journal/journal-"]
    }

    func startReceiver(port: Int) throws -> RunningProcess {
        let ready = directory.appendingPathComponent("receiver.ready").path
        let receiver = try RunningProcess(["python3", HL7DeliveryTests.receiverScript, "--port", "\(port)", "--log", receivedLog,
                                           "--mode", "aa", "--n", "0", "--ready", ready], directory: directory, name: "receiver")
        #expect(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: ready) || receiver.poll() != nil }, "\(receiver.stderr)")
        return receiver
    }

    var receivedLog: String { directory.appendingPathComponent("received.jsonl").path }

    func receivedControlIDs() -> [String] {
        ((try? String(contentsOfFile: receivedLog, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["control_id"] as? String
        }
    }

    func config(port: Int, devices: String = "") throws -> String {
        let path = directory.appendingPathComponent("bed.yaml").path
        try """
            patient: {sex: female, height_cm: 160}
            \(devices)
            # A probe that flaps is a steady flow of events here, not one alarm (rules v3 §1.3-1.4).
            rules:
              technical.sensor_off: {offset_s: 0, chatter_max_per_h: 60}
            outputs:
              journal: {directory: journal}
              hl7: {host: 127.0.0.1, port: \(port), ack_timeout_ms: 2000, reconnect_max_s: 0.5, patient_id: "12345", bed_id: ICU-B1}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Lines of the journal's segments, in order.
    func journalLines() -> [[String: Any]] {
        let journal = directory.appendingPathComponent("journal").path
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: journal)) ?? []).filter { $0.hasPrefix("journal-") }.sorted()
        return names.flatMap { name in
            ((try? String(contentsOfFile: journal + "/" + name, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
    }

    func events(_ stdout: String) -> [[String: Any]] {
        stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func key(_ event: [String: Any]) -> String {
        "\(event["rule"] ?? "")/\(event["alarm_id"] ?? "")/\(event["phase"] ?? "")/\(event["t"] ?? "")"
    }

    @Test func aReplayOnAFullDiskRaisesTheAlarmTellsTheStationAndFails() throws {
        let port = freePort()
        let receiver = try startReceiver(port: port)
        defer { receiver.kill() }
        let scenario = directory.appendingPathComponent("toggle.csv").path
        var text = "t,source,parameter,value\n"
        // Two probe-off episodes: 4 events.
        for n in 0..<2 { text += "\(30 * n),oxi,sensor,off\n\(30 * n + 5),oxi,sensor,ok\n\(30 * n + 20),oxi,sensor,ok\n" }
        try text.write(toFile: scenario, atomically: true, encoding: .utf8)
        try "".write(toFile: flag, atomically: true, encoding: .utf8)  // the disk is full from the start
        let result = try ChildProcess.run([Paths.alveo, "replay", "--config", try config(port: port), "--drain-timeout", "20", scenario],
                                          environment: try environment())
        #expect(result.status == 74, "a replay whose events could not be journaled fails: \(result.stderr)")
        #expect(result.stderr.contains("could not be written to the journal"), "\(result.stderr)")
        let printed = events(result.stdout)
        #expect(printed.filter { $0["rule"] as? String == "technical.sensor_off" }.count == 4, "every event still reaches stdout")
        #expect(printed.contains { $0["rule"] as? String == "technical.journal_failed" && $0["phase"] as? String == "start" },
                "\(result.stdout)")
        #expect(!result.stderr.contains("NOT journaled"), "one alarm, not a log line per event")
        // The station hears of it although nothing could be journaled.
        #expect(waitUntil(timeout: 10) { receivedControlIDs().contains { $0.hasPrefix("ICU-B1-JF-") } }, "\(receivedControlIDs())")
    }

    @Test func aLiveAgentHoldsEventsWhileTheDiskIsFullAndLosesNone() throws {
        let port = freePort()
        let receiver = try startReceiver(port: port)
        defer { receiver.kill() }
        // A simulated oximeter whose probe comes off and back every 2 s: a steady flow of events.
        let scenario = directory.appendingPathComponent("probe.csv").path
        var text = "t,source,parameter,value\n"
        for t in 0..<300 { text += t % 4 < 2 ? "\(t),oxi,sensor,off\n" : "\(t),oxi,spo2,95\n\(t),oxi,pulse_rate,80\n" }
        try text.write(toFile: scenario, atomically: true, encoding: .utf8)
        let link = directory.appendingPathComponent("oxi").path
        let simulator = try RunningProcess([Paths.alveo, "simulate", "--scenario", scenario, "--vent-port", "\(freePort())", "--oxi-link", link],
                                           directory: directory, name: "simulate")
        defer { simulator.kill() }
        #expect(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: link) }, "\(simulator.stderr)")
        let devices = """
            devices:
              - {id: oxi, profile: \(LiveModbusTests.gatewayProfile), poll_interval_s: 0.25, transport: {kind: modbus_rtu, path: \(link), baud: 19200}}
            """
        let agent = try RunningProcess([Paths.alveo, "run", "--config", try config(port: port, devices: devices)], directory: directory,
                                       name: "alveo", environment: try environment())
        defer { agent.kill() }
        func count(_ rule: String, _ phase: String? = nil) -> Int {
            events(agent.stdout).filter { $0["rule"] as? String == rule && (phase == nil || $0["phase"] as? String == phase) }.count
        }
        #expect(waitUntil(timeout: 30) { count("technical.sensor_off") >= 2 }, "\(agent.stdout)\n\(agent.stderr)")

        // The disk fills up: the alarm at once, at the bed and at the station; events go on.
        try "".write(toFile: flag, atomically: true, encoding: .utf8)
        let before = count("technical.sensor_off")
        #expect(waitUntil(timeout: 20) { count("technical.journal_failed", "start") == 1 }, "\(agent.stdout)\n\(agent.stderr)")
        #expect(waitUntil(timeout: 10) { receivedControlIDs().contains { $0.hasPrefix("ICU-B1-JF-") } }, "\(receivedControlIDs())")
        #expect(waitUntil(timeout: 30) { count("technical.sensor_off") >= before + 3 }, "events still reach stdout")

        // Room again: the held events are journaled, the alarm ends, everything reaches the station.
        try FileManager.default.removeItem(atPath: flag)
        #expect(waitUntil(timeout: 20) { count("technical.journal_failed", "end") == 1 }, "\(agent.stdout)\n\(agent.stderr)")
        #expect(waitUntil(timeout: 20) { count("technical.sensor_off") >= before + 5 })
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 20) == 0, "\(agent.stderr)")

        let printed = events(agent.stdout).map(key)
        let journaled = journalLines().compactMap { $0["event"] as? [String: Any] }.map(key)
        #expect(Set(printed) == Set(journaled), "every event printed is in the journal")
        #expect(journaled.count == Set(journaled).count, "each once")
        let sensorPrinted = printed.filter { $0.hasPrefix("technical.sensor_off") }
        #expect(journaled.filter { $0.hasPrefix("technical.sensor_off") } == sensorPrinted, "in the order they happened")
        // Every journaled event reached the receiver, in journal order (the agent's start and stop
        // markers are the record, not sent).
        let sequence = journalLines().filter { $0["event"] != nil }.compactMap { ($0["seq"] as? NSNumber)?.intValue }
        #expect(waitUntil(timeout: 20) {
            let ids = receivedControlIDs().filter { !$0.contains("-JF-") && !$0.contains("-HB-") }
            var folded: [String] = []
            for id in ids where folded.last != id { folded.append(id) }
            return folded == sequence.map { "ICU-B1-\($0)" }
        }, "\(receivedControlIDs()) vs \(sequence)")
    }

    /// A simulated oximeter whose probe comes off and back every 2 s (a steady flow of events), and
    /// the devices section that polls it.
    func probeFlapper() throws -> (RunningProcess, String) {
        let scenario = directory.appendingPathComponent("probe.csv").path
        var text = "t,source,parameter,value\n"
        for t in 0..<600 { text += t % 4 < 2 ? "\(t),oxi,sensor,off\n" : "\(t),oxi,spo2,95\n\(t),oxi,pulse_rate,80\n" }
        try text.write(toFile: scenario, atomically: true, encoding: .utf8)
        let link = directory.appendingPathComponent("oxi").path
        let simulator = try RunningProcess([Paths.alveo, "simulate", "--scenario", scenario, "--vent-port", "\(freePort())", "--oxi-link", link],
                                           directory: directory, name: "simulate")
        #expect(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: link) }, "\(simulator.stderr)")
        return (simulator, """
            devices:
              - {id: oxi, profile: \(LiveModbusTests.gatewayProfile), poll_interval_s: 0.25, transport: {kind: modbus_rtu, path: \(link), baud: 19200}}
            """)
    }

    /// A journal on a file system mounted read-only at start (EROFS from the shim for every write
    /// open and mkdir under it): the agent monitors on — alarms on stdout, technical.journal_failed at
    /// the station — and journals everything it held once the file system is writable again. Before,
    /// it exited 74 and systemd restarted it forever with no alarm anywhere.
    @Test func aJournalThatCannotBeOpenedAtStartStillMonitorsAndJournalsOnceItCan() throws {
        let port = freePort()
        let receiver = try startReceiver(port: port)
        defer { receiver.kill() }
        let (simulator, devices) = try probeFlapper()
        defer { simulator.kill() }
        let readonly = directory.appendingPathComponent("read-only").path
        try "".write(toFile: readonly, atomically: true, encoding: .utf8)
        let agent = try RunningProcess([Paths.alveo, "run", "--config", try config(port: port, devices: devices)], directory: directory, name: "alveo",
                                       environment: ["LD_PRELOAD": try shim(), "ALVEO_READONLY_FLAG": readonly, "ALVEO_FAULT_MATCH": "/journal"])
        defer { agent.kill() }
        func count(_ rule: String, _ phase: String? = nil) -> Int {
            events(agent.stdout).filter { $0["rule"] as? String == rule && (phase == nil || $0["phase"] as? String == phase) }.count
        }
        #expect(waitUntil(timeout: 30) { count("technical.journal_failed", "start") == 1 }, "\(agent.stdout)\n\(agent.stderr)")
        #expect(agent.stderr.contains("THE ALARM JOURNAL CANNOT BE OPENED"), "\(agent.stderr)")
        #expect(waitUntil(timeout: 20) { receivedControlIDs().contains { $0.hasPrefix("ICU-B1-JF-") } }, "the station hears of it: \(receivedControlIDs())")
        #expect(waitUntil(timeout: 30) { count("technical.sensor_off") >= 3 }, "monitoring goes on: \(agent.stdout)")
        #expect(agent.poll() == nil)

        // Writable again: the journal opens, what was held is journaled, the alarm ends.
        try FileManager.default.removeItem(atPath: readonly)
        #expect(waitUntil(timeout: 30) { count("technical.journal_failed", "end") == 1 }, "\(agent.stdout)\n\(agent.stderr)")
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 30) == 0, "\(agent.stderr)")
        let printed = events(agent.stdout).map(key)
        let journaled = journalLines().compactMap { $0["event"] as? [String: Any] }.map(key)
        #expect(Set(printed) == Set(journaled), "every event printed is in the journal: missing \(Set(printed).subtracting(journaled))")
        #expect(journalLines().contains { $0["agent"] as? String == "started" } && journalLines().last?["agent"] as? String == "stopped")
    }

    /// Stopped while the journal cannot be written: what is held in memory — the events since, the
    /// ends of the alarms, technical.monitoring_stopped, the stop marker — goes to the spill directory
    /// and is journaled, with its own run's id, by the next start. Before, the log said "5 waited" and
    /// 8 were lost.
    @Test func aStopDuringAJournalFailureKeepsWhatWasHeldAndTheNextStartJournalsIt() throws {
        let port = freePort()
        let receiver = try startReceiver(port: port)
        defer { receiver.kill() }
        let (simulator, devices) = try probeFlapper()
        defer { simulator.kill() }
        let configPath = try config(port: port, devices: devices)
        var text = try String(contentsOfFile: configPath, encoding: .utf8)
        text = text.replacingOccurrences(of: "journal: {directory: journal}", with: "journal: {directory: journal, spill_directory: spill}")
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
        let agent = try RunningProcess([Paths.alveo, "run", "--config", configPath], directory: directory, name: "alveo", environment: try environment())
        defer { agent.kill() }
        func count(_ rule: String, _ phase: String? = nil) -> Int {
            events(agent.stdout).filter { $0["rule"] as? String == rule && (phase == nil || $0["phase"] as? String == phase) }.count
        }
        #expect(waitUntil(timeout: 30) { count("technical.sensor_off") >= 2 }, "\(agent.stdout)\n\(agent.stderr)")
        try "".write(toFile: flag, atomically: true, encoding: .utf8)
        #expect(waitUntil(timeout: 20) { count("technical.journal_failed", "start") == 1 }, "\(agent.stdout)\n\(agent.stderr)")
        let before = count("technical.sensor_off")
        #expect(waitUntil(timeout: 30) { count("technical.sensor_off") >= before + 2 }, "events while the disk is full")
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 60) == 0, "\(agent.stderr)")
        let run = try #require(journalLines().first?["run"] as? String)

        let spill = directory.appendingPathComponent("spill").path
        let files = (try? FileManager.default.contentsOfDirectory(atPath: spill)) ?? []
        #expect(files.count == 1 && files.first?.hasPrefix("spill-\(run)") == true, "\(files)\n\(agent.stderr)")
        #expect(agent.stderr.contains("kept in \(spill)/spill-"), "the stop says where: \(agent.stderr)")
        let printed = Set(events(agent.stdout).map(key))
        #expect(printed.contains { $0.hasPrefix("technical.monitoring_stopped/") }, "\(agent.stdout)")

        // The next start, with room on the disk: the spilled lines are journaled under their own run.
        try FileManager.default.removeItem(atPath: flag)
        let next = try RunningProcess([Paths.alveo, "run", "--config", configPath], directory: directory, name: "alveo-2", environment: try environment())
        defer { next.kill() }
        #expect(waitUntil(timeout: 30) { ((try? FileManager.default.contentsOfDirectory(atPath: spill)) ?? []).isEmpty }, "\(next.stderr)")
        next.signal(SIGTERM)
        #expect(next.waitForExit(timeout: 30) == 0, "\(next.stderr)")
        let lines = journalLines()
        let firstRun = lines.filter { $0["run"] as? String == run }
        let journaled = Set(firstRun.compactMap { $0["event"] as? [String: Any] }.map(key))
        #expect(printed.subtracting(journaled).isEmpty, "lost at the stop: \(printed.subtracting(journaled))")
        #expect(firstRun.last?["agent"] as? String == "stopped", "the first run's clean stop is on record")
        #expect(next.stderr.contains("journaled now"), "\(next.stderr)")
        // The second run saw a clean stop (no crash gap), because the stop marker was spilled too.
        #expect(!next.stderr.contains("stopped_cleanly=false"), "\(next.stderr)")
    }
}
