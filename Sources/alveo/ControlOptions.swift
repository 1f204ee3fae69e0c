import AlveoAgent
import ArgumentParser
import Foundation

/// Where the running agent's control API is, and how to print its answers (`status`, `ack`, `chart`,
/// `patient`).
struct ControlOptions: ParsableArguments {
    @Option(name: .long, help: "The agent's control socket (default: the --config file's control.socket, else \(ControlConfig.defaultSocketPath)).")
    var socket: String?

    @Option(name: .long, help: "The agent's configuration, to find its control socket.")
    var config: String?

    @Flag(name: .long, help: "Print the agent's answer as JSON (docs/control-api.md).")
    var json = false

    func socketPath() throws -> String {
        if let socket {
            // sockaddr_un holds 108 bytes with the terminating zero; the agent takes at most 103.
            guard socket.utf8.count < 104 else { throw ValidationError("--socket: at most 103 bytes") }
            return socket
        }
        if let config { return try loadConfig(config).control.socketPath }
        return ControlConfig.defaultSocketPath
    }

    /// Refuses, before anything is sent, a text option the agent would refuse (`--by`, `--source`,
    /// `--id`, …: 1 to 128 bytes, no control characters): exit 65, as for the agent's 422.
    func checkText(_ options: [(name: String, value: String?)]) throws {
        for (name, value) in options {
            guard let value, let problem = ControlServer.textProblem(value) else { continue }
            printError("error: \(name): \(problem)")
            throw ExitCode(.dataError)
        }
    }

    /// Sends a request (`call` with the socket); exits with the reason when the agent cannot be reached
    /// or refuses. With --json the answer is printed as it came.
    func send<Answer>(_ call: (String) async throws(ControlClient.Failure) -> ControlClient.Outcome<Answer>) async throws -> Answer {
        let socket = try socketPath()
        let outcome: ControlClient.Outcome<Answer>
        do {
            outcome = try await call(socket)
        } catch {
            printError("error: \(error)")
            switch error {
            case .notRunning: throw ExitCode(.unavailable)
            case .permissionDenied: throw ExitCode(.noPermission)
            case .failed: throw ExitCode(.unavailable)
            }
        }
        switch outcome {
        case .refused(let status, let reason, _):
            printError("error: \(reason)")
            switch status {
            case 400, 413, 422: throw ExitCode(.dataError)
            case 409: throw ExitCode(.refused)
            default: throw ExitCode(.unavailable)
            }
        case .answered(let answer, let body):
            if json { try writeStandardOutput(String(decoding: body, as: UTF8.self)) }
            return answer
        }
    }
}
