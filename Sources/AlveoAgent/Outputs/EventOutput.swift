import AlveoCore
import AlveoIO
import AlveoOutput
import Foundation

/// How alarm events are written.
package enum EventFormat: String, Sendable, CaseIterable {
    /// One JSON object per line: the contract other tools read.
    case jsonl
    /// Aligned lines for people at a terminal.
    case text
}

/// Writes events to a file descriptor through a buffer, so replay is not bound by one write per event.
package final class EventWriter {
    private let handle: FileHandle
    private let format: EventFormat
    private var buffer: [UInt8] = []
    private let flushEach: Bool
    private let wallClock: Bool

    /// `flushEach`: write every event at once (live use); otherwise buffer (replay). `wallClock`: each
    /// line carries the wall-clock time it was written (live: `"wall_time"` after `"t"` in JSON, the
    /// local time first in text); replay leaves it out, so that replays stay byte-identical.
    package init(handle: FileHandle = .standardOutput, format: EventFormat = .jsonl, flushEach: Bool = false, wallClock: Bool = false) {
        self.handle = handle
        self.format = format
        self.flushEach = flushEach
        self.wallClock = wallClock
        buffer.reserveCapacity(1 << 16)
    }

    package func write(_ event: AlarmEvent) {
        var line = format == .jsonl ? event.jsonLine() : EventWriter.text(event)
        if wallClock {
            let now = Date()
            if format == .jsonl, let comma = line.firstIndex(of: ",") {
                // `{"t":12.5,` : the time has no comma, so the first one ends it.
                line.insert(contentsOf: ",\"wall_time\":\"\(PCD04Message.rfc3339(now))\"", at: comma)
            } else if format == .text {
                line = EventWriter.localTime(now) + "  " + line
            }
        }
        buffer.append(contentsOf: line.utf8)
        buffer.append(UInt8(ascii: "\n"))
        if flushEach || buffer.count >= 1 << 16 { flush() }
    }

    package func flush() {
        guard !buffer.isEmpty else { return }
        // A closed stdout (the reader went away) must not stop the agent: the journal has the events.
        try? handle.write(contentsOf: Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }

    deinit { flush() }

    /// "  0:05:00  START     MEDIUM  lpv.tidal_volume_high  Tidal volume ..."
    package static func text(_ event: AlarmEvent) -> String {
        let seconds = Int64(saturating: event.t.rounded(.down))
        let clock = "\(seconds / 3600):" + pad(seconds / 60 % 60) + ":" + pad(seconds % 60)
        var phase = event.phase == .deescalate ? "DE-ESC" : event.phase.rawValue.uppercased()
        if event.state == .latched { phase = "LATCHED" }
        if event.reason == "acknowledged" && event.phase == .update { phase = "ACK" }
        if event.reason == "reannounce" { phase = "REPEAT" }
        let rule = event.rule.id + (event.source.map { "[\($0)\(event.parameter.map { ".\($0.name)" } ?? "")]" } ?? "")
        return [String(repeating: " ", count: max(0, 9 - clock.count)) + clock,
                phase.padding(8), event.priority.name.uppercased().padding(6), rule.padding(30), terminalSafe(event.text)]
            .joined(separator: "  ")
    }

    /// A line for a terminal: control characters (which no alarm text should hold) as `\xNN`, so
    /// nothing can move the cursor, clear the screen or start a new line.
    static func terminalSafe(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\x" + String(decoding: Hex.digits(of: UInt8(scalar.value)), as: UTF8.self)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// "10:02:07" in the box's time zone, for people at a terminal.
    static func localTime(_ date: Date) -> String {
        LocalTime(date).hoursMinutesSeconds  // not a DateFormatter: ICU's data stays out of memory
    }

    private static func pad(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
