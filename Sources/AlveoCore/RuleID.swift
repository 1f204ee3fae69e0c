/// Alarm priority (IEC 60601-1-8).
package enum Priority: Int, Sendable, Comparable, CaseIterable {
    case low = 1, medium, high

    package var name: String {
        switch self {
        case .low: "low"
        case .medium: "medium"
        case .high: "high"
        }
    }

    package static func < (lhs: Priority, rhs: Priority) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Alarm condition type (IEC 60601-1-8), plus advisory prompts.
package enum AlarmType: String, Sendable {
    case physiological, technical, advisory
}

/// The rule catalogue. Identifiers are a contract with scenario files, configs and receivers.
package enum RuleID: String, Sendable, CaseIterable, Hashable {
    case tidalVolumeHigh = "lpv.tidal_volume_high"
    case tidalVolumeLow = "lpv.tidal_volume_low"
    case plateauHigh = "lpv.plateau_high"
    case drivingPressureHigh = "lpv.driving_pressure_high"
    case plateauOverdue = "lpv.plateau_overdue"
    case plateauStale = "lpv.plateau_stale"
    case spo2Low = "oxygenation.spo2_low"
    case pfSeverity = "oxygenation.pf_severity"
    case pfFalling = "oxygenation.pf_falling"
    case fio2Weanable = "oxygenation.fio2_weanable"
    case pronePositioning = "escalation.prone_positioning"
    case proneRepeat = "escalation.prone_repeat"
    case proneStop = "escalation.prone_stop"
    case plasmaExchange = "escalation.plasma_exchange"
    case hemoglobinDrop = "dah.hemoglobin_drop"
    case hemoptysisVolume = "dah.hemoptysis_volume"
    case hemoptysisProne = "dah.hemoptysis_prone"
    case renalFunction = "dah.renal_function"
    case deviceSilent = "technical.device_silent"
    case sensorOff = "technical.sensor_off"
    case valueRejected = "technical.value_rejected"
    /// Raised by the agent's output pipeline, not by the core: the central station refused a message.
    case deliveryFailed = "technical.delivery_failed"
    /// Raised by the agent's output pipeline: alarm events cannot be written to the journal (disk
    /// full, read-only, I/O error); they are held in memory and retried.
    case journalFailed = "technical.journal_failed"
    /// The patient's sex or height is not known while the ventilator reports a tidal volume: the
    /// volume per kg of predicted body weight cannot be checked.
    case patientUnknown = "technical.patient_unknown"
    /// The agent stopped (SIGTERM, SIGINT): the bed is no longer watched by Alveo. Raised at the stop,
    /// ended by the next run once it polls.
    case monitoringStopped = "technical.monitoring_stopped"
    /// The agent was not running (a crash, a power cut, a kill): when monitoring stopped and resumed,
    /// found at the next start from the journal (a start and an end at once).
    case monitoringGap = "technical.monitoring_gap"
    /// Raised by the agent's output pipeline: a central-station output has not delivered for a while,
    /// or too many alarm messages wait for it.
    case stationUnreachable = "technical.station_unreachable"
    /// Raised by the agent: the kernel reports the system clock as not synchronised (every HL7 and
    /// syslog timestamp depends on it).
    case clockUnsynchronized = "technical.clock_unsynchronized"
    /// Raised by the agent: the journal's file system is nearly full.
    case diskLow = "technical.disk_low"
    /// Raised by the agent: the trend store cannot be written (damaged, locked, disk full); monitoring
    /// and alarms go on, the trends and the report miss values until it is fixed.
    case trendStoreFailed = "technical.trend_store_failed"

    /// The rule's place in the catalogue, 0 … count - 1: a dense index (no string hashing).
    package var ordinal: Int {
        switch self {
        case .tidalVolumeHigh: 0
        case .tidalVolumeLow: 1
        case .plateauHigh: 2
        case .drivingPressureHigh: 3
        case .plateauOverdue: 4
        case .plateauStale: 5
        case .spo2Low: 6
        case .pfSeverity: 7
        case .pfFalling: 8
        case .fio2Weanable: 9
        case .pronePositioning: 10
        case .proneRepeat: 11
        case .proneStop: 12
        case .plasmaExchange: 13
        case .hemoglobinDrop: 14
        case .hemoptysisVolume: 15
        case .hemoptysisProne: 16
        case .renalFunction: 17
        case .deviceSilent: 18
        case .sensorOff: 19
        case .valueRejected: 20
        case .deliveryFailed: 21
        case .journalFailed: 22
        case .patientUnknown: 23
        case .monitoringStopped: 24
        case .monitoringGap: 25
        case .stationUnreachable: 26
        case .clockUnsynchronized: 27
        case .diskLow: 28
        case .trendStoreFailed: 29
        }
    }

    /// Hashes the catalogue place, not the identifier's text (RawRepresentable's default hashes the string).
    package func hash(into hasher: inout Hasher) { hasher.combine(ordinal) }

    /// The identifier as written in files and events.
    package var id: String { rawValue }

    package var type: AlarmType {
        switch self {
        case .deviceSilent, .sensorOff, .valueRejected, .deliveryFailed, .journalFailed, .patientUnknown, .monitoringStopped,
             .monitoringGap, .stationUnreachable, .clockUnsynchronized, .diskLow, .trendStoreFailed: .technical
        case .pronePositioning, .proneRepeat, .proneStop, .plasmaExchange, .plateauOverdue, .plateauStale, .fio2Weanable: .advisory
        default: .physiological
        }
    }

    /// Conditions the agent raises itself (outputs), rather than the clinical core's rules.
    package var isAgentCondition: Bool {
        switch self {
        case .deliveryFailed, .journalFailed, .stationUnreachable, .clockUnsynchronized, .diskLow, .trendStoreFailed: true
        default: false
        }
    }

    /// Whether instances of this rule are kept per source (their events carry `source`).
    package var isPerSource: Bool { type == .technical && !isLifecycle }

    /// The agent's own lifecycle (stopped, gap): raised by the bedside loop at a stop or a restart,
    /// never by the rules' evaluation.
    package var isLifecycle: Bool { self == .monitoringStopped || self == .monitoringGap }

    /// A short title for reports.
    package var title: String {
        switch self {
        case .tidalVolumeHigh: "Tidal volume above lung-protective target"
        case .tidalVolumeLow: "Tidal volume very low"
        case .plateauHigh: "Plateau pressure above 30 cmH2O"
        case .drivingPressureHigh: "Driving pressure high"
        case .plateauOverdue: "Plateau pressure measurement overdue"
        case .plateauStale: "Plateau pressure older than a PEEP or Vt change"
        case .spo2Low: "SpO2 low"
        case .pfSeverity: "P/F ratio in an ARDS severity band"
        case .pfFalling: "P/F ratio falling"
        case .fio2Weanable: "SpO2 above goal on high FiO2"
        case .pronePositioning: "Prone positioning criteria met"
        case .proneRepeat: "Next prone session due"
        case .proneStop: "Criteria to stop prone sessions met"
        case .plasmaExchange: "Plasma exchange to consider"
        case .hemoglobinDrop: "Haemoglobin falling"
        case .hemoptysisVolume: "Large haemoptysis volume"
        case .hemoptysisProne: "Haemoptysis during a prone session"
        case .renalFunction: "Acute kidney injury (KDIGO creatinine criteria)"
        case .deviceSilent: "Device silent"
        case .sensorOff: "Oximeter probe off"
        case .valueRejected: "Impossible value rejected"
        case .deliveryFailed: "Central station refused an alarm message"
        case .journalFailed: "Alarm journal cannot be written"
        case .patientUnknown: "Patient's sex or height not known"
        case .monitoringStopped: "Alveo stopped: bed not watched"
        case .monitoringGap: "Gap in Alveo's monitoring"
        case .stationUnreachable: "Central station unreachable"
        case .clockUnsynchronized: "System clock not synchronised"
        case .diskLow: "Journal disk nearly full"
        case .trendStoreFailed: "Trend store cannot be written"
        }
    }

    /// Where the rule and its default numbers come from.
    package var reference: String {
        switch self {
        case .tidalVolumeHigh, .tidalVolumeLow:
            "NIH NHLBI ARDS Network protocol card (6 ml/kg PBW); ATS/ESICM/SCCM 2017 (4-8 ml/kg)"
        case .plateauHigh:
            "NIH NHLBI ARDS Network protocol card (Pplat <= 30 cmH2O, lower Vt by 1 ml/kg to 4 ml/kg, RR up to 35/min)"
        case .drivingPressureHigh:
            "Amato, NEJM 2015;372:747 (driving pressure, Pplat - PEEP of the same breath); 15 cmH2O threshold from later cohorts (configurable)"
        case .plateauOverdue:
            "NIH NHLBI ARDS Network protocol card (Pplat at least every 4 h)"
        case .plateauStale:
            "NIH NHLBI ARDS Network protocol card (Pplat after each change in PEEP or Vt)"
        case .spo2Low:
            "NIH NHLBI ARDS Network oxygenation goal SpO2 88-95 %"
        case .pfSeverity:
            "ARDS Definition Task Force, JAMA 2012 (Berlin); Brown, Chest 2016;150:307 (SpO2 imputation)"
        case .pfFalling:
            "Alveo heuristic (20 % fall in 6 h, measured with measured, imputed with imputed; configurable); Brown, Chest 2016;150:307 (SpO2 imputation)"
        case .fio2Weanable:
            "NIH NHLBI ARDS Network oxygenation goal SpO2 88-95 % / PaO2 55-80 mmHg and FiO2/PEEP table"
        case .pronePositioning:
            "Guerin, NEJM 2013;368:2159 (PROSEVA); ESICM 2023 (Grasselli)"
        case .proneRepeat:
            "Guerin, NEJM 2013;368:2159 (PROSEVA: daily sessions of at least 16 h until improvement)"
        case .proneStop:
            "Guerin, NEJM 2013;368:2159 (PROSEVA stopping criteria)"
        case .plasmaExchange:
            "KDIGO 2024 ANCA vasculitis guideline (Kidney Int 105(3S)); Walsh, NEJM 2020;382:622 (PEXIVAS); BMJ 2022;376:e064597; KDIGO 2021 glomerular diseases (anti-GBM)"
        case .hemoglobinDrop:
            "Alveo heuristic for diffuse alveolar haemorrhage (2 g/dL in 24 h, configurable)"
        case .hemoptysisVolume:
            "Alveo heuristic (200 ml in 24 h, configurable; massive haemoptysis is 100-1000 ml/24 h in the literature)"
        case .hemoptysisProne:
            "Guerin, NEJM 2013;368:2159 (PROSEVA: haemoptysis stopped the session)"
        case .renalFunction:
            "KDIGO 2012 AKI (creatinine >= 0.3 mg/dL within 48 h or >= 1.5 x baseline within 7 days; stages 1-3)"
        case .deviceSilent, .sensorOff, .valueRejected:
            "IEC 60601-1-8 technical alarm condition"
        case .deliveryFailed:
            "IEC 60601-1-8 technical alarm condition; IHE PCD-04 acknowledgement (HL7 v2 MSA-1)"
        case .journalFailed:
            "IEC 60601-1-8 technical alarm condition (the alarm system's own failure)"
        case .patientUnknown:
            "NIH NHLBI ARDS Network protocol card (PBW from sex and height); IEC 60601-1-8 technical alarm condition"
        case .monitoringStopped, .monitoringGap:
            "IEC 60601-1-8 technical alarm condition (the alarm system not operating); IHE PCD ACM (every alert start followed by an end)"
        case .stationUnreachable:
            "IEC 60601-1-8 technical alarm condition (distributed alarm system: failure of communication, 6.11.2.2.2)"
        case .clockUnsynchronized:
            "IEC 60601-1-8 technical alarm condition; HL7 v2 timestamps (MSH-7, OBR-7, OBX-14) and RFC 5424 TIMESTAMP are wall-clock times"
        case .diskLow:
            "IEC 60601-1-8 technical alarm condition (the alarm system's own failure, before it happens)"
        case .trendStoreFailed:
            "IEC 60601-1-8 technical alarm condition (a failure of the system's recording, not of its alarms)"
        }
    }
}
