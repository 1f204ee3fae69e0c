import AlveoCore
import AlveoDevices
import Testing

/// GE Datex-Ohmeda S/5 computer interface (DRI). The request fixtures are the GE specification's
/// appendix examples (ge_dri_phdb_req_*_spec.bin); the physiological records are BUILT from the
/// record layout (no real S/5 capture is public), so they test the reader against its own reading of
/// the layout, and the independent peer (Tests/Peers/s5_peer.py) against another.
@Suite struct S5Tests {
    let values: SerialDeviceEncoders.Values = [.heartRate: 92, .map: 71.5, .spo2: 93, .pulseRate: 90, .fio2: 45, .rr: 22,
                                               .ppeak: 31, .peep: 10, .pplat: 27.25, .vt: 352.5]

    func decoded(_ bytes: [UInt8], session: inout S5Session, at t: Double = 1) -> [[Observation]] {
        session.receive(bytes, at: t).frames
    }

    func started() -> S5Session {
        var session = S5Session(source: "mon")
        _ = session.start(at: 0)
        return session
    }

    func numbers(_ observations: [Observation]) -> [Parameter: Double] {
        var numbers: [Parameter: Double] = [:]
        for observation in observations { if case .number(let x) = observation.value { numbers[observation.parameter] = x } }
        return numbers
    }

    @Test func theRequestIsByteEqualToTheSpecificationsExamples() throws {
        #expect(S5Frame.encode(S5Record.request(recordType: 1, interval: 10, classes: 0x0E)) == (try fixture("ge_dri_phdb_req_displ10s_spec.bin")))
        // The 60 s trend request's checksum is 0x7D: sent escaped, 7D 5D.
        #expect(S5Frame.encode(S5Record.request(recordType: 3, interval: 60, classes: 0x0E)) == (try fixture("ge_dri_phdb_req_trend60s_spec.bin")))
        // What Alveo sends: displayed values every 10 s, the basic class only.
        let request = S5Session(source: "mon").request
        #expect(request.count == 52 && request[0] == 0x7E && request[51] == 0x7E)
        #expect(Array(request[41...49]) == [0x01, 0x0A, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00])
        var session = S5Session(source: "mon")
        #expect(session.start(at: 0) == request)
    }

    @Test func checksumAndEscapes() {
        #expect(S5Frame.checksum([0x31, 0xFF, 0x01, 0x0A, 0x0E]) == 0x49)
        let record = S5Record.header(length: 42, mainType: 9, subrecords: []) + [0x7E, 0x7D]
        let wire = S5Frame.encode(record)
        #expect(wire.filter { $0 == 0x7E }.count == 2, "only the flags are 7E")
        var deframer = S5Deframer()
        #expect(deframer.feed(wire) == [record])
        #expect(deframer.counters.frames == 1)
        // 7D followed by anything but 5E/5D: the frame is dropped whole.
        var bad = wire
        let escape = bad.firstIndex(of: 0x7D)!
        bad[escape + 1] = 0x41
        #expect(deframer.feed(bad).isEmpty && deframer.counters.rejectedFrames == 1)
        #expect(deframer.feed(wire) == [record], "and the next frame is read")
    }

    @Test func aRecordBuiltFromTheLayoutDecodesToItsValues() {
        var session = started()
        let frames = decoded(SerialDeviceEncoders.s5Record(values, sensor: .ok), session: &session)
        #expect(frames.count == 1)
        #expect(numbers(frames[0]) == values)
        #expect(session.counters.frames == 1 && session.counters.rejectedFrames == 0)
        #expect(session.linkState == "receiving displayed values every 10 s")
    }

    @Test func theLayoutByHand() {
        // Offsets written out independently of the encoder: ECG HR at 10, P1 label at 24 and mean at 30,
        // SpO2 at 128/130, O2 FI at 158, flow-volume RR 188, Ppeak 190, PEEP 192, Pplat 194, TV exp 198.
        var sub = [UInt8](repeating: 0, count: 278)
        func put(_ at: Int, _ value: Int16) { sub[at] = UInt8(UInt16(bitPattern: value) & 0xFF); sub[at + 1] = UInt8(UInt16(bitPattern: value) >> 8) }
        for group in [4, 20, 122, 150, 182] { sub[group] = 3 }
        put(10, 61); put(24, 8); put(30, 8_250); put(128, 9_700); put(130, 60); put(158, 3_000)
        put(188, 14); put(190, 2_500); put(192, 500); put(194, 2_000); put(198, 4_500)
        let record = S5Record.header(length: 40 + 278, mainType: 0, subrecords: [(0, 1)]) + sub
        var session = started()
        let frames = decoded(S5Frame.encode(record), session: &session)
        #expect(numbers(frames.first ?? []) == [.heartRate: 61, .map: 82.5, .spo2: 97, .pulseRate: 60, .fio2: 30, .rr: 14,
                                                .ppeak: 25, .peep: 5, .pplat: 20, .vt: 450])
    }

    @Test func markersAreNoDataAndMissingGroupsNothing() {
        var session = started()
        // Probe off: SpO2 and pulse -32767.
        let off = decoded(SerialDeviceEncoders.s5Record([.spo2: 95, .pulseRate: 80, .heartRate: 70], sensor: .off), session: &session)[0]
        #expect(off.first { $0.parameter == .spo2 }?.value == .noData)
        #expect(off.first { $0.parameter == .pulseRate }?.value == .noData)
        #expect(off.first { $0.parameter == .heartRate }?.value == .number(70))
        #expect(!off.contains { $0.parameter == .pplat || $0.parameter == .map }, "no spirometry or arterial line: nothing")
        // Every marker -32767 … -32001 is no data; -32000 is a (negative) number.
        var record = SerialDeviceEncoders.s5PhysiologicalRecord([.heartRate: 70], sensor: .ok)
        for marker: Int16 in [-32767, -32766, -32765, -32764, -32763, -32762, -32001, Int16.min] {
            record[40 + 10] = UInt8(UInt16(bitPattern: marker) & 0xFF)
            record[40 + 11] = UInt8(UInt16(bitPattern: marker) >> 8)
            let observations = decoded(S5Frame.encode(record), session: &session)[0]
            #expect(observations == [Observation(source: "mon", parameter: .heartRate, value: .noData)], "\(marker)")
        }
        // A group present but not active: no data.
        record = SerialDeviceEncoders.s5PhysiologicalRecord([.heartRate: 70], sensor: .ok)
        record[40 + 4] = 1
        #expect(decoded(S5Frame.encode(record), session: &session)[0] == [Observation(source: "mon", parameter: .heartRate, value: .noData)])
    }

    @Test func theArterialMeanComesOnlyFromAChannelLabelledARTOrABP() {
        var session = started()
        var record = SerialDeviceEncoders.s5PhysiologicalRecord([.map: 80], sensor: .ok)
        record[40 + 24] = 2  // P1 labelled CVP
        #expect(decoded(S5Frame.encode(record), session: &session)[0].isEmpty)
        // ABP on P6.
        var sub = Array(record[40...])
        sub[258] = 3; sub[262] = 8; sub[268] = 0x10; sub[269] = 0x27  // mean 100.00
        record = Array(record[..<40]) + sub
        #expect(decoded(S5Frame.encode(record), session: &session)[0] == [Observation(source: "mon", parameter: .map, value: .number(100))])
    }

    @Test func otherClassesAndRecordsGiveNothing() {
        var session = started()
        var record = SerialDeviceEncoders.s5PhysiologicalRecord(values, sensor: .ok)
        record[40 + 277] = 0x01  // class 1 (ext1)
        #expect(decoded(S5Frame.encode(record), session: &session) == [])
        let alarm = S5Record.header(length: 40, mainType: 4, subrecords: [])
        #expect(decoded(S5Frame.encode(alarm), session: &session) == [])
        #expect(session.counters.rejectedFrames == 0)
    }

    @Test func badLayoutsAreRejected() {
        var session = started()
        let good = SerialDeviceEncoders.s5PhysiologicalRecord(values, sensor: .ok)
        var outside = good
        outside[16] = 1  // the subrecord at offset 1: past the record's end
        var none = good
        none[18] = 0xFF
        var overlap = S5Record.header(length: 40 + 278 * 2, mainType: 0, subrecords: [(0, 1), (100, 1)]) + Array(good[40...]) + Array(good[40...])
        overlap[0] = UInt8((40 + 556) & 0xFF); overlap[1] = UInt8((40 + 556) >> 8)
        for record in [outside, none, overlap] {
            #expect(decoded(S5Frame.encode(record), session: &session).isEmpty)
        }
        #expect(session.counters.rejectedFrames == 3 && session.counters.frames == 0)
        var length = good
        length[0] &+= 1
        #expect(decoded(S5Frame.encode(length), session: &session).isEmpty)
        #expect(session.lastRejection?.contains("length field") == true)
        var sum = S5Frame.encode(good)
        sum[sum.count - 2] &+= 1
        #expect(decoded(sum, session: &session).isEmpty)
        #expect(session.lastRejection?.contains("checksum") == true)
        #expect(session.counters.rejectedFrames == 5)
    }

    @Test func noiseCutFramesAndChunks() {
        var session = started()
        let frame = SerialDeviceEncoders.s5Record(values, sensor: .ok)
        // Noise before the first flag is skipped; a frame cut short then another whole one.
        let stream: [UInt8] = [0x01, 0x02, 0x03] + frame + Array(frame.prefix(100)) + frame + frame
        var frames: [[Observation]] = []
        var offset = 0
        var rng = SplitMix(seed: 5)
        while offset < stream.count {
            let n = min(Int(rng.next() % 40) + 1, stream.count - offset)
            frames += decoded(Array(stream[offset..<(offset + n)]), session: &session)
            offset += n
        }
        // The next frame's opening flag ends the cut frame (rejected whole) and opens the next frame.
        #expect(frames.count == 3 && frames.allSatisfy { numbers($0) == values })
        #expect(session.counters.rejectedFrames == 1 && session.counters.skippedBytes == 3 + 100)
    }

    @Test func eachRejectionHasItsOwnReason() {
        var session = started()
        let good = SerialDeviceEncoders.s5PhysiologicalRecord(values, sensor: .ok)
        var sum = S5Frame.encode(good)
        sum[sum.count - 2] &+= 1
        var outside = good
        outside[16] = 1
        let before = session.rejections.total
        let frames = decoded(sum + S5Frame.encode(outside) + [0x7E, 0x7D, 0x41, 0x7E] + S5Frame.encode(good), session: &session)
        #expect(frames.count == 1)
        let reasons = session.rejections.since(before) ?? []
        #expect(reasons.count == 3 && session.counters.rejectedFrames == 3, "\(reasons)")
        // The framing's reasons of a read first, then the layout's.
        #expect(reasons.first?.contains("bad checksum") == true && reasons.dropFirst().first?.contains("escape 7D followed by 41") == true
                && reasons.last?.contains("outside the record") == true, "\(reasons)")
    }

    /// Every single-byte insertion, deletion and substitution of a valid frame either decodes to exactly
    /// the original values or is rejected: never a different value.
    @Test func singleByteMutationsNeverGiveADifferentValue() {
        let frame = SerialDeviceEncoders.s5Record(values, sensor: .ok)
        let next = SerialDeviceEncoders.s5Record(values, sensor: .ok)
        var mutants: [[UInt8]] = []
        for i in 0..<frame.count {
            var deleted = frame
            deleted.remove(at: i)
            mutants.append(deleted)
            for byte in [UInt8(0x00), 0x01, 0x20, 0x5D, 0x5E, 0x7D, 0x7E, 0x80, 0xFF, frame[i] ^ 0x01, frame[i] &+ 1] {
                var inserted = frame
                inserted.insert(byte, at: i)
                mutants.append(inserted)
                if byte != frame[i] {
                    var substituted = frame
                    substituted[i] = byte
                    mutants.append(substituted)
                }
            }
        }
        for mutant in mutants {
            var session = started()
            // The mutant, then a good frame: the good one must still be read.
            let frames = decoded(mutant + next, session: &session)
            for observations in frames {
                #expect(numbers(observations) == values, "a mutant decoded to other values")
            }
            #expect(frames.count >= 1, "the frame after a mutant is read")
        }
        #expect(mutants.count > 5_000)
    }

    @Test func anyBytesAreTotal() {
        var session = started()
        var rng = SplitMix(seed: 28)
        for _ in 0..<2_000 {
            let n = Int(rng.next() % 600)
            var bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if n > 3, rng.next() % 2 == 0 { bytes[0] = 0x7E; bytes[n - 1] = 0x7E }
            _ = session.receive(bytes, at: 1)
        }
        // Huge: a frame without an end flag is dropped at the record's maximum size.
        let before = session.counters.rejectedFrames
        _ = session.receive([0x7E] + [UInt8](repeating: 0x41, count: 100_000), at: 2)
        #expect(session.counters.rejectedFrames == before + 1)
        // Every int16 in every value field: a number within ±1e9, or no data.
        let record = SerialDeviceEncoders.s5PhysiologicalRecord(values, sensor: .ok)
        for raw: Int16 in [Int16.max, Int16.min, -32000, -1, 0] {
            var r = record
            for at in [10, 30, 128, 130, 158, 188, 190, 192, 194, 198] {
                r[40 + at] = UInt8(UInt16(bitPattern: raw) & 0xFF); r[40 + at + 1] = UInt8(UInt16(bitPattern: raw) >> 8)
            }
            for observation in decoded(S5Frame.encode(r), session: &session).joined() {
                if case .number(let x) = observation.value { #expect(x.isFinite && abs(x) <= 1e9) }
            }
        }
    }

    @Test func itAsksAgainWhenNoRecordComes() {
        var session = S5Session(source: "mon")
        let request = session.start(at: 0)
        #expect(session.tick(at: 4.9).isEmpty)
        #expect(session.tick(at: 5) == request, "no record: asked again every 5 s")
        _ = session.receive(SerialDeviceEncoders.s5Record(values, sensor: .ok), at: 6)
        #expect(session.tick(at: 20).isEmpty)
        #expect(session.tick(at: 30.9).isEmpty)
        #expect(session.tick(at: 31) == request, "records stopped for 25 s: asked again")
        #expect(session.linkState?.contains("no record for 25 s") == true)
        #expect(session.tick(at: 35.9).isEmpty && session.tick(at: 36) == request)
        #expect(session.start(at: 40) == request)
    }

    @Test func theSimulatedMonitorAnswersTheRequest() {
        let driver = S5Driver()
        var heard = Array(S5Session(source: "m").request.prefix(20))
        #expect(driver.answers(to: &heard).isEmpty)
        heard += Array(S5Session(source: "m").request.dropFirst(20))
        #expect(driver.answers(to: &heard) == [.dataFrame])
        #expect(heard.isEmpty)
    }
}
