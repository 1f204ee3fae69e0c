/// The clinical core: pure and synchronous. It is fed groups of observations that share a time
/// (seconds since the start) and returns the alarm events they cause. No clock, no I/O, no threads:
/// the same input always gives the same output, which is what makes replay exact.
package struct ClinicalCore {
    package private(set) var patient: Patient
    /// The patient's diagnoses the rules ask at every group, read once from `patient`.
    private(set) var diagnoses: Diagnoses
    package let settings: RuleSettings
    /// Predicted body weight, kg; nil while the patient's sex or height is not known.
    package private(set) var pbw: Double?
    /// Time of the last group processed.
    package internal(set) var now = -Double.infinity

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
        /// `technical.device_silent`'s timeout for this source (asked at every group: kept here, not
        /// looked up by name).
        var silentAfter: Double
        var streams = false
        var lastValid = -Double.infinity
        var silent = false
        var sensor: SensorState = .ok
        var sensorSince = 0.0
        var rejections: [Int: Rejection] = [:]
        var rejectedParameters: [Int] = []
        /// Values in another unit than the configured one (rules v3 §4.15), by parameter.
        var mismatches: [Int: Mismatch] = [:]
        var mismatchedParameters: [Int] = []
    }

    /// A run of values that look like another unit (`technical.unit_mismatch`).
    struct Mismatch {
        var looksLike: String
        /// The last three values received (kept short: evidence, not a log).
        var examples: [Double]
        /// Values rejected since `since` (the first of the alarm's episode).
        var count: Int
        var since: Double
        /// The last value of the parameter was one of these (no value in the configured unit since).
        var active: Bool
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

    /// A creatinine result judged by the KDIGO creatinine criteria for AKI.
    struct KidneyFinding {
        var value: Double
        var t: Double
        /// The lowest result in the rise window before it, and the baseline (lowest of the baseline window).
        var lowest: (t: Double, value: Double)?
        var baseline: (t: Double, value: Double)?
        var ratio: Double?
        /// 0: no AKI; else the KDIGO stage.
        var stage: Int
        /// "rise" or "ratio": the criterion met (rise first).
        var criterion: String?
    }

    /// A plateau measurement with the PEEP and Vt current at its group (the breath it was measured on).
    struct Plateau {
        var value: Double
        var t: Double
        var source: Int
        var peep: Double?
        var vt: Double?
    }

    /// What made the plateau stale: a PEEP or a Vt change, when, from what to what.
    struct StaleChange {
        var what: Parameter
        var t: Double
        var from: Double
        var to: Double
    }

    // Streamed device values by Parameter.rawValue; nil = unknown (no data, silent source, probe off).
    var readings: [Reading?] = Array(repeating: nil, count: Parameter.allCases.count)
    var sources: [SourceState] = []
    var sourceIndex: [String: Int] = [:]

    var gas: Gas?
    /// A PaO2 taken in this group, with its sample time (`sampled`: given, not the group's time).
    var pendingGas: (pao2: Double, t: Double, sampled: Bool, corrects: Bool)?
    /// The latest arterial pH and PaCO2 (rules v3 §3.2): the values of one sample time form one gas.
    var acidBase: (ph: Double?, paco2: Double?, t: Double)?
    /// The FiO2 reading in force over the last `maxSampleAge`: a gas drawn earlier uses the FiO2 of then.
    var fio2History = History<Reading>()
    var pf: PFRatio?
    /// While `pf` is unknown because SpO2 is above 96 %: the lower bound of rules v3 §3.1 (nil otherwise).
    var pfLowerBound: PFRatio?
    /// P/F values of the fall window, one series per kind: a fall is measured with measured, imputed with imputed.
    var pfHistoryMeasured = SlidingMaximum<PFRatio>()
    var pfHistoryImputed = SlidingMaximum<PFRatio>()
    var pfFallReference: (t: Double, value: Double, payload: PFRatio)?

    /// Who gave each charted or laboratory parameter last (a source index; -1: nobody), for `status`.
    var enteredBy = [Int](repeating: -1, count: Parameter.allCases.count)

    var hbSeries = LabSeries()
    var hbFinding: LabFinding?
    var creatinineSeries = LabSeries()
    var creatinineFinding: KidneyFinding?
    var hemoptysis: [(t: Double, ml: Double)] = []
    /// Haemoptysis entries charted so far (a new one is a new result for the result-driven rules, §2.2).
    var hemoptysisEntriesCharted = 0

    /// ECMO as last charted (rules v3 §3.3), with its sample time; nil: never charted.
    var ecmo: (mode: ECMOMode, t: Double)?
    /// Massive haemoptysis as last charted by the team (rules v3 §3.4), with its sample time.
    var massiveHemoptysisCharted: (yes: Bool, t: Double)?

    var position: Position = .supine
    var positionSince = 0.0
    var lastProneT: Double?
    /// The last prone session (charted prone, then supine).
    var lastSession: (start: Double, end: Double)?
    /// A course of proning has ended: the stop criteria were met since the last charting of prone.
    var courseEnded = false
    /// The last stop assessment (rules v3 §4.7, made by `escalation.prone_stop`): when, its outcome,
    /// and how long after the end of the session it was made.
    var proneAssessment: (t: Double, met: Bool, afterSession: Double)?
    /// Haemoptysis charted during the current prone session.
    var proneHemoptysis: (t: Double, ml: Double)?

    var lastPlateauT: Double?
    var plateau: Plateau?
    /// A plateau was accepted in this group: paired with the group's PEEP and Vt at evaluation.
    var plateauInGroup = false
    /// When the ventilator last reported a plateau, new or repeated.
    var lastPplatReport: Double?
    /// Seconds within which the same plateau again is a device repeating its last measurement.
    static let plateauRepeatWindow = 120.0
    var staleChange: StaleChange?
    var vtChangeOnset = Onset()
    /// Ventilated since the first Vt or PEEP reading (lpv.plateau_overdue counts from it).
    var ventilatedSince: Double?
    /// The total of charted haemoptysis in its window (`dah.hemoptysis_volume`'s window).
    var hemoptysisTotal = 0.0
    /// Prone sessions charted so far: a new one answers the prompt to prone (its window restarts).
    var proneSessionStarts = 0
    /// An ANCA vasculitis patient's creatinine above the plasma exchange threshold (its kidney
    /// indication), the latest such result.
    var plexKidney: (t: Double, value: Double)?

    /// The clinical rules in evaluation order (context and bed, then per source), each with its own
    /// state and settings; `ruleSlot` finds one by ordinal (>= 0: in `bedRules`, <= -2: in
    /// `sourceRules` at -slot - 2, -1: not a clinical rule).
    var bedRules: [any BedRule] = []
    var sourceRules: [any SourceRule] = []
    let ruleSlot: [Int]
    /// Per rule of `bedRules`: its ordinal, its inputs, and when it is next due (without an input change).
    let ruleOrdinals: [Int]
    let ruleInputs: [Facts]
    var ruleDue: [Double]
    /// The settings the bed's own derivations use (P/F, plateau pairing, windows, labs), read once.
    let bedSettings: BedSettings

    var alarms: AlarmBook
    /// The last assessment driven into each rule's alarm (rules without a source, by ordinal): the
    /// same assessment again, before the engine's deadline, changes nothing and is not stepped.
    var lastAssessment: [Assessment?] = Array(repeating: nil, count: Catalogue.entries.count)
    /// The facts changed since the rules last ran (what the observations of a group, the passing of
    /// time and the rules themselves changed): a rule runs when one of its inputs is among them.
    var changed: Facts = .all
    /// Runs every rule at every group and steps every assessment, as before rules were scheduled
    /// (tests compare the two: they must give the same events).
    var evaluatesEveryRule = false
    /// Alarms a previous run of the agent left in force, by key: the first start of the same alarm
    /// in this run within `previousAlarmWindow` of the reconciliation names it (`previous_alarm`).
    var previousAlarms = AlarmTable<(reference: String, until: Double)>()
    /// Texts of the agent's lifecycle alarms (monitoring stopped, monitoring gap), set when raised.
    var lifecycleTexts: [RuleID: AlarmDescription] = [:]
    /// Acknowledgements to apply at the next evaluation: a rule, and the source it is limited to.
    /// Acknowledgements to apply at the next evaluation: a rule's alarms (of one source), or one alarm (`key`).
    var pendingAcks: [(rule: RuleID, source: Int?, key: AlarmKey?)] = []
    /// Advisory prompts ended by an acknowledgement: they may start again once their condition has
    /// been known false for `advisoryRearm` (the time it has been so, if it is).
    var rearming = AlarmTable<Double?>()

    /// `firstAlarmID`: where alarm numbering starts (a core for a new patient continues the run's).
    /// The rules switched off, one bit per rule's ordinal (asked at every drive of every group).
    let disabledRules: UInt64

    package init(patient: Patient, settings: RuleSettings = RuleSettings(), firstAlarmID: Int = 1) {
        self.patient = patient
        self.settings = settings
        self.disabledRules = settings.disabled.reduce(0) { $0 | (1 << UInt64($1.ordinal)) }
        self.pbw = patient.predictedBodyWeightKg
        self.diagnoses = Diagnoses(patient)
        // On ECMO from the start (rules v3 §3.3): a charted `ecmo` value replaces it from its sample time.
        self.ecmo = patient.ecmoAtStart.map { ($0, -Double.infinity) }
        self.bedSettings = BedSettings(settings)
        var slots = [Int](repeating: -1, count: Catalogue.entries.count)
        for unit in Catalogue.clinicalRules {
            if let rule = unit as? any SourceRule.Type {
                slots[unit.id.ordinal] = -2 - sourceRules.count
                sourceRules.append(rule.make(settings))
            } else if let rule = unit as? any BedRule.Type {
                slots[unit.id.ordinal] = bedRules.count
                bedRules.append(rule.make(settings))
            }
        }
        self.ruleSlot = slots
        self.ruleOrdinals = bedRules.map { type(of: $0).id.ordinal }
        self.ruleInputs = bedRules.map { type(of: $0).inputs }
        self.ruleDue = [Double](repeating: -.infinity, count: bedRules.count)
        self.alarms = AlarmBook(schedule: ReannounceSchedule(high: settings.reannounceHigh, highFast: settings.reannounceHighFast,
                                                             highMax: settings.reannounceHighMax, latched: settings.reannounceLatched,
                                                             medium: settings.reannounceMedium, mediumMax: settings.reannounceMediumMax),
                                policies: settings.policies, firstID: firstAlarmID)
    }

    /// The next alarm id this core would give.
    package var nextAlarmID: Int { alarms.nextID }

    /// The same patient, better known: sex and height given or corrected, a diagnosis confirmed on day
    /// two. Alarms and values carry on; the rules use the new context from the next evaluation.
    package mutating func update(patient: Patient) {
        self.patient = patient
        pbw = patient.predictedBodyWeightKg
        diagnoses = Diagnoses(patient)
        // The ECMO state given with the patient holds until an `ecmo` value is charted (rules v3 §3.3).
        if ecmo == nil || ecmo?.t == -.infinity {
            let wasOnECMO = onECMO
            ecmo = patient.ecmoAtStart.map { ($0, -Double.infinity) }
            if onECMO, !wasOnECMO { courseEnded = true }
        }
        changed = .all
    }

    /// Ends every alarm with `reason` (`patient_changed` before a new patient's core starts), at `t`.
    package mutating func endAll(reason: String, at t: Double) -> [AlarmEvent] {
        now = max(now, t.isNaN ? now : t)
        changed = .all
        return alarms.endAll().map { key, transition in
            var transition = transition
            transition.reason = reason
            return makeEvent(key, transition, describe(key, at: now), at: now)
        }
    }

    /// An active alarm, as `alveo status` shows it.
    package struct ActiveAlarm: Sendable, Equatable {
        package var alarmID: Int
        package var rule: RuleID
        package var source: String?
        package var parameter: Parameter?
        package var priority: Priority
        package var latched: Bool
        package var acknowledged: Bool
        /// When the alarm started (core time).
        package var since: Double
    }

    /// Every alarm instance in force, in order of start.
    package var activeAlarms: [ActiveAlarm] {
        alarms.instances.entries.sorted { $0.value.id < $1.value.id }.map { key, instance in
            ActiveAlarm(alarmID: instance.id, rule: key.rule, source: key.source >= 0 ? sources[key.source].name : nil,
                        parameter: key.parameter >= 0 ? Parameter(rawValue: key.parameter) : nil, priority: instance.priority,
                        latched: instance.state == .latched, acknowledged: instance.acknowledged, since: instance.since)
        }
    }

    /// Why an acknowledgement changes nothing.
    package enum AckRefusal: Error, Sendable, Equatable, CustomStringConvertible {
        case noAlarm(rule: RuleID, source: String?)
        case alreadyAcknowledged(rule: RuleID, source: String?)
        /// No alarm with this id is in force (it ended, or was never raised in this run).
        case notInForce(alarmID: Int)
        case alarmAlreadyAcknowledged(alarmID: Int, rule: RuleID)

        package var description: String {
            switch self {
            // The source is what a person typed: shown bounded and escaped (it is answered and logged).
            case .noAlarm(let rule, let source): "no \(rule.id) alarm\(source.map { " from \(Shown.text($0.utf8, limit: 64))" } ?? "") is active"
            case .alreadyAcknowledged(let rule, let source): "the \(rule.id) alarm\(source.map { " from \(Shown.text($0.utf8, limit: 64))" } ?? "") is already acknowledged"
            case .notInForce(let id): "alarm #\(id) is not in force (it has ended)"
            case .alarmAlreadyAcknowledged(let id, let rule): "alarm #\(id) (\(rule.id)) is already acknowledged"
            }
        }
    }

    /// A clinician acknowledges the alarms of `rule` (of `source` only, when given) at `t`: the
    /// events of it (and of anything else due at `t`), or why nothing would change.
    package mutating func acknowledge(_ rule: RuleID, source: String?, at t: Double) -> Result<[AlarmEvent], AckRefusal> {
        let src = source.flatMap { self.sourceIndex[$0] }
        if source != nil, src == nil { return .failure(.noAlarm(rule: rule, source: source)) }
        let keys = alarms.keys(of: rule).filter { src == nil || $0.source == src }
        guard !keys.isEmpty else { return .failure(.noAlarm(rule: rule, source: source)) }
        guard keys.contains(where: { alarms.instance($0).map { !$0.acknowledged || $0.state == .latched } ?? false }) else {
            return .failure(.alreadyAcknowledged(rule: rule, source: source))
        }
        pendingAcks.append((rule, src, nil))
        changed = .all
        return .success(process([], at: t))
    }

    /// Acknowledges one alarm by its id, as `alveo ack` acknowledges a rule's (an alert manager's
    /// PCD-05 names the alert, not the rule): the events, or why nothing would change.
    package mutating func acknowledge(alarmID: Int, at t: Double) -> Result<[AlarmEvent], AckRefusal> {
        guard let key = alarms.keys.first(where: { alarms.instance($0)?.id == alarmID }), let instance = alarms.instance(key) else {
            return .failure(.notInForce(alarmID: alarmID))
        }
        guard !instance.acknowledged || instance.state == .latched else {
            return .failure(.alarmAlreadyAcknowledged(alarmID: alarmID, rule: key.rule))
        }
        pendingAcks.append((key.rule, nil, key))
        changed = .all
        return .success(process([], at: t))
    }

    /// A parameter's current value, where it came from and when (nil: unknown).
    package struct CurrentValue: Sendable, Equatable {
        /// In Alveo's units (FiO2 as a fraction).
        package var value: Double
        package var source: String
        package var t: Double
    }

    /// The current value of a device parameter, or the latest charted or laboratory value.
    package func current(_ parameter: Parameter) -> CurrentValue? {
        let enteredBy = self.enteredBy[parameter.rawValue]
        let by = sources.indices.contains(enteredBy) ? sources[enteredBy].name : ""
        switch parameter {
        case .pao2: return gas.map { CurrentValue(value: $0.pao2, source: by, t: $0.t) }
        case .hb: return hbSeries.latest.map { CurrentValue(value: $0.value, source: by, t: $0.t) }
        case .creatinine: return creatinineSeries.latest.map { CurrentValue(value: $0.value, source: by, t: $0.t) }
        case .hemoptysis: return hemoptysis.last.map { CurrentValue(value: $0.ml, source: by, t: $0.t) }
        default:
            guard let reading = reading(parameter) else { return nil }
            return CurrentValue(value: reading.value, source: sources[reading.source].name, t: reading.t)
        }
    }

    /// The patient's position as charted, and since when.
    package var currentPosition: (position: Position, since: Double) { (position, positionSince) }

    /// What a source has sent: when it last gave a valid message, whether it is silent, its probe.
    package struct SourceHealth: Sendable, Equatable {
        package var name: String
        package var lastValid: Double?
        package var silent: Bool
        package var sensor: SensorState
        package var rejectedValues: Int
    }

    package var sourceHealth: [SourceHealth] {
        sources.map { source in
            SourceHealth(name: source.name, lastValid: source.lastValid.isFinite ? source.lastValid : nil, silent: source.silent,
                         sensor: source.sensor, rejectedValues: source.rejections.values.reduce(0) { $0 + $1.count })
        }
    }

    /// Processes one group of observations that share time `t` (seconds), then evaluates every rule.
    /// `t` must not go backwards. An empty group just lets time pass (silence, delays, windows).
    package mutating func process(_ group: some Sequence<Observation>, at t: Double) -> [AlarmEvent] {
        var events: [AlarmEvent] = []
        process(group, at: t, into: &events)
        return events
    }

    /// As `process(_:at:)`, appending to a caller-owned buffer (no allocation per group).
    package mutating func process(_ group: some Sequence<Observation>, at t: Double, into events: inout [AlarmEvent]) {
        // Time never goes back (callers clamp it too): a t before the last one, or not a number, is
        // taken as the last one, so no input can stop the core.
        let t = t >= now ? t : (now.isFinite ? now : 0)
        now = t
        for observation in group { apply(observation, at: t) }
        evaluate(at: t, into: &events)
    }

    /// As `process(_:at:into:)`, for the array every caller has (a loop by index: no generic
    /// iterator, no copy of the group).
    package mutating func process(_ group: [Observation], at t: Double, into events: inout [AlarmEvent]) {
        let t = t >= now ? t : (now.isFinite ? now : 0)
        now = t
        for index in group.indices { apply(group[index], at: t) }
        evaluate(at: t, into: &events)
    }

    /// Declares a streaming source (a configured device) before it sends anything, so that a device
    /// that never answers raises `technical.device_silent` after its timeout from `t`.
    package mutating func expectSource(_ name: String, at t: Double) {
        let src = source(named: name)
        if !sources[src].streams {
            sources[src].streams = true
            sources[src].lastValid = t
            changed.insert(.sources)
        }
    }

    /// The P/F ratio the rules currently use, if any.
    package var currentPF: PFRatio? { pf }

    /// The ECMO state as charted (or from `patient.conditions` at start), with its sample time; nil:
    /// never charted (rules v3 §3.3).
    package var currentECMO: (mode: ECMOMode, since: Double)? { ecmo.map { ($0.mode, $0.t) } }

    /// The MAP the rules use now (rules v3 §3.2): the arterial line's, else a cuff value within
    /// `nibp_valid_s`; with its source and whether it is the cuff's.
    package var currentMAP: (value: Double, t: Double, source: String, fromCuff: Bool)? {
        Hypotension.currentMAP(self, nibpValid: bedSettings.hypotension.nibpValid, at: now).map {
            ($0.value, $0.t, sources.indices.contains($0.source) ? sources[$0.source].name : "", $0.fromCuff)
        }
    }

    // MARK: - Applying observations

    mutating func source(named name: String) -> Int {
        // A bed has a few sources: comparing small strings beats hashing them, once per observation.
        if sources.count <= 16 {
            for index in sources.indices where sources[index].name == name { return index }
        } else if let index = sourceIndex[name] {
            return index
        }
        sources.append(SourceState(name: name, silentAfter: settings.silentAfter(source: name)))
        changed.insert(.sources)
        sourceIndex[name] = sources.count - 1
        return sources.count - 1
    }

    private mutating func apply(_ observation: Observation, at t: Double) {
        let src = source(named: observation.source)
        let parameter = observation.parameter
        // A charted or laboratory value is of its sample time (never after the group's time; how old
        // it may be is checked where it enters, against `maxSampleAge`). Device values are of now, but
        // a cuff pressure given with its measurement time (a device gateway's OBX-14) is of that time.
        let given = observation.sampledAt.flatMap { $0.isFinite ? $0 : nil }
        let sampled = parameter.isStreamed && !parameter.isIntermittent ? t : min(given ?? t, t)
        if parameter.isStreamed, !parameter.isIntermittent, !sources[src].streams {
            sources[src].streams = true
            sources[src].lastValid = t
            changed.insert(.sources)
        }
        switch observation.value {
        case .number(let value):
            if let looksLike = parameter.mismatchedUnit(value) {
                mismatch(value, looksLike: looksLike, parameter: parameter, source: src, at: t)
                reject(value, shown: Fmt.fixed(value, 2).trimmingTrailingZeros, parameter: parameter, source: src, at: t)
                return
            }
            guard let range = parameter.acceptedRange, DeviceNumber.isUsable(value), range.contains(value) else {
                let usable = DeviceNumber.isUsable(value)
                reject(usable ? value : nil, shown: usable ? Fmt.fixed(value, 2).trimmingTrailingZeros : DeviceNumber.shown(String(value)),
                       parameter: parameter, source: src, at: t)
                return
            }
            accept(value, parameter: parameter, source: src, at: t, sampled: sampled, corrects: observation.corrects,
                   sampleGiven: observation.sampledAt != nil)
        case .unusable(let text):
            reject(nil, shown: DeviceNumber.shown(text), parameter: parameter, source: src, at: t)
        case .noData:
            if parameter.isStreamed {
                sources[src].lastValid = t
                invalidate(parameter, from: src)
            }
        case .position(let newPosition):
            if newPosition != position {
                if position == .prone { lastSession = (positionSince, sampled) }
                if newPosition == .prone {
                    // A new session: the course goes on, and the prompt to prone is answered.
                    courseEnded = false
                    proneSessionStarts += 1
                }
                positionSince = sampled
            }
            position = newPosition
            if newPosition == .prone { lastProneT = sampled }
            changed.insert(.position)
        case .sensor(let state):
            sources[src].lastValid = t
            setSensor(state, source: src, at: t)
        case .ecmo(let mode):
            // Holds from its sample time, like a position (rules v3 §3.3); the rules it changes read it.
            if sampled >= (ecmo?.t ?? -Double.infinity) {
                // ECMO started: the prone course ends (rules v3 §3.3); at `none` the prompt to prone is
                // armed again (a course that ended), and the P/F rules start afresh (updateOxygenation).
                if mode != .none, !onECMO { courseEnded = true }
                ecmo = (mode, sampled)
            }
            changed.insert(.ecmo)
            enteredBy[parameter.rawValue] = src
        case .yesNo(let yes):
            if parameter == .massiveHemoptysis, sampled >= (massiveHemoptysisCharted?.t ?? -Double.infinity) {
                massiveHemoptysisCharted = (yes, sampled)
                changed.insert(.massiveHemoptysis)
            }
            enteredBy[parameter.rawValue] = src
        case .ack(let rule):
            pendingAcks.append((rule, nil, nil))
            changed = .all
        }
    }

    private mutating func setSensor(_ state: SensorState, source src: Int, at t: Double) {
        if sources[src].sensor != state {
            sources[src].sensorSince = t
            changed.insert(.sources)
        }
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
        if !rejection.active { changed.insert(.sources) }
        rejection.active = true
        sources[src].rejections[parameter.rawValue] = rejection
        // The impossible value never reaches the rules, and the last good one is no longer current.
        invalidate(parameter, from: src)
    }

    /// A value of another unit (rules v3 §4.15): a new episode unless the source's alarm is still in force.
    private mutating func mismatch(_ value: Double, looksLike: String, parameter: Parameter, source src: Int, at t: Double) {
        let key = AlarmKey(rule: .unitMismatch, source: src, parameter: parameter.rawValue)
        var record = sources[src].mismatches[parameter.rawValue]
        if record == nil { sources[src].mismatchedParameters.append(parameter.rawValue) }
        if record == nil || (record?.active == false && alarms.instance(key) == nil) {
            record = Mismatch(looksLike: looksLike, examples: [], count: 0, since: t, active: false)
        }
        record!.looksLike = looksLike
        record!.examples.append(value)
        if record!.examples.count > 3 { record!.examples.removeFirst(record!.examples.count - 3) }
        record!.count = min(record!.count, Int.max - 1) + 1
        if !record!.active { changed.insert(.sources) }
        record!.active = true
        sources[src].mismatches[parameter.rawValue] = record
    }

    private mutating func accept(_ value: Double, parameter: Parameter, source src: Int, at t: Double, sampled: Double,
                                 corrects: Bool, sampleGiven: Bool) {
        if sources[src].mismatches[parameter.rawValue]?.active == true {
            sources[src].mismatches[parameter.rawValue]?.active = false
            changed.insert(.sources)
        }
        if sources[src].rejections[parameter.rawValue]?.active == true {
            sources[src].rejections[parameter.rawValue]?.active = false
            changed.insert(.sources)
        }
        if parameter.isStreamed {
            sources[src].lastValid = t
            // FiO2 arrives in percent and is stored as a fraction.
            let stored = parameter == .fio2 ? value / 100 : value
            let previous = readings[parameter.rawValue]
            // A cuff measurement is of its own time: an older one than that in force changes nothing.
            if parameter.isIntermittent, let previous, sampled < previous.t - Tolerance.epsilon { return }
            if previous == nil || previous!.value != stored || previous!.source != src { changed.insert(.reading(parameter)) }
            if previous == nil, parameter == .vt || parameter == .peep { changed.insert(.ventilatorReporting) }
            readings[parameter.rawValue] = Reading(value: stored, t: parameter.isIntermittent ? sampled : t, source: src)
            if parameter == .spo2, sources[src].sensor != .ok { setSensor(.ok, source: src, at: t) }
            if parameter == .pplat {
                // A ventilator repeats its last plateau on every report (every poll, seconds apart):
                // the same value again from the same source within `plateauRepeatWindow` of its last
                // report is that measurement, not a new one. A new measurement is paired with the PEEP
                // and Vt of its breath, and is the time of the last measurement (lpv.plateau_overdue).
                let repeated = plateau.map { Tolerance.equal($0.value, value) && $0.source == src } ?? false
                    && lastPplatReport.map { t - $0 <= ClinicalCore.plateauRepeatWindow } ?? false
                lastPplatReport = t
                if !repeated {
                    plateauInGroup = true
                    lastPlateauT = t
                }
            }
            return
        }
        if parameter != .position { enteredBy[parameter.rawValue] = src }
        switch parameter {
        case .pao2:
            // A correction of a gas that is no longer the latest changes nothing the rules use.
            if corrects, let gas, !Tolerance.equal(gas.t, sampled) { return }
            if let current = gas, sampled < current.t, !corrects { return }  // an older gas than the one in force
            pendingGas = (value, sampled, sampleGiven, corrects)
        case .hb:
            let hb = bedSettings.hemoglobin
            let (latest, reference) = hbSeries.insert(t: sampled, value: value, corrects: corrects, window: hb.hbWindow, extreme: >)
            let met = reference.map { Tolerance.ge($0.value - latest.value, hb.hbDrop) } ?? false
            hbFinding = LabFinding(value: latest.value, t: latest.t, reference: reference, met: met)
            changed.insert(.hemoglobin)
        case .creatinine:
            let keep = max(bedSettings.kidney.creatinineWindow, bedSettings.kidney.creatinineBaselineWindow)
            let (latest, _) = creatinineSeries.insert(t: sampled, value: value, corrects: corrects, window: keep, extreme: <)
            creatinineFinding = judgeKidney(latest)
            changed.insert(.creatinine)
            if diagnoses.ancaVasculitis, Tolerance.gt(latest.value, bedSettings.plasmaExchange.plexKidneyCreatinine) {
                plexKidney = latest
            }
        case .ph, .paco2:
            // An older sample than the latest gas changes nothing; a newer one starts a new gas.
            if let current = acidBase, sampled < current.t - Tolerance.epsilon { return }
            var gas = acidBase.flatMap { Tolerance.equal($0.t, sampled) ? $0 : nil } ?? (ph: nil, paco2: nil, t: sampled)
            if parameter == .ph { gas.ph = value } else { gas.paco2 = value }
            acidBase = gas
            changed.insert(.reading(.ph))
        case .hemoptysis:
            let index = hemoptysis.lastIndex(where: { $0.t <= sampled }).map { $0 + 1 } ?? 0
            hemoptysis.insert((sampled, value), at: index)
            hemoptysisEntriesCharted &+= 1
            changed.insert(.hemoptysis)
        default:
            break
        }
    }

    mutating func invalidate(_ parameter: Parameter, from src: Int) {
        if readings[parameter.rawValue]?.source == src {
            readings[parameter.rawValue] = nil
            changed.insert(.reading(parameter))
            if parameter == .vt || parameter == .peep { changed.insert(.ventilatorReporting) }
        }
    }

    func reading(_ parameter: Parameter) -> Reading? { readings[parameter.rawValue] }
}

/// The diagnoses the rules read at every group (a set lookup each would hash them).
struct Diagnoses {
    var dah: Bool
    var antiGBM: Bool
    var ancaVasculitis: Bool
    var vasculitis: Bool

    init(_ patient: Patient) {
        dah = patient.hasDAH
        antiGBM = patient.conditions.contains(.antiGBM)
        ancaVasculitis = patient.conditions.contains(.ancaVasculitis)
        vasculitis = patient.hasVasculitis
    }
}
