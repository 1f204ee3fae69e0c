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
        let frames = decoder.feed(Array("\u{1}\u{2}junk\r\nSPO2=095% BPM=080 EXC=000800\r\n".utf8))
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
