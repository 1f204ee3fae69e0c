import AlveoCore
import Foundation

/// `alveo report`: one self-contained HTML file (inline SVG and CSS, no script, nothing fetched) that
/// prints on A4 landscape. One column of tracks on one time axis: the alarm lane first, then the
/// values, each track the same plot geometry, so that one time has the same x on every track; then an
/// hourly table, the blood gases and the prompts. docs/trends.md describes it and the `data-*`
/// attributes the tests read.
package struct TrendReport: Sendable {
    /// One track: which series, its unit and axis, its lines and bands.
    package struct Track: Sendable {
        package var key: String
        /// Short, for the label column.
        package var title: String
        package var unit: String
        /// Series keys drawn, with how (line, or points).
        package var series: [(key: String, style: Style)]
        /// The axis at least covers this range; it grows to the data.
        package var range: ClosedRange<Double>
        package var thresholds: [(value: Double, label: String)]
        package var bands: [(from: Double, to: Double, label: String, css: String)]
        /// Blood gas times are marked on it.
        package var gasMarks: Bool
        /// Height of its plot area (SVG user units).
        package var height: Double
    }

    package enum Style: String, Sendable {
        /// A line; `second` in the second colour (a second source of the same value).
        case line, second, points, measured, step
    }

    /// The rules' settings whose limits are drawn (the bed's when the report is given its
    /// configuration, else the defaults): Vt target and high tier, Pplat, driving pressure, MAP, and
    /// the haemoptysis volume and window the 24 h total is drawn against.
    package var rules: RuleSettings
    /// Whether `rules` are the bed's configured ones (or the defaults).
    package var rulesConfigured: Bool
    var hemoptysisLimitMl: Double { rules[HemoptysisVolume.self].hemoptysisVolume }
    var hemoptysisWindowS: Double { rules[HemoptysisVolume.self].hemoptysisWindow }

    /// The key of the computed 24 h haemoptysis total.
    package static let hemoptysisTotalKey = "hemoptysis/total"

    /// The tracks, in order (docs/trends.md "The report").
    package var tracks: [Track] {
        let window = duration(hemoptysisWindowS)
        let vt = rules[TidalVolumeHigh.self], pplat = rules[PlateauHigh.self].pplatHigh
        let drivingPressure = rules[DrivingPressureHigh.self].drivingPressureHigh, map = rules[Hypotension.self].threshold
        return [
            Track(key: "spo2", title: "SpO2", unit: "%", series: [("spo2", .line)], range: 80...100, thresholds: [],
                  bands: [(88, 95, "goal 88–95 %", "goal")], gasMarks: false, height: 50),
            Track(key: "fio2", title: "FiO2", unit: "%", series: [("fio2", .line)], range: 20...100, thresholds: [], bands: [], gasMarks: true, height: 50),
            Track(key: "pf", title: "P/F ratio", unit: "mmHg", series: [("pf/imputed", .line), ("pf/measured", .measured)],
                  range: 0...400, thresholds: [],
                  bands: [(0, 100, "severe ≤ 100", "severe"), (100, 200, "moderate ≤ 200", "moderate"), (200, 300, "mild ≤ 300", "mild")],
                  gasMarks: true, height: 72),
            Track(key: "sf", title: "S/F ratio", unit: "SpO2 % / FiO2", series: [("sf", .line)], range: 0...500, thresholds: [],
                  bands: [(0, 148, "severe ≤ 148", "severe"), (148, 235, "moderate ≤ 235", "moderate"), (235, 315, "mild ≤ 315", "mild")],
                  gasMarks: false, height: 44),
            Track(key: "vt_per_kg", title: "Vt per kg PBW", unit: "ml/kg", series: [("vt_per_kg", .line)],
                  range: 4...10,
                  thresholds: [(vt.vtTargetMlPerKg, "\(limit(vt.vtTargetMlPerKg)) ml/kg"), (vt.vtHighHighTierMlPerKg, "\(limit(vt.vtHighHighTierMlPerKg)) ml/kg")], bands: [], gasMarks: false, height: 50),
            Track(key: "pplat", title: "Pplat", unit: "cmH2O", series: [("pplat", .line)], range: 10...35,
                  thresholds: [(pplat, "\(limit(pplat)) cmH2O")], bands: [], gasMarks: false, height: 50),
            Track(key: "driving_pressure", title: "Driving pressure", unit: "cmH2O (Pplat − PEEP)", series: [("driving_pressure", .line)],
                  range: 5...20, thresholds: [(drivingPressure, "\(limit(drivingPressure)) cmH2O")], bands: [], gasMarks: false, height: 50),
            Track(key: "peep", title: "PEEP", unit: "cmH2O", series: [("peep", .line)], range: 0...20, thresholds: [], bands: [], gasMarks: false, height: 44),
            Track(key: "ppeak", title: "Ppeak", unit: "cmH2O", series: [("ppeak", .line)], range: 10...40, thresholds: [], bands: [], gasMarks: false, height: 44),
            Track(key: "rr", title: "Respiratory rate", unit: "/min (ventilator)", series: [("rr", .line)], range: 10...35, thresholds: [], bands: [],
                  gasMarks: false, height: 44),
            Track(key: "heart_rate", title: "Heart rate, pulse", unit: "/min: ECG blue, oximeter orange", series: [("heart_rate", .line), ("pulse_rate", .second)],
                  range: 60...120, thresholds: [], bands: [], gasMarks: false, height: 50),
            Track(key: "map", title: "MAP", unit: "mmHg: arterial, cuff ●", series: [("map", .line), ("nibp_map", .points)], range: 50...110,
                  thresholds: [(map, "\(limit(map)) mmHg")], bands: [], gasMarks: false, height: 50),
            Track(key: "hb", title: "Haemoglobin", unit: "g/dL", series: [("hb", .points)], range: 6...12, thresholds: [], bands: [], gasMarks: false,
                  height: 36),
            Track(key: "creatinine", title: "Creatinine", unit: "mg/dL", series: [("creatinine", .points)], range: 0.5...2, thresholds: [], bands: [],
                  gasMarks: false, height: 36),
            Track(key: "hemoptysis", title: "Haemoptysis", unit: "ml: \(window) total, entries ●",
                  series: [(TrendReport.hemoptysisTotalKey, .step), ("hemoptysis", .points)], range: 0...max(hemoptysisLimitMl * 1.15, 50),
                  thresholds: [(hemoptysisLimitMl, "limit \(limit(hemoptysisLimitMl)) ml in \(window)")],
                  bands: [], gasMarks: false, height: 50),
        ]
    }

    package var timeZone: TimeZone
    /// Where the data came from (a file name), for the header.
    package var sourceName: String

    package init(timeZone: TimeZone = .current, sourceName: String, rules: RuleSettings? = nil) {
        self.timeZone = timeZone
        self.sourceName = sourceName
        self.rules = rules ?? RuleSettings()
        self.rulesConfigured = rules != nil
    }

    // Geometry (SVG user units), the same for every track: the label column, then the plot.
    static let width = 1000.0
    static let plotX = 200.0, plotW = 790.0
    /// Above and below a track's plot.
    static let pad = 3.0
    /// The height of a track with no data (its label and "no data").
    static let emptyHeight = 14.0
    static let laneRow = 11.0
    /// Alarm lane labels longer than this are cut (the whole title is the row's tooltip).
    static let laneLabelMax = 44

    package func html(_ input: TrendData) -> String {
        var data = input
        data.series[TrendReport.hemoptysisTotalKey] = hemoptysisTotal(data)
        var out = ""
        out.reserveCapacity(300_000)
        let period = "\(clock(data.from, date: true)) – \(clock(data.to, date: true))"
        out += """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
            <title>Alveo trend report \(escape(data.context?.bed ?? "")) \(escape(period))</title>
            <style>\(TrendReport.css)</style></head><body data-time-zone="\(escape(timeZone.identifier))">

            """
        out += header(data, period: period)
        let ticks = timeTicks(data)
        let marks = Marks(report: self, data: data, ticks: ticks)
        out += "<div class=\"tracks\">\n"
        out += axis(data, ticks: ticks, position: "top")
        out += lane(data, marks: marks)
        let all = tracks
        for track in all {
            out += render(track, data, marks: marks, first: track.key == all.first?.key)
            // The axis again after the ventilation tracks: a printed second page has its times too.
            if track.key == "peep" { out += axis(data, ticks: ticks, position: "middle") }
        }
        out += axis(data, ticks: ticks, position: "bottom")
        out += "</div>\n"
        out += hourlyTable(data)
        out += gasTable(data)
        out += promptTable(data)
        out += "<footer>Alveo supports decisions; it never changes a device setting. Source: \(escape(sourceName)). Times: \(escape(zoneName)).</footer>\n</body></html>\n"
        return out
    }

    var zoneName: String {
        let offset = timeZone.secondsFromGMT()
        let sign = offset < 0 ? "−" : "+"
        let minutes = abs(offset) / 60
        return "\(timeZone.identifier) (UTC\(sign)\(pad2(minutes / 60)):\(pad2(minutes % 60)))"
    }

    static let css = """
        @page { size: A4 landscape; margin: 8mm; }
        body { font: 10px/1.3 "DejaVu Sans", Arial, sans-serif; margin: 0 6px; color: #111; }
        header h1 { font-size: 15px; margin: 2px 0; }
        header dl { display: grid; grid-template-columns: repeat(4, auto 1fr); gap: 1px 6px; margin: 0 0 3px; }
        header dl.counts { grid-template-columns: auto 1fr; } header dt { font-weight: bold; } header dd { margin: 0; }
        .legend { font-size: 9px; color: #222; margin: 2px 0 4px; }
        .key { display: inline-block; width: 14px; height: 8px; vertical-align: middle; margin: 0 2px 0 8px; }
        .key.prone { background: #c4d3f0; } .key.ecmo { background: #e3cdee; }
        .key.plex { border-left: 2px dashed #8a3ea8; width: 0; height: 10px; }
        .key.gas { border-left: 1px dotted #333; width: 0; height: 10px; }
        .key.threshold { border-top: 1.5px dashed #666; height: 0; }
        .key.measured { width: 7px; height: 7px; background: #000; transform: rotate(45deg); }
        .key.line { border-top: 2px solid #1a4d8f; height: 0; } .key.second { border-top: 2px solid #d9730d; height: 0; }
        .key.high { background: #d62728; } .key.medium { background: #f0b400; } .key.low { background: #3a9ad9; }
        div.tracks { break-inside: auto; }
        section.track { break-inside: avoid; margin: 0; }
        section h2 { font-size: 12px; margin: 8px 0 2px; }
        svg { width: 100%; height: auto; display: block; }
        .grid { stroke: #e4e4e4; stroke-width: 0.6; } .grid.day { stroke: #777; stroke-width: 0.9; }
        .yaxis line { stroke: #999; stroke-width: 0.5; } .yaxis text { font-size: 7.5px; fill: #444; }
        .tick-label { font-size: 9px; fill: #222; } .tick-date { font-size: 8.5px; fill: #000; font-weight: bold; }
        .track-title { font-size: 10px; font-weight: bold; fill: #111; } .track-unit { font-size: 8px; fill: #555; }
        .frame { fill: none; stroke: #999; stroke-width: 0.6; }
        .band.severe { fill: #f4b6b6; } .band.moderate { fill: #f8d9b0; } .band.mild { fill: #fbf0c4; } .band.goal { fill: #d9eed9; }
        .band-label { font-size: 7px; fill: #777; }
        .prone { fill: #9fb7e6; fill-opacity: 0.35; }
        .ecmo { fill: #c9a0dc; fill-opacity: 0.35; }
        .plex { stroke: #8a3ea8; stroke-width: 1.2; stroke-dasharray: 3 2; } .plex-label { font-size: 7.5px; fill: #8a3ea8; font-weight: bold; }
        .threshold { stroke: #666; stroke-width: 0.9; stroke-dasharray: 5 3; fill: none; }
        .threshold-label { font-size: 7.5px; fill: #555; font-style: italic; }
        .gas { stroke: #333; stroke-width: 0.7; stroke-dasharray: 1 2; }
        .series path { fill: none; stroke: #1a4d8f; stroke-width: 1.3; }
        .series circle { fill: #1a4d8f; } .series.second path { stroke: #d9730d; stroke-width: 1; } .series.second circle { fill: #d9730d; }
        .series.step path { stroke: #a31515; stroke-width: 1.4; } .series.step path.area { fill: #e8a0a0; fill-opacity: 0.45; stroke: none; }
        .series.measured path { fill: #000; stroke: #fff; stroke-width: 0.6; } .measured-label { font-size: 8px; font-weight: bold; fill: #000; }
        .series.imputed path { stroke: #5d7fb5; }
        .nodata { font-size: 8px; fill: #888; font-style: italic; }
        .alarm.high { fill: #d62728; } .alarm.medium { fill: #f0b400; } .alarm.low { fill: #3a9ad9; }
        .ack { stroke: #000; stroke-width: 1.2; } .rule-label { font-size: 7.5px; fill: #111; }
        .lane-row { fill: #f6f6f6; }
        table { border-collapse: collapse; break-inside: auto; } th, td { border: 0.5px solid #aaa; padding: 1px 4px; text-align: left; vertical-align: top; }
        table.numbers td { text-align: right; } table.numbers td:first-child { text-align: left; white-space: nowrap; }
        th { background: #eee; } td.gas { font-weight: bold; } td.prone { background: #dde6f7; }
        tr { break-inside: avoid; } footer { margin-top: 4px; color: #555; font-size: 8px; }
        """

    func header(_ data: TrendData, period: String) -> String {
        let context = data.context
        let sex = context?.sex ?? "unknown"
        let height = context?.heightCm.map { "\(number($0, 0)) cm" } ?? "unknown"
        let pbw = context?.pbwKg.map { "\(number($0, 1)) kg" } ?? "unknown"
        let conditions = context.map { $0.conditions.isEmpty ? "none recorded" : $0.conditions.joined(separator: ", ") } ?? "unknown"
        let devices = context.map { $0.devices.isEmpty ? "none" : $0.devices.joined(separator: ", ") } ?? "unknown"
        let episodes = alarmEpisodes(data)
        let byType = Dictionary(grouping: episodes, by: \.type)
        let types = [("physiological", "physiological"), ("advisory", "prompts"), ("technical", "technical")].compactMap { type, name in
            byType[type].map { "\($0.count) \(name)" }
        }
        let alarms = "\(count(episodes.count, "alarm")) (episodes, start to end\(types.isEmpty ? "" : ": \(types.joined(separator: ", "))")) from \(count(data.alarms.count, "alarm event")) (state changes: start, escalation, acknowledgement, end …)"
        let prone = data.positions.filter { $0.position == "prone" }.count
        let ecmo = ecmoPeriods(data)
        let ecmoText = ecmo.isEmpty ? "none charted" : ecmo.map { "\($0.mode.uppercased()) \(clock($0.start, date: true))\($0.end.map { " – \(clock($0, date: true))" } ?? " on")" }.joined(separator: "; ")
        return """
            <header><h1>Alveo trend report — \(escape((context?.bed).flatMap { $0.isEmpty ? nil : "bed \($0)" } ?? "bed not named"))</h1><dl>
            <dt>Period</dt><dd>\(escape(period))</dd><dt>Sex</dt><dd>\(escape(sex))</dd>
            <dt>Height</dt><dd>\(escape(height))</dd><dt>Predicted body weight</dt><dd>\(escape(pbw))</dd>
            <dt>Conditions</dt><dd>\(escape(conditions))</dd><dt>Devices</dt><dd>\(escape(devices))</dd>
            <dt>Prone periods</dt><dd>\(prone)</dd><dt>ECMO</dt><dd>\(escape(ecmoText))</dd>
            </dl><dl class="counts"><dt>Alarms</dt><dd data-alarms="\(episodes.count)" data-events="\(data.alarms.count)">\(escape(alarms))</dd>
            <dt>Blood gases</dt><dd data-gases="\(data.gases.count)">\(data.gases.count) (PaO2 results; table below)</dd></dl><div class="legend"><span class="key prone"></span>prone <span class="key ecmo"></span>ECMO <span class="key plex"></span>plasma exchange prompted
            <span class="key gas"></span>blood gas drawn <span class="key measured"></span>P/F measured (arterial gas, value written) <span class="key line"></span>data (P/F: imputed from SpO2, lighter)
            <span class="key second"></span>second source (pulse from the oximeter) <span class="key threshold"></span>threshold (labelled; \(rulesConfigured ? "the bed's configured limits" : "the rules' default limits: give the report --config for the bed's"))
            <span class="key high"></span>high <span class="key medium"></span>medium <span class="key low"></span>low priority alarm, black tick: acknowledged.
            Downsampled to the lowest and highest value per \(escape(duration((data.to - data.from) / Double(Downsampling.defaultBuckets)))) where a series has more points than the page can show.</div></header>

            """
    }

    func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

    /// The ECMO periods (rules v3 §3.3) from the `ecmo` series (0 none, 1 VV, 2 VA).
    func ecmoPeriods(_ data: TrendData) -> [(mode: String, start: Double, end: Double?)] {
        var periods: [(mode: String, start: Double, end: Double?)] = []
        for point in data.series["ecmo"]?.points ?? [] {
            if let last = periods.last, last.end == nil {
                if point.value == (last.mode == "vv" ? 1 : 2) { continue }
                periods[periods.count - 1].end = point.time
            }
            if point.value == 1 || point.value == 2 { periods.append((point.value == 1 ? "vv" : "va", point.time, nil)) }
        }
        return periods
    }

    /// The charted haemoptysis total over the rule's window (24 h): a step at each entry and where an
    /// entry leaves the window, the value from that moment on (entries at or before it, less than a
    /// window old).
    package func hemoptysisTotal(_ data: TrendData) -> TrendSeries? {
        let window = hemoptysisWindowS
        let entries = data.hemoptysisBefore.filter { $0.time > data.from - window } + (data.series["hemoptysis"]?.points ?? [])
        guard !entries.isEmpty else { return nil }
        // One sweep over the entries and their leaving times (a store may hold thousands).
        var steps: [(time: Double, delta: Double)] = []
        steps.reserveCapacity(2 * entries.count)
        for entry in entries {
            steps.append((entry.time, entry.value))
            steps.append((entry.time + window, -entry.value))
        }
        steps.sort { $0.time < $1.time }
        var total = 0.0, index = 0
        // In ml to a millionth: what was added and taken away again is 0, not a rounding residue.
        func shown() -> Double { (total * 1e6).rounded() / 1e6 }
        while index < steps.count, steps[index].time <= data.from {
            total += steps[index].delta
            index += 1
        }
        var points = [TrendPoint(time: data.from, value: shown())]
        while index < steps.count, steps[index].time <= data.to {
            let time = steps[index].time
            while index < steps.count, steps[index].time == time {
                total += steps[index].delta
                index += 1
            }
            if points.last?.value != shown() { points.append(TrendPoint(time: time, value: shown())) }
        }
        return TrendSeries(points: points, values: points.count, fromSummaries: data.series["hemoptysis"]?.fromSummaries ?? false)
    }

    func x(_ time: Double, _ data: TrendData) -> Double {
        let span = max(data.to - data.from, 1)
        return TrendReport.plotX + (time - data.from) / span * TrendReport.plotW
    }

    /// What is drawn across every track: time grid, prone and ECMO periods, plasma exchange prompts.
    struct Marks {
        var ticks: [(time: Double, x: Double, day: Bool)]
        var prone: [(start: Double, end: Double?, x0: Double, x1: Double)] = []
        var ecmo: [(mode: String, start: Double, end: Double?, x0: Double, x1: Double)] = []
        var plex: [(time: Double, x: Double)] = []

        init(report: TrendReport, data: TrendData, ticks: [(time: Double, label: String, date: String?)]) {
            self.ticks = ticks.map { ($0.time, report.x($0.time, data), $0.date != nil) }
            for period in data.positions where period.position == "prone" {
                let start = max(period.start, data.from), end = min(period.end ?? data.to, data.to)
                guard end > start else { continue }
                prone.append((period.start, period.end, report.x(start, data), report.x(end, data)))
            }
            for period in report.ecmoPeriods(data) {
                let start = max(period.start, data.from), end = min(period.end ?? data.to, data.to)
                guard end > start else { continue }
                ecmo.append((period.mode, period.start, period.end, report.x(start, data), report.x(end, data)))
            }
            for event in data.alarms where event.rule == "escalation.plasma_exchange" && event.phase == "start"
                && event.time >= data.from && event.time <= data.to {
                plex.append((event.time, report.x(event.time, data)))
            }
        }

        /// The marks for a plot from `top`, `height` high.
        func svg(_ r: TrendReport, top: Double, height: Double, labels: Bool) -> String {
            var s = ""
            for tick in ticks {
                let tx = r.f(tick.x)
                s += "<line class=\"grid\(tick.day ? " day" : "")\" data-time=\"\(r.exact(tick.time))\" x1=\"\(tx)\" x2=\"\(tx)\" y1=\"\(r.f(top))\" y2=\"\(r.f(top + height))\"/>"
            }
            for p in prone {
                s += "<rect class=\"prone\" data-start=\"\(r.f(p.start))\" data-end=\"\(p.end.map(r.f) ?? "")\" x=\"\(r.f(p.x0))\" y=\"\(r.f(top))\" width=\"\(r.f(p.x1 - p.x0))\" height=\"\(r.f(height))\"/>"
            }
            for e in ecmo {
                s += "<rect class=\"ecmo\" data-mode=\"\(e.mode)\" data-start=\"\(r.f(e.start))\" data-end=\"\(e.end.map(r.f) ?? "")\" x=\"\(r.f(e.x0))\" y=\"\(r.f(top))\" width=\"\(r.f(e.x1 - e.x0))\" height=\"\(r.f(height))\"/>"
                if labels { s += "<text class=\"band-label\" x=\"\(r.f(e.x0 + 3))\" y=\"\(r.f(top + height - 3))\">\(e.mode.uppercased())-ECMO</text>" }
            }
            for p in plex {
                s += "<line class=\"plex\" data-time=\"\(r.exact(p.time))\" x1=\"\(r.f(p.x))\" x2=\"\(r.f(p.x))\" y1=\"\(r.f(top))\" y2=\"\(r.f(top + height))\"/>"
                if labels { s += "<text class=\"plex-label\" x=\"\(r.f(p.x + 2))\" y=\"\(r.f(top + 8))\">plasma exchange prompted</text>" }
            }
            return s + "\n"
        }
    }

    /// The `<svg>` opening of a track, with the attributes the tests read.
    func svgOpen(key: String, height: Double, data: TrendData, plotY: Double, plotH: Double, extra: String = "") -> String {
        "<svg viewBox=\"0 0 \(f(TrendReport.width)) \(f(height))\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" data-chart=\"\(key)\" data-from=\"\(exact(data.from))\" data-to=\"\(exact(data.to))\" data-plot=\"\(f(TrendReport.plotX)) \(f(plotY)) \(f(TrendReport.plotW)) \(f(plotH))\"\(extra)>\n"
    }

    func axis(_ data: TrendData, ticks: [(time: Double, label: String, date: String?)], position: String) -> String {
        let height = 26.0
        let top = position != "bottom"
        var s = "<section class=\"axis\" data-axis=\"\(position)\">"
        s += svgOpen(key: "axis-\(position)", height: height, data: data, plotY: top ? height : 0, plotH: 0)
        for tick in ticks {
            let tx = f(x(tick.time, data))
            // At the right edge a label ends at its tick (centred, it would be cut).
            let anchor = x(tick.time, data) > TrendReport.width - 25 ? "end" : "middle"
            // The time next to the tracks, the date (on the first tick and each new day) beyond it.
            let (timeY, dateY, lineY) = top ? (22.0, 11.0, height) : (11.0, 21.0, 0.0)
            s += "<line class=\"grid\(tick.date != nil ? " day" : "")\" data-time=\"\(exact(tick.time))\" x1=\"\(tx)\" x2=\"\(tx)\" y1=\"\(f(lineY))\" y2=\"\(f(top ? lineY - 3 : 3))\"/>"
            s += "<text class=\"tick-label\" data-time=\"\(exact(tick.time))\" x=\"\(tx)\" y=\"\(f(timeY))\" text-anchor=\"\(anchor)\">\(escape(tick.label))"
            if let date = tick.date { s += "<tspan class=\"tick-date\" x=\"\(tx)\" y=\"\(f(dateY))\"> \(escape(date))</tspan>" }
            s += "</text>"
        }
        s += "<text class=\"track-unit\" x=\"4\" y=\"\(f(top ? 22 : 11))\">\(escape(timeZone.identifier))</text>"
        return s + "\n</svg></section>\n"
    }

    /// The alarm lane: one row per rule (and source for technical alarms), labelled by the rule's
    /// clinical title; each alarm (an episode, from its first to its last event, to the end of the
    /// period while still in force) a bar coloured by its highest priority, a tick at each acknowledgement.
    struct Episode { var id: Int; var start: Double; var end: Double?; var priority: String; var acks: [Double]; var title: String; var rule: String
        var source: String?; var type: String }

    func alarmEpisodes(_ data: TrendData) -> [Episode] {
        var bars: [Int: Episode] = [:]
        for event in data.alarms {
            if bars[event.alarmID] == nil {
                bars[event.alarmID] = Episode(id: event.alarmID, start: event.time, end: nil, priority: event.priority, acks: [],
                                              title: event.title.isEmpty ? event.rule : event.title, rule: event.rule,
                                              source: event.type == "technical" ? event.source : nil, type: event.type)
            }
            if rank(event.priority) > rank(bars[event.alarmID]!.priority) { bars[event.alarmID]!.priority = event.priority }
            if event.phase == "end" { bars[event.alarmID]!.end = event.time }
            if event.reason == "acknowledged" { bars[event.alarmID]!.acks.append(event.time) }
        }
        return bars.values.sorted { $0.id < $1.id }
    }

    func lane(_ data: TrendData, marks: Marks) -> String {
        let episodes = alarmEpisodes(data)
        var rows: [(rule: String, label: String)] = []
        for episode in episodes {
            let label = "\(episode.title)\(episode.source.map { " (\($0))" } ?? "")"
            if !rows.contains(where: { $0.rule == episode.rule && $0.label == label }) { rows.append((episode.rule, label)) }
        }
        let rowH = TrendReport.laneRow, top = 14.0
        let plotH = rows.isEmpty ? TrendReport.emptyHeight : Double(rows.count) * rowH
        let height = top + plotH + TrendReport.pad
        var s = "<section class=\"track lane\" data-chart=\"alarms\">"
        s += svgOpen(key: "alarms", height: height, data: data, plotY: top, plotH: plotH,
                     extra: " data-rows=\"\(rows.count)\" data-alarms=\"\(episodes.count)\" data-events=\"\(data.alarms.count)\"")
        s += "<text class=\"track-title\" x=\"4\" y=\"10\">Alarms</text><text class=\"track-unit\" x=\"50\" y=\"10\">\(escape(count(episodes.count, "alarm"))) (episodes), \(escape(count(data.alarms.count, "event"))) (state changes); one row per rule</text>\n"
        for index in rows.indices where index % 2 == 1 {
            s += "<rect class=\"lane-row\" x=\"\(f(TrendReport.plotX))\" y=\"\(f(top + Double(index) * rowH))\" width=\"\(f(TrendReport.plotW))\" height=\"\(f(rowH))\"/>"
        }
        s += marks.svg(self, top: top, height: plotH, labels: false)
        for (index, row) in rows.enumerated() {
            let y = top + Double(index) * rowH + 8
            let short = row.label.count > TrendReport.laneLabelMax ? String(row.label.prefix(TrendReport.laneLabelMax - 1)) + "…" : row.label
            s += "<text class=\"rule-label\" data-rule=\"\(escape(row.rule))\" x=\"\(f(TrendReport.plotX - 4))\" y=\"\(f(y))\" text-anchor=\"end\">\(escape(short))<title>\(escape(row.label)) (\(escape(row.rule)))</title></text>\n"
        }
        func lx(_ t: Double) -> Double { x(min(max(t, data.from), data.to), data) }
        for bar in episodes {
            let label = "\(bar.title)\(bar.source.map { " (\($0))" } ?? "")"
            guard let index = rows.firstIndex(where: { $0.rule == bar.rule && $0.label == label }) else { continue }
            let y = top + Double(index) * rowH + 2
            let x0 = lx(bar.start), x1 = max(lx(bar.end ?? data.to), x0 + 1.5)
            s += "<rect class=\"alarm \(escape(bar.priority))\" data-alarm=\"\(bar.id)\" data-rule=\"\(escape(bar.rule))\" data-start=\"\(f(bar.start))\" data-end=\"\(bar.end.map(f) ?? "")\" x=\"\(f(x0))\" y=\"\(f(y))\" width=\"\(f(x1 - x0))\" height=\"\(f(rowH - 4))\"><title>\(escape(bar.title)): \(escape(clock(bar.start, date: true)))\(bar.end.map { " – \(escape(clock($0, date: true)))" } ?? ", still in force")</title></rect>"
            for ack in bar.acks {
                s += "<line class=\"ack\" x1=\"\(f(lx(ack)))\" x2=\"\(f(lx(ack)))\" y1=\"\(f(y - 1))\" y2=\"\(f(y + rowH - 3))\"/>"
            }
            s += "\n"
        }
        if rows.isEmpty {
            s += "<text class=\"nodata\" x=\"\(f(TrendReport.plotX + 6))\" y=\"\(f(top + 10))\">no alarms in this period</text>"
        }
        s += "<rect class=\"frame\" x=\"\(f(TrendReport.plotX))\" y=\"\(f(top))\" width=\"\(f(TrendReport.plotW))\" height=\"\(f(plotH))\"/>\n"
        return s + "</svg></section>\n"
    }

    func render(_ track: Track, _ data: TrendData, marks: Marks, first: Bool) -> String {
        let present = track.series.compactMap { data.series[$0.key] }.filter { !$0.points.isEmpty }
        let (px, pw) = (TrendReport.plotX, TrendReport.plotW)
        let py = TrendReport.pad
        guard !present.isEmpty else {
            // No data: a compact row, its label and the words, on the same axis.
            let ph = TrendReport.emptyHeight
            var s = "<section class=\"track empty\" data-chart=\"\(track.key)\">"
            s += svgOpen(key: track.key, height: ph + 2 * py, data: data, plotY: py, plotH: ph, extra: " data-empty=\"1\"")
            s += "<text x=\"4\" y=\"\(f(py + 9))\"><tspan class=\"track-title\">\(escape(track.title))</tspan><tspan class=\"track-unit\" dx=\"5\">\(escape(track.unit))</tspan></text>"
            s += marks.svg(self, top: py, height: ph, labels: false)
            s += "<text class=\"nodata\" x=\"\(f(px + 6))\" y=\"\(f(py + 10))\">no data in this period</text>"
            s += "<rect class=\"frame\" x=\"\(f(px))\" y=\"\(f(py))\" width=\"\(f(pw))\" height=\"\(f(ph))\"/>\n</svg></section>\n"
            return s
        }
        var low = track.range.lowerBound, high = track.range.upperBound
        for series in present {
            for point in series.points where point.value.isFinite {
                low = min(low, point.value)
                high = max(high, point.value)
            }
        }
        if high - low < 1e-9 { high = low + 1 }
        let ph = track.height
        let span = high - low
        func y(_ value: Double) -> Double {
            py + ph - (min(max(value, low), high) - low) / span * ph
        }
        var s = "<section class=\"track\" data-chart=\"\(track.key)\">"
        s += svgOpen(key: track.key, height: ph + 2 * py, data: data, plotY: py, plotH: ph, extra: " data-ymin=\"\(f(low))\" data-ymax=\"\(f(high))\"")
        s += "<text class=\"track-title\" x=\"4\" y=\"\(f(py + 9))\">\(escape(track.title))</text><text class=\"track-unit\" x=\"4\" y=\"\(f(py + 20))\">\(escape(track.unit))</text>\n"
        for band in track.bands where band.to > low && band.from < high {
            let top = y(min(band.to, high)), bottom = y(max(band.from, low))
            s += "<rect class=\"band \(band.css)\" data-from=\"\(f(band.from))\" data-to=\"\(f(band.to))\" x=\"\(f(px))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(bottom - top))\"/>"
            if bottom - top >= 9 { s += "<text class=\"band-label\" x=\"\(f(px + pw - 3))\" y=\"\(f(bottom - 2))\" text-anchor=\"end\">\(escape(band.label))</text>" }
            s += "\n"
        }
        s += marks.svg(self, top: py, height: ph, labels: first)
        s += yAxis(low: low, high: high, height: ph, y: y)
        if track.gasMarks {
            for time in data.gasTimes where time >= data.from && time <= data.to {
                s += "<line class=\"gas\" data-time=\"\(f(time))\" x1=\"\(f(x(time, data)))\" x2=\"\(f(x(time, data)))\" y1=\"\(f(py))\" y2=\"\(f(py + ph))\"/>"
            }
            s += "\n"
        }
        for threshold in track.thresholds where threshold.value >= low && threshold.value <= high {
            let ty = y(threshold.value)
            s += "<line class=\"threshold\" data-value=\"\(f(threshold.value))\" x1=\"\(f(px))\" x2=\"\(f(px + pw))\" y1=\"\(f(ty))\" y2=\"\(f(ty))\"/>"
            s += "<text class=\"threshold-label\" x=\"\(f(px + pw - 3))\" y=\"\(f(ty > py + 9 ? ty - 2 : ty + 8))\" text-anchor=\"end\">\(escape(threshold.label))</text>\n"
        }
        for (key, style) in track.series {
            guard let series = data.series[key], !series.points.isEmpty else { continue }
            let css = style == .measured ? "measured" : key.hasSuffix("/imputed") ? "imputed" : style.rawValue
            var maxValue = -Double.infinity
            for point in series.points where point.value.isFinite { maxValue = max(maxValue, point.value) }
            s += "<g class=\"series \(css)\" data-series=\"\(escape(key))\" data-points=\"\(series.points.count)\" data-values=\"\(series.values)\" data-max=\"\(exact(maxValue))\"\(series.fromSummaries ? " data-summaries=\"1\"" : "")>"
            switch style {
            case .line, .second:
                var d = ""
                d.reserveCapacity(series.points.count * 14)
                var previous: Double?
                for point in series.points {
                    // A gap longer than 5 minutes breaks the line (a device was silent).
                    let move = previous.map { point.time - $0 > 300 } ?? true
                    d += move ? "M" : "L"
                    d += f(x(point.time, data))
                    d += ","
                    d += f(y(point.value))
                    previous = point.time
                }
                s += "<path d=\"\(d)\"/>"
                if series.points.count <= 60 {  // few points: each one seen
                    for point in series.points { s += "<circle cx=\"\(f(x(point.time, data)))\" cy=\"\(f(y(point.value)))\" r=\"2\"/>" }
                }
            case .step:
                // The total holds until the next change, to the end of the window.
                var d = ""
                for (index, point) in series.points.enumerated() {
                    let next = index + 1 < series.points.count ? series.points[index + 1].time : data.to
                    d += "\(index == 0 ? "M" : "L")\(f(x(point.time, data))),\(f(y(point.value)))H\(f(x(next, data)))"
                }
                let first = series.points.first.map { x($0.time, data) } ?? TrendReport.plotX
                s += "<path class=\"area\" d=\"\(d)V\(f(py + ph))H\(f(first))Z\"/><path d=\"\(d)\"/>"
            case .points:
                for point in series.points {
                    s += "<circle cx=\"\(f(x(point.time, data)))\" cy=\"\(f(y(point.value)))\" r=\"2.4\"><title>\(escape(clock(point.time, date: true))): \(number(point.value, 2)) \(escape(track.unit))</title></circle>"
                }
            case .measured:
                // A diamond (one path each, counted as a vertex by the checker) and the value written.
                for point in series.points {
                    let cx = x(point.time, data), cy = y(point.value)
                    s += "<path d=\"M\(f(cx)),\(f(cy - 4)) \(f(cx + 4)),\(f(cy)) \(f(cx)),\(f(cy + 4)) \(f(cx - 4)),\(f(cy))Z\"><title>\(escape(clock(point.time, date: true))): measured P/F \(number(point.value, 0)) mmHg</title></path>"
                    s += "<text class=\"measured-label\" x=\"\(f(cx + 5))\" y=\"\(f(max(cy - 3, py + 8)))\">\(number(point.value, 0))</text>"
                }
            }
            s += "</g>\n"
        }
        s += "<rect class=\"frame\" x=\"\(f(px))\" y=\"\(f(py))\" width=\"\(f(pw))\" height=\"\(f(ph))\"/>\n</svg></section>\n"
        return s
    }

    func yAxis(low: Double, high: Double, height: Double, y: (Double) -> Double) -> String {
        var s = "<g class=\"yaxis\">"
        let step = niceStep((high - low) / (height >= 60 ? 4 : 3))
        var value = (low / step).rounded(.up) * step
        var guardCount = 0
        while value <= high + 1e-9, guardCount < 20 {
            let ty = y(value)
            s += "<line x1=\"\(f(TrendReport.plotX - 2))\" x2=\"\(f(TrendReport.plotX))\" y1=\"\(f(ty))\" y2=\"\(f(ty))\"/><text x=\"\(f(TrendReport.plotX - 4))\" y=\"\(f(ty + 2.5))\" text-anchor=\"end\">\(number(value, step < 1 ? 1 : 0))</text>"
            value += step
            guardCount += 1
        }
        return s + "</g>\n"
    }

    func niceStep(_ raw: Double) -> Double {
        guard raw.isFinite, raw > 0 else { return 1 }
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        for factor in [1.0, 2, 2.5, 5, 10] where factor * magnitude >= raw { return factor * magnitude }
        return 10 * magnitude
    }

    /// Time ticks: a step from 1 minute to a week giving at most `most` ticks, aligned in the report's
    /// zone; the first tick and each tick on a new day carry the date.
    package func timeTicks(_ data: TrendData, most: Double = 14) -> [(time: Double, label: String, date: String?)] {
        let span = data.to - data.from
        let steps: [Double] = [60, 300, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172_800, 604_800]
        let step = steps.first { span / $0 <= most } ?? 604_800
        let offset = Double(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: data.from)))
        var tick = ((data.from + offset) / step).rounded(.up) * step - offset
        var ticks: [(time: Double, label: String, date: String?)] = []
        var lastDay = ""
        while tick <= data.to, ticks.count < 20 {
            let day = String(clock(tick, date: true).prefix(10))
            ticks.append((tick, clock(tick, date: false), day != lastDay ? day : nil))
            lastDay = day
            tick += step
        }
        return ticks
    }

    // MARK: - Tables

    /// The hourly table: at each whole hour of the period (in the report's zone; every 2, 4, 6, 12 or
    /// 24 h when the period is longer than 96 h; every 1, 5, 15 or 30 min when it is shorter than 6 h),
    /// the last value recorded in the step up to it.
    func hourlyTable(_ data: TrendData) -> String {
        let span = data.to - data.from
        let short: [Double] = [60, 300, 900, 1800, 3600], long: [Double] = [3600, 7200, 14400, 21600, 43200, 86400]
        let step: Double = span < 6 * 3600 ? (short.first { span / $0 <= 24 } ?? 3600) : (long.first { span / $0 <= 96 } ?? 86400)
        let offset = Double(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: data.from)))
        var times: [Double] = []
        var time = ((data.from + offset) / step).rounded(.up) * step - offset
        while time <= data.to, times.count < 400 {
            times.append(time)
            time += step
        }
        let columns: [(title: String, unit: String, keys: [String], decimals: Int)] = [
            ("SpO2", "%", ["spo2"], 0), ("FiO2", "%", ["fio2"], 0), ("P/F", "mmHg", ["pf/measured", "pf/imputed"], 0),
            ("Vt", "ml/kg PBW", ["vt_per_kg"], 1), ("Pplat", "cmH2O", ["pplat"], 0), ("ΔP", "cmH2O", ["driving_pressure"], 0),
            ("PEEP", "cmH2O", ["peep"], 0), ("Ppeak", "cmH2O", ["ppeak"], 0), ("RR", "/min", ["rr"], 0), ("HR", "/min", ["heart_rate"], 0),
            ("Pulse", "/min", ["pulse_rate"], 0), ("MAP", "mmHg", ["map", "nibp_map"], 0),
        ]
        func value(_ keys: [String], at time: Double) -> (value: Double, key: String)? {
            var best: (value: Double, key: String, time: Double)?
            for key in keys {
                guard let points = data.series[key]?.points else { continue }
                // The last point at or before `time` (points are in time order).
                var lo = 0, hi = points.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if points[mid].time <= time { lo = mid + 1 } else { hi = mid }
                }
                guard lo > 0 else { continue }
                let point = points[lo - 1]
                if point.time > time - step, best.map({ point.time > $0.time }) ?? true { best = (point.value, key, point.time) }
            }
            return best.map { ($0.value, $0.key) }
        }
        let cells = times.map { time in columns.map { value($0.keys, at: time) } }
        let shown = columns.indices.filter { index in cells.contains { $0[index] != nil } }
        let prone = { (time: Double) in data.positions.contains { $0.position == "prone" && $0.start <= time && ($0.end ?? .infinity) > time } }
        var s = "<section class=\"hourly\"><h2>Trend table: every \(escape(duration(step))), the last value recorded in the \(escape(duration(step))) up to the time</h2>\n"
        guard !times.isEmpty else { return s + "<p>The period holds no whole \(escape(duration(step))).</p></section>\n" }
        s += "<table class=\"numbers\" data-table=\"hourly\" data-rows=\"\(times.count)\" data-step=\"\(f(step))\"><thead><tr><th>Time</th><th>Position</th>"
        for index in shown { s += "<th>\(escape(columns[index].title)) (\(escape(columns[index].unit)))</th>" }
        s += "</tr></thead><tbody>\n"
        var lastDay = ""
        for (row, time) in times.enumerated() {
            let day = String(clock(time, date: true).prefix(10))
            let label = day != lastDay ? clock(time, date: true) : clock(time, date: false)
            lastDay = day
            let isProne = prone(time)
            s += "<tr data-time=\"\(exact(time))\"><td>\(escape(label))</td><td\(isProne ? " class=\"prone\"" : "")>\(isProne ? "prone" : "")</td>"
            for index in shown {
                if let cell = cells[row][index] {
                    let measured = cell.key == "pf/measured"
                    let cuff = cell.key == "nibp_map"
                    s += "<td\(measured ? " class=\"gas\"" : "")>\(number(cell.value, columns[index].decimals))\(measured ? " (gas)" : cuff ? " (cuff)" : "")</td>"
                } else {
                    s += "<td>—</td>"
                }
            }
            s += "</tr>\n"
        }
        return s + "</tbody></table></section>\n"
    }

    /// Each blood gas: sample time, PaO2, the FiO2 the measured P/F used, the P/F, PaCO2 and pH.
    func gasTable(_ data: TrendData) -> String {
        var s = "<section class=\"gases\"><h2>Blood gases</h2>\n"
        guard !data.gases.isEmpty else { return s + "<p>No blood gas in this period.</p></section>\n" }
        // PaCO2 and pH when any gas of the period has them.
        let paco2 = data.gases.contains { $0.paco2 != nil }, ph = data.gases.contains { $0.ph != nil }
        s += "<table class=\"numbers\" data-table=\"gases\" data-rows=\"\(data.gases.count)\"><thead><tr><th>Sample time</th><th>PaO2 (mmHg)</th><th>FiO2 at the draw (%)</th><th>P/F (mmHg)</th>\(paco2 ? "<th>PaCO2 (mmHg)</th>" : "")\(ph ? "<th>pH</th>" : "")</tr></thead><tbody>\n"
        for gas in data.gases {
            s += "<tr data-time=\"\(exact(gas.time))\"><td>\(escape(clock(gas.time, date: true)))</td><td>\(number(gas.pao2, 0))</td><td>\(gas.fio2Percent.map { number($0, 0) } ?? "—")</td><td>\(gas.pf.map { number($0, 0) } ?? "—")</td>"
            if paco2 { s += "<td>\(gas.paco2.map { number($0, 0) } ?? "—")</td>" }
            if ph { s += "<td>\(gas.ph.map { number($0, 2) } ?? "—")</td>" }
            s += "</tr>\n"
        }
        return s + "</tbody></table></section>\n"
    }

    func promptTable(_ data: TrendData) -> String {
        struct Prompt { var id: Int; var start: Double; var title: String; var rule: String; var priority: String; var text: String; var ack: Double?; var end: Double?; var reason: String? }
        var prompts: [Int: Prompt] = [:]
        for event in data.alarms where event.type == "advisory" {
            if prompts[event.alarmID] == nil {
                prompts[event.alarmID] = Prompt(id: event.alarmID, start: event.time, title: event.title, rule: event.rule, priority: event.priority,
                                                text: event.text, ack: nil, end: nil, reason: nil)
            }
            if event.reason == "acknowledged", prompts[event.alarmID]!.ack == nil { prompts[event.alarmID]!.ack = event.time }
            if event.phase == "end" {
                prompts[event.alarmID]!.end = event.time
                prompts[event.alarmID]!.reason = event.reason
            }
        }
        var s = "<section class=\"prompts\"><h2>Prompts</h2>\n"
        guard !prompts.isEmpty else { return s + "<p>No prompts in this period.</p></section>\n" }
        s += "<table data-table=\"prompts\" data-rows=\"\(prompts.count)\"><thead><tr><th>Started</th><th>Prompt</th><th>Priority</th><th>What Alveo said</th><th>Acknowledged</th><th>Ended</th></tr></thead><tbody>\n"
        for prompt in prompts.values.sorted(by: { $0.id < $1.id }) {
            let ended = prompt.end.map { "\(clock($0, date: true))\(prompt.reason.map { " (\($0))" } ?? "")" } ?? "in force at the end of the period"
            s += "<tr data-rule=\"\(escape(prompt.rule))\"><td>\(escape(clock(prompt.start, date: true)))</td><td>\(escape(prompt.title))</td><td>\(escape(prompt.priority))</td><td>\(escape(prompt.text))</td><td>\(escape(prompt.ack.map { clock($0, date: true) } ?? "—"))</td><td>\(escape(ended))</td></tr>\n"
        }
        return s + "</tbody></table></section>\n"
    }

    // MARK: - Formatting

    func rank(_ priority: String) -> Int {
        switch priority {
        case "high": 3
        case "medium": 2
        case "low": 1
        default: 0
        }
    }

    /// A time in full (the tests map it back): Swift's shortest exact decimal.
    func exact(_ value: Double) -> String { value.isFinite ? "\(value)" : "0" }

    /// A coordinate with one decimal.
    func f(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let tenths = (value * 10).rounded()
        guard abs(tenths) < 1e15 else { return "0" }
        let whole = Int(saturating: tenths)
        let sign = whole < 0 ? "-" : ""
        let magnitude = abs(whole)
        return magnitude % 10 == 0 ? "\(sign)\(magnitude / 10)" : "\(sign)\(magnitude / 10).\(magnitude % 10)"
    }

    func number(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "—" }
        let text = String(format: "%.\(max(0, min(decimals, 6)))f", value)
        return text
    }

    /// A configured limit: whole numbers without decimals, others with one.
    func limit(_ value: Double) -> String { number(value, abs(value - value.rounded()) < 0.05 ? 0 : 1) }

    func pad2(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    func duration(_ seconds: Double) -> String {
        if seconds < 1 { return "under 1 s" }
        if seconds < 120 { return "\(Int(saturating: seconds.rounded())) s" }
        if seconds < 3600 - 30 { return "\(Int(saturating: (seconds / 60).rounded())) min" }
        let hours = seconds / 3600
        return abs(hours - hours.rounded()) < 0.05 ? "\(Int(saturating: hours.rounded())) h" : "\(number(hours, 1)) h"
    }

    /// "2026-11-30 14:05" (date: true) or "14:05", in the report's zone.
    func clock(_ time: Double, date: Bool) -> String {
        guard time.isFinite, abs(time) < 1e11 else { return "—" }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: Date(timeIntervalSince1970: time))
        let hm = "\(pad2(c.hour ?? 0)):\(pad2(c.minute ?? 0))"
        return date ? "\(c.year ?? 0)-\(pad2(c.month ?? 0))-\(pad2(c.day ?? 0)) \(hm)" : hm
    }

    /// Text for HTML content and attribute values; control characters become U+FFFD.
    package func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\n", "\t": out.unicodeScalars.append(" ")
            default:
                if scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value < 0xA0) { out += "\u{FFFD}" } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }
}
