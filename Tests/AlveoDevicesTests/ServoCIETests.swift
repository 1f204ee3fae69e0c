import AlveoCore
import AlveoDevices
import Testing

/// Maquet SERVO-i / SERVO-s over the CIE (`ServoSession`, `ServoRADCDecoder`, `ServoDriver`).
/// Fixtures (Tests/AlveoDevicesTests/Fixtures, provenance in /work/shared/fixtures/devices/SOURCES.txt):
/// - COMPUTED from the Maquet CIE Reference Manual 65 43 388 rev 12: `servo_cie_cmd_rcty/rcco209/sdadb/
///   radab/radc_computed.bin` (the commands), `servo_cie_rcty_reply_computed.bin` (`Servo-i0` + checksum)
///   and `servo_cie_radab_reply_computed.bin` (RR 16.0, Vte 450, Ppeak 28.0, Pplat 22.0, PEEP 5.0, O2 40.0).
/// - REAL: `servo_cie_radc_stream_servoscreen.bin`, a captured RADC stream (channels C[100], B[200,205,209];
///   from src-jds/servoscreen, ventilator not stated) and its first breath block alone
///   (`servo_cie_radc_breath_servoscreen.bin`).
@Suite struct ServoCIETests {
    static let rrPpeakO2 = [200, 205, 209].compactMap { ServoCIE.channel($0) }

    /// The numbers of one frame, by parameter.
    func numbers(_ frame: [Observation]) -> [Parameter: Double] {
        var result: [Parameter: Double] = [:]
        for observation in frame {
            if case .number(let x) = observation.value { result[observation.parameter] = x }
        }
        return result
    }

    /// Opens a session the way a SERVO answers: the RCTY reply fixture, then `ER12` (no configuration
    /// for the channel: the manual's gains) or the given RCCO replies, then `*` for SDADB (and for
    /// SDADC, streaming). Returns what the session sent, in order.
    func open(_ session: inout ServoSession, configurations: [Int: [UInt8]] = [:], at t: Double = 0) throws -> [[UInt8]] {
        var sent = [session.start(at: t)]
        var reply = session.receive(try fixture("servo_cie_rcty_reply_computed.bin"), at: t + 0.05).reply
        sent.append(reply)
        for channel in session.manualChannels {
            #expect(reply == ServoCIE.message("RCCO\(channel.number)"))
            reply = session.receive(configurations[channel.number] ?? ServoCIE.message("ER12"), at: t + 0.1).reply
            sent.append(reply)
        }
        #expect(reply == ServoCIE.defineBreath(session.manualChannels))
        reply = session.receive(ServoCIE.message("*"), at: t + 0.2).reply
        sent.append(reply)
        if session.mode == .streaming {
            #expect(reply == ServoCIE.message("SDADC100"), "RADC needs a curve channel (manual §4.4)")
            reply = session.receive(ServoCIE.message("*"), at: t + 0.25).reply
            sent.append(reply)
        }
        return sent
    }

    // MARK: - Fixtures

    @Test func theCommandsAreTheComputedFixturesByteForByte() throws {
        #expect(ServoCIE.message("RCTY") == (try fixture("servo_cie_cmd_rcty_computed.bin")), "RCTY1C<EOT>, the manual's §5.4 example")
        #expect(ServoCIE.message("RCCO209") == (try fixture("servo_cie_cmd_rcco209_computed.bin")))
        #expect(ServoCIE.defineBreath(ServoCIE.breathChannels) == (try fixture("servo_cie_cmd_sdadb_computed.bin")))
        #expect(ServoCIE.message("RADAB") == (try fixture("servo_cie_cmd_radab_computed.bin")))
        #expect(ServoCIE.message("RADC") == (try fixture("servo_cie_cmd_radc_computed.bin")))

        // And the session sends exactly those.
        var polled = ServoSession(source: "vent", mode: .polled)
        let sent = try open(&polled)
        #expect(sent.first == (try fixture("servo_cie_cmd_rcty_computed.bin")))
        #expect(sent.contains(try fixture("servo_cie_cmd_rcco209_computed.bin")))
        #expect(sent.dropLast().last == (try fixture("servo_cie_cmd_sdadb_computed.bin")))
        #expect(sent.last == (try fixture("servo_cie_cmd_radab_computed.bin")))
        #expect(polled.identification == "Servo-i")
        var streaming = ServoSession(source: "vent", mode: .streaming)
        #expect(try open(&streaming).last == (try fixture("servo_cie_cmd_radc_computed.bin")))
    }

    @Test func theComputedRADABReplyDecodesToTheDocumentsValues() throws {
        var session = ServoSession(source: "vent", mode: .polled)
        _ = try open(&session)
        let (frames, reply) = session.receive(try fixture("servo_cie_radab_reply_computed.bin"), at: 0.3)
        #expect(reply.isEmpty)
        #expect(frames.count == 1)
        #expect(numbers(frames[0]) == [.rr: 16.0, .vt: 450, .ppeak: 28.0, .pplat: 22.0, .peep: 5.0, .fio2: 40.0])
        #expect(frames[0].map(\.parameter) == [.rr, .vt, .ppeak, .pplat, .peep, .fio2], "table order")
        #expect(frames[0].allSatisfy { $0.source == "vent" })
        #expect(session.counters.rejectedFrames == 0 && session.counters.skippedBytes == 0)
        #expect(session.tick(at: 1.1).isEmpty, "the next poll is due a poll interval after the last")
        #expect(session.tick(at: 1.3) == (try fixture("servo_cie_cmd_radab_computed.bin")))
    }

    @Test func theRealRADCStreamGivesThreeBreathsAndRejectsTheFailingCurveBlock() throws {
        let stream = try fixture("servo_cie_radc_stream_servoscreen.bin")
        var decoder = ServoRADCDecoder(source: "vent", channels: Self.rrPpeakO2)
        let frames = decoder.feed(stream)
        #expect(frames.count == 3)
        #expect(frames.map { numbers($0)[.rr] } == [16.7, 16.9, 15.8])
        #expect(frames.allSatisfy { numbers($0)[.ppeak] == 20.8 && numbers($0)[.fio2] == 100.0 })
        #expect(frames.allSatisfy { $0.map(\.parameter) == [.rr, .ppeak, .fio2] })
        // Curve blocks 0-353 and 363-756 pass; 766-1162 fails (XOR 0x84, received 0xA4); the stream
        // ends inside the curve block that starts at 1172.
        #expect(decoder.counters.rejectedFrames == 1)
        #expect(decoder.lastRejection == "RADC curve data block failed its checksum (XOR 0x84, received 0xA4)")
        #expect(decoder.counters.frames == 5, "two good curve blocks and three breath blocks")
        #expect(decoder.counters.skippedBytes == 0)
        // The truncated end is harmless: nothing decoded is lost, and a new stream decodes after a reset.
        decoder.reset()
        let again = decoder.feed(try fixture("servo_cie_radc_breath_servoscreen.bin"))
        #expect(again.map { numbers($0) } == [[.rr: 16.7, .ppeak: 20.8, .fio2: 100.0]])
        #expect(decoder.counters.rejectedFrames == 1)
    }

    @Test func theRealStreamDecodesTheSameByteByByteAndInRandomChunks() throws {
        let stream = try fixture("servo_cie_radc_stream_servoscreen.bin")
        var whole = ServoRADCDecoder(source: "vent", channels: Self.rrPpeakO2)
        let expected = whole.feed(stream)
        var single = ServoRADCDecoder(source: "vent", channels: Self.rrPpeakO2)
        #expect(stream.flatMap { single.feed([$0]) } == expected)
        #expect(single.counters == whole.counters)
        var generator = SplitMix(seed: 16)
        for _ in 0..<20 {
            var chunked = ServoRADCDecoder(source: "vent", channels: Self.rrPpeakO2)
            var frames: [[Observation]] = []
            var index = 0
            while index < stream.count {
                let size = Int(generator.next() % 40) + 1
                frames += chunked.feed(Array(stream[index..<min(stream.count, index + size)]))
                index += size
            }
            #expect(frames == expected)
            #expect(chunked.counters == whole.counters)
        }
    }

    @Test func theRealStreamThroughTheSessionInRADCMode() throws {
        var session = ServoSession(source: "vent", mode: .streaming, channels: Self.rrPpeakO2)
        #expect(try open(&session).last == ServoCIE.message("RADC"))
        let stream = try fixture("servo_cie_radc_stream_servoscreen.bin")
        var frames: [[Observation]] = []
        for (index, byte) in stream.enumerated() {
            let (decoded, reply) = session.receive([byte], at: 1 + Double(index) / 960)
            #expect(reply.isEmpty)
            frames += decoded
        }
        #expect(frames.map { numbers($0)[.rr] } == [16.7, 16.9, 15.8])
        #expect(session.counters.rejectedFrames == 1)
        #expect(session.lastRejection?.contains("failed its checksum") == true)
    }

    @Test func theRADABReplyByteByByteAndInRandomChunksWithNoise() throws {
        let reply = try fixture("servo_cie_radab_reply_computed.bin")
        var generator = SplitMix(seed: 3)
        for round in 0..<20 {
            var session = ServoSession(source: "vent", mode: .polled)
            _ = try open(&session)
            // Noise before the reply (XON/XOFF inside it are flow control and are dropped).
            var bytes: [UInt8] = [0xFF, 0x00, 0x9C] + Array("junk".utf8) + [0x04] + Array(reply.prefix(5)) + [0x13] + Array(reply.dropFirst(5))
            if round == 0 { bytes.insert(0x11, at: 12) }
            var frames: [[Observation]] = []
            var index = 0
            while index < bytes.count {
                let size = round == 1 ? 1 : Int(generator.next() % 9) + 1
                frames += session.receive(Array(bytes[index..<min(bytes.count, index + size)]), at: 0.5).frames
                index += size
            }
            #expect(frames.count == 1)
            #expect(frames.first.map { numbers($0) } == [.rr: 16.0, .vt: 450, .ppeak: 28.0, .pplat: 22.0, .peep: 5.0, .fio2: 40.0])
            #expect(session.counters.skippedBytes > 0 || session.counters.rejectedFrames > 0, "the noise is counted")
        }
    }

    // MARK: - Values

    @Test func noValueIsNoDataAndAValueThatIsNotDigitsIsRejected() throws {
        var session = ServoSession(source: "vent", mode: .polled)
        _ = try open(&session)
        let frame = session.receive(ServoCIE.message("016099990280999900509999"), at: 0.5).frames
        #expect(frame.count == 1)
        #expect(values(frame[0]) == [.rr: .number(16), .vt: .noData, .ppeak: .number(28), .pplat: .noData, .peep: .number(5), .fio2: .noData])
        let bad = session.receive(ServoCIE.message("01600450028002-000500400"), at: 1.5)
        #expect(bad.frames.isEmpty)
        #expect(session.counters.rejectedFrames == 1)
        #expect(session.lastRejection == "RADAB value of channel 207 is '02-0', not 4 digits")
        _ = session.receive(ServoCIE.message("0160045002800220"), at: 2.5)
        #expect(session.lastRejection == "RADAB reply of 16 characters for 6 channels (4 digits each)")
        // A bad checksum is rejected, never decoded.
        var damaged = try fixture("servo_cie_radab_reply_computed.bin")
        damaged[3] = UInt8(ascii: "9")
        #expect(session.receive(damaged, at: 3.5).frames.isEmpty)
        #expect(session.counters.rejectedFrames == 3)

        // Binary: 7E FF is no value.
        var decoder = ServoRADCDecoder(source: "vent", channels: Self.rrPpeakO2)
        var block: [UInt8] = [0x42, 0x00, 0xA7, 0x7E, 0xFF, 0x03, 0xE8, 0x7F]
        block.append(ServoCIE.xor(block))
        #expect(decoder.feed(block).map(values) == [[.rr: .number(16.7), .ppeak: .noData, .fio2: .number(100)]])
    }

    @Test func gainsReadFromTheVentilatorReplaceTheManuals() throws {
        var session = ServoSession(source: "vent", mode: .polled)
        // Vte with a gain of 10 (a raw 45 is 450 ml); Ppeak in mbar; PEEP with an offset of 1.
        _ = try open(&session, configurations: [
            201: ServoCIE.message("201,00010E+000,00000E+000,01,BT,201;"),
            205: ServoCIE.message("205,00001E-001,00000E+000,12,BT,205;"),
            208: ServoCIE.message("208,00001E-001,00001E+000,04,BT,208;"),
            209: SerialDeviceEncoders.servoChannelConfiguration(ServoCIE.channel(209)!),
            207: ServoCIE.message("207,99999E+999,00000E+000,04,BT,207;"),
        ])
        #expect(session.channels.map(\.gain) == [0.1, 10, 0.1, 0.1, 0.1, 0.1])
        #expect(session.lastRejection?.hasPrefix("channel 207: gain '99999E+999' is not a usable gain") == true, "an absurd gain keeps the manual's")
        let frame = try #require(session.receive(ServoCIE.message("016000450280022000600400"), at: 0.5).frames.first)
        let v = numbers(frame)
        #expect(v[.vt] == 450)
        #expect(abs(v[.ppeak]! - 28.0 * 1.019716) < 1e-9, "mbar to cmH2O")
        #expect(v[.peep] == 5.0, "raw 60 × 0.1 − 1")
        #expect(v[.pplat] == 22.0 && v[.rr] == 16.0 && v[.fio2] == 40.0)
        // An unanswered RCCO keeps the manual's gain after a second.
        var quiet = ServoSession(source: "vent", mode: .polled)
        _ = quiet.start(at: 0)
        #expect(quiet.receive(try fixture("servo_cie_rcty_reply_computed.bin"), at: 0.1).reply == ServoCIE.message("RCCO200"))
        #expect(quiet.tick(at: 0.6).isEmpty)
        #expect(quiet.tick(at: 1.2) == ServoCIE.message("RCCO201"))
    }

    // MARK: - Errors and recovery

    @Test func errorCodes() throws {
        var session = ServoSession(source: "vent", mode: .polled)
        _ = try open(&session)
        // ER17 (standby): said and counted; polling goes on.
        #expect(session.receive(ServoCIE.message("ER17"), at: 0.5).reply.isEmpty)
        #expect(session.lastRejection == "ventilator in standby (ER17)")
        #expect(session.counters.rejectedFrames == 1)
        #expect(session.tick(at: 1.3) == ServoCIE.message("RADAB"))
        // ER18 (our command arrived garbled): sent again at the next tick.
        #expect(session.receive(ServoCIE.message("ER18"), at: 1.4).reply.isEmpty)
        #expect(session.tick(at: 1.5) == ServoCIE.message("RADAB"))
        // ER16 (no channels: the ventilator lost its table): defined again 1 s later, then polled.
        #expect(session.receive(ServoCIE.message("ER16"), at: 1.6).reply.isEmpty)
        #expect(session.lastRejection == "the ventilator answered RADAB with error 16 (CIE not configured: no breath channels defined); defining the channels again in 1 s")
        #expect(session.refusal == nil, "a first refusal is not yet a standing one")
        #expect(session.tick(at: 2.5).isEmpty)
        #expect(session.tick(at: 2.6) == ServoCIE.defineBreath(ServoCIE.breathChannels))
        #expect(session.receive(ServoCIE.message("*"), at: 2.7).reply == ServoCIE.message("RADAB"))
        // Others: counted and logged; refused again before any data: a standing refusal, asked again 2 s later.
        _ = session.receive(ServoCIE.message("ER10"), at: 2.8)
        #expect(session.lastRejection == "the ventilator answered RADAB with error 10 (invalid command), 2 times running; asking again in 2 s")
        #expect(session.refusal == "SERVO answered RADAB with error 10 (invalid command)")
        #expect(session.tick(at: 4.7).isEmpty)
        #expect(session.tick(at: 4.8) == ServoCIE.message("RADAB"))
        #expect(session.receive(try fixture("servo_cie_radab_reply_computed.bin"), at: 4.9).frames.count == 1)
        #expect(session.refusal == nil, "data ends the refusal")
        // The binary error block in a stream: standby, RADC asked again 5 s later.
        var streaming = ServoSession(source: "vent", mode: .streaming)
        _ = try open(&streaming)
        var block: [UInt8] = [0xE0, 0x11, 0x7F]
        block.append(ServoCIE.xor(block))
        _ = streaming.receive(block, at: 1)
        #expect(streaming.lastRejection == "ventilator in standby (ER17)")
        #expect(streaming.tick(at: 5.9).isEmpty)
        #expect(streaming.tick(at: 6.0) == ServoCIE.message("RADC"))
        // And RADC refused in ASCII.
        _ = streaming.receive(ServoCIE.message("ER17"), at: 6.1)
        #expect(streaming.counters.rejectedFrames == 2)
        #expect(streaming.tick(at: 11.2) == ServoCIE.message("RADC"))
    }

    /// RADC as the manual says (§4.4, §2.2.3): with no curve channel defined it answers the binary
    /// error 16. Alveo defines one with SDADC; a ventilator that refuses all the same is asked again
    /// after pauses doubling from 1 s to 30 s (never in a tight loop), and its answer is said.
    @Test func aRefusedRADCIsAskedAgainWithGrowingPausesAndItsAnswerSaid() throws {
        var session = ServoSession(source: "vent", mode: .streaming)
        _ = try open(&session)
        var error16: [UInt8] = [0xE0, 0x10, 0x7F]
        error16.append(ServoCIE.xor(error16))
        // A ventilator that takes every definition and refuses every RADC.
        func answer(_ command: [UInt8]) -> [UInt8] {
            guard !command.isEmpty else { return [] }
            if command == ServoCIE.message("RADC") { return error16 }
            if command.starts(with: Array("SDAD".utf8)) { return ServoCIE.message("*") }
            Issue.record("unexpected command \(Shown.text(command, limit: 40))")
            return []
        }
        var radcAt: [Double] = [0.25]
        var pending = answer(ServoCIE.message("RADC"))
        var refusalAt: Double?
        for step in 4...1200 {
            let t = Double(step) / 10
            if !pending.isEmpty {
                var command = session.receive(pending, at: t).reply
                pending = []
                while !command.isEmpty {
                    if command == ServoCIE.message("RADC") { radcAt.append(t) }
                    let reply = answer(command)
                    command = reply == error16 ? [] : session.receive(reply, at: t).reply
                    if reply == error16 { pending = reply }
                }
            }
            if refusalAt == nil, session.refusal != nil { refusalAt = t }
            let sent = session.tick(at: t)
            #expect(sent != [ServoCIE.esc] && sent != ServoCIE.message("RCTY"), "waiting to ask again is not silence (t \(t))")
            if sent == ServoCIE.message("RADC") { radcAt.append(t) }
            if !sent.isEmpty { pending = answer(sent) }
        }
        let pauses = zip(radcAt.dropFirst(), radcAt).map { (($0 - $1) * 10).rounded() / 10 }
        // Each pause, plus the 0.1 s the error and the SDADB acknowledgement each take to arrive here.
        #expect(pauses.prefix(7) == [1.3, 2.2, 4.2, 8.2, 16.2, 30.2, 30.2], "1 s doubling to 30 s, then 30 s: \(pauses)")
        #expect(radcAt.count <= 9, "at most 9 RADC in 2 minutes: \(radcAt)")
        #expect(refusalAt.map { $0 < 2 } == true, "said from the second refusal: \(String(describing: refusalAt))")
        #expect(session.refusal == "SERVO answered RADC with error 16 (CIE not configured: no curve channels defined)")
        // The stream comes: the refusal is over, and the pauses start again from 1 s.
        _ = session.receive(SerialDeviceEncoders.servoBreathBlock([.rr: 20]), at: 200)
        #expect(session.refusal == nil)
    }

    @Test func silenceAndBasicModeStartOver() throws {
        var session = ServoSession(source: "vent", mode: .polled)
        _ = try open(&session)
        _ = session.receive(try fixture("servo_cie_radab_reply_computed.bin"), at: 0.3)
        // Polls go unanswered: at 3 × max(poll interval, 1 s) after the last reply, RCTY again.
        var sent: [[UInt8]] = []
        for step in 4...34 { sent.append(session.tick(at: Double(step) / 10)) }
        #expect(sent.filter { $0 == ServoCIE.message("RADAB") }.count == 3)
        #expect(sent.last == ServoCIE.message("RCTY"))
        // The ventilator back in BASIC mode (after HO or a restart): identify again at once.
        _ = try open(&session, at: 4)
        #expect(session.receive(Array("900PCI".utf8) + [0x04], at: 4.5).reply == ServoCIE.message("RCTY"))
        #expect(session.lastRejection == "the CIE answered in BASIC mode (900PCI): identifying again")

        // RADC: no valid block for 15 s → ESC, then RCTY half a second later.
        var streaming = ServoSession(source: "vent", mode: .streaming)
        _ = try open(&streaming)
        _ = streaming.receive(SerialDeviceEncoders.servoBreathBlock([.rr: 20]), at: 3)
        #expect(streaming.tick(at: 17.9).isEmpty)
        #expect(streaming.tick(at: 18.1) == [0x1B])
        #expect(streaming.tick(at: 18.4).isEmpty)
        #expect(streaming.tick(at: 18.6) == ServoCIE.message("RCTY"))
        // The end flag again after a block: the stream stopped (standby, overflow): start over.
        _ = try open(&streaming, at: 20)
        let stopped = streaming.receive(SerialDeviceEncoders.servoBreathBlock([.rr: 20]) + [0x7F], at: 21)
        #expect(stopped.frames.count == 1 && stopped.reply == [0x1B])
    }

    @Test func xonXoffAreDataInsideABinaryBlock() {
        var decoder = ServoRADCDecoder(source: "vent", channels: Self.rrPpeakO2)
        // 0x11 0x13 as a value (RR 437.1 is out of range for the core, but it is what was sent), and
        // a 0x7F as a value's second byte: both data by position.
        var block: [UInt8] = [0x42, 0x11, 0x13, 0x00, 0x7F, 0x03, 0xE8, 0x7F]
        block.append(ServoCIE.xor(block))
        let frames = decoder.feed([0x11] + block + [0x13])
        #expect(frames.map(numbers) == [[.rr: 437.1, .ppeak: 12.7, .fio2: 100]])
        #expect(decoder.counters.skippedBytes == 0, "flow control between blocks is not noise")
    }

    @Test func buffersAreBoundedAndTheSessionGoesOn() throws {
        var session = ServoSession(source: "vent", mode: .polled)
        _ = try open(&session)
        _ = session.receive([UInt8](repeating: 0x41, count: 10_000), at: 0.3)
        #expect(session.counters.skippedBytes >= 8000)
        _ = session.receive([0x04], at: 0.3)
        #expect(session.receive(try fixture("servo_cie_radab_reply_computed.bin"), at: 0.4).frames.count == 1)

        var decoder = ServoRADCDecoder(source: "vent", channels: Self.rrPpeakO2)
        _ = decoder.feed([0x80] + [UInt8](repeating: 0x01, count: 10_000))
        #expect(decoder.counters.rejectedFrames == 1 && decoder.counters.skippedBytes == 10_001, "the block dropped at 4 KiB, the rest skipped")
        #expect(decoder.feed(try fixture("servo_cie_radc_breath_servoscreen.bin")).count == 1)
    }

    @Test func startForgetsEverythingATickChanged() throws {
        // Two sessions: one that went through a conversation and a silence, one fresh; after start both
        // send the same bytes for the same input (replay reopens sessions and must match live).
        var used = ServoSession(source: "vent", mode: .streaming)
        _ = try open(&used)
        _ = used.receive([0x42, 0x00, 0x01], at: 1)
        _ = used.receive(ServoCIE.message("ER17"), at: 2)
        _ = used.tick(at: 30)
        var fresh = ServoSession(source: "vent", mode: .streaming)
        var a: [[UInt8]] = [used.start(at: 100)], b: [[UInt8]] = [fresh.start(at: 100)]
        let conversation: [[UInt8]] = [try fixture("servo_cie_rcty_reply_computed.bin")] + Array(repeating: ServoCIE.message("ER12"), count: 6)
            + [ServoCIE.message("*"), SerialDeviceEncoders.servoBreathBlock([.rr: 20, .vt: 400])]
        for (index, bytes) in conversation.enumerated() {
            let t = 100 + Double(index) / 10
            a.append(used.receive(bytes, at: t).reply + used.tick(at: t + 0.05))
            b.append(fresh.receive(bytes, at: t).reply + fresh.tick(at: t + 0.05))
        }
        for step in 1...200 { a.append(used.tick(at: 101 + Double(step) / 10)); b.append(fresh.tick(at: 101 + Double(step) / 10)) }
        #expect(a == b)
        #expect(used.channels == fresh.channels)
    }

    @Test func anyBytesInAnyChunksNeverTrap() {
        var generator = SplitMix(seed: 99)
        for mode in [ServoSession.Mode.polled, .streaming] {
            var session = ServoSession(source: "vent", mode: mode)
            _ = session.start(at: 0)
            var t = 0.0
            for _ in 0..<3000 {
                let count = Int(generator.next() % 24)
                var bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                if generator.next() % 5 == 0 { bytes += [0x04] }
                if generator.next() % 7 == 0 { bytes += ServoCIE.message("*") }
                t += Double(generator.next() % 400) / 1000
                _ = session.receive(bytes, at: t)
                _ = session.tick(at: t)
            }
            #expect(session.counters.skippedBytes >= 0)
        }
    }

    @Test func theDriversSimulatorAnswersTheConversation() {
        let driver = ServoDriver(mode: .polled)
        var heard = ServoCIE.message("RCTY") + ServoCIE.message("RCCO201") + [0x04] + ServoCIE.message("RADAB") + [0x1B]
        let answers = driver.answers(to: &heard)
        #expect(answers == [.bytes(ServoCIE.message("Servo-i0")), .bytes(ServoCIE.message("201,00001E+000,00000E+000,01,BT,201;")),
                            .bytes(ServoCIE.message("*")), .dataFrame])
        #expect(heard.isEmpty)
        #expect(SerialDrivers.named("servo_cie")?.line.description == "9600 8E1 XON/XOFF")
        #expect(SerialDrivers.named("servo_cie_radc")?.streamInterval == 3)
    }
}

/// A small deterministic generator (SplitMix64) for the chunking and mutation tests (SERVO, IntelliVue).
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
