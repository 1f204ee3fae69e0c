/// A quantity a scenario row or a device can report, with its unit and accepted range.
///
/// Units are part of the contract: FiO2 arrives as a percentage and is stored as a fraction;
/// pressures are cmH2O; volumes are millilitres.
package enum Parameter: Int, Sendable, CaseIterable, Hashable {
    case spo2, pulseRate, fio2, vt, pplat, peep, ppeak, rr
    case pao2, hb, hemoptysis, creatinine
    case position, sensor, ack
    // Rules v3 §3.2 (appended: the raw values of the older ones are kept).
    case map, nibpMap, heartRate
    case ph, paco2
    case ecmo, massiveHemoptysis

    /// The name used in scenario files and configuration.
    package var name: String {
        switch self {
        case .spo2: "spo2"
        case .pulseRate: "pulse_rate"
        case .fio2: "fio2"
        case .vt: "vt"
        case .pplat: "pplat"
        case .peep: "peep"
        case .ppeak: "ppeak"
        case .rr: "rr"
        case .pao2: "pao2"
        case .hb: "hb"
        case .hemoptysis: "hemoptysis"
        case .creatinine: "creatinine"
        case .position: "position"
        case .sensor: "sensor"
        case .ack: "ack"
        case .map: "map"
        case .nibpMap: "nibp_map"
        case .heartRate: "heart_rate"
        case .ph: "ph"
        case .paco2: "paco2"
        case .ecmo: "ecmo"
        case .massiveHemoptysis: "massive_hemoptysis"
        }
    }

    /// Looks a parameter up by its scenario-file name.
    package init?(name: some StringProtocol) {
        guard let match = Parameter.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    /// The unit a scenario value is written in.
    package var unit: String {
        switch self {
        case .spo2: "%"
        case .pulseRate, .rr: "/min"
        case .fio2: "%"
        case .vt: "ml"
        case .pplat, .peep, .ppeak: "cmH2O"
        case .pao2: "mmHg"
        case .hb: "g/dL"
        case .hemoptysis: "ml"
        case .creatinine: "mg/dL"
        case .position: "supine|prone"
        case .sensor: "ok|off|disconnected"
        case .ack: "rule id"
        case .map, .nibpMap: "mmHg"
        case .heartRate: "/min"
        case .ph: "pH"
        case .paco2: "mmHg"
        case .ecmo: "vv|va|none"
        case .massiveHemoptysis: "yes|no"
        }
    }

    /// Whether the value is a number (as opposed to a word such as a position).
    package var isNumeric: Bool {
        switch self {
        case .position, .sensor, .ack, .ecmo, .massiveHemoptysis: false
        default: true
        }
    }

    /// Device parameters stream continuously; a source sending them can fall silent.
    /// Lab results and charted entries are never "silent".
    package var isStreamed: Bool {
        switch self {
        case .spo2, .pulseRate, .fio2, .vt, .pplat, .peep, .ppeak, .rr, .sensor, .map, .nibpMap, .heartRate: true
        default: false
        }
    }

    /// A device parameter sent once per measurement, minutes apart (a cuff pressure): it is current for
    /// its own validity after the measurement (`circulation.hypotension`'s `nibp_valid_s`, rules v3
    /// §3.2), so it never makes its source a streaming one (a cuff sending a value every few minutes is
    /// not silent) and a source's silence does not take it away.
    package var isIntermittent: Bool { self == .nibpMap }

    /// Physiologically possible range, in the scenario unit; outside it a value is rejected.
    package var acceptedRange: ClosedRange<Double>? {
        switch self {
        case .spo2: 0...100
        case .pulseRate: 0...300
        case .fio2: 21...100
        case .vt: 0...3000
        case .pplat: 0...80
        case .peep: 0...40
        case .ppeak: 0...100
        case .rr: 0...100
        case .pao2: 10...800
        case .hb: 1...25
        case .hemoptysis: 0...5000
        case .creatinine: 0.1...30
        case .map, .nibpMap: 10...250
        case .heartRate: 0...300
        case .ph: 6.5...8.0
        case .paco2: 5...250
        case .position, .sensor, .ack, .ecmo, .massiveHemoptysis: nil
        }
    }
}

/// Patient position as charted.
package enum Position: String, Sendable, Hashable {
    case supine, prone
}

/// Extracorporeal membrane oxygenation as charted (rules v3 §3.3): veno-venous, veno-arterial, or none.
package enum ECMOMode: String, Sendable, Hashable {
    case vv, va, none
}

/// Oximeter probe state as the device reports it.
package enum SensorState: String, Sendable, Hashable {
    case ok, off, disconnected
}
