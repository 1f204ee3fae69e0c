/// `technical.device_silent`: a streaming source (a configured device) has sent no valid message for
/// longer than its timeout (medium), per source.
package struct DeviceSilent: SourceRule {
    package static var id: RuleID { .deviceSilent }
    package static var identifier: String { "technical.device_silent" }
    package static var family: RuleFamily { .technical }
    package static var type: AlarmType { .technical }
    package static var title: String { "Device silent" }
    package static var reference: String { "IEC 60601-1-8 technical alarm condition" }
    package static var policy: AlarmPolicy { AlarmPolicy(offset: 10, chatterMax: 3, chatterStable: 60) }
    package static var hasOffset: Bool { true }
    package static var coding: RuleCoding { .deviceTechnical(parameterMetric: false) }
    package static var inputs: Facts { [.sources] }

    package struct Settings: RuleSettingsGroup {
        package var timeout = 10.0
        /// Per-source overrides (`per_source_timeout_s: {oxi: 30}`).
        package var perSource: [String: Double] = [:]

        package init() {}

        package static var keys: [Setting<Settings>] {
            [Setting("timeout_s", "s", \.timeout, 1...3600, "a streaming source silent longer than this (per-source overrides under per_source_timeout_s)")]
        }
    }

    package init(settings: Settings) {}

    package mutating func evaluate(_ bed: inout ClinicalCore, source src: Int, at t: Double, into events: inout [AlarmEvent]) {
        guard bed.sources[src].streams else { return }
        let state = bed.sources[src]
        // Rules v3 §4.14: cleared once valid messages have come for offset_s with no gap longer than the
        // timeout. A group with a message from the source is cleared; one without is unknown (it neither
        // counts nor ends the run), so the relief comes only at a message offset_s after the run began,
        // and a source slower than its timeout is one alarm, not one per message.
        let assessment: Assessment = state.silent ? .active(.medium) : (Tolerance.equal(state.lastValid, t) ? .inactive : .unknown)
        bed.drive(AlarmKey(rule: Self.id, source: src), assessment, by: self, at: t, into: &events)
    }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        let state = bed.sources[key.source]
        let timeout = state.silentAfter
        let evidence: [(String, JSONValue)] = [("last_valid_t", .number(state.lastValid)),
                                                ("silent_s", .number(Fmt.round(t - state.lastValid, 3))),
                                                ("timeout_s", .number(timeout))]
        return AlarmDescription(
            active: "No valid data from \(state.name) for \(Fmt.duration(t - state.lastValid)) (limit \(Fmt.duration(timeout))): check the device, its cable and power; its values are not being monitored.",
            cleared: "Data from \(state.name) resumed.",
            evidence: evidence)
    }
}

extension RuleID {
    /// `technical.device_silent`
    package static let deviceSilent = RuleID(ordinal: 18)
}
