import Foundation

/// Repository paths found from this file, so tests need no bundle resources.
enum Paths {
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let scenarios = testsDirectory.appendingPathComponent("Scenarios")
    static let repository = testsDirectory.deletingLastPathComponent().deletingLastPathComponent()

    /// The `alveo` executable built beside the test bundle.
    static var alveo: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("alveo").path
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("alveo-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
