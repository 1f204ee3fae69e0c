import AlveoCore

/// The Data Export messages Alveo reads and writes (device-protocols-monitors-vents.md §IntelliVue
/// "Session / presentation layer" and "Data Export message layout"). Every field is big-endian; every
/// read is bounds-checked, so any payload parses to a message or to `.other`/`.malformed`.
package enum IntelliVueMessage: Sendable, Equatable {
    case associationAccepted
    case associationRefused
    case releaseRequest
    case releaseResponse
    case abort
    /// The monitor's MDS Create event report: Alveo answers it with the MDS Create result, echoing
    /// its invoke id and event time.
    case mdsCreate(invokeID: UInt16, eventTime: UInt32)
    /// (A piece of) a poll reply: RORS, or one of several ROLRS linked results (`linkState` 1 first,
    /// 2 middle, 3 last; nil for RORS).
    case pollReply(invokeID: UInt16, linkState: UInt8?, numerics: [IntelliVueNumeric])
    /// ROER: the monitor refused a request.
    case error(invokeID: UInt16, code: UInt16)
    /// The LAN Connect Indication (tests read a real one for its attribute list).
    case connectIndication([IntelliVueAttribute])
    /// Anything else that is well formed (other events, other results).
    case other(String)
    /// Not a message this side understands: why.
    case malformed(String)
}

/// One attribute value assertion: its id and its value bytes.
package struct IntelliVueAttribute: Sendable, Equatable {
    package var id: UInt16
    package var value: [UInt8]
}

/// A numeric observation (NuObsValue) as the monitor sent it.
package struct IntelliVueNumeric: Sendable, Equatable {
    package var physioID: UInt16
    package var state: UInt16
    package var unitCode: UInt16
    /// The FLOAT as sent.
    package var raw: UInt32

    package init(physioID: UInt16, state: UInt16, unitCode: UInt16, raw: UInt32) {
        self.physioID = physioID
        self.state = state
        self.unitCode = unitCode
        self.raw = raw
    }

    /// The FLOAT's value: nil for its special mantissas (NaN, NRes, ±INF: "no value").
    package var value: Double? { IntelliVueFloat.value(raw) }
}

/// IntelliVue's 32-bit FLOAT: signed 8-bit exponent, signed 24-bit mantissa, value = m × 10^e.
package enum IntelliVueFloat {
    static let nan: Int32 = 0x7FFFFF, nres: Int32 = -0x800000, positiveInfinity: Int32 = 0x7FFFFE, negativeInfinity: Int32 = -0x7FFFFE

    package static func mantissa(_ raw: UInt32) -> Int32 { Int32(bitPattern: raw << 8) >> 8 }
    package static func exponent(_ raw: UInt32) -> Int { Int(Int8(bitPattern: UInt8(raw >> 24))) }

    package static func value(_ raw: UInt32) -> Double? {
        let m = mantissa(raw)
        guard m != nan, m != nres, m != positiveInfinity, m != negativeInfinity else { return nil }
        let e = exponent(raw)
        // Powers of ten to 10^22 are exact doubles: one correctly rounded operation. Beyond, the
        // standard library's correctly rounded text reading.
        if abs(e) < powers.count { return e < 0 ? Double(m) / powers[-e] : Double(m) * powers[e] }
        return Double("\(m)e\(e)")
    }

    static let powers: [Double] = (0...22).map { k in (0..<k).reduce(1.0) { value, _ in value * 10 } }

    /// The FLOAT for `value` with `decimals` digits after the point (the mantissa clamped to 24 bits).
    package static func encode(_ value: Double?, decimals: Int) -> UInt32 {
        guard let value, value.isFinite else { return UInt32(bitPattern: nan) & 0x00FF_FFFF }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let m = Int32(max(-0x7FFFFD, min(0x7FFFFD, (value * scale).rounded())))
        return UInt32(UInt8(bitPattern: Int8(-decimals))) << 24 | (UInt32(bitPattern: m) & 0x00FF_FFFF)
    }
}

/// Bounds-checked big-endian reading of a payload: a read past the end gives nil and stops the parse.
struct IntelliVueReader {
    let bytes: [UInt8]
    var offset: Int
    let end: Int

    init(_ bytes: [UInt8], from offset: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.offset = offset
        self.end = min(end ?? bytes.count, bytes.count)
    }

    var remaining: Int { max(0, end - offset) }

    mutating func u8() -> UInt8? {
        guard offset < end else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() -> UInt16? {
        guard offset + 2 <= end else { return nil }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func u32() -> UInt32? {
        guard let high = u16(), let low = u16() else { return nil }
        return UInt32(high) << 16 | UInt32(low)
    }

    mutating func skip(_ count: Int) -> Bool {
        guard count >= 0, offset + count <= end else { return false }
        offset += count
        return true
    }

    /// A sub-reader over the next `count` bytes (which this one skips).
    mutating func take(_ count: Int) -> IntelliVueReader? {
        guard count >= 0, offset + count <= end else { return nil }
        defer { offset += count }
        return IntelliVueReader(bytes, from: offset, end: offset + count)
    }
}

extension IntelliVueMessage {
    // Data Export constants (VSCaptureMP Class2.cs, as collected in the protocol document).
    static let sessionID: [UInt8] = [0xE1, 0x00, 0x00, 0x02]
    static let roiv: UInt16 = 1, rors: UInt16 = 2, roer: UInt16 = 3, rolrs: UInt16 = 5
    static let eventReport: UInt16 = 0, confirmedEventReport: UInt16 = 1, confirmedAction: UInt16 = 7
    static let mdsCreateNotification: UInt16 = 0x0D06, connectIndicationEvent: UInt16 = 0x0D17
    static let pollAction: UInt16 = 0x0C16, extendedPollAction: UInt16 = 0xF13B
    static let mdsClass: UInt16 = 0x0021
    static let numericValue: UInt16 = 0x0950, compoundNumericValue: UInt16 = 0x094B
    /// Most numerics one poll reply may carry (bounds the work on a hostile reply).
    static let maxNumerics = 1024

    /// The message a frame's payload holds.
    package static func parse(_ payload: [UInt8]) -> IntelliVueMessage {
        guard let first = payload.first else { return .malformed("empty payload") }
        switch first {
        case 0x0E: return .associationAccepted
        case 0x0C: return .associationRefused
        case 0x09: return .releaseRequest
        case 0x0A: return .releaseResponse
        case 0x19: return .abort
        case 0x0D: return .other("association request")
        default: break
        }
        if payload.starts(with: sessionID) { return dataExport(payload, from: 4) }
        // The LAN's Connect Indication starts with the 4-byte nomenclature version instead.
        if payload.starts(with: [0x00, 0x00, 0x01, 0x00]) { return dataExport(payload, from: 4) }
        return .malformed("payload starting \(Hex.byte(first)), not a Data Export or session message")
    }

    static func dataExport(_ payload: [UInt8], from start: Int) -> IntelliVueMessage {
        var reader = IntelliVueReader(payload, from: start)
        guard let roType = reader.u16(), let roLength = reader.u16(), var ro = reader.take(Int(roLength)) else {
            return .malformed("Data Export header cut short")
        }
        switch roType {
        case roiv:
            guard let invokeID = ro.u16(), let command = ro.u16(), let length = ro.u16(), var argument = ro.take(Int(length)) else {
                return .malformed("ROIV cut short")
            }
            guard command == eventReport || command == confirmedEventReport else { return .other("ROIV command \(command)") }
            guard let objectClass = argument.u16(), argument.skip(4), let eventTime = argument.u32(), let eventType = argument.u16(),
                  let infoLength = argument.u16(), var info = argument.take(Int(infoLength))
            else { return .malformed("event report cut short") }
            if eventType == mdsCreateNotification && objectClass == mdsClass { return .mdsCreate(invokeID: invokeID, eventTime: eventTime) }
            if eventType == connectIndicationEvent {
                guard let attributes = attributeList(&info) else { return .malformed("connect indication's attribute list cut short") }
                return .connectIndication(attributes)
            }
            return .other("event \(Hex.byte(UInt8(eventType >> 8)))\(Hex.byte(UInt8(eventType & 0xFF)))")
        case rors, rolrs:
            var linkState: UInt8?
            if roType == rolrs {
                guard let state = ro.u8(), ro.skip(1) else { return .malformed("linked result cut short") }
                linkState = state
            }
            guard let invokeID = ro.u16(), let command = ro.u16(), let length = ro.u16(), var result = ro.take(Int(length)) else {
                return .malformed("result cut short")
            }
            guard command == confirmedAction else { return .other("result of command \(command)") }
            guard result.skip(6), let action = result.u16(), let actionLength = result.u16(), var reply = result.take(Int(actionLength)) else {
                return .malformed("action result cut short")
            }
            guard action == pollAction || action == extendedPollAction else { return .other("action result \(action)") }
            // PollMdibDataReply: 20 bytes before the list; the extended reply has a sequence number more.
            guard reply.skip(action == pollAction ? 20 : 22) else { return .malformed("poll reply header cut short") }
            guard let numerics = pollInfoList(&reply) else { return .malformed("poll reply's list cut short") }
            return .pollReply(invokeID: invokeID, linkState: linkState, numerics: numerics)
        case roer:
            guard let invokeID = ro.u16(), let code = ro.u16() else { return .malformed("error cut short") }
            return .error(invokeID: invokeID, code: code)
        default:
            return .other("remote operation type \(roType)")
        }
    }

    /// AttributeList {count, length, AVA[count]}: nil when it runs past its bytes.
    static func attributeList(_ reader: inout IntelliVueReader) -> [IntelliVueAttribute]? {
        guard let count = reader.u16(), let length = reader.u16(), var list = reader.take(Int(length)) else { return nil }
        var attributes: [IntelliVueAttribute] = []
        for _ in 0..<count {
            guard let id = list.u16(), let size = list.u16(), let value = list.take(Int(size)) else { return nil }
            attributes.append(IntelliVueAttribute(id: id, value: Array(value.bytes[value.offset..<value.end])))
        }
        return attributes
    }

    /// PollInfoList → SingleContextPoll → ObservationPoll → AttributeList: every numeric (0x0950) and
    /// every member of a compound numeric (0x094B), in order; unknown attributes skipped by length.
    static func pollInfoList(_ reader: inout IntelliVueReader) -> [IntelliVueNumeric]? {
        guard let contexts = reader.u16(), let length = reader.u16(), var list = reader.take(Int(length)) else { return nil }
        var numerics: [IntelliVueNumeric] = []
        for _ in 0..<contexts {
            guard list.skip(2), let observations = list.u16(), let size = list.u16(), var context = list.take(Int(size)) else { return nil }
            for _ in 0..<observations {
                guard context.skip(2), let attributes = attributeList(&context) else { return nil }
                for attribute in attributes where numerics.count < maxNumerics {
                    var value = IntelliVueReader(attribute.value)
                    if attribute.id == numericValue, let numeric = nuObsValue(&value) {
                        numerics.append(numeric)
                    } else if attribute.id == compoundNumericValue, let count = value.u16(), value.skip(2) {
                        for _ in 0..<count {
                            guard let numeric = nuObsValue(&value) else { break }
                            numerics.append(numeric)
                        }
                    }
                }
            }
        }
        return numerics
    }

    static func nuObsValue(_ reader: inout IntelliVueReader) -> IntelliVueNumeric? {
        guard let physio = reader.u16(), let state = reader.u16(), let unit = reader.u16(), let raw = reader.u32() else { return nil }
        return IntelliVueNumeric(physioID: physio, state: state, unitCode: unit, raw: raw)
    }
}
