import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to completion (see RunningProcess for how it is started), capturing its output.
struct ChildProcess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], timeout: TimeInterval = 120, environment extra: [String: String] = [:]) throws -> Result {
        let directory = try Paths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let process = try RunningProcess(arguments, directory: directory, name: "child", environment: extra)
        guard let status = process.waitForExit(timeout: timeout) else {
            process.kill()
            throw NSError(domain: "ChildProcess", code: -1,
                          userInfo: [NSLocalizedDescriptionKey: "\(arguments.joined(separator: " ")) did not finish within \(timeout) s"])
        }
        return Result(status: status, stdout: process.stdout, stderr: process.stderr)
    }
}
