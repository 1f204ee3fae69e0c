import Foundation
import Testing

/// The real receivers the end-to-end tests deliver to, started the same way everywhere.
package enum Receivers {
    /// Debian's rsyslogd with an imtcp input on 127.0.0.1:`port` and a file output (`logFile`) in
    /// RFC 5424 form; returns once it listens.
    package static func rsyslog(port: Int, logFile: String, in directory: URL, name: String = "rsyslog") throws -> RunningProcess {
        let work = directory.appendingPathComponent("\(name)-work").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let conf = directory.appendingPathComponent("\(name).conf").path
        try """
            global(workDirectory="\(work)")
            module(load="imtcp")
            input(type="imtcp" address="127.0.0.1" port="\(port)")
            action(type="omfile" file="\(logFile)" template="RSYSLOG_SyslogProtocol23Format")
            """.write(toFile: conf, atomically: true, encoding: .utf8)
        let rsyslog = try RunningProcess(["rsyslogd", "-n", "-f", conf, "-i", directory.appendingPathComponent("\(name).pid").path],
                                         directory: directory, name: name)
        #expect(waitUntil(timeout: 30) { isListening(port) || rsyslog.poll() != nil },
                "rsyslogd did not start (installed? make test-deps): \(rsyslog.stderr)")
        return rsyslog
    }

    /// Debian's rsyslogd with an imrelp input (package rsyslog-relp) on 127.0.0.1:`port` and the same
    /// file output; with `tls`, RELP over TLS as a site sets it up (`tls="on"`): the server presents
    /// `cert` and requires a client certificate signed by `ca` (`tls.authmode="certvalid"`). Returns
    /// once it listens.
    package static func rsyslogRELP(port: Int, logFile: String, in directory: URL, name: String = "rsyslog",
                                    tls: (ca: String, cert: String, key: String)? = nil) throws -> RunningProcess
    {
        let work = directory.appendingPathComponent("\(name)-work").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let conf = directory.appendingPathComponent("\(name).conf").path
        let tlsParameters = tls.map {
            #" tls="on" tls.cacert="\#($0.ca)" tls.mycert="\#($0.cert)" tls.myprivkey="\#($0.key)" tls.authmode="certvalid""#
        } ?? ""
        try """
            global(workDirectory="\(work)")
            module(load="imrelp")
            input(type="imrelp" address="127.0.0.1" port="\(port)"\(tlsParameters))
            action(type="omfile" file="\(logFile)" template="RSYSLOG_SyslogProtocol23Format")
            """.write(toFile: conf, atomically: true, encoding: .utf8)
        let rsyslog = try RunningProcess(["rsyslogd", "-n", "-f", conf, "-i", directory.appendingPathComponent("\(name).pid").path],
                                         directory: directory, name: name)
        #expect(waitUntil(timeout: 30) { isListening(port) || rsyslog.poll() != nil },
                "rsyslogd with imrelp did not start (rsyslog-relp installed? make test-deps): \(rsyslog.stderr)")
        return rsyslog
    }

    /// Tests/Peers/relp_peer.py: a small RELP server that misbehaves on request (`--mode status|malformed|
    /// silent|garbage|no-syslog`, `--bad N` times), logging each syslog command to `log`; returns once it listens.
    package static func relpPeer(port: Int, log: String, in directory: URL, name: String = "relp-peer", arguments: [String] = []) throws -> RunningProcess {
        let ready = directory.appendingPathComponent("\(name).ready").path
        try? FileManager.default.removeItem(atPath: ready)
        let peer = try RunningProcess(["python3", Paths.repository.appendingPathComponent("Tests/Peers/relp_peer.py").path, "--port", "\(port)",
                                       "--log", log, "--ready", ready] + arguments, directory: directory, name: name)
        #expect(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: ready) || peer.poll() != nil },
                "the RELP peer did not start: \(peer.stderr)")
        return peer
    }

    /// Tests/Peers/acm_peer.py: an IHE ACM alert manager on `port` (takes Alveo's PCD-04, logs each to
    /// `log`) that answers selected alerts with PCD-05 status reports to Alveo's listener; returns once it listens.
    package static func alertManager(port: Int, log: String, in directory: URL, name: String = "alert-manager", arguments: [String]) throws -> RunningProcess {
        let ready = directory.appendingPathComponent("\(name).ready").path
        try? FileManager.default.removeItem(atPath: ready)
        let peer = try RunningProcess(["python3", Paths.repository.appendingPathComponent("Tests/Peers/acm_peer.py").path, "--port", "\(port)",
                                       "--log", log, "--ready", ready] + arguments, directory: directory, name: name)
        #expect(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: ready) || peer.poll() != nil },
                "the alert manager peer did not start: \(peer.stderr)")
        return peer
    }

    /// Tests/Peers/modbus_peer.py (pymodbus) with `arguments` (`--tcp PORT --ir …`, `--rtu PATH …`);
    /// returns once it serves.
    package static func modbusPeer(_ arguments: [String], in directory: URL, name: String = "peer") throws -> RunningProcess {
        let ready = directory.appendingPathComponent("\(name).ready").path
        try? FileManager.default.removeItem(atPath: ready)
        let peer = try RunningProcess(["python3", Paths.repository.appendingPathComponent("Tests/Peers/modbus_peer.py").path, "--ready", ready]
                                      + arguments, directory: directory, name: name)
        #expect(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: ready) || peer.poll() != nil },
                "the Modbus peer did not start: \(peer.stderr)")
        #expect(peer.poll() == nil, "the Modbus peer exited (is pymodbus installed? make test-deps): \(peer.stderr)")
        return peer
    }

    /// Tests/Peers/hl7_receiver.py (python-hl7's MLLP server, hl7apy validation) on `port`, logging
    /// each message to `log`; returns once it listens.
    package static func hl7(port: Int, log: String, in directory: URL, name: String = "receiver", arguments: [String] = []) throws -> RunningProcess {
        let ready = directory.appendingPathComponent("\(name).ready").path
        let receiver = try RunningProcess(["python3", Paths.repository.appendingPathComponent("Tests/Peers/hl7_receiver.py").path, "--port", "\(port)", "--log", log, "--ready", ready] + arguments,
                                          directory: directory, name: name)
        #expect(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: ready) || receiver.poll() != nil },
                "receiver did not start (python-hl7 and hl7apy installed? make test-deps): \(receiver.stderr)")
        return receiver
    }
}
