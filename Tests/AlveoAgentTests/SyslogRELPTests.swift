import AlveoTestKit
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `outputs.syslog.protocol: relp` end to end: against a real rsyslog with imrelp (Debian's
/// rsyslog-relp), restarted in the middle of a burst and over TLS, and against Tests/Peers/relp_peer.py
/// for what rsyslog does not do on demand (error statuses, no answer, garbage, no syslog offered).
@Suite(.serialized, .endToEnd, .ownThread) struct SyslogRELPTests {
    let directory: URL

    init() throws {
        directory = try Paths.temporaryDirectory()
    }

    var logFile: String { directory.appendingPathComponent("messages.log").path }
    var peerLog: String { directory.appendingPathComponent("peer.jsonl").path }

    func config(port: Int, journal: String = "journal", extra: String = "") throws -> String {
        let path = directory.appendingPathComponent("\(journal).yaml").path
        try """
            patient: {sex: male, height_cm: 170}
            rules:
            \(TogglingScenario.ruleLines)
            outputs:
              journal: {directory: \(journal)}
              syslog: {host: 127.0.0.1, port: \(port), protocol: relp, hostname: bed-b1, bed_id: ICU-B1, reconnect_max_s: 0.5\(extra)}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func scenario(events: Int) throws -> String {
        let path = directory.appendingPathComponent("toggle-\(events).csv").path
        try TogglingScenario.text(events: events).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The `seq` of each message rsyslog wrote, in the order it wrote them (duplicates kept).
    func receivedSequence() -> [Int] {
        ((try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line in
            line.range(of: #"seq="(\d+)""#, options: .regularExpression).flatMap { Int(line[$0].dropFirst(5).dropLast()) }
        }
    }

    /// The sequence numbers of the journaled events, in journal order.
    func journalEventSequence(_ journal: String = "journal") -> [Int] {
        let path = directory.appendingPathComponent(journal).path
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".jsonl") && $0.hasPrefix("journal-") }
        return names.sorted().flatMap { name in
            ((try? String(contentsOfFile: path + "/" + name, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line -> Int? in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], object["event"] != nil else { return nil }
                return (object["seq"] as? NSNumber)?.intValue
            }
        }
    }

    /// What the RELP peer logged: one record per syslog command (and close) it received.
    func peerRecords() -> [[String: Any]] {
        ((try? String(contentsOfFile: peerLog, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// (seq, answer, connection) of each syslog message the peer received, in order.
    func peerMessages() -> [(seq: Int, answered: String, connection: Int)] {
        peerRecords().compactMap { record in
            guard let message = record["message"] as? String,
                  let range = message.range(of: #"seq="(\d+)""#, options: .regularExpression),
                  let seq = Int(message[range].dropFirst(5).dropLast())
            else { return nil }
            return (seq, record["answered"] as? String ?? "", (record["connection"] as? NSNumber)?.intValue ?? 0)
        }
    }

    func deliveredPosition(_ journal: String = "journal") -> Int? {
        let path = directory.appendingPathComponent("\(journal)/syslog.position").path
        return (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    @Test func everyEventArrivesInOrderThroughImrelp() throws {
        let port = freePort()
        let rsyslog = try Receivers.rsyslogRELP(port: port, logFile: logFile, in: directory)
        defer { rsyslog.kill() }
        let result = try ChildProcess.run([Paths.alveo, "replay", "--config", try config(port: port), try scenario(events: 200)])
        #expect(result.status == 0, "\(result.stderr)")
        // Delivered means confirmed: by the time replay has exited, rsyslog has had every message.
        // (Its file may trail by a write: wait for it.)
        #expect(waitUntil(timeout: 15) { receivedSequence().count >= 200 }, "\(receivedSequence().count) of 200: \(rsyslog.stderr)")
        #expect(receivedSequence() == journalEventSequence(), "every event once, in journal order")
        #expect(journalEventSequence() == Array(1...200))
        #expect(deliveredPosition() == 200)
        let first = ((try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "").split(separator: "\n").first ?? ""
        #expect(first.hasPrefix("<132>1 ") && first.contains(" bed-b1 alveo ") && first.contains("[alarm@32473 bed=\"ICU-B1\" seq=\"1\""), "\(first)")
    }

    /// The case TCP alone can lose (docs/integration.md §3.5): rsyslog stopped (SIGTERM) and started
    /// again twice while a burst is being delivered. Every journaled event arrives, in journal order;
    /// a message is received twice only when the session broke between rsyslog taking it and its
    /// confirmation arriving, so at most once per broken session. 10,000 events by default
    /// (ALVEO_RELP_EVENTS for another number).
    @Test func rsyslogRestartedTwiceMidBurstLosesNothing() throws {
        let events = Int(ProcessInfo.processInfo.environment["ALVEO_RELP_EVENTS"] ?? "") ?? 10_000
        let port = freePort()
        let config = try config(port: port, extra: ", ack_timeout_ms: 10000")
        // The journal first, with no receiver; then one `alveo deliver` through the restarts.
        let replay = try ChildProcess.run([Paths.alveo, "replay", "--config", config, "--drain-timeout", "0.2", try scenario(events: events)],
                                          timeout: 900)
        #expect(replay.status == 75, "no receiver yet: \(replay.stderr.suffix(2000))")
        let journaled = journalEventSequence()
        #expect(journaled.count == events)

        var rsyslog = try Receivers.rsyslogRELP(port: port, logFile: logFile, in: directory)
        defer { rsyslog.kill() }
        let deliver = try RunningProcess([Paths.alveo, "deliver", "--config", config, "--timeout", "900"], directory: directory, name: "deliver")
        defer { deliver.kill() }
        for restart in 1...2 {
            #expect(waitUntil(timeout: 600) { receivedSequence().count >= restart * events / 3 || deliver.poll() != nil },
                    "progress before restart \(restart): \(receivedSequence().count)")
            rsyslog.signal(SIGTERM)
            #expect(rsyslog.waitForExit(timeout: 30) != nil)
            rsyslog = try Receivers.rsyslogRELP(port: port, logFile: logFile, in: directory, name: "rsyslog\(restart + 1)")
        }
        #expect(deliver.waitForExit(timeout: 900) == 0, "\(deliver.stderr.suffix(2000))")
        #expect(deliveredPosition() == journaled.last)

        #expect(waitUntil(timeout: 30) { Set(receivedSequence()).count >= journaled.count }, "\(Set(receivedSequence()).count) of \(journaled.count)")
        let received = receivedSequence()
        var seen = Set<Int>(), firstSeen: [Int] = [], duplicates: [Int] = []
        for seq in received {
            if seen.insert(seq).inserted { firstSeen.append(seq) } else { duplicates.append(seq) }
        }
        #expect(firstSeen == journaled, "every event, in journal order; missing: \(Set(journaled).subtracting(seen).sorted().prefix(20))")
        let sessions = deliver.stderr.components(separatedBy: "] connected").count - 1
        #expect(sessions >= 3, "one session per rsyslog at least: \(deliver.stderr.suffix(2000))")
        #expect(duplicates.count <= sessions - 1, "at most one duplicate per broken session: \(duplicates.prefix(20)) over \(sessions) sessions")
        for duplicate in duplicates {
            #expect(received.firstIndex(of: duplicate).map { received[$0 + 1] == duplicate } == true,
                    "a duplicate follows its first copy directly (one message in flight): \(duplicate)")
        }
    }

    @Test func overTLSWithAClientCertificateAsImrelpRequiresIt() throws {
        let certificates = try LabListenerTests().makeCertificates()
        chmod(certificates.clientKey, 0o600)
        let port = freePort()
        let rsyslog = try Receivers.rsyslogRELP(port: port, logFile: logFile, in: directory,
                                                tls: (certificates.ca, certificates.serverCert, certificates.serverKey))
        defer { rsyslog.kill() }
        let trusted = try ChildProcess.run([Paths.alveo, "replay", "--config",
                                            try config(port: port, extra: ", tls: {ca_file: \(certificates.ca), cert_file: \(certificates.clientCert), key_file: \(certificates.clientKey)}"),
                                            try scenario(events: 6)])
        #expect(trusted.status == 0, "\(trusted.stderr)")
        #expect(waitUntil(timeout: 15) { receivedSequence().count >= 6 }, "\(rsyslog.stderr.suffix(2000))")
        #expect(receivedSequence() == Array(1...6))

        // Without a client certificate imrelp ends the handshake: no session opens, so nothing is
        // counted delivered (with octet-counted TCP the TLS 1.3 race could count one or two: §3.5).
        let refused = try ChildProcess.run([Paths.alveo, "replay", "--config",
                                            try config(port: port, journal: "journal-nocert", extra: ", tls: {ca_file: \(certificates.ca)}"),
                                            "--drain-timeout", "3", try scenario(events: 6)])
        #expect(refused.status == 75, "\(refused.stderr.suffix(2000))")
        #expect(deliveredPosition("journal-nocert") ?? 0 == 0, "nothing confirmed, nothing counted delivered")
        #expect(receivedSequence() == Array(1...6), "rsyslog wrote nothing from the client without a certificate")

        // A receiver whose certificate is not signed by the configured CA: refused before any RELP.
        let untrusted = try ChildProcess.run([Paths.alveo, "replay", "--config",
                                              try config(port: port, journal: "journal-untrusted",
                                                         extra: ", tls: {ca_file: \(certificates.rogueCert), cert_file: \(certificates.clientCert), key_file: \(certificates.clientKey)}"),
                                              "--drain-timeout", "2", try scenario(events: 2)])
        #expect(untrusted.status == 75)
        #expect(untrusted.stderr.contains("certificate not accepted"), "\(untrusted.stderr.suffix(2000))")
    }

    @Test func anErrorStatusIsResentUntilAccepted() throws {
        let port = freePort()
        let peer = try Receivers.relpPeer(port: port, log: peerLog, in: directory, arguments: ["--mode", "status", "--status", "500", "--bad", "3"])
        defer { peer.kill() }
        let result = try ChildProcess.run([Paths.alveo, "replay", "--config", try config(port: port), try scenario(events: 4)])
        #expect(result.status == 0, "\(result.stderr)")
        let messages = peerMessages()
        #expect(messages.prefix(4).map { "\($0.seq)/\($0.answered)" } == ["1/500", "1/500", "1/500", "1/200"], "\(messages)")
        #expect(result.stderr.contains("journal entry 1: the receiver answered RELP status 500 error (test peer): resending"), "\(result.stderr)")
        // Three refusals in a row raise the agent's technical alarm; the acceptance ends it.
        let agentAlarms = result.stdout.split(separator: "\n").filter { $0.contains("\"rule\":\"technical.delivery_failed\"") }
        #expect(agentAlarms.count == 2, "\(result.stdout)")
        #expect(agentAlarms.first?.contains("keeps refusing alarm message 1") == true)
        let accepted = messages.filter { $0.answered == "200" }.map(\.seq)
        #expect(accepted == journalEventSequence(), "everything journaled (the 4 events and the agent's alarm), in order, once")
        #expect(peerRecords().last?["command"] as? String == "close", "the session is closed at the stop")
    }

    @Test func aMalformedResponseIsParkedAndDeliveryGoesOn() throws {
        let port = freePort()
        let peer = try Receivers.relpPeer(port: port, log: peerLog, in: directory, arguments: ["--mode", "malformed", "--bad", "1"])
        defer { peer.kill() }
        let result = try ChildProcess.run([Paths.alveo, "replay", "--config", try config(port: port), try scenario(events: 3)])
        #expect(result.status == 0, "\(result.stderr)")
        let parked = try String(contentsOfFile: directory.appendingPathComponent("journal/syslog-parked.jsonl").path, encoding: .utf8)
        #expect(parked.contains("\"seq\":1,"))
        #expect(parked.contains("the receiver answered with a malformed RELP rsp: OK"), "\(parked)")
        let accepted = peerMessages().filter { $0.answered == "200" }.map(\.seq)
        #expect(accepted == journalEventSequence().filter { $0 != 1 }, "the rest follow, with the agent's alarm: \(accepted)")
        #expect(result.stdout.contains("\"rule\":\"technical.delivery_failed\""))
    }

    @Test(arguments: ["silent", "garbage"])
    func noAnswerOrGarbageMeansReconnectAndResend(mode: String) throws {
        let port = freePort()
        let peer = try Receivers.relpPeer(port: port, log: peerLog, in: directory, arguments: ["--mode", mode, "--bad", "1"])
        defer { peer.kill() }
        let result = try ChildProcess.run([Paths.alveo, "replay", "--config", try config(port: port, extra: ", ack_timeout_ms: 300"),
                                           try scenario(events: 3)])
        #expect(result.status == 0, "\(result.stderr)")
        let messages = peerMessages()
        #expect(messages.prefix(2).map { "\($0.seq)/\($0.answered)/\($0.connection)" } == ["1/\(mode)/1", "1/200/2"],
                "sent, broken, resent on a new session: \(messages)")
        #expect(messages.filter { $0.answered == "200" }.map(\.seq) == journalEventSequence())
        #expect(result.stderr.contains(mode == "silent" ? "wait for the RELP rsp to transaction 2 failed: timed out" : "not RELP"), "\(result.stderr)")
    }

    @Test func aReceiverThatDoesNotOfferSyslogGetsNoMessage() throws {
        let port = freePort()
        let peer = try Receivers.relpPeer(port: port, log: peerLog, in: directory, arguments: ["--mode", "no-syslog"])
        defer { peer.kill() }
        let result = try ChildProcess.run([Paths.alveo, "replay", "--config", try config(port: port), "--drain-timeout", "2",
                                           try scenario(events: 2)])
        #expect(result.status == 75, "\(result.stderr)")
        #expect(result.stderr.contains("the receiver does not offer the syslog command"), "\(result.stderr)")
        #expect(peerMessages().isEmpty)
        #expect(deliveredPosition() ?? 0 == 0)
    }
}
