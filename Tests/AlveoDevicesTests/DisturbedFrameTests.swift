import AlveoCore
import AlveoDevices
import Testing

/// Issue 28 part 1, "no frame whose bytes were disturbed yields a value": for every valid golden reply
/// of every serial protocol, every single-byte insertion, deletion and substitution is played between
/// a valid reply before it and one after it, and the values decoded must be exactly those of the
/// undisturbed stream, or those of the stream without the disturbed reply (it was rejected). Never a
/// different value, and the reply after it always decodes (resynchronisation loses nothing more).
///
/// What a protocol cannot detect is listed here by name, with the reason, and for those edits only
/// the neighbours are checked (the reply before and after decode, at most one reply in between):
/// - PB840 MISCF/MISCA: no checksum. A byte of a field changed into another (not a comma) keeps the
///   byte count and the field count. Insertions and deletions change the byte count and are rejected.
/// - Masimo ASCII 1: no checksum. A digit of SPO2/BPM changed into another digit, or a hex digit of
///   EXC into another; and any edit in EXC or at its end (a line end or space added cuts it, a hex
///   digit added or lost changes its width, which varies by model: 3 and 6 seen). A character added
///   to or lost from SPO2 or BPM changes their fixed width of 3 and is rejected.
/// - Nonin format 8: no checksum and no end marker; a frame is only "STATUS with bit 7 set, three
///   bytes with bit 7 clear". Any changed byte that keeps that pattern, and any added byte (it shifts
///   the frame onto a pattern that may hold), cannot be detected. Deletions are detected (the next
///   frame's STATUS falls inside the four bytes).
/// - SERVO RADC: every single-byte edit of a breath block is detected, but the stream has no byte that
///   only starts a block: a disturbed byte that reads as the start of a block of unknown length
///   (settings, alarm, trend, curve), or a lost or changed end flag or checksum, may take the next
///   block with the disturbed one (both rejected: never a value); for those edits the test accepts
///   that the next block is lost too (`mayLoseNext`), never a value.
/// Everything else is detected: SERVO CIE (XOR of the whole reply, which starts after the command, and
/// 4 digits per channel), SERVO RADC (XOR, one value per channel, end flag), MEDIBUS (byte sum, printable
/// 6-character records), Nonin format 2 (byte sum per frame, packets of 25), IntelliVue (FCS-16, length),
/// GE S/5 (byte sum, r_len, escapes 7D 5E/5D only, subrecord layout).
/// Modbus: Alveo's decoder sees registers, never frames: libmodbus checks the RTU CRC-16 and the TCP
/// MBAP header before any register reaches it, so the property is libmodbus's and is not tested here.
@Suite struct DisturbedFrameTests {
    enum Edit: CustomStringConvertible {
        case insert(Int, UInt8), delete(Int), substitute(Int, UInt8)

        func apply(_ frame: [UInt8]) -> [UInt8] {
            var bytes = frame
            switch self {
            case .insert(let at, let byte): bytes.insert(byte, at: at)
            case .delete(let at): bytes.remove(at: at)
            case .substitute(let at, let byte): bytes[at] = byte
            }
            return bytes
        }

        var description: String {
            switch self {
            case .insert(let at, let byte): "insert \(Hex.byte(byte)) before byte \(at)"
            case .delete(let at): "delete byte \(at)"
            case .substitute(let at, let byte): "substitute \(Hex.byte(byte)) for byte \(at)"
            }
        }
    }

    /// Framing bytes of every protocol, digits, hex letters and separators, 0x00 and 0xFF.
    static let framingBytes: [UInt8] = [0x00, 0xFF, 0x01, 0x02, 0x03, 0x04, 0x06, 0x0A, 0x0D, 0x11, 0x13, 0x15, 0x1B,
                                        0x7D, 0x7E, 0x7F, 0x80, 0x81, 0xC0, 0xC1, 0xE0, 0x20, 0x25, 0x2B, 0x2C, 0x2D, 0x2E,
                                        0x2F, 0x3A, 0x3D, 0x42, 0x45, 0x52, 0x53, 0x54]
        + Array(UInt8(ascii: "0")...UInt8(ascii: "9")) + Array(UInt8(ascii: "A")...UInt8(ascii: "F")) + Array(UInt8(ascii: "a")...UInt8(ascii: "f"))

    /// The bytes inserted (and, for long frames, substituted): every byte value of the frame and the framing bytes.
    static func representative(_ frame: [UInt8]) -> [UInt8] {
        Array(Set(frame).union(framingBytes)).sorted()
    }

    /// Every insertion (before each byte; one after the last byte is one before the next reply's
    /// first) of the representative bytes, deletion and substitution at `positions`: substitutions by
    /// all 256 values for a frame of at most 64 bytes; for a longer one (to keep the suite's time
    /// modest) by the framing bytes and the byte with its bit 0, 5 or 7 flipped.
    static func edits(of frame: [UInt8], positions: [Int]? = nil) -> [Edit] {
        let inserted = representative(frame)
        var edits: [Edit] = []
        for at in positions ?? Array(frame.indices) {
            edits += inserted.map { .insert(at, $0) }
            edits.append(.delete(at))
            let substituted = frame.count <= 64 ? Array(0...255) : Array(Set(framingBytes + [0x01, 0x20, 0x80].map { frame[at] ^ $0 })).sorted()
            edits += substituted.filter { $0 != frame[at] }.map { .substitute(at, $0) }
        }
        return edits
    }

    /// Plays `golden`, disturbed by each edit, between two `neighbour` replies through a decoder
    /// (`initial`, each reply handed to `step`), and records every edit whose values are neither those
    /// of the clean stream nor those of the stream without the reply. `undetectable` edits (listed
    /// above) are held to the neighbours only; `mayLoseNext` edits may also lose the reply after.
    static func check<State>(_ name: String, golden: [UInt8], neighbour: [UInt8], edits: [Edit],
                             undetectable: (Edit) -> Bool = { _ in false }, mayLoseNext: (Edit) -> Bool = { _ in false },
                             initial: State, step: (inout State, [UInt8]) -> [[Observation]]) -> (failures: [String], rejected: Int, exempt: Int) {
        // The decoder's state after the reply before is kept (decoders are values) and copied for each edit.
        var afterFirst = initial
        let first = step(&afterFirst, neighbour)
        func run(_ pieces: [[UInt8]]) -> [[Observation]] {
            var state = afterFirst
            return first + pieces.flatMap { step(&state, $0) }
        }
        let clean = run([golden, neighbour])
        let without = run([neighbour])
        guard clean.count == 3, without.count == 2, clean[1] != clean[0] else {
            return (["\(name): the clean stream gives \(clean.count) replies, without the golden one \(without.count) (or the neighbour's values equal the golden reply's)"], 0, 0)
        }
        var failures: [String] = []
        var rejected = 0, exempt = 0
        for edit in edits {
            let out = run([edit.apply(golden), neighbour])
            if out == clean { continue }
            if out == without { rejected += 1; continue }
            if mayLoseNext(edit), out == [clean[0]] { rejected += 1; exempt += 1; continue }
            if undetectable(edit), (2...3).contains(out.count), out.first == clean.first, out.last == clean.last || out.last == without.last {
                exempt += 1
                continue
            }
            if failures.count < 8 {
                let shown = out.map { $0.map { "\($0.parameter.name)=\($0.value)" }.joined(separator: " ") }
                failures.append("\(name): \(edit) gives \(out.count) replies: \(shown.joined(separator: " | ")); expected \(clean[1].map { "\($0.parameter.name)=\($0.value)" }.joined(separator: " ")) or a rejection")
            }
        }
        return (failures, rejected, exempt)
    }

    static func expectHolds(_ result: (failures: [String], rejected: Int, exempt: Int), sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.failures.isEmpty, "\(result.failures.joined(separator: "\n"))", sourceLocation: sourceLocation)
        #expect(result.rejected > 0, sourceLocation: sourceLocation)
    }

    static let ventilator: SerialDeviceEncoders.Values = [.rr: 14, .vt: 480, .ppeak: 24, .pplat: 19, .peep: 8, .fio2: 35]
    static let oximeter: SerialDeviceEncoders.Values = [.spo2: 93, .pulseRate: 104]

    // MARK: - PB840

    /// Positions of a long MISC reply: the header, the STX, every 61st byte, the fields Alveo reads
    /// (55, 70, 71, 73, 77, 87, 94) with their commas, the ETX and CR.
    static func pb840Positions(_ reply: [UInt8]) -> [Int] {
        let stx = reply.firstIndex(of: 0x02)!
        var positions = Set(0...(stx + 1)).union(stride(from: 0, to: reply.count, by: 61)).union((reply.count - 3)..<reply.count)
        var commas = [stx]
        for index in (stx + 1)..<reply.count where reply[index] == 0x2C { commas.append(index) }
        for number in [34, 35, 38, 55, 70, 71, 73, 77, 87, 94] where number - 4 < commas.count {
            positions.formUnion((commas[number - 5] + 1)...commas[number - 4])
        }
        return positions.sorted()
    }

    /// A polled session with its clock: each reply answers a poll sent just before it.
    struct Timed<Session: SerialSession> {
        var session: Session
        var t = 0.0

        /// One poll interval on, the poll sent, then the reply received.
        static func step(_ state: inout Timed, _ reply: [UInt8]) -> [[Observation]] {
            state.t += 1
            _ = state.session.tick(at: state.t)
            return state.session.receive(reply, at: state.t).frames
        }
    }

    @Test(arguments: ["pb840_miscf_mdpnp_2011.bin", "pb840_miscf_rta_2023-04-04.bin", "pb980_miscf_rta_2023-04-24.bin", "pb840_misca_mdpnp_2011.bin"])
    func pb840(_ name: String) throws {
        let golden = try fixture(name)
        let stx = golden.firstIndex(of: 0x02)!, etx = golden.lastIndex(of: 0x03)!
        let neighbour = PB840Driver().dataFrame(Self.ventilator, sensor: .ok)
        Self.expectHolds(Self.check(name, golden: golden, neighbour: neighbour, edits: Self.edits(of: golden, positions: Self.pb840Positions(golden)),
                                    undetectable: { edit in
            // No checksum: a field's byte for another byte that is not a comma.
            guard case .substitute(let at, let byte) = edit else { return false }
            return at > stx && at < etx && golden[at] != 0x2C && byte != 0x2C
        }, initial: PB840Decoder(source: "vent")) { $0.feed($1) })
    }

    // MARK: - MEDIBUS

    static var medibusSession: Timed<MedibusSession> {
        var session = MedibusSession(source: "vent")
        _ = session.start(at: 0)
        return Timed(session: session)
    }

    @Test func medibus() throws {
        let neighbour = MedibusDriver().dataFrame(Self.ventilator, sensor: .ok)
        for golden in [try fixture("medibus_spec_p47_spo2_pulse_response.bin"),
                       MedibusDriver().dataFrame([.rr: 16, .vt: 450, .ppeak: 28, .pplat: 22, .peep: 5, .fio2: 40], sensor: .ok)] {
            Self.expectHolds(Self.check("MEDIBUS \(Shown.text(golden, limit: 20))", golden: golden, neighbour: neighbour,
                                        edits: Self.edits(of: golden), initial: Self.medibusSession, step: Timed.step))
        }
    }

    // MARK: - Masimo ASCII 1

    /// The span of a token's value in a line (`KEY=` not included).
    static func valueSpan(_ line: [UInt8], _ key: String) -> Range<Int>? {
        let needle = Array(" \(key)=".utf8)
        guard let start = line.indices.first(where: { line[$0...].starts(with: needle) }) else { return nil }
        let from = start + needle.count
        let end = line[from...].firstIndex { $0 == 0x20 || $0 == 0x0D || $0 == 0x0A } ?? line.count
        return from..<end
    }

    static func masimoUndetectable(_ line: [UInt8]) -> (Edit) -> Bool {
        let digits = [valueSpan(line, "SPO2"), valueSpan(line, "BPM")].compactMap { $0 }
        let exc = valueSpan(line, "EXC")!
        func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        return { edit in
            switch edit {
            case .substitute(let at, let byte):
                if digits.contains(where: { $0.contains(at) }), isDigit(line[at]), isDigit(byte) { return true }
                // A hex digit for another, or for the line end (EXC one digit longer); a line end or
                // a space for one (EXC shorter).
                return (exc.lowerBound...exc.upperBound).contains(at)
            case .insert(let at, _):
                return (exc.lowerBound...exc.upperBound).contains(at)
            case .delete(let at):
                return exc.contains(at)
            }
        }
    }

    @Test func masimoASCII1() throws {
        let rad8 = try fixture("masimo_rad8_ascii1_yahnatan.txt").split(separator: 0x0A).prefix(1).map { Array($0) + [0x0A] }
        let goldens = rad8 + [try fixture("masimo_radical7_mdpnp_example.txt") + [0x0D, 0x0A], try fixture("masimo_radical5_mdpnp_example.txt") + [0x0D, 0x0A]]
        let neighbour = MasimoASCII1Driver().dataFrame(Self.oximeter, sensor: .ok)
        for golden in goldens {
            Self.expectHolds(Self.check("Masimo \(Shown.text(golden, limit: 30))", golden: golden, neighbour: neighbour, edits: Self.edits(of: golden),
                                        undetectable: Self.masimoUndetectable(golden),
                                        initial: MasimoASCII1Decoder(source: "oxi")) { $0.feed($1) })
        }
    }

    // MARK: - Nonin

    @Test func noninFormat2() throws {
        let golden = try fixture("nonin_df2_packet_pufferfish.bin")
        let neighbour = NoninDriver(format: 2).dataFrame(Self.oximeter, sensor: .ok)
        Self.expectHolds(Self.check("Nonin DF2 packet", golden: golden, neighbour: neighbour, edits: Self.edits(of: golden),
                                    initial: NoninDF2Decoder(source: "oxi")) { $0.feed($1) })
    }

    @Test func noninFormat8() throws {
        let driver = NoninDriver(format: 8)
        let neighbour = driver.dataFrame(Self.oximeter, sensor: .ok)
        for golden in [driver.dataFrame([.spo2: 97, .pulseRate: 72], sensor: .ok), driver.dataFrame([.spo2: 88, .pulseRate: 300], sensor: .ok),
                       driver.dataFrame([:], sensor: .disconnected)] {
            Self.expectHolds(Self.check("Nonin DF8 \(golden.map { Hex.byte($0) }.joined(separator: " "))", golden: golden, neighbour: neighbour,
                                        edits: Self.edits(of: golden), undetectable: { edit in
                // No checksum, no end marker: only deletions are detected.
                if case .delete = edit { false } else { true }
            }, initial: NoninDF8Decoder(source: "oxi")) { $0.feed($1) })
        }
    }

    // MARK: - SERVO CIE

    /// A polled SERVO session past its identification, gain reading and channel definition.
    static func servoPolling() -> ServoSession {
        var session = ServoSession(source: "vent", mode: .polled)
        _ = session.start(at: 0)
        for reply in [ServoCIE.message("Servo-i0")] + Array(repeating: ServoCIE.message("ER12"), count: 6) + [ServoCIE.message("*")] {
            _ = session.receive(reply, at: 0)
        }
        return session
    }


    static let issueReply = ServoCIE.message("005200450280022000550400")

    @Test func servoRADAB() throws {
        let neighbour = ServoDriver(mode: .polled).dataFrame(Self.ventilator, sensor: .ok)
        for golden in [try fixture("servo_cie_radab_reply_computed.bin"), Self.issueReply,
                       ServoDriver(mode: .polled).dataFrame([.rr: 12, .vt: 380, .ppeak: 31.5], sensor: .ok)] {
            Self.expectHolds(Self.check("SERVO RADAB \(Shown.text(golden))", golden: golden, neighbour: neighbour,
                                        edits: Self.edits(of: golden), initial: Timed(session: Self.servoPolling()), step: Timed.step))
        }
    }

    /// The reply of the issue with `0` inserted after its third character was read as RR 50.2 (the
    /// longest suffix whose XOR held): it is rejected, and the next reply decodes.
    @Test func servoReplyWithAZeroInsertedIsRejected() throws {
        var disturbed = Self.issueReply
        disturbed.insert(UInt8(ascii: "0"), at: 3)
        #expect(Shown.text(disturbed.prefix(6)) == "005020")
        var session = Self.servoPolling()
        _ = session.tick(at: 1)
        let rejectedBefore = session.counters.rejectedFrames
        #expect(session.receive(disturbed, at: 1).frames.isEmpty, "no RR 50.2")
        #expect(session.counters.rejectedFrames == rejectedBefore + 1)
        _ = session.tick(at: 2)
        let next = session.receive(Self.issueReply, at: 2).frames
        #expect(values(try #require(next.first))[.rr] == .number(5.2))
        #expect(ServoCIE.checkedMessage(Array(disturbed.dropLast())) == nil)
    }

    @Test func servoRADC() throws {
        let golden = try fixture("servo_cie_radc_breath_servoscreen.bin")
        // The same 3 channels, other values (RR 20.0, Ppeak 31.5, O2 40.0).
        var block: [UInt8] = [0x42, 0x00, 0xC8, 0x01, 0x3B, 0x01, 0x90, 0x7F]
        block.append(ServoCIE.xor(block))
        let blockStarts: [UInt8] = [0x80, 0x81, 0xE0] + "BSAET".utf8
        let end = golden.count - 2
        Self.expectHolds(Self.check("SERVO RADC breath block", golden: golden, neighbour: block, edits: Self.edits(of: golden), mayLoseNext: { edit in
            // The stream has no byte that only starts a block: a byte that reads as the start of a
            // block where none starts (settings, alarm, trend and curve blocks have lengths Alveo
            // cannot know), or an end flag or checksum lost or changed, may take the next block with
            // the disturbed one. Never a value: the merged bytes fail the checksum or the layout.
            switch edit {
            case .insert(_, let byte): blockStarts.contains(byte) || byte == ServoCIE.endFlag
            case .substitute(let at, let byte): at >= end || blockStarts.contains(byte) || byte == ServoCIE.endFlag
            case .delete(let at): at >= end || at == 0
            }
        }, initial: ServoRADCDecoder(source: "vent", channels: [200, 205, 209].map { ServoCIE.channel($0)! })) { $0.feed($1) })
    }

    // MARK: - IntelliVue

    @Test func intelliVue() throws {
        let golden = try fixture("intellivue_poll_reply_computed.bin")
        let neighbour = IntelliVueDriver().dataFrame(Self.ventilator.merging(Self.oximeter) { $1 }, sensor: .ok,
                                                     answering: IntelliVueFrame.encode(IntelliVueSession.pollRequest(invokeID: 0)))
        let session = IntelliVueSession(source: "mon")
        Self.expectHolds(Self.check("IntelliVue poll reply", golden: golden, neighbour: neighbour, edits: Self.edits(of: golden),
                                    initial: IntelliVueDeframer()) { deframer, bytes in
            deframer.feed(bytes).compactMap { payload in
                guard case .pollReply(_, _, let numerics) = IntelliVueMessage.parse(payload) else { return nil }
                return session.observations(numerics)
            }
        })
    }

    // MARK: - GE S/5

    @Test func s5() throws {
        let golden = SerialDeviceEncoders.s5Record(Self.ventilator.merging(Self.oximeter) { $1 }.merging([.map: 68.5, .heartRate: 97]) { $1 },
                                                   sensor: .ok)
        let neighbour = SerialDeviceEncoders.s5Record([.spo2: 95, .pulseRate: 80, .fio2: 40, .map: 81, .heartRate: 79, .pplat: 21], sensor: .ok)
        var session = S5Session(source: "mon")
        _ = session.start(at: 0)
        Self.expectHolds(Self.check("S/5 physiological record", golden: golden, neighbour: neighbour, edits: Self.edits(of: golden),
                                    initial: session) { session, bytes in
            session.receive(bytes, at: 1).frames
        })
    }
}
