import AlveoTestKit
import AlveoAgent
import AlveoCore
import AlveoOutput
import Foundation
import Testing

/// The PCD-04 messages of the bundled 37-hour DAH course, kept as a golden capture
/// (Scenarios/dah_escalation.pcd04.hl7, one message per block, one segment per line) and validated by
/// hl7apy as the test receiver does. Events as `alveo replay --start 2026-11-25T08:00:00Z` journals
/// them (the virtual time on that clock), with the oximeter and the ventilator as the bed's devices.
/// To accept a deliberate change: ALVEO_UPDATE_GOLDEN=1, then review the diff.
@Suite(.endToEnd, .ownThread) struct GoldenPCD04Tests {
    static let golden = Paths.scenarios.appendingPathComponent("dah_escalation.pcd04.hl7")

    /// The bed of the captures: the reference's example identity, the ventilator and the oximeter as VMD 1 and 2.
    static var identity: HL7Identity {
        var identity = HL7Identity()
        identity.eui64 = "0A1B2CFFFE3D4E5F"
        identity.sendingFacility = "HOSP_ICU"
        identity.receivingApplication = "CENTRAL"
        identity.receivingFacility = "HOSP"
        identity.patientID = "12345"
        identity.patientIDAuthority = "HOSP"
        identity.patientName = "DOE^JANE"
        identity.bedLocation = "ICU^B1^B1^HOSP"
        identity.bedID = "ICU-B1"
        identity.devices = ["vent", "oxi"]
        return identity
    }

    static func capture() throws -> String {
        let config = try AgentConfig.load(path: Paths.repository.appendingPathComponent("config/dah-demo.yaml").path)
        var events: [AlarmEvent] = []
        try ScenarioReplay.run(config: config, scenarioPath: Paths.repository.appendingPathComponent("devices/scenarios/dah_escalation.csv").path) {
            events.append($0)
        }
        let identity = Self.identity
        let start = Date(timeIntervalSince1970: 1_795_593_600)  // 2026-11-25T08:00:00Z
        return events.enumerated().map { index, event in
            let entry = JournalEntry(seq: Int64(index + 1), run: "20261125T080000Z",
                                     wallTime: PCD04Message.rfc3339(start.addingTimeInterval(event.t)), event: event)
            // MSH-7 (when a message is built) one second after the event, as a live send would be.
            return PCD04Message.build(entry: entry, event: event, identity: identity, now: start.addingTimeInterval(event.t + 1))
                .replacingOccurrences(of: "\r", with: "\n")
        }.joined(separator: "\n")
    }

    @Test func dahCourseMatchesTheGoldenCapture() throws {
        let capture = try Self.capture()
        if ProcessInfo.processInfo.environment["ALVEO_UPDATE_GOLDEN"] == "1" {
            try capture.write(to: Self.golden, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: Self.golden, encoding: .utf8)
        let got = capture.split(separator: "\n", omittingEmptySubsequences: false)
        let want = expected.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, (g, w)) in zip(got, want).enumerated() where g != w {
            Issue.record("first difference at line \(index + 1)\n got: \(g)\nwant: \(w)")
            break
        }
        #expect(got.count == want.count)
        // What the course must show a station: limit alarms with their measurement, the prompts as
        // advisories with local codes, and every phase the profile names that the course goes through.
        #expect(capture.contains("|196670^MDC_EVT_LO^MDC^oxygenation.pf_severity^"))
        #expect(capture.contains("|NM|150656^MDC_O2_OXYGENATION_RATIO^MDC|1.0.1.150656.2|"))
        #expect(capture.contains("|escalation.prone_stop^Criteria to stop prone sessions met^99ALV|1.0.0.0.1|"))
        #expect(capture.contains("|NM|151784^MDC_PRESS_RESP_PLAT^MDC|1.1.1.151784.2|"), "the plateau under the ventilator, VMD 1")
        #expect(capture.contains("|escalation.plasma_exchange^Plasma exchange to consider^99ALV|"))
        for phase in ["start", "escalate", "de-escalate", "update", "end"] {
            #expect(capture.range(of: #"\|68481\^MDC_ATTR_EVENT_PHASE\^MDC\|[0-9.]+\|"# + phase + #"\|"#, options: .regularExpression) != nil,
                    "\(phase)")
        }
        #expect(!capture.contains("^ALVEO|") && !capture.contains("152424") && !capture.contains("6816"))
    }

    @Test func theGoldenCaptureIsValidHL7() throws {
        let result = try ChildProcess.run(["python3", Paths.repository.appendingPathComponent("Tests/Peers/hl7_validate.py").path,
                                           Self.golden.path])
        #expect(result.status == 0, "hl7apy: \(result.stdout.split(separator: "\n").filter { !$0.contains("\"errors\": []") }) \(result.stderr)")
        #expect(result.stdout.split(separator: "\n").count >= 30)
    }

    /// Every rule in every phase, with and without its measurement, passes hl7apy's strict per-segment
    /// validation (the golden course has no technical alarm, no acknowledgement and no re-announcement).
    @Test func everyKindOfMessageIsValidHL7() throws {
        var identity = Self.identity
        identity.eui64 = EUI64.derived(machineID: "test")
        identity.patientIDAuthority = "HOSP&1.2.3&ISO"
        let evidence: [RuleID: [(String, JSONValue)]] = [
            .spo2Low: [("spo2_pct", .number(86)), ("spo2_source", .string("oxi")), ("threshold_pct", .number(88))],
            .tidalVolumeHigh: [("vt_ml", .number(520)), ("vt_source", .string("vent")), ("pbw_kg", .number(52.4)), ("threshold_ml_per_kg", .number(8))],
            .plateauHigh: [("pplat_cmh2o", .number(32.5)), ("pplat_source", .string("vent")), ("threshold_cmh2o", .number(30))],
            .drivingPressureHigh: [("driving_pressure_cmh2o", .number(17)), ("pplat_source", .string("vent")), ("threshold_cmh2o", .number(15))],
            .pfSeverity: [("pf", .object([("value", .number(142.5))])), ("band_limit", .number(200))],
            .pfFalling: [("pf", .object([("value", .number(150))])), ("pf_limit", .number(160))],
        ]
        let phases: [(AlarmPhase, AlarmState, Bool)] = [(.start, .active, false), (.escalate, .active, false), (.deescalate, .active, false),
                                                         (.continue, .active, false), (.update, .active, true), (.update, .latched, false),
                                                         (.end, .inactive, true)]
        var messages: [String] = []
        for rule in RuleID.allCases {
            for (phase, state, acknowledged) in phases {
                for withValue in [true, false] {
                    let source: String? = rule.isPerSource ? (rule == .deliveryFailed ? "hl7" : "oxi") : nil
                    let event = AlarmEvent(t: 60, alarmID: messages.count + 1, rule: rule, source: source,
                                           parameter: rule == .valueRejected ? .spo2 : nil, phase: phase, priority: .high, state: state,
                                           acknowledged: acknowledged, reason: nil, text: "Text with | ^ ~ \\ & in it",
                                           evidence: withValue ? evidence[rule] ?? [] : [])
                    let entry = JournalEntry(seq: Int64(messages.count + 1), run: "R", wallTime: "2026-11-25T08:01:00.000Z", event: event)
                    messages.append(PCD04Message.build(entry: entry, event: event, identity: identity, now: Date(timeIntervalSince1970: 1_795_593_661))
                        .replacingOccurrences(of: "\r", with: "\n"))
                }
            }
        }
        let file = try Paths.temporaryDirectory().appendingPathComponent("every-kind.hl7").path
        try messages.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let result = try ChildProcess.run(["python3", Paths.repository.appendingPathComponent("Tests/Peers/hl7_validate.py").path, file])
        #expect(result.status == 0, "hl7apy: \(result.stdout.split(separator: "\n").filter { !$0.contains("\"errors\": []") }.prefix(5)) \(result.stderr)")
        #expect(result.stdout.split(separator: "\n").count == RuleID.allCases.count * phases.count * 2)
    }
}
