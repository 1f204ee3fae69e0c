@testable import AlveoCore

/// Drives a core with compact rows and keeps every event, for rule tests with explicit timestamps.
struct Harness {
    var core: ClinicalCore
    private(set) var events: [AlarmEvent] = []

    init(_ patient: Patient = Patient(sex: .male, heightCm: 170), settings: RuleSettings = RuleSettings()) {
        core = ClinicalCore(patient: patient, settings: settings)
    }

    /// Feeds one group; values are numbers, nil (no data) or words for position/sensor/ack.
    @discardableResult
    mutating func feed(_ t: Double, _ rows: [(String, Parameter, Any?)]) -> [AlarmEvent] {
        let observations = rows.map { row -> Observation in
            let value: ObservedValue
            switch row.2 {
            case nil: value = .noData
            case let number as Double: value = .number(number)
            case let number as Int: value = .number(Double(number))
            case let word as String:
                switch row.1 {
                case .position: value = .position(Position(rawValue: word)!)
                case .sensor: value = .sensor(SensorState(rawValue: word)!)
                case .ecmo: value = .ecmo(ECMOMode(rawValue: word)!)
                case .massiveHemoptysis: value = .yesNo(word == "yes")
                default: value = .ack(RuleID(rawValue: word)!)
                }
            default: fatalError("unsupported test value \(String(describing: row.2))")
            }
            return Observation(source: row.0, parameter: row.1, value: value)
        }
        return feed(observations: observations, at: t)
    }

    /// Feeds one group of observations as they are (sample times, corrections).
    @discardableResult
    mutating func feed(observations: [Observation], at t: Double) -> [AlarmEvent] {
        let new = core.process(observations, at: t)
        events += new
        return new
    }

    /// Feeds the same rows every `step` seconds from `from` through `to`, inclusive.
    mutating func hold(from: Double, to: Double, step: Double = 1, _ rows: [(String, Parameter, Any?)]) {
        var t = from
        while t <= to + 1e-9 {
            feed(t, rows)
            t += step
        }
    }

    func events(_ rule: RuleID) -> [AlarmEvent] { events.filter { $0.rule == rule } }

    /// "start@300:medium" style summary of one rule's events.
    func trail(_ rule: RuleID) -> [String] {
        events(rule).map { "\($0.phase.rawValue)@\(JSONValue.format($0.t)):\($0.priority.name)\($0.state == .latched ? ":latched" : "")" }
    }
}
