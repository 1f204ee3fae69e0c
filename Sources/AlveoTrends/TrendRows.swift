/// What the trend store holds (docs/trends.md): rows as the bedside loop produces them and the report
/// reads them. Times are Unix seconds (UTC); every value carries its unit.

/// A value the clinical core accepted: from a device, charted by a person, or from the laboratory.
package struct TrendObservation: Sendable, Equatable {
    package var time: Double
    /// The parameter's name as in scenario files (spo2, fio2, vt, pplat, …).
    package var parameter: String
    package var value: Double
    package var unit: String
    /// The device id, `chart` or `lab`.
    package var source: String
    /// `device`, `charted` or `lab`.
    package var method: String

    package init(time: Double, parameter: String, value: Double, unit: String, source: String, method: String) {
        self.time = time
        self.parameter = parameter
        self.value = value
        self.unit = unit
        self.source = source
        self.method = method
    }
}

/// A value Alveo computed from observations: P/F (measured or imputed), S/F, Vt per kg PBW, driving pressure.
package struct TrendDerived: Sendable, Equatable {
    package var time: Double
    /// `pf`, `sf`, `vt_per_kg` or `driving_pressure`.
    package var name: String
    package var value: Double
    package var unit: String
    /// `measured` or `imputed` for P/F; `computed` otherwise.
    package var method: String
    /// The inputs, as a JSON object (e.g. {"pao2_mmhg":62,"fio2":0.6}).
    package var inputs: String

    package init(time: Double, name: String, value: Double, unit: String, method: String, inputs: String) {
        self.time = time
        self.name = name
        self.value = value
        self.unit = unit
        self.method = method
        self.inputs = inputs
    }
}

/// A period in one position (supine, prone); `end` nil while it lasts.
package struct TrendPosition: Sendable, Equatable {
    package var start: Double
    package var end: Double?
    package var position: String

    package init(start: Double, end: Double?, position: String) {
        self.start = start
        self.end = end
        self.position = position
    }
}

/// One alarm event (start, update, escalate, de-escalate, continue, end).
package struct TrendAlarmEvent: Sendable, Equatable {
    package var time: Double
    package var alarmID: Int
    package var rule: String
    /// physiological, technical or advisory.
    package var type: String
    package var title: String
    package var phase: String
    package var priority: String
    package var state: String
    package var acknowledged: Bool
    package var reason: String?
    package var source: String?
    package var text: String

    package init(time: Double, alarmID: Int, rule: String, type: String, title: String, phase: String, priority: String, state: String,
                acknowledged: Bool, reason: String?, source: String?, text: String)
    {
        self.time = time
        self.alarmID = alarmID
        self.rule = rule
        self.type = type
        self.title = title
        self.phase = phase
        self.priority = priority
        self.state = state
        self.acknowledged = acknowledged
        self.reason = reason
        self.source = source
        self.text = text
    }
}

/// What the store keeps about the bed and the patient (the report's header); the latest wins.
package struct TrendContext: Sendable, Equatable {
    package var bed: String
    package var sex: String?
    package var heightCm: Double?
    package var pbwKg: Double?
    package var conditions: [String]
    /// Device id and what it is (protocol or profile).
    package var devices: [String]

    package init(bed: String, sex: String?, heightCm: Double?, pbwKg: Double?, conditions: [String], devices: [String]) {
        self.bed = bed
        self.sex = sex
        self.heightCm = heightCm
        self.pbwKg = pbwKg
        self.conditions = conditions
        self.devices = devices
    }
}

/// One thing to write.
package enum TrendRow: Sendable, Equatable {
    case observation(TrendObservation)
    case derived(TrendDerived)
    /// The patient is in `position` from `time` (ends the period before).
    case position(time: Double, position: String)
    case alarm(TrendAlarmEvent)
    case context(TrendContext)
}

/// One point of a series: a time, a value, and whether it is a measured point (a blood gas P/F).
package struct TrendPoint: Sendable, Equatable {
    package var time: Double
    package var value: Double

    package init(time: Double, value: Double) {
        self.time = time
        self.value = value
    }
}

/// One series for the report: its points in the window after downsampling, and how many values the
/// window held before.
package struct TrendSeries: Sendable, Equatable {
    package var points: [TrendPoint]
    /// Values in the window (raw values, or minute extremes when the window was read from summaries).
    package var values: Int
    /// Read from the minute summaries (the raw values were too many, or retention removed them).
    package var fromSummaries: Bool

    package init(points: [TrendPoint], values: Int, fromSummaries: Bool) {
        self.points = points
        self.values = values
        self.fromSummaries = fromSummaries
    }
}

/// Everything the report needs, read from the store for a window.
package struct TrendData: Sendable {
    package var context: TrendContext?
    /// The window (Unix seconds).
    package var from: Double
    package var to: Double
    /// By series key: an observation's parameter (`spo2`, `hb`, …), a derived value (`sf`,
    /// `vt_per_kg`, `driving_pressure`), `pf/measured`, `pf/imputed`.
    package var series: [String: TrendSeries]
    package var positions: [TrendPosition]
    package var alarms: [TrendAlarmEvent]
    /// When blood gases were drawn (PaO2 results' sample times).
    package var gasTimes: [Double]
    /// The blood gases of the window, one per PaO2 result (the report's blood gas table).
    package var gases: [TrendGas]
    /// Charted haemoptysis in the 7 days before the window (the 24 h total at its start counts them).
    package var hemoptysisBefore: [TrendPoint]

    package init(context: TrendContext?, from: Double, to: Double, series: [String: TrendSeries], positions: [TrendPosition],
                alarms: [TrendAlarmEvent], gasTimes: [Double], gases: [TrendGas] = [], hemoptysisBefore: [TrendPoint] = [])
    {
        self.context = context
        self.from = from
        self.to = to
        self.series = series
        self.positions = positions
        self.alarms = alarms
        self.gasTimes = gasTimes
        self.gases = gases
        self.hemoptysisBefore = hemoptysisBefore
    }
}

/// One blood gas: its sample time, PaO2 (mmHg), and what was recorded with it: the measured P/F
/// (mmHg) with the FiO2 it used (%), PaCO2 (mmHg) and pH of the same sample time.
package struct TrendGas: Sendable, Equatable {
    package var time: Double
    package var pao2: Double
    package var fio2Percent: Double?
    package var pf: Double?
    package var paco2: Double?
    package var ph: Double?

    package init(time: Double, pao2: Double, fio2Percent: Double?, pf: Double?, paco2: Double?, ph: Double?) {
        self.time = time
        self.pao2 = pao2
        self.fio2Percent = fio2Percent
        self.pf = pf
        self.paco2 = paco2
        self.ph = ph
    }
}
