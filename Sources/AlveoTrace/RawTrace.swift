import Foundation

/// One record of a raw device trace (format in docs/trace-format.md).
public struct TraceRecord: Sendable, Equatable {
    public enum Kind: UInt8, Sendable {
        /// The configuration the run used (YAML text), written first.
        case config = 1
        /// Bytes received from a serial device.
        case received = 2
        /// Bytes sent to a serial device.
        case sent = 3
        /// One Modbus block read: u8 table (3 holding, 4 input), u16 address, u16 count, count × u16.
        case modbusRegisters = 4
        /// A Modbus poll or connection attempt that failed (UTF-8 reason): the device gave nothing.
        case pollFailed = 5
        /// The recording ended cleanly at this time (the agent was stopped): replay runs the clock to here.
        case end = 6
    }

    public var kind: Kind
    /// Seconds since the run started, from the monotonic clock (what the core's time was).
    public var monotonic: Double
    /// Wall-clock time, nanoseconds since 1970 (for people reading the trace; replay never uses it).
    public var wallNanoseconds: Int64
    /// The device id (source); empty for the config record.
    public var device: String
    public var payload: [UInt8]

    public init(kind: Kind, monotonic: Double, wallNanoseconds: Int64, device: String, payload: [UInt8]) {
        self.kind = kind
        self.monotonic = monotonic
        self.wallNanoseconds = wallNanoseconds
        self.device = device
        self.payload = payload
    }
}

/// Raw trace file layout: an 8-byte magic and a version, then records framed as
/// `u32 body length | body | u32 CRC-32 of body`, all little-endian. A power cut can tear only the
/// record being written: the reader stops there with a warning.
public enum RawTrace {
    public static let magic: [UInt8] = Array("ALVTRACE".utf8)
    public static let version: UInt16 = 1

    static func crc32(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    static func read<T: FixedWidthInteger>(_ type: T.Type, _ bytes: ArraySlice<UInt8>, at offset: Int) -> T {
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { raw in
            for index in 0..<MemoryLayout<T>.size { raw[index] = bytes[bytes.startIndex + offset + index] }
        }
        return T(littleEndian: value)
    }

    /// The framed bytes of one record.
    public static func encode(_ record: TraceRecord) -> [UInt8] {
        var body: [UInt8] = [record.kind.rawValue]
        append(UInt64((record.monotonic * 1e9).rounded()), to: &body)
        append(record.wallNanoseconds, to: &body)
        let id = Array(record.device.utf8.prefix(255))
        body.append(UInt8(id.count))
        body += id
        body += record.payload
        var framed: [UInt8] = []
        append(UInt32(body.count), to: &framed)
        framed += body
        append(crc32(body), to: &framed)
        return framed
    }

    /// Decodes as many whole records as `bytes` holds after the header; `problem` says where and why
    /// it stopped early (torn or corrupt record), nil if the data ended cleanly.
    public static func decode(_ bytes: [UInt8]) -> (records: [TraceRecord], problem: String?) {
        guard bytes.count >= 10, Array(bytes.prefix(8)) == magic else {
            return ([], bytes.count < 10 ? "the trace is shorter than its header" : "not an Alveo trace (bad magic)")
        }
        var records: [TraceRecord] = []
        var offset = 10
        while offset < bytes.count {
            guard offset + 4 <= bytes.count else { return (records, "torn record at byte \(offset): length cut") }
            let length = Int(read(UInt32.self, bytes[...], at: offset))
            guard length >= 18, offset + 4 + length + 4 <= bytes.count else {
                return (records, "torn record at byte \(offset): \(bytes.count - offset) bytes of \(length + 8)")
            }
            let body = bytes[(offset + 4)..<(offset + 4 + length)]
            guard read(UInt32.self, bytes[...], at: offset + 4 + length) == crc32(body) else {
                return (records, "corrupt record at byte \(offset): CRC mismatch")
            }
            guard let kind = TraceRecord.Kind(rawValue: body[body.startIndex]) else {
                return (records, "unknown record kind \(body[body.startIndex]) at byte \(offset)")
            }
            let monotonic = Double(read(UInt64.self, body, at: 1)) / 1e9
            let wall = read(Int64.self, body, at: 9)
            let idLength = Int(body[body.startIndex + 17])
            guard 18 + idLength <= length else { return (records, "corrupt record at byte \(offset): device id too long") }
            let id = String(decoding: body[(body.startIndex + 18)..<(body.startIndex + 18 + idLength)], as: UTF8.self)
            let payload = Array(body[(body.startIndex + 18 + idLength)...])
            records.append(TraceRecord(kind: kind, monotonic: monotonic, wallNanoseconds: wall, device: id, payload: payload))
            offset += 4 + length + 4
        }
        return (records, nil)
    }
}

/// Appends records to a trace file, each written and fsync'ed before the next (append-safe: a power
/// cut loses at most the record being written). Safe to call from several poller threads.
public final class TraceWriter: @unchecked Sendable {
    // @unchecked: `handle` is only touched under `lock`.
    private let lock = NSLock()
    private let handle: FileHandle
    public let path: String

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public init(path: String) throws {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: Data(RawTrace.magic + [UInt8(RawTrace.version & 0xFF), UInt8(RawTrace.version >> 8)])),
              let handle = FileHandle(forWritingAtPath: path)
        else { throw Failure(description: "\(path): cannot create the trace file") }
        try handle.seekToEnd()
        self.handle = handle
    }

    deinit { try? handle.close() }

    public func write(_ record: TraceRecord) {
        let bytes = Data(RawTrace.encode(record))
        lock.withLock {
            try? handle.write(contentsOf: bytes)
            try? handle.synchronize()
        }
    }

    /// Wall-clock nanoseconds now, for records.
    public static func wallNow() -> Int64 { Int64(Date().timeIntervalSince1970 * 1e9) }
}
