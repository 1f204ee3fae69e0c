import AlveoCore
import AlveoDevices
import AlveoIO
import AlveoOutput
import AlveoTrace
import Foundation

/// Alveo's version, for `alveo version`, `alveo status` and logs.
public enum AlveoVersion {
    public static let string = "0.2.0"
}

/// What `alveo status` shows, built by the live loop from its own state in one step (so that the values,
/// the P/F and the alarms are of one moment): the patient, every current value with its source and
/// age, the P/F and what it comes from, the alarms in force, each device's line, each output's backlog,
/// the journal and its disk, the agent's uptime and versions. JSON with a fixed key order
/// (docs/control-api.md).
enum StatusReport {
    static func build(loop: BedsideLoop, at t: Double, started: Date, config: AgentConfig, pollers: [BusPoller],
                      serialPollers: [SerialPoller], outputs: OutputPipeline?, recording: String?,
                      inputs: [(String, JSONValue)] = []) -> JSONValue {
        let core = loop.core
        func number(_ x: Double?, _ decimals: Int = 3) -> JSONValue { x.map { .number(Fmt.round($0, decimals)) } ?? .null }
        func string(_ text: String?) -> JSONValue { text.map { .string($0) } ?? .null }

        let patient = loop.patient
        let pbw = core.pbw
        let patientJSON: JSONValue = .object([
            ("id", string(patient.id)), ("id_authority", string(patient.idAuthority)), ("name", string(patient.name)),
            ("sex", string(core.patient.sex?.rawValue)), ("height_cm", number(core.patient.heightCm, 1)),
            ("pbw_kg", number(pbw, 1)), ("pbw_by_hand", .bool(core.patient.pbwByHand)), ("pbw_caution", .bool(core.patient.pbwCaution)),
            ("vt_target_ml", number(pbw.map { $0 * config.rules.vtTargetMlPerKg }, 0)),
            ("vt_target_ml_per_kg", .number(config.rules.vtTargetMlPerKg)),
            ("conditions", .array(core.patient.conditions.map(\.rawValue).sorted().map { .string($0) })),
            ("since_t", .number(loop.patientSince)),
        ])

        var values: [JSONValue] = []
        for parameter in Parameter.allCases where parameter.isNumeric {
            guard let current = core.current(parameter) else { continue }
            let unit = parameter == .fio2 ? "fraction" : parameter.unit
            values.append(.object([
                ("parameter", .string(parameter.name)), ("value", number(current.value)), ("unit", .string(unit)),
                ("source", current.source.isEmpty ? .null : .string(current.source)), ("t", number(current.t)),
                ("age_s", number(t - current.t, 1)),
            ]))
        }
        let position = core.currentPosition
        let pfJSON: JSONValue = core.currentPF.map { pf in
            var members: [(String, JSONValue)] = [("value", number(pf.value, 1)), ("kind", .string(pf.kind.rawValue))]
            switch pf.kind {
            case .measured: members += [("pao2_mmhg", number(pf.pao2, 1)), ("pao2_t", number(pf.pao2Time))]
            case .imputed: members += [("spo2_pct", number(pf.spo2, 1)), ("spo2_t", number(pf.pao2Time)),
                                       ("pao2_imputed_mmhg", number(pf.pao2, 1)), ("method", .string("Brown 2016"))]
            }
            members += [("fio2_fraction", number(pf.fio2)), ("fio2_t", number(pf.fio2Time))]
            return .object(members)
        } ?? .null

        var alarms: [JSONValue] = core.activeAlarms.map { alarm in
            .object([
                ("alarm_id", .number(Double(alarm.alarmID))), ("rule", .string(alarm.rule.id)), ("source", string(alarm.source)),
                ("parameter", string(alarm.parameter?.name)), ("priority", .string(alarm.priority.name)),
                ("type", .string(alarm.rule.type.rawValue)), ("since_t", number(alarm.since)), ("active_for_s", number(t - alarm.since, 1)),
                ("latched", .bool(alarm.latched)), ("acknowledged", .bool(alarm.acknowledged)),
            ])
        }
        // The agent's own alarms (journal, delivery, station, clock, disk, trend store): raised by the
        // outputs, not the core, and listed after its alarms (their ids start at 1000001).
        alarms += (outputs?.activeOwnAlarms ?? []).map { alarm in
            .object([
                ("alarm_id", .number(Double(alarm.alarmID))), ("rule", .string(alarm.rule.id)), ("source", string(alarm.source)),
                ("parameter", string(alarm.parameter?.name)), ("priority", .string(alarm.priority.name)),
                ("type", .string(alarm.rule.type.rawValue)), ("since_t", number(alarm.t)), ("active_for_s", number(max(0, t - alarm.t), 1)),
                ("latched", .bool(false)), ("acknowledged", .bool(alarm.acknowledged)),
            ])
        }

        let health = Dictionary(core.sourceHealth.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var devices: [JSONValue] = []
        func device(_ id: String, _ kind: String, _ line: DeviceHealth) {
            let source = health[id]
            devices.append(.object([
                ("id", .string(id)), ("kind", .string(kind)), ("connected", .bool(line.connected)),
                ("last_good_t", number(line.lastGood)), ("last_good_age_s", number(line.lastGood.map { t - $0 }, 1)),
                ("silent", .bool(source?.silent ?? false)), ("sensor", .string(source?.sensor.rawValue ?? "ok")),
                ("rejected_values", .number(Double(source?.rejectedValues ?? 0))),
                ("polls", .number(Double(line.polls))), ("failures", .number(Double(line.failures))),
                ("connects", .number(Double(line.connects))), ("frames", .number(Double(line.frames))),
                ("rejected_frames", .number(Double(line.rejectedFrames))), ("skipped_bytes", .number(Double(line.skippedBytes))),
                ("last_problem", string(line.lastProblem.map { Shown.text($0.utf8, limit: 200) })),
                ("link", string(line.link.map { Shown.text($0.utf8, limit: 120) })),
                ("identification", string(line.identification.map { Shown.text($0.utf8, limit: 60) })),
            ]))
        }
        for poller in pollers {
            for config in poller.devices { device(config.id, "modbus \(config.profile.name)", poller.health(of: config.id)) }
        }
        for poller in serialPollers { device(poller.device.id, poller.device.driver.name, poller.health) }

        var outputsJSON: [(String, JSONValue)] = []
        if let outputs, let directory = config.outputs.journalDirectory {
            let unjournaled = outputs.unjournaled
            outputsJSON.append(("journal", .object([
                ("directory", .string(directory)), ("last_seq", .number(Double(outputs.lastSeq))),
                ("held_in_memory", .number(Double(unjournaled.held))), ("dropped", .number(Double(unjournaled.dropped))),
                ("free_bytes", TraceWriter.freeSpace(directory).map { .number(Double($0)) } ?? .null),
            ])))
            outputsJSON.append(("forwarders", .array(outputs.forwarders.map { forwarder in
                let state = forwarder.state
                return .object([
                    ("name", .string(forwarder.wire.name)), ("host", .string(forwarder.wire.host)), ("port", .number(Double(forwarder.wire.port))),
                    ("tls", .bool(forwarder.wire.tls != nil)), ("connected", .bool(state.connected)),
                    ("delivered_up_to", .number(Double(forwarder.position))),
                    ("backlog", .number(Double(max(0, outputs.lastSeq - forwarder.position)))),
                    ("last_delivery", string(state.lastDelivery.map { PCD04Message.rfc3339($0) })),
                    ("last_problem", string(state.lastProblem.map { Shown.text($0.utf8, limit: 200) })),
                ])
            })))
        }

        // The agent clock (monotonic, from the start): a wall clock set back does not make uptime negative.
        let uptime = t
        return .object([
            ("agent", .object([
                ("version", .string(AlveoVersion.string)), ("started", .string(PCD04Message.rfc3339(started))),
                ("uptime_s", number(uptime, 1)), ("t", number(t)), ("recording", string(recording)),
                ("libmodbus", .string(LinkedLibraries.modbusVersion)), ("libserialport", .string(LinkedLibraries.serialPortVersion)),
                ("openssl", .string(LinkedLibraries.openSSLVersion)),
            ])),
            ("patient", patientJSON),
            ("values", .array(values)),
            ("position", .object([("position", .string(position.position.rawValue)), ("since_t", number(position.since))])),
            ("pf", pfJSON),
            ("alarms", .array(alarms)),
            ("devices", .array(devices)),
            ("outputs", .object(outputsJSON)),
            ("inputs", .object(inputs)),
        ])
    }
}
