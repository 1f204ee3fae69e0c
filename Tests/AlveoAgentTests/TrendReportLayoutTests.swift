import AlveoAgent
import AlveoTrends
import Foundation
import Testing

/// The report's pieces without a store or a browser (issue 27 part 3): text a patient's record or a
/// foreign store controls is escaped, the 24 h haemoptysis total counts entries from before the window
/// and drops each a window later, time ticks carry the date at each day change in the report's zone,
/// and the header counts alarms and alarm events under their names.
@Suite struct TrendReportLayoutTests {
    static let utc = TimeZone(identifier: "UTC")!

    static func event(_ time: Double, id: Int, rule: String, title: String, phase: String, text: String = "") -> TrendAlarmEvent {
        TrendAlarmEvent(time: time, alarmID: id, rule: rule, type: "physiological", title: title, phase: phase, priority: "high", state: "active",
                        acknowledged: false, reason: nil, source: nil, text: text)
    }

    @Test func hostileTextIsEscapedEverywhere() {
        let hostile = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>'&"
        let context = TrendContext(bed: hostile, sex: hostile, heightCm: 160, pbwKg: 52.4, conditions: [hostile], devices: [hostile])
        let alarms = [Self.event(10, id: 1, rule: hostile, title: hostile, phase: "start", text: hostile),
                      TrendAlarmEvent(time: 20, alarmID: 2, rule: "escalation.x", type: "advisory", title: hostile, phase: "start", priority: hostile,
                                      state: "active", acknowledged: false, reason: hostile, source: hostile, text: hostile)]
        let data = TrendData(context: context, from: 0, to: 7200, series: ["spo2": TrendSeries(points: [TrendPoint(time: 60, value: 93)], values: 1, fromSummaries: false)],
                             positions: [TrendPosition(start: 100, end: 200, position: hostile)], alarms: alarms, gasTimes: [])
        let html = TrendReport(timeZone: Self.utc, sourceName: hostile).html(data)
        #expect(!html.contains("<script") && !html.contains("<img") && !html.contains("alert(2)>"), "hostile text reached the markup")
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;&#39;&amp;"))
    }

    @Test func theHaemoptysisTotalCountsEarlierEntriesAndDropsEachAWindowLater() throws {
        let hour = 3600.0
        let data = TrendData(context: nil, from: 0, to: 48 * hour,
                             series: ["hemoptysis": TrendSeries(points: [TrendPoint(time: hour, value: 50), TrendPoint(time: 2 * hour, value: 80)],
                                                                values: 2, fromSummaries: false)],
                             positions: [], alarms: [], gasTimes: [], hemoptysisBefore: [TrendPoint(time: -30 * hour, value: 500), TrendPoint(time: -hour, value: 100)])
        let total = try #require(TrendReport(timeZone: Self.utc, sourceName: "t").hemoptysisTotal(data))
        // 100 ml from an hour before the window; +50, +80; the 100 leaves 23 h in, the others 25 and 26 h in.
        #expect(total.points == [TrendPoint(time: 0, value: 100), TrendPoint(time: hour, value: 150), TrendPoint(time: 2 * hour, value: 230),
                                 TrendPoint(time: 23 * hour, value: 130), TrendPoint(time: 25 * hour, value: 80), TrendPoint(time: 26 * hour, value: 0)])
        // A bed configured with a 12 h window and a 100 ml limit: the limit line is its, and the total
        // drops each entry 12 h later.
        let config = try AgentConfig.parse(yaml: """
            patient: {sex: female, height_cm: 160}
            rules: {dah.hemoptysis_volume: {volume_ml: 100, window_s: 43200}}
            """, file: "bed.yaml")
        let configured = TrendReport(timeZone: Self.utc, sourceName: "t", rules: config.rules)
        #expect(configured.hemoptysisTotal(data)?.points.last == TrendPoint(time: 14 * hour, value: 0))
        let html = configured.html(data)
        #expect(html.contains("class=\"threshold\" data-value=\"100\"") && html.contains("limit 100 ml in 12 h</text>"), "the configured limit")
        #expect(html.contains("the bed's configured limits"))
        let defaults = TrendReport(timeZone: Self.utc, sourceName: "t").html(data)
        #expect(defaults.contains("limit 200 ml in 24 h</text>") && defaults.contains("the rules' default limits: give the report --config"))
    }

    @Test func ticksCarryTheDateAtEachDayChangeInTheReportsZone() {
        // 2026-11-01 20:00 UTC to 2026-11-03 04:00 UTC, shown in Paris (UTC+1): local midnights at 23:00 UTC.
        let from = 1_793_491_200.0 + 20 * 3600, to = from + 32 * 3600
        let data = TrendData(context: nil, from: from, to: to, series: [:], positions: [], alarms: [], gasTimes: [])
        let ticks = TrendReport(timeZone: TimeZone(identifier: "Europe/Paris")!, sourceName: "t").timeTicks(data)
        let dated = ticks.filter { $0.date != nil }
        #expect(ticks.first?.date != nil, "the first tick has its date")
        #expect(dated.dropFirst().map(\.label) == ["00:00", "00:00"], "\(ticks)")
        #expect(dated.map { $0.date ?? "" } == ["2026-11-01", "2026-11-02", "2026-11-03"], "\(dated)")
        #expect(ticks.count >= 5 && ticks.count <= 14)
    }

    @Test func theHeaderCountsAlarmsAndAlarmEventsUnderTheirNames() {
        let alarms = [Self.event(10, id: 1, rule: "lpv.plateau_high", title: "Plateau pressure above 30 cmH2O", phase: "start"),
                      Self.event(20, id: 1, rule: "lpv.plateau_high", title: "Plateau pressure above 30 cmH2O", phase: "update"),
                      Self.event(30, id: 1, rule: "lpv.plateau_high", title: "Plateau pressure above 30 cmH2O", phase: "end"),
                      Self.event(40, id: 2, rule: "lpv.plateau_high", title: "Plateau pressure above 30 cmH2O", phase: "start")]
        let data = TrendData(context: nil, from: 0, to: 3600, series: [:], positions: [], alarms: alarms, gasTimes: [])
        let html = TrendReport(timeZone: Self.utc, sourceName: "t").html(data)
        #expect(html.contains("data-alarms=\"2\" data-events=\"4\">2 alarms (episodes, start to end: 2 physiological) from 4 alarm events"), "\(html.prefix(3000))")
        // One lane row for the rule, labelled with its title; two bars.
        #expect(html.contains("data-rule=\"lpv.plateau_high\" x=\"196\" y=\"22\" text-anchor=\"end\">Plateau pressure above 30 cmH2O<title>"))
        #expect(html.components(separatedBy: "<rect class=\"alarm high\"").count == 3)
    }
}
