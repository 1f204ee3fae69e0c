import AlveoCore

/// A coded element as HL7 writes it: `code^text^coding system`.
package struct CodedElement: Sendable, Hashable {
    package var code: String
    package var text: String
    package var system: String

    package init(code: String, text: String, system: String) {
        self.code = code
        self.text = text
        self.system = system
    }

    /// An IEEE 11073-10101 (MDC) term.
    static func mdc(_ code: Int, _ referenceID: String) -> CodedElement {
        CodedElement(code: String(code), text: referenceID, system: "MDC")
    }

    /// An Alveo term: HL7 table 0396 allows `99` followed by letters for a locally defined code.
    static func local(_ code: String, _ text: String) -> CodedElement {
        CodedElement(code: code, text: text, system: MDC.localSystem)
    }
}

/// Every code Alveo's PCD-04 messages use, in one table (checked by a test against the tables of
/// shared/pcd04-reference.md §5.3 and §6, copied into the tests' fixtures).
package enum MDC {
    /// The coding system of Alveo's own codes (rule ids).
    package static let localSystem = "99ALV"

    // Events (partition 3).
    package static let alarm = CodedElement.mdc(196616, "MDC_EVT_ALARM")
    package static let high = CodedElement.mdc(196648, "MDC_EVT_HI")
    package static let low = CodedElement.mdc(196670, "MDC_EVT_LO")

    // Alert attributes (the rows .2 to .7 of an alert).
    package static let alertSource = CodedElement.mdc(68480, "MDC_ATTR_ALERT_SOURCE")
    package static let eventPhase = CodedElement.mdc(68481, "MDC_ATTR_EVENT_PHASE")
    package static let alarmState = CodedElement.mdc(68482, "MDC_ATTR_ALARM_STATE")
    package static let inactivationState = CodedElement.mdc(68483, "MDC_ATTR_ALARM_INACTIVATION_STATE")
    package static let alarmPriority = CodedElement.mdc(68484, "MDC_ATTR_ALARM_PRIORITY")
    package static let alertType = CodedElement.mdc(68485, "MDC_ATTR_ALERT_TYPE")

    /// Alveo's MDS (what GE and Masimo samples use for a multi-parameter monitor).
    package static let mds = CodedElement.mdc(69965, "MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS")

    // Metrics (partition 2).
    package static let spo2 = CodedElement.mdc(150456, "MDC_PULS_OXIM_SAT_O2")
    package static let pulseRate = CodedElement.mdc(149538, "MDC_PLETH_PULS_RATE")
    package static let fio2 = CodedElement.mdc(152196, "MDC_CONC_AWAY_O2_INSP")
    package static let tidalVolume = CodedElement.mdc(151980, "MDC_VENT_VOL_TIDAL")
    package static let peep = CodedElement.mdc(151976, "MDC_VENT_PRESS_AWAY_END_EXP_POS")
    package static let peakPressure = CodedElement.mdc(151973, "MDC_VENT_PRESS_AWAY_MAX")
    package static let plateau = CodedElement.mdc(151784, "MDC_PRESS_RESP_PLAT")
    package static let drivingPressure = CodedElement.mdc(152720, "MDC_VENT_PRESS_AWAY_DELTA")
    package static let respiratoryRate = CodedElement.mdc(151586, "MDC_VENT_RESP_RATE")
    package static let pfRatio = CodedElement.mdc(150656, "MDC_O2_OXYGENATION_RATIO")
    package static let arterialMean = CodedElement.mdc(150039, "MDC_PRESS_BLD_ART_ABP_MEAN")
    package static let cuffMean = CodedElement.mdc(150303, "MDC_PRESS_CUFF_MEAN")
    package static let heartRate = CodedElement.mdc(147842, "MDC_ECG_HEART_RATE")

    // Units (partition 4).
    package static let percent = CodedElement.mdc(262688, "MDC_DIM_PERCENT")
    package static let pulsePerMinute = CodedElement.mdc(264896, "MDC_DIM_PULS_PER_MIN")
    package static let milliLitre = CodedElement.mdc(263762, "MDC_DIM_MILLI_L")
    package static let cmH2O = CodedElement.mdc(266048, "MDC_DIM_CM_H2O")
    package static let breathsPerMinute = CodedElement.mdc(264928, "MDC_DIM_RESP_PER_MIN")
    package static let mmHg = CodedElement.mdc(266016, "MDC_DIM_MMHG")
    package static let beatsPerMinute = CodedElement.mdc(264864, "MDC_DIM_BEAT_PER_MIN")

    /// Every MDC code used, for the table test and docs/integration.md.
    package static let all: [CodedElement] = [
        alarm, high, low, alertSource, eventPhase, alarmState, inactivationState, alarmPriority, alertType, mds,
        spo2, pulseRate, fio2, tidalVolume, peep, peakPressure, plateau, drivingPressure, respiratoryRate, pfRatio,
        arterialMean, cuffMean, heartRate,
        percent, pulsePerMinute, milliLitre, cmH2O, breathsPerMinute, mmHg, beatsPerMinute,
    ]

    /// The metric and unit of a limit alarm's metric.
    package static func metric(_ metric: CodedMetric, evidence: [(String, JSONValue)]) -> (metric: CodedElement, unit: CodedElement) {
        switch metric {
        case .spo2: (spo2, percent)
        case .tidalVolume: (tidalVolume, milliLitre)
        case .plateau: (plateau, cmH2O)
        case .drivingPressure: (drivingPressure, cmH2O)
        case .pfRatio: (pfRatio, mmHg)
        case .meanArterialPressure(let site): (site.read(evidence) == "nibp" ? cuffMean : arterialMean, mmHg)
        }
    }

    /// The metric and unit of a device parameter, where MDC has one (lab and charted values have none
    /// in PCD-04: their alarms carry the values in the text).
    package static func metric(_ parameter: Parameter) -> (metric: CodedElement, unit: CodedElement)? {
        switch parameter {
        case .spo2: (spo2, percent)
        case .pulseRate: (pulseRate, pulsePerMinute)
        case .fio2: (fio2, percent)
        case .vt: (tidalVolume, milliLitre)
        case .pplat: (plateau, cmH2O)
        case .peep: (peep, cmH2O)
        case .ppeak: (peakPressure, cmH2O)
        case .rr: (respiratoryRate, breathsPerMinute)
        case .map: (arterialMean, mmHg)
        case .nibpMap: (cuffMean, mmHg)
        case .heartRate: (heartRate, beatsPerMinute)
        case .pao2, .hb, .hemoptysis, .creatinine, .position, .sensor, .ack, .ph, .paco2, .ecmo, .massiveHemoptysis: nil
        }
    }
}

/// How one alarm is coded in PCD-04: the event code of row .1, the abnormality flag of OBX-8, and
/// what row .2 says about its source.
struct AlertCoding {
    /// What row .2 is.
    enum Source {
        /// A numeric the alarm is about: the value (NM) with its unit and limit. `device`: the evidence
        /// key naming the device that measured it (nil: a value Alveo derived).
        case numeric(metric: CodedElement, unit: CodedElement, value: Double, limit: String?, device: String?)
        /// A device of the bed (technical alarms about it), by its configured id.
        case device(String)
        /// Alveo itself: advisories, lab-based rules, the agent's own conditions.
        case agent
        /// A limit alarm whose value is not in the event (no longer reported): the source is named, and
        /// the containment keeps the metric, so every message of the alarm has the same OBX-4 channel
        /// and metric levels.
        case metricUnavailable(metric: CodedElement, device: String?)
    }

    /// Row .1's OBX-3: an MDC event for a limit alarm, else the rule's local code.
    var event: CodedElement
    /// Whether `event` is an MDC code (the rule id may then follow as the alternate code).
    var isMDCEvent: Bool
    /// HL7 table 0078: H above a limit, L below, A otherwise.
    var abnormality: String
    var source: Source
    /// The metric of the containment's channel level for an alarm not on a numeric (a rejected value).
    var metricOnly: CodedElement?

    /// The coding of an event, from its rule's declared coding (`RuleCoding`, an exhaustive switch: a
    /// kind of coding the outputs cannot write does not compile). Where the value or its limit is
    /// missing from the evidence (a value no longer reported), row .2 names the source instead.
    static func of(_ event: AlarmEvent) -> AlertCoding {
        let local = CodedElement.local(event.rule.id, event.rule.title)
        switch event.rule.coding {
        case .limit(let alarm):
            let (metric, unit) = MDC.metric(alarm.metric, evidence: event.evidence)
            let mdcEvent = alarm.above ? MDC.high : MDC.low
            let flag = alarm.above ? "H" : "L"
            let device = alarm.device?.read(event.evidence)
            guard let value = alarm.value.read(event.evidence), value.isFinite else {
                return AlertCoding(event: mdcEvent, isMDCEvent: true, abnormality: flag, source: .metricUnavailable(metric: metric, device: device))
            }
            return AlertCoding(event: mdcEvent, isMDCEvent: true, abnormality: flag,
                               source: .numeric(metric: metric, unit: unit, value: value, limit: limit(alarm, event.evidence), device: device))
        case .local:
            return AlertCoding(event: local, isMDCEvent: false, abnormality: "A", source: .agent)
        case .deviceTechnical(let parameterMetric):
            return AlertCoding(event: local, isMDCEvent: false, abnormality: "A", source: event.source.map { .device($0) } ?? .agent,
                               metricOnly: parameterMetric ? event.parameter.flatMap { MDC.metric($0)?.metric } : nil)
        }
    }

    /// OBX-7 of a limit alarm: `<limit` above it, `>limit` below it, or the normal range.
    private static func limit(_ alarm: LimitAlarm, _ evidence: [(String, JSONValue)]) -> String? {
        let side = alarm.above ? "<" : ">"
        switch alarm.limit {
        case .rangeUpTo(let threshold, let upper):
            return threshold.read(evidence).map { JSONValue.formatted($0) + "-" + JSONValue.formatted(upper) }
        case .threshold(let threshold, let positiveOnly):
            guard let value = threshold.read(evidence), !positiveOnly || value > 0 else { return nil }
            return side + JSONValue.formatted(value)
        case .perKg(let perKg, let weight):
            guard let perKg = perKg.read(evidence), let weight = weight.read(evidence) else { return nil }
            return side + JSONValue.formatted((perKg * weight).rounded())
        }
    }
}

extension AlarmPhase {
    /// The PCD-04 event phase (OBX .3).
    var pcd04: String {
        switch self {
        case .start: "start"
        case .update: "update"
        case .escalate: "escalate"
        case .deescalate: "de-escalate"
        case .continue: "continue"
        case .end: "end"
        }
    }
}

extension AlarmState {
    /// The PCD-04 alarm state (OBX .4).
    var pcd04: String {
        switch self {
        case .active: "active"
        case .latched: "latched"
        case .inactive: "inactive"
        }
    }
}

extension Priority {
    /// The PCD-04 alarm priority (OBX .6 and OBX-8).
    var pcd04: String {
        switch self {
        case .high: "PH"
        case .medium: "PM"
        case .low: "PL"
        }
    }
}

extension AlarmType {
    /// The PCD-04 alert type (OBX .7 and OBX-8).
    var pcd04: String {
        switch self {
        case .physiological: "SP"
        case .technical: "ST"
        case .advisory: "SA"
        }
    }
}
