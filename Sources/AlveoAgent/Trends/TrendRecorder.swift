import AlveoCore
import AlveoDevices
import AlveoOutput
import AlveoTrends
import Foundation

/// Turns what the bedside loop took into trend rows (docs/trends.md): every observation the core
/// accepted (a device's, a charted or a laboratory value, by the same test the core applies), the
/// values derived from them (P/F measured or imputed with its inputs, S/F, Vt per kg PBW, driving
/// pressure), position periods and alarm events. Pure: the caller owns the writer. Times are the
/// core's seconds since `origin` (Unix seconds of t = 0).
package struct TrendRecorder: Sendable {
    package let origin: Double
    private var lastPF: PFRatio?
    private var lastPosition: (position: Position, since: Double)?
    private var lastECMO: (mode: ECMOMode, since: Double)?
    private var contextWritten = false
    private let bed: String
    private let devices: [String]
    package private(set) var rows: [TrendRow] = []

    package init(config: AgentConfig, origin: Double) {
        self.origin = origin
        bed = config.bedID ?? ""
        devices = config.devices.map { "\($0.id) (\($0.profile.name))" } + config.serialDevices.map { "\($0.id) (\($0.driver.name))" }
            + config.gatewayDevices.map { "\($0.id) (pcd01)" }
    }

    /// Hands over the rows gathered since the last call.
    package mutating func take() -> [TrendRow] {
        defer { rows.removeAll(keepingCapacity: true) }
        return rows
    }

    /// The patient (the report's header): at the start, and after an admission or an update.
    package mutating func context(_ patient: Patient) {
        rows.append(.context(TrendContext(bed: bed, sex: patient.sex?.rawValue, heightCm: patient.heightCm, pbwKg: patient.predictedBodyWeightKg,
                                          conditions: patient.conditions.map(\.rawValue).sorted(), devices: devices)))
        contextWritten = true
    }

    func time(_ t: Double) -> Double { origin + t }

    /// After the loop took `observations` at its time `loop.now` and gave `events`.
    package mutating func took(_ observations: [Observation], events: [AlarmEvent], loop: BedsideLoop) {
        let core = loop.core
        if !contextWritten { context(core.patient) }
        let t = loop.now
        var accepted: Set<Parameter> = []
        for observation in observations {
            guard case .number(let value) = observation.value, BedsideLoop.accepted(observation) else { continue }
            let parameter = observation.parameter
            let sampled = parameter.isStreamed ? t : min(observation.sampledAt ?? t, t)
            let method = parameter.isStreamed ? "device" : observation.source == "lab" ? "lab" : "charted"
            rows.append(.observation(TrendObservation(time: time(sampled), parameter: parameter.name, value: value, unit: parameter.unit,
                                                      source: observation.source, method: method)))
            accepted.insert(parameter)
        }
        // Derived values, from the core's state after the group.
        if let pf = core.currentPF, pf != lastPF {
            lastPF = pf
            var inputs = "{\"pao2_mmhg\":\(json(pf.pao2)),\"fio2\":\(json(pf.fio2))"
            if let spo2 = pf.spo2 { inputs += ",\"spo2_percent\":\(json(spo2))" }
            inputs += ",\"pao2_time\":\(json(time(pf.pao2Time))),\"fio2_time\":\(json(time(pf.fio2Time)))}"
            rows.append(.derived(TrendDerived(time: time(pf.kind == .measured ? pf.pao2Time : t), name: "pf", value: pf.value, unit: "mmHg",
                                              method: pf.kind.rawValue, inputs: inputs)))
        }
        if accepted.contains(.spo2) || accepted.contains(.fio2), let spo2 = core.current(.spo2), let fio2 = core.current(.fio2), fio2.value > 0 {
            rows.append(.derived(TrendDerived(time: time(t), name: "sf", value: spo2.value / fio2.value, unit: "1", method: "computed",
                                              inputs: "{\"spo2_percent\":\(json(spo2.value)),\"fio2\":\(json(fio2.value))}")))
        }
        if accepted.contains(.vt), let vt = core.current(.vt), let pbw = core.pbw, pbw > 0 {
            rows.append(.derived(TrendDerived(time: time(t), name: "vt_per_kg", value: vt.value / pbw, unit: "ml/kg", method: "computed",
                                              inputs: "{\"vt_ml\":\(json(vt.value)),\"pbw_kg\":\(json(pbw))}")))
        }
        if accepted.contains(.pplat), let pplat = core.current(.pplat), let peep = core.current(.peep) {
            rows.append(.derived(TrendDerived(time: time(t), name: "driving_pressure", value: pplat.value - peep.value, unit: "cmH2O", method: "computed",
                                              inputs: "{\"pplat_cmh2o\":\(json(pplat.value)),\"peep_cmh2o\":\(json(peep.value))}")))
        }
        let position = core.currentPosition
        if lastPosition.map({ $0.position != position.position || $0.since != position.since }) ?? true {
            lastPosition = position
            rows.append(.position(time: time(position.since), position: position.position.rawValue))
        }
        // The ECMO state (rules v3 §3.3) as a derived series: 0 none, 1 VV, 2 VA, from its sample time.
        if let ecmo = core.currentECMO, ecmo.since.isFinite, lastECMO.map({ $0.mode != ecmo.mode || $0.since != ecmo.since }) ?? true {
            lastECMO = ecmo
            let code: Double = switch ecmo.mode { case .none: 0; case .vv: 1; case .va: 2 }
            rows.append(.derived(TrendDerived(time: time(ecmo.since), name: "ecmo", value: code, unit: "1", method: "charted",
                                              inputs: "{\"mode\":\"\(ecmo.mode.rawValue)\"}")))
        }
        alarms(events)
    }

    /// Alarm events (also those of acknowledgements, admissions and lifecycle steps).
    package mutating func alarms(_ events: [AlarmEvent]) {
        for event in events {
            rows.append(.alarm(TrendAlarmEvent(time: time(event.t), alarmID: event.alarmID, rule: event.rule.id, type: event.type.rawValue,
                                               title: event.rule.title, phase: event.phase.rawValue, priority: event.priority.name,
                                               state: event.state.rawValue, acknowledged: event.acknowledged, reason: event.reason,
                                               source: event.source, text: event.text)))
        }
    }

    private func json(_ value: Double) -> String { JSONValue.formatted(value) }
}

/// Where a replay's trend rows go: to `sink`, with t = 0 at Unix time `origin`.
package struct TrendOutput {
    package var origin: Double
    package var sink: ([TrendRow]) -> Void

    package init(origin: Double, sink: @escaping ([TrendRow]) -> Void) {
        self.origin = origin
        self.sink = sink
    }
}
