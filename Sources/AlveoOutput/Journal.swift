import AlveoCore
import AlveoIO
import Foundation
import Metrics
#if canImport(Glibc)
import Glibc
#endif

/// fsync of a directory, so that a new or renamed file in it survives a power cut.
func syncDirectory(_ path: String) {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return }
    fsync(fd)
    close(fd)
}

/// A problem with the journal, naming the file.
package struct JournalError: Error, CustomStringConvertible {
    package var path: String
    package var message: String
    /// Another Alveo process holds the journal: a configuration mistake, never waited out.
    package var inUse = false
    package var description: String { "\(path): \(message)" }

    package init(path: String, message: String, inUse: Bool = false) {
        self.path = path
        self.message = message
        self.inUse = inUse
    }
}

/// The alarm journal: every event appended as one JSON line and fsync'ed before it counts as recorded.
/// It is the source of truth the forwarders read from. Segments are named by their first sequence
/// number (`journal-000000000001.jsonl`); a new one starts when the current one exceeds
/// `segmentMaxBytes`. Old segments are removed only once every forwarder has delivered them.
package final class Journal {
    package let directory: String
    package let segmentMaxBytes: Int
    /// What recovery found at open: torn or unreadable trailing bytes set aside.
    package private(set) var recovery: [String] = []
    package private(set) var lastSeq: Int64 = 0
    /// Identifies this run of the agent in every entry it writes (identifiers such as HL7 alarm
    /// references restart with each run; with the run id they stay unique). Unique and increasing
    /// within a journal: a run started in the same second as the last one, or after the clock was set
    /// back, gets the last run's id with a suffix (`20261125T164100Z-2`, `-3`, …).
    package private(set) var runID: String
    /// The run id of the last entry found at open (nil for a new journal).
    private var lastRunID: String?
    private var handle: FileHandle?
    private let lockDescriptor: Int32
    private var segmentPath: String?
    private var segmentSize = 0
    /// The alarms still open, as the journal says (kept as events are appended).
    package private(set) var ledger = AlarmLedger()
    /// What the journal held when it was opened: the previous runs' open alarms, and when they were
    /// last heard of (nil for a new journal).
    package private(set) var previous: PreviousRun?
    /// The lock file's modification time at open: the last sign of life of the previous run
    /// (`markAlive`).
    private var lastAlive: Date?

    /// `spillDirectory`: where an earlier run left what it could not journal at its stop
    /// (`JournalSpill`); those lines are journaled first, with their own run's id, and the files removed.
    package init(directory: String, segmentMaxBytes: Int = 16 << 20, runID: String = Journal.newRunID(),
                spillDirectory: String? = nil) throws(JournalError) {
        self.directory = directory
        self.segmentMaxBytes = segmentMaxBytes
        self.runID = runID
        do {
            try PrivateFiles.createDirectory(directory)
        } catch {
            throw JournalError(path: directory, message: "cannot create the journal directory: \(error.message)")
        }
        // One writer per journal: a second process (say `alveo deliver` beside a running agent) would
        // "recover" a line the agent is still writing.
        let lockPath = directory + "/.lock"
        // O_CLOEXEC: a child process must not inherit (and so keep holding) the lock.
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else {
            throw JournalError(path: lockPath, message: "cannot open the journal lock: \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw JournalError(path: directory, message: "the journal is in use by another Alveo process (stop it first)", inUse: true)
        }
        lockDescriptor = descriptor
        var status = stat()
        if fstat(descriptor, &status) == 0, status.st_size >= 0 {
            lastAlive = Date(timeIntervalSince1970: Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9)
        }
        try recover()
        if let spillDirectory { try importSpills(from: spillDirectory) }
        rebuildLedger()
        self.runID = Journal.runID(runID, after: lastRunID)
    }

    /// `candidate` if it sorts after the journal's last run id, else the last one with the next suffix.
    static func runID(_ candidate: String, after last: String?) -> String {
        guard let last else { return candidate }
        let parts = last.split(separator: "-", maxSplits: 1)
        let base = String(parts[0])
        if candidate > base, !candidate.contains("-") { return candidate }
        let suffix = parts.count > 1 ? Int(parts[1]) ?? 1 : 1
        return "\(base)-\(suffix + 1)"
    }

    deinit {
        try? handle?.close()
        close(lockDescriptor)  // releases the lock
    }

    /// A run id from the wall clock, e.g. "20261125T164100Z".
    package static func newRunID(now: Date = Date()) -> String {
        // From the RFC 3339 text, without Foundation's DateFormatter (whose first use pages in ICU's
        // locale data: megabytes of the agent's resident memory, docs/performance.md).
        let text = UTCTime.rfc3339(millisecondsSince1970: Int64(saturating: now.timeIntervalSince1970.rounded(.down)) * 1000)
        return String(text.prefix(19).filter { $0 != "-" && $0 != ":" }) + "Z"
    }

    /// Segment files in order.
    package static func segments(in directory: String) -> [(firstSeq: Int64, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> (Int64, String)? in
            guard name.hasPrefix("journal-"), name.hasSuffix(".jsonl"),
                  let seq = Int64(name.dropFirst("journal-".count).dropLast(".jsonl".count)) else { return nil }
            return (seq, directory + "/" + name)
        }.sorted { $0.0 < $1.0 }
    }

    /// Finds the last sequence number; sets aside a torn last line (power cut mid-write) or an
    /// unreadable one, reporting it, never failing because of it.
    private func recover() throws(JournalError) {
        guard let last = Journal.segments(in: directory).last else { return }
        guard let data = FileManager.default.contents(atPath: last.path) else {
            throw JournalError(path: last.path, message: "cannot read the journal segment")
        }
        var keep = data.count
        if let lastByte = data.last, lastByte != UInt8(ascii: "\n") {
            keep = (data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 }) ?? 0
        }
        // The last complete line must parse; a half-flushed block can leave garbage that ends in "\n".
        while keep > 0 {
            let start = data[..<(keep - 1)].lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
            let line = data[start..<(keep - 1)]
            if let seq = Journal.sequence(of: Data(line)) {
                lastSeq = seq
                lastRunID = Journal.run(of: Data(line))
                break
            }
            keep = start
        }
        if keep < data.count {
            let aside = last.path + ".torn-\(data.count - keep)b-at-\(keep)"
            do { try PrivateFiles.write(aside, contents: data[keep...]) } catch {
                throw JournalError(path: aside, message: "cannot set the torn bytes aside: \(error.message)")
            }
            do {
                let file = try FileHandle(forWritingTo: URL(fileURLWithPath: last.path))
                try file.truncate(atOffset: UInt64(keep))
                try file.synchronize()
                try file.close()
            } catch {
                throw JournalError(path: last.path, message: "cannot truncate the torn last line: \(error.localizedDescription)")
            }
            recovery.append("\(last.path): \(data.count - keep) bytes after offset \(keep) were torn or unreadable; set aside in \(aside)")
        }
        if lastSeq == 0, keep == 0, last.firstSeq > 1 { lastSeq = last.firstSeq - 1 }
        if lastRunID == nil, let previous = Journal.segments(in: directory).dropLast().last,
           let data = FileManager.default.contents(atPath: previous.path)
        {
            // A fresh segment after rotation: the last run is in the one before.
            let lines = data.split(separator: UInt8(ascii: "\n"))
            lastRunID = lines.last.flatMap { Journal.run(of: Data($0)) }
        }
        segmentPath = last.path
        segmentSize = keep
    }

    static func run(of line: Data) -> String? {
        JSONValue.parse(line)?["run"]?.text
    }

    static func sequence(of line: Data) -> Int64? {
        JSONValue.parse(line)?["seq"]?.number.map { Int64(saturating: $0) }
    }

    /// One journal line's kind and content before it has a number: what `append` writes, and what a
    /// spill file keeps when the journal cannot be written at a stop (`JournalSpill`).
    package struct Line: Sendable, Equatable {
        /// "event", "entry" or "input".
        package var kind: String
        /// The JSON value under `kind`.
        package var json: String
        /// Members written before it (an event's `"patient"`), with their leading comma.
        package var before: String
        package var wallTime: String?
    }

    /// A charted or lab entry the core accepted, as a journal line.
    package static func line(entry observation: Observation, t: Double, wallTime: String?) -> Line {
        let value: JSONValue = switch observation.value {
        case .number(let number): .number(number)
        case .noData: .null
        case .position(let position): .string(position.rawValue)
        case .sensor(let state): .string(state.rawValue)
        case .ack(let rule): .string(rule.id)
        case .unusable(let text): .string(text)
        case .ecmo(let mode): .string(mode.rawValue)
        case .yesNo(let yes): .string(yes ? "yes" : "no")
        }
        var members: [(String, JSONValue)] = [("t", .number(t)), ("source", .string(observation.source)),
                                              ("parameter", .string(observation.parameter.name)), ("value", value)]
        if let sampled = observation.sampledAt { members.append(("sampled_t", .number(sampled))) }
        if observation.corrects { members.append(("corrects", .bool(true))) }
        var json = ""
        JSONValue.object(members).write(to: &json)
        return Line(kind: "entry", json: json, before: "", wallTime: wallTime)
    }

    /// An event as a journal line; `patient`: who it is about when the bed's patient came from an
    /// admission (the forwarders put it in PID; see `JournalEntry.patient`).
    package static func line(_ event: AlarmEvent, wallTime: String?, patient: JournalPatient?) -> Line {
        Line(kind: "event", json: event.jsonLine(), before: patient.map { ",\"patient\":" + $0.json() } ?? "", wallTime: wallTime)
    }

    /// An entry from a person or the hospital as the bedside loop took it (`json`), at core time `t`.
    package static func line(input json: [UInt8], t: Double, wallTime: String?) -> Line {
        var object = ""
        JSONValue.object([("t", .number(t))]).write(to: &object)
        return Line(kind: "input", json: String(object.dropLast()) + ",\"entry\":" + String(decoding: json, as: UTF8.self) + "}",
                    before: "", wallTime: wallTime)
    }

    /// The agent's start or clean stop as a journal line (`appendMarker`).
    package static func line(marker: String, wallTime: String?) -> Line {
        var json = ""
        JSONValue.string(marker).write(to: &json)
        return Line(kind: "agent", json: json, before: "", wallTime: wallTime)
    }

    /// The kinds of line `append(_:)` takes (and a spill file may hold).
    static let spillableKinds: Set<String> = ["event", "entry", "input", "agent"]

    /// Appends a line made by `Journal.line` (an event's also updates the open alarms) and fsyncs.
    /// `run`: the run that made it, when not this one (a spill file's lines).
    @discardableResult
    package func append(_ line: Line, run: String? = nil) throws(JournalError) -> Int64 {
        guard Journal.spillableKinds.contains(line.kind) else {
            throw JournalError(path: directory, message: "not a journal line's kind: \(Shown.text(line.kind.utf8, limit: 32))")
        }
        let seq = try appendLine(kind: line.kind, json: line.json, wallTime: line.wallTime, before: line.before, run: run)
        if line.kind == "event", let object = JSONValue.parse(line.json.utf8), let event = try? AlarmEvent(journal: object) {
            ledger.apply(event, run: run ?? runID)
        }
        return seq
    }

    /// Journals what earlier runs spilled at their stop, oldest first, and removes each file once all of
    /// it is journaled (a line that is not a spill line is reported and skipped).
    private func importSpills(from spillDirectory: String) throws(JournalError) {
        for path in JournalSpill.files(in: spillDirectory) {
            guard let data = FileManager.default.contents(atPath: path) else {
                recovery.append("\(path): a spill file that cannot be read is left where it is")
                continue
            }
            guard data.count <= JournalSpill.maxBytes else {
                recovery.append("\(path): a spill file of \(data.count) bytes is too large to journal; left where it is")
                continue
            }
            var taken = 0, skipped = 0
            for bytes in data.split(separator: UInt8(ascii: "\n")).prefix(JournalSpill.maxLines) {
                guard let (run, line) = JournalSpill.decode(bytes) else {
                    skipped += 1
                    continue
                }
                try append(line, run: run)
                lastRunID = max(lastRunID ?? run, run)
                taken += 1
            }
            do { try FileManager.default.removeItem(atPath: path) } catch {
                recovery.append("\(path): journaled, but cannot be removed (\(error.localizedDescription)): remove it by hand, or its lines are journaled again")
            }
            recovery.append("\(path): \(taken) item(s) an earlier run could not journal at its stop are journaled now\(skipped > 0 ? "; \(skipped) unreadable line(s) skipped" : "")")
        }
    }

    /// Appends a charted or lab entry the core accepted (an acknowledgement, a position, a gas, a
    /// haemoglobin…) and fsyncs. Forwarders skip these: they are the record, not alarms.
    @discardableResult
    package func append(entry observation: Observation, t: Double, wallTime: String?) throws(JournalError) -> Int64 {
        try append(Journal.line(entry: observation, t: t, wallTime: wallTime))
    }

    /// Appends one event and fsyncs; returns its sequence number. `wallTime` is when it was recorded
    /// (RFC 3339), nil in replay so that replays stay byte-identical.
    /// `patient`: who the event is about, when the bed's patient came from an admission rather than
    /// the configuration (the forwarders put it in PID; see `JournalEntry.patient`).
    @discardableResult
    package func append(_ event: AlarmEvent, wallTime: String?, patient: JournalPatient? = nil) throws(JournalError) -> Int64 {
        let line = Journal.line(event, wallTime: wallTime, patient: patient)
        let seq = try appendLine(kind: line.kind, json: line.json, wallTime: wallTime, before: line.before)
        ledger.apply(event, run: runID)
        return seq
    }

    /// Rebuilds the ledger of open alarms at open: from the last segment that starts with a ledger
    /// line (every segment since this version does), or from the oldest segment kept, then every
    /// event after it; and what the previous run left (`previous`).
    private func rebuildLedger() {
        let segments = Journal.segments(in: directory)
        var start = 0
        var contents: [Int: Data] = [:]
        for index in segments.indices.reversed() {
            guard let data = FileManager.default.contents(atPath: segments[index].path) else { continue }
            contents[index] = data
            let first = data.prefix { $0 != UInt8(ascii: "\n") }
            if JSONValue.parse(first)?["alarm_ledger"] != nil {
                start = index
                break
            }
        }
        var ledger = AlarmLedger()
        var lastWall: Date?
        var lastRun: String?
        var lastMarker: (run: String?, marker: String)?
        var lines = 0
        var skipped = 0
        for index in segments.indices where index >= start {
            guard let data = contents[index] ?? FileManager.default.contents(atPath: segments[index].path) else { continue }
            for line in data.split(separator: UInt8(ascii: "\n")) {
                guard let object = JSONValue.parse(line), object["seq"] != nil else {
                    skipped += 1
                    continue
                }
                lines += 1
                let run = object["run"]?.text
                if let wall = object["wall_time"]?.text.flatMap(PCD04Message.parseRFC3339) { lastWall = max(lastWall ?? wall, wall) }
                if run != nil { lastRun = run }
                if let snapshot = object["alarm_ledger"], snapshot.isObject {
                    ledger = AlarmLedger(snapshot: snapshot, skipped: &skipped)
                } else if let raw = object["event"] {
                    if let event = try? AlarmEvent(journal: raw) { ledger.apply(event, run: run) } else { skipped += 1 }
                } else if let marker = object["agent"]?.text {
                    lastMarker = (run, marker)
                }
            }
        }
        self.ledger = ledger
        if skipped > 0 { recovery.append("\(directory): \(skipped) journal line(s) could not be read while finding the open alarms") }
        guard lines > 0 else { return }
        previous = PreviousRun(
            open: ledger.openAlarms, carried: ledger.carriedAlarms, run: lastRun,
            lastSeen: [lastWall, lastAlive].compactMap { $0 }.max(),
            stoppedCleanly: lastMarker.map { $0.marker == "stopped" && $0.run == lastRun } ?? false)
    }

    /// Appends an entry from a person or the hospital (charted values, an acknowledgement, a patient
    /// admitted, updated or discharged) as the bedside loop took it (`json`), at core time `t`.
    @discardableResult
    package func append(input json: [UInt8], t: Double, wallTime: String?) throws(JournalError) -> Int64 {
        try append(Journal.line(input: json, t: t, wallTime: wallTime))
    }

    /// Marks the journal's owner alive (the lock file's modification time): at the next start, the
    /// last sign of life of this run if it dies without a clean stop. Cheap: no data is written.
    package func markAlive() {
        _ = futimens(lockDescriptor, nil)
    }

    /// The agent's own start and clean stop (`"agent":"started"`, `"stopped"`): the next start tells a
    /// clean stop from a crash by them. Forwarders skip them, like charted entries.
    @discardableResult
    package func appendMarker(_ marker: String, wallTime: String?) throws(JournalError) -> Int64 {
        try append(Journal.line(marker: marker, wallTime: wallTime))
    }

    /// One journal line's text, newline included.
    package static func compose(seq: Int64, run: String, kind: String, json: String, before: String, wallTime: String?) -> String {
        var line = "{\"seq\":\(seq),\"run\":\"\(run)\""
        if let wallTime { line += ",\"wall_time\":\"\(wallTime)\"" }
        return line + before + ",\"\(kind)\":" + json + "}\n"
    }

    private func appendLine(kind: String, json: String, wallTime: String?, before: String = "", rotate: Bool = true, run: String? = nil) throws(JournalError) -> Int64 {
        // The ledger line at the head of a segment takes no number of its own: it carries the last
        // entry's, so numbering, positions and recovery are as without it.
        let isLedger = kind == "alarm_ledger"
        let seq = isLedger ? lastSeq : lastSeq + 1
        let line = Journal.compose(seq: seq, run: run ?? runID, kind: kind, json: json, before: before, wallTime: wallTime)
        let bytes = Data(line.utf8)
        if rotate, segmentSize > 0, segmentSize + bytes.count > segmentMaxBytes {
            segmentSize = segmentMaxBytes  // full: the next segment starts at this entry
            try openSegment(startingAt: seq)
            // Every new segment starts with the open alarms, so pruning the old ones loses none.
            if kind != "alarm_ledger" {
                _ = try appendLine(kind: "alarm_ledger", json: ledger.json(), wallTime: wallTime, rotate: false)
                return try appendLine(kind: kind, json: json, wallTime: wallTime, before: before, rotate: false, run: run)
            }
        } else if handle == nil {
            try openSegment(startingAt: seq)
        }
        guard let handle, let segmentPath else { throw JournalError(path: directory, message: "no open segment") }
        // write(2) and fsync(2) directly, so a failure says what the system said (ENOSPC, EROFS, EIO).
        let descriptor = handle.fileDescriptor
        var failure: String?
        bytes.withUnsafeBytes { raw in
            var written = 0
            while written < raw.count {
                let n = Glibc.write(descriptor, raw.baseAddress! + written, raw.count - written)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else {
                    failure = "cannot append: \(String(cString: strerror(errno))) (errno \(errno))"
                    return
                }
                written += n
            }
        }
        // fsync: only now does the event count as recorded.
        let fsyncBegan = ContinuousClock.now
        if failure == nil, fsync(descriptor) != 0 { failure = "cannot fsync: \(String(cString: strerror(errno))) (errno \(errno))" }
        let fsyncTook = ContinuousClock.now - fsyncBegan
        Timer(label: "alveo_journal_fsync_seconds").recordNanoseconds(
            Int64(clamping: fsyncTook.components.seconds * 1_000_000_000 + fsyncTook.components.attoseconds / 1_000_000_000))
        if let failure {
            // Take back a partial line, so that the next append does not glue onto it.
            _ = ftruncate(descriptor, off_t(segmentSize))
            _ = lseek(descriptor, 0, SEEK_END)
            throw JournalError(path: segmentPath, message: failure)
        }
        segmentSize += bytes.count
        if !isLedger { lastSeq = seq }
        return seq
    }

    /// Reopens the current segment for appending, or starts a new one named by `seq` when there is
    /// none or it is full.
    private func openSegment(startingAt seq: Int64) throws(JournalError) {
        try? handle?.close()
        handle = nil
        if segmentPath == nil || segmentSize >= segmentMaxBytes || segmentSize + 1 > segmentMaxBytes {
            segmentPath = directory + "/" + String(format: "journal-%012lld.jsonl", seq)
            segmentSize = 0
        }
        guard let path = segmentPath else { throw JournalError(path: directory, message: "no segment") }
        // Patient data: 0640 whatever the umask (an older segment left 0644 is tightened here).
        let opened: FileHandle
        do { opened = try PrivateFiles.open(path) } catch {
            throw JournalError(path: path, message: "cannot open the journal segment for writing: \(error.message)")
        }
        if segmentSize == 0 { syncDirectory(directory) }
        do { try opened.seekToEnd() } catch {
            throw JournalError(path: path, message: "cannot seek: \(error.localizedDescription)")
        }
        handle = opened
    }

    /// Removes whole segments whose every entry is at or below `deliveredUpTo` (the lowest position of
    /// all forwarders), never the segment being written.
    package func prune(deliveredUpTo: Int64) {
        let segments = Journal.segments(in: directory)
        for (index, segment) in segments.enumerated() where index + 1 < segments.count {
            let lastInSegment = segments[index + 1].firstSeq - 1
            if lastInSegment <= deliveredUpTo, segment.path != segmentPath {
                try? FileManager.default.removeItem(atPath: segment.path)
            }
        }
    }
}
