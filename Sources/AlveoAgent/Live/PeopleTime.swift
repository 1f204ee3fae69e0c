import AlveoCore
import AlveoIO
import Foundation

/// Agent times (seconds since the agent started, as the control API gives them) as people at the bed
/// read them: a wall-clock time in the box's zone (`TZ`, else /etc/localtime) and how long ago.
/// The answer is of the moment it was received, so agent time `agentNow` is the wall clock's `now`:
/// `t` was `agentNow - t` seconds before it (monotonic, so a wall clock set since does not shift it).
package struct PeopleTime: Sendable {
    package var agentNow: Double
    package var now: Date
    package var local: @Sendable (Date) -> LocalTime

    package init(agentNow: Double, now: Date = Date(), local: @escaping @Sendable (Date) -> LocalTime = { LocalTime($0) }) {
        self.agentNow = agentNow
        self.now = now
        self.local = local
    }

    /// The wall-clock moment of agent time `t`.
    package func date(_ t: Double) -> Date { now.addingTimeInterval(t - agentNow) }

    /// "10:02:13", or "2026-12-06 23:58" on another day than today.
    package func clock(_ date: Date) -> String {
        let at = local(date)
        return at.isSameDay(as: local(now)) ? at.hoursMinutesSeconds : at.date + " " + at.hoursMinutes
    }

    /// The wall-clock time of agent time `t`.
    package func clock(t: Double) -> String { clock(date(t)) }

    /// "just now", "42 s ago", "3 min ago", "2 h 5 min ago"; "in 10 s" for a moment ahead (clock skew).
    package func ago(_ date: Date) -> String {
        let seconds = now.timeIntervalSince(date)
        if abs(seconds) < 1 { return "just now" }
        return seconds > 0 ? "\(Fmt.duration(seconds)) ago" : "in \(Fmt.duration(-seconds))"
    }

    /// "10:02:13, 3 min ago".
    package func clockAndAgo(t: Double) -> String { "\(clock(t: t)), \(ago(date(t)))" }

    /// "10:02:13, 3 min ago" of an RFC 3339 time; the text as given when it is not one.
    package func clockAndAgo(rfc3339 text: String) -> String {
        guard let date = PeopleTime.date(rfc3339: text) else { return text }
        return "\(clock(date)), \(ago(date))"
    }

    /// "10:02:13" of an RFC 3339 time; the text as given when it is not one.
    package func clock(rfc3339 text: String) -> String { PeopleTime.date(rfc3339: text).map(clock) ?? text }

    static func date(rfc3339 text: String) -> Date? {
        UTCTime.parse(rfc3339: text).map { Date(timeIntervalSince1970: Double($0) / 1000) }
    }

    /// The zone the times are in: "CET (UTC+01:00)", "UTC".
    package var zone: String {
        let here = local(now)
        if here.utcOffset == 0, here.zone.isEmpty || here.zone == "UTC" || here.zone == "GMT" { return "UTC" }
        return here.zone.isEmpty ? here.offsetText : "\(here.zone) (\(here.offsetText))"
    }
}

/// Sizes as people read them: "77 GB", "512 MB" (powers of 1024, as `df -h` counts them).
package enum ByteSize {
    package static func text(_ bytes: Int64) -> String {
        let units = ["bytes", "KB", "MB", "GB", "TB", "PB"]
        var value = Double(max(0, bytes)), unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(Int64(value)) bytes" }
        // One decimal below 10 (9.5 GB), whole numbers above (77 GB).
        let shown = value < 10 ? (value * 10).rounded() / 10 : value.rounded()
        return "\(JSONValue.formatted(shown)) \(units[unit])"
    }
}
