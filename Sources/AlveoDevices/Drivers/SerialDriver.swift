import AlveoCore

/// What a device is at the bedside.
package enum DeviceRole: String, Sendable, CaseIterable {
    case ventilator, oximeter, monitor
}

/// A serial line's settings as a device usually has them (its menu's defaults): `alveo check-config`
/// notes a configured line that differs, and the docs list them. (The configuration's default stays
/// 9600 8N1, as in every version so far.)
package struct LineDefaults: Sendable, Equatable, CustomStringConvertible {
    package enum Parity: String, Sendable { case none, even, odd }
    package enum Flow: String, Sendable { case none, xonxoff, rtscts }
    package var baud: Int
    package var parity: Parity
    package var dataBits: Int
    package var stopBits: Int
    package var flow: Flow

    package init(baud: Int, parity: Parity = .none, dataBits: Int = 8, stopBits: Int = 1, flow: Flow = .none) {
        self.baud = baud
        self.parity = parity
        self.dataBits = dataBits
        self.stopBits = stopBits
        self.flow = flow
    }

    /// "9600 8N1", "19200 8E1 XON/XOFF".
    package var description: String {
        let p = switch parity { case .none: "N"; case .even: "E"; case .odd: "O" }
        let f = switch flow { case .none: ""; case .xonxoff: " XON/XOFF"; case .rtscts: " RTS/CTS" }
        return "\(baud) \(dataBits)\(p)\(stopBits)\(f)"
    }
}

/// What a simulated device answers to what it heard (`SerialDriver.answers`).
package enum SimulatedAnswer: Sendable, Equatable {
    /// These bytes (an echo, an acknowledgement).
    case bytes([UInt8])
    /// The device's data frame for what it measures now (`SerialDriver.dataFrame`, or a frame the caller substitutes).
    case dataFrame
    /// Its data frame as the reply to this request (an IntelliVue poll reply carries the poll's invoke
    /// id): `SerialDriver.dataFrame(_:sensor:answering:)`.
    case dataFrameAnswering([UInt8])
}

/// Everything that is one serial-protocol device's, in one place (`Drivers/<device>/`): its name in
/// configurations, its role, whether it is polled, its line's usual settings, the parameters it gives
/// (in Alveo's units), its session (decoder and what it sends), and how the simulator and the trace
/// synthesizer play it. The CLI, the configuration, the simulator, trace synthesis and the docs read
/// `SerialDrivers.all`; adding a device is a folder, a driver and a line in that list.
package protocol SerialDriver: Sendable {
    /// The `protocol:` value in a configuration and `alveo simulate --serial NAME=LINK` (e.g. `pb840`).
    var name: String { get }
    /// For people: "Puritan Bennett 840/980 (DCI, SNDF/MISCF)".
    var title: String { get }
    var role: DeviceRole { get }
    /// Polled (Alveo asks, every `poll_interval_s`) or streaming (the device sends on its own).
    var polled: Bool { get }
    var line: LineDefaults { get }
    /// The parameters it can give.
    var parameters: [Parameter] { get }
    /// The session that talks to one such device (`source`: the device id).
    func makeSession(source: String, pollInterval: Double) -> any SerialSession
    /// The device's UDP port when it can also be reached over the LAN (`transport: {kind: lan}`: the
    /// same protocol, one message per datagram); nil for a serial-only device.
    var lanPort: Int? { get }
    /// The session for a device on the LAN (`lanPort` not nil).
    func makeLANSession(source: String, pollInterval: Double) -> any SerialSession
    /// How often its session really polls for `poll_interval_s` (a driver may bound it: an IntelliVue
    /// drops a silent client); by default the configured interval.
    func pollInterval(configured: Double) -> Double

    // The simulator and the trace synthesizer.
    /// Seconds between the frames it sends on its own; nil for a polled device.
    var streamInterval: Double? { get }
    /// The data frame for the values it measures (Alveo's units, FiO2 in percent) and its probe state.
    func dataFrame(_ values: SerialDeviceEncoders.Values, sensor: SensorState) -> [UInt8]
    /// The data frame as the reply to `request` (`SimulatedAnswer.dataFrameAnswering`); by default the
    /// plain data frame.
    func dataFrame(_ values: SerialDeviceEncoders.Values, sensor: SensorState, answering request: [UInt8]) -> [UInt8]
    /// Its answers to what it heard so far, consuming what it understood from `heard`.
    func answers(to heard: inout [UInt8]) -> [SimulatedAnswer]

    // Fuzzing and the decoder benchmark (AlveoFuzzTargets, Tests/Fuzz/fuzz.sh and alveo-bench read them
    // from the registry).
    /// Its fuzz target's name (`make fuzz FUZZ_TARGETS=NAME`; seeds and past findings in
    /// Tests/Fuzz/seeds/NAME and Tests/Fuzz/regressions/NAME).
    var fuzzTarget: String { get }
    /// Files that seed its fuzz target: shell globs from the repository's root (its fixtures).
    var fuzzSeeds: [String] { get }
    /// The session the fuzzer feeds: started, and as far into its conversation as its data frames
    /// need (an IntelliVue associated); by default its session, started.
    func fuzzSession() -> any SerialSession
    /// Most reply bytes a fuzzed session may send per received byte (by default 64).
    var fuzzReplyPerByte: Int { get }
    /// Its entry in the decoder benchmark (`alveo-bench decoders`): by default its data frame for
    /// `values` through its started session, 200,000 times.
    func benchmark(_ values: SerialDeviceEncoders.Values) -> DriverBenchmark
}

/// One driver's decoder benchmark: a stream of `count` copies of `frame`, handed to `decode` in
/// serial-read-sized chunks; `decode` returns the frames it completed.
package struct DriverBenchmark {
    package var label: String
    package var frame: [UInt8]
    package var count: Int
    package var decode: ([UInt8]) -> Int

    package init(label: String, frame: [UInt8], count: Int = 200_000, decode: @escaping ([UInt8]) -> Int) {
        self.label = label
        self.frame = frame
        self.count = count
        self.decode = decode
    }

    /// `session` (already started and past any handshake) decoding the stream.
    package init(label: String, frame: [UInt8], count: Int = 200_000, session: any SerialSession) {
        var session = session
        self.init(label: label, frame: frame, count: count) { session.receive($0, at: 1).frames.count }
    }
}

extension SerialDriver {
    package func pollInterval(configured: Double) -> Double { configured }
    package var streamInterval: Double? { nil }
    package var lanPort: Int? { nil }
    package func makeLANSession(source: String, pollInterval: Double) -> any SerialSession { makeSession(source: source, pollInterval: pollInterval) }
    package func dataFrame(_ values: SerialDeviceEncoders.Values, sensor: SensorState, answering request: [UInt8]) -> [UInt8] {
        dataFrame(values, sensor: sensor)
    }
    package func answers(to heard: inout [UInt8]) -> [SimulatedAnswer] { [] }

    package func fuzzSession() -> any SerialSession {
        var session = makeSession(source: "fuzz", pollInterval: 1)
        _ = session.start(at: 0)
        return session
    }

    package var fuzzReplyPerByte: Int { 64 }

    package func benchmark(_ values: SerialDeviceEncoders.Values) -> DriverBenchmark {
        DriverBenchmark(label: title, frame: dataFrame(values, sensor: .ok), session: fuzzSession())
    }
}

/// The registry: every serial-protocol device Alveo reads.
package enum SerialDrivers {
    package static let all: [any SerialDriver] = [
        PB840Driver(),
        MedibusDriver(),
        MasimoASCII1Driver(),
        NoninDriver(format: 2),
        NoninDriver(format: 8),
        ServoDriver(mode: .polled),
        ServoDriver(mode: .streaming),
        IntelliVueDriver(),
        S5Driver(),
    ]

    package static func named(_ name: some StringProtocol) -> (any SerialDriver)? {
        all.first { $0.name == name }
    }

    /// The driver whose fuzz target is `name`.
    package static func fuzzing(_ name: some StringProtocol) -> (any SerialDriver)? {
        all.first { $0.fuzzTarget == name }
    }

    /// "pb840, medibus, …", for messages.
    package static var names: String { all.map(\.name).joined(separator: ", ") }
}
