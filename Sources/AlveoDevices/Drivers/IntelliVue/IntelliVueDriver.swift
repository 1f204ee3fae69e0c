import AlveoCore

/// Philips IntelliVue MP/MX patient monitors over the MIB/RS232 port, Data Export protocol: SpO2 and
/// pulse from the pleth, and the ventilator's FiO2, Vt, Pplat, PEEP, Ppeak and RR where an
/// IntelliBridge/VueLink module brings them (device-protocols-monitors-vents.md §IntelliVue;
/// devices/intellivue/README.md).
public struct IntelliVueDriver: SerialDriver {
    public init() {}
    public var name: String { "intellivue" }
    public var title: String { "Philips IntelliVue MP/MX monitor (Data Export, MIB/RS232)" }
    public var role: DeviceRole { .monitor }
    public var polled: Bool { true }
    public var line: LineDefaults { LineDefaults(baud: 115_200) }
    public var parameters: [Parameter] { [.spo2, .pulseRate, .fio2, .vt, .pplat, .peep, .ppeak, .rr] }

    public func makeSession(source: String, pollInterval: Double) -> any SerialSession {
        IntelliVueSession(source: source, pollInterval: pollInterval)
    }

    public func dataFrame(_ values: SerialDeviceEncoders.Values, sensor: SensorState) -> [UInt8] {
        SerialDeviceEncoders.intelliVuePollReply(values, sensor: sensor, answering: IntelliVueSession.pollRequest(invokeID: 0))
    }

    public func dataFrame(_ values: SerialDeviceEncoders.Values, sensor: SensorState, answering request: [UInt8]) -> [UInt8] {
        SerialDeviceEncoders.intelliVuePollReply(values, sensor: sensor, answering: request)
    }

    /// It accepts an association and sends its MDS Create event, answers each poll with its numerics,
    /// and a release with a release response.
    public func answers(to heard: inout [UInt8]) -> [SimulatedAnswer] {
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
