import AlveoCore
import AlveoDevices
import Testing

@Suite struct MedibusSessionTests {
    @Test func commandsAndEchoesMatchTheFixtures() throws {
        #expect(MedibusSession.command(0x51) == (try fixture("medibus_cmd_icc.bin")))
        #expect(MedibusSession.command(0x52) == (try fixture("medibus_cmd_devid.bin")))
        #expect(MedibusSession.command(0x24) == (try fixture("medibus_cmd_measured_cp1.bin")))
        #expect(MedibusSession.command(0x30) == (try fixture("medibus_cmd_nop.bin")))
        #expect(MedibusSession.command(0x55) == (try fixture("medibus_cmd_stop.bin")))
        #expect(MedibusSession.echo(0x51) == (try fixture("medibus_resp_icc_echo.bin")))
        #expect(MedibusSession.echo(0x30) == (try fixture("medibus_resp_nop_echo.bin")))
    }

    @Test func handshakeThenMeasuredDataOfTheSpecExample() throws {
        var session = MedibusSession(source: "vent")
        #expect(session.start(at: 0) == MedibusSession.command(0x51))
        _ = session.receive(try fixture("medibus_resp_icc_echo.bin"), at: 0.1)
        #expect(session.tick(at: 1.0) == MedibusSession.command(0x24), "linked: ask for measured data")
        // Realtime bytes (bit 7 set) and DC1/DC3 interleaved with the frame are filtered out.
        var response = try fixture("medibus_spec_p47_spo2_pulse_response.bin")
        response.insert(0x91, at: 5)
        response.insert(0x13, at: 9)
        let (frames, reply) = session.receive(response, at: 1.1)
        #expect(reply.isEmpty)
        #expect(frames.count == 1)
        #expect(values(frames[0]) == [.spo2: .number(98), .pulseRate: .number(70)])
    }

    @Test func ventilatorCommandsAreEchoedAndItsICCResetsTheLink() throws {
        var session = MedibusSession(source: "vent")
        _ = session.start(at: 0)
        _ = session.receive(try fixture("medibus_resp_icc_echo.bin"), at: 0.1)
        let nop = session.receive(MedibusSession.command(0x30), at: 0.5)
        #expect(nop.reply == (try fixture("medibus_resp_nop_echo.bin")))
        let icc = session.receive(MedibusSession.command(0x51), at: 0.6)
        #expect(icc.reply == (try fixture("medibus_resp_icc_echo.bin")))
        #expect(session.tick(at: 1.2).isEmpty, "not linked after the ventilator's ICC: wait, then handshake again")
        #expect(session.tick(at: 3.7) == MedibusSession.command(0x51))
    }

    @Test func badChecksumIsRejectedAndMbarIsConverted() {
        var session = MedibusSession(source: "vent")
        _ = session.start(at: 0)
        _ = session.receive(MedibusSession.echo(0x51), at: 0)
        var bad = [UInt8]([0x01, 0x24]) + Array("74  30 ".utf8)
        bad += Array("00".utf8) + [0x0D]
        #expect(session.receive(bad, at: 1).frames.isEmpty)
        #expect(session.counters.rejectedFrames == 1)
        var good = [UInt8]([0x01, 0x24]) + Array("74  3078 5.0F0    ".utf8)
        good += MedibusSession.checksum(good) + [0x0D]
        let frame = session.receive(good, at: 2).frames[0]
        let v = values(frame)
        if case .number(let pplat)? = v[.pplat] { #expect(abs(pplat - 30.59148) < 1e-6) } else { Issue.record("no Pplat") }
        if case .number(let peep)? = v[.peep] { #expect(abs(peep - 5.09858) < 1e-6) } else { Issue.record("no PEEP") }
        #expect(v[.fio2] == .noData, "a blank value is no data")
    }

    @Test func keepAliveWhenIdle() throws {
        var session = MedibusSession(source: "vent", pollInterval: 10)
        _ = session.start(at: 0)
        _ = session.receive(try fixture("medibus_resp_icc_echo.bin"), at: 0.1)
        #expect(session.tick(at: 1.0).isEmpty)
        #expect(session.tick(at: 1.6) == MedibusSession.command(0x30))
    }
}

@Suite struct PB840SessionTests {
    @Test func pollsAfterEachReplyAndRetriesAfterSilence() throws {
        var session = PB840Session(source: "vent", pollInterval: 1, retryAfter: 2)
        #expect(session.start(at: 0) == Array("SNDF\r".utf8))
        #expect(session.tick(at: 1.5).isEmpty, "waiting for the reply")
        #expect(session.tick(at: 2.0) == Array("SNDF\r".utf8), "no reply for 2 s: ask again")
        let (frames, _) = session.receive(try fixture("pb840_miscf_mdpnp_2011.bin"), at: 2.3)
        #expect(frames.count == 1)
        #expect(session.tick(at: 2.9).isEmpty)
        #expect(session.tick(at: 3.0) == Array("SNDF\r".utf8))
        _ = session.receive(Array("MISCF,1225,169 ,".utf8), at: 4.8)  // a slow reply still arriving
        #expect(session.tick(at: 5.1).isEmpty, "no second SNDF in the middle of a reply")
    }
}

@Suite struct NoninDF8Tests {
    @Test func framesDecodeAndNoiseIsSkipped() {
        var decoder = NoninDF8Decoder(source: "oxi")
        // STATUS 0x80 (HR bits 8:7 = 0), HR 72, SpO2 97, STATUS2; then noise; then disconnected with no values.
        let frames = decoder.feed([0x80, 72, 97, 0x00, 0xFF, 0xFE, 0x80 | 0x40 | 0x03, 0x7F, 127, 0x00])
        #expect(frames.count == 2)
        #expect(values(frames[0]) == [.sensor: .sensor(.ok), .spo2: .number(97), .pulseRate: .number(72)])
        #expect(values(frames[1]) == [.sensor: .sensor(.disconnected), .spo2: .noData, .pulseRate: .noData])
        #expect(decoder.counters.skippedBytes == 2)
    }

    @Test func formatSelectionWaitsForACKAndRetriesAfterNAK() {
        var session = NoninSession(decoder: NoninDF8Decoder(source: "oxi"), format: 8)
        #expect(session.start(at: 0) == [0x02, 0x70, 0x02, 0x02, 0x08, 0x03])
        _ = session.receive([0x15], at: 0.1)
        #expect(session.lastRejection == "the oximeter refused data format 8 (NAK)")
        #expect(session.tick(at: 1).isEmpty)
        #expect(session.tick(at: 2) == [0x02, 0x70, 0x02, 0x02, 0x08, 0x03], "asked again after 2 s")
        #expect(session.counters.rejectedFrames == 1, "the NAK is counted, so it is logged")
        let (frames, _) = session.receive([0x06, 0x80, 60, 95, 0x00], at: 2.1)
        #expect(session.acknowledged)
        #expect(frames.count == 1, "the ACK byte is not taken for data")
        #expect(session.tick(at: 10).isEmpty)
    }

    /// An oximeter already streaming answers the selection with NAK and data in the same read: the
    /// NAK is its answer, so the selection is sent again 2 s later (three times in all, as the README
    /// says) although frames decode; the frames are delivered meanwhile; an ACK ends the asking.
    @Test func aNAKFollowedByDataInTheSameReadIsStillARefusal() {
        let select: [UInt8] = [0x02, 0x70, 0x02, 0x02, 0x08, 0x03]
        var session = NoninSession(decoder: NoninDF8Decoder(source: "oxi"), format: 8)
        #expect(session.start(at: 0) == select)
        let (frames, _) = session.receive([0x15, 0x80, 72, 97, 0x00, 0x80, 72, 97, 0x00], at: 0.1)
        #expect(frames.count == 2, "the data after the NAK is decoded")
        #expect(session.lastRejection == "the oximeter refused data format 8 (NAK)")
        #expect(session.rejections.reasons == ["the oximeter refused data format 8 (NAK)"])
        #expect(!session.acknowledged)
        #expect(session.tick(at: 1.9).isEmpty)
        #expect(session.tick(at: 2.1) == select, "asked again: the frames do not override the NAK")
        _ = session.receive([0x15, 0x80, 72, 97, 0x00], at: 2.2)
        #expect(session.tick(at: 4.2) == select, "the third and last selection")
        _ = session.receive([0x15, 0x80, 72, 97, 0x00], at: 4.3)
        #expect(session.tick(at: 6.3).isEmpty, "three selections in all, then it decodes what comes")
        #expect(session.tick(at: 20).isEmpty)
        #expect(session.counters.rejectedFrames == 3)
        #expect(session.receive([0x80, 70, 96, 0x00], at: 21).frames.count == 1)
        // A new connection asks again; this time an ACK (with data behind it) ends the asking.
        #expect(session.start(at: 30) == select)
        _ = session.receive([0x06, 0x80, 72, 97, 0x00], at: 30.1)
        #expect(session.acknowledged)
        #expect(session.tick(at: 33).isEmpty)
        // The oximeter's stream was already in the port before the selection: the NAK comes between
        // two frames of the same read, and is still the answer. A 0x15 inside a frame is data.
        var streaming = NoninSession(decoder: NoninDF8Decoder(source: "oxi"), format: 8)
        _ = streaming.start(at: 0)
        let read = streaming.receive([0x80, 0x15, 97, 0x00, 0x80, 72, 97, 0x00, 0x15, 0x80, 72, 97, 0x00], at: 0.1)
        #expect(read.frames.count == 3, "HR 21 (0x15) in the first frame is data")
        #expect(streaming.counters.rejectedFrames == 1 && streaming.counters.skippedBytes == 0, "the NAK between frames: \(streaming.counters)")
        #expect(streaming.tick(at: 2.1) == select)
        // Without any answer, data in the format asked for ends the waiting (an oximeter that streams
        // and does not answer).
        var quiet = NoninSession(decoder: NoninDF8Decoder(source: "oxi"), format: 8)
        _ = quiet.start(at: 0)
        #expect(quiet.receive([0x80, 72, 97, 0x00], at: 0.1).frames.count == 1)
        #expect(quiet.tick(at: 2.1).isEmpty)
    }
}

@Suite struct RejectionLogTests {
    @Test func eachRejectionKeepsItsOwnReasonBounded() {
        var log = RejectionLog()
        #expect(log.since(0) == [])
        log.append("a")
        log.append("b")
        log.append("c")
        #expect(log.since(0) == ["a", "b", "c"])
        #expect(log.since(2) == ["c"])
        for index in 0..<40 { log.append("r\(index)") }
        #expect(log.reasons.count == RejectionLog.capacity)
        #expect(log.since(0) == nil, "the older reasons are no longer kept: the reader says so")
        #expect(log.since(log.total - 2) == ["r38", "r39"])
    }

    /// Three IntelliVue frames rejected in one read (a bad FCS, an abort, one cut by the next frame's
    /// start; that next frame's payload is no message either): each rejection with its own reason.
    @Test func threeRejectedFramesInOneReadAreThreeReasons() {
        var session = IntelliVueSession(source: "mon")
        _ = session.start(at: 0)
        let good = IntelliVueFrame.encode([0x01, 0x02, 0x03])
        var badFCS = good
        badFCS[badFCS.count - 2] ^= 0x55
        let aborted: [UInt8] = [0xC0, 0x11, 0x01, 0x7D, 0xC1]
        let cut: [UInt8] = [0xC0, 0x11, 0x01, 0x00]
        let before = session.rejections.total
        _ = session.receive(badFCS + aborted + cut + good, at: 1)
        let reasons = session.rejections.since(before) ?? []
        #expect(reasons.count == 4 && reasons.count == session.counters.rejectedFrames, "\(reasons)")
        #expect(Set(reasons).count == 4, "each with its own reason: \(reasons)")
    }
}

@Suite struct SerialEncoderRoundTripTests {
    let values: SerialDeviceEncoders.Values = [.rr: 18, .vt: 420, .ppeak: 28, .fio2: 45, .peep: 8, .pplat: 24, .spo2: 93, .pulseRate: 88]

    @Test func pb840() {
        var decoder = PB840Decoder(source: "v")
        let v = AlveoDevicesTests.values(decoder.feed(SerialDeviceEncoders.pb840MISCF(values))[0])
        #expect(v == [.rr: .number(18), .vt: .number(420), .ppeak: .number(28), .fio2: .number(45), .peep: .number(8), .pplat: .number(24)])
    }

    @Test func medibus() {
        var session = MedibusSession(source: "v")
        _ = session.start(at: 0)
        _ = session.receive(MedibusSession.echo(0x51), at: 0)
        let v = AlveoDevicesTests.values(session.receive(SerialDeviceEncoders.medibusMeasured(values), at: 1).frames[0])
        #expect(v[.vt] == .number(420) && v[.fio2] == .number(45) && v[.spo2] == .number(93) && v[.pulseRate] == .number(88))
        if case .number(let pplat)? = v[.pplat] { #expect(abs(pplat - 24) < 0.06) } else { Issue.record("no Pplat") }
    }

    @Test func masimoAndNonin() {
        var masimo = MasimoASCII1Decoder(source: "o")
        #expect(AlveoDevicesTests.values(masimo.feed(SerialDeviceEncoders.masimoLine(values, sensor: .ok))[0])
                == [.sensor: .sensor(.ok), .spo2: .number(93), .pulseRate: .number(88)])
        #expect(AlveoDevicesTests.values(masimo.feed(SerialDeviceEncoders.masimoLine(values, sensor: .off))[0])[.sensor] == .sensor(.off))
        var nonin = NoninDF2Decoder(source: "o")
        #expect(AlveoDevicesTests.values(nonin.feed(SerialDeviceEncoders.noninPacket(values, sensor: .ok))[0])
                == [.sensor: .sensor(.ok), .spo2: .number(93), .pulseRate: .number(88)])
    }
}

@Suite struct RepeatedPlateauTests {
    @Test func aPlateauRepeatedInEveryReplyIsOneMeasurement() {
        var pb840 = PB840Decoder(source: "v")
        let reply = SerialDeviceEncoders.pb840MISCF([.vt: 400, .pplat: 24])
        #expect(values(pb840.feed(reply)[0])[.pplat] == .number(24))
        #expect(values(pb840.feed(reply)[0])[.pplat] == nil)
        #expect(values(pb840.feed(SerialDeviceEncoders.pb840MISCF([.vt: 400, .pplat: 26]))[0])[.pplat] == .number(26))
        var medibus = MedibusSession(source: "v")
        _ = medibus.start(at: 0)
        _ = medibus.receive(MedibusSession.echo(0x51), at: 0)
        let measured = SerialDeviceEncoders.medibusMeasured([.pplat: 24, .vt: 400])
        #expect(values(medibus.receive(measured, at: 1).frames[0])[.pplat] != nil)
        #expect(values(medibus.receive(measured, at: 2).frames[0])[.pplat] == nil)
    }

    @Test func noninDataBytesThatLookLikeACKAreData() {
        var session = NoninSession(decoder: NoninDF2Decoder(source: "o"), format: 2)
        _ = session.start(at: 0)
        let packet = SerialDeviceEncoders.noninPacket([.spo2: 6, .pulseRate: 21], sensor: .ok)  // SpO2 byte 0x06
        let (frames, _) = session.receive(packet, at: 0.2)
        #expect(frames.count == 1, "a streaming oximeter answers with frames")
        #expect(!session.acknowledged)
        #expect(session.tick(at: 3).isEmpty, "no more selection commands once it streams")
    }
}

@Suite struct PB840AlarmStatusTests {
    @Test func alarmStatusFieldsOtherThanNormalAreReported() {
        var decoder = PB840Decoder(source: "v")
        var frame = SerialDeviceEncoders.pb840MISCF([.vt: 400])
        // Field 110 (an alarm status field) says HIGH instead of NORMAL: same width, counts unchanged.
        let text = String(decoding: frame, as: UTF8.self)
        var fields = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        fields[110 - 2] = "HIGH  "
        frame = Array(fields.joined(separator: ",").utf8)
        #expect(decoder.feed(frame).count == 1)
        #expect(decoder.deviceAlarms == ["HIGH"])
        var session = PB840Session(source: "v")
        _ = session.receive(SerialDeviceEncoders.pb840MISCF([.vt: 400]), at: 0)
        #expect(session.deviceAlarms.isEmpty, "NORMAL fields are not alarms")
    }
}

@Suite struct SessionTickGridTests {
    /// The live poller and replay both tick by this grid: it must depend only on the open time and the
    /// times it is asked up to, not on how often it is asked.
    @Test func ticksEveryIntervalFromTheOpenOnceEach() {
        var grid = SessionTickGrid()
        #expect(grid.takeDue(upTo: 10) == nil, "closed: no ticks")
        grid.open(at: 1.0)
        #expect(grid.takeDue(upTo: 1.05) == nil)
        var times: [Double] = []
        while let t = grid.takeDue(upTo: 1.35) { times.append(t) }
        #expect(times == [1.1, 1.2, 1.0 + 3 * 0.1])
        #expect(grid.takeDue(upTo: 1.35) == nil, "each grid time is ticked once")
        #expect(grid.next == 1.4)

        var askedOften = SessionTickGrid()
        askedOften.open(at: 1.0)
        var often: [Double] = []
        for step in 0...40 { while let t = askedOften.takeDue(upTo: 1.0 + Double(step) * 0.0137) { often.append(t) } }
        var askedOnce = SessionTickGrid()
        askedOnce.open(at: 1.0)
        var once: [Double] = []
        while let t = askedOnce.takeDue(upTo: 1.0 + 40 * 0.0137) { once.append(t) }
        #expect(often == once)

        grid.close()
        #expect(grid.takeDue(upTo: 100) == nil && grid.next == nil, "a failed line is not ticked")
        grid.open(at: 50)
        #expect(grid.takeDue(upTo: 50.2) == 50.1, "a reopened line starts a new grid")
    }
}
