import AlveoCore
import AlveoOutput
import AlveoTrace
import Foundation
import Logging
import Yams

/// An agent configuration: the patient and rule settings (devices and outputs come with the live agent).
package struct AgentConfig: Sendable, Equatable {
    package var patient: Patient
    package var rules: RuleSettings
    /// The bed's Modbus devices, polled by `alveo run` (replay ignores them).
    package var devices: [DeviceConfig]
    /// The bed's devices that speak their own serial protocol (PB840, MEDIBUS, Masimo, Nonin).
    package var serialDevices: [SerialDeviceConfig] = []
    /// Devices whose values come through the hospital's device-integration gateway (IHE PCD-01 on
    /// the HL7 listener: `inputs.hl7.device_gateway`).
    package var gatewayDevices: [GatewayDeviceConfig] = []
    /// Every configured device's id, in no particular order of kind.
    package var allDeviceIDs: [String] { devices.map(\.id) + serialDevices.map(\.id) + gatewayDevices.map(\.id) }
    /// The journal and the central-station forwarders (run and replay).
    package var outputs = OutputConfig()
    /// The control API of `alveo run` (`alveo status`, `ack`, `chart`, `patient`).
    package var control = ControlConfig()
    /// The laboratory and ADT listener, when configured.
    package var inputs = InputConfig()
    /// `logging: {level: …}`: the least severe level logged (`--log-level` overrides it).
    package var logLevel: Logger.Level = .info
    /// Who the configured patient is (outputs.hl7's patient_id, patient_id_authority, patient_name).
    package var patientIdentity = PatientIdentity()
    /// The bed's name as the outputs give it (outputs.hl7's bed_id, else outputs.syslog's), if any.
    package var bedID: String? { outputs.hl7?.identity.bedID ?? outputs.syslog?.bedID }
    /// The trend store (`trends`).
    package var trends = TrendConfig()
    /// The file it was read from, for messages.
    package var file: String

    /// File descriptors `alveo run` may need at most with this configuration: every connection the
    /// listeners admit (their bounds), two per device and per forwarder (one reconnecting while the old
    /// closes), and a reserve for the journal, trend store, trace, metrics and the runtime's own. The
    /// listeners' bounds keep them inside it, so a device or an output can always reconnect.
    package var descriptorBudget: Int {
        let listeners = (control.enabled ? control.maxConnections + 16 : 0) + (inputs.hl7?.maxConnections ?? 0) + 1
        let links = 2 * (devices.count + serialDevices.count) + 2 * ((outputs.hl7 != nil ? 1 : 0) + (outputs.syslog != nil ? 1 : 0))
        return listeners + links + 256
    }

    package init(patient: Patient, rules: RuleSettings = RuleSettings(), devices: [DeviceConfig] = [], file: String = "<built-in>") {
        self.patient = patient
        self.rules = rules
        self.devices = devices
        self.file = file
    }

    /// Where `alveo run` and `alveo check-config` look when no configuration is named: the Debian
    /// package's conffile.
    package static let defaultPath = "/etc/alveo/alveo.yaml"

    /// Top-level keys this version understands.
    static let topLevelKeys = ["patient", "rules", "devices", "outputs", "control", "inputs", "logging", "trends"]

    /// Reads and validates a YAML configuration file.
    package static func load(path: String) throws(ConfigError) -> AgentConfig {
        let text = try YAMLFile.text(path: path)
        return try parse(yaml: text, file: path)
    }

    /// Parses YAML text; `file` names it in errors (and relative profile paths start from its folder).
    /// `profiles`: Modbus profile YAML texts by device id, used instead of the profile files (a raw
    /// trace carries the profiles its run used). `readOutputs: false` skips the outputs section: a trace
    /// replayed on another machine must not need the recording box's TLS files, and replay sends nothing.
    package static func parse(yaml: String, file: String, profiles: [String: String] = [:], readOutputs: Bool = true) throws(ConfigError) -> AgentConfig {
        let top = try YAMLFile.root(yaml: yaml, file: file)
        var patient: Patient?
        var rules = RuleSettings()
        var devices: [DeviceConfig] = []
        var serialDevices: [SerialDeviceConfig] = []
        var gatewayDevices: [GatewayDeviceConfig] = []
        var devicesNode: ConfigNode?
        var outputs = OutputConfig()
        var deviceOrder: [String] = []
        var logLevel = Logger.Level.info
        var control = ControlConfig()
        var inputsNode: ConfigNode?
        var identity = PatientIdentity()
        var trends = TrendConfig()
        for (key, value) in try top.mapping(allowed: topLevelKeys) {
            switch key {
            case "patient": patient = try parsePatient(value)
            case "rules": rules = try parseRules(value)
            case "devices":
                (devices, serialDevices, gatewayDevices, deviceOrder) = try DeviceConfig.parseList(value, profiles: profiles)
                devicesNode = value
            case "outputs":
                if readOutputs {
                    outputs = try OutputConfig.parse(value)
                    if let hl7 = outputs.hl7?.identity {
                        identity = PatientIdentity(id: hl7.patientID.nilIfEmpty, authority: hl7.patientIDAuthority.nilIfEmpty,
                                                   name: hl7.patientName == HL7Identity().patientName ? nil : hl7.patientName.nilIfEmpty)
                    }
                } else {
                    // Replay reads no outputs, but the bed's patient is who laboratory results must name.
                    identity = PatientIdentity.scan(value)
                }
            case "control": control = try ControlConfig.parse(value)
            case "logging":
                for (loggingKey, loggingValue) in try value.mapping(allowed: ["level"]) where loggingKey == "level" {
                    let name = try loggingValue.string()
                    guard let level = Logger.Level(rawValue: name) else {
                        throw loggingValue.error("'\(Shown.text(name.utf8, limit: 16))' is not a log level (one of: \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")))")
                    }
                    logLevel = level
                }
            case "inputs": inputsNode = value
            case "trends": trends = try TrendConfig.parse(value)
            default: break
            }
        }
        // After outputs (the listener's bed location defaults to outputs.hl7's); like outputs, not read
        // for replay, which listens to nothing.
        var inputs = InputConfig()
        if readOutputs, let inputsNode { inputs = try InputConfig.parse(inputsNode, outputs: outputs) }
        if readOutputs, let first = gatewayDevices.first, let devicesNode, inputs.hl7?.deviceGateway == nil {
            throw devicesNode.error("'\(first.id)' is a pcd01 device: its values come through the device gateway, so configure inputs.hl7.device_gateway (senders, location) too")
        }
        inputs.hl7?.gatewayDevices = gatewayDevices
        // No patient section: the bed waits for its patient (set through the control API or admitted by
        // the hospital's ADT); until then the rules that need the predicted body weight say so.
        var config = AgentConfig(patient: patient ?? .unknown, rules: rules, devices: devices, file: file)
        // PCD-04 containment: the n-th configured device is VMD n.
        outputs.hl7?.identity.devices = deviceOrder
        config.outputs = outputs
        config.outputs.alarmPolicies = rules.policies
        config.control = control
        config.logLevel = logLevel
        config.inputs = inputs
        config.patientIdentity = identity
        config.serialDevices = serialDevices
        config.gatewayDevices = gatewayDevices
        config.trends = trends
        return config
    }

    private static func parsePatient(_ node: ConfigNode) throws(ConfigError) -> Patient {
        var sex: Sex?
        var height: Double?
        var conditions: Set<Condition> = []
        var pbw: Double?
        var heightNode: ConfigNode?
        for (key, value) in try node.mapping(allowed: ["sex", "height_cm", "pbw_kg", "conditions"]) {
            switch key {
            case "sex": sex = try value.oneOf(Sex.self)
            case "height_cm":
                height = try value.number(in: Patient.anyHeightRangeCm, unit: "cm")
                heightNode = value
            case "pbw_kg": pbw = try value.number(in: Patient.pbwRangeKg, unit: "kg")
            case "conditions":
                for item in try value.sequence() { conditions.insert(try item.oneOf(Condition.self)) }
                // One ECMO state at start (rules v3 §3.3).
                if conditions.isSuperset(of: [.ecmoVV, .ecmoVA]) { throw value.error("ecmo_vv and ecmo_va: give at most one (the ECMO state at start)") }
            default: break
            }
        }
        // The ARDSNet formula is for adults: a height outside its range needs a PBW entered by hand.
        if let height, let heightNode, let problem = Patient.heightProblem(height, pbwGiven: pbw != nil) {
            throw heightNode.error(problem)
        }
        // Sex and height may come later (an admission without a height): PBW is then unknown.
        return Patient(sex: sex, heightCm: height, conditions: conditions, pbwKg: pbw)
    }

    private static func parseRules(_ node: ConfigNode) throws(ConfigError) -> RuleSettings {
        var settings = RuleSettings()
        let allowedRules = RuleID.allCases.map(\.id) + ["alarm_system"]
        for (ruleName, ruleNode) in try node.mapping(allowed: allowedRules) {
            // A key of v1 that is gone gets what replaces it, not just "unknown key".
            for (key, value) in try ruleNode.mapping() {
                if let hint = RuleSettings.removedKey(key, rule: RuleID(rawValue: ruleName)) { throw value.error(hint) }
                if let rule = RuleID(rawValue: ruleName), let hint = RuleSettings.inapplicableKey(key, rule: rule) { throw value.error(hint) }
            }
            guard let rule = RuleID(rawValue: ruleName) else {
                for (key, value) in try ruleNode.mapping(allowed: RuleSettings.alarmSystemKeys.map(\.name)) {
                    if key == "latched_s", let seconds = try? value.number(), seconds > 3600, seconds.isFinite {
                        // v2 allowed 7200: say why it is gone, not only the range (rules v3 §2.2).
                        throw value.error("latched_s \(seconds) is refused: rules v3 re-announce an unacknowledged latched high alarm at least every 3600 s (IEC 60601-1-8: a high-priority condition must not go silent unattended; v2 allowed 7200); set latched_s between 600 and 3600")
                    }
                    try set(key, value, keys: RuleSettings.alarmSystemKeys, in: &settings)
                }
                continue
            }
            let keys = RuleSettings.keys(for: rule)
            var allowed = ["enabled"] + keys.map(\.name)
            if rule == .deviceSilent { allowed.append("per_source_timeout_s") }
            for (key, value) in try ruleNode.mapping(allowed: allowed) {
                switch key {
                case "enabled":
                    if try value.bool() { settings.disabled.remove(rule) } else { settings.disabled.insert(rule) }
                case "per_source_timeout_s":
                    for (source, timeout) in try value.mapping() {
                        guard SourceName.isValid(source) else {
                            throw timeout.error("'\(Shown.text(source.utf8))' is not a source name (\(SourceName.rule))")
                        }
                        settings[DeviceSilent.self].perSource[source] = try timeout.number(in: 1...3600, unit: "s")
                    }
                default:
                    try set(key, value, keys: keys, in: &settings)
                }
            }
        }
        try checkConsistency(settings, node: node)
        return settings
    }

    private static func set(_ name: String, _ value: ConfigNode, keys: [RuleSettings.Key], in settings: inout RuleSettings) throws(ConfigError) {
        guard let key = keys.first(where: { $0.name == name }) else { return }
        key.set(&settings, try value.number(in: key.allowed, unit: key.unit))
    }

    /// Cross-field checks: an end threshold must sit on the safe side of its start threshold.
    private static func checkConsistency(_ s: RuleSettings, node: ConfigNode) throws(ConfigError) {
        // Each rule says what is inconsistent in its own values.
        if let (rule, problem) = s.problems.first {
            throw ConfigError(file: node.file, line: node.line, key: "rules.\(rule.id)", message: problem)
        }
        if s.reannounceMedium > s.reannounceMediumMax {
            throw ConfigError(file: node.file, line: node.line, key: "rules.alarm_system", message: "need medium_s <= medium_max_s")
        }
        if s.reannounceHigh > s.reannounceHighMax {
            throw ConfigError(file: node.file, line: node.line, key: "rules.alarm_system", message: "need high_s <= high_max_s")
        }
    }
}

/// The configured patient's identity: what PID-3 of laboratory results must name, and what messages to
/// the station carry, until an admission says otherwise.
package struct PatientIdentity: Sendable, Equatable {
    package var id: String?
    package var authority: String?
    package var name: String?

    package init(id: String? = nil, authority: String? = nil, name: String? = nil) {
        self.id = id
        self.authority = authority
        self.name = name
    }

    /// The identity keys of `outputs.hl7`, read without the rest of outputs (for replay).
    static func scan(_ outputs: ConfigNode) -> PatientIdentity {
        var identity = PatientIdentity()
        guard let sections = try? outputs.mapping() else { return identity }
        for (key, hl7) in sections where key == "hl7" {
            for (field, value) in (try? hl7.mapping()) ?? [] {
                let text = (try? value.string())?.nilIfEmpty
                switch field {
                case "patient_id": identity.id = text
                case "patient_id_authority": identity.authority = text
                case "patient_name": identity.name = text
                default: break
                }
            }
        }
        return identity
    }
}
