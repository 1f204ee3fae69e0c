import AlveoTestKit
import AlveoAgent
import AlveoCore
import AlveoOutput
import AlveoTrace
import Foundation
import Testing

/// Every input a person or a device controls is bounded, and what is echoed back is escaped and short:
/// configuration (size, control characters, duplicate keys, NUL), scenario files (times, source names,
/// huge fields), HL7 fields from configuration, file modes and patient identity in traces, and
/// alveo-bench's arguments. Each case here was found wrong by an independent check.
@Suite(.endToEnd, .ownThread) struct InputHygieneTests {
    let directory: URL

    init() throws {
        directory = try Paths.temporaryDirectory()
    }

    func file(_ name: String, _ text: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func file(_ name: String, bytes: [UInt8]) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    // MARK: - Configuration

    @Test func aDuplicateKeyIsReportedWhereItIsRepeated() throws {
        let path = try file("bed.yaml", "patient:\n  sex: male\n  height_cm: 170\n  sex: female\n")
        let result = try ChildProcess.run([Paths.alveo, "check-config", path])
        #expect(result.status == 78)
        #expect(result.stderr.contains("\(path):4: sex: given twice in the same mapping (first at line 2)"), "\(result.stderr)")
    }

    @Test func aNULByteIsReportedByLineAndNotEchoed() throws {
        let path = try file("bed.yaml", bytes: Array("patient:\n  sex: male\n  height_cm: 1\u{0}70\n".utf8))
        let result = try ChildProcess.run([Paths.alveo, "check-config", path])
        #expect(result.status == 78)
        #expect(result.stderr.contains("\(path):3:"), "\(result.stderr)")
        #expect(result.stderr.contains("\\x00"))
        #expect(!result.stderr.utf8.contains(0), "the NUL itself never reaches the terminal")
    }

    @Test func anOversizedConfigurationIsRefusedUnread() throws {
        let path = try file("bed.yaml", "patient: {sex: male, height_cm: 170}\n" + String(repeating: "# padding\n", count: 300_000))
        let result = try ChildProcess.run([Paths.alveo, "check-config", path])
        #expect(result.status == 78)
        #expect(result.stderr.contains("larger than 1024 KiB"), "\(result.stderr)")
    }

    @Test(arguments: [
        ("patient_id: \"12|34\\r\\nPID|||X\"", "outputs.hl7.patient_id: control character U+000D"),
        ("patient_name: \"DOE\\u001B[2J\"", "outputs.hl7.patient_name: control character U+001B"),
        ("bed_location: \"ICU\\rOBX|1\"", "outputs.hl7.bed_location: control character U+000D"),
        ("bed_id: \"ICU B1\"", "outputs.hl7.bed_id: 'ICU B1' is not a usable bed id"),
    ])
    func controlCharactersInMessageFieldsAreRefused(_ field: String, _ message: String) throws {
        var lines = ["patient_id: \"1\"", "bed_id: B1"]
        let key = String(field.split(separator: ":")[0])
        lines.removeAll { $0.hasPrefix(key + ":") }
        lines.append(field)
        let path = try file("bed.yaml", "patient: {sex: male, height_cm: 170}\noutputs:\n  journal: {directory: j}\n  hl7:\n"
                                        + lines.map { "    " + $0 }.joined(separator: "\n") + "\n")
        let result = try ChildProcess.run([Paths.alveo, "check-config", path])
        #expect(result.status == 78, "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(!result.stderr.contains("\r"), "nothing raw is echoed")
    }

    @Test func deviceIdsAndSourceNamesAreShortPlainNames() throws {
        _ = try AgentConfig.parse(yaml: "patient: {sex: male, height_cm: 170}\ndevices:\n  - {id: beatmung_ü, transport: {kind: serial, protocol: pb840, path: /dev/null}}\n",
                                  file: "bed.yaml")
        for bad in ["vent 1", "vent\u{0}", String(repeating: "v", count: 65), "v\u{202E}x", "v;x", ""] {
            #expect(throws: ConfigError.self) {
                try AgentConfig.parse(yaml: "patient: {sex: male, height_cm: 170}\ndevices:\n  - {id: \"\(bad)\", transport: {kind: serial, protocol: pb840, path: /dev/null}}\n",
                                      file: "bed.yaml")
            }
        }
    }

    // MARK: - Scenario files

    @Test(arguments: [
        ("0,oxi,spo2,97\n1e308,oxi,spo2,97\n", 3, "beyond 315576000 s"),
        ("0,o xi,spo2,97\n", 2, "source 'o xi' is not a usable name"),
        ("0,oxi\u{7F},spo2,97\n", 2, "is not a usable name"),
    ])
    func scenarioTimesAndNamesAreBounded(_ rows: String, _ line: Int, _ message: String) throws {
        let path = try file("s.csv", "t,source,parameter,value\n" + rows)
        let result = try ChildProcess.run([Paths.alveo, "replay", "--config", CLITests.config, path])
        #expect(result.status == 65, "\(result.stderr)")
        #expect(result.stderr.contains("\(path):\(line): "), "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test func hugeOrBinaryScenarioFieldsAreEchoedShortAndEscaped() throws {
        let bytes = Array("t,source,parameter,value\n0,".utf8) + [0xFF, 0xFE] + [UInt8](repeating: 0x41, count: 10 << 20) + Array(",spo2,97\n".utf8)
        let path = try file("s.csv", bytes: bytes)
        let result = try ChildProcess.run([Paths.alveo, "replay", "--config", CLITests.config, path])
        #expect(result.status == 65)
        #expect(result.stderr.contains("\(path):2: line longer than 4096 bytes"), "\(result.stderr.prefix(300))")
        #expect(result.stderr.contains("\\xFF\\xFE"))
        #expect(result.stderr.utf8.count < 1000, "\(result.stderr.utf8.count) bytes of error for a 10 MB field")
    }

    @Test func anImpossiblyLargeScenarioValueIsRejectedNotFatal() throws {
        let path = try file("s.csv", "t,source,parameter,value\n0,vent,pplat,9.3e18\n1,vent,pplat,12345678901234567890\n2,vent,pplat,25\n")
        let result = try ChildProcess.run([Paths.alveo, "replay", "--config", CLITests.config, path])
        #expect(result.status == 0, "exit \(result.status) (132 was SIGILL): \(result.stderr)")
        #expect(result.stdout.contains("Impossible pplat value 9.3e18 cmH2O from vent rejected"), "\(result.stdout)")
        #expect(result.stdout.contains("\"phase\":\"end\""), "a valid value ends it")
    }

    // MARK: - HL7 fields

    @Test func delimitersInConfiguredHL7FieldsAreEscaped() throws {
        var identity = HL7Identity()
        identity.patientID = "12|34"
        identity.patientName = "DOE|X~Y\\Z&W^JANE"
        identity.bedLocation = "ICU|B1^R1^B1^HOSP&1.2.3&ISO"
        identity.bedID = "B1"
        let event = AlarmEvent(t: 0, alarmID: 1, rule: .sensorOff, source: "o|x", parameter: nil, phase: .start, priority: .medium,
                               state: .active, acknowledged: false, reason: nil, text: "x|y\r~z", evidence: [])
        let entry = JournalEntry(seq: 1, run: "R", wallTime: nil, event: event)
        let message = PCD04Message.build(entry: entry, event: event, identity: identity, now: Date(timeIntervalSince1970: 0))
        let segments = message.split(separator: "\r")
        #expect(segments.map { $0.prefix(3) } == ["MSH", "PID", "PV1", "OBR", "OBX", "OBX", "OBX", "OBX", "OBX", "OBX", "OBX", "OBX"])
        #expect(segments[1] == "PID|||12\\F\\34^^^^MR||DOE\\F\\X\\R\\Y\\E\\Z&W^JANE^^^^^L", "& separates subcomponents")
        #expect(segments[5].contains("|x\\F\\y \\R\\z|"), "the alarm text escaped, a control character a space")
        #expect(segments[6].contains("|o\\F\\x|") && segments[6].hasSuffix("|ALVEO-o\\F\\x"), "the source escaped")
        #expect(segments[2] == "PV1||I|ICU\\F\\B1^R1^B1^HOSP&1.2.3&ISO")
    }

    // MARK: - Files and traces

    /// Patient data on disk is readable by owner and group only, whatever the umask; a trace keeps
    /// the patient's identity out unless asked.
    @Test func patientFilesAre0640AndTracesCarryNoIdentity() throws {
        let scenario = try file("s.csv", "t,source,parameter,value\n0,oxi,sensor,off\n2,oxi,sensor,ok\n")
        let config = try file("bed.yaml", """
            patient: {sex: female, height_cm: 160}
            devices:
              - {id: oxi, transport: {kind: serial, protocol: masimo_ascii1, path: /nonexistent/tty, baud: 9600}}
            outputs:
              journal: {directory: journal}
              hl7: {host: 127.0.0.1, port: 9, patient_id: "MRN-4711", patient_name: "DOE^JANE", bed_id: B1}
            """)
        let replay = try ChildProcess.run(["sh", "-c", "umask 000; exec \"$0\" \"$@\"", Paths.alveo, "replay", "--config", config,
                                           "--drain-timeout", "0", scenario])
        #expect(replay.status == 75, "nothing listens on port 9: the events stay in the journal: \(replay.stderr)")
        let journal = directory.appendingPathComponent("journal").path
        func mode(_ path: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int) ?? -1 }
        #expect(mode(journal) == 0o750)
        let segments = try FileManager.default.contentsOfDirectory(atPath: journal).filter { $0.hasPrefix("journal-") }
        #expect(!segments.isEmpty)
        for name in segments { #expect(mode(journal + "/" + name) == 0o640, "\(name)") }

        let traces = directory.appendingPathComponent("traces").path
        let record = try ChildProcess.run(["sh", "-c", "umask 000; exec \"$0\" \"$@\"", Paths.alveo, "record", "--config", config,
                                           "--out", traces, "--seconds", "1", "--trace-min-free-mb", "0"])
        #expect(record.status == 0, "\(record.stderr)")
        let trace = try #require(try FileManager.default.contentsOfDirectory(atPath: traces).first { $0.hasSuffix(".alvtrace") })
        #expect(mode(traces + "/" + trace) == 0o640)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: traces + "/" + trace))
        #expect(bytes.range(of: Data("MRN-4711".utf8)) == nil, "no patient id in the trace")
        #expect(bytes.range(of: Data("DOE^JANE".utf8)) == nil, "no patient name in the trace")
        let info = try ChildProcess.run([Paths.alveo, "trace", "info", "--show-config", traces + "/" + trace])
        #expect(info.stdout.contains("patient_id: REDACTED"), "\(info.stdout)")
        #expect(info.stdout.contains("masimo_ascii1"), "the rest of the configuration is kept")
        let replayed = try ChildProcess.run([Paths.alveo, "replay", traces + "/" + trace])
        #expect(replayed.status == 0, "the redacted trace replays: \(replayed.stderr)")

        let withIdentity = directory.appendingPathComponent("traces-id").path
        let kept = try ChildProcess.run([Paths.alveo, "record", "--config", config, "--out", withIdentity, "--seconds", "1",
                                         "--trace-min-free-mb", "0", "--record-identity"])
        #expect(kept.status == 0, "\(kept.stderr)")
        let keptTrace = try #require(try FileManager.default.contentsOfDirectory(atPath: withIdentity).first { $0.hasSuffix(".alvtrace") })
        #expect(try Data(contentsOf: URL(fileURLWithPath: withIdentity + "/" + keptTrace)).range(of: Data("MRN-4711".utf8)) != nil)
    }

    // MARK: - alveo-bench

    @Test func benchHelpAndUnknownBenchmarks() throws {
        let bench = URL(fileURLWithPath: Paths.alveo).deletingLastPathComponent().appendingPathComponent("alveo-bench").path
        guard FileManager.default.isExecutableFile(atPath: bench) else { return }
        let help = try ChildProcess.run([bench, "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("usage: alveo-bench"))
        let unknown = try ChildProcess.run([bench, "no-such-benchmark"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("unknown benchmark 'no-such-benchmark'"))
    }
}

/// The class of the SIGILL that one large device value caused: a Double converted to an integer
/// with `Int64(x)`, which traps on NaN, infinities and anything out of range. Every such conversion
/// in Sources goes through `init(saturating:)` (or `clamping:` for integers); this scan fails on a new
/// plain one whose argument looks like a Double (rounded, Double(…), an exponent literal, a scale, a
/// number of seconds: the old `Int64(scaled / scale)` of `Fmt.fixed` is caught). A heuristic, not a
/// type check: the fuzz targets and TotalityTests catch what it misses.
@Suite(.endToEnd, .ownThread) struct ConversionLintTests {
    @Test func noPlainDoubleToIntegerConversionsInSources() throws {
        let sources = Paths.repository.appendingPathComponent("Sources")
        let enumerator = try #require(FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil))
        let call = try Regex(#"\b(U?Int(8|16|32|64)?)\((?!saturating:|clamping:|truncatingIfNeeded:|bitPattern:|exactly:|ascii:)([^()]|\([^()]*\))*\)"#)
        var offenders: [String] = []
        for case let url as URL in enumerator where url.pathExtension == "swift" {
            let text = try String(contentsOf: url, encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                for match in code.matches(of: call) {
                    let argument = code[match.range]
                    let doubleLike = ["rounded", "Double(", "1e", "scale", "seconds", "speed", "timeInterval", ".value *", "Float("]
                    if doubleLike.contains(where: { argument.contains($0) }) {
                        offenders.append("\(url.lastPathComponent):\(number + 1): \(argument)")
                    }
                }
            }
        }
        #expect(offenders.isEmpty, "plain Double → integer conversions (use init(saturating:)):\n\(offenders.joined(separator: "\n"))")
    }
}
