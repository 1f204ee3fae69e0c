/// What the trend store holds (docs/trends.md): rows as the bedside loop produces them and the report
/// reads them. Times are Unix seconds (UTC); every value carries its unit.

/// A value the clinical core accepted: from a device, charted by a person, or from the laboratory.
public struct TrendObservation: Sendable, Equatable {
    public var time: Double
    /// The parameter's name as in scenario files (spo2, fio2, vt, pplat, …).
    public var parameter: String
    public var value: Double
    public var unit: String
    /// The device id, `chart` or `lab`.
    public var source: String
    /// `device`, `charted` or `lab`.
    public var method: String

    public init(time: Double, parameter: String, value: Double, unit: String, source: String, method: String) {
        self.time = time
        self.parameter = parameter
        self.value = value
        self.unit = unit
        self.source = source
        self.method = method
    }
}

/// A value Alveo computed from observations: P/F (measured or imputed), S/F, Vt per kg PBW, driving pressure.
public struct TrendDerived: Sendable, Equatable {
    public var time: Double
    /// `pf`, `sf`, `vt_per_kg` or `driving_pressure`.
    public var name: String
    public var value: Double
    public var unit: String
    /// `measured` or `imputed` for P/F; `computed` otherwise.
    public var method: String
    /// The inputs, as a JSON object (e.g. {"pao2_mmhg":62,"fio2":0.6}).
    public var inputs: String

    public init(time: Double, name: String, value: Double, unit: String, method: String, inputs: String) {
        self.time = time
        self.name = name
        self.value = value
        self.unit = unit
        self.method = method
        self.inputs = inputs
    }
}

/// A period in one position (supine, prone); `end` nil while it lasts.
public struct TrendPosition: Sendable, Equatable {
    public var start: Double
    public var end: Double?
    public var position: String

    public init(start: Double, end: Double?, position: String) {
        self.start = start
        self.end = end
        self.position = position
    }
}

/// One alarm event (start, update, escalate, de-escalate, continue, end).
public struct TrendAlarmEvent: Sendable, Equatable {
    public var time: Double
    public var alarmID: Int
    public var rule: String
    /// physiological, technical or advisory.
    public var type: String
    public var title: String
    public var phase: String
    public var priority: String
    public var state: String
    public var acknowledged: Bool
    public var reason: String?
    public var source: String?
    public var text: String

    public init(time: Double, alarmID: Int, rule: String, type: String, title: String, phase: String, priority: String, state: String,
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
public struct TrendContext: Sendable, Equatable {
    public var bed: String
    public var sex: String?
    public var heightCm: Double?
    public var pbwKg: Double?
    public var conditions: [String]
    /// Device id and what it is (protocol or profile).
    public var devices: [String]

    public init(bed: String, sex: String?, heightCm: Double?, pbwKg: Double?, conditions: [String], devices: [String]) {
        self.bed = bed
        self.sex = sex
        self.heightCm = heightCm
        self.pbwKg = pbwKg
        self.conditions = conditions
        self.devices = devices
    }
}

/// One thing to write.
public enum TrendRow: Sendable, Equatable {
    case observation(TrendObservation)
    case derived(TrendDerived)
    /// The patient is in `position` from `time` (ends the period before).
    case position(time: Double, position: String)
    case alarm(TrendAlarmEvent)
    case context(TrendContext)
}

/// One point of a series: a time, a value, and whether it is a measured point (a blood gas P/F).
public struct TrendPoint: Sendable, Equatable {
    public var time: Double
    public var value: Double

    public init(time: Double, value: Double) {
        self.time = time
        self.value = value
    }
}

/// One series for the report: its points in the window after downsampling, and how many values the
/// window held before.
public struct TrendSeries: Sendable, Equatable {
    public var points: [TrendPoint]
    /// Values in the window (raw values, or minute extremes when the window was read from summaries).
    public var values: Int
    /// Read from the minute summaries (the raw values were too many, or retention removed them).
    public var fromSummaries: Bool

    public init(points: [TrendPoint], values: Int, fromSummaries: Bool) {
        self.points = points
        self.values = values
        self.fromSummaries = fromSummaries
    }
}

/// Everything the report needs, read from the store for a window.
public struct TrendData: Sendable {
    public var context: TrendContext?
    /// The window (Unix seconds).
    public var from: Double
    public var to: Double
    /// By series key: an observation's parameter (`spo2`, `hb`, …), a derived value (`sf`,
    /// `vt_per_kg`, `driving_pressure`), `pf/measured`, `pf/imputed`.
    public var series: [String: TrendSeries]
    public var positions: [TrendPosition]
    public var alarms: [TrendAlarmEvent]
    /// When blood gases were drawn (PaO2 results' sample times).
    public var gasTimes: [Double]

    public init(context: TrendContext?, from: Double, to: Double, series: [String: TrendSeries], positions: [TrendPosition],
                alarms: [TrendAlarmEvent], gasTimes: [Double])
    {
        self.context = context
        self.from = from
        self.to = to
        self.series = series
        self.positions = positions
        self.alarms = alarms
        self.gasTimes = gasTimes
    }
}
