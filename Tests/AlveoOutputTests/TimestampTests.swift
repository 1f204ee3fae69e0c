import AlveoCore
import Foundation
import Testing
@testable import AlveoOutput

/// The output timestamps are computed from `UTCTime`, not with Foundation's formatters (a formatter a
/// message cost CPU, and their first use paged ICU's data into the agent's memory): they must read
/// exactly as the formatters wrote them.
@Suite struct TimestampTests {
    /// Moments across the years a bed sees, at millisecond steps that stress the Double round trip.
    static let moments: [Date] = (0..<2000).map { index in
        let milliseconds = 946_684_800_000 + Int64(index) * 1_234_567_891 % 4_102_444_800_000 + Int64(index % 1000)
        return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    @Test func hl7TimestampsAreTheJournalsWallTimeAndRunIDsReadAsTheFormatterWroteThem() {
        let hl7 = DateFormatter()
        hl7.locale = Locale(identifier: "en_US_POSIX")
        hl7.timeZone = TimeZone(identifier: "UTC")
        hl7.dateFormat = "yyyyMMddHHmmss.SSS"
        let run = DateFormatter()
        run.locale = Locale(identifier: "en_US_POSIX")
        run.timeZone = TimeZone(identifier: "UTC")
        run.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        for date in Self.moments {
            // The digits of the journal's wall_time (the millisecond, rounded down), so an event's
            // HL7 time is its journal line's; ICU's formatter, which this replaces, was 1 ms late now
            // and then (measured: 20040701053507.580 for a wall_time of ...07.579Z).
            let timestamp = PCD04Message.timestamp(date)
            #expect(timestamp == String(PCD04Message.rfc3339(date).filter { !"-:TZ".contains($0) }) + "+0000")
            #expect(timestamp == hl7.string(from: date) + "+0000" || timestamp == hl7.string(from: date.addingTimeInterval(-0.001)) + "+0000")
            #expect(Journal.newRunID(now: date) == run.string(from: date))
        }
    }

    @Test func rfc3339AsAlveoWritesItParsesAsISO8601DateFormatterParsesIt() {
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for date in Self.moments {
            let text = PCD04Message.rfc3339(date)
            #expect(PCD04Message.parseRFC3339(text) == iso.date(from: text), "\(text)")
        }
        // Other forms still go through the formatter: an offset, no fraction; nonsense is refused.
        #expect(PCD04Message.parseRFC3339("2026-11-25T17:00:00+01:00") == Date(timeIntervalSince1970: 1_795_593_600 + 8 * 3600))
        #expect(PCD04Message.parseRFC3339("2026-11-25T08:00:00Z") == Date(timeIntervalSince1970: 1_795_593_600))
        for bad in ["2026-11-25T08:00:00", "", "not a time"] {
            #expect(PCD04Message.parseRFC3339(bad) == nil, "\(bad)")
        }
    }
}
