/// `technical.sensor_off`: an oximeter reports its probe off the patient or disconnected (medium),
/// per source.
package struct SensorOff: SourceRule {
    package static var id: RuleID { .sensorOff }
    package static var identifier: String { "technical.sensor_off" }
    package static var family: RuleFamily { .technical }
    package static var type: AlarmType { .technical }
    package static var title: String { "Oximeter probe off" }
    package static var reference: String { "IEC 60601-1-8 technical alarm condition" }
    package static var policy: AlarmPolicy { AlarmPolicy(offset: 10, chatterMax: 3, chatterStable: 60) }
    package static var hasOffset: Bool { true }
    package static var coding: RuleCoding { .deviceTechnical(parameterMetric: false) }
    package static var inputs: Facts { [.sources] }

    package typealias Settings = NoSettings

    package init(settings: Settings) {}

    package mutating func evaluate(_ bed: inout ClinicalCore, source src: Int, at t: Double, into events: inout [AlarmEvent]) {
        guard bed.sources[src].streams else { return }
        bed.drive(AlarmKey(rule: Self.id, source: src), bed.sources[src].sensor != .ok ? .active(.medium) : .inactive,
                  by: self, at: t, into: &events)
    }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        let state = bed.sources[key.source]
        let evidence: [(String, JSONValue)] = [("sensor", .string(state.sensor.rawValue)), ("since_t", .number(state.sensorSince))]
        if state.sensor == .ok {
            // Back on, within the offset or while intermittent: said as it is, not as "off" (a
            // re-announcement or an update can come in this time).
            return AlarmDescription(
                active: "Oximeter probe on \(state.name) reporting again for \(Fmt.duration(max(0, t - state.sensorSince))): "
                    + "the alarm ends once the probe has stayed on; check that it stays on.",
                cleared: "Oximeter probe on \(state.name) reporting again.",
                evidence: evidence)
        }
        let what = state.sensor == .disconnected ? "is disconnected" : "is off the patient"
        return AlarmDescription(
            active: "Oximeter probe on \(state.name) \(what): SpO2 is not being monitored; check the probe and its site.",
            cleared: "Oximeter probe on \(state.name) reporting again.",
            evidence: evidence)
    }
}

extension RuleID {
    /// `technical.sensor_off`
    package static let sensorOff = RuleID(ordinal: 19)
}
