import AlveoCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A moment in the box's local time, from the C library's `localtime_r` (the zone of `TZ` or
/// /etc/localtime, as Foundation's `TimeZone.current` reads it), for the texts people at the bed read.
/// Not Foundation's `DateFormatter`, `Calendar` and `TimeZone`: their first use pages in ICU's zone,
/// locale and calendar data, megabytes of the live agent's resident memory (docs/performance.md).
package struct LocalTime: Sendable, Equatable {
    package var year: Int
    package var month: Int
    package var day: Int
    package var hour: Int
    package var minute: Int
    package var second: Int
    /// Seconds east of UTC at that moment.
    package var utcOffset: Int
    /// The zone's abbreviation at that moment (`CET`, `UTC`), as the C library names it.
    package var zone: String

    package init(_ date: Date) {
        var time = time_t(Int64(saturating: date.timeIntervalSince1970.rounded(.down)))
        var parts = tm()
        if localtime_r(&time, &parts) == nil { gmtime_r(&time, &parts) }
        self.init(parts)
    }

    /// `date` at a fixed offset east of UTC, named `zone` (tests; a zone given in a message).
    package init(_ date: Date, utcOffset: Int, zone: String) {
        var time = time_t(Int64(saturating: date.timeIntervalSince1970.rounded(.down)) + Int64(utcOffset))
        var parts = tm()
        gmtime_r(&time, &parts)
        self.init(parts)
        self.utcOffset = utcOffset
        self.zone = zone
    }

    private init(_ parts: tm) {
        year = Int(parts.tm_year) + 1900
        month = Int(parts.tm_mon) + 1
        day = Int(parts.tm_mday)
        hour = Int(parts.tm_hour)
        minute = Int(parts.tm_min)
        second = Int(parts.tm_sec)
        utcOffset = parts.tm_gmtoff
        zone = parts.tm_zone.map { String(cString: $0) } ?? ""
    }

    /// "UTC+01:00".
    package var offsetText: String {
        let minutes = abs(utcOffset) / 60
        return "UTC" + (utcOffset < 0 ? "-" : "+") + LocalTime.pad(minutes / 60, 2) + ":" + LocalTime.pad(minutes % 60, 2)
    }

    /// Whether both are on the same local calendar day.
    package func isSameDay(as other: LocalTime) -> Bool { (year, month, day) == (other.year, other.month, other.day) }

    /// `yyyy-MM-dd`.
    package var date: String { LocalTime.pad(year, 4) + "-" + LocalTime.pad(month, 2) + "-" + LocalTime.pad(day, 2) }
    /// `HH:mm`.
    package var hoursMinutes: String { LocalTime.pad(hour, 2) + ":" + LocalTime.pad(minute, 2) }
    /// `HH:mm:ss`.
    package var hoursMinutesSeconds: String { hoursMinutes + ":" + LocalTime.pad(second, 2) }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
