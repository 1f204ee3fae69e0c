import AlveoTestKit
import Foundation
import Testing

/// The soak: a stay on virtual time through the live sessions (`alveo-bench soak-trace`: a PB840, a
/// Masimo and a Modbus gateway with cables and adapters pulled, noise, damaged frames, impossible
/// values, probes off), replayed by the agent into its journal and a real HL7 receiver (python-hl7),
/// with the station down for an hour of the stay and the agent killed (SIGKILL) and restarted half
/// way — both at points of run A's own progress, never of the wall clock. Every event journaled must
/// reach the receiver, in journal order; the restarted run's events must all be journaled; memory
/// must not grow with the length of the stay.
///
/// `make test` runs 6 hours (ALVEO_SOAK_HOURS); Tests/Soak/soak.sh runs the 7-day stay and prints the
/// figures recorded in docs/performance.md.
@Suite(.serialized, .endToEnd, .ownThread) struct SoakTests {
    let directory: URL
    let hours: Double

    init() throws {
        directory = try Paths.temporaryDirectory()
        hours = Double(ProcessInfo.processInfo.environment["ALVEO_SOAK_HOURS"] ?? "") ?? 6
    }

    var bench: String { URL(fileURLWithPath: Paths.alveo).deletingLastPathComponent().appendingPathComponent("alveo-bench").path }

    func lines(_ path: String) -> [[String: Any]] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    func journal() -> [[String: Any]] {
        let path = directory.appendingPathComponent("journal").path
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasPrefix("journal-") }.sorted()
        // The ledger line at the head of each segment repeats the previous entry's number (it takes
        // none of its own): not an entry.
        return names.flatMap { lines(path + "/" + $0) }.filter { $0["alarm_ledger"] == nil }
    }

    func key(_ event: [String: Any]) -> String {
        "\(event["rule"] ?? "")/\(event["alarm_id"] ?? "")/\(event["phase"] ?? "")/\(event["t"] ?? "")"
    }

    @Test func aStayWithFaultsOutagesAndARestartLosesNothing() throws {
        let clock = ContinuousClock()
        let began = clock.now
        let traces = directory.appendingPathComponent("traces").path
        let made = try ChildProcess.run([bench, "soak-trace", "\(hours)", traces], timeout: 3600)
        #expect(made.status == 0, "\(made.stderr)")
        let a = traces + "/A.alvtrace", b = traces + "/B.alvtrace"

        let port = freePort()
        let receivedLog = directory.appendingPathComponent("received.jsonl").path
        func startReceiver(_ name: String) throws -> RunningProcess {
            let ready = directory.appendingPathComponent("\(name).ready").path
            let receiver = try RunningProcess(["python3", HL7DeliveryTests.receiverScript, "--port", "\(port)", "--log", receivedLog,
                                               "--mode", "aa", "--n", "0", "--ready", ready], directory: directory, name: name)
            #expect(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: ready) || receiver.poll() != nil }, "\(receiver.stderr)")
            return receiver
        }
        let config = directory.appendingPathComponent("soak.yaml").path
        try """
            patient: {sex: male, height_cm: 170}
            outputs:
              journal: {directory: journal, segment_max_mb: 1}
              hl7: {host: 127.0.0.1, port: \(port), ack_timeout_ms: 2000, reconnect_max_s: 0.5, heartbeat_s: 0,
                    patient_id: "SOAK-1", bed_id: SOAK, reannounce: schedule}
            """.write(toFile: config, atomically: true, encoding: .utf8)

        // Where run A will be, by what it does, never by the wall clock (issue 23: on a loaded box a
        // wall-clock schedule killed run A before it reached the injected faults): a dry replay of A
        // on virtual time gives the times of its events; the outage begins when A prints its first
        // event from a quarter of its half on, ends at its first an hour later, and A is killed when
        // it prints its last event before four fifths of its half (so a fifth of it, and its events,
        // are still ahead of it).
        let dryConfig = directory.appendingPathComponent("dry.yaml").path
        try "patient: {sex: male, height_cm: 170}\n".write(toFile: dryConfig, atomically: true, encoding: .utf8)
        let dry = try ChildProcess.run([Paths.alveo, "replay", "--config", dryConfig, a], timeout: 3600)
        #expect(dry.status == 0, "\(dry.stderr)")
        let half = hours * 3600 / 2
        let times = dry.stdout.split(separator: "\n").compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["t"] as? Double }
        let outageFrom = times.first { $0 >= half / 4 }, outageTo = times.first { $0 >= half / 4 + 3600 }
        let killAt = try #require(times.last { $0 <= half * 0.8 } ?? times.first, "run A prints no event: \(dry.stderr)")

        // Run A, paced so that an hour of the stay takes 3 s.
        var receiver = try startReceiver("receiver1")
        defer { receiver.kill() }
        let speed = 1200.0
        let runA = try RunningProcess([Paths.alveo, "replay", "--config", config, "--speed", "\(speed)", a], directory: directory, name: "runA")
        defer { runA.kill() }
        /// Whether run A has printed an event at or after `t` (it flushes each event when paced).
        func reached(_ t: Double) -> Bool {
            runA.stdout.split(separator: "\n").reversed().contains {
                ((try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["t"] as? Double ?? -1) >= t
            }
        }
        let patience = max(600, hours * 3600 / speed * 20)
        if let outageFrom {
            #expect(waitUntil(timeout: patience) { reached(outageFrom) || runA.poll() != nil }, "\(runA.stderr)")
            receiver.kill()
            if let outageTo { #expect(waitUntil(timeout: patience) { reached(outageTo) || runA.poll() != nil }) }
            receiver = try startReceiver("receiver2")
        }
        #expect(waitUntil(timeout: patience) { reached(killAt) || runA.poll() != nil }, "\(runA.stderr)")
        #expect(runA.poll() == nil, "run A still running when killed: \(runA.stderr)")
        runA.kill()
        let journaledByA = journal().count

        // Run B: a new run on the same journal, flat out; everything must be delivered before it ends.
        let (runB, peakB) = try peakMemory([Paths.alveo, "replay", "--config", config, "--drain-timeout", "\(Int(max(300, hours * 20)))", b], timeout: 7200)
        #expect(runB.status == 0, "\(runB.stderr.suffix(2000))")

        // Delivered segments are pruned (the journal keeps what a forwarder still needs): over a long
        // stay only the journal's tail is left, so what is checked against the journal is that tail,
        // and the station must have received every sequence number from 1 to the last.
        let entries = journal()
        let sequence = entries.compactMap { ($0["seq"] as? NSNumber)?.intValue }
        let pruned = (sequence.first ?? 1) > 1
        let runs = Set(entries.compactMap { $0["run"] as? String })
        #expect(runs.count == 2 || (pruned && runs.count == 1), "two runs of the agent: \(runs)")
        #expect(journaledByA > 0)
        let printedB = runB.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let runBID = entries.last?["run"] as? String
        let journaledB = entries.filter { $0["run"] as? String == runBID }.compactMap { $0["event"] as? [String: Any] }
        #expect(pruned ? Array(printedB.map(key).suffix(journaledB.count)) == journaledB.map(key) : printedB.map(key) == journaledB.map(key),
                "every event of run B is journaled, in order (\(printedB.count) printed, \(journaledB.count) still in the journal)")
        #expect(pruned || printedB.count == journaledB.count)
        // What either run printed (run A's journal segments may be pruned once delivered; how far run A got
        // before its kill depends on the machine's load, so its printed events count too).
        let printedA = runA.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let rules = Set((entries.compactMap { $0["event"] as? [String: Any] } + printedA + printedB).compactMap { $0["rule"] as? String })
        for rule in ["technical.device_silent", "technical.value_rejected", "technical.sensor_off"] {
            #expect(rules.contains(rule), "the injected faults are seen: \(rule) in \(rules.sorted())")
        }

        // Every journaled event reached the station, in journal order (a resend after the outage may
        // repeat the message in flight; it keeps its control id).
        var folded: [String] = []
        for message in lines(receivedLog) {
            guard let id = message["control_id"] as? String, folded.last != id else { continue }
            folded.append(id)
        }
        let lastSeq = sequence.last ?? 0
        #expect(zip(sequence, sequence.dropFirst()).allSatisfy { $1 == $0 + 1 }, "the journal's sequence numbers are contiguous")
        let expected = (lastSeq > 0 ? Array(1...lastSeq) : []).map { "SOAK-\($0)" }
        let firstDifference = Array(zip(folded, expected)).firstIndex { $0 != $1 } ?? min(folded.count, expected.count)
        #expect(folded == expected, "delivered \(folded.count) of \(expected.count) journaled; first difference at \(firstDifference): \(folded.dropFirst(firstDifference).prefix(3)) vs \(expected.dropFirst(firstDifference).prefix(3))")
        let invalid = lines(receivedLog).filter { $0["valid"] as? Bool != true }.count
        #expect(invalid == 0, "hl7apy validates every message")

        // Memory does not grow with the stay: B's peak against a replay of the first eighth of it.
        let shortTraces = directory.appendingPathComponent("short").path
        let short = try ChildProcess.run([bench, "soak-trace", "\(max(1, hours / 8))", shortTraces], timeout: 3600)
        #expect(short.status == 0)
        let (shortRun, peakShort) = try peakMemory([Paths.alveo, "replay", shortTraces + "/A.alvtrace"], timeout: 3600)
        #expect(shortRun.status == 0)
        let (fullRun, peakFull) = try peakMemory([Paths.alveo, "replay", b], timeout: 3600)
        #expect(fullRun.status == 0)
        #expect(peakFull < peakShort + 16_384, "peak \(peakFull) KiB for \(hours / 2) h against \(peakShort) KiB for \(max(1, hours / 8) / 2) h")
        print(String(format: "soak %.0f h: %d events journaled (%d by the killed run A; %d still in the journal after pruning), %d delivered in order, %d messages received; peak RSS %d KiB (run B with delivery), %d KiB (replay of %.1f h) vs %d KiB (%.1f h); %.0f s",
                     hours, lastSeq, journaledByA, sequence.count, folded.count, lines(receivedLog).count, peakB, peakFull, hours / 2, peakShort,
                     max(1, hours / 8) / 2, Double((clock.now - began).components.seconds)))
    }
}
