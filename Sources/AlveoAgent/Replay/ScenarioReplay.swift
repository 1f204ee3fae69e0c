import AlveoCore
import AlveoTrends
import AlveoTrace

/// Replays a scenario file through the clinical core on virtual time, as fast as the machine allows.
package enum ScenarioReplay {
    package struct Summary: Sendable, Equatable {
        package var rows = 0
        package var groups = 0
        package var events = 0
        /// Alarms still in force at the end of the scenario (replay invents no ends for them).
        package var active: [ClinicalCore.ActiveAlarm] = []

        package init() {}
    }

    /// Feeds every group of the scenario to a fresh core and hands each event to `sink`, in order.
    /// On a malformed line, events before it have already been handed over; the error names file:line.
    @discardableResult
    /// `manualEntry` receives each charted or lab entry the core accepts (not device values), before the
    /// events of its group, so that the journal can keep them too. `pace` is called with each group's
    /// time before it is processed (`--speed`); nil runs flat out.
    package static func run(config: AgentConfig, scenarioPath: String, manualEntry: (Double, Observation) -> Void = { _, _ in },
                           pace: ((Double) -> Void)? = nil, trends: TrendOutput? = nil, sink: (AlarmEvent) -> Void) throws(ScenarioError) -> Summary
    {
        var reader = try ScenarioReader(path: scenarioPath, maxSampleAge: config.rules.maxSampleAge)
        var loop = BedsideLoop(config: config, expectDevices: false)
        if let trends { loop.recordTrends(origin: trends.origin, config: config, into: trends.sink) }
        var rows: [Observation] = []
        var summary = Summary()
        while let t = try reader.nextGroup(into: &rows) {
            summary.groups += 1
            pace?(t)
            let step = loop.take(rows, at: t)
            for entry in step.entries { manualEntry(t, entry) }
            for event in step.events { sink(event) }
            summary.events += step.events.count
        }
        summary.rows = reader.rowCount
        summary.active = loop.activeAlarms
        return summary
    }
}
