import AlveoCore
import AlveoDevices
import AlveoIO
import AlveoOutput
import Foundation

extension Commands {
    /// `alveo check-config FILE`: validates a configuration without touching any device and says what
    /// it configures; `replay`: a configuration for `alveo replay` (no devices needed).
    package static func checkConfig(file: String, replay: Bool) throws(CommandExit) {
        let config = try loadConfig(file)
        // "ok" only when `alveo run` would start with it.
        if !replay, config.allDeviceIDs.isEmpty {
            Console.error("error: \(file): no devices: `alveo run` would not start with it (add a 'devices:' list, see config/; check a configuration for replay with --replay)")
            throw CommandExit(.config)
        }
        let patient = config.patient
        let described = if let pbw = patient.predictedBodyWeightKg, let sex = patient.sex, let height = patient.heightCm {
            "patient \(sex.rawValue), \(Fmt.fixed(height, 0)) cm, PBW \(Fmt.fixed(pbw, 1)) kg"
        } else {
            "patient's sex or height not known yet: Vt per kg PBW is not checked until they are set"
        }
        print("\(file): ok (\(described))")
        for device in config.serialDevices {
            let line = "\(device.settings.baud) \(device.settings.dataBits)\(device.settings.parity.rawValue.prefix(1).uppercased())\(device.settings.stopBits), flow \(device.settings.flowControl.rawValue)"
            let polls = device.driver.pollInterval(configured: device.pollInterval)
            let polled = !device.driver.polled ? ", streaming"
                : polls == device.pollInterval ? ", polled every \(device.pollInterval) s"
                : polls < device.pollInterval
                ? ", polled every \(polls) s, not every \(device.pollInterval) s (poll_interval_s): the device drops a client silent for longer, so \(device.driver.name) polls at least every \(polls) s"
                : ", polled every \(polls) s, not every \(device.pollInterval) s (poll_interval_s): \(device.driver.name) polls at most that often"
            if device.lan != nil {
                print("  device \(device.id): on the LAN, \(device.path) (UDP), \(device.driver.name): \(device.driver.title)\(polled)")
                continue
            }
            print("  device \(device.id): serial \(device.path) at \(line), \(device.driver.name): \(device.driver.title)\(polled)")
            if device.settings != SerialDeviceConfig.settings(device.driver.line) {
                print("  note: device \(device.id): \(device.driver.name) devices usually run at \(device.driver.line); check the line settings against the device's menu")
            }
        }
        for device in config.devices {
            let reads = device.profile.fields.count
            print("  device \(device.id): \(device.endpoint) unit \(device.unitID), profile \(device.profile.name) (\(reads) values), every \(device.pollInterval)")
        }
        for device in config.gatewayDevices {
            let location = config.inputs.hl7?.deviceGateway.map { " at PV1-3 \($0.locationText)" } ?? ""
            print("  device \(device.id): through the device gateway (IHE PCD-01 on the HL7 listener), OBX-18 \(device.equipment)\(location); periodic values at most \(Fmt.fixed(device.maxAge, 0)) s old")
        }
        // A serial path that is not there now (cable unplugged, wrong udev name) is a warning: the
        // agent waits for it, reopening with backoff.
        let serialPaths = config.serialDevices.filter { $0.lan == nil }.map { ($0.id, $0.path) } + config.devices.compactMap { device in
            if case .rtu(let path, _, _, _, _) = device.endpoint { (device.id, path) } else { nil }
        }
        for (id, path) in serialPaths where !FileManager.default.fileExists(atPath: path) {
            print("  warning: device \(id): \(path) does not exist now (cable, USB adapter or udev name?): alveo run waits for it and raises technical.device_silent")
        }
        if let directory = config.outputs.journalDirectory {
            print("  journal: \(directory) (segments of \(config.outputs.segmentMaxBytes >> 20) MB; shutdown budget \(config.outputs.shutdownBudget))")
        } else {
            print("  journal: none (events go to stdout only; nothing reaches a central station)")
        }
        if let trends = config.trends.path {
            print("  trend store: \(trends) (raw values \(Int(saturating: config.trends.rawRetention / 86400)) days, minute summaries and alarms \(Int(saturating: config.trends.summaryRetention / 86400)) days; alveo report --trends \(trends))")
        } else {
            print("  trend store: none (set trends.path to keep trends for alveo report)")
        }
        if let syslog = config.outputs.syslog {
            print("  syslog RFC 5424 to \(syslog.host):\(syslog.port)\(syslog.tls != nil ? " over TLS" : ""): bed \(syslog.bedID), facility \(syslog.facility), host name \(syslog.hostname)")
        }
        if let hl7 = config.outputs.hl7 {
            let identity = hl7.identity
            let derived = EUI64.forThisMachine()
            let eui = identity.eui64 == derived.value ? "\(identity.eui64) (derived from \(derived.from))" : "\(identity.eui64) (configured)"
            print("  HL7 PCD-04 to \(hl7.host):\(hl7.port)\(hl7.tls != nil ? " over TLS" : ""): bed \(identity.bedID), EUI-64 \(eui), MSH-21 OID \(identity.profileOID)")
            if !identity.devices.isEmpty {
                let vmds = identity.devices.enumerated().map { "\($0.element) = VMD \($0.offset + 1)" }.joined(separator: ", ")
                print("  PCD-04 containment: \(vmds); VMD 0 = Alveo's own (derived values, prompts, the agent)")
            }
        }
        if config.control.enabled {
            print("  control API: \(config.control.socketPath) (0660, group \(config.control.group ?? "the agent's"))")
        } else {
            print("  control API: off (alveo status, ack, chart and patient will not reach this agent)")
        }
        if let listener = config.inputs.hl7 {
            let gateway = listener.deviceGateway.map { "; device gateway \($0.senders.map(\.description).joined(separator: ", ")) for PV1-3 \($0.locationText)" } ?? ""
            print("  HL7 listener: \(listener.bind):\(listener.port), \(listener.tls != nil ? "TLS, client certificates from \(listener.tls!.clientCAFile)" : "plain TCP"), senders \(listener.allowedSenders.map(\.description).joined(separator: ", "))\(gateway)")
            // Warnings: what would make the listener take less than the engineer expects, or anyone's.
            if listener.tls == nil, !["127.0.0.1", "::1"].contains(listener.bind) {
                print("  warning: the HL7 listener takes \(listener.deviceGateway != nil ? "device values, " : "")results and admissions from anyone who can reach \(listener.bind):\(listener.port) and writes the right MSH-3 (no TLS): use tls with client_ca_file, or a firewall")
            }
            if listener.bedLocation == nil {
                print("  warning: no bed_location (inputs.hl7 or outputs.hl7): admissions (ADT) cannot be matched to this bed and are refused")
            }
            if config.patientIdentity.id == nil {
                print("  warning: no patient_id (outputs.hl7): laboratory results are refused until a patient is admitted (ADT A01 or alveo patient set --id)")
            }
        }
    }

    /// `alveo deliver`: delivers what the journal holds and the station has not acknowledged.
    package static func deliver(configPath config: String, timeout: Double) throws(CommandExit) {
        let agentConfig = try loadConfig(config)
        guard agentConfig.outputs.journalDirectory != nil, agentConfig.outputs.hl7 != nil || agentConfig.outputs.syslog != nil else {
            Console.error("error: \(config): nothing to deliver: configure outputs.journal and outputs.hl7 or outputs.syslog")
            throw CommandExit(.config)
        }
        let outputs = try startOutputs(agentConfig, clock: { 0 }, emit: { _ in })
        defer { outputs.stop() }
        guard outputs.drain(timeout: .clampedSeconds(timeout)) else {
            Console.error("error: \(outputs.undelivered) journaled events not delivered within \(timeout) s")
            throw CommandExit(.tempFail)
        }
        print("delivered: journal up to \(outputs.lastSeq)")
    }
}

extension AlveoVersion {
    /// What `alveo version` and `alveo --version` print.
    package static var text: String {
        ["alveo \(AlveoVersion.string)", "libmodbus \(LinkedLibraries.modbusVersion)", "libserialport \(LinkedLibraries.serialPortVersion)",
         LinkedLibraries.openSSLVersion].joined(separator: "\n")
    }
}
