import AlveoIO
import Foundation
import Testing

/// `LocalTime` (localtime_r) reads as Foundation's formatters in the box's zone, which it replaces in
/// the texts people read (the stop and restart texts, `--format text`).
@Suite struct LocalTimeTests {
    @Test func readsAsADateFormatterInTheCurrentZone() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone.current
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        for step in 0..<500 {
            let date = Date(timeIntervalSince1970: 1_700_000_000 + Double(step) * 86_413.7)
            let local = LocalTime(date)
            #expect(local.date + " " + local.hoursMinutesSeconds == formatter.string(from: date))
            #expect(local.utcOffset == TimeZone.current.secondsFromGMT(for: date))
        }
        let now = LocalTime(Date())
        #expect(now.isSameDay(as: now) && !now.isSameDay(as: LocalTime(Date().addingTimeInterval(-2 * 86_400))))
    }

    @Test func aFixedOffsetAndTheZonesName() {
        // 2026-11-29 22:40:59 UTC at UTC+05:45.
        let local = LocalTime(Date(timeIntervalSince1970: 1_795_992_059), utcOffset: 20_700, zone: "NPT")
        #expect(local.date == "2026-11-30" && local.hoursMinutesSeconds == "04:25:59" && local.offsetText == "UTC+05:45" && local.zone == "NPT")
        #expect(LocalTime(Date(), utcOffset: -18_000, zone: "EST").offsetText == "UTC-05:00")
        // The C library names the box's zone.
        #expect(!LocalTime(Date()).zone.isEmpty)
    }
}
