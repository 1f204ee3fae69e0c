import AlveoDevices
import AlveoIO
import Foundation

/// A device on its own serial line, spoken to in its own protocol (not Modbus).
public struct SerialDeviceConfig: Sendable, Equatable {
    public enum SerialProtocol: String, Sendable, CaseIterable {
        case pb840
        case medibus
        case masimoASCII1 = "masimo_ascii1"
        case noninDF2 = "nonin_df2"
        case noninDF8 = "nonin_df8"
    }

    public var id: String
    public var path: String
    public var settings: SerialSettings
    public var serialProtocol: SerialProtocol
    /// For polled protocols (PB840, MEDIBUS): how often to ask.
    public var pollInterval: Double
    public var reconnectMax: Double

    /// The protocol session that talks to the device.
    public func makeSession() -> any SerialSession {
        switch serialProtocol {
        case .pb840: PB840Session(source: id, pollInterval: pollInterval)
        case .medibus: MedibusSession(source: id, pollInterval: pollInterval)
        case .masimoASCII1: StreamingSession(decoder: MasimoASCII1Decoder(source: id))
        case .noninDF2: NoninSession(decoder: NoninDF2Decoder(source: id), format: 2)
        case .noninDF8: NoninSession(decoder: NoninDF8Decoder(source: id), format: 8)
        }
    }

    static func parse(_ node: ConfigNode, id: String, transport: ConfigNode, pollInterval: Double, reconnectMax: Double)
        throws(ConfigError) -> SerialDeviceConfig
    {
        var path: String?, serialProtocol: SerialProtocol?
        var settings = SerialSettings(baud: 9600)
        let keys = ["kind", "protocol", "path", "baud", "parity", "data_bits", "stop_bits", "flow_control"]
        for (key, value) in try transport.mapping(allowed: keys) {
            switch key {
            case "protocol": serialProtocol = try value.oneOf(SerialProtocol.self)
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
        guard let serialProtocol else {
            throw transport.error("missing 'protocol' (one of: \(SerialProtocol.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return SerialDeviceConfig(id: id, path: path, settings: settings, serialProtocol: serialProtocol,
                                  pollInterval: pollInterval, reconnectMax: reconnectMax)
    }
}
