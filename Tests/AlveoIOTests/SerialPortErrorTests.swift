import AlveoIO
import Foundation
import Testing

/// What an engineer wiring a device reads when the port is not there or not a serial port (issue 27):
/// the path, what is wrong in words and what to check; libserialport's code only at the end.
@Suite struct SerialPortErrorTests {
    @Test func aMissingPortIsNamedAndSaidNotToExist() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("alveo-no-such-tty-\(UInt32.random(in: 0...UInt32.max))").path
        do {
            _ = try SerialPort(path: path, settings: SerialSettings(baud: 19200))
            Issue.record("opened \(path)")
        } catch {
            #expect(error.description.hasPrefix("\(path): no such serial port: the path does not exist."), "\(error)")
            #expect(error.description.contains("/dev/serial/by-id/") && error.description.hasSuffix("(No such file or directory, errno 2)"), "\(error)")
            #expect(!error.description.contains("find port failed"))
        }
    }

    @Test func theCommonFailuresReadPlainly() {
        let denied = SerialPortError(operation: "open", path: "/dev/ttyUSB0", code: -2, osCode: EACCES, osMessage: "Permission denied")
        #expect(denied.description.hasPrefix("/dev/ttyUSB0: the serial port cannot be opened: permission denied."), "\(denied)")
        let busy = SerialPortError(operation: "open", path: "/dev/ttyUSB0", code: -2, osCode: EBUSY, osMessage: "Device or resource busy")
        #expect(busy.description.contains("in use by another program"), "\(busy)")
        let notSerial = SerialPortError(operation: "find port", path: "/tmp/file", code: -1)
        #expect(notSerial.description == "/tmp/file: not a serial port: the path exists, but libserialport finds no serial device there (SP_ERR_ARG)")
        // Reads and settings keep libserialport's wording (the poller's logs and status).
        let read = SerialPortError(operation: "read", path: "/dev/ttyUSB0", code: -2, osCode: EIO, osMessage: "Input/output error")
        #expect(read.description == "/dev/ttyUSB0: read failed: system error (SP_ERR_FAIL): Input/output error (errno 5)")
    }
}
