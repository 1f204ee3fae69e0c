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
}
