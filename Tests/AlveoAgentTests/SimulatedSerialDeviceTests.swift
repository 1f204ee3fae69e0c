import AlveoTestKit
import AlveoAgent
import AlveoCore
import AlveoDevices
import Testing

/// The simulated devices' behaviour shared by `alveo simulate` and the trace synthesizer.
@Suite struct SimulatedSerialDeviceTests {
    @Test func pb840AnswersEachSNDFEvenSplitAcrossReads() {
        var device = SimulatedSerialDevice(PB840Driver())
        let first = device.hear(Array("SN".utf8))
        let second = device.hear(Array("DF\rSNDF\r".utf8))
        #expect(first.isEmpty)
        #expect(second == [.dataFrame, .dataFrame])
    }

    @Test func medibusEchoesICCAndNOPAndAnswersMeasuredData() {
        var device = SimulatedSerialDevice(MedibusDriver())
        let answers = device.hear(MedibusSession.command(MedibusSession.icc) + MedibusSession.command(MedibusSession.measured)
                                  + MedibusSession.command(MedibusSession.nop))
        #expect(answers == [.bytes(MedibusSession.echo(MedibusSession.icc)), .dataFrame, .bytes(MedibusSession.echo(MedibusSession.nop))])
    }

    @Test func noninAcknowledgesAFormatSelection() {
        var device = SimulatedSerialDevice(NoninDriver(format: 8))
        let selection = device.hear(NoninDF2Decoder.selectFormat(8))
        let noise = device.hear([0x55, 0x99])
        #expect(selection == [.bytes([0x06])])
        #expect(noise.isEmpty, "noise is no command")
    }

    @Test func streamingKeepsItsCadenceAndDoesNotBurstAfterASilence() {
        var device = SimulatedSerialDevice(MasimoASCII1Driver())
        var sent: [Double] = []
        for t in stride(from: 0.0, to: 5.0, by: 0.1) where device.streams(at: t) { sent.append(t) }
        #expect(sent.count == 5, "one line a second: \(sent)")
        // Nothing asked for 60 s (unplugged): one line now, then once a second again.
        let after = [65.0, 65.5, 66.0].map { device.streams(at: $0) }
        #expect(after == [true, false, true])
        var nonin = SimulatedSerialDevice(NoninDriver(format: 2))
        var packets = 0
        for t in stride(from: 0.0, to: 10.0, by: 0.1) where nonin.streams(at: t) { packets += 1 }
        #expect(packets == 30, "3 packets a second")
    }

    @Test func dataFramesDecodeBackToTheirValues() {
        let values: SerialDeviceEncoders.Values = [.spo2: 93, .pulseRate: 88]
        var decoder = NoninDF8Decoder(source: "oxi")
        let frames = decoder.feed(SimulatedSerialDevice.dataFrame(NoninDriver(format: 8), values: values, sensor: .ok))
        #expect(frames.count == 1)
        #expect(frames.first?.contains { $0.parameter == .spo2 && $0.value == .number(93) } == true)
    }
}
