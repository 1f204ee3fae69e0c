import AlveoCore
import Foundation

/// Reads a scenario file in chunks and yields its rows grouped by time (rows with the same `t` are
/// one group). Memory stays flat however long the file is.
package struct ScenarioReader {
    package let path: String
    private let handle: FileHandle
    private var parser: ScenarioParser
    private var buffer: [UInt8] = []
    private var position = 0
    /// Bytes of `buffer` already searched for a newline.
    private var scanned = 0
    private var atEOF = false
    private var lineNumber = 0
    private var pending: ScenarioParser.Row?
    /// Rows read so far.
    package private(set) var rowCount = 0

    package init(path: String, maxSampleAge: Double = 6 * 3600) throws(ScenarioError) {
        self.path = path
        do { handle = try FileReading.open(path) } catch {
            throw ScenarioError(file: path, line: 0, message: "cannot open the scenario file: \(error)")
        }
        self.parser = ScenarioParser(file: path, maxSampleAge: maxSampleAge)
    }

    /// Fills `rows` with the next group and returns its time, or nil at the end of the file.
    package mutating func nextGroup(into rows: inout [Observation]) throws(ScenarioError) -> Double? {
        rows.removeAll(keepingCapacity: true)
        var groupTime: Double?
        if let pending {
            groupTime = pending.t
            rows.append(pending.observation)
            self.pending = nil
        }
        while let row = try nextRow() {
            rowCount += 1
            if let time = groupTime, row.t != time {
                pending = row
                return time
            }
            groupTime = row.t
            rows.append(row.observation)
        }
        return groupTime
    }

    private mutating func nextRow() throws(ScenarioError) -> ScenarioParser.Row? {
        while true {
            guard let (start, end) = try nextLine() else {
                try parser.finish(lines: lineNumber)
                return nil
            }
            lineNumber += 1
            let number = lineNumber
            let row = try buffer.withUnsafeBufferPointer { all throws(ScenarioError) in
                try parser.parse(line: UnsafeBufferPointer(rebasing: all[start..<end]), number: number)
            }
            if let row { return row }
        }
    }

    /// The first newline in `bytes` at or after `start` (memchr: a tenth of a replay went into the
    /// generic search of a slice).
    private static func newline(in bytes: [UInt8], from start: Int) -> Int? {
        guard start < bytes.count else { return nil }
        return bytes.withUnsafeBytes { raw -> Int? in
            guard let base = raw.baseAddress, let found = memchr(base + start, Int32(UInt8(ascii: "\n")), raw.count - start) else { return nil }
            return base.distance(to: UnsafeRawPointer(found))
        }
    }

    /// The next line's byte range in `buffer`, reading more of the file as needed.
    private mutating func nextLine() throws(ScenarioError) -> (Int, Int)? {
        while true {
            // Each byte is searched once (`scanned`), and a line may not outgrow the parser's limit:
            // a 100 MB line is refused after 4 KiB, never buffered whole or rescanned per chunk.
            if let newline = ScenarioReader.newline(in: buffer, from: max(position, scanned)) {
                defer { position = newline + 1; scanned = position }
                return (position, newline)
            }
            scanned = buffer.count
            if buffer.count - position > ScenarioParser.maxLineLength {
                defer { position = buffer.count; scanned = position }
                return (position, buffer.count)  // the parser refuses it, with its line number
            }
            if atEOF {
                guard position < buffer.count else { return nil }
                defer { position = buffer.count }
                return (position, buffer.count)
            }
            if position > 0 {
                buffer.removeFirst(position)
                scanned -= position
                position = 0
            }
            let chunk: [UInt8]
            do { chunk = try FileReading.read(handle, count: 1 << 20) } catch {
                throw ScenarioError(file: path, line: lineNumber, message: "cannot read the scenario file: \(error)")
            }
            if lineNumber == 0, buffer.isEmpty, let compressor = FileReading.compression(chunk) {
                throw ScenarioError(file: path, line: 0, message: "not a scenario CSV: it is \(compressor)-compressed; decompress it first (\(compressor) -dc)")
            }
            if chunk.isEmpty { atEOF = true } else { buffer.append(contentsOf: chunk) }
        }
    }
}
