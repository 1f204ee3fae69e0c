import AlveoCore
import AlveoDevices
import AlveoIO
import AlveoTrace
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// A recording's own limits and what it keeps (`alveo run --record`, `alveo record`): where a
/// recording stops on its own while the agent runs on, so that it never fills the disk the alarm
/// journal is written to.
package struct RecordingOptions: Sendable {
    /// Stop recording at this many MB (10^6 bytes); 0: no cap.
    package var maxMb: Double
    /// Do not start, or stop, with less than this many MB free; 0: no floor.
    package var minFreeMb: Double
    /// Keep the patient's identity in the recorded configuration.
    package var recordIdentity: Bool

    package init(maxMb: Double, minFreeMb: Double, recordIdentity: Bool) {
        self.maxMb = maxMb
        self.minFreeMb = minFreeMb
        self.recordIdentity = recordIdentity
    }

    var limits: TraceWriter.Limits {
        TraceWriter.Limits(maxBytes: maxMb > 0 ? Int64(saturating: maxMb * 1_000_000) : nil,
                           minFreeBytes: minFreeMb > 0 ? Int64(saturating: minFreeMb * 1_000_000) : nil)
    }
}

extension Commands {
    /// The log levels `--log-level` takes, least severe first.
    package static let logLevels = Logger.Level.allCases.map(\.rawValue)

    /// `alveo run`: polls the bed's devices and runs the bedside runtime until SIGTERM or SIGINT.
    package static func run(configPath config: String, format: EventFormat, record: String?, recording: RecordingOptions,
                           logLevel: String?, metricsFile: String?, controlSocket: String?) async throws {
        var agentConfig = try loadConfig(config, starting: true)
        if let controlSocket {
            guard controlSocket.utf8.count < 104 else { throw CommandExit.usage("--control-socket: at most 103 bytes") }
            agentConfig.control.socketPath = controlSocket
        }
        guard !agentConfig.allDeviceIDs.isEmpty else {
            Console.error("error: \(config): no devices: add a 'devices:' list (see config/ for examples)")
            throw CommandExit(.config)
        }
        var recorder: TraceWriter?
        if let record {
            recorder = try startRecording(record, configPath: config, config: agentConfig, options: recording,
                                          onStop: "alveo run goes on, raising its alarms, without recording")
        }
        var level = agentConfig.logLevel
        if let logLevel {
            guard let parsed = Logger.Level(rawValue: logLevel) else {
                throw CommandExit.usage("--log-level must be one of: \(logLevels.joined(separator: ", "))")
            }
            level = parsed
        }
        let chosen = level
        LoggingSystem.bootstrap { AgentLogHandler(label: $0, level: chosen) }
        AgentMetrics.bootstrap()
        let logger = Logger(label: "alveo")
        // systemd's default soft limit (1,024) is raised to the hard one (LimitNOFILE in the unit).
        let descriptors = DescriptorLimit.raise()
        if descriptors < agentConfig.descriptorBudget {
            logger.critical("only \(descriptors) file descriptors may be open (RLIMIT_NOFILE) and this configuration may need \(agentConfig.descriptorBudget): raise LimitNOFILE in the unit (or ulimit -n), or lower control.max_connections and inputs.hl7.max_connections")
        }
        let pseudonyms = recorder != nil && !recording.recordIdentity ? IdentityPseudonyms(config: agentConfig) : nil
        let devices = BedsideRuntime.Devices(config: agentConfig, logger: logger, recorder: recorder, pseudonyms: pseudonyms)
        try await BedsideRuntime(source: .devices(devices), sinks: BedsideRuntime.Sinks(format: format, metricsFile: metricsFile)).run()
    }

    /// `alveo record`: polls the devices and records a raw trace, without the clinical rules; prints the
    /// trace's path at the end.
    package static func record(configPath config: String, out: String, seconds: Double?, recording: RecordingOptions) async throws {
        let agentConfig = try loadConfig(config)
        guard !agentConfig.allDeviceIDs.isEmpty else {
            Console.error("error: \(config): no devices: add a 'devices:' list (see config/ for examples)")
            throw CommandExit(.config)
        }
        let recorder = try startRecording(out, configPath: config, config: agentConfig, options: recording,
                                          onStop: "alveo record stops")
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let logger = Logger(label: "alveo-record")
        logger.info("recording", metadata: ["trace": "\(recorder.path)"])
        let devices = BedsideRuntime.Devices(config: agentConfig, logger: logger, recorder: recorder, clinical: false,
                                             stopAfter: seconds.map { .clampedSeconds($0) })
        try await BedsideRuntime(source: .devices(devices), sinks: BedsideRuntime.Sinks(format: .jsonl)).run()
        print(recorder.path)
    }

    /// `onStop`: what happens next when the recording stops itself (said after its reason).
    static func startRecording(_ directory: String, configPath: String, config: AgentConfig, options: RecordingOptions,
                               onStop: String) throws(CommandExit) -> TraceWriter {
        do {
            return try TraceRecording.start(directory: directory, configPath: configPath, config: config, limits: options.limits,
                                            identity: options.recordIdentity,
                                            onError: { Console.error("error: trace: \($0)") },
                                            onStop: { Console.error("error: trace: \($0); \(onStop) (the limits: --trace-max-mb, --trace-min-free-mb)") })
        } catch {
            Console.error("error: \(error)")
            throw CommandExit(.ioError)
        }
    }

    /// The serial protocols `--serial` and `--protocol` take, as a list for people.
    package static var serialProtocolNames: String { SerialDrivers.names }

    /// Whether `name` is a serial protocol Alveo speaks.
    package static func isSerialProtocol(_ name: some StringProtocol) -> Bool { SerialDrivers.named(name) != nil }

    /// `alveo simulate`: plays a scenario as simulated devices until SIGTERM or SIGINT. `serial`:
    /// PROTOCOL=LINK each (checked with `isSerialProtocol`).
    package static func simulate(scenario: String, ventPort: Int, oxiLink: String, speed: Double, serial: [String]) async throws(CommandExit) {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let logger = Logger(label: "alveo-simulate")
        var options = Simulator.Options(scenario: scenario)
        options.ventilatorPort = ventPort
        options.oximeterLink = oxiLink
        options.speed = speed
        options.serialDevices = serial.compactMap { item in
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let driver = SerialDrivers.named(parts[0]) else { return nil }
            return (driver, String(parts[1]))
        }
        let group = ServiceGroup(services: [Simulator(options: options, logger: logger)],
                                 gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        do {
            try await group.run()
        } catch {
            Console.error("error: \(error)")
            throw CommandExit(.failure)
        }
    }
}
