import AlveoCore
import AlveoOutput
import Foundation
import Testing

func sampleEvent(_ n: Int) -> AlarmEvent {
    AlarmEvent(t: Double(n), alarmID: n, rule: .spo2Low, source: nil, parameter: nil, phase: .start, priority: .medium,
               state: .active, acknowledged: false, reason: nil, text: "SpO2 87 % below 88 % for 60 s (\(n))",
               evidence: [("spo2_pct", .number(87))])
}

func temporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("alveo-journal-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite struct JournalTests {
    /// Two runs started in the same second (a restart loop), or after the clock was set back, must not
    /// share a run id: HL7 alarm references (OBR-2) are <bed>-<run>-A<alarm id> and alarm ids restart.
    @Test func runIDsAreUniqueAndIncreasingWithinAJournal() throws {
        let directory = try temporaryDirectory()
        func run(_ candidate: String) throws -> String {
            let journal = try Journal(directory: directory, runID: candidate)
            try journal.append(sampleEvent(1), wallTime: nil)
            return journal.runID
        }
        #expect(try run("20261125T164100Z") == "20261125T164100Z")
        #expect(try run("20261125T164100Z") == "20261125T164100Z-2", "the same second")
        #expect(try run("20261125T164100Z") == "20261125T164100Z-3")
        #expect(try run("20261125T163000Z") == "20261125T164100Z-4", "the clock set back")
        #expect(try run("20261125T164200Z") == "20261125T164200Z", "a later second: the time itself")
        var reader = JournalReader(directory: directory, after: 0)
        var runs: [String] = []
        while let entry = reader.next() { runs.append(entry.run ?? "") }
        #expect(runs == ["20261125T164100Z", "20261125T164100Z-2", "20261125T164100Z-3", "20261125T164100Z-4", "20261125T164200Z"])
    }

    /// After a rotation the new segment may be empty: the last run id is found in the one before.
    @Test func theLastRunIDIsFoundAcrossARotation() throws {
        let directory = try temporaryDirectory()
        do {
            let journal = try Journal(directory: directory, segmentMaxBytes: 400, runID: "20261125T164100Z")
            for n in 1...6 { try journal.append(sampleEvent(n), wallTime: nil) }
        }
        // A power cut right after the next segment was created, before its first line.
        try Data().write(to: URL(fileURLWithPath: directory + "/" + String(format: "journal-%012lld.jsonl", 7)))
        let reopened = try Journal(directory: directory, segmentMaxBytes: 400, runID: "20261125T164100Z")
        #expect(reopened.lastSeq == 6)
        #expect(reopened.runID == "20261125T164100Z-2")
    }

    /// The reader takes lines in place from what it read, and keeps a line still being written (no
    /// newline yet) until its end arrives, across many lines and into the next segment.
    @Test func aLineWrittenInPiecesIsReadOnceWhole() throws {
        let directory = try temporaryDirectory()
        let first = directory + "/" + String(format: "journal-%012lld.jsonl", 1)
        func line(_ seq: Int) -> String { "{\"seq\":\(seq),\"run\":\"R\",\"input\":{\"t\":\(seq)}}\n" }
        try (1...2_000).map(line).joined().write(toFile: first, atomically: true, encoding: .utf8)
        let handle = try #require(FileHandle(forWritingAtPath: first))
        handle.seekToEndOfFile()
        let cut = line(2_001).utf8.count / 2
        handle.write(Data(line(2_001).utf8.prefix(cut)))
        var reader = JournalReader(directory: directory, after: 0)
        var seen: [Int64] = []
        while let entry = reader.next() { seen.append(entry.seq) }
        #expect(seen == (1...2_000).map(Int64.init))
        handle.write(Data(line(2_001).utf8.dropFirst(cut)) + Data(line(2_002).utf8))
        try handle.close()
        try line(2_003).write(toFile: directory + "/" + String(format: "journal-%012lld.jsonl", 2_003), atomically: true, encoding: .utf8)
        while let entry = reader.next() { seen.append(entry.seq) }
        #expect(seen.suffix(3) == [2_001, 2_002, 2_003] && seen.count == 2_003)
    }

    @Test func appendedEventsAreReadBackInOrderAfterAPosition() throws {
        let directory = try temporaryDirectory()
        let journal = try Journal(directory: directory)
        for n in 1...5 { #expect(try journal.append(sampleEvent(n), wallTime: nil) == Int64(n)) }
        var reader = JournalReader(directory: directory, after: 2)
        var seen: [Int64] = []
        while let entry = reader.next() { seen.append(entry.seq) }
        #expect(seen == [3, 4, 5])
        #expect(reader.next() == nil)
        try journal.append(sampleEvent(6), wallTime: "2026-11-25T16:00:00.000Z")
        let following = reader.next()
        let next = try #require(following, "the reader follows appends")
        #expect(next.seq == 6)
        #expect(next.wallTime == "2026-11-25T16:00:00.000Z")
        #expect(next.eventJSON == sampleEvent(6).jsonLine())
        #expect(next.event?.rule == .spo2Low)
    }

    @Test func aTornLastLineIsSetAsideAndNumberingContinues() throws {
        let directory = try temporaryDirectory()
        do {
            let journal = try Journal(directory: directory)
            for n in 1...3 { try journal.append(sampleEvent(n), wallTime: nil) }
        }
        // A power cut in the middle of the fourth line.
        let segment = try #require(Journal.segments(in: directory).last).path
        let file = try #require(FileHandle(forWritingAtPath: segment))
        try file.seekToEnd()
        try file.write(contentsOf: Data("{\"seq\":4,\"event\":{\"t\":4,\"ru".utf8))
        try file.close()

        let reopened = try Journal(directory: directory)
        #expect(reopened.lastSeq == 3, "nothing accepted before the cut is lost")
        #expect(reopened.recovery.count == 1)
        #expect(reopened.recovery[0].contains("torn or unreadable"))
        let aside = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".torn-") }
        #expect(aside.count == 1, "the torn bytes are kept for inspection")
        #expect(try reopened.append(sampleEvent(4), wallTime: nil) == 4)
        var reader = JournalReader(directory: directory, after: 0)
        var seen: [Int64] = []
        while let entry = reader.next() { seen.append(entry.seq) }
        #expect(seen == [1, 2, 3, 4])
    }

    @Test func rotationAndPruningNeverDropUndeliveredEvents() throws {
        let directory = try temporaryDirectory()
        var segmentsBefore = 0
        do {
            let journal = try Journal(directory: directory, segmentMaxBytes: 2000)
            for n in 1...40 { try journal.append(sampleEvent(n), wallTime: nil) }
            segmentsBefore = Journal.segments(in: directory).count
            #expect(segmentsBefore > 3, "size-based rotation")
            journal.prune(deliveredUpTo: 12)
            var reader = JournalReader(directory: directory, after: 12)
            var seen: [Int64] = []
            while let entry = reader.next() { seen.append(entry.seq) }
            #expect(seen == Array(13...40), "everything after the delivery position is still there")
            #expect(Journal.segments(in: directory).count < segmentsBefore, "delivered segments are removed")
            #expect(throws: JournalError.self, "one writer per journal") { try Journal(directory: directory) }
        }
        let reopened = try Journal(directory: directory, segmentMaxBytes: 2000)
        #expect(reopened.lastSeq == 40)
    }

    @Test func deliveryPositionSurvivesARestart() throws {
        let directory = try temporaryDirectory()
        let position = DeliveryPosition(directory: directory, name: "hl7")
        #expect(position.load() == 0)
        try position.save(41)
        #expect(DeliveryPosition(directory: directory, name: "hl7").load() == 41)
    }
}
