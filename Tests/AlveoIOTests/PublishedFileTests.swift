import AlveoIO
import Foundation
import Testing

/// The metrics textfile (node_exporter's directory may be shared): replaced atomically, 0644, and never
/// written through a link planted where its temporary file goes.
@Suite struct PublishedFileTests {
    @Test func replacesAtomicallyAndRefusesAPlantedLink() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alveo-published-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("alveo.prom").path
        try PublishedFile.replace(path, contents: Array("a 1\n".utf8))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "a 1\n")
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o644)

        // A link at alveo.prom.tmp to a file of the agent's: refused, the target untouched.
        let precious = directory.appendingPathComponent("journal.jsonl").path
        try "keep\n".write(toFile: precious, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: path + ".tmp", withDestinationPath: precious)
        #expect(throws: (any Error).self) { try PublishedFile.replace(path, contents: Array("b 2\n".utf8)) }
        #expect(try String(contentsOfFile: precious, encoding: .utf8) == "keep\n")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "a 1\n")
    }
}
