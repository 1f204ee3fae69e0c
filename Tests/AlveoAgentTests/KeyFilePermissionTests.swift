import AlveoTestKit
import AlveoAgent
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A TLS private key another user of the box could read is refused, as OpenSSH refuses its private
/// keys: by the configuration (so by `alveo check-config` and `alveo run` alike), for every key file
/// the configuration names (docs/security.md).
@Suite(.endToEnd, .ownThread) struct KeyFilePermissionTests {
    let directory: URL

    init() throws {
        directory = try Paths.temporaryDirectory()
    }

    /// A key file (its content does not matter before the TLS handshake) with `mode`.
    func keyFile(_ name: String, mode: mode_t) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(chmod(path, mode) == 0)
        return path
    }

    func certificate() throws -> String {
        let path = directory.appendingPathComponent("cert.pem").path
        try "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n".write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    /// A bed whose `place` names the key: the HL7 output's client key, the syslog output's, or the
    /// HL7 listener's.
    enum Place: String, CaseIterable, Sendable {
        case hl7Output = "outputs.hl7.tls.key_file", syslogOutput = "outputs.syslog.tls.key_file", listener = "inputs.hl7.tls.key_file"
    }

    func bed(key: String, at place: Place) throws -> String {
        let certificate = try certificate()
        let tls = "{cert_file: \(certificate), key_file: \(key)}"
        let profile = Paths.repository.appendingPathComponent("devices/alveo-gateway-v1/profile.yaml").path
        let text = """
            patient: {sex: female, height_cm: 160}
            devices:
              - {id: vent, profile: \(profile), transport: {kind: modbus_tcp, host: 127.0.0.1, port: \(freePort())}}
            control: {socket: \(directory.appendingPathComponent("alveo.sock").path)}
            outputs:
              journal: {directory: \(directory.appendingPathComponent("journal").path)}
              shutdown_budget_s: 1
              hl7: {host: 127.0.0.1, port: \(freePort()), bed_id: ICU-B1, patient_id: "12345"\(place == .hl7Output ? ", tls: \(tls)" : "")}
              syslog: {host: 127.0.0.1, port: \(freePort()), bed_id: ICU-B1\(place == .syslogOutput ? ", tls: \(tls)" : "")}
            inputs:
              hl7: {bind: 127.0.0.1, port: \(freePort()), allowed_senders: [LIS]\(place == .listener ? ", tls: {cert_file: \(certificate), key_file: \(key), client_ca_file: \(certificate)}" : "")}
            """
        let path = directory.appendingPathComponent("bed-\(place).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test(arguments: Place.allCases)
    func aKeyOthersCanReadIsRefusedWhereverItIsNamed(_ place: Place) throws {
        let open = try keyFile("open.key", mode: 0o644)
        let config = try bed(key: open, at: place)
        do throws(ConfigError) {
            _ = try AgentConfig.load(path: config)
            Issue.record("a world-readable key at \(place.rawValue) was taken")
        } catch {
            #expect(error.key == place.rawValue && error.message.contains(open) && error.message.contains("open to every user")
                    && error.message.contains("0644"), "\(error)")
        }
        let own = try keyFile("own.key", mode: 0o600)
        #expect(throws: Never.self) { try AgentConfig.load(path: try bed(key: own, at: place)) }
    }

    @Test func theRuleIsOpenSSHs() throws {
        let me = geteuid(), myGroup = getegid()
        for (mode, allowed) in [(mode_t(0o600), true), (0o400, true), (0o640, false), (0o660, false), (0o604, false), (0o602, false), (0o700, true)] {
            let path = try keyFile("mode-\(String(mode, radix: 8)).key", mode: mode)
            let problem = KeyFilePermissions.problem(path, user: me, groups: [myGroup])
            // Owned by this user: its group may not read it unless the owner is root (below).
            let expected = allowed || (me == 0 && mode == 0o640)
            #expect((problem == nil) == expected, "mode 0\(String(mode, radix: 8)): \(problem ?? "allowed")")
        }
        #expect(KeyFilePermissions.problem(directory.path)?.contains("not a regular file") == true)
        #expect(KeyFilePermissions.problem(directory.appendingPathComponent("none.key").path)?.contains("cannot be read") == true)
    }

    /// `root:GROUP 0640` is allowed only when GROUP is one of the agent's (Debian's ssl-cert); a key
    /// owned by another user than the agent's or root is not. Needs root to give files away.
    @Test(.enabled(if: getuid() == 0)) func aGroupMayReadARootKeyOnlyWhenItIsTheAgents() throws {
        let path = try keyFile("group.key", mode: 0o640)
        let agentGroup: gid_t = 4242, otherGroup: gid_t = 4343, agentUser: uid_t = 4444
        #expect(chown(path, 0, agentGroup) == 0)
        #expect(KeyFilePermissions.problem(path, user: agentUser, groups: [agentGroup]) == nil)
        #expect(KeyFilePermissions.problem(path, user: agentUser, groups: [otherGroup])?.contains("readable by its group") == true)
        #expect(chmod(path, 0o600) == 0 && chown(path, 4545, agentGroup) == 0)
        #expect(KeyFilePermissions.problem(path, user: agentUser, groups: [agentGroup])?.contains("owned by another user") == true)
        #expect(chown(path, agentUser, agentGroup) == 0)
        #expect(KeyFilePermissions.problem(path, user: agentUser, groups: [agentGroup]) == nil)
    }

    /// `alveo check-config` says which key and why (exit 78); `alveo run` refuses to start with it,
    /// logged as critical under systemd, and starts once the key is 0600.
    @Test func checkConfigAndRunRefuseAnOpenKey() throws {
        let key = try keyFile("bed.key", mode: 0o644)
        let config = try bed(key: key, at: .hl7Output)
        let check = try ChildProcess.run([Paths.alveo, "check-config", config])
        #expect(check.status == 78 && check.stderr.contains("outputs.hl7.tls.key_file") && check.stderr.contains("open to every user"),
                "\(check.status) \(check.stderr)")
        let run = try ChildProcess.run([Paths.alveo, "run", "--config", config], timeout: 60, environment: ["JOURNAL_STREAM": "8:1234"])
        #expect(run.status == 78 && run.stderr.hasPrefix("<2>error: ") && run.stderr.contains(key) && run.stderr.contains("does not start"),
                "\(run.status) \(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("journal").path), "nothing started")

        #expect(chmod(key, 0o600) == 0)
        let fixed = try ChildProcess.run([Paths.alveo, "check-config", config])
        #expect(fixed.status == 0 && fixed.stdout.contains("ok"), "\(fixed.status) \(fixed.stderr)")
        let agent = try RunningProcess([Paths.alveo, "run", "--config", config], directory: directory, name: "run")
        defer { agent.kill() }
        #expect(waitUntil(timeout: 60) { agent.stderr.contains("control API served") }, "\(agent.stderr)")
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 30) == 0, "\(agent.stderr)")
    }
}
