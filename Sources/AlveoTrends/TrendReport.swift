import AlveoCore
import Foundation

/// `alveo report`: one self-contained HTML file (inline SVG and CSS, no script, nothing fetched) that
/// prints on A4 landscape. docs/trends.md describes what each chart shows and the attributes the tests
/// read (`data-*`).
package struct TrendReport: Sendable {
    /// One chart: which series, its unit and axis, its lines and bands.
    package struct Chart: Sendable {
        package var key: String
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
    }

    package enum Style: String, Sendable {
        case line, points, measured
    }

    /// The charts, in order (docs/trends.md "The report").
    package static let charts: [Chart] = [
        Chart(key: "pf", title: "P/F ratio (PaO2/FiO2)", unit: "mmHg", series: [("pf/imputed", .line), ("pf/measured", .measured)],
              range: 0...400, thresholds: [],
              bands: [(0, 100, "severe ≤ 100", "severe"), (100, 200, "moderate ≤ 200", "moderate"), (200, 300, "mild ≤ 300", "mild")],
              gasMarks: true),
        Chart(key: "sf", title: "S/F ratio (SpO2/FiO2)", unit: "", series: [("sf", .line)], range: 0...500, thresholds: [],
              bands: [(0, 148, "severe ≤ 148", "severe"), (148, 235, "moderate ≤ 235", "moderate"), (235, 315, "mild ≤ 315", "mild")],
              gasMarks: false),
        Chart(key: "vt_per_kg", title: "Tidal volume per kg predicted body weight", unit: "ml/kg", series: [("vt_per_kg", .line)],
              range: 0...10, thresholds: [(6, "6 ml/kg"), (8, "8 ml/kg")], bands: [], gasMarks: false),
        Chart(key: "pplat", title: "Plateau pressure", unit: "cmH2O", series: [("pplat", .line)], range: 0...40,
              thresholds: [(30, "30 cmH2O")], bands: [], gasMarks: false),
        Chart(key: "driving_pressure", title: "Driving pressure (Pplat − PEEP)", unit: "cmH2O", series: [("driving_pressure", .line)],
              range: 0...25, thresholds: [(15, "15 cmH2O")], bands: [], gasMarks: false),
        Chart(key: "peep", title: "PEEP", unit: "cmH2O", series: [("peep", .line)], range: 0...20, thresholds: [], bands: [], gasMarks: false),
        Chart(key: "fio2", title: "FiO2", unit: "%", series: [("fio2", .line)], range: 20...100, thresholds: [], bands: [], gasMarks: true),
        Chart(key: "spo2", title: "SpO2", unit: "%", series: [("spo2", .line)], range: 80...100, thresholds: [],
              bands: [(88, 95, "goal 88–95 %", "goal")], gasMarks: false),
        Chart(key: "map", title: "Mean arterial pressure (arterial line; cuff as points)", unit: "mmHg",
              series: [("map", .line), ("nibp_map", .points)], range: 40...120, thresholds: [(65, "65 mmHg")], bands: [], gasMarks: false),
        Chart(key: "heart_rate", title: "Heart rate (ECG)", unit: "/min", series: [("heart_rate", .line)], range: 40...140, thresholds: [],
              bands: [], gasMarks: false),
        Chart(key: "hb", title: "Haemoglobin", unit: "g/dL", series: [("hb", .points)], range: 6...14, thresholds: [], bands: [], gasMarks: false),
        Chart(key: "hemoptysis", title: "Haemoptysis charted", unit: "ml", series: [("hemoptysis", .points)], range: 0...50, thresholds: [],
              bands: [], gasMarks: false),
        Chart(key: "creatinine", title: "Creatinine", unit: "mg/dL", series: [("creatinine", .points)], range: 0...3, thresholds: [], bands: [],
              gasMarks: false),
    ]

    package var timeZone: TimeZone
    /// Where the data came from (a file name), for the header.
    package var sourceName: String

    package init(timeZone: TimeZone = .current, sourceName: String) {
        self.timeZone = timeZone
        self.sourceName = sourceName
    }

    // Plot geometry (SVG user units): the plot area of every chart.
    static let width = 700.0, height = 142.0
    static let plotX = 44.0, plotY = 8.0, plotW = 646.0, plotH = 112.0
    /// The alarm timeline spans the page.
    static let timelineWidth = 1400.0

    package func html(_ data: TrendData) -> String {
        var out = ""
        out.reserveCapacity(200_000)
        let period = "\(clock(data.from, date: true)) – \(clock(data.to, date: true))"
        out += """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
            <title>Alveo trend report \(escape(data.context?.bed ?? "")) \(escape(period))</title>
            <style>\(TrendReport.css)</style></head><body>

            """
        out += header(data, period: period)
        out += "<div class=\"charts\">\n"
        for chart in TrendReport.charts { out += render(chart, data) }
        out += "</div>\n"
        out += timeline(data)
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
        body { font: 10px/1.3 "DejaVu Sans", Arial, sans-serif; margin: 0; color: #111; }
        header h1 { font-size: 15px; margin: 0 0 2px; }
        header dl { display: grid; grid-template-columns: repeat(4, auto 1fr); gap: 1px 6px; margin: 0 0 4px; }
        header dt { font-weight: bold; } header dd { margin: 0; }
        div.charts { display: grid; grid-template-columns: 1fr 1fr; column-gap: 10px; }
        section.chart { break-inside: avoid; margin: 0; }
        section.chart h2, section h2 { font-size: 11px; margin: 3px 0 0; }
        svg { width: 100%; height: auto; display: block; }
        .axis line, .grid line { stroke: #bbb; stroke-width: 0.5; } .axis text { font-size: 9px; fill: #333; }
        .frame { fill: none; stroke: #888; stroke-width: 0.7; }
        .band.severe { fill: #f4b6b6; } .band.moderate { fill: #f8d9b0; } .band.mild { fill: #fbf0c4; } .band.goal { fill: #cfe8cf; }
        .band-label { font-size: 8px; fill: #666; }
        .prone { fill: #9fb7e6; fill-opacity: 0.35; }
        .ecmo { fill: #c9a0dc; fill-opacity: 0.30; }
        .threshold { stroke: #b00; stroke-width: 1; stroke-dasharray: 5 3; } .threshold-label { font-size: 8px; fill: #b00; }
        .gas { stroke: #555; stroke-width: 0.6; stroke-dasharray: 1 2; }
        .series path { fill: none; stroke: #1a4d8f; stroke-width: 1.1; }
        .series circle { fill: #1a4d8f; } .series.measured circle { fill: #000; stroke: #fff; stroke-width: 0.5; }
        .series.imputed path { stroke: #6f8fbf; }
        .nodata { font-size: 10px; fill: #888; }
        .alarm.high { fill: #d62728; } .alarm.medium { fill: #f0b400; } .alarm.low { fill: #3a9ad9; }
        .ack { stroke: #000; stroke-width: 1.2; } .rule-label { font-size: 8.5px; fill: #111; }
        table { border-collapse: collapse; width: 100%; break-inside: auto; } th, td { border: 0.5px solid #aaa; padding: 1px 3px; text-align: left; vertical-align: top; }
        tr { break-inside: avoid; } footer { margin-top: 4px; color: #555; font-size: 8px; }
        .legend { font-size: 8.5px; color: #333; }
        """

    func header(_ data: TrendData, period: String) -> String {
        let context = data.context
        let sex = context?.sex ?? "unknown"
        let height = context?.heightCm.map { "\(number($0, 0)) cm" } ?? "unknown"
        let pbw = context?.pbwKg.map { "\(number($0, 1)) kg" } ?? "unknown"
        let conditions = context.map { $0.conditions.isEmpty ? "none recorded" : $0.conditions.joined(separator: ", ") } ?? "unknown"
        let devices = context.map { $0.devices.isEmpty ? "none" : $0.devices.joined(separator: ", ") } ?? "unknown"
        return """
            <header><h1>Alveo trend report — \(escape((context?.bed).flatMap { $0.isEmpty ? nil : "bed \($0)" } ?? "bed not named"))</h1><dl>
            <dt>Period</dt><dd>\(escape(period))</dd><dt>Sex</dt><dd>\(escape(sex))</dd>
            <dt>Height</dt><dd>\(escape(height))</dd><dt>Predicted body weight</dt><dd>\(escape(pbw))</dd>
            <dt>Conditions</dt><dd>\(escape(conditions))</dd><dt>Devices</dt><dd>\(escape(devices))</dd>
            <dt>Prone periods</dt><dd>\(data.positions.filter { $0.position == "prone" }.count)</dd><dt>ECMO</dt><dd>\(ecmoPeriods(data).isEmpty ? "none charted" : ecmoPeriods(data).map { "\($0.mode.uppercased()) \(clock($0.start, date: true))\($0.end.map { " – \(clock($0, date: true))" } ?? " on")" }.joined(separator: "; "))</dd><dt>Alarms</dt><dd>\(Set(data.alarms.map(\.alarmID)).count)</dd>
            </dl><div class="legend">Blue bands: prone. Purple bands on P/F: ECMO. Dotted verticals: blood gases. P/F: black dots measured (arterial gas), line imputed from SpO2.
            Downsampled to the lowest and highest value per \(escape(duration((data.to - data.from) / Double(Downsampling.defaultBuckets)))) where a series has more points than the page can show.</div></header>

            """
    }

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

    func x(_ time: Double, _ data: TrendData) -> Double {
        let span = max(data.to - data.from, 1)
        return TrendReport.plotX + (time - data.from) / span * TrendReport.plotW
    }

    func render(_ chart: Chart, _ data: TrendData) -> String {
        let present = chart.series.compactMap { data.series[$0.key] }
        var low = chart.range.lowerBound, high = chart.range.upperBound
        for series in present {
            for point in series.points where point.value.isFinite {
                low = min(low, point.value)
                high = max(high, point.value)
            }
        }
        if high - low < 1e-9 { high = low + 1 }
        let span = high - low
        func y(_ value: Double) -> Double {
            TrendReport.plotY + TrendReport.plotH - (min(max(value, low), high) - low) / span * TrendReport.plotH
        }
        let (px, py, pw, ph) = (TrendReport.plotX, TrendReport.plotY, TrendReport.plotW, TrendReport.plotH)
        var s = "<section class=\"chart\" data-chart=\"\(chart.key)\"><h2>\(escape(chart.title))\(chart.unit.isEmpty ? "" : " (\(escape(chart.unit)))")</h2>\n"
        s += "<svg viewBox=\"0 0 \(f(TrendReport.width)) \(f(TrendReport.height))\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" data-chart=\"\(chart.key)\" data-from=\"\(exact(data.from))\" data-to=\"\(exact(data.to))\" data-ymin=\"\(f(low))\" data-ymax=\"\(f(high))\" data-plot=\"\(f(px)) \(f(py)) \(f(pw)) \(f(ph))\">\n"
        for band in chart.bands where band.to > low && band.from < high {
            let top = y(min(band.to, high)), bottom = y(max(band.from, low))
            s += "<rect class=\"band \(band.css)\" data-from=\"\(f(band.from))\" data-to=\"\(f(band.to))\" x=\"\(f(px))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(bottom - top))\"/>"
            s += "<text class=\"band-label\" x=\"\(f(px + pw - 4))\" y=\"\(f(top + 8))\" text-anchor=\"end\">\(escape(band.label))</text>\n"
        }
        for period in data.positions where period.position == "prone" {
            let start = max(period.start, data.from), end = min(period.end ?? data.to, data.to)
            guard end > start else { continue }
            s += "<rect class=\"prone\" data-start=\"\(f(period.start))\" data-end=\"\(period.end.map(f) ?? "")\" x=\"\(f(x(start, data)))\" y=\"\(f(py))\" width=\"\(f(x(end, data) - x(start, data)))\" height=\"\(f(ph))\"/>\n"
        }
        if chart.key == "pf" {
            // ECMO (rules v3 §3.3): the P/F from the ventilator's FiO2 does not describe oxygenation.
            for period in ecmoPeriods(data) {
                let start = max(period.start, data.from), end = min(period.end ?? data.to, data.to)
                guard end > start else { continue }
                s += "<rect class=\"ecmo\" data-mode=\"\(period.mode)\" data-start=\"\(f(period.start))\" data-end=\"\(period.end.map(f) ?? "")\" x=\"\(f(x(start, data)))\" y=\"\(f(py))\" width=\"\(f(x(end, data) - x(start, data)))\" height=\"\(f(ph))\"/>"
                s += "<text class=\"band-label\" x=\"\(f(x(start, data) + 3))\" y=\"\(f(py + ph - 3))\">\(period.mode.uppercased())-ECMO</text>\n"
            }
        }
        s += axes(low: low, high: high, y: y, data)
        if chart.gasMarks {
            for time in data.gasTimes where time >= data.from && time <= data.to {
                s += "<line class=\"gas\" data-time=\"\(f(time))\" x1=\"\(f(x(time, data)))\" x2=\"\(f(x(time, data)))\" y1=\"\(f(py))\" y2=\"\(f(py + ph))\"/>"
            }
            s += "\n"
        }
        for threshold in chart.thresholds where threshold.value >= low && threshold.value <= high {
            let ty = y(threshold.value)
            s += "<line class=\"threshold\" data-value=\"\(f(threshold.value))\" x1=\"\(f(px))\" x2=\"\(f(px + pw))\" y1=\"\(f(ty))\" y2=\"\(f(ty))\"/>"
            s += "<text class=\"threshold-label\" x=\"\(f(px + 3))\" y=\"\(f(ty - 2))\">\(escape(threshold.label))</text>\n"
        }
        var drawn = 0
        for (key, style) in chart.series {
            guard let series = data.series[key], !series.points.isEmpty else { continue }
            drawn += 1
            let css = style == .measured ? "measured" : key.hasSuffix("/imputed") ? "imputed" : style.rawValue
            s += "<g class=\"series \(css)\" data-series=\"\(escape(key))\" data-points=\"\(series.points.count)\" data-values=\"\(series.values)\"\(series.fromSummaries ? " data-summaries=\"1\"" : "")>"
            switch style {
            case .line:
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
                    for point in series.points { s += "<circle cx=\"\(f(x(point.time, data)))\" cy=\"\(f(y(point.value)))\" r=\"1.6\"/>" }
                }
            case .points, .measured:
                for point in series.points {
                    s += "<circle cx=\"\(f(x(point.time, data)))\" cy=\"\(f(y(point.value)))\" r=\"\(style == .measured ? "3" : "2.5")\"><title>\(escape(clock(point.time, date: true))): \(number(point.value, 2)) \(escape(chart.unit))</title></circle>"
                }
            }
            s += "</g>\n"
        }
        if drawn == 0 {
            s += "<text class=\"nodata\" x=\"\(f(px + pw / 2))\" y=\"\(f(py + ph / 2))\" text-anchor=\"middle\">no values in this period</text>\n"
        }
        s += "<rect class=\"frame\" x=\"\(f(px))\" y=\"\(f(py))\" width=\"\(f(pw))\" height=\"\(f(ph))\"/>\n</svg></section>\n"
        return s
    }

    func axes(low: Double, high: Double, y: (Double) -> Double, _ data: TrendData) -> String {
        var s = "<g class=\"axis\">"
        let step = niceStep((high - low) / 4)
        var value = (low / step).rounded(.up) * step
        var guardCount = 0
        while value <= high + 1e-9, guardCount < 20 {
            let ty = y(value)
            s += "<line x1=\"\(f(TrendReport.plotX - 3))\" x2=\"\(f(TrendReport.plotX))\" y1=\"\(f(ty))\" y2=\"\(f(ty))\"/><text x=\"\(f(TrendReport.plotX - 5))\" y=\"\(f(ty + 3))\" text-anchor=\"end\">\(number(value, step < 1 ? 1 : 0))</text>"
            value += step
            guardCount += 1
        }
        for (time, label) in timeTicks(data) {
            let tx = x(time, data)
            s += "<line x1=\"\(f(tx))\" x2=\"\(f(tx))\" y1=\"\(f(TrendReport.plotY + TrendReport.plotH))\" y2=\"\(f(TrendReport.plotY + TrendReport.plotH + 3))\"/><text x=\"\(f(tx))\" y=\"\(f(TrendReport.plotY + TrendReport.plotH + 13))\" text-anchor=\"middle\">\(escape(label))</text>"
        }
        return s + "</g>\n"
    }

    func niceStep(_ raw: Double) -> Double {
        guard raw.isFinite, raw > 0 else { return 1 }
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        for factor in [1.0, 2, 2.5, 5, 10] where factor * magnitude >= raw { return factor * magnitude }
        return 10 * magnitude
    }

    /// Time ticks: a step from 1 minute to 2 days giving at most 12 ticks, aligned in the report's zone.
    func timeTicks(_ data: TrendData, most: Double = 7) -> [(Double, String)] {
        let span = data.to - data.from
        let steps: [Double] = [60, 300, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172_800, 604_800]
        let step = steps.first { span / $0 <= most } ?? 604_800
        let offset = Double(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: data.from)))
        var tick = ((data.from + offset) / step).rounded(.up) * step - offset
        var ticks: [(Double, String)] = []
        while tick <= data.to, ticks.count < 16 {
            ticks.append((tick, clock(tick, date: step >= 86400 || ticks.isEmpty)))
            tick += step
        }
        return ticks
    }

    func timeline(_ data: TrendData) -> String {
        // One row per rule and source; each alarm a bar from its first to its last event (to the end of
        // the period while still in force), coloured by its highest priority.
        struct Bar { var id: Int; var start: Double; var end: Double?; var priority: String; var acks: [Double]; var title: String }
        var bars: [Int: Bar] = [:]
        var rows: [String] = []
        var rowOf: [Int: String] = [:]
        for event in data.alarms {
            let row = "\(event.rule)\(event.source.map { " (\($0))" } ?? "")"
            if bars[event.alarmID] == nil {
                bars[event.alarmID] = Bar(id: event.alarmID, start: event.time, end: nil, priority: event.priority, acks: [], title: event.title)
                rowOf[event.alarmID] = row
                if !rows.contains(row) { rows.append(row) }
            }
            if rank(event.priority) > rank(bars[event.alarmID]!.priority) { bars[event.alarmID]!.priority = event.priority }
            if event.phase == "end" { bars[event.alarmID]!.end = event.time }
            if event.reason == "acknowledged" { bars[event.alarmID]!.acks.append(event.time) }
        }
        let rowHeight = 12.0
        let height = TrendReport.plotY + Double(max(rows.count, 1)) * rowHeight + 20
        let labelW = 250.0
        let plotX = labelW, plotW = TrendReport.timelineWidth - labelW - 20
        func x(_ t: Double) -> Double {
            plotX + (min(max(t, data.from), data.to) - data.from) / max(data.to - data.from, 1) * plotW
        }
        var s = "<section class=\"timeline\"><h2>Alarm timeline</h2>\n<svg viewBox=\"0 0 \(f(TrendReport.timelineWidth)) \(f(height))\" xmlns=\"http://www.w3.org/2000/svg\" data-chart=\"alarms\" data-from=\"\(exact(data.from))\" data-to=\"\(exact(data.to))\" data-rows=\"\(rows.count)\" data-alarms=\"\(bars.count)\">\n"
        for period in data.positions where period.position == "prone" {
            let start = max(period.start, data.from), end = min(period.end ?? data.to, data.to)
            guard end > start else { continue }
            s += "<rect class=\"prone\" data-start=\"\(f(period.start))\" data-end=\"\(period.end.map(f) ?? "")\" x=\"\(f(x(start)))\" y=\"\(f(TrendReport.plotY))\" width=\"\(f(x(end) - x(start)))\" height=\"\(f(Double(rows.count) * rowHeight))\"/>\n"
        }
        for (index, row) in rows.enumerated() {
            let top = TrendReport.plotY + Double(index) * rowHeight
            s += "<text class=\"rule-label\" x=\"\(f(plotX - 4))\" y=\"\(f(top + 9))\" text-anchor=\"end\">\(escape(row))</text>\n"
        }
        for bar in bars.values.sorted(by: { $0.id < $1.id }) {
            guard let row = rowOf[bar.id], let index = rows.firstIndex(of: row) else { continue }
            let top = TrendReport.plotY + Double(index) * rowHeight + 2
            let x0 = x(bar.start), x1 = max(x(bar.end ?? data.to), x0 + 1.5)
            s += "<rect class=\"alarm \(escape(bar.priority))\" data-alarm=\"\(bar.id)\" data-start=\"\(f(bar.start))\" data-end=\"\(bar.end.map(f) ?? "")\" x=\"\(f(x0))\" y=\"\(f(top))\" width=\"\(f(x1 - x0))\" height=\"\(f(rowHeight - 4))\"><title>\(escape(bar.title)): \(escape(clock(bar.start, date: true)))\(bar.end.map { " – \(escape(clock($0, date: true)))" } ?? ", still in force")</title></rect>"
            for ack in bar.acks {
                s += "<line class=\"ack\" x1=\"\(f(x(ack)))\" x2=\"\(f(x(ack)))\" y1=\"\(f(top - 1))\" y2=\"\(f(top + rowHeight - 3))\"/>"
            }
            s += "\n"
        }
        let axisData = TrendData(context: nil, from: data.from, to: data.to, series: [:], positions: [], alarms: [], gasTimes: [])
        let base = TrendReport.plotY + Double(rows.count) * rowHeight
        for (time, label) in timeTicks(axisData, most: 12) {
            let tx = x(time)
            s += "<g class=\"axis\"><line x1=\"\(f(tx))\" x2=\"\(f(tx))\" y1=\"\(f(base))\" y2=\"\(f(base + 3))\"/><text x=\"\(f(tx))\" y=\"\(f(base + 13))\" text-anchor=\"middle\">\(escape(label))</text></g>"
        }
        if rows.isEmpty {
            s += "<text class=\"nodata\" x=\"\(f(TrendReport.timelineWidth / 2))\" y=\"\(f(TrendReport.plotY + 8))\" text-anchor=\"middle\">no alarms in this period</text>"
        }
        return s + "\n</svg><div class=\"legend\">Red: high priority, yellow: medium, blue: low; a black tick: acknowledged.</div></section>\n"
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

    func pad2(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    func duration(_ seconds: Double) -> String {
        if seconds < 120 { return "\(Int(saturating: seconds.rounded())) s" }
        if seconds < 7200 { return "\(Int(saturating: (seconds / 60).rounded())) min" }
        return "\(number(seconds / 3600, 1)) h"
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
