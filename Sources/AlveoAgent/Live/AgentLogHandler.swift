import AlveoCore
import Foundation
import Logging
import Synchronization

/// Log lines on stderr that fit the box: under systemd (`JOURNAL_STREAM` set: stderr is connected to
/// the journal) each line starts with its syslog priority (`<3>` error … `<7>` debug, sd-daemon(3)), so
/// journald keeps levels (`journalctl -p warning`); otherwise the human format
/// (`2026-11-30T10:02:00+0000 info alveo: message key=value`). Metadata is sorted, control characters
/// escaped, and one line is one write.
package struct AgentLogHandler: LogHandler {
    package var metadata: Logger.Metadata = [:]
    package var logLevel: Logger.Level
    private let label: String
    private let journald: Bool

    /// `journald`: prefix priorities (default: when the `JOURNAL_STREAM` environment variable is set).
    package init(label: String, level: Logger.Level, journald: Bool = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil) {
        self.label = label
        self.logLevel = level
        self.journald = journald
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The syslog priority of a level (RFC 5424 severities).
    package static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// One line, without the newline.
    package func line(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, now: Date = Date()) -> String {
        var merged = metadata
        if let extra { merged.merge(extra) { $1 } }
        let fields = merged.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        let text = EventWriter.terminalSafe("\(message)\(fields)")
        if journald { return "<\(AgentLogHandler.priority(level))>\(label): \(text)" }
        return "\(AgentLogHandler.timestamp(now)) \(level) \(label): \(text)"
    }

    /// `2026-11-30T10:02:00Z`: UTC to the second, computed without Foundation's formatters (a formatter
    /// a line cost CPU, and its first use paged in ICU's locale and calendar data: megabytes of the
    /// agent's resident memory, docs/performance.md).
    static func timestamp(_ date: Date) -> String {
        let text = UTCTime.rfc3339(millisecondsSince1970: Int64(saturating: date.timeIntervalSince1970.rounded(.down)) * 1000)
        return text.dropLast(5) + "Z"  // without ".000"
    }

    package func log(event: LogEvent) {
        let bytes = Array((line(level: event.level, message: event.message, metadata: event.metadata) + "\n").utf8)
        AgentLogHandler.lock.withLock { _ in
            // One write(2) per line: lines of different threads never interleave.
            bytes.withUnsafeBytes { raw in
                var written = 0
                while written < raw.count {
                    let n = write(2, raw.baseAddress! + written, raw.count - written)
                    if n < 0, errno == EINTR { continue }
                    guard n > 0 else { return }
                    written += n
                }
            }
        }
    }

    private static let lock = Mutex(())
}
