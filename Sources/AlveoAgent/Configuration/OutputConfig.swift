import AlveoCore
import AlveoIO
import AlveoOutput
import Foundation

/// The `outputs:` section of the configuration (the settings themselves are AlveoOutput's).
extension OutputConfig {
    static func parse(_ node: ConfigNode) throws(ConfigError) -> OutputConfig {
        var config = OutputConfig()
        var forwarderNode: ConfigNode?
        for (key, value) in try node.mapping(allowed: ["journal", "hl7", "syslog", "shutdown_budget_s"]) {
            switch key {
            case "shutdown_budget_s":
                config.shutdownBudget = .milliseconds(Int64(saturating: try value.number(in: 0...300, unit: "s") * 1000))
            case "journal":
                for (journalKey, journalValue) in try value.mapping(allowed: ["directory", "segment_max_mb", "spill_directory"]) {
                    switch journalKey {
                    case "directory": config.journalDirectory = DeviceConfig.resolveDirectory(try journalValue.string(), relativeTo: node.file)
                    case "spill_directory": config.spillDirectory = DeviceConfig.resolveDirectory(try journalValue.string(), relativeTo: node.file)
                    case "segment_max_mb": config.segmentMaxBytes = Int(saturating: try journalValue.number(in: 0.01...4096, unit: "MB") * 1_048_576)
                    default: break
                    }
                }
            case "hl7":
                forwarderNode = value
                config.hl7 = try parseHL7(value)
            case "syslog":
                forwarderNode = value
                config.syslog = try parseSyslog(value)
            default: break
            }
        }
        if let forwarderNode, config.journalDirectory == nil {
            throw forwarderNode.error("forwarders deliver from the journal: add outputs.journal.directory")
        }
        return config
    }

    /// `tls: {ca_file, cert_file, key_file, server_name}`; `tls: {}` uses the system's trust store.
    private static func parseTLS(_ node: ConfigNode) throws(ConfigError) -> TLSSettings {
        var settings = TLSSettings()
        func file(_ value: ConfigNode) throws(ConfigError) -> String {
            let path = DeviceConfig.resolveDirectory(try value.string(), relativeTo: node.file)
            guard FileManager.default.isReadableFile(atPath: path) else { throw value.error("cannot read \(path)") }
            return path
        }
        for (key, value) in try node.mapping(allowed: ["ca_file", "cert_file", "key_file", "server_name"]) {
            switch key {
            case "ca_file": settings.caFile = try file(value)
            case "cert_file": settings.certificateFile = try file(value)
            case "key_file":
                let path = try file(value)
                if let problem = KeyFilePermissions.problem(path) { throw value.error("the private key \(path) \(problem)") }
                settings.keyFile = path
            case "server_name": settings.serverName = try value.string()
            default: break
            }
        }
        if (settings.certificateFile == nil) != (settings.keyFile == nil) {
            throw node.error("give both cert_file and key_file for a client certificate, or neither")
        }
        return settings
    }

    /// `reannounce: transitions | schedule` (rules v3 §2.1).
    private static func parseReannounce(_ value: ConfigNode) throws(ConfigError) -> ReannouncePolicy {
        let text = try value.string()
        guard let policy = ReannouncePolicy(rawValue: text) else {
            throw value.error("'\(Shown.text(text.utf8, limit: 32))' is not a re-announcement policy (transitions: state changes only; "
                + "schedule: re-announcements too)")
        }
        return policy
    }

    private static func parseSyslog(_ node: ConfigNode) throws(ConfigError) -> SyslogSettings {
        var settings = SyslogSettings()
        var sawBed = false
        let keys = ["host", "port", "facility", "hostname", "app_name", "bed_id", "ack_timeout_ms", "connect_timeout_ms",
                    "reconnect_max_s", "resend_window_s", "tls", "reannounce", "protocol"]
        settings.software = "alveo,\(AlveoVersion.string)"
        var resendWindowNode: ConfigNode?
        for (key, value) in try node.mapping(allowed: keys) {
            switch key {
            case "host": settings.host = try value.string()
            case "port": settings.port = try value.integer(in: 1...65535)
            case "facility":
                let name = try value.string()
                guard let number = SyslogSettings.facilities[name] else {
                    throw value.error("'\(name)' is not a facility (one of: \(SyslogSettings.facilities.keys.sorted().joined(separator: ", ")))")
                }
                settings.facility = number
            case "hostname": settings.hostname = try value.string()
            case "app_name": settings.appName = try value.string()
            case "bed_id":
                settings.bedID = try value.name(what: "bed id")
                sawBed = true
            case "ack_timeout_ms": settings.ackTimeout = .milliseconds(Int64(saturating: try value.number(in: 50...600_000, unit: "ms")))
            case "connect_timeout_ms": settings.connectTimeout = .milliseconds(Int64(saturating: try value.number(in: 50...600_000, unit: "ms")))
            case "reconnect_max_s": settings.reconnectMax = .milliseconds(Int64(saturating: try value.number(in: 0.1...3600, unit: "s") * 1000))
            case "resend_window_s":
                resendWindowNode = value
                settings.resendWindow = .milliseconds(Int64(saturating: try value.number(in: 0...3600, unit: "s") * 1000))
            case "tls": settings.tls = try parseTLS(value)
            case "reannounce": settings.reannounce = try parseReannounce(value)
            case "protocol":
                let text = try value.string()
                guard let transport = SyslogTransport(rawValue: text) else {
                    throw value.error("'\(Shown.text(text.utf8, limit: 32))' is not a syslog protocol (tcp: RFC 6587 octet counting, "
                        + "confirmed by the receiver's TCP; relp: rsyslog's RELP, confirmed by the receiver)")
                }
                settings.transport = transport
            default: break
            }
        }
        guard sawBed else { throw node.error("missing 'bed_id': it tells the receiver which bed a message is from") }
        if settings.transport == .relp, let resendWindowNode {
            throw resendWindowNode.error("resend_window_s is for protocol: tcp; with relp the receiver confirms each message and nothing delivered is sent again")
        }
        return settings
    }

    private static func parseHL7(_ node: ConfigNode) throws(ConfigError) -> HL7Settings {
        var settings = HL7Settings()
        var sawBed = false, sawPatient = false, sawEUI = false
        let keys = ["host", "port", "ack_timeout_ms", "connect_timeout_ms", "reconnect_max_s", "retry_after_error_ms", "heartbeat_s", "tls",
                    "sending_application", "sending_facility", "receiving_application", "receiving_facility",
                    "patient_id", "patient_id_authority", "patient_id_type", "patient_name", "bed_location", "bed_id",
                    "eui64", "profile_oid", "alternate_rule_code", "reannounce"]
        func milliseconds(_ value: Double) -> Duration { .milliseconds(Int64(saturating: value)) }
        for (key, value) in try node.mapping(allowed: keys) {
            switch key {
            case "host": settings.host = try value.string()
            case "port": settings.port = try value.integer(in: 1...65535)
            case "ack_timeout_ms": settings.ackTimeout = milliseconds(try value.number(in: 50...600_000, unit: "ms"))
            case "connect_timeout_ms": settings.connectTimeout = milliseconds(try value.number(in: 50...600_000, unit: "ms"))
            case "reconnect_max_s": settings.reconnectMax = milliseconds(try value.number(in: 0.1...3600, unit: "s") * 1000)
            case "retry_after_error_ms": settings.retryAfterError = milliseconds(try value.number(in: 0...600_000, unit: "ms"))
            case "tls": settings.tls = try parseTLS(value)
            case "reannounce": settings.reannounce = try parseReannounce(value)
            case "heartbeat_s":
                let seconds = try value.number(in: 0...86400, unit: "s (0: no heartbeat)")
                settings.heartbeat = seconds == 0 ? nil : milliseconds(seconds * 1000)
            case "sending_application": settings.identity.sendingApplication = try value.string()
            case "sending_facility": settings.identity.sendingFacility = try value.string()
            case "receiving_application": settings.identity.receivingApplication = try value.string()
            case "receiving_facility": settings.identity.receivingFacility = try value.string()
            case "patient_id":
                settings.identity.patientID = try value.string()
                sawPatient = !settings.identity.patientID.isEmpty
            case "patient_id_authority": settings.identity.patientIDAuthority = try value.string()
            case "patient_id_type":
                // HL7 table 0203 (MR, PI, AN, …): letters only.
                let code = try value.string()
                guard (1...5).contains(code.count), code.allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber) }) else {
                    throw value.error("'\(Shown.text(code.utf8, limit: 16))' is not an HL7 table 0203 identifier type code (MR, PI, AN, …)")
                }
                settings.identity.patientIDTypeCode = code
            case "eui64":
                let text = try value.string()
                guard let eui = EUI64.normalised(text) else {
                    throw value.error("'\(Shown.text(text.utf8, limit: 32))' is not an EUI-64: 16 hex digits, e.g. 0A1B2CFFFE3D4E5F")
                }
                settings.identity.eui64 = eui
                sawEUI = true
            case "profile_oid":
                let oid = try value.string()
                guard !oid.isEmpty, oid.count <= 64, oid.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
                      !oid.hasPrefix("."), !oid.hasSuffix("."), !oid.contains("..")
                else {
                    throw value.error("'\(Shown.text(oid.utf8, limit: 64))' is not an OID (digits separated by dots)")
                }
                settings.identity.profileOID = oid
            case "alternate_rule_code": settings.identity.alternateRuleCode = try value.bool()
            case "patient_name": settings.identity.patientName = try value.string()
            case "bed_location": settings.identity.bedLocation = try value.string()
            case "bed_id":
                settings.identity.bedID = try value.name(what: "bed id (it prefixes MSH-10)")
                sawBed = true
            default: break
            }
        }
        // Both identify the bed and the patient to the station: a default would let two beds collide.
        guard sawBed else { throw node.error("missing 'bed_id': unique per bed across the hospital, it prefixes MSH-10") }
        guard sawPatient else { throw node.error("missing 'patient_id' (PID-3): the station files alarms by patient") }
        // Not configured: derived from the machine id (stable for the box; docs/integration.md).
        if !sawEUI { settings.identity.eui64 = EUI64.forThisMachine().value }
        return settings
    }
}

extension DeviceConfig {
    /// A relative directory is taken from the config file's folder.
    static func resolveDirectory(_ path: String, relativeTo configFile: String) -> String {
        guard !path.hasPrefix("/") else { return path }
        return URL(fileURLWithPath: configFile).deletingLastPathComponent().appendingPathComponent(path).path
    }
}
