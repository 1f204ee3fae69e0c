import AlveoCore
import AlveoDevices

/// How a simulated serial-protocol device behaves, without its transport: what it answers to the
/// bytes it hears and when it streams. `alveo simulate` runs it on a pseudo-terminal on real time;
/// the trace synthesizer (`alveo-bench golden-traces`) on a virtual line on virtual time. Its data
/// frames come from `SerialDeviceEncoders`.
public struct SimulatedSerialDevice: Sendable {
    public enum Answer: Sendable, Equatable {
        /// These bytes (an echo, an acknowledgement).
        case bytes([UInt8])
        /// The device's data frame for what it measures now (`dataFrame`, or a frame the caller substitutes).
        case dataFrame
    }

    public let serialProtocol: SerialDeviceConfig.SerialProtocol
    private var heard: [UInt8] = []
    private var nextStream = 0.0

    public init(_ serialProtocol: SerialDeviceConfig.SerialProtocol) {
        self.serialProtocol = serialProtocol
    }

    /// Whether it plays the bed's ventilator (PB840, MEDIBUS) rather than its oximeter.
    public var isVentilator: Bool { serialProtocol == .pb840 || serialProtocol == .medibus }

    /// Seconds between the frames a streaming device sends on its own; nil for a polled device.
    public var streamInterval: Double? {
        switch serialProtocol {
        case .masimoASCII1, .noninDF8: 1
        case .noninDF2: 1.0 / 3  // 75 frames a second in packets of 25
        case .pb840, .medibus: nil
        }
    }

    /// The data frame for the values it measures (Alveo's units, FiO2 in percent) and its probe state.
    public static func dataFrame(_ serialProtocol: SerialDeviceConfig.SerialProtocol, values: SerialDeviceEncoders.Values,
                                 sensor: SensorState) -> [UInt8]
    {
        switch serialProtocol {
        case .pb840: SerialDeviceEncoders.pb840MISCF(values)
        case .medibus: SerialDeviceEncoders.medibusMeasured(values)
        case .masimoASCII1: SerialDeviceEncoders.masimoLine(values, sensor: sensor)
        case .noninDF2: SerialDeviceEncoders.noninPacket(values, sensor: sensor)
        case .noninDF8: SerialDeviceEncoders.noninDF8Frame(values, sensor: sensor)
        }
    }

    /// Its answers to the bytes it heard, in order: a PB840 answers SNDF with its data frame; a
    /// MEDIBUS ventilator echoes ICC and NOP and answers a measured-data request with its data frame;
    /// a Nonin acknowledges a format selection (`02 70 02 02 <format> 03`) with ACK.
    public mutating func hear(_ bytes: [UInt8]) -> [Answer] {
        heard += bytes
        var answers: [Answer] = []
        switch serialProtocol {
        case .pb840:
            while let range = heard.firstRange(of: PB840Decoder.sndf) {
                heard.removeSubrange(..<range.upperBound)
                answers.append(.dataFrame)
            }
        case .medibus:
            while let end = heard.firstIndex(of: 0x0D) {
                let command = Array(heard[..<end])
                heard.removeSubrange(...end)
                guard command.count >= 2, command[0] == 0x1B else { continue }
                switch command[1] {
                case MedibusSession.icc, MedibusSession.nop: answers.append(.bytes(MedibusSession.echo(command[1])))
                case MedibusSession.measured: answers.append(.dataFrame)
                default: break
                }
            }
        case .noninDF2, .noninDF8:
            while let start = heard.firstIndex(of: 0x02), heard.count - start >= 6 {
                if heard[start + 1] == 0x70, heard[start + 5] == 0x03 { answers.append(.bytes([0x06])) }
                heard.removeSubrange(...(start + 5))
            }
        case .masimoASCII1:
            break
        }
        if heard.count > 256 { heard.removeAll() }  // nothing it understands
        return answers
    }

    /// Whether a streaming device sends a data frame at `t` (seconds since it started). Time it spent
    /// unheard (unplugged) is not made up for with a burst.
    public mutating func streams(at t: Double) -> Bool {
        guard let interval = streamInterval, t >= nextStream else { return false }
        nextStream += interval
        if nextStream <= t { nextStream = t + interval }
        return true
    }
}
