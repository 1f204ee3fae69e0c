import AlveoAgent
import ArgumentParser

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Poll the bed's devices and write alarm events to stdout until SIGTERM or SIGINT.")

    @Option(name: .long, help: "Agent configuration (YAML): patient, devices, rules. The default is where the Debian package installs it.")
    var config: String = AgentConfig.defaultPath

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

    @Option(name: .long, help: "Also write the metrics (Prometheus text format, as served at /metrics on the control socket) to this file after the first second and every 15 s, mode 0644, through a temporary file renamed over it, for node_exporter's textfile collector (the Debian package's unit: /var/lib/alveo-metrics/alveo.prom, linked from /var/lib/prometheus/node-exporter).")
    var metricsFile: String?

    @Option(name: .long, help: "The control API's Unix socket (alveo status, ack, chart, patient); overrides control.socket (default \(ControlConfig.defaultSocketPath)).")
    var controlSocket: String?

    func run() async throws {
        try await command {
            try await Commands.run(configPath: config, format: EventFormat(rawValue: format)!, record: record, recording: traceLimits.options,
                                   logLevel: logLevel, metricsFile: metricsFile, controlSocket: controlSocket)
        }
    }
}
