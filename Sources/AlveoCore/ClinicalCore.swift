/// The clinical core: pure and synchronous. It is fed groups of observations that share a time
/// (seconds since the start) and returns the alarm events they cause. No clock, no I/O, no threads:
/// the same input always gives the same output, which is what makes replay exact.
public struct ClinicalCore {
    public let patient: Patient
    public let settings: RuleSettings
    /// Predicted body weight, kg.
    public let pbw: Double
    /// Time of the last group processed.
    public private(set) var now = -Double.infinity

    struct Reading {
        var value: Double
        var t: Double
        var source: Int
    }

    struct Rejection {
        /// The number rejected, when it is a usable number (outside the parameter's range); nil for an
        /// unusable one (not finite, or past `DeviceNumber.magnitudeLimit`).
        var value: Double?
        /// The value as the alarm text shows it.
        var shown: String
        var t: Double
        var count: Int
        var active: Bool
    }

    struct SourceState {
        var name: String
        var streams = false
        var lastValid = -Double.infinity
        var silent = false
        var sensor: SensorState = .ok
        var sensorSince = 0.0
        var rejections: [Int: Rejection] = [:]
        var rejectedParameters: [Int] = []
    }

    struct Gas {
        var pao2: Double
        var t: Double
        var fio2: Reading?
    }

    struct LabFinding {
        var value: Double
        var t: Double
        var reference: (t: Double, value: Double)?
        var met: Bool
    }

    // Streamed device values by Parameter.rawValue; nil = unknown (no data, silent source, probe off).
    var readings: [Reading?] = Array(repeating: nil, count: Parameter.allCases.count)
    var sources: [SourceState] = []
    var sourceIndex: [String: Int] = [:]

    var gas: Gas?
    var pendingGas: (pao2: Double, t: Double)?
    var pf: PFRatio?
    var pfHistory = SlidingMaximum<PFRatio>()
    var pfFallReference: (t: Double, value: Double, payload: PFRatio)?
    var pfBand = 0

    var hbSeries = LabSeries()
    var hbFinding: LabFinding?
    var creatinineSeries = LabSeries()
    var creatinineFinding: LabFinding?
    var hemoptysis: [(t: Double, ml: Double)] = []
    var hemoptysisTotal = 0.0
    var lastHemoptysisCharted: (t: Double, ml: Double)?

    var position: Position = .supine
    var positionSince = 0.0
    var lastProneT: Double?

    var lastPlateauT: Double?
    var ventilatedSince: Double?

    var vtHighOnset = Onset(), vtHighHighOnset = Onset(), vtLowOnset = Onset()
    var spo2LowOnset = Onset(), spo2LowHighOnset = Onset(), spo2BelowEndOnset = Onset()
    var proneOnset = Onset(), proneStopOnset = Onset(), plexSpO2Onset = Onset()

    var alarms: AlarmBook
    var pendingAcks: [RuleID] = []

    public init(patient: Patient, settings: RuleSettings = RuleSettings()) {
        self.patient = patient
        self.settings = settings
        self.pbw = patient.predictedBodyWeightKg
        self.alarms = AlarmBook(reannounceAfter: settings.reannounceAfter)
    }

    /// Processes one group of observations that share time `t` (seconds), then evaluates every rule.
    /// `t` must not go backwards. An empty group just lets time pass (silence, delays, windows).
    public mutating func process(_ group: some Sequence<Observation>, at t: Double) -> [AlarmEvent] {
        var events: [AlarmEvent] = []
        process(group, at: t, into: &events)
        return events
    }

    /// As `process(_:at:)`, appending to a caller-owned buffer (no allocation per group).
    public mutating func process(_ group: some Sequence<Observation>, at t: Double, into events: inout [AlarmEvent]) {
        // Time never goes back (callers clamp it too): a t before the last one, or not a number, is
        // taken as the last one, so no input can stop the core.
        let t = t >= now ? t : (now.isFinite ? now : 0)
        now = t
        for observation in group { apply(observation, at: t) }
        evaluate(at: t, into: &events)
    }

    /// Declares a streaming source (a configured device) before it sends anything, so that a device
    /// that never answers raises `technical.device_silent` after its timeout from `t`.
    public mutating func expectSource(_ name: String, at t: Double) {
        let src = source(named: name)
        if !sources[src].streams {
            sources[src].streams = true
            sources[src].lastValid = t
        }
    }

    /// The P/F ratio the rules currently use, if any.
    public var currentPF: PFRatio? { pf }

    // MARK: - Applying observations

    mutating func source(named name: String) -> Int {
        if let index = sourceIndex[name] { return index }
        sources.append(SourceState(name: name))
        sourceIndex[name] = sources.count - 1
        return sources.count - 1
    }

    private mutating func apply(_ observation: Observation, at t: Double) {
        let src = source(named: observation.source)
        let parameter = observation.parameter
        if parameter.isStreamed, !sources[src].streams {
            sources[src].streams = true
            sources[src].lastValid = t
        }
        switch observation.value {
        case .number(let value):
            guard let range = parameter.acceptedRange, DeviceNumber.isUsable(value), range.contains(value) else {
                let usable = DeviceNumber.isUsable(value)
                reject(usable ? value : nil, shown: usable ? Fmt.fixed(value, 2).trimmingTrailingZeros : DeviceNumber.shown(String(value)),
                       parameter: parameter, source: src, at: t)
                return
            }
            accept(value, parameter: parameter, source: src, at: t)
        case .unusable(let text):
            reject(nil, shown: DeviceNumber.shown(text), parameter: parameter, source: src, at: t)
        case .noData:
            if parameter.isStreamed {
                sources[src].lastValid = t
                invalidate(parameter, from: src)
            }
        case .position(let newPosition):
            if newPosition != position { positionSince = t }
            position = newPosition
            if newPosition == .prone { lastProneT = t }
        case .sensor(let state):
            sources[src].lastValid = t
            setSensor(state, source: src, at: t)
        case .ack(let rule):
            pendingAcks.append(rule)
        }
    }

    private mutating func setSensor(_ state: SensorState, source src: Int, at t: Double) {
        if sources[src].sensor != state { sources[src].sensorSince = t }
        sources[src].sensor = state
        if state != .ok {
            // A probe that is off makes the last SpO2 and pulse stale.
            invalidate(.spo2, from: src)
            invalidate(.pulseRate, from: src)
        }
    }

    private mutating func reject(_ value: Double?, shown: String, parameter: Parameter, source src: Int, at t: Double) {
        var rejection = sources[src].rejections[parameter.rawValue] ?? Rejection(value: value, shown: shown, t: t, count: 0, active: false)
        if sources[src].rejections[parameter.rawValue] == nil {
            sources[src].rejectedParameters.append(parameter.rawValue)
        }
        rejection.value = value
        rejection.shown = shown
        rejection.t = t
        rejection.count += 1
        rejection.active = true
        sources[src].rejections[parameter.rawValue] = rejection
        // The impossible value never reaches the rules, and the last good one is no longer current.
        invalidate(parameter, from: src)
    }

    private mutating func accept(_ value: Double, parameter: Parameter, source src: Int, at t: Double) {
        if sources[src].rejections[parameter.rawValue]?.active == true {
            sources[src].rejections[parameter.rawValue]?.active = false
        }
        if parameter.isStreamed {
            sources[src].lastValid = t
            // FiO2 arrives in percent and is stored as a fraction.
            let stored = parameter == .fio2 ? value / 100 : value
            readings[parameter.rawValue] = Reading(value: stored, t: t, source: src)
            if parameter == .spo2, sources[src].sensor != .ok { setSensor(.ok, source: src, at: t) }
            if parameter == .pplat { lastPlateauT = t }
            return
        }
        switch parameter {
        case .pao2:
            pendingGas = (value, t)
        case .hb:
            let reference = hbSeries.append(t: t, value: value, window: settings.hbWindow, extreme: >)
            let met = reference.map { Tolerance.ge($0.value - value, settings.hbDrop) } ?? false
            hbFinding = LabFinding(value: value, t: t, reference: reference, met: met)
        case .creatinine:
            let reference = creatinineSeries.append(t: t, value: value, window: settings.creatinineWindow, extreme: <)
            let met = reference.map { Tolerance.ge(value - $0.value, settings.creatinineRise) } ?? false
            creatinineFinding = LabFinding(value: value, t: t, reference: reference, met: met)
        case .hemoptysis:
            hemoptysis.append((t, value))
            if value > 0 { lastHemoptysisCharted = (t, value) }
        default:
            break
        }
    }

    private mutating func invalidate(_ parameter: Parameter, from src: Int) {
        if readings[parameter.rawValue]?.source == src { readings[parameter.rawValue] = nil }
    }

    func reading(_ parameter: Parameter) -> Reading? { readings[parameter.rawValue] }
}
