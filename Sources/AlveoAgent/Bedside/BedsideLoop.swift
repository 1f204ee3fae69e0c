import AlveoCore

/// The one loop that feeds the clinical core, whatever the inputs come from: the live agent (device
/// deliveries and its clock tick), the replay of a raw trace (its records) and the replay of a scenario
/// (its groups of rows). It keeps the rules every caller must keep alike: time never goes back (inputs
/// from different threads can arrive a hair out of order), every configured device is expected from
/// the start (so a device that never answers is found silent), and the charted and laboratory entries
/// the core accepts are handed back to be journaled as the record of who did what. Pure and
/// synchronous, like the core: the callers own the threads, the clock and the outputs.
public struct BedsideLoop {
    public private(set) var core: ClinicalCore
    /// The time of the last input taken (the core's time).
    public private(set) var now = 0.0
    private var events: [AlarmEvent] = []

    /// What one input gave: the events it caused, and the entries (charted or laboratory values,
    /// positions, acknowledgements) the core took, to be journaled before the events.
    public struct Step {
        public var events: [AlarmEvent]
        public var entries: [Observation]
    }

    /// `expectDevices`: the configured devices are the bed's sources from t = 0 (live and trace
    /// replay); a scenario names its own sources and does not use the configuration's devices.
    public init(config: AgentConfig, expectDevices: Bool = true) {
        core = ClinicalCore(patient: config.patient, settings: config.rules)
        guard expectDevices else { return }
        for device in config.devices { core.expectSource(device.id, at: 0) }
        for device in config.serialDevices { core.expectSource(device.id, at: 0) }
    }

    /// A group of observations that share a time: a device's poll or frame, a scenario's rows, or
    /// none at all (the clock tick: the rules run so that silences and delays are found).
    public mutating func take(_ observations: [Observation], at t: Double) -> Step {
        now = max(now, t)
        let entries = observations.filter { !$0.parameter.isStreamed && BedsideLoop.accepted($0) }
        events.removeAll(keepingCapacity: true)
        core.process(observations, at: now, into: &events)
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
