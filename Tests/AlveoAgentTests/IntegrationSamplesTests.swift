import AlveoTestKit
import AlveoAgent
import AlveoOutput
import Foundation
import Testing

/// The sample ORU^R01 and ADT^A01 of docs/integration.md §8, read from the page, are taken by the
/// listener configured as the page shows it: what a site copies to try its feed works.
@Suite struct IntegrationSamplesTests {
    static func sample(_ name: String) throws -> HL7Message {
        let docs = try String(contentsOf: Paths.repository.appendingPathComponent("docs/integration.md"), encoding: .utf8)
        let marker = try #require(docs.range(of: "<!-- sample: \(name) -->\n```\n"), "no sample \(name) in docs/integration.md")
        let rest = docs[marker.upperBound...]
        let block = rest[..<(try #require(rest.range(of: "\n```")).lowerBound)]
        // On the wire, segments end with a carriage return.
        let wire = block.split(separator: "\n").joined(separator: "\r")
        return try HL7Message.parse(Array(wire.utf8)).get()
    }

    /// As the page's `inputs.hl7` example.
    static var config: LabListenerConfig {
        var config = LabListenerConfig()
        config.bind = "0.0.0.0"
        config.port = 2576
        config.allowedSenders = [.init(application: "LIS", facility: "HOSP"), .init(application: "AQURE", facility: "ICU"), .init(application: "ADT")]
        config.bedLocation = "ICU^B1^B1^HOSP"
        return config
    }

    /// 2026-11-29 10:30:00 UTC, when the laboratory sent its result.
    static let now = Date(timeIntervalSince1970: 1_795_948_200)
    static let utc = TimeZone(identifier: "UTC")!

    @Test func theSampleResultsAreTaken() throws {
        let decision = HL7Inbound.interpret(try Self.sample("oru"), config: Self.config, now: Self.now, zone: Self.utc)
        guard case .take(let entry, let kind, let notes) = decision else { Issue.record("not taken: \(decision)"); return }
        #expect(kind == .result && notes.isEmpty, "\(notes)")
        #expect(entry.by == "LIS^HOSP" && entry.forPatient == [PatientIdentifier(id: "12345", authority: "HOSP")])
        guard case .chart(let values) = entry.action else { Issue.record("\(entry.action)"); return }
        #expect(values.map(\.parameter) == ["pao2", "paco2", "ph", "hb"])
        #expect(values.map(\.value) == ["62mm[Hg]", "48mm[Hg]", "7.31[pH]", "8.1g/dL"])
        // Drawn at 10:02, 28 min before it was sent.
        #expect(values.allSatisfy { $0.sampleAge == 1680 }, "\(values.map(\.sampleAge))")
    }

    @Test func theSampleAdmissionIsTaken() throws {
        let decision = HL7Inbound.interpret(try Self.sample("adt"), config: Self.config, now: Self.now, zone: Self.utc)
        guard case .take(let entry, let kind, let notes) = decision else { Issue.record("not taken: \(decision)"); return }
        #expect(kind == .admission && notes.isEmpty, "\(notes)")
        guard case .set(let record) = entry.action else { Issue.record("\(entry.action)"); return }
        #expect(record.id == "12345" && record.idAuthority == "HOSP" && record.name == "DOE^JANE" && record.sex == "female" && record.heightCm == 160)
    }

    /// The listener's examples do not use the outbound feed's port.
    @Test func theListenersExamplePortIsNotTheOutboundFeeds() throws {
        for file in ["docs/integration.md", "docs/configuration.md"] {
            let text = try String(contentsOf: Paths.repository.appendingPathComponent(file), encoding: .utf8)
            let listener = try #require(text.range(of: "inputs:\n  hl7:\n").map { text[$0.upperBound...] }, "\(file)")
            let port = listener.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("port:") }
            #expect(port?.contains("2576") == true, "\(file): \(String(describing: port))")
        }
    }
}
