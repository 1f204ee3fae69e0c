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
            throw ExitCode(.config)
        }
        let outputs = try startOutputs(agentConfig, clock: { 0 }, emit: { _ in })
        defer { outputs.stop() }
        guard outputs.drain(timeout: .clampedSeconds(timeout)) else {
            printError("error: \(outputs.undelivered) journaled events not delivered within \(timeout) s")
            throw ExitCode(.tempFail)
        }
        print("delivered: journal up to \(outputs.lastSeq)")
    }
}
