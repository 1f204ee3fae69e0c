import AlveoCore
import AlveoDevices
import AlveoIO
import AlveoTrace
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// `alveo simulate`: plays a scenario file as real devices, for people with no hardware. The
/// ventilator is a Modbus TCP server and the oximeter a Modbus RTU server on a pseudo-terminal pair,
/// both following the alveo-gateway-v1 map. Values are held between scenario rows, on real time.
package struct Simulator: Service {
    package struct Options: Sendable {
        package var scenario: String
        package var host = "127.0.0.1"
        package var ventilatorPort = 5020
        package var oximeterLink = "/tmp/alveo-oxi"
        package var ventilatorSource = "vent"
        package var oximeterSource = "oxi"
        /// Scenario seconds per real second.
        package var speed = 1.0
        /// Serial-protocol devices to simulate on pseudo-terminals: protocol and the link the agent opens.
        /// Ventilators (pb840, medibus) play the ventilator source, oximeters the oximeter source.
        package var serialDevices: [(driver: any SerialDriver, link: String)] = []

        package init(scenario: String) {
            self.scenario = scenario
        }
    }

    package let options: Options
    private let logger: Logger

    package init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// One simulated device: a server and its register image.
    final class Device: Sendable {
        let server: ModbusServer
        let image: Mutex<DeviceImage>

        init(server: ModbusServer) {
            self.server = server
            image = Mutex(DeviceImage())
        }

        func apply(_ observation: Observation) {
            let profile = ModbusProfile.gatewayV1
            let registers: [UInt16] = image.withLock { image in
                switch observation.value {
                case .number(let value):
                    image.values[observation.parameter] = value
                    // As in the core, a valid SpO2 means the probe is on again.
                    if observation.parameter == .spo2, Parameter.spo2.acceptedRange!.contains(value) { image.sensor = .ok }
                case .noData: image.values[observation.parameter] = Double?.none
                case .sensor(let state): image.sensor = state
                default: break
                }
                image.sequence &+= 1
                var words = [UInt16](repeating: 0, count: 12)
                words[0] = 1
                words[1] = ModbusEncoder.statusWord(profile.status!, sensor: image.sensor)
                words[3] = image.sequence
                for field in profile.fields {
                    let value = image.values[field.parameter] ?? nil
                    words[field.address] = ModbusEncoder.registers(for: value, field: field)[0]
                }
                return words
            }
            server.set(.input, address: 0, registers)
        }
    }

    /// The values each source currently "measures", for the serial simulators.
    final class ScenarioState: Sendable {
        let values = Mutex<[String: (values: SerialDeviceEncoders.Values, sensor: SensorState)]>([:])

        func apply(_ observation: Observation) {
            values.withLock { all in
                var entry = all[observation.source] ?? ([:], .ok)
                switch observation.value {
                case .number(let value):
                    // Scenario FiO2 is in percent, as the devices report it.
                    entry.values[observation.parameter] = value
                    if observation.parameter == .spo2, Parameter.spo2.acceptedRange!.contains(value) { entry.sensor = .ok }
                case .noData: entry.values[observation.parameter] = nil
                case .sensor(let state): entry.sensor = state
                default: break
                }
                all[observation.source] = entry
            }
        }

        func current(_ source: String) -> (values: SerialDeviceEncoders.Values, sensor: SensorState) {
            values.withLock { $0[source] ?? ([:], .ok) }
        }
    }

    /// Runs one simulated serial device on its own thread until the process ends.
    func startSerialDevice(_ driver: any SerialDriver, link: String, state: ScenarioState) throws {
        let terminal = try PseudoTerminal(link: link)
        let source = SimulatedSerialDevice(driver).isVentilator ? options.ventilatorSource : options.oximeterSource
        let thread = Thread {
            var device = SimulatedSerialDevice(driver)
            let clock = ContinuousClock()
            let start = clock.now
            func dataFrame(_ answer: SimulatedAnswer = .dataFrame) -> [UInt8] {
                let now = state.current(source)
                return SimulatedSerialDevice.dataFrame(driver, for: answer, values: now.values, sensor: now.sensor) ?? []
            }
            while true {
                let incoming = terminal.read(timeoutMilliseconds: 50)
                for answer in device.hear(incoming) {
                    if case .bytes(let bytes) = answer { terminal.write(bytes) } else { terminal.write(dataFrame(answer)) }
                }
                let elapsed = clock.now - start
                if device.streams(at: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) {
                    terminal.write(dataFrame())
                }
            }
        }
        thread.name = "alveo-sim-\(driver.name)"
        thread.start()
        logger.info("\(driver.name) (source \(source)): serial on \(link) (pseudo-terminal)")
    }

    struct DeviceImage {
        var values: [Parameter: Double?] = [:]
        var sensor: SensorState = .ok
        var sequence: UInt16 = 0
    }

    package func run() async throws {
        // Read the whole scenario first so that a malformed file fails before anything is served.
        var reader = try ScenarioReader(path: options.scenario)
        var groups: [(t: Double, rows: [Observation])] = []
        var rows: [Observation] = []
        while let t = try reader.nextGroup(into: &rows) { groups.append((t, rows)) }

        let ventilator = Device(server: try ModbusServer(endpoint: .tcp(host: options.host, port: options.ventilatorPort), unitID: 1))
        let bridge = try PseudoTerminalBridge(deviceEnd: options.oximeterLink + ".device", agentEnd: options.oximeterLink)
        let oximeter = Device(server: try ModbusServer(
            endpoint: .rtu(path: bridge.deviceEnd, baud: 19200, parity: .none, dataBits: 8, stopBits: 1), unitID: 1))
        defer {
            unlink(bridge.deviceEnd)
            unlink(bridge.agentEnd)
            for device in options.serialDevices { unlink(device.link) }
        }
        // Before the first row every value is "no data".
        ventilator.apply(Observation(source: options.ventilatorSource, parameter: .sensor, value: .sensor(.ok)))
        oximeter.apply(Observation(source: options.oximeterSource, parameter: .sensor, value: .sensor(.ok)))
        try ventilator.server.start()
        try oximeter.server.start()
        let state = ScenarioState()
        for device in options.serialDevices {
            try startSerialDevice(device.driver, link: device.link, state: state)
        }
        logger.info("ventilator (source \(options.ventilatorSource)): modbus_tcp \(options.host):\(options.ventilatorPort) unit 1")
        logger.info("oximeter (source \(options.oximeterSource)): modbus_rtu \(options.oximeterLink) unit 1 (19200 8N1, pseudo-terminal)")

        let schedule = groups
        do {
            try await cancelWhenGracefulShutdown {
                try await play(schedule, ventilator: ventilator, oximeter: oximeter, state: state)
                try await gracefulShutdown()
            }
        } catch is CancellationError {
            // SIGTERM/SIGINT: stop serving.
        }
        logger.info("simulator stopped")
    }

    private func play(_ groups: [(t: Double, rows: [Observation])], ventilator: Device, oximeter: Device, state: ScenarioState) async throws {
        var ignored = Set<String>()
        let clock = ContinuousClock()
        let start = clock.now
        for group in groups {
            let due = start.advanced(by: .clampedSeconds(group.t / options.speed))
            try await clock.sleep(until: due)
            for observation in group.rows {
                state.apply(observation)
                if observation.source == options.ventilatorSource {
                    ventilator.apply(observation)
                } else if observation.source == options.oximeterSource {
                    oximeter.apply(observation)
                } else if ignored.insert(observation.source).inserted {
                    logger.notice("rows from source '\(observation.source)' are not device data: not simulated")
                }
            }
        }
        logger.info("scenario finished at t=\(groups.last?.t ?? 0) s; holding the last values until stopped")
    }
}
