import Foundation

/// What a clinical engineer reads in a raw trace without replaying it: one line per record (time,
/// device, direction, the bytes as text with escapes), and a per-device summary. For fault reports
/// ("what did the ventilator send at 03:12?") and for checking a capture before sending it on.
public enum TraceListing {
    /// `#index  t  wall-clock (UTC)  device  kind  payload`, e.g.
    /// `#42  12.503000000  2026-11-25T16:53:35.953Z  vent  received 13 B  "\x1B$...\r"`.
    public static func line(_ record: TraceRecord, index: Int) -> String {
        let t = String(format: "%.9f", record.monotonic)
        let device = record.device.isEmpty ? "-" : record.device
        return "#\(index)  \(t)  \(wallTime(record.wallNanoseconds))  \(device)  \(describe(record))"
    }

    /// The record's kind and payload for people.
    public static func describe(_ record: TraceRecord) -> String {
        switch record.kind {
        case .config: "config \(record.payload.count) B (the run's configuration; `alveo trace info` shows it)"
        case .profile: "profile \(record.payload.count) B (the Modbus profile this device was decoded with)"
        case .received: "received \(record.payload.count) B  \(quoted(record.payload))"
        case .sent: "sent \(record.payload.count) B  \(quoted(record.payload))"
        case .modbusRegisters: "registers  \(registers(record.payload))"
        case .pollFailed: "failed  \(String(decoding: record.payload, as: UTF8.self))"
        case .opened: "opened (line open: the protocol session starts)"
        case .tick: "tick (the rules ran)"
        case .end: record.payload.isEmpty ? "end (recording stopped cleanly)" : "end (\(String(decoding: record.payload, as: UTF8.self)))"
        }
    }

    /// Bytes as a quoted string: printable ASCII as is, `\r` `\n` `\t` `\\` `\"`, others `\xNN`.
    public static func quoted(_ bytes: [UInt8]) -> String {
        var text = "\""
        text.reserveCapacity(bytes.count + 2)
        for byte in bytes {
            switch byte {
            case 0x0D: text += "\\r"
            case 0x0A: text += "\\n"
            case 0x09: text += "\\t"
            case 0x5C: text += "\\\\"
            case 0x22: text += "\\\""
            case 0x20...0x7E: text.unicodeScalars.append(Unicode.Scalar(byte))
            default: text += "\\x" + hex(byte)
            }
        }
        return text + "\""
    }

    /// A register block: table, first (0-based PDU) address, count, then the words in hex.
    public static func registers(_ payload: [UInt8]) -> String {
        guard payload.count >= 5 else { return "(malformed block: \(payload.count) B)" }
        let table = switch payload[0] {
        case 3: "holding"
        case 4: "input"
        default: "table \(payload[0])"
        }
        let address = Int(payload[1]) | Int(payload[2]) << 8
        let count = Int(payload[3]) | Int(payload[4]) << 8
        var words: [String] = []
        var index = 5
        while index + 1 < payload.count, words.count < count {
            words.append(hex(payload[index + 1]) + hex(payload[index]))
            index += 2
        }
        let short = words.count < count ? " (only \(words.count) present)" : ""
        return "\(table) \(address)..\(address + count - 1) (\(count))\(short): \(words.joined(separator: " "))"
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }

    /// Nanoseconds since 1970 as RFC 3339 UTC with milliseconds.
    public static func wallTime(_ nanoseconds: Int64) -> String {
        let milliseconds = nanoseconds / 1_000_000
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let fraction = Int(milliseconds - seconds * 1000)
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), fraction)
    }
}

/// Counts what a trace holds, per device: for `alveo trace info`.
public struct TraceSummary: Sendable, Equatable {
    public struct Device: Sendable, Equatable {
        public var opened = 0
        public var receivedRecords = 0
        public var receivedBytes = 0
        public var sentRecords = 0
        public var sentBytes = 0
        public var registerBlocks = 0
        public var failed = 0
        public var lastFailure: String?
        public var firstT: Double?
        public var lastT: Double?
    }

    public var records = 0
    public var ticks = 0
    public var bytes = 0
    public var configuration: String?
    public var firstWall: Int64?
    public var lastWall: Int64?
    public var lastT = 0.0
    /// The end record was found: the recording stopped cleanly.
    public var ended = false
    /// Why the recording stopped while the agent ran on (the end record's text), if it did.
    public var endReason: String?
    public var devices: [String: Device] = [:]

    public init() {}

    public mutating func add(_ record: TraceRecord) {
        records += 1
        bytes += 4 + 18 + record.device.utf8.count + record.payload.count + 4
        if record.kind == .config {
            configuration = String(decoding: record.payload, as: UTF8.self)
        } else {
            if firstWall == nil { firstWall = record.wallNanoseconds }
            lastWall = record.wallNanoseconds
        }
        lastT = max(lastT, record.monotonic)
        switch record.kind {
        case .tick: ticks += 1
        case .end:
            ended = true
            if !record.payload.isEmpty { endReason = String(decoding: record.payload, as: UTF8.self) }
        case .config: break
        case .profile: devices[record.device] = devices[record.device] ?? Device()  // listed even if it never answered
        case .opened, .received, .sent, .modbusRegisters, .pollFailed:
            var device = devices[record.device, default: Device()]
            device.firstT = device.firstT ?? record.monotonic
            device.lastT = record.monotonic
            switch record.kind {
            case .opened: device.opened += 1
            case .received:
                device.receivedRecords += 1
                device.receivedBytes += record.payload.count
            case .sent:
                device.sentRecords += 1
                device.sentBytes += record.payload.count
            case .modbusRegisters: device.registerBlocks += 1
            default:
                device.failed += 1
                device.lastFailure = String(decoding: record.payload, as: UTF8.self)
            }
            devices[record.device] = device
        }
    }

    /// The summary for people; `problem` is why the reader stopped early, if it did.
    public func text(path: String, problem: String?) -> String {
        var out = "\(path): raw trace, format version \(RawTrace.version), \(records) records\n"
        if let firstWall, let lastWall {
            out += "recorded \(TraceListing.wallTime(firstWall)) to \(TraceListing.wallTime(lastWall)) (UTC), "
        }
        out += "\(String(format: "%.1f", lastT)) s of agent time, \(ticks) clock ticks\n"
        if let problem {
            out += "ends early: \(problem) (replay stops there with a warning)\n"
        } else {
            let ending = if let endReason { "ended early, the agent running on: \(endReason)\n" } else if ended {
                "ended cleanly (end record)\n"
            } else {
                "no end record: the recording was cut off (power loss, kill -9) or is still being written\n"
            }
            out += ending
        }
        for (id, device) in devices.sorted(by: { $0.key < $1.key }) {
            var parts: [String] = []
            if device.opened > 0 { parts.append("opened \(device.opened)×") }
            if device.receivedRecords > 0 { parts.append("received \(device.receivedBytes) B in \(device.receivedRecords) reads") }
            if device.sentRecords > 0 { parts.append("sent \(device.sentBytes) B in \(device.sentRecords) writes") }
            if device.registerBlocks > 0 { parts.append("\(device.registerBlocks) register blocks") }
            parts.append("\(device.failed) failed")
            if let first = device.firstT, let last = device.lastT {
                parts.append(String(format: "from %.1f s to %.1f s", first, last))
            }
            out += "  \(id): \(parts.joined(separator: ", "))\n"
            if let lastFailure = device.lastFailure { out += "    last failure: \(lastFailure)\n" }
        }
        return out
    }
}
