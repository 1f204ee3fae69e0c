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
            throw ExitCode(.config)
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
            throw ExitCode(.ioError)
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
        throw ExitCode(.ioError)
    }
}
