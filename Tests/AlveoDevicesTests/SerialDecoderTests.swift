import AlveoCore
import AlveoDevices
import Foundation
import Testing

func fixture(_ name: String) throws -> [UInt8] {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
    return Array(try Data(contentsOf: url))
}

func values(_ observations: [Observation]) -> [Parameter: ObservedValue] {
    Dictionary(observations.map { ($0.parameter, $0.value) }, uniquingKeysWith: { $1 })
}

@Suite struct PB840DecoderTests {
    @Test func mdpnpMISCF() throws {
        var decoder = PB840Decoder(source: "vent")
        let frames = decoder.feed(try fixture("pb840_miscf_mdpnp_2011.bin"))
        #expect(frames.count == 1)
        let v = values(frames[0])
        #expect(v[.rr] == .number(14))
        #expect(v[.vt] == .number(378), "0.378 L exhaled Vt in ml")
        #expect(v[.ppeak] == .number(24))
        #expect(v[.peep] == .number(5.8))
        #expect(v[.fio2] == .number(20), "O2 sensor enabled: delivered O2 % (the core rejects 20 % as impossible)")
        #expect(v[.pplat] == nil, "Pplat 0.0 means no pause manoeuvre, not a plateau")
        #expect(decoder.counters.frames == 1 && decoder.counters.skippedBytes == 0 && decoder.counters.rejectedFrames == 0)
    }

    @Test func rtaMISCFWithO2SensorDisabled() throws {
        var decoder = PB840Decoder(source: "vent")
        let v = values(try #require(decoder.feed(try fixture("pb840_miscf_rta_2023-04-04.bin")).first))
        #expect(v[.fio2] == .noData, "O2 sensor disabled: no FiO2")
        #expect(v[.vt] == .number(1314))
        #expect(v[.rr] == .number(9))
        #expect(v[.ppeak] == .number(30))
        #expect(v[.peep] == .number(7.8))
        #expect(v[.pplat] == nil)
    }

    @Test func pb980MISCFWithAPlateau() throws {
        var decoder = PB840Decoder(source: "vent")
        let v = values(try #require(decoder.feed(try fixture("pb980_miscf_rta_2023-04-24.bin")).first))
        #expect(v[.pplat] == .number(14))
        #expect(v[.vt] == .number(252))
        #expect(v[.rr] == .number(15))
        #expect(v[.ppeak] == .number(16))
        #expect(v[.peep] == .number(5))
        #expect(v[.fio2] == .noData)
    }

    @Test func mdpnpMISCA() throws {
        var decoder = PB840Decoder(source: "vent")
        let v = values(try #require(decoder.feed(try fixture("pb840_misca_mdpnp_2011.bin")).first))
        #expect(v[.rr] == .number(14))
        #expect(v[.vt] == .number(380))
        #expect(v[.ppeak] == .number(24))
    }

    @Test func bytesInAnyChunksAndNoiseBetweenReplies() throws {
        var decoder = PB840Decoder(source: "vent")
        let reply = try fixture("pb840_miscf_mdpnp_2011.bin")
        var stream: [UInt8] = [0xFF, 0x00, 0x41] + reply + Array("garbage".utf8) + reply
        var frames = 0
        while !stream.isEmpty {
            let chunk = Array(stream.prefix(7))
            stream.removeFirst(chunk.count)
            frames += decoder.feed(chunk).count
        }
        #expect(frames == 2)
        #expect(decoder.counters.skippedBytes == 3 + 7)
    }

    @Test func truncatedMISCFIsRejectedWithAReasonAndTheNextIsFine() throws {
        var decoder = PB840Decoder(source: "vent")
        let reply = try fixture("pb840_miscf_mdpnp_2011.bin")
        let frames = decoder.feed(Array(reply.prefix(600)) + reply)
        #expect(frames.count == 1)
        #expect(decoder.counters.rejectedFrames == 1)
        #expect(decoder.lastRejection?.contains("truncated MISCF") == true, "\(decoder.lastRejection ?? "")")
    }

    @Test func wrongFieldCountIsRejected() throws {
        var decoder = PB840Decoder(source: "vent")
        var reply = try fixture("pb840_miscf_mdpnp_2011.bin")
        reply.replaceSubrange(11..<14, with: Array("168".utf8))
        #expect(decoder.feed(reply).isEmpty)
        #expect(decoder.lastRejection?.contains("169 fields, its header says 168") == true)
    }
}

@Suite struct MasimoDecoderTests {
    @Test func rad8LinesFromTheFixture() throws {
        var decoder = MasimoASCII1Decoder(source: "oxi")
        let frames = decoder.feed(try fixture("masimo_rad8_ascii1_yahnatan.txt"))
        #expect(frames.count == 5)
        #expect(values(frames[0]) == [.sensor: .sensor(.ok), .spo2: .number(98), .pulseRate: .number(97)])
        #expect(frames.map { values($0)[.pulseRate] } == [97, 96, 96, 96, 97].map { ObservedValue.number($0) })
        #expect(frames.allSatisfy { values($0)[.spo2] == .number(98) })
    }

    @Test func radical7AndRadical5FieldSets() throws {
        var seven = MasimoASCII1Decoder(source: "oxi")
        let frame7 = try #require(seven.feed(try fixture("masimo_radical7_mdpnp_example.txt") + [0x0D, 0x0A]).first)
        // EXC 000820: Masimo SET normal plus 0x020 sensor off: SpO2 and pulse are not measurements.
        #expect(values(frame7) == [.sensor: .sensor(.off), .spo2: .noData, .pulseRate: .noData])
        var five = MasimoASCII1Decoder(source: "oxi")
        let frame5 = try #require(five.feed(try fixture("masimo_radical5_mdpnp_example.txt") + [0x0D, 0x0A]).first)
        #expect(values(frame5) == [.sensor: .sensor(.ok), .spo2: .number(97), .pulseRate: .number(64)])
    }

    @Test func dashesAreNoDataAndExcBitsGiveTheSensorState() {
        var decoder = MasimoASCII1Decoder(source: "oxi")
        let dashes = decoder.feed(Array("01/01/20 00:00:00 SPO2=---% BPM=--- EXC=000800\r\n".utf8))
        #expect(values(dashes[0]) == [.sensor: .sensor(.ok), .spo2: .noData, .pulseRate: .noData])
        #expect(MasimoASCII1Decoder.sensorState(exc: 0x001) == .disconnected)
        #expect(MasimoASCII1Decoder.sensorState(exc: 0x1000) == .disconnected)
        #expect(MasimoASCII1Decoder.sensorState(exc: 0x020) == .off)
        #expect(MasimoASCII1Decoder.sensorState(exc: 0x804) == .ok, "low perfusion alone is not a probe problem")
    }

    @Test func noiseLinesAreCountedAndSkipped() {
        var decoder = MasimoASCII1Decoder(source: "oxi")
        let frames = decoder.feed(Array("\u{1}\u{2}junk\r\n01/01/20 00:00:00 SPO2=095% BPM=080 EXC=000800\r\n".utf8))
        #expect(frames.count == 1)
        #expect(decoder.counters.rejectedFrames == 1)
        #expect(decoder.counters.frames == 1)
    }
}

@Suite struct NoninDecoderTests {
    @Test func pufferfishPacketDecodes() throws {
        var decoder = NoninDF2Decoder(source: "oxi")
        let frames = decoder.feed(try fixture("nonin_df2_packet_pufferfish.bin"))
        #expect(frames.count == 1)
        #expect(values(frames[0]) == [.sensor: .sensor(.ok), .spo2: .number(97), .pulseRate: .number(72)])
    }

    @Test func noiseAndABadChecksumBetweenPacketsAreSkipped() throws {
        var decoder = NoninDF2Decoder(source: "oxi")
        let packet = try fixture("nonin_df2_packet_pufferfish.bin")
        var corrupted = packet
        corrupted[14] ^= 0xFF  // a checksum in the third frame
        let frames = decoder.feed([0x55, 0x01, 0x99] + corrupted + [0x00] + packet)
        #expect(frames.count == 1, "the good packet after the bad one still decodes")
        #expect(decoder.counters.rejectedFrames >= 1)
        #expect(decoder.counters.skippedBytes > 0)
    }

    @Test func missingValuesAndSensorDisconnect() throws {
        var packet = try fixture("nonin_df2_packet_pufferfish.bin")
        func setData(_ frame: Int, _ value: UInt8) {
            packet[frame * 5 + 3] = value
            packet[frame * 5 + 4] = UInt8(truncatingIfNeeded: Int(packet[frame * 5]) + Int(packet[frame * 5 + 1]) + Int(packet[frame * 5 + 2]) + Int(value))
        }
        setData(2, 127)  // SpO2 missing
        setData(0, 0x03)
        setData(1, 0x7F)  // HR 511 missing
        var decoder = NoninDF2Decoder(source: "oxi")
        #expect(values(try #require(decoder.feed(packet).first)) == [.sensor: .sensor(.ok), .spo2: .noData, .pulseRate: .noData])
        packet[1] |= 0x40  // sensor disconnect in the first frame's status
        packet[4] = UInt8(truncatingIfNeeded: Int(packet[0]) + Int(packet[1]) + Int(packet[2]) + Int(packet[3]))
        var disconnected = NoninDF2Decoder(source: "oxi")
        #expect(values(try #require(disconnected.feed(packet).first))[.sensor] == .sensor(.disconnected))
        var clean = try fixture("nonin_df2_packet_pufferfish.bin")
        clean[5 * 7 + 1] |= 0x20  // artifact flagged in frame 7 only
        clean[5 * 7 + 4] = UInt8(truncatingIfNeeded: Int(clean[35]) + Int(clean[36]) + Int(clean[37]) + Int(clean[38]))
        var artifact = NoninDF2Decoder(source: "oxi")
        #expect(values(try #require(artifact.feed(clean).first))[.spo2] == .noData, "an artifact in any frame makes the packet's values unusable")
    }

    @Test func formatSelectionCommandMatchesTheFixture() throws {
        #expect(NoninDF2Decoder.selectFormat(8) == (try fixture("nonin_cmd_set_format8.bin")))
    }
}

/// A number no device sends, from any decoder, becomes `.unusable` with the text received, never a
/// Double handed on to be converted (a 9E99 once killed the agent).
@Suite struct HugeDeviceValueTests {
    @Test func pb840FieldOf9E99() throws {
        var bytes = try fixture("pb840_miscf_mdpnp_2011.bin")
        // Field 71 (Vt, litres) sits in a fixed-width slot: overwrite its digits, keep the width.
        let text = String(decoding: bytes, as: UTF8.self)
        let vt = try #require(text.range(of: "0.378"))
        let offset = text.utf8.distance(from: text.startIndex, to: vt.lowerBound)
        bytes.replaceSubrange(offset..<(offset + 5), with: Array(" 9E99".utf8))
        var decoder = PB840Decoder(source: "vent")
        let v = values(try #require(decoder.feed(bytes).first))
        #expect(v[.vt] == .unusable("9E99"))
        #expect(v[.rr] == .number(14), "the other fields decode")
    }

    @Test func masimoFieldOf20DigitsIsNotALine() throws {
        // SPO2 and BPM are 3 characters wide: a wider value is a disturbed line (issue 28), rejected whole.
        var decoder = MasimoASCII1Decoder(source: "oxi")
        let frames = decoder.feed(Array("11/29/26 10:00:00 SN=1 SPO2=12345678901234567890% BPM=072 PI=1.0% EXC=000000\r\n".utf8))
        #expect(frames.isEmpty)
        #expect(decoder.counters.rejectedFrames == 1)
        #expect(decoder.lastRejection?.hasPrefix("SPO2=12345678901234567890% is not three digits") == true)
    }

    @Test func medibusValueOf9E99WithAValidChecksum() throws {
        var session = MedibusSession(source: "vent")
        _ = session.start(at: 0)
        var reply: [UInt8] = [0x01, 0x24] + Array("749E99EB 97 ".utf8)
        let sum = reply.reduce(0) { ($0 + Int($1)) & 0xFF }
        reply += Array(String(format: "%02X", sum).utf8) + [0x0D]
        let frames = session.receive(reply, at: 1).frames
        let v = values(try #require(frames.first))
        #expect(v[.pplat] == .unusable("9E99"))
        #expect(v[.spo2] == .number(97))
    }

    @Test func modbusFloat32MaxNaNAndInfinity() {
        let profile = ModbusProfile(name: "t", fields: [
            .init(address: 0, table: .holding, type: .float32CDAB, scale: 1, unit: .mbar, parameter: .pplat),
            .init(address: 2, table: .holding, type: .float32ABCD, scale: 1, unit: .percent, parameter: .spo2),
            .init(address: 4, table: .holding, type: .float32ABCD, scale: 1e6, unit: .litre, parameter: .vt),
        ])
        var decoder = ModbusDecoder(profile: profile, source: "gw")
        func words(_ x: Float, cdab: Bool) -> [UInt16] {
            let bits = x.bitPattern
            return cdab ? [UInt16(bits & 0xFFFF), UInt16(bits >> 16)] : [UInt16(bits >> 16), UInt16(bits & 0xFFFF)]
        }
        for (pplat, spo2) in [(Float.greatestFiniteMagnitude, Float.nan), (-Float.infinity, Float.infinity)] {
            let registers = words(pplat, cdab: true) + words(spo2, cdab: false) + words(1000, cdab: false)
            let result = decoder.decode(decoder.plan.blocks.map { block in Array(registers[block.address..<(block.address + block.count)]) })
            let v = values(result.observations)
            guard case .unusable = v[.pplat] else { Issue.record("pplat \(pplat): \(String(describing: v[.pplat]))"); continue }
            guard case .unusable = v[.spo2] else { Issue.record("spo2 \(spo2): \(String(describing: v[.spo2]))"); continue }
            guard case .unusable = v[.vt] else { Issue.record("vt 1000 l x 1e6: \(String(describing: v[.vt]))"); continue }
        }
    }

    /// 16 MiB of carriage returns in one read: linear (it took over a minute, quadratic, before).
    @Test(.timeLimit(.minutes(1))) func medibusManyCarriageReturnsInOneRead() {
        var session = MedibusSession(source: "vent")
        _ = session.start(at: 0)
        let result = session.receive([UInt8](repeating: 0x0D, count: 16 << 20), at: 1)
        #expect(result.frames.isEmpty)
        #expect(session.counters.skippedBytes == 16 << 20)
    }
}

/// Header numbers are judged before they size anything: a field count of 999999999 once asked for
/// 16 GB (found in review).
@Suite struct PB840HeaderBoundsTests {
    @Test func absurdCountsAreRejectedWithoutAllocating() {
        var decoder = PB840Decoder(source: "vent")
        #expect(decoder.feed(Array("MISCF,1,999999999,\u{2},\u{3}\r".utf8)).isEmpty)
        #expect(decoder.feed(Array("MISCF,999999999,170,\u{2} ,\u{3}\r".utf8)).isEmpty)
        #expect(decoder.counters.rejectedFrames == 2, "\(String(describing: decoder.lastRejection))")
        #expect(decoder.lastRejection?.hasPrefix("malformed header MISCF,999999999,170,") == true)
    }

    @Test func nonFiniteWordsAreImpossibleValuesNotNoData() throws {
        var bytes = try fixture("pb840_miscf_mdpnp_2011.bin")
        let text = String(decoding: bytes, as: UTF8.self)
        let vt = try #require(text.range(of: "0.378"))
        let offset = text.utf8.distance(from: text.startIndex, to: vt.lowerBound)
        bytes.replaceSubrange(offset..<(offset + 5), with: Array("  INF".utf8))
        var decoder = PB840Decoder(source: "vent")
        let v = values(try #require(decoder.feed(bytes).first))
        #expect(v[.vt] == .unusable("INF"))
    }
}
