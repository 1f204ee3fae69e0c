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
    public static func run(config: AgentConfig, scenarioPath: String, sink: (AlarmEvent) -> Void) throws(ScenarioError) -> Summary {
        var reader = try ScenarioReader(path: scenarioPath)
        var core = ClinicalCore(patient: config.patient, settings: config.rules)
        var rows: [Observation] = []
        var events: [AlarmEvent] = []
        var summary = Summary()
        while let t = try reader.nextGroup(into: &rows) {
            summary.groups += 1
            events.removeAll(keepingCapacity: true)
            core.process(rows, at: t, into: &events)
            for event in events { sink(event) }
            summary.events += events.count
        }
        summary.rows = reader.rowCount
        return summary
    }
}
