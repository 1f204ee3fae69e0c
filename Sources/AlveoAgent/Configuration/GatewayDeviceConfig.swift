import AlveoCore
import Foundation
import Yams

/// A device whose values reach Alveo through the hospital's device-integration gateway (Capsule,
/// IntelliBridge Enterprise, a GE or Mindray gateway) as IHE PCD-01 observations (ORU^R01 over MLLP) on
/// the HL7 listener (`inputs.hl7.device_gateway`), rather than over a line of its own:
/// `transport: {kind: pcd01, equipment: ID}`. `ID` is how the gateway names the device in OBX-18
/// (its name, component 1, or its EUI-64, component 3; devices/pcd01/README.md).
package struct GatewayDeviceConfig: Sendable, Equatable {
    package var id: String
    /// OBX-18 component 1 or 3 of the device's rows (compared without regard to case).
    package var equipment: String
    /// A periodic value whose own time (OBX-14) is older than this before the message's (MSH-7) is
    /// not taken: it is not of now. A cuff pressure keeps its own time instead.
    package var maxAge: Double

    package static let defaultMaxAge = 60.0
    static let transportKeys = ["kind", "equipment", "max_age_s"]

    package init(id: String, equipment: String, maxAge: Double = GatewayDeviceConfig.defaultMaxAge) {
        self.id = id
        self.equipment = equipment
        self.maxAge = maxAge
    }

    /// True when OBX-18's identifiers of a row (its name, its EUI-64) name this device.
    package func matches(_ identifiers: [String]) -> Bool {
        identifiers.contains { $0.caseInsensitiveCompare(equipment) == .orderedSame }
    }

    static func parse(_ node: ConfigNode, id: String, transport: ConfigNode) throws(ConfigError) -> GatewayDeviceConfig {
        var equipment: String?, maxAge = defaultMaxAge
        for (key, value) in try transport.mapping(allowed: transportKeys) {
            switch key {
            case "equipment":
                let text = try value.string()
                guard !text.isEmpty, text.utf8.count <= 64, text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && !"|^~\\&".unicodeScalars.contains($0) }) else {
                    throw value.error("give the device as the gateway names it in OBX-18: its name (component 1) or its EUI-64 (component 3), e.g. 00A037FFFE123456; printable, no HL7 separators, at most 64 characters")
                }
                equipment = text
            case "max_age_s": maxAge = try value.number(in: 1...3600, unit: "s")
            default: break
            }
        }
        guard let equipment else {
            throw transport.error("missing 'equipment': the device's name or EUI-64 as the gateway sends it in OBX-18 (devices/pcd01/README.md)")
        }
        for key in ["profile", "poll_interval_s", "reconnect_max_s"] where node.node[key] != nil {
            throw node.error("'\(key)' does not apply to a pcd01 device: the gateway sends when it has values")
        }
        return GatewayDeviceConfig(id: id, equipment: equipment, maxAge: maxAge)
    }
}
