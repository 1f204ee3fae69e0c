import AlveoTestKit
import AlveoAgent
import AlveoCore
import AlveoIO
import Foundation
import Testing

/// `alveo status`, `chart`, `ack` and `patient` as people read them (issue 27 part 4): wall-clock times in
/// the box's zone and ages, not agent seconds; sizes in GB; FiO2 in %; no placeholder punctuation; the
/// lifecycle alarms' texts with and without a bed id. The JSON form is StatusAnswerWireTests'.
@Suite struct StatusForPeopleTests {
    /// The status of docs/control-api.md, as the client decodes it.
    static func documentedStatus() throws -> StatusAnswer {
        let docs = try String(contentsOf: Paths.repository.appendingPathComponent("docs/control-api.md"), encoding: .utf8)
        let section = try #require(docs.range(of: "## `GET /v1/status`").map { docs[$0.upperBound...] })
        let block = try #require(section.range(of: "```json\n").map { section[$0.upperBound...] })
        let json = String(block[..<(try #require(block.range(of: "\n```")).lowerBound)]).replacing(try Regex(#"\n\s*"#), with: "")
        return try JSONDecoder().decode(StatusAnswer.self, from: Data(json.utf8))
    }

    /// The documented answer arrives 3.204 s after 2026-11-29T22:40:59.698Z (its `agent.t`).
    static let received = Date(timeIntervalSince1970: 1_795_992_059.698 + 3.204)
    /// Central European Time, fixed (the renderer's zone is the box's: `TZ`, /etc/localtime).
    static let cet: @Sendable (Date) -> LocalTime = { LocalTime($0, utcOffset: 3600, zone: "CET") }

    @Test func theDocumentedStatusReadsAsWallClockTimesAndAges() throws {
        let status = try Self.documentedStatus()
        let text = StatusText.render(status, now: Self.received, local: Self.cet)
        for expected in [
            "alveo 0.2.0, up 3 s (since 23:40:59); times in CET (UTC+01:00)\n",
            "patient 12345 (HOSP) DOE^JANE: female, 160 cm, PBW 52.4 kg, 6 ml/kg = 314 ml; diffuse_alveolar_hemorrhage\n",
            "  FiO2 60 % from vent, 23:41:02, just now\n",
            "  PaO2 61.5 mmHg from lab, 23:40:57, 5 s ago\n",
            "P/F 102.5 (measured: PaO2 61.5 mmHg of 23:40:57, 5 s ago; FiO2 60 % of 23:41:00, 3 s ago)\n",
            "MAP 72 mmHg (arterial line from mon, 23:41:02, just now)\n",
            "  #2 medium oxygenation.pf_severity since 23:41:02 (0 s)\n",
            "  vent (modbus alveo-gateway-v1): connected, last good value 23:41:02, just now; polls 13",
            "journal /var/lib/alveo/journal: up to entry 4, 76 GB free\n",
            "  hl7 10.1.2.3:2575: connected, delivered up to 4, backlog 0, last delivery 23:41:02, just now\n",
            "; last message 23:41:02, just now\n",
        ] {
            #expect(text.contains(expected), "missing \(expected.debugDescription) in:\n\(text)")
        }
        for agentTime in ["t=", "sampled at t", "bytes free", "0.6 fraction", "- -"] {
            #expect(!text.contains(agentTime), "\(agentTime.debugDescription) in:\n\(text)")
        }
    }

    /// docs/control-api.md shows the text of its status example: it is what the command prints.
    @Test func theDocumentedTextIsWhatIsPrinted() throws {
        let docs = try String(contentsOf: Paths.repository.appendingPathComponent("docs/control-api.md"), encoding: .utf8)
        let start = try #require(docs.range(of: "received at once in Paris:\n\n```\n"))
        let rest = docs[start.upperBound...]
        let documented = String(rest[..<(try #require(rest.range(of: "```\n")).lowerBound)])
        #expect(StatusText.render(try Self.documentedStatus(), now: Self.received, local: Self.cet) == documented)
    }

    @Test func noIdentityNoSexNoHeightAndOlderTimesAreSaidInWords() throws {
        var status = try Self.documentedStatus()
        status.patient.id = nil
        status.patient.idAuthority = nil
        status.patient.name = nil
        status.patient.sex = nil
        status.patient.heightCm = nil
        status.patient.pbwKg = nil
        status.patient.vtTargetMl = nil
        status.patient.conditions = []
        // A day later: the gas of yesterday carries its date, ages in hours and minutes.
        status.agent.t = 3.204 + 90_000
        status.agent.uptimeS = 3.2 + 90_000
        let text = StatusText.render(status, now: Self.received.addingTimeInterval(90_000), local: Self.cet)
        #expect(text.contains("patient not identified: sex not given, height not given, PBW unknown (needs sex and height)\n"), "\(text)")
        #expect(text.contains("up 25 h (since 2026-11-29 23:40)"), "\(text)")
        #expect(text.contains("  PaO2 61.5 mmHg from lab, 2026-11-29 23:40, 25 h ago\n"), "\(text)")
        #expect(!text.contains(" -") && !text.contains("- "), "placeholder punctuation:\n\(text)")
    }

    @Test func sizesAreInMegabytesAndGigabytes() {
        #expect(ByteSize.text(82_712_653_824) == "77 GB")
        #expect(ByteSize.text(536_870_912) == "512 MB")
        #expect(ByteSize.text(5_100_000_000) == "4.7 GB")
        #expect(ByteSize.text(900) == "900 bytes")
        #expect(ByteSize.text(-5) == "0 bytes")
    }

    @Test func anEntryAnswerSaysWhenInWallClockTime() throws {
        let reply = try JSONDecoder().decode(EntryAnswer.self, from: Data(#"{"ok":true,"t":63.919971592,"sampled_t":-236.02,"events":[]}"#.utf8))
        let text = EntryText.render(reply, done: "charted", now: Self.received, local: Self.cet)
        #expect(text == "charted at 23:41:02 (sampled at 23:36:02, 5 min before); no alarm changed\n", "\(text)")
        let now = try JSONDecoder().decode(EntryAnswer.self, from: Data(#"{"ok":true,"t":12.5,"sampled_t":null,"events":[{"rule":"oxygenation.spo2_low","phase":"end","priority":"high","text":"Ended."}]}"#.utf8))
        #expect(EntryText.render(now, done: "acknowledged", now: Self.received, local: Self.cet)
                == "acknowledged at 23:41:02; 1 event:\n  end  high  oxygenation.spo2_low  Ended.\n")
    }

    @Test func lifecycleTextsReadWellWithAndWithoutABedID() throws {
        let now = Date()
        for (bed, named) in [(String?.none, "this bed"), ("ICU-B1", "bed ICU-B1")] {
            guard case .stop(let texts) = RunLifecycle.stop(bed: bed, now: now) else { Issue.record("not a stop"); continue }
            #expect(texts.active.contains(": \(named) is no longer watched by Alveo."), "\(texts.active)")
            #expect(texts.cleared == "Alveo watches \(named) again.")
            #expect(!texts.active.contains("bed this bed") && !texts.cleared.contains("bed this bed"))
            let evidence = texts.evidence.first { $0.0 == "bed" }?.1
            #expect(evidence == (bed.map { .string($0) } ?? .null), "\(String(describing: evidence))")
        }
        #expect(RunLifecycle.phrase(nil) == "this bed" && RunLifecycle.phrase("B1") == "bed B1")
    }
}
