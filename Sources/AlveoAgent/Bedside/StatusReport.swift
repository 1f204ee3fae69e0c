import AlveoCore
import AlveoDevices
import AlveoIO
import AlveoOutput
import AlveoTrace
import Foundation

/// Alveo's version, for `alveo version`, `alveo status` and logs.
package enum AlveoVersion {
    package static let string = "0.2.0"
}

/// What `alveo status` shows, built by the live loop from its own state in one step (so that the values,
/// the P/F and the alarms are of one moment): the patient, every current value with its source and
/// age, the P/F and what it comes from, the alarms in force, each device's line, each output's backlog,
/// the journal and its disk, the agent's uptime and versions (docs/control-api.md).
package enum StatusReport {
    package static func build(loop: BedsideLoop, at t: Double, started: Date, config: AgentConfig, pollers: [BusPoller],
                      serialPollers: [SerialPoller], gateway: GatewayDevices? = nil, outputs: OutputPipeline?, recording: String?,
                      inputs: StatusAnswer.Inputs = StatusAnswer.Inputs()) -> StatusAnswer {
        let core = loop.core
        func number(_ x: Double?, _ decimals: Int = 3) -> Double? { x.map { Fmt.round($0, decimals) } }

        let patient = loop.patient
        let pbw = core.pbw
        let patientAnswer = StatusAnswer.Patient(
            id: patient.id, idAuthority: patient.idAuthority, name: patient.name,
            sex: core.patient.sex?.rawValue, heightCm: number(core.patient.heightCm, 1),
            pbwKg: number(pbw, 1), pbwByHand: core.patient.pbwByHand, pbwCaution: core.patient.pbwCaution,
            vtTargetMl: number(pbw.map { $0 * config.rules[TidalVolumeHigh.self].vtTargetMlPerKg }, 0),
            vtTargetMlPerKg: config.rules[TidalVolumeHigh.self].vtTargetMlPerKg,
            conditions: core.patient.conditions.map(\.rawValue).sorted(),
            sinceT: loop.patientSince)

        var values: [StatusAnswer.Value] = []
        for parameter in Parameter.allCases where parameter.isNumeric {
            guard let current = core.current(parameter) else { continue }
            let unit = parameter == .fio2 ? "fraction" : parameter.unit
            values.append(StatusAnswer.Value(parameter: parameter.name, value: number(current.value), unit: unit,
                                             source: current.source.isEmpty ? nil : current.source, t: number(current.t),
                                             ageS: number(t - current.t, 1)))
        }
        let position = core.currentPosition
        let pf: StatusAnswer.PF? = core.currentPF.map { pf in
            var answer = StatusAnswer.PF(value: number(pf.value, 1), kind: pf.kind.rawValue,
                                         fio2Fraction: number(pf.fio2), fio2T: number(pf.fio2Time))
            switch pf.kind {
            case .measured:
                answer.pao2Mmhg = number(pf.pao2, 1)
                answer.pao2T = number(pf.pao2Time)
            case .imputed, .lowerBound:
                // `currentPF` is never a lower bound (rules v3 §3.1); the same fields if it were.
                answer.spo2Pct = number(pf.spo2, 1)
                answer.spo2T = number(pf.pao2Time)
                answer.pao2ImputedMmhg = number(pf.pao2, 1)
                answer.method = pf.kind == .imputed ? "Brown 2016" : "Brown 2016 at 96 % (lower bound)"
            }
            return answer
        }

        var alarms: [StatusAnswer.Alarm] = core.activeAlarms.map { alarm in
            let by = alarm.acknowledged ? loop.acknowledgedBy[alarm.alarmID] : nil
            let station = loop.stationStatus[alarm.alarmID].map {
                StatusAnswer.Alarm.Station(status: $0.status, statusText: $0.statusText, person: $0.person, device: $0.device, time: $0.time)
            }
            return StatusAnswer.Alarm(alarmId: alarm.alarmID, rule: alarm.rule.id, source: alarm.source, parameter: alarm.parameter?.name,
                                      priority: alarm.priority.name, type: alarm.rule.type.rawValue, sinceT: number(alarm.since),
                                      activeForS: number(t - alarm.since, 1), latched: alarm.latched, acknowledged: alarm.acknowledged,
                                      acknowledgedBy: by?.by, acknowledgedVia: by?.via, station: station)
        }
        // The agent's own alarms (journal, delivery, station, clock, disk, trend store): raised by the
        // outputs, not the core, and listed after its alarms (their ids start at 1000001).
        alarms += (outputs?.activeOwnAlarms ?? []).map { alarm in
            StatusAnswer.Alarm(alarmId: alarm.alarmID, rule: alarm.rule.id, source: alarm.source, parameter: alarm.parameter?.name,
                               priority: alarm.priority.name, type: alarm.rule.type.rawValue, sinceT: number(alarm.t),
                               activeForS: number(max(0, t - alarm.t), 1), latched: false, acknowledged: alarm.acknowledged)
        }

        let health = Dictionary(core.sourceHealth.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var devices: [StatusAnswer.Device] = []
        func device(_ id: String, _ kind: String, _ line: DeviceHealth) {
            let source = health[id]
            devices.append(StatusAnswer.Device(
                id: id, kind: kind, connected: line.connected,
                lastGoodT: number(line.lastGood), lastGoodAgeS: number(line.lastGood.map { t - $0 }, 1),
                silent: source?.silent ?? false, sensor: source?.sensor.rawValue ?? "ok",
                rejectedValues: source?.rejectedValues ?? 0,
                polls: line.polls, failures: line.failures, connects: line.connects, frames: line.frames,
                rejectedFrames: line.rejectedFrames, skippedBytes: line.skippedBytes,
                lastProblem: line.lastProblem.map { Shown.text($0.utf8, limit: 200) },
                link: line.link.map { Shown.text($0.utf8, limit: 120) },
                identification: line.identification.map { Shown.text($0.utf8, limit: 60) }))
        }
        for poller in pollers {
            for config in poller.devices { device(config.id, "modbus \(config.profile.name)", poller.health(of: config.id)) }
        }
        for poller in serialPollers { device(poller.device.id, poller.device.driver.name, poller.health) }
        for config in gateway?.devices ?? [] { device(config.id, "pcd01", gateway!.health(of: config.id, at: t)) }

        var outputsAnswer = StatusAnswer.Outputs()
        if let outputs, let directory = config.outputs.journalDirectory {
            let unjournaled = outputs.unjournaled
            outputsAnswer.journal = StatusAnswer.Outputs.Journal(
                directory: directory, lastSeq: outputs.lastSeq, heldInMemory: unjournaled.held, dropped: unjournaled.dropped,
                freeBytes: TraceWriter.freeSpace(directory))
            outputsAnswer.forwarders = outputs.forwarders.map { forwarder in
                let state = forwarder.state
                return StatusAnswer.Outputs.Forwarder(
                    name: forwarder.wire.name, host: forwarder.wire.host, port: forwarder.wire.port, tls: forwarder.wire.tls != nil,
                    connected: state.connected, deliveredUpTo: forwarder.position, backlog: max(0, outputs.lastSeq - forwarder.position),
                    lastDelivery: state.lastDelivery.map { PCD04Message.rfc3339($0) },
                    lastProblem: state.lastProblem.map { Shown.text($0.utf8, limit: 200) })
            }
        }

        // The agent clock (monotonic, from the start): a wall clock set back does not make uptime negative.
        let uptime = t
        return StatusAnswer(
            agent: StatusAnswer.Agent(
                version: AlveoVersion.string, started: PCD04Message.rfc3339(started), uptimeS: number(uptime, 1), t: number(t),
                recording: recording, libmodbus: LinkedLibraries.modbusVersion, libserialport: LinkedLibraries.serialPortVersion,
                openssl: LinkedLibraries.openSSLVersion),
            patient: patientAnswer,
            values: values,
            position: StatusAnswer.Position(position: position.position.rawValue, sinceT: number(position.since)),
            pf: pf,
            map: core.currentMAP.map { map in
                StatusAnswer.MAP(valueMmhg: number(map.value, 1), source: map.fromCuff ? "nibp" : "abp",
                                 device: map.source.isEmpty ? nil : map.source, t: number(map.t))
            },
            ecmo: core.currentECMO.map { StatusAnswer.ECMO(mode: $0.mode.rawValue, sinceT: number($0.since)) },
            alarms: alarms,
            devices: devices,
            outputs: outputsAnswer,
            inputs: inputs)
    }
}
