import AlveoTestKit
import Foundation
import Testing

/// The outputs over TLS, against the same real receivers: python-hl7 with an ssl context (MLLP over
/// TLS) and rsyslog with its GnuTLS driver (RFC 5425). Certificates are made by the test with openssl.
@Suite(.serialized, .endToEnd, .ownThread) struct TLSOutputTests {
    let directory: URL

    init() throws {
        directory = try Paths.temporaryDirectory()
    }

    /// A CA and a server certificate for 127.0.0.1 signed by it; a second, unrelated CA.
    func makeCertificates() throws -> (ca: String, cert: String, key: String, otherCA: String) {
        let d = directory.path
        let steps: [[String]] = [
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Alveo Test CA",
             "-keyout", "\(d)/ca.key", "-out", "\(d)/ca.pem"],
            ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "\(d)/server.key", "-out", "\(d)/server.csr"],
            ["sh", "-c", "printf 'subjectAltName=IP:127.0.0.1\\n' > \(d)/san.ext"],
            ["openssl", "x509", "-req", "-in", "\(d)/server.csr", "-CA", "\(d)/ca.pem", "-CAkey", "\(d)/ca.key", "-CAcreateserial",
             "-days", "2", "-extfile", "\(d)/san.ext", "-out", "\(d)/server.pem"],
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Other CA",
             "-keyout", "\(d)/other.key", "-out", "\(d)/other.pem"],
        ]
        for step in steps {
            let result = try ChildProcess.run(step)
            #expect(result.status == 0, "\(step.joined(separator: " ")): \(result.stderr)")
        }
        return ("\(d)/ca.pem", "\(d)/server.pem", "\(d)/server.key", "\(d)/other.pem")
    }

    /// rsyslog with its GnuTLS driver on `port`; `authMode` "anon" or "x509/certvalid" (client certificates required).
    func startTLSRsyslog(port: Int, certificates: (ca: String, cert: String, key: String, otherCA: String), authMode: String,
                         logFile: String, name: String) throws -> RunningProcess
    {
        let work = directory.appendingPathComponent("\(name)-work").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let conf = directory.appendingPathComponent("\(name).conf").path
        try """
            global(workDirectory="\(work)" DefaultNetstreamDriver="gtls"
                   DefaultNetstreamDriverCAFile="\(certificates.ca)"
                   DefaultNetstreamDriverCertFile="\(certificates.cert)"
                   DefaultNetstreamDriverKeyFile="\(certificates.key)")
            module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="\(authMode)")
            input(type="imtcp" address="127.0.0.1" port="\(port)")
            action(type="omfile" file="\(logFile)" template="RSYSLOG_SyslogProtocol23Format")
            """.write(toFile: conf, atomically: true, encoding: .utf8)
        let rsyslog = try RunningProcess(["rsyslogd", "-n", "-f", conf, "-i", directory.appendingPathComponent("\(name).pid").path],
                                         directory: directory, name: name)
        #expect(waitUntil(timeout: 30) { isListening(port) || rsyslog.poll() != nil }, "\(rsyslog.stderr)")
        return rsyslog
    }

    func scenario(events: Int) throws -> String {
        let text = TogglingScenario.text(events: events)
        let path = directory.appendingPathComponent("toggle.csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func hl7OverTLSIsDeliveredAndAnUntrustedReceiverIsRefused() throws {
        let certificates = try makeCertificates()
        let port = freePort()
        let log = directory.appendingPathComponent("received.jsonl").path
        let ready = directory.appendingPathComponent("ready").path
        let receiver = try RunningProcess(["python3", Paths.repository.appendingPathComponent("Tests/Peers/hl7_receiver.py").path,
                                           "--port", "\(port)", "--log", log, "--ready", ready,
                                           "--tls-cert", certificates.cert, "--tls-key", certificates.key],
                                          directory: directory, name: "receiver")
        defer { receiver.kill() }
        #expect(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: ready) }, "\(receiver.stderr)")

        func config(ca: String, journal: String) throws -> String {
            let path = directory.appendingPathComponent("\(journal).yaml").path
            try """
                patient: {sex: female, height_cm: 160}
                rules:
                \(TogglingScenario.ruleLines)
                outputs:
                  journal: {directory: \(journal)}
                  hl7: {host: 127.0.0.1, port: \(port), bed_id: ICU-B1, patient_id: "1", tls: {ca_file: \(ca)}}
                """.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let trusted = try ChildProcess.run([Paths.alveo, "replay", "--config", try config(ca: certificates.ca, journal: "j1"),
                                            try scenario(events: 4)])
        #expect(trusted.status == 0, "\(trusted.stderr)")
        let received = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(received.count == 4)
        #expect(received.first?.contains("\"control_id\": \"ICU-B1-1\"") == true)

        let untrusted = try ChildProcess.run([Paths.alveo, "replay", "--config", try config(ca: certificates.otherCA, journal: "j2"),
                                              "--drain-timeout", "2", try scenario(events: 2)])
        #expect(untrusted.status == 75, "nothing is delivered to a receiver whose certificate is not trusted")
        #expect(untrusted.stderr.contains("TLS handshake failed: certificate not accepted"), "\(untrusted.stderr)")
    }

    @Test func syslogOverTLSToRsyslog() throws {
        let certificates = try makeCertificates()
        let port = freePort()
        let logFile = directory.appendingPathComponent("messages.log").path
        let rsyslog = try startTLSRsyslog(port: port, certificates: certificates, authMode: "anon", logFile: logFile, name: "rsyslog")
        defer { rsyslog.kill() }
        let config = directory.appendingPathComponent("bed.yaml").path
        try """
            patient: {sex: female, height_cm: 160}
            rules:
            \(TogglingScenario.ruleLines)
            outputs:
              journal: {directory: journal}
              syslog: {host: 127.0.0.1, port: \(port), bed_id: ICU-B1, hostname: bed-b1, tls: {ca_file: \(certificates.ca)}}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let result = try ChildProcess.run([Paths.alveo, "replay", "--config", config, try scenario(events: 6)])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(waitUntil(timeout: 15) {
            ((try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "").split(separator: "\n").count == 6
        }, "\(rsyslog.stderr)")
        let first = ((try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "").split(separator: "\n").first ?? ""
        #expect(first.hasPrefix("<132>1 "))
        #expect(first.contains("[alarm@32473 bed=\"ICU-B1\" seq=\"1\""))
    }

    /// What is guaranteed against a receiver that rejects the missing client certificate only after
    /// the TLS 1.3 handshake: it writes nothing, and the agent sees the rejection (connection reset)
    /// and keeps trying. How many entries the agent counts delivered before the rejection arrives is a
    /// race (docs/integration.md §3.5: TCP acknowledges bytes rsyslog then drops); on an idle machine
    /// it is usually none, under load one or two were (make test-under-load), so the count is not
    /// asserted here. RELP's confirmation closes the race: over `protocol: relp` the same setup counts
    /// nothing delivered (SyslogRELPTests.overTLSWithAClientCertificateAsImrelpRequiresIt).
    @Test func syslogReceiverRequiringAClientCertificateWritesNothingAndTheAgentSeesTheRejection() throws {
        let certificates = try makeCertificates()
        let port = freePort()
        let rsyslog = try startTLSRsyslog(port: port, certificates: certificates, authMode: "x509/certvalid",
                                          logFile: directory.appendingPathComponent("x509.log").path, name: "rsyslog-x509")
        defer { rsyslog.kill() }
        let config = directory.appendingPathComponent("x509.yaml").path
        try """
            patient: {sex: female, height_cm: 160}
            rules:
            \(TogglingScenario.ruleLines)
            outputs:
              journal: {directory: journal-x509}
              syslog: {host: 127.0.0.1, port: \(port), bed_id: ICU-B1, resend_window_s: 0, tls: {ca_file: \(certificates.ca)}}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let result = try ChildProcess.run([Paths.alveo, "replay", "--config", config, "--drain-timeout", "3", try scenario(events: 6)])
        #expect(result.stderr.contains("reconnecting") || result.stderr.contains("reset") || result.stderr.contains("TLS"),
                "the agent saw the rejection: \(result.stderr.suffix(2000))")
        let written = (try? String(contentsOfFile: directory.appendingPathComponent("x509.log").path, encoding: .utf8)) ?? ""
        #expect(!written.contains("alarm@32473"), "the receiver wrote a message from a client without a certificate: \(written)")
    }
}
