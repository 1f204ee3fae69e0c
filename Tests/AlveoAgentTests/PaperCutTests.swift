import AlveoTestKit
import AlveoAgent
import AlveoIO
import Foundation
import Testing

/// What a newcomer meets first (issue 27 part 5): a copied example configuration, `alveo run` without
/// `--config`, serial-check's line against the configuration's, and the examples in `--help`.
@Suite struct PaperCutTests {
    /// config/example-bed.yaml copied away from the repository: its relative profile paths no longer
    /// resolve, and the error names every path it looked at.
    @Test func aCopiedExampleConfigNamesThePathsItTried() throws {
        // One level down, so that "beside the configuration" (…/bed/../devices) is never the path from
        // the child's working directory (its own temporary directory's ../devices), which CI's layout
        // made equal when the copy sat directly in a temporary directory.
        let directory = try Paths.temporaryDirectory().appendingPathComponent("bed")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let copy = directory.appendingPathComponent("alveo.yaml").path
        try FileManager.default.copyItem(atPath: Paths.repository.appendingPathComponent("config/example-bed.yaml").path, toPath: copy)
        let result = try ChildProcess.run([Paths.alveo, "check-config", copy])
        #expect(result.status == 78, "\(result.status) \(result.stderr)")
        let besideConfig = directory.deletingLastPathComponent().appendingPathComponent("devices/alveo-gateway-v1/profile.yaml").path
        #expect(result.stderr.contains("\(copy):"), "the configuration: \(result.stderr)")
        #expect(result.stderr.contains("cannot find the profile ../devices/alveo-gateway-v1/profile.yaml: looked for \(besideConfig) (beside the configuration)"),
                "\(result.stderr)")
        #expect(result.stderr.contains("(from the working directory); neither exists") && result.stderr.contains("/usr/share/alveo/devices/"),
                "\(result.stderr)")
        #expect(!result.stderr.contains("does it exist?"), "\(result.stderr)")
    }

    /// An absolute profile path that is not there says so, with the path.
    @Test func aMissingAbsoluteProfileIsNamed() throws {
        let yaml = """
            patient: {sex: female, height_cm: 160}
            devices:
              - id: vent
                profile: /nonexistent/alveo/profile.yaml
                transport: {kind: modbus_tcp, host: 127.0.0.1}
            """
        #expect(throws: ConfigError.self) { try AgentConfig.parse(yaml: yaml, file: "bed.yaml") }
        do {
            _ = try AgentConfig.parse(yaml: yaml, file: "bed.yaml")
        } catch {
            #expect(error.description == "bed.yaml:4: devices[0].profile: /nonexistent/alveo/profile.yaml does not exist", "\(error)")
        }
    }

    /// `alveo run` and `check-config` read the Debian package's /etc/alveo/alveo.yaml when no file is named.
    @Test func runAndCheckConfigDefaultToTheInstalledConfiguration() throws {
        for command in ["run", "check-config"] {
            let help = try Self.help(command)
            #expect(help.contains("(default: /etc/alveo/alveo.yaml)"), "\(command): \(help)")
        }
        #expect(try Self.help("run").contains("[--config <config>]"), "--config is optional")
        // On a box without the package, both say which file they looked for (never start polling here).
        guard !FileManager.default.fileExists(atPath: AgentConfig.defaultPath) else { return }
        for command in [["check-config"], ["run"]] {
            let result = try ChildProcess.run([Paths.alveo] + command, timeout: 60)
            #expect(result.status == 78 && result.stderr.contains("/etc/alveo/alveo.yaml"), "\(command): \(result.status) \(result.stderr)")
        }
    }

    /// serial-check opens a line as `alveo run` does when the configuration gives no baud: a bare check
    /// (a Modbus RTU request) as a `modbus_rtu` device, with --protocol as a `kind: serial` device.
    @Test func serialCheckDefaultsToTheConfigurationsLine() throws {
        let profile = Paths.repository.appendingPathComponent("devices/alveo-gateway-v1/profile.yaml").path
        let config = try AgentConfig.parse(yaml: """
            patient: {sex: female, height_cm: 160}
            devices:
              - id: oxi
                profile: \(profile)
                transport: {kind: modbus_rtu, path: /dev/ttyUSB0}
              - id: vent
                transport: {kind: serial, protocol: pb840, path: /dev/ttyUSB1}
            """, file: "bed.yaml")
        guard case .rtu(_, let rtuBaud, let parity, let dataBits, let stopBits) = try #require(config.devices.first).endpoint else {
            Issue.record("not RTU")
            return
        }
        #expect(rtuBaud == 19200 && parity == .none && dataBits == 8 && stopBits == 1)
        #expect(Commands.SerialCheck.defaultBaud(driverName: nil) == rtuBaud)
        let serial = try #require(config.serialDevices.first)
        #expect(Commands.SerialCheck.defaultBaud(driverName: "pb840") == serial.settings.baud)
        // A protocol that usually runs otherwise is noted (MEDIBUS: 19200 8E1).
        let medibus = Commands.SerialCheck(path: "/dev/ttyUSB0", baud: Commands.SerialCheck.defaultBaud(driverName: "medibus"), dataBits: 8,
                                           parity: "none", stopBits: 1, flow: "none", send: nil, seconds: 1, driverName: "medibus")
        #expect(medibus.lineNote()?.contains("medibus devices usually run at 19200 8E1") == true, "\(String(describing: medibus.lineNote()))")
        let help = try Self.help("serial-check")
        #expect(help.contains("19200 as a modbus_rtu device; with --protocol, 9600 as a kind: serial device"), "\(help)")
    }

    /// Every repository path the CLI's help names (an example trace, a scenario, a configuration) exists.
    @Test func theHelpNamesFilesThatExist() throws {
        let sources = Paths.repository.appendingPathComponent("Sources/alveo")
        let pattern = try Regex(#"(?:devices|config)/[A-Za-z0-9_./-]+\.(?:alvtrace|csv|yaml)"#)
        var named: Set<String> = []
        for file in try FileManager.default.contentsOfDirectory(atPath: sources.path) where file.hasSuffix(".swift") {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for match in text.matches(of: pattern) { named.insert(String(text[match.range])) }
        }
        #expect(named.count >= 3, "\(named)")
        for path in named.sorted() {
            #expect(FileManager.default.fileExists(atPath: Paths.repository.appendingPathComponent(path).path), "\(path) is named in --help")
        }
        #expect(try Self.help("report").contains("alveo report devices/pb840/traces/pb840-faults.alvtrace -o report.html"))
    }

    /// A command's --help with its lines unwrapped (the wrapping follows the terminal's width).
    static func help(_ command: String) throws -> String {
        let result = try ChildProcess.run([Paths.alveo, command, "--help"])
        return result.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
    }
}
