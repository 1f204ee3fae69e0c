import Foundation

/// Every exit status of `alveo`, in one place (the values of BSD's sysexits.h, which service
/// managers and scripts know). ArgumentParser itself exits 64 for a usage error and 0 for `--help`.
///
/// | status | name | when |
/// |---|---|---|
/// | 0 | ok | done; `run` stopped by SIGTERM/SIGINT |
/// | 1 | failure | `simulate` could not run |
/// | 64 | usage | wrong options (ArgumentParser) |
/// | 65 | dataError | a malformed scenario or trace; a chart, acknowledgement or patient the agent refused as wrong (an unknown rule or parameter, a wrong unit, a value out of range, a stale or future sample time), or that the command refused before sending it (a `--by`, `--source`, `--id`, `--id-authority` or `--name` the agent would refuse) |
/// | 66 | noInput | the input file is missing, unreadable, compressed or cut in its header |
/// | 69 | unavailable | the agent is not running, its control socket does not answer (or closes without an answer), or it is stopping (`status`, `ack`, `chart`, `patient`) |
/// | 70 | refused | the agent refused the request: there is nothing it could do (no such alarm to acknowledge, already acknowledged) |
/// | 77 | noPermission | the control socket refused this user (not in its group) |
/// | 74 | ioError | a device, file, journal or recording failed; events could not be journaled |
/// | 75 | tempFail | not everything was delivered within the time given (it stays in the journal) |
/// | 78 | config | the configuration is wrong |
package enum ExitStatus: Int32, Sendable {
    case ok = 0
    case failure = 1
    case usage = 64
    case dataError = 65
    case noInput = 66
    case unavailable = 69
    case refused = 70
    case noPermission = 77
    case ioError = 74
    case tempFail = 75
    case config = 78
}

/// How a command ends other than by finishing: with a status (its reason already printed), or as a
/// usage error (`alveo` prints the message and its usage, exit 64).
package struct CommandExit: Error, Sendable, Equatable {
    package var status: ExitStatus
    /// A usage error's message.
    package var usage: String?

    package init(_ status: ExitStatus) {
        self.status = status
        usage = nil
    }

    package static func usage(_ message: String) -> CommandExit {
        var exit = CommandExit(.usage)
        exit.usage = message
        return exit
    }
}

/// The commands' standard output and error.
package enum Console {
    /// Writes to stdout; when the reader has gone (`alveo trace dump T | head`: EPIPE, SIGPIPE being
    /// ignored) it stops the command quietly with success instead of trapping.
    package static func write(_ text: String) throws(CommandExit) {
        do { try FileHandle.standardOutput.write(contentsOf: Data(text.utf8)) } catch { throw CommandExit(.ok) }
    }

    /// A line to stderr.
    package static func error(_ message: String) {
        // try?: a reader that has gone (`alveo replay T 2>&1 | head`) must not make Alveo trap.
        try? FileHandle.standardError.write(contentsOf: Data((message + "\n").utf8))
    }
}
