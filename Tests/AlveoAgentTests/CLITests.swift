import AlveoTestKit
import Foundation
import Testing

/// The `alveo` command as a user runs it: exit codes and messages that name file and line.
@Suite(.endToEnd, .ownThread) struct CLITests {
    static let config = Paths.scenarios.appendingPathComponent("spo2_tiers_ack.yaml").path

    func writeScenario(_ text: String) throws -> String {
        let path = try Paths.temporaryDirectory().appendingPathComponent("scenario.csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func versionReadsTheLinkedLibraries() throws {
        let result = try ChildProcess.run([Paths.alveo, "version"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("alveo "))
        #expect(result.stdout.range(of: #"libmodbus \d+\.\d+\.\d+"#, options: .regularExpression) != nil)
        #expect(result.stdout.range(of: #"libserialport \d+\.\d+\.\d+"#, options: .regularExpression) != nil)
    }

    @Test func replayWritesJSONLinesToStdout() throws {
        let scenario = Paths.scenarios.appendingPathComponent("spo2_tiers_ack.csv").path
        let result = try ChildProcess.run([Paths.alveo, "replay", "--config", Self.config, scenario])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 9, "spo2_tiers_ack: the latched alarm is re-announced hourly, not after 10 min")
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            for key in ["t", "rule", "phase", "priority", "type", "text", "evidence", "reference"] {
                #expect(object?[key] != nil, "missing \(key) in \(line)")
            }
        }
    }

    struct Malformed: Sendable, CustomTestStringConvertible {
        var name: String
        var text: String
        var line: Int
        var mentions: String
        var testDescription: String { name }
    }

    static let malformed: [Malformed] = [
        Malformed(name: "bad number", text: "t,source,parameter,value\n0,oxi,spo2,97\n1,oxi,spo2,9x7\n", line: 3, mentions: "not a number"),
        Malformed(name: "nan is not a number", text: "t,source,parameter,value\n0,oxi,spo2,nan\n", line: 2, mentions: "not a number"),
        Malformed(name: "unknown parameter", text: "# comment\nt,source,parameter,value\n0,oxi,sp02,97\n", line: 3, mentions: "unknown parameter 'sp02'"),
        Malformed(name: "time going backwards", text: "t,source,parameter,value\n5,oxi,spo2,97\n4.5,oxi,spo2,97\n", line: 3, mentions: "backwards"),
        Malformed(name: "missing header", text: "0,oxi,spo2,97\n", line: 1, mentions: "missing header"),
        Malformed(name: "empty file", text: "", line: 1, mentions: "missing header"),
        Malformed(name: "too many fields", text: "t,source,parameter,value\n0,oxi,spo2,97,1\n", line: 2, mentions: "expected 4 fields"),
        Malformed(name: "bad position", text: "t,source,parameter,value\n0,nurse,position,sitting\n", line: 2, mentions: "supine, prone"),
        Malformed(name: "ack of an unknown rule", text: "t,source,parameter,value\n0,nurse,ack,lpv.nothing\n", line: 2, mentions: "not a rule id"),
    ]

    @Test(arguments: malformed)
    func malformedScenarioExitsNonZeroNamingFileAndLine(_ bad: Malformed) throws {
        let path = try writeScenario(bad.text)
        let result = try ChildProcess.run([Paths.alveo, "replay", "--config", Self.config, path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(path):\(bad.line):"), "stderr: \(result.stderr)")
        #expect(result.stderr.contains(bad.mentions), "stderr: \(result.stderr)")
    }

    @Test func eventsBeforeAMalformedLineAreStillWritten() throws {
        var text = "t,source,parameter,value\n"
        for t in 0...40 { text += "\(t),oxi,spo2,80\n" }
        text += "41,oxi,spo2,eighty\n"
        let path = try writeScenario(text)
        let result = try ChildProcess.run([Paths.alveo, "replay", "--config", Self.config, path])
        #expect(result.status != 0)
        #expect(result.stdout.contains("oxygenation.spo2_low"), "the alarm found before line 43 is not lost")
        #expect(result.stderr.contains(":43:"))
    }

    @Test func missingScenarioFileIsAClearError() throws {
        let result = try ChildProcess.run([Paths.alveo, "replay", "--config", Self.config, "/nonexistent/scenario.csv"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("/nonexistent/scenario.csv"))
    }

    /// `check-config` says how often a device is really polled: an IntelliVue at least once a second
    /// whatever `poll_interval_s` says (the monitor drops a silent client), a SERVO as configured.
    @Test func checkConfigSaysTheIntervalThePollsReallyHave() throws {
        let path = try Paths.temporaryDirectory().appendingPathComponent("bed.yaml").path
        try """
            patient: {sex: female, height_cm: 160}
            devices:
              - {id: mon, poll_interval_s: 3, transport: {kind: serial, protocol: intellivue, path: /dev/ttyUSB0, baud: 115200}}
              - {id: vent, poll_interval_s: 3, transport: {kind: serial, protocol: servo_cie, path: /dev/ttyUSB1, baud: 9600, parity: even}}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try ChildProcess.run([Paths.alveo, "check-config", path])
        #expect(result.status == 0, "\(result.stderr)")
        let monitor = result.stdout.split(separator: "\n").first { $0.contains("device mon:") } ?? ""
        #expect(monitor.contains("polled every 1.0 s, not every 3.0 s (poll_interval_s)"), "\(result.stdout)")
        #expect(!monitor.contains("polled every 3.0 s,"), "\(result.stdout)")
        let ventilator = result.stdout.split(separator: "\n").first { $0.contains("device vent:") } ?? ""
        #expect(ventilator.hasSuffix("polled every 3.0 s"), "\(result.stdout)")
    }

    @Test func badConfigNamesFileLineAndKey() throws {
        let path = try Paths.temporaryDirectory().appendingPathComponent("bed.yaml").path
        try "patient:\n  sex: female\n  height_cm: 160\nrules:\n  oxygenation.spo2_low:\n    delay: 30\n".write(toFile: path, atomically: true, encoding: .utf8)
        let result = try ChildProcess.run([Paths.alveo, "check-config", path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(path):6: rules.oxygenation.spo2_low.delay: unknown key"), "stderr: \(result.stderr)")
        #expect(result.stderr.contains("delay_s"), "lists what is allowed")
    }
}
