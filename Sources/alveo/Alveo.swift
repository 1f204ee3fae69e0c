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

@main
struct Alveo: AsyncParsableCommand {
    static let version = "0.1.0"

    /// A receiver that resets a TLS connection must give a write error, not kill the agent: OpenSSL
    /// writes to the socket without MSG_NOSIGNAL, so SIGPIPE is ignored process-wide.
    static func main() async {
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        abstract: "Alveo: ventilation and oxygenation decision support beside an ICU bed.",
        discussion: "Alveo supports decisions; it never changes a device setting.",
        subcommands: [Run.self, Record.self, Simulate.self, Replay.self, Deliver.self, Trace.self, CheckConfig.self, SerialCheck.self, Version.self]
    )
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print Alveo's version and the C libraries it linked.")

    func run() {
        print("alveo \(Alveo.version)")
        print("libmodbus \(LinkedLibraries.modbusVersion)")
        print("libserialport \(LinkedLibraries.serialPortVersion)")
        print(LinkedLibraries.openSSLVersion)
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate an agent configuration without touching any device.")

    @Argument(help: "The YAML configuration file.")
    var file: String

    func run() throws {
        let config = try loadConfig(file)
        print("\(file): ok (patient \(config.patient.sex.rawValue), \(Fmt.fixed(config.patient.heightCm, 0)) cm, PBW \(Fmt.fixed(config.patient.predictedBodyWeightKg, 1)) kg)")
        for device in config.serialDevices {
            let line = "\(device.settings.baud) \(device.settings.dataBits)\(device.settings.parity.rawValue.prefix(1).uppercased())\(device.settings.stopBits), flow \(device.settings.flowControl.rawValue)"
            let polled = device.serialProtocol == .pb840 || device.serialProtocol == .medibus ? ", polled every \(device.pollInterval) s" : ", streaming"
            print("  device \(device.id): serial \(device.path) at \(line), \(device.serialProtocol.rawValue)\(polled)")
        }
        for device in config.devices {
            let reads = device.profile.fields.count
            print("  device \(device.id): \(device.endpoint) unit \(device.unitID), profile \(device.profile.name) (\(reads) values), every \(device.pollInterval)")
        }
    }
}

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay a scenario CSV or a raw device trace (.alvtrace) through the clinical core on virtual time; alarm events go to stdout.")

    @Option(name: .long, help: "Agent configuration (YAML); a patient section is enough. A raw trace carries its own: with one, only this file's outputs: (journal, forwarders) are used, to replay a recording into a test station.")
    var config: String = ""

    @Option(name: .long, help: "Output format: jsonl (one JSON event per line) or text (for people).")
    var format: String = "jsonl"

    @Argument(help: "Scenario CSV (t,source,parameter,value) or raw trace recorded by `alveo run --record` or `alveo record`; - reads a raw trace from standard input (e.g. zstd -dc TRACE.zst | alveo replay -).")
    var scenario: String

    func validate() throws {
        guard EventFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be one of: \(EventFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let speed, !(speed > 0 && speed <= 1_000_000) { throw ValidationError("--speed must be in (0, 1000000]") }
        guard drainTimeout >= 0, drainTimeout <= 86_400 else { throw ValidationError("--drain-timeout must be 0...86400 s") }
    }

    @Option(name: .long, help: "With outputs configured: seconds to wait at the end for every journaled event to be delivered.")
    var drainTimeout: Double = 60

    @Option(name: .long, help: "Replay at this many times real time (1 = real time, for demonstrations); default: as fast as the machine allows.")
    var speed: Double?

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

    func run() throws {
        if TraceReplay.isTrace(path: scenario) {
            // A raw device trace carries its own configuration: only --config's outputs are used.
            let writer = SharedWriter(EventWriter(format: EventFormat(rawValue: format)!, flushEach: speed != nil))
            let scenarioTime = Mutex(0.0)
            let outputs = config.isEmpty ? nil
                : try startOutputs(try loadConfig(config), clock: { scenarioTime.withLock { $0 } }, emit: { writer.write($0) })
            defer { outputs?.stop() }
            do {
                let summary = try TraceReplay.run(path: scenario, pace: pacer()) { event in
                    scenarioTime.withLock { $0 = event.t }
                    outputs?.record([event], wallTime: nil)
                    writer.write([event])
                }
                writer.flush()
                // For the engineer reading a trace: what each device gave (as the live agent logs at stop).
                for (id, tally) in summary.devices.sorted(by: { $0.key < $1.key }) {
                    printError("\(id): decoded \(tally.decoded), rejected \(tally.rejected), skipped bytes \(tally.skippedBytes), failed reads \(tally.failed)")
                }
                for damage in summary.damage {
                    printError("warning: \(scenario): \(damage); the records in it are lost, so events near it may differ from the live run")
                }
                if let warning = summary.warning { printError("warning: \(scenario): \(warning); replayed the \(summary.records) records before it") }
                if summary.warning == nil, !summary.ended {
                    printError("note: \(scenario): no end record: the recording was cut off (power loss, kill -9) or is still being written; replayed to its last record")
                }
                if let stopped = summary.recordingStopped {
                    printError("note: \(scenario): \(TraceListing.escaped(stopped)); the replay ends there, the live agent ran on after it")
                }
            } catch {
                writer.flush()
                printError("error: \(error)")
                throw ExitCode(65)
            }
            if let outputs { try finish(outputs, writer) }
            return
        }
        if let problem = TraceReplay.notATrace(path: scenario, csvExpected: !config.isEmpty) {
            printError("error: \(problem)")
            throw ExitCode(66)
        }
        if config.isEmpty {
            throw ValidationError("--config is required to replay a scenario CSV (a raw trace carries its own configuration)")
        }
        let agentConfig = try loadConfig(config)
        let writer = SharedWriter(EventWriter(format: EventFormat(rawValue: format)!, flushEach: speed != nil))
        let scenarioTime = Mutex(0.0)
        let outputs = try startOutputs(agentConfig, clock: { scenarioTime.withLock { $0 } }, emit: { writer.write($0) })
        defer { outputs.stop() }
        do {
            // Journal entries from replay carry no wall time, so that replays stay byte-identical.
            try ScenarioReplay.run(config: agentConfig, scenarioPath: scenario, manualEntry: { t, row in
                outputs.recordEntry(row, t: t, wallTime: nil)
            }, pace: pacer()) { event in
                scenarioTime.withLock { $0 = event.t }
                outputs.record([event], wallTime: nil)
                writer.write([event])
            }
            writer.flush()
        } catch {
            writer.flush()
            printError("error: \(error)")
            throw ExitCode(65)
        }
        try finish(outputs, writer)
    }

    /// The end of a replay with outputs: anything the journal could not take fails the replay (74);
    /// then every journaled event is delivered within --drain-timeout, or the replay fails (75).
    func finish(_ outputs: OutputPipeline, _ writer: SharedWriter) throws {
        // Alarm events the journal could not take (disk full, read-only) were printed but are held in
        // memory: one more try, then a replay that leaves any of them unjournaled fails.
        outputs.retryJournal()
        let unjournaled = outputs.unjournaled
        if unjournaled.held + unjournaled.dropped > 0 {
            writer.flush()
            // The station hears of it before the process ends: that message is in no file.
            outputs.waitForUnjournaled(timeout: .clampedSeconds(drainTimeout))
            printError("error: \(unjournaled.held + unjournaled.dropped) journal item(s) (alarm events, charted entries) could not be written to the journal; the events were printed above but are not in the journal and will not reach the central station (see technical.journal_failed)")
            throw ExitCode(74)
        }
        let drained = outputs.drain(timeout: .clampedSeconds(drainTimeout))
        writer.flush()
        if !drained {
            printError("error: \(outputs.undelivered) journaled events not delivered within \(drainTimeout) s; they stay in the journal and are delivered on the next start")
            throw ExitCode(75)
        }
    }
}

struct Trace: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with raw device traces recorded by `alveo run --record` or `alveo record`.",
        subcommands: [Info.self, Dump.self, Export.self])

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Summarize a trace: when it was recorded, whether it ended cleanly, and what each device sent, received and failed.")

        @Flag(help: "Also print the configuration the run used and the Modbus profiles its devices were decoded with (YAML, as recorded).")
        var showConfig = false

        @Argument(help: "The .alvtrace file; - reads it from standard input (e.g. gzip -dc TRACE.gz | alveo trace info -).")
        var trace: String

        func run() throws {
            var reader = try openTrace(trace)
            var summary = TraceSummary()
            var profiles: [String: String] = [:]
            while let record = reader.next() {
                summary.add(record)
                if record.kind == .profile { profiles[record.device] = String(decoding: record.payload, as: UTF8.self) }
            }
            var out = summary.text(path: trace, problem: reader.problem, damage: reader.damage)
            if let yaml = summary.configuration {
                do {
                    let config = try AgentConfig.parse(yaml: yaml, file: trace, profiles: profiles, readOutputs: false)
                    if !config.serialDevices.isEmpty || !config.devices.isEmpty { out += "configured devices:\n" }
                    for device in config.serialDevices {
                        out += "  \(device.id): \(device.serialProtocol.rawValue) on \(device.path) at \(device.settings.baud) baud\n"
                    }
                    for device in config.devices {
                        out += "  \(device.id): Modbus unit \(device.unitID) at \(device.endpoint), profile \(device.profile.name)\n"
                    }
                } catch {
                    out += "the recorded configuration does not parse: \(error)\n"
                }
                if showConfig {
                    out += "configuration:\n" + TraceListing.escapedLines(yaml) + (yaml.hasSuffix("\n") ? "" : "\n")
                    for (id, text) in profiles.sorted(by: { $0.key < $1.key }) {
                        out += "profile of \(TraceListing.escaped(id)):\n" + TraceListing.escapedLines(text) + (text.hasSuffix("\n") ? "" : "\n")
                    }
                }
            } else {
                out += "no configuration record: this trace cannot be replayed\n"
            }
            try writeStandardOutput(out)
        }
    }

    struct Dump: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a trace's records for people, one a line: time, wall-clock time (UTC), device, and the bytes or registers.",
            discussion: """
                Bytes are shown as text: printable ASCII as is, \\r \\n \\t \\\\ \\", anything else as \\xNN. Register blocks \
                show the table, the 0-based addresses and the words in hex. Streams: fine on a trace of days.
                """)

        @Option(name: .long, help: "Only this device's records (repeatable).")
        var device: [String] = []

        @Option(name: .long, help: "Only records at or after this time: agent seconds (192.5), agent time as `trace info` shows it (0:03:12), or wall-clock UTC (2026-11-25T03:12:00Z).")
        var from: String?

        @Option(name: .long, help: "Only records at or before this time, in the same forms as --from.")
        var to: String?

        @Flag(help: "Leave out the agent's clock ticks.")
        var noTicks = false

        @Argument(help: "The .alvtrace file; - reads it from standard input (e.g. gzip -dc TRACE.gz | alveo trace dump -).")
        var trace: String

        func validate() throws {
            for (name, text) in [("--from", from), ("--to", to)] {
                if let text, TraceTimeBound(text) == nil {
                    throw ValidationError("\(name) \(text): give agent seconds (192.5), h:mm:ss (0:03:12) or a UTC time (2026-11-25T03:12:00Z)")
                }
            }
            if let from = from.flatMap(TraceTimeBound.init), let to = to.flatMap(TraceTimeBound.init), from.isLater(than: to) == true {
                throw ValidationError("--from is after --to")
            }
        }

        func run() throws {
            var reader = try openTrace(trace)
            let devices = Set(device)
            let start = from.flatMap(TraceTimeBound.init), end = to.flatMap(TraceTimeBound.init)
            var listed = 0
            var seen: Set<String> = []
            var out = ""
            var index = 0
            while let record = reader.next() {
                index += 1
                seen.insert(record.device)
                if !devices.isEmpty, !devices.contains(record.device) { continue }
                if let start, start.isAfter(record) { continue }
                if let end, end.isBefore(record) {
                    // Records are in the order the core took them: times can step back a hair between
                    // threads, never by seconds.
                    if end.secondsPast(record) > 10 { break }
                    continue
                }
                listed += 1
                if noTicks, record.kind == .tick { continue }
                out += TraceListing.line(record, index: index)
                out += "\n"
                if out.utf8.count >= 1 << 16 {
                    try writeStandardOutput(out)
                    out.removeAll(keepingCapacity: true)
                }
            }
            try writeStandardOutput(out)
            for damage in reader.damage { printError("warning: \(trace): \(damage)") }
            if let problem = reader.problem { printError("warning: \(trace): \(problem); read the \(index) records before it") }
            if listed == 0, start != nil || end != nil || !devices.isEmpty {
                printError("note: \(trace): no record matches (`alveo trace info` shows the devices and the times the trace covers)")
            }
            for id in devices.subtracting(seen).sorted() {
                let known = seen.subtracting([""]).sorted().joined(separator: ", ")
                printError("warning: \(trace): no records from device \(id) in what was read (devices seen: \(known.isEmpty ? "none" : known))")
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a trace's decoded values as a scenario CSV (t,source,parameter,value) to stdout.")

        @Flag(help: "Scenario CSV (the only format so far).")
        var csv = false

        @Argument(help: "The .alvtrace file; - reads it from standard input (e.g. gzip -dc TRACE.gz | alveo trace export --csv -).")
        var trace: String

        func validate() throws {
            guard csv else { throw ValidationError("choose an output format: --csv") }
        }

        func run() throws {
            var out = "# exported from \(TraceListing.escaped(trace)) by alveo trace export: decoded device values, times in seconds\n"
            out += "t,source,parameter,value\n"
            // Written out every 64 KiB: a week of devices is gigabytes of CSV, never held whole.
            var readerGone = false
            do {
                let summary = try TraceReplay.run(path: trace, observations: { t, group in
                    if out.utf8.count > 65_536, !readerGone {
                        do { try writeStandardOutput(out) } catch { readerGone = true }
                        out = ""
                    }
                    if readerGone { return }
                    for observation in group {
                        let value: String = switch observation.value {
                        case .number(let number): JSONValue.formatted(number)
                        case .noData: ""
                        case .position(let position): position.rawValue
                        case .sensor(let state): state.rawValue
                        case .ack(let rule): rule.id
                        // Kept as the decimal text the device sent when it is one, so the exported
                        // row is rejected again on replay; any other text as a number no device sends.
                        case .unusable(let text): text.utf8.allSatisfy({ Array("0123456789+-.eE".utf8).contains($0) }) && !text.isEmpty ? text : "1e999"
                        }
                        out += "\(JSONValue.formatted(t)),\(observation.source),\(observation.parameter.name),\(value)\n"
                    }
                }, sink: { _ in })
                if readerGone { return }
                try writeStandardOutput(out)
                for damage in summary.damage { printError("warning: \(trace): \(damage)") }
                if let warning = summary.warning { printError("warning: \(trace): \(warning)") }
            } catch let exit as ExitCode {
                throw exit
            } catch {
                printError("error: \(error)")
                throw ExitCode(65)
            }
        }
    }
}

struct Deliver: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deliver what the journal holds and the central station has not acknowledged, then exit.",
        discussion: "Resumes from the persisted delivery position; exits 0 when everything is delivered, 75 if not within --timeout.")

    @Option(name: .long, help: "Agent configuration (YAML) with outputs.journal and a forwarder.")
    var config: String

    @Option(name: .long, help: "Seconds to keep trying.")
    var timeout: Double = 60

    func validate() throws {
        guard timeout > 0, timeout <= 7 * 86_400 else { throw ValidationError("--timeout must be in (0, 604800] s") }
    }

    func run() throws {
        let agentConfig = try loadConfig(config)
        guard agentConfig.outputs.journalDirectory != nil, agentConfig.outputs.hl7 != nil || agentConfig.outputs.syslog != nil else {
            printError("error: \(config): nothing to deliver: configure outputs.journal and outputs.hl7 or outputs.syslog")
            throw ExitCode(78)
        }
        let outputs = try startOutputs(agentConfig, clock: { 0 }, emit: { _ in })
        defer { outputs.stop() }
        guard outputs.drain(timeout: .clampedSeconds(timeout)) else {
            printError("error: \(outputs.undelivered) journaled events not delivered within \(timeout) s")
            throw ExitCode(75)
        }
        print("delivered: journal up to \(outputs.lastSeq)")
    }
}

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

    func run() async throws {
        let agentConfig = try loadConfig(config)
        guard !agentConfig.devices.isEmpty || !agentConfig.serialDevices.isEmpty else {
            printError("error: \(config): no devices: add a 'devices:' list (see config/ for examples)")
            throw ExitCode(78)
        }
        var recorder: TraceWriter?
        if let record {
            recorder = try startRecording(record, configPath: config, config: agentConfig, options: traceLimits,
                                          onStop: "alveo run goes on, raising its alarms, without recording")
        }
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let logger = Logger(label: "alveo")
        let writer = SharedWriter(EventWriter(format: EventFormat(rawValue: format)!, flushEach: true))
        let agent = LiveAgent(config: agentConfig, logger: logger, recorder: recorder) { events in writer.write(events) }
        let group = ServiceGroup(services: [agent], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        do {
            try await group.run()
        } catch {
            printError("error: \(error)")
            throw ExitCode(74)
        }
    }
}

struct Record: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Poll the bed's devices and record every byte and register into a raw trace, without running the clinical rules.",
        discussion: """
            For clinical engineers capturing a device (a new model, a fault to report): the same pollers and \
            protocol sessions as `alveo run`, but no alarms, no journal and no forwarders. At a patient's \
            bed use `alveo run --record DIR` instead, which keeps the alarms; two processes must not poll \
            one device. Stops on SIGTERM, SIGINT or after --seconds. Replay the trace with `alveo replay TRACE`.
            """)

    @Option(name: .long, help: "Agent configuration (YAML): patient, devices, rules (recorded with the trace).")
    var config: String

    @Option(name: .long, help: "Directory for the trace file (alveo-<UTC start>.alvtrace, e.g. alveo-20261125T164100Z.alvtrace).")
    var out: String = "traces"

    @Option(name: .long, help: "Stop after this many seconds (default: until SIGTERM or SIGINT).")
    var seconds: Double?

    @OptionGroup var traceLimits: TraceLimitOptions

    func validate() throws {
        if let seconds, !(seconds > 0 && seconds <= 7 * 86_400) { throw ValidationError("--seconds must be in (0, 604800]") }
    }

    func run() async throws {
        let agentConfig = try loadConfig(config)
        guard !agentConfig.devices.isEmpty || !agentConfig.serialDevices.isEmpty else {
            printError("error: \(config): no devices: add a 'devices:' list (see config/ for examples)")
            throw ExitCode(78)
        }
        let recorder = try startRecording(out, configPath: config, config: agentConfig, options: traceLimits,
                                          onStop: "alveo record stops")
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let logger = Logger(label: "alveo-record")
        logger.info("recording", metadata: ["trace": "\(recorder.path)"])
        let agent = LiveAgent(config: agentConfig, logger: logger, recorder: recorder, clinical: false,
                              stopAfter: seconds.map { .clampedSeconds($0) }) { _ in }
        // Stopping after --seconds is a normal end, not a failure.
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: agent, successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            printError("error: \(error)")
            throw ExitCode(74)
        }
        print(recorder.path)
    }
}

/// Where a recording stops on its own while the agent runs on: it must never fill the disk the alarm
/// journal is written to.
struct TraceLimitOptions: ParsableArguments {
    @Option(name: .long, help: "With a recording: stop recording when the trace file reaches this many MB, 10^6 bytes (0: no cap). `run` goes on without recording; `record` stops.")
    var traceMaxMb: Double = 4096

    @Option(name: .long, help: "With a recording: do not start, or stop recording, when the trace's file system has less than this many MB (10^6 bytes) free, kept for the alarm journal and the system (0: no floor).")
    var traceMinFreeMb: Double = 1024

    @Flag(name: .long, help: "With a recording: keep the patient's identity (patient_id, patient_id_authority, patient_name) in the recorded configuration. Off by default: traces go out with fault reports, and replay does not need it.")
    var recordIdentity = false

    func validate() throws {
        guard traceMaxMb >= 0, traceMaxMb.isFinite else { throw ValidationError("--trace-max-mb must be 0 (no cap) or more") }
        guard traceMinFreeMb >= 0, traceMinFreeMb.isFinite else { throw ValidationError("--trace-min-free-mb must be 0 or more") }
    }

    var limits: TraceWriter.Limits {
        TraceWriter.Limits(maxBytes: traceMaxMb > 0 ? Int64(saturating: traceMaxMb * 1_000_000) : nil,
                           minFreeBytes: traceMinFreeMb > 0 ? Int64(saturating: traceMinFreeMb * 1_000_000) : nil)
    }
}

/// `onStop`: what happens next when the recording stops itself (said after its reason).
func startRecording(_ directory: String, configPath: String, config: AgentConfig, options: TraceLimitOptions,
                    onStop: String) throws -> TraceWriter {
    do {
        return try TraceRecording.start(directory: directory, configPath: configPath, config: config, limits: options.limits,
                                        identity: options.recordIdentity,
                                        onError: { printError("error: trace: \($0)") },
                                        onStop: { printError("error: trace: \($0); \(onStop) (the limits: --trace-max-mb, --trace-min-free-mb)") })
    } catch {
        printError("error: \(error)")
        throw ExitCode(74)
    }
}

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Play a scenario as simulated devices: a Modbus TCP ventilator and a Modbus RTU oximeter on a pseudo-terminal.",
        discussion: "Both follow the alveo-gateway-v1 map. Runs until SIGTERM or SIGINT. Point `alveo run` at them with config/simulated-bed.yaml.")

    @Option(name: .long, help: "Scenario CSV whose device rows to play (t,source,parameter,value).")
    var scenario: String

    @Option(name: .long, help: "TCP port of the simulated ventilator (127.0.0.1).")
    var ventPort: Int = 5020

    @Option(name: .long, help: "Path of the link to the simulated oximeter's serial port.")
    var oxiLink: String = "/tmp/alveo-oxi"

    @Option(name: .long, help: "Scenario seconds per real second.")
    var speed: Double = 1

    @Option(name: .long, help: "Also simulate a serial device on a pseudo-terminal: PROTOCOL=LINK (pb840, medibus, masimo_ascii1, nonin_df2, nonin_df8), repeatable.")
    var serial: [String] = []

    func validate() throws {
        for item in serial {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, SerialDeviceConfig.SerialProtocol(rawValue: String(parts[0])) != nil else {
                throw ValidationError("--serial '\(item)': expected PROTOCOL=LINK with PROTOCOL one of \(SerialDeviceConfig.SerialProtocol.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        guard speed > 0, speed <= 10_000 else { throw ValidationError("--speed must be in (0, 10000]") }
        guard (1...65535).contains(ventPort) else { throw ValidationError("--vent-port must be 1...65535") }
    }

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let logger = Logger(label: "alveo-simulate")
        var options = Simulator.Options(scenario: scenario)
        options.ventilatorPort = ventPort
        options.oximeterLink = oxiLink
        options.speed = speed
        options.serialDevices = serial.map { item in
            let parts = item.split(separator: "=", maxSplits: 1)
            return (SerialDeviceConfig.SerialProtocol(rawValue: String(parts[0]))!, String(parts[1]))
        }
        let group = ServiceGroup(services: [Simulator(options: options, logger: logger)],
                                 gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        do {
            try await group.run()
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
    }
}

struct SerialCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serial-check",
        abstract: "Open a serial port with libserialport, optionally send bytes, and print what arrives.",
        discussion: "For clinical engineers wiring a device: proves the port opens with these settings and that bytes flow.")

    @Option(help: "Serial device, e.g. /dev/ttyUSB0 or /dev/serial/by-id/... (symlinks are followed).")
    var path: String
    @Option(help: "Baud rate.") var baud: Int = 9600
    @Option(help: "Data bits (5-8).") var dataBits: Int = 8
    @Option(help: "Parity: none, even, odd.") var parity: String = "none"
    @Option(help: "Stop bits (1 or 2).") var stopBits: Int = 1
    @Option(help: "Flow control: none, xonxoff, rtscts.") var flow: String = "none"
    @Option(help: "Bytes to send first, as hex (e.g. '1B 51 36 43 0D').") var send: String?
    @Option(help: "How long to listen, seconds.") var seconds: Double = 2

    func validate() throws {
        guard Parity(rawValue: parity) != nil else { throw ValidationError("--parity must be none, even or odd") }
        guard FlowControl(rawValue: flow) != nil else { throw ValidationError("--flow must be none, xonxoff or rtscts") }
        if let send, (hexBytes(send)?.count ?? 4097) > 4096 || send.utf8.count > 65_536 {
            throw ValidationError("--send must be hex bytes, e.g. '1B 51 36 43 0D' (at most 4096 bytes)")
        }
        guard (50...4_000_000).contains(baud) else { throw ValidationError("--baud must be 50...4000000") }
        guard (5...8).contains(dataBits) else { throw ValidationError("--data-bits must be 5...8") }
        guard (1...2).contains(stopBits) else { throw ValidationError("--stop-bits must be 1 or 2") }
        guard seconds > 0, seconds <= 3600 else { throw ValidationError("--seconds must be in (0, 3600]") }
    }

    func run() throws {
        let settings = SerialSettings(baud: baud, dataBits: dataBits, parity: Parity(rawValue: parity)!, stopBits: stopBits,
                                      flowControl: FlowControl(rawValue: flow)!)
        do {
            let port = try SerialPort(path: path, settings: settings)
            print("opened \(path) at \(baud) \(dataBits)\(parity.prefix(1).uppercased())\(stopBits), flow \(flow)")
            if let send, let bytes = hexBytes(send) {
                let written = try port.write(bytes, timeout: .seconds(2))
                print("sent \(written) bytes")
            }
            var received: [UInt8] = []
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: .clampedSeconds(seconds))
            // At most 64 KiB are kept to show: enough to see a device's frames, never gigabytes.
            var total = 0
            while clock.now < deadline {
                let bytes = try port.read(maxCount: 4096, timeout: .milliseconds(100))
                total += bytes.count
                received += bytes.prefix(max(0, 65_536 - received.count))
            }
            let more = total > received.count ? " (the first \(received.count) shown)" : ""
            print("received \(total) bytes\(more)\(received.isEmpty ? "" : ": " + received.map(Hex.byte).joined(separator: " "))")
        } catch {
            printError("error: \(error)")
            throw ExitCode(74)
        }
    }
}

func hexBytes(_ text: String) -> [UInt8]? {
    let compact = text.filter { !$0.isWhitespace }
    guard compact.count % 2 == 0 else { return nil }
    var bytes: [UInt8] = []
    var index = compact.startIndex
    while index < compact.endIndex {
        let next = compact.index(index, offsetBy: 2)
        guard let byte = UInt8(compact[index..<next], radix: 16) else { return nil }
        bytes.append(byte)
        index = next
    }
    return bytes
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}

/// The event writer shared with the agent's emit callback (called from one task at a time).
final class SharedWriter: @unchecked Sendable {
    // @unchecked: the writer is only touched under `lock`.
    private let lock = NSLock()
    private let writer: EventWriter

    init(_ writer: EventWriter) { self.writer = writer }

    func write(_ events: [AlarmEvent]) {
        lock.withLock { events.forEach(writer.write) }
    }

    func flush() {
        lock.withLock { writer.flush() }
    }
}

/// Opens the journal and starts the forwarders (replay and deliver); exit 74 when that fails.
func startOutputs(_ config: AgentConfig, clock: @escaping @Sendable () -> Double,
                  emit: @escaping @Sendable ([AlarmEvent]) -> Void) throws -> OutputPipeline
{
    LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
    do {
        let outputs = try OutputPipeline(config: config.outputs, logger: Logger(label: "alveo"), clock: clock, emit: emit)
        outputs.start()
        return outputs
    } catch {
        printError("error: \(error)")
        throw ExitCode(74)
    }
}

func loadConfig(_ path: String) throws -> AgentConfig {
    do {
        return try AgentConfig.load(path: path)
    } catch {
        printError("error: \(error)")
        throw ExitCode(78)
    }
}

/// Opens a raw trace for reading, or says why not (exit 65).
func openTrace(_ path: String) throws -> RawTraceReader {
    do { return try RawTraceReader(path: path) } catch {
        printError("error: \(error)")
        throw ExitCode(65)
    }
}

/// Writes to stdout; when the reader has gone (`alveo trace dump T | head`: EPIPE, SIGPIPE being
/// ignored) it stops the command quietly with success instead of trapping.
func writeStandardOutput(_ text: String) throws {
    do { try FileHandle.standardOutput.write(contentsOf: Data(text.utf8)) } catch { throw ExitCode.success }
}

func printError(_ message: String) {
    // try?: a reader that has gone (`alveo replay T 2>&1 | head`) must not make Alveo trap.
    try? FileHandle.standardError.write(contentsOf: Data((message + "\n").utf8))
}
