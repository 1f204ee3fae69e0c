import Foundation

/// Repository paths found from this file, so tests need no bundle resources.
package enum Paths {
    /// Tests/AlveoTestKit.
    static let kitDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    package static let repository = kitDirectory.deletingLastPathComponent().deletingLastPathComponent()
    package static let testsDirectory = repository.appendingPathComponent("Tests/AlveoAgentTests")
    package static let scenarios = testsDirectory.appendingPathComponent("Scenarios")

    /// The `alveo` executable built beside the test bundle (`ALVEO_TEST_BINARY` names another one, to
    /// show that a regression test fails on an older build).
    package static var alveo: String {
        if let other = ProcessInfo.processInfo.environment["ALVEO_TEST_BINARY"], !other.isEmpty { return other }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("alveo").path
    }

    package static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("alveo-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
