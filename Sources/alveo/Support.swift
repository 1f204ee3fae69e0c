import AlveoAgent
import ArgumentParser
import Foundation

extension ExitCode {
    init(_ status: ExitStatus) { self.init(status.rawValue) }
}

/// The configuration at `path`, or exit 78 with the reason.
func loadConfig(_ path: String) throws -> AgentConfig { try Commands.loadConfig(path) }

/// Writes to stdout; a reader that has gone ends the command quietly with success.
func writeStandardOutput(_ text: String) throws { try Console.write(text) }

func printError(_ message: String) { Console.error(message) }

/// Runs a command of AlveoAgent: its `CommandExit` becomes the exit status, or a usage error.
func command(_ body: () throws -> Void) throws {
    do { try body() } catch let exit as CommandExit { throw exit.parserError }
}

func command(_ body: () async throws -> Void) async throws {
    do { try await body() } catch let exit as CommandExit { throw exit.parserError }
}

extension CommandExit {
    /// As ArgumentParser ends a command: a usage error with its message, else the status.
    var parserError: any Error {
        if let usage { return ValidationError(usage) }
        return status == .ok ? ExitCode.success : ExitCode(status)
    }
}
