import AlveoAgent
import ArgumentParser

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what the running agent sees: patient, values, P/F, alarms, devices, outputs.")

    @OptionGroup var control: ControlOptions

    func run() async throws {
        let status = try await control.send { socket throws(ControlClient.Failure) in try await ControlClient.status(socket: socket) }
        if control.json { return }
        try writeStandardOutput(StatusText.render(status))
    }
}
