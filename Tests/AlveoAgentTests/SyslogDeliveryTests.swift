import AlveoTestKit
import Foundation
import Testing

/// Delivery to a real rsyslog (Debian's package, started by the test with an imtcp input and a file
/// output in RFC 5424 form), messages read back and checked field by field.
@Suite(.serialized, .endToEnd, .ownThread) struct SyslogDeliveryTests {
    let directory: URL

    init() throws {
        directory = try Paths.temporaryDirectory()
    }

    var logFile: String { directory.appendingPathComponent("messages.log").path }

    func startRsyslog(port: Int, name: String = "rsyslog") throws -> RunningProcess {
        try Receivers.rsyslog(port: port, logFile: logFile, in: directory, name: name)
    }

    func config(port: Int) throws -> String {
        let path = directory.appendingPathComponent("bed.yaml").path
        try """
            patient: {sex: male, height_cm: 170}
            rules:
            \(TogglingScenario.ruleLines)
            outputs:
              journal: {directory: journal}
              syslog: {host: 127.0.0.1, port: \(port), facility: local0, hostname: bed-b1, bed_id: ICU-B1, reconnect_max_s: 0.5}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func lines() -> [String] {
        ((try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// The sequence numbers of the journaled events (not charted entries, markers or ledger lines).
    func journalEventSequence(_ journal: String) -> [Int] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: journal)) ?? []).filter { $0.hasSuffix(".jsonl") && $0.hasPrefix("journal-") }
        return names.sorted().flatMap { name in
            ((try? String(contentsOfFile: journal + "/" + name, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line -> Int? in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], object["event"] != nil else { return nil }
                return (object["seq"] as? NSNumber)?.intValue
            }
        }
    }

    /// The `seq` values seen in the structured data.
    func sequenceNumbers() -> Set<Int> {
        Set(lines().compactMap { line in
            guard let range = line.range(of: #"seq="(\d+)""#, options: .regularExpression) else { return nil }
            return Int(line[range].dropFirst(5).dropLast())
        })
    }

    @Test func messagesArriveAsRFC5424WithStructuredData() throws {
        let port = freePort()
        let rsyslog = try startRsyslog(port: port)
        defer { rsyslog.kill() }
        let scenario = Paths.scenarios.appendingPathComponent("lpv_violations.csv").path
        let result = try ChildProcess.run([Paths.alveo, "replay", "--config", try config(port: port), scenario])
        #expect(result.status == 0, "\(result.stderr)")
        let expected = result.stdout.split(separator: "\n").count
        #expect(waitUntil(timeout: 15) { lines().count >= expected }, "\(lines())")
        let all = lines()
        #expect(all.count == expected)
        // <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG
        let pattern = #"^<(\d+)>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) bed-b1 alveo \d+ ([a-z_.]+) \[alarm@32473 bed="ICU-B1" seq="(\d+)" alarm_id="\d+" rule="([a-z_.]+)""#
        var lastSeq = 0
        for line in all {
            #expect(line.range(of: pattern, options: .regularExpression) != nil, "\(line)")
            // Journal order; the acknowledgements charted in the scenario are journal entries, not messages.
            let seq = line.range(of: #"seq="(\d+)""#, options: .regularExpression).flatMap { Int(line[$0].dropFirst(5).dropLast()) } ?? 0
            #expect(seq > lastSeq, "journal order: \(line)")
            lastSeq = seq
            let severity = line.contains("priority=\"high\"") ? 2 : (line.contains("priority=\"medium\"") ? 4 : 5)
            #expect(line.hasPrefix("<\(16 * 8 + severity)>1 "), "local0 and the priority mapping: \(line)")
        }
        let plateau = try #require(all.first { $0.contains("rule=\"lpv.plateau_high\"") && $0.contains("phase=\"start\"") })
        #expect(plateau.hasPrefix("<130>1 "), "high -> crit")
        #expect(plateau.contains("lpv.plateau_high [alarm@32473"), "MSGID is the rule id")
        #expect(plateau.contains("[evidence@32473 "))
        #expect(plateau.contains("pplat_cmh2o=\"32\""))
        #expect(plateau.hasSuffix("to 494 ml (7.5 ml/kg PBW, PBW 66.0 kg) and raise the respiratory rate (up to 35/min) to keep minute ventilation."), "MSG is the alarm text")
    }

    /// The receiver restarts while the agent's link is idle: the next message must not go into the dead
    /// connection (found by a review: TCP's unacknowledged count is also zero after a reset).
    @Test func receiverRestartedWhileIdleLosesNothing() throws {
        let port = freePort(), modbusPort = freePort()
        var rsyslog = try startRsyslog(port: port)
        let profile = Paths.repository.appendingPathComponent("devices/alveo-gateway-v1/profile.yaml").path
        let config = directory.appendingPathComponent("live.yaml").path
        try """
            patient: {sex: male, height_cm: 180}
            devices:
              - {id: gw, profile: \(profile), poll_interval_s: 0.2, reconnect_max_s: 0.3, transport: {kind: modbus_tcp, host: 127.0.0.1, port: \(modbusPort)}}
            rules:
              technical.device_silent: {timeout_s: 1}
            outputs:
              journal: {directory: journal-live}
              syslog: {host: 127.0.0.1, port: \(port), bed_id: ICU-B1, resend_window_s: 0}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let agent = try RunningProcess([Paths.alveo, "run", "--config", config], directory: directory, name: "agent")
        defer { agent.kill() }
        #expect(waitUntil(timeout: 30) { !sequenceNumbers().isEmpty }, "device_silent start delivered: \(agent.stderr)")
        rsyslog.signal(SIGTERM)
        #expect(rsyslog.waitForExit(timeout: 30) != nil)
        rsyslog = try startRsyslog(port: port, name: "rsyslog2")
        defer { rsyslog.kill() }
        // Now the device comes up: device_silent ends and driving pressure (22.0 - 5.0) starts.
        let peer = try RunningProcess(["python3", Paths.repository.appendingPathComponent("Tests/Peers/modbus_peer.py").path,
                                       "--tcp", "\(modbusPort)", "--ir", "1,1,0,42,97,72,400,450,220,50,140,280"],
                                      directory: directory, name: "peer")
        defer { peer.kill() }
        let position = directory.appendingPathComponent("journal-live/syslog.position").path
        #expect(waitUntil(timeout: 60) {
            let delivered = Int((try? String(contentsOfFile: position, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
            // Every journaled event up to the position (the agent's start marker is not sent).
            let events = Set(journalEventSequence(directory.appendingPathComponent("journal-live").path).filter { $0 <= delivered })
            return events.count >= 3 && sequenceNumbers().isSuperset(of: events)
        }, "every delivered entry reached a receiver: got \(sequenceNumbers().sorted()); \(agent.stderr)")
    }

    @Test func receiverRestartedMidStreamLosesNothing() throws {
        let port = freePort()
        let config = try config(port: port)
        let text = TogglingScenario.text(events: 300)
        let scenario = directory.appendingPathComponent("toggle.csv").path
        try text.write(toFile: scenario, atomically: true, encoding: .utf8)
        let replay = try ChildProcess.run([Paths.alveo, "replay", "--config", config, "--drain-timeout", "0.2", scenario])
        #expect(replay.status == 75, "no receiver yet: \(replay.stderr)")

        var rsyslog = try startRsyslog(port: port)
        let deliver = try RunningProcess([Paths.alveo, "deliver", "--config", config, "--timeout", "120"], directory: directory, name: "deliver")
        defer { deliver.kill() }
        #expect(waitUntil(timeout: 60) { lines().count >= 60 })
        rsyslog.signal(SIGTERM)
        #expect(rsyslog.waitForExit(timeout: 30) != nil)
        rsyslog = try startRsyslog(port: port, name: "rsyslog2")
        defer { rsyslog.kill() }
        #expect(deliver.waitForExit(timeout: 120) == 0, "\(deliver.stderr)")
        #expect(waitUntil(timeout: 15) { sequenceNumbers() == Set(1...300) },
                "missing: \(Set(1...300).subtracting(sequenceNumbers()).sorted().prefix(20))")
    }
}
