import AlveoAgent
import AlveoCore
import AlveoDevices
import AlveoIO
import AlveoOutput
import AlveoTrace
import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Poll the bed's devices and write alarm events to stdout until SIGTERM or SIGINT.")

    @Option(name: .long, help: "Agent configuration (YAML): patient, devices, rules.")
    var config: String

    @Option(name: .long, help: "Output format: jsonl (one JSON event per line) or text (for people).")
    var format: String = "jsonl"

    func validate() throws {
        guard EventFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be one of: \(EventFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    @Option(name: .long, help: "Record every byte and register exchanged with the devices, and the configuration, into a trace file in this directory.")
    var record: String?

    @OptionGroup var traceLimits: TraceLimitOptions

    @Option(name: .long, help: "Least severe log level on stderr: trace, debug, info, notice, warning, error, critical (overrides logging.level; default info). Under systemd each line carries its syslog priority.")
    var logLevel: String?

    @Option(name: .long, help: "Also write the metrics (Prometheus text format, as served at /metrics on the control socket) to this file every 15 s, for node_exporter's textfile collector.")
    var metricsFile: String?

    @Option(name: .long, help: "The control API's Unix socket (alveo status, ack, chart, patient); overrides control.socket (default \(ControlConfig.defaultSocketPath)).")
    var controlSocket: String?

    func run() async throws {
        var agentConfig = try loadConfig(config, starting: true)
        if let controlSocket {
            guard controlSocket.utf8.count < 104 else { throw ValidationError("--control-socket: at most 103 bytes") }
            agentConfig.control.socketPath = controlSocket
        }
        guard !agentConfig.devices.isEmpty || !agentConfig.serialDevices.isEmpty else {
            printError("error: \(config): no devices: add a 'devices:' list (see config/ for examples)")
            throw ExitCode(.config)
        }
        var recorder: TraceWriter?
        if let record {
            recorder = try startRecording(record, configPath: config, config: agentConfig, options: traceLimits,
                                          onStop: "alveo run goes on, raising its alarms, without recording")
        }
        var level = agentConfig.logLevel
        if let logLevel {
            guard let parsed = Logger.Level(rawValue: logLevel) else {
                throw ValidationError("--log-level must be one of: \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
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
        // Live: each event line carries the wall-clock time beside the agent's t.
        let writer = SharedWriter(EventWriter(format: EventFormat(rawValue: format)!, flushEach: true, wallClock: true))
        let inbox = BedsideInbox()
        let pseudonyms = recorder != nil && !traceLimits.recordIdentity ? IdentityPseudonyms(config: agentConfig) : nil
        var agent = LiveAgent(config: agentConfig, logger: logger, recorder: recorder, inbox: inbox, pseudonyms: pseudonyms) { events in writer.write(events) }
        agent.metricsFile = metricsFile
        var services: [any Service] = [agent]
        if agentConfig.control.enabled { services.append(ControlServer(config: agentConfig.control, inbox: inbox, logger: logger)) }
        if let listener = agentConfig.inputs.hl7 { services.append(LabListener(config: listener, inbox: inbox, logger: logger)) }
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        do {
            try await group.run()
        } catch {
            printError("error: \(error)")
            throw ExitCode(.ioError)
        }
    }
}
