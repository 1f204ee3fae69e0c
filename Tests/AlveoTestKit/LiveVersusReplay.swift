import Foundation
import Testing

/// Compares the events of a live `alveo run --record` with those of `alveo replay` of its trace: the
/// same (rule, phase, source) sequence, and each `t` within `tolerance` seconds (the poll interval).
package enum LiveVersusReplay {
    /// Live event lines without their wall-clock time (`"wall_time"`, which replay leaves out): what
    /// replay must reproduce byte for byte.
    package static func withoutWallTime(_ live: String) -> String {
        live.replacingOccurrences(of: #","wall_time":"[^"]*""#, with: "", options: .regularExpression)
    }

    package struct Event: Equatable {
        var key: String
        var t: Double
    }

    package static func events(_ jsonl: String) -> [Event] {
        jsonl.split(separator: "\n").compactMap { line -> Event? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let t = object["t"] as? Double else { return nil }
            return Event(key: "\(object["rule"] ?? "")/\(object["phase"] ?? "")" + (object["source"].map { "/\($0)" } ?? ""), t: t)
        }
    }

    package static func expectSame(live: String, replay: String, tolerance: Double, sourceLocation: SourceLocation = #_sourceLocation) {
        let liveEvents = events(live), replayed = events(replay)
        #expect(!liveEvents.isEmpty, "the live run raised something", sourceLocation: sourceLocation)
        #expect(liveEvents.map(\.key) == replayed.map(\.key), "live: \(liveEvents.map(\.key))\nreplay: \(replayed.map(\.key))",
                sourceLocation: sourceLocation)
        for (a, b) in zip(liveEvents, replayed) where a.key == b.key {
            #expect(abs(a.t - b.t) <= tolerance, "\(a.key): live t \(a.t), replay t \(b.t)", sourceLocation: sourceLocation)
        }
    }

    /// `alveo replay` of `trace`, twice: both must succeed and print the same bytes; the first is returned.
    package static func replayTwice(_ trace: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ChildProcess.Result {
        let first = try ChildProcess.run([Paths.alveo, "replay", trace])
        let second = try ChildProcess.run([Paths.alveo, "replay", trace])
        #expect(first.status == 0, "\(first.stderr)", sourceLocation: sourceLocation)
        #expect(first.stdout == second.stdout, "byte-identical replays", sourceLocation: sourceLocation)
        return first
    }

    /// The one trace file a recording directory holds.
    package static func trace(in directory: String) throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".alvtrace") }
        try #require(names.count == 1, "one trace in \(directory): \(names)")
        return directory + "/" + names[0]
    }
}
