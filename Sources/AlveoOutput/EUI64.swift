import AlveoIO
import Foundation

/// The agent's IEEE EUI-64, carried in MSH-3, OBR-3 and OBX-18 of every PCD-04 message (16 upper-case
/// hex digits). Configured (`outputs.hl7.eui64`, e.g. one assigned from the hospital's or the
/// vendor's OUI), or derived from the machine id: HMAC-SHA-256 keyed with an Alveo-specific key over
/// /etc/machine-id, first 8 bytes, with the "locally administered" bit set and the group bit clear
/// (IEEE 802: bits 1 and 0 of the first octet), so it can never collide with an OUI-assigned identifier.
/// systemd's machine-id(5) asks applications not to expose the machine id itself, only a keyed hash of
/// it; the MAC (the reference's suggestion) changes with a replaced network card or a VM's restart.
package enum EUI64 {
    /// The configured text as an EUI-64: 16 hex digits, optionally grouped by `-` or `:`; nil if not one.
    package static func normalised(_ text: String) -> String? {
        let digits = text.filter { $0 != "-" && $0 != ":" }
        guard digits.count == 16, digits.allSatisfy(\.isHexDigit) else { return nil }
        return digits.uppercased()
    }

    /// The identifier derived from a machine id (stable for the machine, locally administered).
    package static func derived(machineID: String) -> String {
        let key = Array("alveo.eui64.v1".utf8)
        let digest = Digest.hmacSHA256(key: key, message: Array(machineID.trimmingCharacters(in: .whitespacesAndNewlines).utf8))
        var bytes = Array(digest.prefix(8))
        bytes[0] = (bytes[0] | 0x02) & 0xFE
        return bytes.map { String(format: "%02X", $0) }.joined()
    }

    /// This machine's derived identifier and what it was derived from (the machine id files; the host
    /// name when neither exists, as in some containers).
    package static func forThisMachine() -> (value: String, from: String) {
        for path in ["/etc/machine-id", "/var/lib/dbus/machine-id"] {
            if let text = try? String(contentsOfFile: path, encoding: .utf8),
               !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            {
                return (derived(machineID: text), path)
            }
        }
        return (derived(machineID: "host:" + ProcessInfo.processInfo.hostName), "the host name (no machine id)")
    }
}
