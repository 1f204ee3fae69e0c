import AlveoAgent
import ArgumentParser

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate an agent configuration without touching any device.")

    @Argument(help: "The YAML configuration file (as alveo run: where the Debian package installs it, unless named).")
    var file: String = AgentConfig.defaultPath

    @Flag(name: .long, help: "Check a configuration for `alveo replay` (a patient and rules; no devices needed).")
    var replay = false

    func run() throws {
        try command { try Commands.checkConfig(file: file, replay: replay) }
    }
}
