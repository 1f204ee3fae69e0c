import AlveoTestKit
import AlveoAgent
import Foundation
import Testing

/// The status answer of docs/control-api.md, read by the client's type and written by the server's,
/// is the same text: member order, nulls, absent members and numbers as documented.
struct StatusAnswerWireTests {
    @Test func theDocumentedStatusRoundTripsByteForByte() throws {
        let docs = try String(contentsOf: Paths.repository.appendingPathComponent("docs/control-api.md"), encoding: .utf8)
        let section = try #require(docs.range(of: "## `GET /v1/status`").map { docs[$0.upperBound...] })
        let block = try #require(section.range(of: "```json\n").map { section[$0.upperBound...] })
        let json = String(block[..<(try #require(block.range(of: "\n```")).lowerBound)]).replacing(try Regex(#"\n\s*"#), with: "")
        let status = try JSONDecoder().decode(StatusAnswer.self, from: Data(json.utf8))
        #expect(status.json == json)
        // Without a P/F, a journal or an input: null and empty objects, as the agent writes them.
        var bare = status
        bare.pf = nil
        bare.outputs = .init()
        bare.inputs = .init()
        #expect(bare.json.contains("\"pf\":null,") && bare.json.hasSuffix("\"outputs\":{},\"inputs\":{}}"), "\(bare.json.suffix(120))")
    }

    /// An entry's answer keeps the documented order: ok, t, sampled_t, events.
    @Test func anEntryAnswerIsWrittenInTheDocumentedOrder() throws {
        for text in ["{\"ok\":true,\"t\":12.5,\"sampled_t\":null,\"events\":[]}", "{\"ok\":true,\"t\":12.5,\"sampled_t\":10,\"events\":[]}"] {
            #expect(try JSONDecoder().decode(EntryAnswer.self, from: Data(text.utf8)).json == text)
        }
    }
}
