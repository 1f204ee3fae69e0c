import AlveoCore
import AlveoIO
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What the journal could not take before a stop (its file system read-only, full or failing): kept
/// in a spill file in another directory (`outputs.journal.spill_directory`), one JSON object per line,
/// and journaled — with their own run's id — when a later run opens the journal (issue 23: a stop
/// during a journal failure silently dropped the events held in memory, `monitoring_stopped` and the
/// alarm ends included). Where no spill directory is set or it cannot be written, the lines go to
/// stderr (the system journal under systemd), each behind `alveo-unjournaled: `, so nothing is lost
/// without a trace.
package enum JournalSpill {
    /// A spill file's name starts so; the run id follows.
    static let prefix = "spill-"
    /// The most lines read back from one spill file (a run holds at most `JournalWriter.backlogLimit`).
    static let maxLines = 20_000
    static let maxBytes = 256 << 20

    /// One line of a spill file.
    static func encode(_ line: Journal.Line, run: String) -> String {
        var members: [(String, JSONValue)] = [("run", .string(run)), ("kind", .string(line.kind)), ("json", .string(line.json))]
        if !line.before.isEmpty { members.append(("before", .string(line.before))) }
        if let wall = line.wallTime { members.append(("wall_time", .string(wall))) }
        var text = ""
        JSONValue.object(members).write(to: &text)
        return text
    }

    /// A spill file's line read back (nil: not one).
    package static func decode(_ bytes: some Collection<UInt8>) -> (run: String, line: Journal.Line)? {
        guard let object = JSONValue.parse(bytes),
              let run = object["run"]?.text, !run.isEmpty, run.utf8.count <= 64,
              !run.unicodeScalars.contains(where: { $0.value < 0x21 || $0 == "\"" || $0 == "\\" || $0.value > 0x7E }),
              let kind = object["kind"]?.text, Journal.spillableKinds.contains(kind),
              let json = object["json"]?.text, json.utf8.count <= 1 << 20,
              // The value must be one JSON value of its kind's shape: a journal line is never made of a
              // broken or a smuggled one.
              let value = JSONValue.parse(json.utf8)
        else { return nil }
        switch kind {
        case "event": guard (try? AlarmEvent(journal: value)) != nil else { return nil }
        case "agent": guard value.text != nil else { return nil }
        default: guard value.isObject else { return nil }
        }
        let before = object["before"]?.text ?? ""
        if !before.isEmpty {
            // Exactly `,"patient":{…}`: read back as an object with that one member.
            guard kind == "event", before.hasPrefix(",\"patient\":{"), before.utf8.count <= 4096,
                  let members = JSONValue.parse(("{" + before.dropFirst() + "}").utf8)?.members,
                  members.count == 1, members[0].0 == "patient", members[0].1.isObject
            else { return nil }
        }
        let wall = object["wall_time"]?.text
        guard wall.map({ $0.utf8.count <= 40 && PCD04Message.parseRFC3339($0) != nil }) ?? true else { return nil }
        return (run, Journal.Line(kind: kind, json: json, before: before, wallTime: wall))
    }

    /// Writes `lines` to a new spill file in `directory` (created private), fsynced; its path.
    static func write(_ lines: [Journal.Line], run: String, directory: String) throws(PrivateFiles.Failure) -> String {
        try PrivateFiles.createDirectory(directory)
        var path = directory + "/" + prefix + run + ".jsonl"
        var suffix = 1
        while FileManager.default.fileExists(atPath: path) {
            suffix += 1
            path = directory + "/" + prefix + run + "-\(suffix).jsonl"
        }
        var text = ""
        for line in lines { text += encode(line, run: run) + "\n" }
        try PrivateFiles.write(path, contents: Array(text.utf8))
        return path
    }

    /// Writes `lines` to stderr, one per line: the last place they can go.
    static func toStandardError(_ lines: [Journal.Line], run: String) {
        for line in lines {
            let text = "alveo-unjournaled: " + encode(line, run: run) + "\n"
            _ = text.utf8CString.withUnsafeBufferPointer { buffer in Glibc.write(2, buffer.baseAddress, buffer.count - 1) }
        }
    }

    /// The spill files in `directory`, oldest run first.
    static func files(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix(prefix) && $0.hasSuffix(".jsonl") }.sorted().map { directory + "/" + $0 }
    }
}
