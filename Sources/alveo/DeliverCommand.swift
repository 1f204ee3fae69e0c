import AlveoAgent
import ArgumentParser

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
        try command { try Commands.deliver(configPath: config, timeout: timeout) }
    }
}
