import AlveoCore
import AlveoDevices

/// How a simulated serial-protocol device behaves, without its transport: what it answers to the
/// bytes it hears and when it streams. `alveo simulate` runs it on a pseudo-terminal on real time;
/// the trace synthesizer (`alveo-bench golden-traces`) on a virtual line on virtual time. Its data
/// frames come from `SerialDeviceEncoders`.
package struct SimulatedSerialDevice: Sendable {
    package typealias Answer = SimulatedAnswer

    package let driver: any SerialDriver
    private var heard: [UInt8] = []
    private var nextStream = 0.0

    package init(_ driver: any SerialDriver) {
        self.driver = driver
    }

    /// Whether it plays the bed's ventilator rather than its oximeter (or monitor).
    package var isVentilator: Bool { driver.role == .ventilator }

    /// Seconds between the frames a streaming device sends on its own; nil for a polled device.
    package var streamInterval: Double? { driver.streamInterval }

    /// The data frame for the values it measures (Alveo's units, FiO2 in percent) and its probe state.
    package static func dataFrame(_ driver: any SerialDriver, values: SerialDeviceEncoders.Values, sensor: SensorState) -> [UInt8] {
        driver.dataFrame(values, sensor: sensor)
    }

    /// The bytes of a data-frame answer (`.dataFrame` or `.dataFrameAnswering`); nil for `.bytes`.
    package static func dataFrame(_ driver: any SerialDriver, for answer: Answer, values: SerialDeviceEncoders.Values,
                                 sensor: SensorState) -> [UInt8]?
    {
        switch answer {
        case .bytes: nil
        case .dataFrame: driver.dataFrame(values, sensor: sensor)
        case .dataFrameAnswering(let request): driver.dataFrame(values, sensor: sensor, answering: request)
        }
    }

    /// Its answers to the bytes it heard, in order (its driver's `answers`: a PB840 answers SNDF with
    /// its data frame; a MEDIBUS ventilator echoes ICC and NOP and answers a measured-data request; a
    /// Nonin acknowledges a format selection).
    package mutating func hear(_ bytes: [UInt8]) -> [Answer] {
        heard += bytes
        let answers = driver.answers(to: &heard)
        if heard.count > 8192 { heard.removeAll() }  // nothing it understands (an IntelliVue association request alone is 310 bytes)
        return answers
    }

    /// Whether a streaming device sends a data frame at `t` (seconds since it started). Time it spent
    /// unheard (unplugged) is not made up for with a burst.
    package mutating func streams(at t: Double) -> Bool {
        guard let interval = streamInterval, t >= nextStream else { return false }
        nextStream += interval
        if nextStream <= t { nextStream = t + interval }
        return true
    }
}
