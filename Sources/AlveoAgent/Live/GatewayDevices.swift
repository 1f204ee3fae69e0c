import AlveoCore
import Logging
import Synchronization

/// The bed's `pcd01` devices, live: what the device gateway's messages (IHE PCD-01, taken by the HL7
/// listener) gave each of them, for `alveo status`, the metrics and the log. A device is "connected"
/// while its messages come: one within the last `upWithin` seconds.
package final class GatewayDevices: Sendable {
    package let devices: [GatewayDeviceConfig]
    package static let upWithin = 30.0
    private let state: Mutex<[String: State]>
    private let logger: Logger

    struct State {
        var health = DeviceHealth()
        var unknownSeen: [String] = []
        var lastNotes: [String] = []
    }

    package init(devices: [GatewayDeviceConfig], logger: Logger) {
        self.devices = devices
        self.logger = logger
        state = Mutex(Dictionary(uniqueKeysWithValues: devices.map { device in
            var state = State()
            state.health.link = "through the device gateway (OBX-18 \(Shown.text(device.equipment.utf8, limit: 64)))"
            return (device.id, state)
        }))
    }

    package func device(_ id: String) -> GatewayDeviceConfig? { devices.first { $0.id == id } }

    /// One message's rows for device `id`, taken at agent time `t`. Codes Alveo does not read are
    /// logged once each (at most 32 per device), as are the notes when they change.
    package func took(_ decoded: PCD01.Decoded, device id: String, at t: Double) {
        let (newCodes, notes) = state.withLock { all -> ([String], [String]) in
            guard var entry = all[id] else { return ([], []) }
            entry.health.frames += 1
            if !decoded.observations.isEmpty { entry.health.lastGood = t }
            var fresh: [String] = []
            for code in decoded.unknownCodes where !entry.unknownSeen.contains(code) && entry.unknownSeen.count < 32 {
                entry.unknownSeen.append(code)
                fresh.append(code)
            }
            var problems: [String] = []
            if decoded.unknown > 0 { problems.append("\(decoded.unknown) row(s) with codes Alveo does not read (\(decoded.unknownCodes.prefix(3).joined(separator: ", ")))") }
            if decoded.stale > 0 { problems.append("\(decoded.stale) value(s) older than max_age_s before the message") }
            if decoded.settings > 0 { problems.append("\(decoded.settings) setting(s), not measurements") }
            if decoded.observations.isEmpty { problems.append("no value Alveo reads in the last message") }
            entry.health.lastProblem = problems.isEmpty ? nil : problems.joined(separator: "; ")
            let notes = decoded.notes == entry.lastNotes ? [] : decoded.notes
            entry.lastNotes = decoded.notes
            all[id] = entry
            return (fresh, notes)
        }
        if !newCodes.isEmpty {
            logger.notice("device gateway: rows with codes Alveo does not read, counted and ignored: \(newCodes.joined(separator: ", "))",
                          metadata: ["device": "\(id)"])
        }
        for note in notes { logger.notice("device gateway: \(note)", metadata: ["device": "\(id)"]) }
    }

    /// Device `id`'s state at agent time `t`.
    package func health(of id: String, at t: Double) -> DeviceHealth {
        var health = state.withLock { $0[id]?.health } ?? DeviceHealth()
        health.connected = health.lastGood.map { t - $0 <= GatewayDevices.upWithin } ?? false
        return health
    }
}
