import AlveoCore

/// Philips IntelliVue MP/MX patient monitors over the MIB/RS232 port, Data Export protocol: SpO2 and
/// pulse from the pleth, and the ventilator's FiO2, Vt, Pplat, PEEP, Ppeak and RR where an
/// IntelliBridge/VueLink module brings them (device-protocols-monitors-vents.md §IntelliVue;
/// devices/intellivue/README.md).
package struct IntelliVueDriver: SerialDriver {
    package init() {}
    package var name: String { "intellivue" }
    package var title: String { "Philips IntelliVue MP/MX monitor (Data Export, MIB/RS232)" }
    package var role: DeviceRole { .monitor }
    package var polled: Bool { true }
    package var line: LineDefaults { LineDefaults(baud: 115_200) }
    package var parameters: [Parameter] { [.spo2, .pulseRate, .fio2, .vt, .pplat, .peep, .ppeak, .rr, .map, .heartRate] }

    package func pollInterval(configured: Double) -> Double { IntelliVueSession.pollInterval(configured: configured) }

    package func makeSession(source: String, pollInterval: Double) -> any SerialSession {
        IntelliVueSession(source: source, pollInterval: pollInterval)
    }

    /// Data Export over the LAN: UDP port 24105 of the monitor (the Data Export Interface Programming
    /// Guide; VSCaptureMP and PERSEUS use it), the same association and polls without framing.
    package var lanPort: Int? { 24105 }

    package func makeLANSession(source: String, pollInterval: Double) -> any SerialSession {
        IntelliVueSession(source: source, pollInterval: pollInterval, lan: true)
    }

    package func dataFrame(_ values: SerialDeviceEncoders.Values, sensor: SensorState) -> [UInt8] {
        SerialDeviceEncoders.intelliVuePollReply(values, sensor: sensor, answering: IntelliVueSession.pollRequest(invokeID: 0))
    }

    package func dataFrame(_ values: SerialDeviceEncoders.Values, sensor: SensorState, answering request: [UInt8]) -> [UInt8] {
        SerialDeviceEncoders.intelliVuePollReply(values, sensor: sensor, answering: request)
    }

    package var fuzzTarget: String { "intellivue" }
    package var fuzzSeeds: [String] { ["Tests/AlveoDevicesTests/Fixtures/intellivue_*.bin"] }

    /// Associated (the monitor's accept and MDS Create event fed first), so the input reaches the
    /// poll-reply parser.
    package func fuzzSession() -> any SerialSession {
        var session = IntelliVueSession(source: "mon")
        _ = session.start(at: 0)
        _ = session.receive(IntelliVueFrame.encode(SerialDeviceEncoders.intelliVueAssociationResponse), at: 0.01)
        _ = session.receive(IntelliVueFrame.encode(SerialDeviceEncoders.intelliVueMDSCreate()), at: 0.02)
        return session
    }

    /// After an abort in a one-byte chunk it sends its 310-byte association request again.
    package var fuzzReplyPerByte: Int { 1024 }

    /// Deframing (FCS, escapes), the Data Export parse and the numerics into observations, as the
    /// session does for each poll reply (its invoke-id bookkeeping aside).
    package func benchmark(_ values: SerialDeviceEncoders.Values) -> DriverBenchmark {
        var deframer = IntelliVueDeframer()
        let monitor = IntelliVueSession(source: "mon")
        let reply = SerialDeviceEncoders.intelliVuePollReply(values, sensor: .ok, answering: IntelliVueSession.pollRequest(invokeID: 0))
        return DriverBenchmark(label: "IntelliVue poll", frame: reply, count: 50_000) { chunk in
            deframer.feed(chunk).reduce(0) { count, payload in
                guard case .pollReply(_, _, let numerics) = IntelliVueMessage.parse(payload), monitor.observations(numerics).count == 8 else {
                    return count
                }
                return count + 1
            }
        }
    }

    /// It accepts an association and sends its MDS Create event, answers each poll with its numerics,
    /// and a release with a release response.
    package func answers(to heard: inout [UInt8]) -> [SimulatedAnswer] {
        var deframer = IntelliVueDeframer()
        let payloads = deframer.feed(heard)
        // Keep an unfinished frame for next time.
        if let start = heard.lastIndex(of: IntelliVueFrame.bof), !heard[start...].contains(IntelliVueFrame.eof) {
            heard.removeSubrange(..<start)
        } else {
            heard.removeAll()
        }
        var answers: [SimulatedAnswer] = []
        for payload in payloads {
            switch payload.first {
            case 0x0D:
                answers.append(.bytes(IntelliVueFrame.encode(SerialDeviceEncoders.intelliVueAssociationResponse)
                    + IntelliVueFrame.encode(SerialDeviceEncoders.intelliVueMDSCreate())))
            case 0x09:
                answers.append(.bytes(IntelliVueFrame.encode([0x0A, 0x00])))
            case 0xE1 where payload.count >= 26 && payload[4...5] == [0x00, 0x01] && payload[24...25] == [0x0C, 0x16]:
                answers.append(.dataFrameAnswering(payload))
            default:
                break
            }
        }
        return answers
    }
}
