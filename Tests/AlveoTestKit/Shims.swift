import Foundation
import Testing

/// The test-only LD_PRELOAD shims of Tests/Peers (libserialport_pty_shim, enospc_shim, clockstep_shim,
/// heap_shim), each built with the system's C compiler into a test's directory.
package enum Shims {
    /// Builds Tests/Peers/`name`.c into `directory`/`name`.so and returns its path; a shim that does not
    /// build fails the test there.
    package static func build(_ name: String, in directory: URL) throws -> String {
        let library = directory.appendingPathComponent("\(name).so").path
        let source = Paths.repository.appendingPathComponent("Tests/Peers/\(name).c").path
        let result = try ChildProcess.run(["cc", "-shared", "-fPIC", "-O2", "-o", library, source, "-ldl"])
        try #require(result.status == 0, "cannot build \(name): \(result.stderr)")
        return library
    }
}
