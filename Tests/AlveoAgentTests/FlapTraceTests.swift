import AlveoTestKit
import Foundation
import Testing

/// Issue 24's flap acceptance, end to end: a Nonin format 8 trace whose probe flag flaps, made on
/// virtual time through the live session (`alveo-bench flap-trace`: the flag flipping with every
/// frame, or drawn at random for every frame with garbled bytes on the line), replayed by the real
/// `alveo replay`. Before the alarm engine's chatter bound such a trace gave a start and an end of
/// `technical.sensor_off` for every two frames (630,000 events from 16 MB). Now: fewer than 1,000
/// events, no rule and source starting more than its chatter bound (rules v3 §1.4) in any hour, and
/// two replays byte-identical. A few hours here; the 16 MB traces and the time they take are the
/// benchmark's (`make bench BENCH=replay-flap`, docs/performance.md).
@Suite(.endToEnd, .ownThread) struct FlapTraceTests {
    static let hours = 4

    /// Starts an hour allowed per rule (`N /h` of rules v3 §1.4), for the rules an oximeter can raise.
    static let chatterBound = [
        "technical.sensor_off": 3, "technical.device_silent": 3, "technical.value_rejected": 3, "oxygenation.spo2_low": 4,
    ]

    var bench: String { URL(fileURLWithPath: Paths.alveo).deletingLastPathComponent().appendingPathComponent("alveo-bench").path }

    struct Event {
        var rule: String
        var phase: String
        var source: String
        var parameter: String
        var t: Double
    }

    static func events(_ jsonl: String) -> [Event] {
        jsonl.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let rule = object["rule"] as? String, let phase = object["phase"] as? String,
                  let t = (object["t"] as? NSNumber)?.doubleValue else { return nil }
            return Event(rule: rule, phase: phase, source: object["source"] as? String ?? "", parameter: object["parameter"] as? String ?? "", t: t)
        }
    }

    /// The most starts of one rule and source within any 3600 s (a window beginning at each start).
    static func mostStartsInAnHour(_ times: [Double]) -> Int {
        let sorted = times.sorted()
        var most = 0, low = 0
        for high in sorted.indices {
            while sorted[high] - sorted[low] >= 3600 { low += 1 }
            most = max(most, high - low + 1)
        }
        return most
    }

    @Test func theHourlyCountSeesStartsWithinAnHourOnly() {
        #expect(Self.mostStartsInAnHour([]) == 0)
        #expect(Self.mostStartsInAnHour([0, 3600, 7200, 10800]) == 1)
        #expect(Self.mostStartsInAnHour([0, 100, 3599, 3700, 7000]) == 3)
        #expect(Self.mostStartsInAnHour([5000, 10, 20, 30, 40]) == 4)
    }

    @Test(arguments: ["toggle", "fuzzed"])
    func aFlappingProbeFlagIsOneAlarmNotAStartPerFrame(_ kind: String) throws {
        let directory = try Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let trace = directory.appendingPathComponent("flap-\(kind).alvtrace").path
        let made = try ChildProcess.run([bench, "flap-trace", kind, "\(Self.hours)", trace], timeout: 600)
        try #require(made.status == 0, "\(made.stderr)")

        // The trace really flaps: the probe state the oximeter reported, frame by frame.
        let export = try ChildProcess.run([Paths.alveo, "trace", "export", "--csv", trace], timeout: 600)
        try #require(export.status == 0, "\(export.stderr)")
        let states = export.stdout.split(separator: "\n").filter { $0.contains(",oxi,sensor,") }.map { $0.split(separator: ",").last ?? "" }
        let changes = zip(states, states.dropFirst()).filter { $0 != $1 }.count
        let seconds = Self.hours * 3600
        #expect(states.count >= seconds - 10, "a frame a second: \(states.count) probe states")
        #expect(changes >= (kind == "toggle" ? seconds - 10 : seconds / 3), "the flag flips: \(changes) changes in \(states.count) frames")

        let first = try ChildProcess.run([Paths.alveo, "replay", trace], timeout: 600)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(!first.stderr.contains("warning"), "a synthesized trace is whole: \(first.stderr)")
        let second = try ChildProcess.run([Paths.alveo, "replay", trace], timeout: 600)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(first.stdout == second.stdout, "byte-identical replays")
        if kind == "fuzzed" {
            // The tally line "oxi: decoded N, rejected R, skipped bytes S, failed reads F": noise was on the line.
            let tally = first.stderr.split(separator: "\n").first { $0.contains("oxi: decoded ") } ?? ""
            let numbers = tally.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            #expect(numbers.count >= 4 && numbers[numbers.count - 2] > 0, "garbled bytes skipped: \(tally)")
        }

        let events = Self.events(first.stdout)
        #expect(events.count == first.stdout.split(separator: "\n").count, "every line is an event")
        #expect(events.count < 1000, "\(events.count) events")
        let sensorOff = events.filter { $0.rule == "technical.sensor_off" && $0.source == "oxi" }
        #expect(sensorOff.contains { $0.phase == "start" }, "the probe off is still raised")
        // Per alarm key (rule, source, parameter), as the engine counts onsets.
        var starts: [String: [Double]] = [:]
        for event in events where event.phase == "start" { starts["\(event.rule)[\(event.source)/\(event.parameter)]", default: []].append(event.t) }
        #expect(!starts.isEmpty)
        for (key, times) in starts {
            guard let bound = Self.chatterBound[String(key.prefix { $0 != "[" })] else { continue }
            #expect(Self.mostStartsInAnHour(times) <= bound, "\(key) starts \(Self.mostStartsInAnHour(times)) times within an hour (bound \(bound)): \(times)")
        }
    }
}
