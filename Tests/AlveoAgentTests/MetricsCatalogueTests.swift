import AlveoAgent
import AlveoTestKit
import Foundation
import Testing

/// Every metric the sources record is in `AgentMetrics.families` (so it gets its help text) and in
/// the table of docs/operations.md, and the names follow Prometheus' conventions.
@Suite struct MetricsCatalogueTests {
    /// The metric names recorded anywhere in Sources (`label: "alveo_…"`).
    static func recordedNames() throws -> Set<String> {
        var names = Set<String>()
        let sources = Paths.repository.appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
        for file in files where file.pathExtension == "swift" {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in text.matches(of: /label: "(alveo_[a-z_]+)"/) { names.insert(String(match.1)) }
            // The device counters are named in a list beside their one Counter call.
            for match in text.matches(of: #/\("(alveo_device_[a-z_]+_total)", /#) { names.insert(String(match.1)) }
        }
        return names
    }

    @Test func everyRecordedMetricIsCataloguedDocumentedAndConventional() throws {
        let catalogued = Set(AgentMetrics.families.map(\.name))
        let recorded = try Self.recordedNames()
        #expect(recorded.count >= 15, "\(recorded.sorted())")
        #expect(recorded.subtracting(catalogued).isEmpty, "recorded but not in AgentMetrics.families: \(recorded.subtracting(catalogued).sorted())")
        #expect(catalogued.subtracting(recorded).isEmpty, "catalogued but never recorded: \(catalogued.subtracting(recorded).sorted())")
        let docs = try String(contentsOf: Paths.repository.appendingPathComponent("docs/operations.md"), encoding: .utf8)
        for family in AgentMetrics.families {
            let row = docs.split(separator: "\n").first { $0.hasPrefix("| `\(family.name)` | \(family.kind.rawValue) |") }
            #expect(row != nil, "docs/operations.md's table lists \(family.name) as a \(family.kind.rawValue)")
            let columns = row?.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) } ?? []
            #expect(columns.count > 4 && columns[4] == family.labels.map { "`\($0)`" }.joined(separator: ", "), "\(family.name)'s labels: \(columns)")
            #expect(!family.help.isEmpty)
            #expect((family.kind == .counter) == family.name.hasSuffix("_total"), "\(family.name): counters and only counters end in _total")
            if family.kind == .histogram { #expect(family.name.hasSuffix("_seconds") && !family.buckets.isEmpty) }
        }
        let fsync = try #require(AgentMetrics.families.first { $0.name == "alveo_journal_fsync_seconds" })
        #expect(fsync.buckets.first == 0.0001 && fsync.buckets.contains(0.05), "resolves 0.1–50 ms")
    }
}
