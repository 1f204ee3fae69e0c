import AlveoAgent
import ArgumentParser

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

    @Option(name: .long, help: "Also simulate a serial device on a pseudo-terminal: PROTOCOL=LINK (\(Commands.serialProtocolNames)), repeatable.")
    var serial: [String] = []

    func validate() throws {
        for item in serial {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, Commands.isSerialProtocol(parts[0]) else {
                throw ValidationError("--serial '\(item)': expected PROTOCOL=LINK with PROTOCOL one of \(Commands.serialProtocolNames)")
            }
        }
        guard speed > 0, speed <= 10_000 else { throw ValidationError("--speed must be in (0, 10000]") }
        guard (1...65535).contains(ventPort) else { throw ValidationError("--vent-port must be 1...65535") }
    }

    func run() async throws {
        try await command {
            try await Commands.simulate(scenario: scenario, ventPort: ventPort, oxiLink: oxiLink, speed: speed, serial: serial)
        }
    }
}
