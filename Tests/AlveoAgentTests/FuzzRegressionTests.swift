import AlveoTestKit
import AlveoFuzzTargets
import Foundation
import Testing

/// The fuzz targets (`make fuzz`) over their committed seeds and every past finding, in the ordinary
/// build: a finding, once fixed, stays a regression test here (Tests/Fuzz/regressions/TARGET/).
@Suite struct FuzzRegressionTests {
    static let root = Paths.repository.appendingPathComponent("Tests/Fuzz")

    static func files(_ directory: URL) -> [URL] {
        ((try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)) ?? [])
            .filter { !$0.hasDirectoryPath }.sorted { $0.path < $1.path }
    }

    @Test(arguments: FuzzTargets.names)
    func seedsAndPastFindingsRunClean(_ target: String) throws {
        let inputs = Self.files(Self.root.appendingPathComponent("seeds/\(target)"))
            + Self.files(Self.root.appendingPathComponent("regressions/\(target)"))
        for input in inputs { FuzzTargets.run(target, Array(try Data(contentsOf: input))) }
        // Edges every target must survive, whatever it parses.
        let edges: [[UInt8]] = [[], [0], [0xFF], [UInt8](repeating: 0, count: 4096), [UInt8](repeating: 0xFF, count: 4096),
                                Array("9E99,1e308,nan,inf,-0,12345678901234567890\r\n".utf8),
                                [UInt8](repeating: 0x0D, count: 65536)]
        for edge in edges { FuzzTargets.run(target, edge) }
    }
}
