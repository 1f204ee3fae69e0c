import AlveoCore
import AlveoDevices
import AlveoIO
import Foundation
import Yams

/// One device at the bed: how to reach it, which profile decodes it, how often to poll.
package struct DeviceConfig: Sendable, Equatable {
    /// A `modbus_rtu` line's baud rate when the configuration gives none: 19200, the default the Modbus
    /// over serial line specification (V1.02 §2.5.1) requires of every device. 8N1 as the others.
    package static let defaultRTUBaud = 19200

    /// The source name its observations and technical alarms carry.
    package var id: String
    package var endpoint: ModbusEndpoint
    package var unitID: Int
    package var profilePath: String
    package var profile: ModbusProfile
    /// The profile's YAML text as read (what a raw trace stores, so that it replays anywhere).
    package var profileText = ""
    package var pollInterval: Duration
    package var responseTimeout: Duration
    package var byteTimeout: Duration
    /// Reconnection backoff doubles from `reconnectMin` up to this.
    package var reconnectMax: Duration
    package var reconnectMin: Duration

    /// The device's data path: its profile's decoder and the poll's blocks (live, replay and synthesis alike).
    package func makePump() -> DevicePump { DevicePump(modbus: ModbusDecoder(profile: profile, source: id)) }

    static let keys = ["id", "profile", "poll_interval_s", "transport", "reconnect_max_s"]
    static let transportKeys = ["kind", "host", "port", "path", "baud", "parity", "data_bits", "stop_bits", "unit_id",
                                "response_timeout_ms", "byte_timeout_ms"]

    /// `profiles`: profile YAML texts by device id, used instead of the profile files (a raw trace's own).
    static func parseList(_ node: ConfigNode, profiles: [String: String] = [:]) throws(ConfigError)
        -> (modbus: [DeviceConfig], serial: [SerialDeviceConfig], gateway: [GatewayDeviceConfig], order: [String])
    {
        var devices: [DeviceConfig] = []
        var serialDevices: [SerialDeviceConfig] = []
        var gatewayDevices: [GatewayDeviceConfig] = []
        var order: [String] = []
        let items = try node.sequence()
        // One bed: a handful of devices, each with its own thread.
        guard items.count <= 32 else { throw node.error("\(items.count) devices: one bed has at most 32") }
        for item in items {
            let parsed = try parse(item, profiles: profiles)
            let id = parsed.modbus?.id ?? parsed.serial?.id ?? parsed.gateway!.id
            order.append(id)
            if devices.contains(where: { $0.id == id }) || serialDevices.contains(where: { $0.id == id }) || gatewayDevices.contains(where: { $0.id == id }) {
                throw item.error("device id '\(id)' is used twice: each device needs its own id")
            }
            if let gateway = parsed.gateway {
                if let other = gatewayDevices.first(where: { $0.equipment.caseInsensitiveCompare(gateway.equipment) == .orderedSame }) {
                    throw item.error("'\(id)' and '\(other.id)' both take equipment \(gateway.equipment): one device per OBX-18 identity")
                }
                gatewayDevices.append(gateway)
                continue
            }
            if let serial = parsed.serial {
                if serialDevices.contains(where: { $0.path == serial.path })
                    || devices.contains(where: { if case .rtu(let path, _, _, _, _) = $0.endpoint { path == serial.path } else { false } })
                {
                    throw item.error("'\(id)' uses \(serial.path), which another device already uses: one serial protocol device per line")
                }
                serialDevices.append(serial)
                continue
            }
            let device = parsed.modbus!
            for other in devices {
                if case .rtu(let path, _, _, _, _) = device.endpoint, case .rtu(let otherPath, _, _, _, _) = other.endpoint,
                   path == otherPath, device.endpoint != other.endpoint
                {
                    throw item.error("'\(device.id)' and '\(other.id)' share \(path) with different line settings: devices on one serial line need the same baud, parity, data and stop bits")
                }
                if device.endpoint == other.endpoint, device.unitID == other.unitID {
                    throw item.error("'\(device.id)' and '\(other.id)' are both unit \(device.unitID) on \(device.endpoint): give each device on a bus its own unit_id")
                }
            }
            devices.append(device)
        }
        return (devices, serialDevices, gatewayDevices, order)
    }

    static func parse(_ node: ConfigNode, profiles: [String: String] = [:]) throws(ConfigError)
        -> (modbus: DeviceConfig?, serial: SerialDeviceConfig?, gateway: GatewayDeviceConfig?)
    {
        var id: String?, profilePath: String?, profileNode: ConfigNode?, poll = 1.0, reconnectMax = 5.0
        var transport: ConfigNode?
        for (key, value) in try node.mapping(allowed: keys) {
            switch key {
            case "id": id = try value.name(what: "id")
            case "profile": profilePath = try value.string(); profileNode = value
            case "poll_interval_s": poll = try value.number(in: 0.05...3600, unit: "s")
            case "reconnect_max_s": reconnectMax = try value.number(in: 0.1...3600, unit: "s")
            case "transport": transport = value
            default: break
            }
        }
        guard let id else { throw node.error("missing 'id' (the source name, e.g. vent or oxi)") }
        guard let transport else { throw node.error("missing 'transport' (kind: modbus_tcp, modbus_rtu, serial, lan or pcd01)") }
        if transport.node["kind"]?.string == "pcd01" {
            if let profileNode { throw profileNode.error("a pcd01 device takes no profile: the gateway's MDC codes say what each value is") }
            return (nil, nil, try GatewayDeviceConfig.parse(node, id: id, transport: transport))
        }
        if transport.node["kind"]?.string == "lan" {
            if let profileNode { throw profileNode.error("a lan device takes no profile (its protocol says how to read it); profiles are for Modbus devices") }
            return (nil, try SerialDeviceConfig.parseLAN(node, id: id, transport: transport, pollInterval: poll, reconnectMax: reconnectMax), nil)
        }
        if transport.node["kind"]?.string == "serial" {
            if let profileNode {
                throw profileNode.error("a serial-protocol device takes no profile (its protocol says how to read it); profiles are for Modbus devices")
            }
            return (nil, try SerialDeviceConfig.parse(node, id: id, transport: transport, pollInterval: poll, reconnectMax: reconnectMax), nil)
        }
        guard let profilePath, let profileNode else { throw node.error("missing 'profile' (a file under devices/)") }

        var kind: String?, host = "127.0.0.1", port = 502, path: String?, baud = DeviceConfig.defaultRTUBaud, parity = Parity.none
        var dataBits = 8, stopBits = 1, unit = 1, response = 500.0, byte = 100.0
        for (key, value) in try transport.mapping(allowed: transportKeys) {
            switch key {
            case "kind":
                kind = try value.string()
                guard kind == "modbus_tcp" || kind == "modbus_rtu" else {
                    throw value.error("'\(kind!)' is not a transport kind (allowed: modbus_tcp, modbus_rtu, serial, lan, pcd01)")
                }
            case "host": host = try value.string()
            case "port": port = try value.integer(in: 1...65535)
            case "path": path = try value.string()
            case "baud": baud = try value.integer(in: 300...921_600, unit: "baud")
            case "parity": parity = try value.oneOf(Parity.self)
            case "data_bits": dataBits = try value.integer(in: 5...8)
            case "stop_bits": stopBits = try value.integer(in: 1...2)
            case "unit_id": unit = try value.integer(in: 0...255)
            case "response_timeout_ms": response = try value.number(in: 10...60000, unit: "ms")
            case "byte_timeout_ms": byte = try value.number(in: 1...10000, unit: "ms")
            default: break
            }
        }
        let endpoint: ModbusEndpoint
        switch kind {
        case "modbus_tcp"?: endpoint = .tcp(host: host, port: port)
        case "modbus_rtu"?:
            guard let path else { throw transport.error("missing 'path' (the serial device, e.g. /dev/ttyUSB0)") }
            endpoint = .rtu(path: path, baud: baud, parity: parity, dataBits: dataBits, stopBits: stopBits)
        default: throw transport.error("missing 'kind' (modbus_tcp or modbus_rtu)")
        }
        let resolved = resolve(profilePath, relativeTo: node.file)
        let profile: ModbusProfile
        var profileText = ""
        if profiles[id] == nil, !FileManager.default.isReadableFile(atPath: resolved) {
            // A configuration copied away from the repository (to /etc/alveo) keeps its relative profile
            // paths: name every place looked at, so that the fix is obvious.
            throw ConfigError(file: node.file, line: profileNode.line, key: profileNode.path,
                              message: missingProfile(profilePath, relativeTo: node.file))
        }
        do {
            if let stored = profiles[id] {
                profileText = stored
                profile = try ProfileLoader.load(yaml: stored, file: "\(node.file) (profile of \(id) stored with it)")
            } else {
                guard let data = FileManager.default.contents(atPath: resolved) else {
                    throw ConfigError(file: resolved, line: 0, key: "", message: "cannot read \(resolved)")
                }
                profileText = String(decoding: data, as: UTF8.self)
                profile = try ProfileLoader.load(yaml: profileText, file: resolved)
            }
        } catch {
            throw ConfigError(file: node.file, line: profileNode.line, key: profileNode.path,
                              message: "cannot use profile \(resolved): \(error)")
        }
        func duration(_ seconds: Double) -> Duration { .clampedSeconds(seconds) }
        var device = DeviceConfig(id: id, endpoint: endpoint, unitID: unit, profilePath: resolved, profile: profile,
                                  pollInterval: duration(poll), responseTimeout: duration(response / 1000),
                                  byteTimeout: duration(byte / 1000), reconnectMax: duration(reconnectMax),
                                  reconnectMin: duration(min(0.25, reconnectMax)))
        device.profileText = profileText
        return (device, nil, nil)
    }

    /// Why a profile cannot be read, naming the paths tried (absolute, so that they can be checked with `ls`).
    static func missingProfile(_ path: String, relativeTo configFile: String) -> String {
        func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }
        let exists = FileManager.default.fileExists(atPath: resolve(path, relativeTo: configFile))
        if path.hasPrefix("/") {
            return exists ? "cannot read \(path) (permissions?)" : "\(path) does not exist"
        }
        if exists { return "cannot read \(absolute(resolve(path, relativeTo: configFile))) (permissions?)" }
        let besideConfig = absolute(URL(fileURLWithPath: configFile).deletingLastPathComponent().appendingPathComponent(path).path)
        let fromWorkingDirectory = absolute(path)
        let looked = besideConfig == fromWorkingDirectory
            ? "looked for \(besideConfig) (beside the configuration, and from the working directory); it does not exist"
            : "looked for \(besideConfig) (beside the configuration) and \(fromWorkingDirectory) (from the working directory); neither exists"
        return "cannot find the profile \(path): \(looked). Copy the profile beside the configuration or give its absolute path "
            + "(the package installs them under /usr/share/alveo/devices/)"
    }

    /// A relative profile path is looked up beside the config file first, then from the working directory.
    static func resolve(_ path: String, relativeTo configFile: String) -> String {
        guard !path.hasPrefix("/") else { return path }
        let besideConfig = URL(fileURLWithPath: configFile).deletingLastPathComponent().appendingPathComponent(path).path
        if FileManager.default.fileExists(atPath: besideConfig) { return besideConfig }
        return path
    }
}
