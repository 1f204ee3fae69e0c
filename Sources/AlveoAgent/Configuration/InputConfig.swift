import AlveoCore
import AlveoIO
import AlveoOutput
import Foundation

/// What the agent hears besides its devices and the control API: `inputs: {hl7: …}`, the HL7 v2 MLLP
/// listener for laboratory results (ORU^R01) and admissions (ADT). Off unless configured.
package struct InputConfig: Sendable, Equatable {
    package var hl7: LabListenerConfig?

    package init() {}

    static func parse(_ node: ConfigNode, outputs: OutputConfig) throws(ConfigError) -> InputConfig {
        var config = InputConfig()
        for (key, value) in try node.mapping(allowed: ["hl7"]) where key == "hl7" {
            config.hl7 = try LabListenerConfig.parse(value, outputs: outputs)
        }
        return config
    }
}

/// The laboratory and ADT listener (docs/integration.md, "Laboratory results and admissions").
package struct LabListenerConfig: Sendable, Equatable {
    /// The numeric IP address to listen on (0.0.0.0 or :: for every interface).
    package var bind = ""
    package var port = 0
    /// TLS with the client's certificate required and verified; nil: plain MLLP.
    package var tls: TLSServerSettings?
    /// Who may send (MSH-3 application, MSH-4 facility; nil facility: any). Never empty.
    package var allowedSenders: [Sender] = []
    /// This bed's PV1-3 (point of care^room^bed^facility), to know which admissions and transfers are
    /// for it; default: outputs.hl7.bed_location.
    package var bedLocation: String?
    /// Connections held at most; at the bound a new one takes the place of the one that waited longest.
    package var maxConnections = 8
    /// Connections from one address at most (a second sender, say the ADT feed, still gets in).
    package var maxConnectionsPerPeer = 4
    /// An established connection with no message for this long is closed (0: never); senders connect
    /// again when they next have something to send.
    package var idleTimeoutSeconds = 600.0
    /// A TLS handshake must be done within this, however slowly its bytes come.
    package var handshakeTimeoutSeconds = 10.0
    /// A frame begun and not finished within this is dropped.
    package var idleFrameTimeoutSeconds = 60.0
    /// The hospital's alert manager (IHE PCD-05 status reports on Alveo's alarms); nil: not taken.
    package var alertManager: AlertManager?
    /// This bed's id in the alert references Alveo sends (outputs.hl7.bed_id): a report naming another is refused.
    package var alertBedID: String?
    /// The hospital's device-integration gateway (IHE PCD-01 observations of this bed's devices); nil: not taken.
    package var deviceGateway: DeviceGateway?
    /// The bed's `pcd01` devices (from `devices:`), whose rows the gateway's messages carry.
    package var gatewayDevices: [GatewayDeviceConfig] = []

    /// `inputs.hl7.device_gateway`: who may send device observations (MSH-3^MSH-4, apart from the
    /// laboratory's) and the PV1-3 of this bed as the gateway writes it. Each non-empty component of
    /// `location` must equal the message's (ignoring case); an empty one matches anything: a monitor
    /// moved to another bed keeps its EUI-64, and only its location says whose values they are now.
    package struct DeviceGateway: Sendable, Equatable {
        package var senders: [Sender] = []
        package var location: [String] = []

        package init() {}

        package var locationText: String { location.joined(separator: "^") }
    }

    /// `inputs.hl7.alert_manager`: who may report (MSH-3^MSH-4, apart from the laboratory and ADT
    /// senders: a results feed must not acknowledge alarms) and which statuses count as an acknowledgement.
    package struct AlertManager: Sendable, Equatable {
        package var senders: [Sender] = []
        package var acknowledge: Set<String> = ["accepted"]
        /// The statuses Alveo knows (IHE ACM: PCD-05's PRT-3); anything else is `other`.
        package static let statuses = ["forwarded", "delivered", "read", "accepted", "rejected", "cancelled", "callback"]

        package init() {}
    }

    /// The bounds of the listener's connections (`ConnectionTable`).
    var connectionLimits: ConnectionTable.Limits {
        ConnectionTable.Limits(limit: maxConnections, perPeer: min(maxConnectionsPerPeer, maxConnections),
                               handshakeTimeout: .milliseconds(Int64(handshakeTimeoutSeconds * 1000)),
                               idleTimeout: idleTimeoutSeconds > 0 ? .milliseconds(Int64(idleTimeoutSeconds * 1000)) : nil,
                               // A message is answered once the loop took it (10 s at most), after its frame arrived.
                               busyTimeout: .milliseconds(Int64((idleFrameTimeoutSeconds + 15) * 1000)))
    }

    package struct Sender: Sendable, Equatable, CustomStringConvertible {
        package var application: String
        package var facility: String?

        package init(application: String, facility: String? = nil) {
            self.application = application
            self.facility = facility
        }

        package var description: String { facility.map { "\(application)^\($0)" } ?? application }

        package func allows(application: String, facility: String) -> Bool {
            self.application.caseInsensitiveCompare(application) == .orderedSame
                && (self.facility.map { $0.caseInsensitiveCompare(facility) == .orderedSame } ?? true)
        }
    }

    package init() {}

    static func parse(_ node: ConfigNode, outputs: OutputConfig) throws(ConfigError) -> LabListenerConfig {
        var config = LabListenerConfig()
        var sawBind = false, sawPort = false, sawSenders = false
        for (key, value) in try node.mapping(allowed: ["bind", "port", "tls", "allowed_senders", "bed_location", "max_connections",
                                                              "max_connections_per_peer", "idle_timeout_s", "handshake_timeout_s",
                                                              "alert_manager", "device_gateway"]) {
            switch key {
            case "bind":
                let text = try value.string()
                var v4 = in_addr(), v6 = in6_addr()
                guard inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1 else {
                    throw value.error("give a numeric IP address to listen on (0.0.0.0 for every interface, 127.0.0.1 for this machine only)")
                }
                config.bind = text
                sawBind = true
            case "port":
                config.port = try value.integer(in: 1...65535)
                sawPort = true
            case "tls":
                var files: [String: String] = [:]
                for (tlsKey, tlsValue) in try value.mapping(allowed: ["cert_file", "key_file", "client_ca_file"]) {
                    let path = DeviceConfig.resolveDirectory(try tlsValue.string(), relativeTo: node.file)
                    guard FileManager.default.isReadableFile(atPath: path) else { throw tlsValue.error("cannot read \(path)") }
                    if tlsKey == "key_file", let problem = KeyFilePermissions.problem(path) {
                        throw tlsValue.error("the private key \(path) \(problem)")
                    }
                    files[tlsKey] = path
                }
                guard let certificate = files["cert_file"], let key = files["key_file"], let clients = files["client_ca_file"] else {
                    throw value.error("give cert_file and key_file (this listener's), and client_ca_file (whose client certificates are accepted)")
                }
                config.tls = TLSServerSettings(certificateFile: certificate, keyFile: key, clientCAFile: clients)
            case "allowed_senders":
                config.allowedSenders = try senders(value, example: "LIS^HOSP")
                sawSenders = true
            case "alert_manager":
                var manager = AlertManager()
                var sawManagerSenders = false
                for (managerKey, managerValue) in try value.mapping(allowed: ["senders", "acknowledge"]) {
                    switch managerKey {
                    case "senders":
                        manager.senders = try senders(managerValue, example: "ALERT_MGR^HOSP")
                        sawManagerSenders = !manager.senders.isEmpty
                    default:
                        var statuses: Set<String> = []
                        for item in try managerValue.sequence() {
                            let status = try item.string().lowercased()
                            guard AlertManager.statuses.contains(status) else {
                                throw item.error("'\(Shown.text(status.utf8, limit: 24))' is not a status Alveo knows (one of: \(AlertManager.statuses.joined(separator: ", ")))")
                            }
                            statuses.insert(status)
                        }
                        manager.acknowledge = statuses
                    }
                }
                guard sawManagerSenders else {
                    throw value.error("give senders: the alert manager's MSH-3 (or MSH-3^MSH-4) whose status reports (ORA^R41) are taken")
                }
                config.alertManager = manager
            case "device_gateway":
                var gateway = DeviceGateway()
                for (gatewayKey, gatewayValue) in try value.mapping(allowed: ["senders", "location"]) {
                    switch gatewayKey {
                    case "senders": gateway.senders = try senders(gatewayValue, example: "GATEWAY^HOSP")
                    default:
                        let text = try gatewayValue.string()
                        let parts = text.split(separator: "^", omittingEmptySubsequences: false).map(String.init)
                        guard parts.count <= 9, parts.contains(where: { !$0.isEmpty }),
                              parts.allSatisfy({ $0.utf8.count <= 64 && !$0.contains("|") && !$0.contains("~") && !$0.contains("\\") && !$0.contains("&") }) else {
                            throw gatewayValue.error("give this bed's PV1-3 as the gateway writes it, components by ^ (e.g. ICU^^B1 or ICU-01; an empty component matches any)")
                        }
                        gateway.location = parts
                    }
                }
                guard !gateway.senders.isEmpty else {
                    throw value.error("give senders: the gateway's MSH-3 (or MSH-3^MSH-4) whose device observations (IHE PCD-01) are taken")
                }
                config.deviceGateway = gateway
            case "bed_location": config.bedLocation = try value.string()
            case "max_connections": config.maxConnections = try value.integer(in: 1...256)
            case "max_connections_per_peer": config.maxConnectionsPerPeer = try value.integer(in: 1...256)
            case "idle_timeout_s": config.idleTimeoutSeconds = try value.number(in: 0...86_400)
            case "handshake_timeout_s": config.handshakeTimeoutSeconds = try value.number(in: 1...120)
            default: break
            }
        }
        guard sawBind, sawPort else { throw node.error("give bind (a numeric IP address) and port (e.g. 2576; 2575 is usually the outbound PCD-04 feed's)") }
        guard sawSenders, !config.allowedSenders.isEmpty else {
            throw node.error("give allowed_senders: the sending applications (MSH-3, or MSH-3^MSH-4) whose results and admissions are taken")
        }
        if config.bedLocation == nil, let location = outputs.hl7?.identity.bedLocation, !location.isEmpty { config.bedLocation = location }
        if var gateway = config.deviceGateway, gateway.location.isEmpty {
            // The gateway's values are this bed's only where it says so: without a location of its own,
            // the bed's (inputs.hl7 or outputs.hl7 bed_location).
            guard let bed = config.bedLocation, !bed.isEmpty else {
                throw node.error("device_gateway: give its location (this bed's PV1-3 as the gateway writes it) or a bed_location: a device moved to another bed keeps its identity, and only the location says whose values they are")
            }
            gateway.location = bed.split(separator: "^", omittingEmptySubsequences: false).map(String.init)
            config.deviceGateway = gateway
        }
        if config.alertManager != nil {
            guard let identity = outputs.hl7?.identity else {
                throw node.error("alert_manager: status reports are about the alerts Alveo sends to the station: configure outputs.hl7 too")
            }
            config.alertBedID = identity.bedID
        }
        return config
    }

    /// A list of APPLICATION or APPLICATION^FACILITY (MSH-3, MSH-4).
    static func senders(_ node: ConfigNode, example: String) throws(ConfigError) -> [Sender] {
        var senders: [Sender] = []
        for item in try node.sequence() {
            let text = try item.string()
            let parts = text.split(separator: "^", omittingEmptySubsequences: false).map(String.init)
            guard (1...2).contains(parts.count), !parts[0].isEmpty, parts.allSatisfy({ $0.utf8.count <= 64 && !$0.contains("|") && !$0.contains("~") }) else {
                throw item.error("give APPLICATION or APPLICATION^FACILITY (MSH-3, MSH-4), e.g. \(example)")
            }
            senders.append(Sender(application: parts[0], facility: parts.count == 2 && !parts[1].isEmpty ? parts[1] : nil))
        }
        return senders
    }
}
