import Testing
@testable import AlveoCore

/// Rules v3 §2.2: result-driven alarms (the four dah.* rules) below high are re-announced only when a
/// new result leaves them unchanged; the high schedule is 600 s for the first hour, then hourly.
@Suite struct ResultDrivenTests {
    /// §4.10: an Hb drop (medium) is never re-announced on a timer; a new result still meeting it is one
    /// `continue` (reason `new_result`) with the new value; a result that ends it is an end, not a continue.
    @Test func anHbDropIsReannouncedAtANewResultOnly() throws {
        var h = Harness(Patient(sex: .male, heightCm: 170, conditions: [.diffuseAlveolarHemorrhage]))
        h.feed(0, [("lab", .hb, 10)])
        h.feed(3600, [("lab", .hb, 7.5)])
        h.hold(from: 3900, to: 3600 + 5 * 3600, step: 300, [])
        #expect(h.trail(.hemoglobinDrop) == ["start@3600:medium"], "no timer: \(h.trail(.hemoglobinDrop))")
        h.feed(25200, [("lab", .hb, 7.2)])
        let again = try #require(h.events(.hemoglobinDrop).last)
        #expect(again.phase == .continue && again.reason == "new_result", "\(h.trail(.hemoglobinDrop))")
        #expect(again.evidence.contains { $0.0 == "hb_g_dl" && $0.1 == .number(7.2) })
        #expect(again.text.hasPrefix("New result, alarm unchanged. Haemoglobin fell to 7.2 g/dL"), "\(again.text)")
        h.feed(28800, [("lab", .hb, 9.5)])
        #expect(h.events(.hemoglobinDrop).last?.phase == .end, "\(h.trail(.hemoglobinDrop))")
    }

    /// §2.2: a high alarm is re-announced every 600 s for the first 3600 s after its last announcement,
    /// then every 3600 s (SpO2 80 %: high after 30 s).
    @Test func aHighAlarmIsReannouncedFastForAnHourThenHourly() {
        var h = Harness()
        h.hold(from: 0, to: 12000, step: 30, [("oxi", .spo2, 80)])
        let times = h.events(.spo2Low).filter { $0.phase == .continue }.map(\.t)
        #expect(times == [630, 1230, 1830, 2430, 3030, 3630, 7230, 10830], "\(h.trail(.spo2Low))")
    }

    /// §2.2 with `high_fast_s: 0`: hourly from the start; `high_max_s` is the longest silence.
    @Test func highFastZeroIsHourlyFromTheStart() {
        var settings = RuleSettings()
        settings.reannounceHighFast = 0
        var h = Harness(settings: settings)
        h.hold(from: 0, to: 8000, step: 30, [("oxi", .spo2, 80)])
        #expect(h.events(.spo2Low).filter { $0.phase == .continue }.map(\.t) == [3630, 7230], "\(h.trail(.spo2Low))")
    }
}
