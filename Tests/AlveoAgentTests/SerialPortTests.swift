import AlveoTestKit
import Foundation
import Testing

/// The libserialport code path, end to end: `alveo serial-check` opens a socat pty through
/// libserialport (with the test-only LD_PRELOAD shim of Tests/Peers, since libserialport 0.1.1 does
/// not open ptys), writes a request and reads a pyserial peer's answer.
@Suite(.serialized, .endToEnd, .ownThread) struct SerialPortTests {
    static func buildShim(in directory: URL) throws -> String { try Shims.build("libserialport_pty_shim", in: directory) }

    @Test func serialCheckTalksToAPeerThroughLibserialport() throws {
        let directory = try Paths.temporaryDirectory()
        let shim = try Self.buildShim(in: directory)
        let a = directory.appendingPathComponent("ttyA").path, b = directory.appendingPathComponent("ttyB").path
        let socat = try RunningProcess(["socat", "pty,raw,echo=0,link=\(a)", "pty,raw,echo=0,link=\(b)"], directory: directory, name: "socat")
        defer { socat.kill() }
        #expect(waitUntil(timeout: 15) { FileManager.default.fileExists(atPath: a) && FileManager.default.fileExists(atPath: b) })
        let ready = directory.appendingPathComponent("peer.ready").path
        let peer = try RunningProcess(["python3", Paths.repository.appendingPathComponent("Tests/Peers/serial_peer.py").path,
                                       "--port", a, "--baud", "19200", "--expect", "1B51364300", "--reply", "015135320D", "--ready", ready],
                                      directory: directory, name: "peer")
        defer { peer.kill() }
        #expect(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: ready) }, "peer: \(peer.stderr)")

        // The symlink made by socat is followed, as /dev/serial/by-id links are on a real box.
        let result = try ChildProcess.run([Paths.alveo, "serial-check", "--path", b, "--baud", "19200", "--parity", "none",
                                           "--send", "1B 51 36 43 00", "--seconds", "1.5"], environment: ["LD_PRELOAD": shim])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.contains("opened \(b) at 19200 8N1"), "\(result.stdout)")
        #expect(result.stdout.contains("sent 5 bytes"))
        #expect(result.stdout.contains("received 5 bytes: 01 51 35 32 0D"), "\(result.stdout)")
    }

    @Test func missingPortIsAClearError() throws {
        let path = try Paths.temporaryDirectory().appendingPathComponent("ttyUSB9").path
        let result = try ChildProcess.run([Paths.alveo, "serial-check", "--path", path])
        #expect(result.status != 0)
        // The port named, what is wrong in words, what to check; no libserialport code up front.
        #expect(result.stderr.contains("\(path): no such serial port: the path does not exist."), "\(result.stderr)")
        #expect(result.stderr.contains("ls -l /dev/serial/by-id/") && !result.stderr.contains("find port failed"), "\(result.stderr)")
    }

    @Test func notASerialPortIsRefusedByLibserialport() throws {
        let path = try Paths.temporaryDirectory().appendingPathComponent("plain-file").path
        _ = FileManager.default.createFile(atPath: path, contents: Data())
        let result = try ChildProcess.run([Paths.alveo, "serial-check", "--path", path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(path): not a serial port"), "\(result.stderr)")
    }
}
