import AlveoCore

/// One frame a RELP server sent: `TXNR SP COMMAND SP DATALEN [SP DATA] LF`
/// (rsyslog's RELP specification, doc/relp.md in librelp).
package struct RELPFrame: Sendable, Equatable {
    /// The transaction number: the client command's for a `rsp`, 0 for a hint (`serverclose`).
    package var txnr: Int
    package var command: String
    package var data: [UInt8]

    package init(txnr: Int, command: String, data: [UInt8] = []) {
        self.txnr = txnr
        self.command = command
        self.data = data
    }

    /// The frame as sent on the wire (the client's commands, and the tests' servers).
    package var bytes: [UInt8] {
        var out = Array("\(txnr) \(command) \(data.count)".utf8)
        if !data.isEmpty { out += [UInt8(ascii: " ")] + data }
        return out + [0x0A]
    }
}

/// Why a RELP server's byte stream cannot be framed (the session is unusable from there on).
package struct RELPFrameError: Error, Equatable, CustomStringConvertible, Sendable {
    package var reason: String
    package var description: String { reason }
}

/// RELP frames from a server's byte stream, incrementally. Total and bounded, whatever the server
/// sends: a TXNR of 1 to 9 digits, a command of 1 to 32 letters, a DATALEN of 1 to 9 digits and at
/// most `maxData`, the LF trailer; anything else is an error that stays (RELP has no way to find
/// the next frame after a bad one, so the session must be dropped). Holds at most one frame's data.
package struct RELPFrameReader: Sendable {
    /// Far more than any response a client gets (the `open` offers are about 100 bytes, a `rsp`
    /// text at most 80 characters): a longer frame is refused as soon as its DATALEN is read.
    package static let defaultMaxData = 16 * 1024

    private enum State: Sendable {
        case txnr, command, dataLength, data, trailer
    }

    package let maxData: Int
    private var state = State.txnr
    private var digits = 0
    private var txnr = 0
    private var command: [UInt8] = []
    private var length = 0
    private var data: [UInt8] = []
    /// The first error met; every later feed returns it.
    package private(set) var failure: RELPFrameError?

    package init(maxData: Int = RELPFrameReader.defaultMaxData) {
        self.maxData = max(0, maxData)
    }

    /// Whether a frame has begun and not ended.
    package var isInsideFrame: Bool { state != .txnr || digits > 0 }

    /// Feeds received bytes; returns the frames they complete, in order, or the error that ends the
    /// session (frames completed before the error in the same bytes are dropped with it).
    package mutating func feed(_ bytes: some Sequence<UInt8>) -> Result<[RELPFrame], RELPFrameError> {
        if let failure { return .failure(failure) }
        var frames: [RELPFrame] = []
        for byte in bytes {
            if let problem = step(byte, into: &frames) {
                let error = RELPFrameError(reason: problem)
                failure = error
                return .failure(error)
            }
        }
        return .success(frames)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }

    /// One byte; a problem's text when the stream is not RELP.
    private mutating func step(_ byte: UInt8, into frames: inout [RELPFrame]) -> String? {
        let space = UInt8(ascii: " ")
        switch state {
        case .txnr:
            if Self.isDigit(byte) {
                guard digits < 9 else { return "a transaction number longer than 9 digits" }
                txnr = txnr * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
            } else if byte == space, digits > 0 {
                state = .command
                digits = 0
            } else {
                return "\(Shown.text([byte])) where a transaction number was expected"
            }
        case .command:
            if Self.isLetter(byte) {
                guard command.count < 32 else { return "a command longer than 32 letters" }
                command.append(byte)
            } else if byte == space, !command.isEmpty {
                state = .dataLength
            } else {
                return "\(Shown.text([byte])) where a command was expected"
            }
        case .dataLength:
            if Self.isDigit(byte) {
                guard digits < 9 else { return "a DATALEN longer than 9 digits" }
                length = length * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
                guard length <= maxData else { return "a frame of more than \(maxData) bytes of data" }
            } else if digits == 0 {
                return "\(Shown.text([byte])) where a DATALEN was expected"
            } else if length == 0 {
                // No data: the trailer follows the DATALEN directly.
                guard byte == 0x0A else { return "\(Shown.text([byte])) where the frame's LF was expected" }
                finish(into: &frames)
            } else {
                guard byte == space else { return "\(Shown.text([byte])) after the DATALEN" }
                data.reserveCapacity(length)
                state = .data
            }
        case .data:
            data.append(byte)
            if data.count == length { state = .trailer }
        case .trailer:
            guard byte == 0x0A else { return "\(Shown.text([byte])) where the frame's LF was expected (DATALEN \(length))" }
            finish(into: &frames)
        }
        return nil
    }

    private mutating func finish(into frames: inout [RELPFrame]) {
        frames.append(RELPFrame(txnr: txnr, command: String(decoding: command, as: UTF8.self), data: data))
        state = .txnr
        digits = 0
        txnr = 0
        command = []
        length = 0
        data = []
    }
}

/// The data of a `rsp` frame: `STATUS [SP HUMAN-TEXT] [LF DATA]`, STATUS three digits (200 is ok,
/// anything else an error).
package struct RELPResponse: Sendable, Equatable {
    package var status: Int
    /// The human-readable text, as received (show it with `Shown`).
    package var text: [UInt8]
    /// What follows the first LF (the server's offers, in the answer to `open`).
    package var body: [UInt8]

    package init(status: Int, text: [UInt8], body: [UInt8]) {
        self.status = status
        self.text = text
        self.body = body
    }

    /// Nil when the data does not start with three digits followed by the end, a space or a LF.
    package static func parse(_ data: [UInt8]) -> RELPResponse? {
        guard data.count >= 3, data.prefix(3).allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        let status = data.prefix(3).reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        var rest = data.dropFirst(3)
        if let first = rest.first {
            guard first == UInt8(ascii: " ") || first == 0x0A else { return nil }
            if first == UInt8(ascii: " ") { rest = rest.dropFirst() }
        }
        let lineEnd = rest.firstIndex(of: 0x0A) ?? rest.endIndex
        let body = lineEnd < rest.endIndex ? Array(rest[(lineEnd + 1)...]) : []
        return RELPResponse(status: status, text: Array(rest[..<lineEnd]), body: body)
    }

    /// The offers of an answer to `open`: one `name=value[,value…]` a line (librelp's offers.c);
    /// a line without `=` is an offer with no value. At most 64 offers of 64 values are kept.
    package var offers: [String: [String]] {
        var result: [String: [String]] = [:]
        for line in body.split(separator: 0x0A, omittingEmptySubsequences: true).prefix(64) {
            let equals = line.firstIndex(of: UInt8(ascii: "="))
            let name = String(decoding: line[..<(equals ?? line.endIndex)], as: UTF8.self)
            let values = equals.map { line[($0 + 1)...].split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false).prefix(64)
                .map { String(decoding: $0, as: UTF8.self) } } ?? []
            if result[name] == nil { result[name] = values }
        }
        return result
    }
}
