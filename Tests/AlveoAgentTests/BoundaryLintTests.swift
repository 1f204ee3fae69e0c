import AlveoTestKit
import Foundation
import Testing

/// The boundaries issue 24 asks to hold by more than convention: the CLI imports only AlveoAgent and
/// ArgumentParser (and Foundation), and no source holds `[String: Any]` (the control API and the
/// journal are read into typed values), and nothing is `public`: every client of our modules is in this
/// package, so `package` is the widest access a declaration needs (a deliberate public API would be
/// listed here).
struct BoundaryLintTests {
    func sources(under folder: String) throws -> [(name: String, text: String)] {
        let root = Paths.repository.appendingPathComponent(folder)
        let enumerator = try #require(FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil))
        return try enumerator.compactMap { item in
            guard let url = item as? URL, url.pathExtension == "swift" else { return nil }
            return (url.path.replacingOccurrences(of: Paths.repository.path + "/", with: ""), try String(contentsOf: url, encoding: .utf8))
        }
    }

    @Test func theCLIImportsOnlyAlveoAgentAndArgumentParser() throws {
        let files = try sources(under: "Sources/alveo")
        #expect(files.count >= 10)
        var imports: Set<String> = []
        for file in files {
            for line in file.text.split(separator: "\n") where line.hasPrefix("import ") { imports.insert(String(line.dropFirst(7))) }
        }
        #expect(imports.isSubset(of: ["AlveoAgent", "ArgumentParser", "Foundation"]), "the CLI imports \(imports.sorted())")
    }

    @Test func noSourceHoldsAnUntypedDictionary() throws {
        let offenders = try sources(under: "Sources").filter { $0.text.contains("String: Any]") }.map(\.name)
        #expect(offenders.isEmpty, "[String: Any] in \(offenders)")
    }

    @Test func nothingIsPublicOutsideADeliberateAPI() throws {
        let deliberate: Set<String> = []
        var offenders: [String] = []
        for file in try sources(under: "Sources") where !deliberate.contains(file.name) {
            for (number, line) in file.text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                if code.range(of: #"(^|[\s(])public\s"#, options: .regularExpression) != nil { offenders.append("\(file.name):\(number + 1)") }
            }
        }
        #expect(offenders.isEmpty, "public (not package) at \(offenders.prefix(20))")
    }
}
