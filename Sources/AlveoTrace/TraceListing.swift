import AlveoCore
import Foundation

/// What a clinical engineer reads in a raw trace without replaying it: one line per record (time,
/// device, direction, the bytes as text with escapes), and a per-device summary. For fault reports
/// ("what did the ventilator send at 03:12?") and for checking a capture before sending it on.
package enum TraceListing {
    /// `#index  t  wall-clock (UTC)  device  kind  payload`, e.g.
    /// `#42  12.503000000  2026-11-25T16:53:35.953Z  vent  received 13 B  "\x1B$...\r"`.
    package static func line(_ record: TraceRecord, index: Int) -> String {
        let t = String(format: "%.9f", record.monotonic)
        let device = record.device.isEmpty ? "-" : escaped(record.device)
        return "#\(index)  \(t)  \(wallTime(record.wallNanoseconds))  \(device)  \(describe(record))"
    }

    /// The record's kind and payload for people.
    package static func describe(_ record: TraceRecord) -> String {
        switch record.kind {
        case .config: "config \(record.payload.count) B (the run's configuration; `alveo trace info` shows it)"
        case .profile: "profile \(record.payload.count) B (the Modbus profile this device was decoded with)"
        case .received: "received \(record.payload.count) B  \(quoted(record.payload))"
        case .sent: "sent \(record.payload.count) B  \(quoted(record.payload))"
        case .modbusRegisters: "registers  \(registers(record.payload))"
        case .pollFailed: "failed  \(escaped(record.payload))"
        case .opened: "opened (line open: the protocol session starts)"
        case .tick: "tick (the rules ran)"
        case .entry: "entry  \(escaped(record.payload))"
        case .lifecycle: "lifecycle  \(escaped(record.payload))"
        case .end: record.payload.isEmpty ? "end (recording stopped cleanly)" : "end (\(escaped(record.payload)))"
        }
    }

    /// Bytes as a quoted string: printable ASCII as is, `\r` `\n` `\t` `\\` `\"`, others `\xNN`.
    package static func quoted(_ bytes: [UInt8]) -> String {
        "\"" + escaped(bytes) + "\""
    }

    /// Text from the file (device ids, failure reasons) made safe for one line of a terminal: the
    /// escapes of `quoted`, without the quotes.
    package static func escaped(_ text: String) -> String { escaped(Array(text.utf8)) }

    /// Multi-line text from the file (a recorded configuration or profile) for a terminal: lines and
    /// tabs kept, every other control character (C0, DEL, C1) as `\xNN` or `\u{NN}`, so a crafted
    /// trace cannot send escape sequences.
    package static func escapedLines(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0A, 0x09: out.unicodeScalars.append(scalar)
            case 0..<0x20, 0x7F: out += "\\x" + Hex.byte(UInt8(scalar.value))
            case 0x80...0x9F: out += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    package static func escaped(_ bytes: [UInt8]) -> String {
        var text = ""
        text.reserveCapacity(bytes.count)
        for byte in bytes {
            switch byte {
            case 0x0D: text += "\\r"
            case 0x0A: text += "\\n"
            case 0x09: text += "\\t"
            case 0x5C: text += "\\\\"
            case 0x22: text += "\\\""
            case 0x20...0x7E: text.unicodeScalars.append(Unicode.Scalar(byte))
            default: text += "\\x" + Hex.byte(byte)
            }
        }
        return text
    }

    /// A register block: table, first (0-based PDU) address, count, then the words in hex.
    package static func registers(_ payload: [UInt8]) -> String {
        guard let block = RegisterBlock(payload: payload) else { return "(malformed block: \(payload.count) B)" }
        let table = switch block.table {
        case RegisterBlock.holding: "holding"
        case RegisterBlock.input: "input"
        default: "table \(block.table)"
        }
        guard block.count > 0 else { return "\(table) at \(block.address) (0 registers)" }
        var notes = ""
        if block.registers.count < block.count { notes += " (only \(block.registers.count) present)" }
        if block.extraBytes > 0 { notes += " (\(block.extraBytes) B after them)" }
        return "\(table) \(block.address)..\(block.address + block.count - 1) (\(block.count))\(notes): "
            + block.registers.map(Hex.word).joined(separator: " ")
    }

    /// Nanoseconds since 1970 as RFC 3339 UTC with milliseconds (rounded down, also before 1970).
    package static func wallTime(_ nanoseconds: Int64) -> String {
        UTCTime.rfc3339(millisecondsSince1970: UTCTime.floorDivide(nanoseconds, 1_000_000).quotient)
    }
}

/// A time to list a trace from or to, as people give it: agent seconds (`192.5`), agent time as
/// `trace info` prints it (`0:03:12`, `3:12`), or a wall-clock time in UTC (`2026-11-25T03:12:00Z`).
package enum TraceTimeBound: Sendable, Equatable {
    /// Seconds of agent time since the recording started.
    case agent(Double)
    /// Wall-clock nanoseconds since 1970.
    case wall(Int64)

    package init?(_ text: String) {
        if let milliseconds = UTCTime.parse(rfc3339: text) {
            // Years past 2262 or before 1677 are beyond Int64 nanoseconds: no trace is from then.
            let (nanoseconds, overflow) = milliseconds.multipliedReportingOverflow(by: 1_000_000)
            guard !overflow else { return nil }
            self = .wall(nanoseconds)
            return
        }
        guard text.utf8.count <= 64 else { return nil }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count) else { return nil }
        var seconds = 0.0
        for (index, part) in parts.enumerated() {
            let last = index == parts.count - 1
            guard let value = last ? Double(part) : Double(Int(part) ?? -1), value.isFinite, value >= 0,
                  index == 0 || value < 60 else { return nil }
            seconds = seconds * 60 + value
        }
        self = .agent(seconds)
    }

    /// The record's time on this bound's clock, to compare with it.
    func time(of record: TraceRecord) -> Double {
        switch self {
        case .agent: record.monotonic
        case .wall: Double(record.wallNanoseconds)
        }
    }

    var value: Double {
        switch self {
        case .agent(let seconds): seconds
        case .wall(let nanoseconds): Double(nanoseconds)
        }
    }

    /// Whether this bound is later than `other`; nil when they are on different clocks.
    package func isLater(than other: TraceTimeBound) -> Bool? {
        switch (self, other) {
        case (.agent, .agent), (.wall, .wall): value > other.value
        default: nil
        }
    }

    package func isBefore(_ record: TraceRecord) -> Bool { value < time(of: record) }
    package func isAfter(_ record: TraceRecord) -> Bool { value > time(of: record) }

    /// How far past this bound the record is, in seconds (to stop reading well past a `--to`).
    package func secondsPast(_ record: TraceRecord) -> Double {
        switch self {
        case .agent: time(of: record) - value
        case .wall: (time(of: record) - value) / 1e9
        }
    }
}

/// Counts what a trace holds, per device: for `alveo trace info`.
package struct TraceSummary: Sendable, Equatable {
    package struct Device: Sendable, Equatable {
        package var opened = 0
        package var receivedRecords = 0
        package var receivedBytes = 0
        package var sentRecords = 0
        package var sentBytes = 0
        package var registerBlocks = 0
        package var failed = 0
        package var lastFailure: String?
        package var firstT: Double?
        package var lastT: Double?
    }

    package var records = 0
    package var ticks = 0
    /// Entries from people and the hospital (charted values, acknowledgements, patients).
    package var entries = 0
    package var configuration: String?
    package var firstWall: Int64?
    package var lastWall: Int64?
    package var lastT = 0.0
    /// The end record was found: the recording stopped cleanly.
    package var ended = false
    /// Why the recording stopped while the agent ran on (the end record's text), if it did.
    package var endReason: String?
    package var devices: [String: Device] = [:]

    package init() {}

    /// Records found after the end record: not written by this recording (the writer takes nothing
    /// after it; two traces concatenated, say), so not counted; replay ignores them too.
    package var afterEnd = 0

    package mutating func add(_ record: TraceRecord) {
        guard !ended else {
            afterEnd += 1
            return
        }
        records += 1
        if record.kind == .config {
            configuration = String(decoding: record.payload, as: UTF8.self)
        } else {
            if firstWall == nil { firstWall = record.wallNanoseconds }
            lastWall = record.wallNanoseconds
        }
        lastT = max(lastT, record.monotonic)
        switch record.kind {
        case .tick: ticks += 1
        case .entry, .lifecycle: entries += 1
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

    /// The summary for people; `problem` is why the reader stopped early, if it did; `damage` the
    /// corrupt stretches it skipped.
    package func text(path: String, problem: String?, damage: [String] = []) -> String {
        var out = "\(path): raw trace, format version \(RawTrace.version), \(records) records\n"
        if let firstWall, let lastWall {
            out += "recorded \(TraceListing.wallTime(firstWall)) to \(TraceListing.wallTime(lastWall)) (UTC), "
        }
        out += "\(Self.duration(lastT)) of agent time, \(Self.counted(ticks, "clock tick"))"
            + (entries > 0 ? ", \(Self.counted(entries, "entry")) from people or the hospital" : "") + "\n"
        if let problem {
            out += "ends early: \(problem) (replay stops there with a warning)\n"
        } else if let endReason {
            out += "ended early, the agent running on: \(TraceListing.escaped(endReason))\n"
        } else if ended {
            out += "ended cleanly (end record)\n"
        } else {
            out += "no end record: the recording was cut off (power loss, kill -9) or is still being written\n"
        }
        for stretch in damage { out += "damaged: \(stretch) (the records in it are lost)\n" }
        if afterEnd > 0 {
            out += "\(Self.counted(afterEnd, "record")) after the end record: not part of this recording (two traces joined?); not counted, and replay ignores them\n"
        }
        for (id, device) in devices.sorted(by: { $0.key < $1.key }) {
            var parts: [String] = []
            if device.opened > 0 { parts.append("opened \(Self.counted(device.opened, "time"))") }
            if device.receivedRecords > 0 { parts.append("received \(device.receivedBytes) B in \(Self.counted(device.receivedRecords, "read"))") }
            if device.sentRecords > 0 { parts.append("sent \(device.sentBytes) B in \(Self.counted(device.sentRecords, "write"))") }
            if device.registerBlocks > 0 { parts.append(Self.counted(device.registerBlocks, "register block")) }
            parts.append("\(device.failed) failed")
            if let first = device.firstT, let last = device.lastT {
                parts.append("from \(Self.duration(first)) to \(Self.duration(last))")
            }
            out += "  \(TraceListing.escaped(id)): \(parts.joined(separator: ", "))\n"
            if let lastFailure = device.lastFailure { out += "    last failure: \(TraceListing.escaped(lastFailure))\n" }
        }
        return out
    }

    /// "1 read", "2 reads".
    static func counted(_ count: Int, _ noun: String) -> String {
        count == 1 ? "1 \(noun)" : "\(count) \(noun.hasSuffix("y") ? String(noun.dropLast()) + "ies" : noun + "s")"
    }

    /// Agent time for people: "12.3 s" under a minute, else "72:00:05" (h:mm:ss).
    static func duration(_ seconds: Double) -> String {
        guard seconds >= 60, seconds.isFinite else { return String(format: "%.1f s", seconds) }
        let whole = Int(saturating: seconds)
        return String(format: "%d:%02d:%02d", whole / 3600, whole / 60 % 60, whole % 60)
    }
}
