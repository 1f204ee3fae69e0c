import AlveoCore
import Foundation

/// What the journal says is still open: every alarm started and not yet ended (by reference
/// `<run>-A<id>`, with its last event), and the latched, unacknowledged alarms a clean stop ended
/// that the next run must carry over. Kept by the journal as it appends, written as the first line of
/// every new segment (so pruning old segments loses nothing), and rebuilt at open from the last such
/// line and the events after it: the next run reconciles from it (docs/integration.md §2.8).
package struct AlarmLedger: Sendable, Equatable {
    package private(set) var open: [String: OpenAlarm] = [:]
    package private(set) var carried: [String: OpenAlarm] = [:]

    package init() {}

    /// Open alarms in order of start (run, then id).
    package var openAlarms: [OpenAlarm] { open.values.sorted(by: Self.order) }
    package var carriedAlarms: [OpenAlarm] { carried.values.sorted(by: Self.order) }

    static func order(_ a: OpenAlarm, _ b: OpenAlarm) -> Bool {
        ((a.run ?? ""), a.event.alarmID) < ((b.run ?? ""), b.event.alarmID)
    }

    /// One journaled event, written by run `run`.
    package mutating func apply(_ event: AlarmEvent, run: String?) {
        let alarm = OpenAlarm(run: event.run ?? run, event: event)
        if event.phase == .end {
            open[alarm.reference] = nil
            if event.reason == "agent_stopped", event.evidence("latched_unacknowledged") == .bool(true) { carried[alarm.reference] = alarm }
        } else {
            open[alarm.reference] = alarm
        }
        // A carried-over latched alarm (or a new instance of an ended one) names the previous one.
        if event.phase == .start, let previous = event.evidence("previous_alarm")?.text { carried[previous] = nil }
    }

    /// The snapshot line's member (`"alarm_ledger":{…}`).
    func json() -> String {
        "{\"open\":[\(openAlarms.map { $0.json() }.joined(separator: ","))],\"carried\":[\(carriedAlarms.map { $0.json() }.joined(separator: ","))]}"
    }

    /// From a snapshot line's member; entries that do not decode are skipped (and counted).
    init(snapshot object: JSONValue, skipped: inout Int) {
        func alarms(_ key: String) -> [OpenAlarm] {
            (object[key]?.items ?? []).compactMap { item in
                guard let alarm = OpenAlarm(json: item) else { skipped += 1; return nil }
                return alarm
            }
        }
        for alarm in alarms("open") { open[alarm.reference] = alarm }
        for alarm in alarms("carried") { carried[alarm.reference] = alarm }
    }
}

extension OpenAlarm {
    /// `{"run":…,"event":{…}}`: how the journal's ledger and a trace's lifecycle record write an open
    /// alarm.
    package func json() -> String {
        var run = "null"
        if let value = self.run {
            run = ""
            JSONValue.string(value).write(to: &run)
        }
        return "{\"run\":\(run),\"event\":\(event.jsonLine())}"
    }

    /// From its JSON object; nil if its event does not decode.
    package init?(json object: JSONValue) {
        guard let raw = object["event"], let event = try? AlarmEvent(journal: raw) else { return nil }
        self.init(run: object["run"]?.text, event: event)
    }
}

/// What the journal held at open about the runs before this one.
package struct PreviousRun: Sendable, Equatable {
    /// Alarms started and not ended, in order of start.
    package var open: [OpenAlarm]
    /// Latched, unacknowledged alarms a clean stop ended: to be carried over.
    package var carried: [OpenAlarm]
    /// The run that wrote the journal's last line.
    package var run: String?
    /// When that run was last heard of: its last journaled time or its last mark of life (the
    /// journal lock file's modification time, touched every 30 s), whichever is later.
    package var lastSeen: Date?
    /// It stopped cleanly (its last line is its `stopped` marker): no monitoring gap to report.
    package var stoppedCleanly: Bool
}
