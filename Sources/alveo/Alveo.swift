import AlveoAgent
import AlveoCore
import AlveoIO
import AlveoTrace
import ArgumentParser
import Foundation

@main
struct Alveo: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        abstract: "Alveo: ventilation and oxygenation decision support beside an ICU bed.",
        discussion: "Alveo supports decisions; it never changes a device setting.",
        subcommands: [Replay.self, CheckConfig.self, Version.self]
    )
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print Alveo's version and the C libraries it linked.")

    func run() {
        print("alveo \(Alveo.version)")
        print("libmodbus \(LinkedLibraries.modbusVersion)")
        print("libserialport \(LinkedLibraries.serialPortVersion)")
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate an agent configuration without touching any device.")

    @Argument(help: "The YAML configuration file.")
    var file: String

    func run() throws {
        let config = try loadConfig(file)
        print("\(file): ok (patient \(config.patient.sex.rawValue), \(config.patient.heightCm) cm, PBW \(Fmt.fixed(config.patient.predictedBodyWeightKg, 1)) kg)")
    }
}

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay a scenario CSV through the clinical core on virtual time; alarm events go to stdout.")

    @Option(name: .long, help: "Agent configuration (YAML); a patient section is enough.")
    var config: String

    @Option(name: .long, help: "Output format: jsonl (one JSON event per line) or text (for people).")
    var format: String = "jsonl"

    @Argument(help: "Scenario CSV: t,source,parameter,value.")
    var scenario: String

    func validate() throws {
        guard EventFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be one of: \(EventFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        let agentConfig = try loadConfig(config)
        let writer = EventWriter(format: EventFormat(rawValue: format)!)
        do {
            try ScenarioReplay.run(config: agentConfig, scenarioPath: scenario) { writer.write($0) }
            writer.flush()
        } catch {
            writer.flush()
            printError("error: \(error)")
            throw ExitCode(65)
        }
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

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
