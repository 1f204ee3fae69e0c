import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to completion (see RunningProcess for how it is started), capturing its output.
package struct ChildProcess {
    package struct Result {
        package var status: Int32
        package var stdout: String
        package var stderr: String
    }

    package static func run(_ arguments: [String], timeout: TimeInterval = 120, environment extra: [String: String] = [:]) throws -> Result {
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

/// Runs a program and measures its peak resident memory (KiB) through a small Python parent that
/// forks it: posix_spawn's vfork-style start makes the child's ru_maxrss include the test process's
/// own memory (Linux takes the old address space's high-water mark at exec), which would swamp the
/// figure; the Python parent is small and known.
package func peakMemory(_ arguments: [String], timeout: TimeInterval = 120) throws -> (result: ChildProcess.Result, kilobytes: Int) {
    let script = """
        import os, resource, sys
        pid = os.fork()
        if pid == 0:
            os.execvp(sys.argv[1], sys.argv[1:])
        _, status = os.waitpid(pid, 0)
        sys.stderr.write("\\npeak_kib=%d\\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
        """
    var result = try ChildProcess.run(["python3", "-c", script] + arguments, timeout: timeout)
    let marker = result.stderr.range(of: "\npeak_kib=", options: .backwards)
    let kilobytes = marker.map { Int(result.stderr[$0.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 } ?? 0
    if let marker { result.stderr = String(result.stderr[..<marker.lowerBound]) }
    return (result, kilobytes)
}
