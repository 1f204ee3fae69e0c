import AlveoAgent
import ArgumentParser
import Foundation

@main
struct Alveo: AsyncParsableCommand {

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
        } catch let error as CommandExit {
            exit(withError: error.parserError)
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        abstract: "Alveo: ventilation and oxygenation decision support beside an ICU bed.",
        discussion: "Alveo supports decisions; it never changes a device setting.",
        version: Version.text,
        subcommands: [Run.self, Status.self, Ack.self, Chart.self, PatientCommand.self, Record.self, Simulate.self, Replay.self, Report.self, Deliver.self, Trace.self,
                      CheckConfig.self, SerialCheck.self, Version.self]
    )
}
