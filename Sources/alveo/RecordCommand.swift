import AlveoAgent
import ArgumentParser

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
        try await command { try await Commands.record(configPath: config, out: out, seconds: seconds, recording: traceLimits.options) }
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

    var options: RecordingOptions { RecordingOptions(maxMb: traceMaxMb, minFreeMb: traceMinFreeMb, recordIdentity: recordIdentity) }
}
