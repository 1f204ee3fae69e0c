import AlveoCore
import AlveoDevices
import AlveoIO
import Foundation

/// A device on its own serial line, spoken to in its own protocol (not Modbus).
package struct SerialDeviceConfig: Sendable, Equatable {
    /// A `kind: serial` line's baud rate when the configuration gives none (as in every version so far;
    /// `alveo check-config` notes a protocol that usually runs otherwise). 8N1 as the others.
    package static let defaultBaud = 9600

    package var id: String
    package var path: String
    package var settings: SerialSettings
    /// The device's driver (`protocol:`; AlveoDevices' `SerialDrivers.all`).
    package var driver: any SerialDriver
    /// For polled protocols (PB840, MEDIBUS): how often to ask.
    package var pollInterval: Double
    package var reconnectMax: Double
    /// On the LAN (`transport: {kind: lan}`): the device's address and UDP port; `path` then reads
    /// `udp://host:port` (logs, status) and `settings` is unused.
    package var lan: LANEndpoint?

    package struct LANEndpoint: Sendable, Equatable {
        package var host: String
        package var port: Int
    }

    package init(id: String, path: String, settings: SerialSettings, driver: any SerialDriver, pollInterval: Double, reconnectMax: Double) {
        self.id = id
        self.path = path
        self.settings = settings
        self.driver = driver
        self.pollInterval = pollInterval
        self.reconnectMax = reconnectMax
    }

    package static func == (a: SerialDeviceConfig, b: SerialDeviceConfig) -> Bool {
        a.id == b.id && a.path == b.path && a.settings == b.settings && a.driver.name == b.driver.name
            && a.pollInterval == b.pollInterval && a.reconnectMax == b.reconnectMax && a.lan == b.lan
    }

    /// The protocol session that talks to the device.
    package func makeSession() -> any SerialSession {
        lan == nil ? driver.makeSession(source: id, pollInterval: pollInterval) : driver.makeLANSession(source: id, pollInterval: pollInterval)
    }

    /// The device's data path: its session on the tick grid (live, replay and synthesis alike).
    package func makePump() -> DevicePump { DevicePump(session: makeSession()) }

    /// A driver's usual line settings as the I/O module's.
    package static func settings(_ line: LineDefaults) -> SerialSettings {
        var settings = SerialSettings(baud: line.baud)
        settings.parity = switch line.parity { case .none: .none; case .even: .even; case .odd: .odd }
        settings.dataBits = line.dataBits
        settings.stopBits = line.stopBits
        settings.flowControl = switch line.flow { case .none: .none; case .xonxoff: .xonxoff; case .rtscts: .rtscts }
        return settings
    }

    /// `transport: {kind: lan, protocol: intellivue, host: H, port: P}`: a device of a serial protocol
    /// that also speaks it over the network (UDP).
    static func parseLAN(_ node: ConfigNode, id: String, transport: ConfigNode, pollInterval: Double, reconnectMax: Double)
        throws(ConfigError) -> SerialDeviceConfig
    {
        var host: String?, port: Int?, driver: (any SerialDriver)?
        for (key, value) in try transport.mapping(allowed: ["kind", "protocol", "host", "port"]) {
            switch key {
            case "protocol":
                let name = try value.string()
                guard let found = SerialDrivers.named(name) else {
                    throw value.error("'\(Shown.text(name.utf8, limit: 32))' is not one of: \(SerialDrivers.names)")
                }
                guard found.lanPort != nil else {
                    let lan = SerialDrivers.all.filter { $0.lanPort != nil }.map(\.name).joined(separator: ", ")
                    throw value.error("\(name) is a serial-only protocol: on the LAN Alveo speaks \(lan)")
                }
                driver = found
            case "host":
                let text = try value.string()
                guard !text.isEmpty, text.utf8.count <= 253, text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
                    throw value.error("give the device's IP address or host name")
                }
                host = text
            case "port": port = try value.integer(in: 1...65535)
            default: break
            }
        }
        guard let driver else { throw transport.error("missing 'protocol' (on the LAN: \(SerialDrivers.all.filter { $0.lanPort != nil }.map(\.name).joined(separator: ", ")))") }
        guard let host else { throw transport.error("missing 'host': the monitor's IP address (give it a fixed one: a DHCP reservation)") }
        let endpoint = LANEndpoint(host: host, port: port ?? driver.lanPort!)
        var config = SerialDeviceConfig(id: id, path: "udp://\(host):\(endpoint.port)", settings: SerialSettings(baud: SerialDeviceConfig.defaultBaud),
                                        driver: driver, pollInterval: pollInterval, reconnectMax: reconnectMax)
        config.lan = endpoint
        return config
    }

    static func parse(_ node: ConfigNode, id: String, transport: ConfigNode, pollInterval: Double, reconnectMax: Double)
        throws(ConfigError) -> SerialDeviceConfig
    {
        var path: String?, driver: (any SerialDriver)?
        let keys = ["kind", "protocol", "path", "baud", "parity", "data_bits", "stop_bits", "flow_control"]
        let entries = try transport.mapping(allowed: keys)
        for (key, value) in entries where key == "protocol" {
            let name = try value.string()
            guard let found = SerialDrivers.named(name) else {
                throw value.error("'\(Shown.text(name.utf8, limit: 32))' is not one of: \(SerialDrivers.names)")
            }
            driver = found
        }
        // 9600 8N1 unless given (as every version so far); check-config says when the protocol's usual
        // settings differ (a MEDIBUS ventilator usually runs 19200 8E1).
        var settings = SerialSettings(baud: SerialDeviceConfig.defaultBaud)
        for (key, value) in entries {
            switch key {
            case "path": path = try value.string()
            case "baud": settings.baud = try value.integer(in: 300...921_600, unit: "baud")
            case "parity": settings.parity = try value.oneOf(Parity.self)
            case "data_bits": settings.dataBits = try value.integer(in: 5...8)
            case "stop_bits": settings.stopBits = try value.integer(in: 1...2)
            case "flow_control": settings.flowControl = try value.oneOf(FlowControl.self)
            default: break
            }
        }
        guard let path else { throw transport.error("missing 'path' (the serial device, e.g. /dev/ttyUSB0)") }
        guard let driver else {
            throw transport.error("missing 'protocol' (one of: \(SerialDrivers.names))")
        }
        return SerialDeviceConfig(id: id, path: path, settings: settings, driver: driver, pollInterval: pollInterval, reconnectMax: reconnectMax)
    }
}
