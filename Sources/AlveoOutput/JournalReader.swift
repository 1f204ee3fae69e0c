import AlveoCore
import Foundation

/// Reads journal entries in order after a position, following appends.
package struct JournalReader {
    package let directory: String
    private var segmentPath: String?
    private var offset = 0
    private var buffer = Data()
    /// Bytes of `buffer` already returned as lines: a line is read in place, never by copying the
    /// rest of the buffer after it (which made reading N buffered lines quadratic: a forwarder started
    /// at the beginning of a full 16 MiB segment took 14 s to read it instead of 0.8 s).
    private var consumed = 0
    private var position: Int64

    package init(directory: String, after position: Int64) {
        self.directory = directory
        self.position = position
    }

    /// The next entry after the last one returned, or nil if none has been written yet.
    package mutating func next() -> JournalEntry? {
        while true {
            if segmentPath == nil {
                // The segment holding position + 1: the last one whose first seq is ≤ it.
                let segments = Journal.segments(in: directory)
                guard let segment = segments.last(where: { $0.firstSeq <= position + 1 }) ?? segments.first else { return nil }
                segmentPath = segment.path
                offset = 0
                buffer = Data()
                consumed = 0
            }
            guard let path = segmentPath else { return nil }
            if let newline = buffer[(buffer.startIndex + consumed)...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[(buffer.startIndex + consumed)..<newline]
                consumed = newline + 1 - buffer.startIndex
                guard let entry = JournalEntry.decode(line: Data(line)) else { continue }
                if entry.seq <= position { continue }
                position = entry.seq
                return entry
            }
            // Read more of this segment, or move to the next one.
            if let file = FileHandle(forReadingAtPath: path) {
                defer { try? file.close() }
                try? file.seek(toOffset: UInt64(offset))
                let more = file.readDataToEndOfFile()
                if !more.isEmpty {
                    offset += more.count
                    // What is left is at most a line being written: dropping the rest is cheap.
                    buffer = Data(buffer[(buffer.startIndex + consumed)...]) + more
                    consumed = 0
                    continue
                }
            }
            let segments = Journal.segments(in: directory)
            if let next = segments.first(where: { $0.path > path }), buffer.count == consumed {
                segmentPath = next.path
                offset = 0
                buffer = Data()
                consumed = 0
                continue
            }
            return nil
        }
    }
}

extension JournalEntry {
    /// One journal line (without its newline), parsed once: nil if it is not a journal line (no JSON
    /// object, no `seq`). An event in it becomes a typed `AlarmEvent`, or is marked unreadable, to
    /// be parked, never guessed at; its text is kept as written, for parking.
    package static func decode(line: Data) -> JournalEntry? {
        guard let object = JSONValue.parse(line), let seq = object["seq"]?.number.map({ Int64(saturating: $0) }),
              let text = String(data: line, encoding: .utf8) else { return nil }
        var content = Content.record
        var eventJSON = ""
        if let event = object["event"] {
            // `,"event":` with its quote unescaped can only be the key: inside a JSON string a quote is
            // always preceded by a backslash. It is the last key of the line.
            if let start = text.range(of: ",\"event\":") { eventJSON = String(text[start.upperBound...].dropLast()) }
            do { content = .alarm(try AlarmEvent(journal: event)) } catch { content = .unreadable(error.description) }
        }
        var entry = JournalEntry(seq: seq, run: object["run"]?.text, wallTime: object["wall_time"]?.text,
                                 eventJSON: eventJSON, content: content)
        if let patient = object["patient"], patient.isObject { entry.patient = JournalPatient(patient) }
        return entry
    }
}
