import AlveoCore
import AlveoDevices
import Testing

/// Philips IntelliVue Data Export over MIB/RS232. The serial frames in the fixtures are COMPUTED (no
/// real MIB/RS232 capture is public): the association request, MDS create result and poll request from
/// VSCaptureMP's constants, framed per the protocol document; the poll reply built from the document's
/// structures. The Connect Indication is REAL (an MX800 on a LAN): its attribute list tests the parser.
@Suite struct IntelliVueTests {
    /// Frames a Data Export payload with a wrong FCS (the last FCS byte flipped).
    func badFCS(_ payload: [UInt8]) -> [UInt8] {
        var frame = IntelliVueFrame.encode(payload)
        frame[frame.count - 2] ^= 0x01
        return frame
    }

    /// A session that is associated and polling, its first poll (invoke id 0) sent.
    func associated(source: String = "mon") -> IntelliVueSession {
        var session = IntelliVueSession(source: source)
        _ = session.start(at: 0)
        _ = session.receive(IntelliVueFrame.encode(SerialDeviceEncoders.intelliVueAssociationResponse), at: 0.1)
        _ = session.receive(IntelliVueFrame.encode(SerialDeviceEncoders.intelliVueMDSCreate()), at: 0.2)
        return session
    }

    @Test func theFCSMatchesTheWorkedVectors() {
        // mdpnp TestFCSOutputStream: data 3A 71 -> FCS 9B 26; 3A 91 -> 95 C1 (low byte first).
        let a = ~IntelliVueFrame.fcs([0x3A, 0x71]), b = ~IntelliVueFrame.fcs([0x3A, 0x91])
        #expect([UInt8(a & 0xFF), UInt8(a >> 8)] == [0x9B, 0x26])
        #expect([UInt8(b & 0xFF), UInt8(b >> 8)] == [0x95, 0xC1])
        // Running it over the data and its FCS gives the good final value.
        #expect(IntelliVueFrame.fcs([0x3A, 0x91, 0x95, 0xC1]) == 0xF0B8)
    }

    @Test func whatAlveoSendsIsByteEqualToTheComputedFixtures() throws {
        #expect(IntelliVueFrame.encode(IntelliVueSession.associationRequestPayload) == (try fixture("intellivue_cmd_assoc_request_computed.bin")),
                "the association request, with its escaped C1")
        #expect(IntelliVueFrame.encode(IntelliVueSession.mdsCreateResult(invokeID: 1, eventTime: 0x000A_BD00))
                == (try fixture("intellivue_cmd_mds_create_result_computed.bin")))
        #expect(IntelliVueFrame.encode(IntelliVueSession.pollRequest(invokeID: 0)) == (try fixture("intellivue_cmd_poll_numerics_computed.bin")))
        var session = IntelliVueSession(source: "mon")
        #expect(session.start(at: 0) == (try fixture("intellivue_cmd_assoc_request_computed.bin")))
    }

    @Test func theCommandFixturesDeframeToTheirPayloads() throws {
        var deframer = IntelliVueDeframer()
        let payloads = deframer.feed(try fixture("intellivue_cmd_assoc_request_computed.bin") + fixture("intellivue_cmd_poll_numerics_computed.bin"))
        #expect(payloads == [IntelliVueSession.associationRequestPayload, IntelliVueSession.pollRequest(invokeID: 0)])
        #expect(deframer.counters.rejectedFrames == 0 && deframer.counters.skippedBytes == 0)
    }

    @Test func theFloatTypeAndItsNoValueMantissas() {
        #expect(IntelliVueFloat.value(0x0000_0061) == 97)
        #expect(IntelliVueFloat.value(0xFF00_0195) == 40.5)
        #expect(IntelliVueFloat.value(0xFE00_7D00) == 320)
        for special: UInt32 in [0x007F_FFFF, 0x0080_0000, 0x007F_FFFE, 0x0080_0002, 0xFF7F_FFFF] {
            #expect(IntelliVueFloat.value(special) == nil, "\(special)")
        }
        #expect(IntelliVueFloat.value(0x7F7F_FFFD)!.isFinite, "the largest FLOAT is a finite number")
        #expect(IntelliVueFloat.value(0x807F_FFFD)! > 0)
        #expect(IntelliVueFloat.encode(40.5, decimals: 1) == 0xFF00_0195)
        #expect(IntelliVueFloat.encode(.nan, decimals: 1) == 0x007F_FFFF)
    }

    @Test func thePollReplyFixtureDecodesToTheDocumentsValues() throws {
        var deframer = IntelliVueDeframer()
        let payloads = deframer.feed(try fixture("intellivue_poll_reply_computed.bin"))
        #expect(payloads.count == 1)
        guard case .pollReply(let invokeID, let link, let numerics) = IntelliVueMessage.parse(payloads[0]) else {
            Issue.record("not a poll reply: \(IntelliVueMessage.parse(payloads[0]))")
            return
        }
        #expect(invokeID == 0 && link == nil)
        #expect(numerics.map(\.physioID) == [0x4BB8, 0x4822, 0x500A, 0x7498])
        #expect(numerics[2].state == 0x8000 && numerics[2].value == nil, "RR invalid, NaN")
        // Through the session: SpO2 97 %, pulse 72 /min, FiO2 40.5 %; the impedance RR is not Alveo's rr.
        var session = associated()
        let (frames, reply) = session.receive(try fixture("intellivue_poll_reply_computed.bin"), at: 0.5)
        #expect(reply.isEmpty)
        #expect(frames.count == 1)
        #expect(values(frames[0]) == [.spo2: .number(97), .pulseRate: .number(72), .fio2: .number(40.5)])
    }

    @Test func theRealConnectIndicationsAttributeListIsWalkedToItsEnd() throws {
        let payload = try fixture("intellivue_connect_indication_lan_koshsky.bin")
        #expect(payload.count == 418)
        guard case .connectIndication(let attributes) = IntelliVueMessage.parse(payload) else {
            Issue.record("\(IntelliVueMessage.parse(payload))")
            return
        }
        #expect(attributes.count == 16)
        // The list starts at byte 28 (count, length) and its AVAs fill it exactly to byte 418.
        #expect(28 + 4 + attributes.reduce(0) { $0 + 4 + $1.value.count } == 418)
        let model = try #require(attributes.first { $0.id == 0x0928 })
        // Two 8-bit VariableLabels: length, text (zero padded).
        var labels: [String] = []
        var offset = 0
        while offset + 2 <= model.value.count {
            let length = Int(model.value[offset]) << 8 | Int(model.value[offset + 1])
            let text = model.value[(offset + 2)..<min(offset + 2 + length, model.value.count)]
            labels.append(String(decoding: text.filter { $0 != 0 }, as: UTF8.self))
            offset += 2 + length
        }
        #expect(labels == ["Philips", "866062"])
    }

    @Test func associationMDSCreateAndPollsOnTime() throws {
        var session = IntelliVueSession(source: "mon", pollInterval: 1)
        _ = session.start(at: 0)
        #expect(session.linkState == "associating")
        #expect(session.tick(at: 1).isEmpty, "waiting for the answer")
        #expect(session.tick(at: 5) == IntelliVueFrame.encode(IntelliVueSession.associationRequestPayload), "unanswered: asked again after 5 s")
        _ = session.receive(IntelliVueFrame.encode(SerialDeviceEncoders.intelliVueAssociationResponse), at: 5.1)
        #expect(session.tick(at: 6.2).isEmpty, "no polls before the MDS create event")
        let event = SerialDeviceEncoders.intelliVueMDSCreate(invokeID: 0x1234, eventTime: 0xCAFE_F00D)
        let (_, reply) = session.receive(IntelliVueFrame.encode(event), at: 6.3)
        var deframer = IntelliVueDeframer()
        let sent = deframer.feed(reply)
        #expect(sent == [IntelliVueSession.mdsCreateResult(invokeID: 0x1234, eventTime: 0xCAFE_F00D), IntelliVueSession.pollRequest(invokeID: 0)],
                "the result echoes the event's invoke id and time; the first poll follows")
        #expect(session.tick(at: 6.8).isEmpty)
        #expect(deframer.feed(session.tick(at: 7.3)) == [IntelliVueSession.pollRequest(invokeID: 1)])
        // A poll interval longer than 1 s is shortened: the poll keeps the association.
        let slow = IntelliVueSession(source: "mon", pollInterval: 5)
        #expect(slow.pollInterval == 1)
    }

    @Test func linkedResultsAreGatheredUntilTheLast() throws {
        var session = associated()
        let measured: SerialDeviceEncoders.Values = [.spo2: 91, .pulseRate: 101, .vt: 380]
        var deframer = IntelliVueDeframer()
        let whole = deframer.feed(SerialDeviceEncoders.intelliVuePollReply(measured, sensor: .ok, answering: IntelliVueSession.pollRequest(invokeID: 0)))[0]
        // Make two ROLRS parts of it: the first with SpO2 and pulse, the last with Vt.
        guard case .pollReply(_, _, let numerics) = IntelliVueMessage.parse(whole) else { Issue.record("parse"); return }
        #expect(numerics.count == 3)
        func linked(_ state: UInt8, _ part: [IntelliVueNumeric]) -> [UInt8] {
            var observations: [UInt8] = []
            for (index, numeric) in part.enumerated() {
                let value: [UInt8] = [UInt8(numeric.physioID >> 8), UInt8(numeric.physioID & 0xFF), 0, 0, UInt8(numeric.unitCode >> 8),
                                      UInt8(numeric.unitCode & 0xFF), UInt8(numeric.raw >> 24), UInt8((numeric.raw >> 16) & 0xFF),
                                      UInt8((numeric.raw >> 8) & 0xFF), UInt8(numeric.raw & 0xFF)]
                observations += [0, UInt8(index), 0, 1, 0, 14, 0x09, 0x50, 0, 10] + value
            }
            let context: [UInt8] = [0, 0, 0, UInt8(part.count), 0, UInt8(observations.count)] + observations
            let list: [UInt8] = [0, 1, 0, UInt8(context.count)] + context
            let reply: [UInt8] = [0, 1] + [UInt8](repeating: 0, count: 12) + [0, 1, 0, 6, 8, 3] + list
            let action: [UInt8] = [0, 0x21, 0, 0, 0, 0, 0x0C, 0x16, 0, UInt8(reply.count)] + reply
            let rolrs: [UInt8] = [state, state == 1 ? 1 : 2, 0, 0, 0, 7, 0, UInt8(action.count)] + action
            return IntelliVueFrame.encode([0xE1, 0, 0, 2, 0, 5, 0, UInt8(rolrs.count)] + rolrs)
        }
        let first = session.receive(linked(1, Array(numerics.prefix(2))), at: 0.5)
        #expect(first.frames.isEmpty, "the first part waits for the last")
        let last = session.receive(linked(3, Array(numerics.suffix(1))), at: 0.6)
        #expect(last.frames.count == 1)
        #expect(values(last.frames.first ?? []) == [.spo2: .number(91), .pulseRate: .number(101), .vt: .number(380)])
    }

    /// An extended poll's reply (NOM_ACT_POLL_MDIB_DATA_EXT, 0xF13B) has a sequence number more in its
    /// header (22 bytes before the list): made here from the single poll's reply.
    @Test func anExtendedPollReplyDecodesToo() throws {
        var deframer = IntelliVueDeframer()
        var payload = deframer.feed(try fixture("intellivue_poll_reply_computed.bin"))[0]
        // RORS length at 6, its result length at 12, the action type at 20, its length at 22.
        func add(_ offset: Int, _ delta: Int) {
            let value = (Int(payload[offset]) << 8 | Int(payload[offset + 1])) + delta
            payload[offset] = UInt8(value >> 8)
            payload[offset + 1] = UInt8(value & 0xFF)
        }
        payload[20] = 0xF1
        payload[21] = 0x3B
        add(6, 2)
        add(12, 2)
        add(22, 2)
        payload.insert(contentsOf: [0x00, 0x07], at: 26)  // sequence_no after poll_number
        guard case .pollReply(0, nil, let numerics) = IntelliVueMessage.parse(payload) else {
            Issue.record("\(IntelliVueMessage.parse(payload))")
            return
        }
        #expect(values(IntelliVueSession(source: "mon").observations(numerics)) == [.spo2: .number(97), .pulseRate: .number(72), .fio2: .number(40.5)])
    }

    @Test func unitsStatesAndNoValue() throws {
        let session = IntelliVueSession(source: "mon")
        func value(_ physio: UInt16, state: UInt16 = 0, unit: UInt16, _ raw: UInt32) -> [Parameter: ObservedValue] {
            values(session.observations([IntelliVueNumeric(physioID: physio, state: state, unitCode: unit, raw: raw)]))
        }
        #expect(value(0x50E8, unit: 0x0F40, 0xFF00_00DC) == [.pplat: .number(22)], "cmH2O")
        let mbar = value(0x50E8, unit: 0x0F72, 0xFF00_00DC)[.pplat]
        guard case .number(let x) = mbar else { Issue.record("\(String(describing: mbar))"); return }
        #expect(abs(x - 22 * 1.019716) < 1e-9, "mbar converted to cmH2O")
        #expect(value(0x513C, unit: 0x0640, 0xFE00_0032) == [.vt: .number(500)], "0.50 l is 500 ml")
        #expect(value(0x513C, unit: 0x0652, 0x0000_01C2) == [.vt: .number(450)])
        #expect(value(0x4BB8, state: 0x8000, unit: 0x0220, 0x0000_0061) == [.spo2: .noData], "INVALID")
        #expect(value(0x4BB8, state: 0x2000, unit: 0x0220, 0x0000_0061) == [.spo2: .noData], "UNAVAILABLE")
        #expect(value(0x4BB8, unit: 0x0220, 0x007F_FFFF) == [.spo2: .noData], "NaN")
        #expect(value(0x4BB8, state: 0x0400, unit: 0x0220, 0x0000_0061) == [.spo2: .unusable("97.0 (demo data)")],
                "demo data is reported, never charted")
        #expect(value(0x51A8, unit: 0x0F20, 0x0000_0005) == [.peep: .unusable("5.0 unit 0F20")], "a unit Alveo does not know is refused")
        #expect(value(0x4BB8, unit: 0x0220, 0x7F7F_FFFD) == [.spo2: .unusable("8.388605e+133")], "a FLOAT beyond any measurement")
        #expect(IntelliVueFloat.value(0x0300_0001) == 1000 && IntelliVueFloat.value(0xE900_0001) == 1e-23)
        #expect(value(0x4182, unit: 0x0AA0, 0x0000_0050) == [.heartRate: .number(80)], "ECG heart rate, apart from the pleth pulse")
        #expect(value(0x4A17, unit: 0x0F20, 0x0000_004A) == [.map: .number(74)], "ABP mean in mmHg")
        let kPa = value(0x4A13, unit: 0x0F03, 0xFF00_0064)[.map]
        guard case .number(let mmHg) = kPa else { Issue.record("\(String(describing: kPa))"); return }
        #expect(abs(mmHg - 10 * 7.500_62) < 0.01, "ART mean 10.0 kPa is 75 mmHg: \(mmHg)")
        #expect(value(0x4A17, unit: 0x0AA0, 0x0000_004A) == [.map: .unusable("74.0 unit 0AA0")], "a pressure in /min is refused")
        #expect(value(0x4A07, unit: 0x0F20, 0x0000_004E).isEmpty, "the cuff mean is not read (no measurement time)")
        let arterial = values(session.observations([IntelliVueNumeric(physioID: 0x4A13, state: 0, unitCode: 0x0F20, raw: 70),
                                                    IntelliVueNumeric(physioID: 0x4A17, state: 0, unitCode: 0x0F20, raw: 74)]))
        #expect(arterial == [.map: .number(74)], "the labelled ABP before the generic ART")
        // The vent's FiO2 is preferred to the gas module's.
        let both = values(session.observations([IntelliVueNumeric(physioID: 0x5284, state: 0, unitCode: 0x0220, raw: 30),
                                                IntelliVueNumeric(physioID: 0x7498, state: 0, unitCode: 0x0220, raw: 40)]))
        #expect(both == [.fio2: .number(40)])
    }

    @Test func noiseBadFramesAndStaleRepliesAreCountedAndSkipped() throws {
        var session = associated()
        let good = try fixture("intellivue_poll_reply_computed.bin")
        var aborted = Array(good.dropLast())
        aborted += [0x7D, 0xC1]
        let garbage: [UInt8] = [0x00, 0xFF, 0x13, 0xC1, 0x7D] + Array("noise".utf8)
        let cut = Array(good.prefix(40))
        let bytes = garbage + badFCS(IntelliVueSession.pollRequest(invokeID: 9)) + aborted + cut + good
        let (frames, _) = session.receive(bytes, at: 0.5)
        #expect(frames.count == 1, "the good reply after all that")
        #expect(session.counters.rejectedFrames == 3, "bad FCS, aborted, cut by the next C0: \(session.counters)")
        #expect(session.counters.skippedBytes >= garbage.count)
        // A reply to a poll never sent (or long ago) is not taken.
        let stale = SerialDeviceEncoders.intelliVuePollReply([.spo2: 80], sensor: .ok, answering: IntelliVueSession.pollRequest(invokeID: 77))
        #expect(session.receive(stale, at: 0.6).frames.isEmpty)
        #expect(session.lastRejection?.contains("invoke id 77") == true)
    }

    @Test func silenceAbortAndRefusalStartTheAssociationOver() throws {
        let request = IntelliVueFrame.encode(IntelliVueSession.associationRequestPayload)
        var session = associated()
        #expect(session.linkState == "associated, polling numerics")
        _ = session.tick(at: 1)
        #expect(session.tick(at: 10.3) == request, "10 s without a good frame: associate again")
        #expect(session.linkState == "associating (no answer from the monitor for 10 s)")

        var aborted = associated()
        let (_, reply) = aborted.receive(IntelliVueFrame.encode([0x19, 0x2E, 0x11, 0x01, 0x03]), at: 1)
        #expect(reply == request, "an abort: associate again at once")
        #expect(aborted.linkState == "associating (the monitor aborted the association)")

        var refused = IntelliVueSession(source: "mon")
        _ = refused.start(at: 0)
        _ = refused.receive(IntelliVueFrame.encode([0x0C, 0x04, 0x00, 0x00]), at: 0.5)
        #expect(refused.counters.rejectedFrames == 1 && refused.lastRejection?.contains("refused") == true)
        #expect(refused.tick(at: 4).isEmpty)
        #expect(refused.tick(at: 5.5) == request)
    }

    @Test func anyChunkingGivesTheSameObservations() throws {
        let stream = try fixture("intellivue_poll_reply_computed.bin") + [0x00, 0x41] + fixture("intellivue_poll_reply_computed.bin")
        func run(_ chunks: [[UInt8]]) -> [[Observation]] {
            var session = associated()
            _ = session.tick(at: 1)  // invoke id 1 outstanding too; the fixture answers 0
            var all: [[Observation]] = []
            for chunk in chunks { all += session.receive(chunk, at: 1.5).frames }
            return all
        }
        let whole = run([stream])
        #expect(whole.count == 1, "the second copy answers invoke id 0 again: stale")
        #expect(run(stream.map { [$0] }) == whole)
        var generator = SplitMix(seed: 7)
        var chunks: [[UInt8]] = []
        var offset = 0
        while offset < stream.count {
            let size = Int.random(in: 1...40, using: &generator)
            chunks.append(Array(stream[offset..<min(offset + size, stream.count)]))
            offset += size
        }
        #expect(run(chunks) == whole)
    }

    @Test func anyBytesAndAnyMutationOfAReplyAreTotal() throws {
        var generator = SplitMix(seed: 42)
        let good = try fixture("intellivue_poll_reply_computed.bin")
        var deframer = IntelliVueDeframer()
        let payload = deframer.feed(good)[0]
        for _ in 0..<20000 {
            // A mutated payload, reframed with a good FCS, so the parser (not just the FCS) sees it.
            var mutated = payload
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                mutated[Int.random(in: 0..<mutated.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            if Bool.random(using: &generator) { mutated = Array(mutated.prefix(Int.random(in: 0...mutated.count, using: &generator))) }
            var session = associated()
            _ = session.receive(IntelliVueFrame.encode(mutated), at: 0.5)
            var random = IntelliVueSession(source: "mon")
            _ = random.start(at: 0)
            _ = random.receive((0..<Int.random(in: 0...300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }, at: 1)
        }
        // Endless bytes with no end flag stay bounded.
        var session = associated()
        for _ in 0..<10 { _ = session.receive([0xC0] + [UInt8](repeating: 0x41, count: 5000), at: 1) }
        #expect(session.counters.rejectedFrames >= 5)
    }
}
