import AlveoCore
import AlveoOutput
import AlveoTrends

/// The one loop that feeds the clinical core, whatever the inputs come from: the live agent (device
/// deliveries and its clock tick), the replay of a raw trace (its records) and the replay of a scenario
/// (its groups of rows). It keeps the rules every caller must keep alike: time never goes back (inputs
/// from different threads can arrive a hair out of order), every configured device is expected from
/// the start (so a device that never answers is found silent), and the charted and laboratory entries
/// the core accepts are handed back to be journaled as the record of who did what. Pure and
/// synchronous, like the core: the callers own the threads, the clock and the outputs.
package struct BedsideLoop {
    package private(set) var core: ClinicalCore
    /// The time of the last input taken (the core's time).
    package private(set) var now = 0.0
    private var events: [AlarmEvent] = []
    /// After a restart that followed a clean stop: the previous run's `technical.monitoring_stopped`,
    /// ended at the first poll.
    private var pendingResume: (alarm: OpenAlarm, text: String)?
    /// Who the patient is and what the rules know of them (from the configuration, then from
    /// admissions and updates).
    package private(set) var patient: PatientRecord
    /// When the current patient's state started (an admission or a discharge starts a new one).
    package private(set) var patientSince = 0.0
    /// What the alert manager last reported about each alarm (PCD-05), and who acknowledged it (any
    /// way: `alveo ack`, the alert manager), by alarm id: for `alveo status`. Bounded to the most recent.
    package private(set) var stationStatus: [Int: AlertStatus] = [:]
    package private(set) var acknowledgedBy: [Int: (by: String?, via: String)] = [:]
    static let alarmNotesKept = 256
    private let settings: RuleSettings
    /// The configured devices: a new patient's core expects them too.
    private let deviceIDs: [String]
    /// The trend store's rows, when one is kept (`recordTrends`).
    private var trendRecorder: TrendRecorder?
    private var trendSink: (([TrendRow]) -> Void)?

    /// What one input gave: the events it caused, and the entries (charted or laboratory values,
    /// positions, acknowledgements) the core took, to be journaled before the events.
    package struct Step {
        package var events: [AlarmEvent]
        package var entries: [Observation]
    }

    /// `expectDevices`: the configured devices are the bed's sources from t = 0 (live and trace
    /// replay); a scenario names its own sources and does not use the configuration's devices.
    package init(config: AgentConfig, expectDevices: Bool = true) {
        core = ClinicalCore(patient: config.patient, settings: config.rules)
        settings = config.rules
        var identity = PatientRecord(config.patient)
        identity.id = config.patientIdentity.id
        identity.idAuthority = config.patientIdentity.authority
        identity.name = config.patientIdentity.name
        patient = identity
        deviceIDs = expectDevices ? config.allDeviceIDs : []
        for id in deviceIDs { core.expectSource(id, at: 0) }
    }

    /// From now on, every accepted observation, derived value, position and alarm event goes to `sink`
    /// as trend rows (docs/trends.md); `origin` is the Unix time of t = 0.
    package mutating func recordTrends(origin: Double, config: AgentConfig, into sink: @escaping ([TrendRow]) -> Void) {
        trendRecorder = TrendRecorder(config: config, origin: origin)
        trendSink = sink
    }

    private mutating func trend(_ observations: [Observation], _ events: [AlarmEvent], patientChanged: Bool = false) {
        guard var recorder = trendRecorder, let sink = trendSink else { return }
        if patientChanged { recorder.context(core.patient) }
        recorder.took(observations, events: events, loop: self)
        sink(recorder.take())
        trendRecorder = recorder
    }

    /// The patient's identity for the journal (what messages to the station name), once the patient
    /// came from an admission: all nil after a discharge.
    package var journalPatient: JournalPatient {
        JournalPatient(id: patient.id, authority: patient.idAuthority, name: patient.name)
    }

    /// The parameters a person or the laboratory may chart.
    package static let chartable: [Parameter] = [.pao2, .hb, .hemoptysis, .creatinine, .position, .ph, .paco2, .ecmo, .massiveHemoptysis]

    /// How far a sample time may be ahead of the agent's clock and still be taken (as now): a
    /// laboratory system's clock, or the watch a person read, differs from this box's by seconds.
    package static let clockSkewTolerance: Double = 60

    /// An entry from a person or the laboratory, at `t` (when it arrived): the events it caused, or
    /// why it was refused (then nothing changed).
    package mutating func take(_ entry: BedsideEntry, at t: Double) -> Result<Step, BedsideRefusal> {
        let result = takeEntry(entry, at: t)
        if case .success(let step) = result {
            switch entry.action {
            case .chart: break  // recorded by take(_ observations:)
            case .admit, .set, .update, .discharge: trend([], [], patientChanged: true)  // their events recorded where taken
            case .acknowledge, .alertStatus: trend([], step.events)
            }
            // Who acknowledged (for `alveo status`): the alarms this entry's acknowledgements were for.
            for event in step.events where event.reason == "acknowledged" {
                acknowledgedBy[event.alarmID] = (entry.by, entry.via)
            }
            if acknowledgedBy.count > BedsideLoop.alarmNotesKept, let oldest = acknowledgedBy.keys.min() { acknowledgedBy[oldest] = nil }
        }
        return result
    }

    private mutating func takeEntry(_ entry: BedsideEntry, at t: Double) -> Result<Step, BedsideRefusal> {
        let at = max(now, t)
        if let named = entry.forPatient {
            guard let current = patient.id?.nilIfEmpty else {
                return .failure(.otherPatient("no patient with an identifier is at this bed (admit one: ADT A01, or alveo patient set --id)"))
            }
            let authority = patient.idAuthority?.nilIfEmpty
            guard named.contains(where: { $0.id == current && ($0.authority?.nilIfEmpty == nil || authority == nil || $0.authority == authority) }) else {
                // Never the identifiers themselves: refusals are logged, and logs carry no identity.
                return .failure(.otherPatient("the patient named (PID-3) is not this bed's patient"))
            }
        }
        switch entry.action {
        case .chart(let values):
            guard !values.isEmpty, values.count <= 32 else { return .failure(.invalid("give 1 to 32 values to chart")) }
            var observations: [Observation] = []
            for charted in values {
                let sampled = charted.sampledAt ?? entry.sampledAt ?? at
                guard sampled.isFinite, sampled <= at + BedsideLoop.clockSkewTolerance else {
                    return .failure(.invalid("\(Shown.text(charted.parameter.utf8, limit: 24)) sampled in the future (more than \(Int(BedsideLoop.clockSkewTolerance)) s after now): a value is charted after it is sampled"))
                }
                guard at - sampled <= settings.maxSampleAge else {
                    return .failure(.invalid("\(Shown.text(charted.parameter.utf8, limit: 24)) sampled \(Fmt.duration(at - sampled)) ago, more than max_sample_age_s (\(Fmt.duration(settings.maxSampleAge))) ago"))
                }
                switch BedsideLoop.observation(charted, source: entry.via == "hl7" ? "lab" : "chart", sampledAt: min(sampled, at)) {
                case .success(let observation): observations.append(observation)
                case .failure(let refusal): return .failure(refusal)
                }
            }
            return .success(take(observations, at: at))
        case .acknowledge(let ruleName, let source):
            guard let rule = RuleID(rawValue: ruleName) else {
                return .failure(.invalid("'\(Shown.text(ruleName.utf8))' is not a rule (one of: \(RuleID.allCases.map(\.id).joined(separator: ", ")))"))
            }
            now = at
            switch core.acknowledge(rule, source: source, at: at) {
            case .success(let events): return .success(Step(events: events, entries: []))
            case .failure(let refusal): return .failure(.nothingToDo(refusal.description))
            }
        case .admit(let record):
            let newPatient: Patient
            switch record.patient() {
            case .success(let value): newPatient = value
            case .failure(let refusal): return .failure(refusal)
            }
            now = at
            let ended = core.endAll(reason: "patient_changed", at: at)
            trend([], ended)
            startPatient(newPatient, record: record, at: at)
            return .success(Step(events: ended + take([], at: at).events, entries: []))
        case .set(let record):
            let isNew = record.id != nil && record.id != patient.id
            var resolved = entry
            resolved.action = isNew ? .admit(record) : .update(record)
            return takeEntry(resolved, at: t)
        case .update(let record):
            let merged = record.over(patient)
            let updated: Patient
            switch merged.patient() {
            case .success(let value): updated = value
            case .failure(let refusal): return .failure(refusal)
            }
            patient = merged
            core.update(patient: updated)
            return .success(take([], at: at))
        case .alertStatus(let report):
            // Only an alarm of this run (ids count on across patients): anything else is not ours.
            guard report.alarm >= 1, report.alarm < core.nextAlarmID else {
                return .failure(.invalid("alert \(Shown.text(report.reference.utf8, limit: 80)) names alarm #\(report.alarm), which this run has not raised"))
            }
            stationStatus[report.alarm] = report
            if stationStatus.count > BedsideLoop.alarmNotesKept, let oldest = stationStatus.keys.min() { stationStatus[oldest] = nil }
            guard report.acknowledges else { return .success(Step(events: [], entries: [])) }
            now = at
            switch core.acknowledge(alarmID: report.alarm, at: at) {
            case .success(let events): return .success(Step(events: events, entries: []))
            // Already acknowledged, or ended: the report is still taken (journaled, shown).
            case .failure: return .success(Step(events: [], entries: []))
            }
        case .discharge:
            now = at
            let ended = core.endAll(reason: "patient_discharged", at: at)
            trend([], ended)
            startPatient(.unknown, record: PatientRecord(), at: at)
            return .success(Step(events: ended, entries: []))
        }
    }

    private mutating func startPatient(_ newPatient: Patient, record: PatientRecord, at t: Double) {
        core = ClinicalCore(patient: newPatient, settings: settings, firstAlarmID: core.nextAlarmID)
        for id in deviceIDs { core.expectSource(id, at: t) }
        patient = record
        patientSince = t
    }

    /// A charted value as an observation, or why it is not one (an unknown or device parameter, a
    /// number that is not one or is outside the parameter's range).
    package static func observation(_ charted: ChartedValue, source: String, sampledAt: Double) -> Result<Observation, BedsideRefusal> {
        guard let parameter = Parameter(name: charted.parameter), chartable.contains(parameter) else {
            return .failure(.invalid("'\(Shown.text(charted.parameter.utf8))' is not charted here (one of: \(chartable.map(\.name).joined(separator: ", ")))"))
        }
        let value: ObservedValue
        if parameter == .position {
            guard let position = Position(rawValue: charted.value) else {
                return .failure(.invalid("position '\(Shown.text(charted.value.utf8))' is not one of: supine, prone"))
            }
            value = .position(position)
        } else if parameter == .ecmo {
            guard let mode = ECMOMode(rawValue: charted.value) else {
                return .failure(.invalid("ecmo '\(Shown.text(charted.value.utf8))' is not one of: vv, va, none"))
            }
            value = .ecmo(mode)
        } else if parameter == .massiveHemoptysis {
            guard charted.value == "yes" || charted.value == "no" else {
                return .failure(.invalid("massive_hemoptysis '\(Shown.text(charted.value.utf8))' is not one of: yes, no"))
            }
            value = .yesNo(charted.value == "yes")
        } else {
            // A number, then optionally its unit: 62, 8.2kPa, 8.2 kPa, 81 g/L.
            let text = Array(charted.value.utf8.prefix(64))
            let split = text.firstIndex { !(($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+")) } ?? text.count
            let unit = String(decoding: text[split...], as: UTF8.self)
            guard let factor = LabUnits.factor(unit, for: parameter) else {
                return .failure(.invalid("\(parameter.name) in '\(Shown.text(unit.utf8, limit: 16))': not a unit it comes in (\(LabUnits.accepted(for: parameter)))"))
            }
            let range = parameter.acceptedRange.map { " (\(JSONValue.formatted($0.lowerBound))-\(JSONValue.formatted($0.upperBound)) \(parameter.unit))" } ?? ""
            guard let parsed = DeviceNumber.parse(text[..<split]), case .number(let number) = parsed,
                  let accepted = parameter.acceptedRange, accepted.contains(number * factor) else {
                return .failure(.invalid("\(parameter.name)=\(Shown.text(charted.value.utf8, limit: 24)) is not a possible value\(range)"))
            }
            value = .number(number * factor)
        }
        return .success(Observation(source: source, parameter: parameter, value: value, sampledAt: sampledAt, corrects: charted.corrects))
    }

    /// The agent's own stop or restart (docs/integration.md §2.8): the events it gives.
    package mutating func take(_ lifecycle: LifecycleEntry, at t: Double) -> [AlarmEvent] {
        now = max(now, t)
        switch lifecycle {
        case .stop(let texts):
            let events = core.stopMonitoring(at: now, texts: texts)
            trend([], events)
            return events
        case .reconcile(let r):
            if let resume = r.resume { pendingResume = (resume, r.resumeText) }
            let events = core.reconcile(open: r.open, carried: r.carried, endText: r.endText, gap: r.gap, at: now)
            trend([], events)
            return events
        }
    }

    /// Alarms in force now (for the summary of a replay: its end invents no ends).
    package var activeAlarms: [ClinicalCore.ActiveAlarm] { core.activeAlarms }

    /// A group of observations that share a time: a device's poll or frame, a scenario's rows, or
    /// none at all (the clock tick: the rules run so that silences and delays are found).
    package mutating func take(_ observations: [Observation], at t: Double) -> Step {
        now = max(now, t)
        let entries = observations.filter { !$0.parameter.isStreamed && BedsideLoop.accepted($0) }
        events.removeAll(keepingCapacity: true)
        if let resume = pendingResume {
            // Polling again after a clean stop: the bed is watched again.
            pendingResume = nil
            events.append(core.resumeMonitoring(resume.alarm, text: resume.text, at: now))
        }
        core.process(observations, at: now, into: &events)
        trend(observations, events)
        return Step(events: events, entries: entries)
    }

    /// Whether the core takes the value (impossible numbers are rejected and reported instead).
    static func accepted(_ observation: Observation) -> Bool {
        switch observation.value {
        case .number(let value):
            guard let range = observation.parameter.acceptedRange else { return true }
            return DeviceNumber.isUsable(value) && range.contains(value)
        case .unusable: return false
        default: return true
        }
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
