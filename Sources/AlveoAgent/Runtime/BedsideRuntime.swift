import AlveoCore
import AlveoTrace
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// The one bedside runtime: a source (the bed's devices live, a raw device trace, or a scenario CSV
/// with its configuration) through the bedside loop and the clinical core into the sinks (events to
/// stdout, the journal and its forwarders, the trend store, metrics), and the end of the run. Live
/// (`alveo run`, `alveo record`), it also owns the control API and the laboratory listener, the health
/// checks, systemd's watchdog and the graceful shutdown on SIGTERM and SIGINT (`LiveLoop`); a replay
/// runs on virtual time, lists what is still in force at the end and waits for every journaled event
/// to be delivered.
package struct BedsideRuntime: Sendable {
    /// Where the bedside's inputs come from.
    package enum Source: Sendable {
        /// The bed's devices, polled live on the wall clock.
        case devices(Devices)
        /// A raw trace (`alveo run --record`, `alveo record`; - for standard input): it carries its own
        /// configuration, so a given configuration only gives the outputs.
        case rawTrace(String)
        /// A scenario CSV (t,source,parameter,value), run with the given configuration.
        case scenario(String)

        /// The source at `path`: a raw trace when it is one, else a scenario.
        package init(path: String) {
            self = TraceReplay.isTrace(path: path) ? .rawTrace(path) : .scenario(path)
        }

        var path: String {
            switch self {
            case .rawTrace(let path), .scenario(let path): path
            case .devices: ""
            }
        }
    }

    /// The live source: the configuration's devices, and how this run treats them.
    package struct Devices: Sendable {
        package var config: AgentConfig
        package var logger: Logger
        /// Every byte and register exchanged, recorded here (`--record`, `alveo record`).
        package var recorder: TraceWriter?
        /// false (`alveo record`): poll and record only: no clinical core, no journal, no forwarders,
        /// no control API; the run ends when `stopAfter` has passed, as on SIGTERM.
        package var clinical: Bool
        package var stopAfter: Duration?
        /// How a recording without identity names the patients in entries (nil: as they are).
        package var pseudonyms: IdentityPseudonyms?

        package init(config: AgentConfig, logger: Logger, recorder: TraceWriter? = nil, clinical: Bool = true, stopAfter: Duration? = nil,
                    pseudonyms: IdentityPseudonyms? = nil) {
            self.config = config
            self.logger = logger
            self.recorder = recorder
            self.clinical = clinical
            self.stopAfter = stopAfter
            self.pseudonyms = pseudonyms
        }
    }

    /// Where the events go besides stdout. Live, the journal, forwarders and trend store are the
    /// configuration's.
    package struct Sinks: Sendable {
        /// How events are printed on stdout.
        package var format: EventFormat
        /// The agent configuration (YAML) whose outputs (journal, forwarders) get the events; for a
        /// scenario also its patient and rules. Empty: none (a raw trace only).
        package var configPath: String
        /// The SQLite trend store the run's trends are written to, if any.
        package var trendsPath: String?
        /// The wall-clock time of t = 0 (RFC 3339); default: a raw trace's recording start, else now.
        package var start: String?
        /// With outputs: how long to wait at the end for every journaled event to be delivered (a
        /// replay; live, the configuration's `outputs.shutdown_budget_s`).
        package var drainTimeout: Double
        /// Live: the metrics (Prometheus text) written here every 15 s, for node_exporter's textfile collector.
        package var metricsFile: String?

        package init(format: EventFormat, configPath: String = "", trendsPath: String? = nil, start: String? = nil, drainTimeout: Double = 60,
                    metricsFile: String? = nil) {
            self.format = format
            self.configPath = configPath
            self.trendsPath = trendsPath
            self.start = start
            self.drainTimeout = drainTimeout
            self.metricsFile = metricsFile
        }
    }

    package var source: Source
    package var sinks: Sinks
    /// Times real time (1: real time, for demonstrations); nil: as fast as the machine allows.
    package var speed: Double?

    package init(source: Source, sinks: Sinks, speed: Double? = nil) {
        self.source = source
        self.sinks = sinks
        self.speed = speed
    }

    /// Runs the source into the sinks, to its end: live, until SIGTERM or SIGINT (or `stopAfter`).
    /// Exits (`CommandExit`) 66 for an input that is neither a trace nor a scenario, 78 for a wrong
    /// configuration, 65 for a malformed input, 74 when the journal or trend store fails (a replay; live,
    /// when the service group fails), 75 when a replay's events were not all delivered in time.
    package func run() async throws {
        switch source {
        case .devices(let devices): try await live(devices)
        case .rawTrace, .scenario: try replay()
        }
    }

    /// The live run: the loop, and with the clinical rules the control API and the laboratory listener,
    /// as one service group stopped by SIGTERM and SIGINT.
    func live(_ devices: Devices) async throws(CommandExit) {
        let config = devices.config, logger = devices.logger
        let inbox = devices.clinical ? BedsideInbox() : nil
        let format = sinks.format, clinical = devices.clinical
        var loop = LiveLoop(config: config, logger: logger, recorder: devices.recorder, clinical: clinical,
                            stopAfter: devices.stopAfter, inbox: inbox, pseudonyms: devices.pseudonyms) { clock in
            try RuntimeSinks.live(config: config, clinical: clinical, logger: logger, clock: clock, format: format)
        }
        loop.metricsFile = sinks.metricsFile
        let group: ServiceGroup
        if let inbox {
            var services: [any Service] = [loop]
            if config.control.enabled { services.append(ControlServer(config: config.control, inbox: inbox, logger: logger)) }
            if let listener = config.inputs.hl7 { services.append(LabListener(config: listener, inbox: inbox, logger: logger)) }
            group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        } else {
            // Stopping after `stopAfter` is a normal end, not a failure.
            group = ServiceGroup(configuration: ServiceGroupConfiguration(
                services: [.init(service: loop, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        }
        do {
            try await group.run()
        } catch {
            Console.error("error: \(error)")
            throw CommandExit(.ioError)
        }
    }

    /// A replay, on virtual time.
    func replay() throws {
        let config: AgentConfig?
        let base: Date
        switch source {
        case .rawTrace:
            base = try Commands.replayStart(sinks.start, source: source.path)
            // A raw device trace carries its own configuration: only the given one's outputs are used.
            config = sinks.configPath.isEmpty ? nil : try Commands.loadConfig(sinks.configPath)
        case .devices:
            return
        case .scenario(let path):
            if let problem = TraceReplay.notATrace(path: path, csvExpected: !sinks.configPath.isEmpty) {
                Console.error("error: \(problem)")
                throw CommandExit(.noInput)
            }
            if sinks.configPath.isEmpty {
                throw CommandExit.usage("--config is required to replay a scenario CSV (a raw trace carries its own configuration)")
            }
            config = try Commands.loadConfig(sinks.configPath)
            base = try Commands.replayStart(sinks.start, source: path)
        }
        let opened = try RuntimeSinks.replay(config: config, origin: base, format: sinks.format, flushEach: speed != nil,
                                            trendsPath: sinks.trendsPath)
        defer { opened.stop() }
        // Every event journaled (on the --start clock: the same --start gives the same journal, and each
        // message the time its event was detected), then printed.
        let trends = opened.trendOutput(origin: base.timeIntervalSince1970)
        do {
            switch source {
            case .rawTrace(let path):
                let summary = try TraceReplay.run(path: path, pace: pacer(), trends: trends) { opened.record([$0]) }
                opened.flush()
                report(summary, path: path)
            case .devices:
                return
            case .scenario(let path):
                let summary = try ScenarioReplay.run(config: config!, scenarioPath: path, manualEntry: { t, row in opened.recordEntry(row, t: t) },
                                                     pace: pacer(), trends: trends) { opened.record([$0]) }
                opened.flush()
                reportActive(summary.active)
            }
        } catch {
            opened.flush()
            Console.error("error: \(error)")
            throw CommandExit(.dataError)
        }
        try opened.finishReplay(drainTimeout: sinks.drainTimeout)
    }

    /// For the engineer reading a trace: what each device gave (as the live agent logs at stop), the
    /// damage and the end, what was still in force.
    func report(_ summary: TraceReplay.Summary, path: String) {
        for (id, tally) in summary.devices.sorted(by: { $0.key < $1.key }) {
            Console.error("\(id): decoded \(tally.decoded), rejected \(tally.rejected), skipped bytes \(tally.skippedBytes), failed reads \(tally.failed)")
        }
        for damage in summary.damage {
            Console.error("warning: \(path): \(damage); the records in it are lost, so events near it may differ from the live run")
        }
        if let warning = summary.warning { Console.error("warning: \(path): \(warning); replayed the \(summary.records) records before it") }
        if summary.warning == nil, !summary.ended {
            Console.error("note: \(path): no end record: the recording was cut off (power loss, kill -9) or is still being written; replayed to its last record")
        }
        reportActive(summary.active)
        if let stopped = summary.recordingStopped {
            Console.error("note: \(path): \(TraceListing.escaped(stopped)); the replay ends there, the live agent ran on after it")
        }
    }

    /// Sleeps until virtual time `t` is due at `speed`; nil when replaying flat out.
    func pacer() -> ((Double) -> Void)? {
        guard let speed else { return nil }
        let clock = ContinuousClock()
        let start = clock.now
        return { t in
            let due = start.advanced(by: .clampedSeconds(t / speed))
            let wait = clock.now.duration(to: due)
            if wait > .zero { Thread.sleep(forTimeInterval: Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18) }
        }
    }

    /// What was still in force at the end: replay invents no ends (the live agent ends alarms only at
    /// a stop, which a trace then holds), so they are listed for the reader instead.
    func reportActive(_ active: [ClinicalCore.ActiveAlarm]) {
        guard !active.isEmpty else { return }
        let list = active.map { alarm in
            let state = alarm.latched ? "latched" : (alarm.acknowledged ? "acknowledged" : "active")
            return "\(alarm.rule.id)\(alarm.source.map { "[\($0)]" } ?? "") A\(alarm.alarmID) \(alarm.priority.name) \(state) since t=\(JSONValue.formatted(alarm.since))"
        }
        Console.error("note: \(active.count) alarm(s) in force at the end of the replay, not ended: \(list.joined(separator: ", "))")
    }
}
