import AlveoCore
import AlveoTrace

/// Replays a scenario file through the clinical core on virtual time, as fast as the machine allows.
public enum ScenarioReplay {
    public struct Summary: Sendable, Equatable {
        public var rows = 0
        public var groups = 0
        public var events = 0

        public init() {}
    }

    /// Feeds every group of the scenario to a fresh core and hands each event to `sink`, in order.
    /// On a malformed line, events before it have already been handed over; the error names file:line.
    @discardableResult
    /// `manualEntry` receives each charted or lab entry the core accepts (not device values), before the
    /// events of its group, so that the journal can keep them too. `pace` is called with each group's
    /// time before it is processed (`--speed`); nil runs flat out.
    public static func run(config: AgentConfig, scenarioPath: String, manualEntry: (Double, Observation) -> Void = { _, _ in },
                           pace: ((Double) -> Void)? = nil, sink: (AlarmEvent) -> Void) throws(ScenarioError) -> Summary
    {
        var reader = try ScenarioReader(path: scenarioPath)
        var core = ClinicalCore(patient: config.patient, settings: config.rules)
        var rows: [Observation] = []
        var events: [AlarmEvent] = []
        var summary = Summary()
        while let t = try reader.nextGroup(into: &rows) {
            summary.groups += 1
            pace?(t)
            events.removeAll(keepingCapacity: true)
            for row in rows where !row.parameter.isStreamed && ScenarioReplay.accepted(row) { manualEntry(t, row) }
            core.process(rows, at: t, into: &events)
            for event in events { sink(event) }
            summary.events += events.count
        }
        summary.rows = reader.rowCount
        return summary
    }

    /// Whether the core takes the value (impossible numbers are rejected and reported instead).
    static func accepted(_ observation: Observation) -> Bool {
        guard case .number(let value) = observation.value, let range = observation.parameter.acceptedRange else { return true }
        return value.isFinite && range.contains(value)
    }
}
