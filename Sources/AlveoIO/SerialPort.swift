import AlveoCore
import CSerialPort
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Serial flow control.
package enum FlowControl: String, Sendable, CaseIterable {
    case none, xonxoff, rtscts
}

/// Line settings of a serial port, all from configuration (devices set theirs in their own menus).
package struct SerialSettings: Sendable, Equatable {
    package var baud: Int
    package var dataBits: Int
    package var parity: Parity
    package var stopBits: Int
    package var flowControl: FlowControl

    package init(baud: Int, dataBits: Int = 8, parity: Parity = .none, stopBits: Int = 1, flowControl: FlowControl = .none) {
        self.baud = baud
        self.dataBits = dataBits
        self.parity = parity
        self.stopBits = stopBits
        self.flowControl = flowControl
    }
}

/// A libserialport failure as a value: the operation, the port, the sp_return code and the OS message.
package struct SerialPortError: Error, CustomStringConvertible, Sendable, Equatable {
    package var operation: String
    package var path: String
    /// The `sp_return` value: −1 SP_ERR_ARG, −2 SP_ERR_FAIL, −3 SP_ERR_MEM, −4 SP_ERR_SUPP.
    package var code: Int32
    /// For SP_ERR_FAIL: the operating system's error code and message.
    package var osCode: Int32?
    package var osMessage: String?

    package init(operation: String, path: String, code: Int32, osCode: Int32? = nil, osMessage: String? = nil) {
        self.operation = operation
        self.path = path
        self.code = code
        self.osCode = osCode
        self.osMessage = osMessage
    }

    package var description: String {
        if let plain = plainDescription { return plain }
        let what: String
        switch code {
        case -1: what = "invalid argument (SP_ERR_ARG)\(operation.hasPrefix("find port") ? ": no such serial port" : "")"
        case -2: what = "system error (SP_ERR_FAIL): \(osMessage ?? "?") (errno \(osCode ?? 0))"
        case -3: what = "out of memory (SP_ERR_MEM)"
        case -4: what = "not supported on this port (SP_ERR_SUPP)"
        default: what = "error \(code)"
        }
        return "\(path): \(operation) failed: \(what)"
    }

    /// What people wiring a device meet most (no such port, not a serial port, no permission, busy), said
    /// plainly with the port's path and what to check; libserialport's code is kept at the end for support.
    private var plainDescription: String? {
        let finding = operation == "find port", opening = operation == "open"
        guard finding || opening else { return nil }
        let detail = code == -2 ? " (\(osMessage ?? "?"), errno \(osCode ?? 0))" : code == -1 ? " (SP_ERR_ARG)" : ""
        switch (code, osCode) {
        case (-2, ENOENT?) where finding:
            return "\(path): no such serial port: the path does not exist. Is the device's cable or USB adapter plugged in? "
                + "`ls -l /dev/serial/by-id/` lists the adapters present\(detail)"
        case (-2, ENOTDIR?) where finding:
            return "\(path): no such serial port: a part of the path is not a directory\(detail)"
        case (-1, _) where finding:
            return "\(path): not a serial port: the path exists, but libserialport finds no serial device there\(detail)"
        case (-2, EACCES?), (-2, EPERM?):
            return "\(path): the serial port cannot be opened: permission denied. The user running alveo needs the port's group "
                + "(usually dialout: `ls -l \(path)`)\(detail)"
        case (-2, EBUSY?):
            return "\(path): the serial port cannot be opened: it is in use by another program (stop it, or `alveo run`, first)\(detail)"
        case (-2, _):
            return "\(path): the serial port cannot be \(finding ? "found" : "opened")\(detail)"
        default:
            return nil
        }
    }

    /// The line hung up: the device side went away (a USB adapter unplugged, the far end of a
    /// pseudo-terminal closed). Reads then return 0 bytes at once forever; the poller must reopen.
    package var isHangUp: Bool { operation.hasPrefix("read (hang-up") }

    static func hangUp(_ path: String, detail: String) -> SerialPortError {
        SerialPortError(operation: "read (hang-up: \(detail); the device or its adapter went away)", path: path, code: -2,
                        osCode: EIO, osMessage: "line hung up")
    }

    /// Reads libserialport's last error for this thread.
    static func check(_ result: sp_return, _ operation: String, _ path: String) throws(SerialPortError) {
        guard result.rawValue < 0 else { return }
        throw make(result.rawValue, operation, path)
    }

    static func make(_ code: Int32, _ operation: String, _ path: String) -> SerialPortError {
        var error = SerialPortError(operation: operation, path: path, code: code)
        if code == SP_ERR_FAIL.rawValue {
            error.osCode = sp_last_error_code()
            if let message = sp_last_error_message() {
                error.osMessage = String(cString: message).trimmingTrailingNewlines
                sp_free_error_message(message)
            }
        }
        return error
    }
}

/// One open serial port over libserialport. The `sp_port` is owned here alone, every call runs under
/// the lock, and `deinit` closes and frees it. Blocking reads belong on a bus's own thread.
package final class SerialPort: Sendable {
    private let port: Mutex<OpaquePointer>
    /// A read saw the line hang up after it had bytes to return: the next read throws.
    private let hungUp = Mutex(false)
    package let path: String
    package let settings: SerialSettings

    /// Finds, opens and configures the port (`sp_get_port_by_name`, `sp_open`, `sp_set_*`).
    package init(path: String, settings: SerialSettings) throws(SerialPortError) {
        self.path = path
        self.settings = settings
        // libserialport does not follow symlinks such as /dev/serial/by-id/...: resolve them first.
        var target = path
        if let resolved = realpath(path, nil) {
            target = String(cString: resolved)
            free(resolved)
        } else {
            throw SerialPortError(operation: "find port", path: path, code: -2, osCode: errno,
                                  osMessage: String(cString: strerror(errno)))
        }
        var found: OpaquePointer?
        do { try SerialPortError.check(sp_get_port_by_name(target, &found), "find port", path) } catch {
            // A pseudo-terminal (`alveo simulate`'s serial devices, socat): libserialport 0.1.1 sees no
            // serial port there. Say so, rather than leave the engineer hunting a cable.
            var error = error
            if error.code == SP_ERR_ARG.rawValue, target.hasPrefix("/dev/pts/") {
                error.operation = "find port (\(target) is a pseudo-terminal, which this libserialport does not open; "
                    + "alveo simulate's serial devices need the test shim, see README)"
            }
            throw error
        }
        guard let handle = found else { throw SerialPortError(operation: "find port", path: path, code: -1) }
        let opened = sp_open(handle, SP_MODE_READ_WRITE)
        if opened.rawValue < 0 {
            let error = SerialPortError.make(opened.rawValue, "open", path)
            sp_free_port(handle)
            throw error
        }
        let parity: sp_parity = switch settings.parity {
        case .none: SP_PARITY_NONE
        case .even: SP_PARITY_EVEN
        case .odd: SP_PARITY_ODD
        }
        let flow: sp_flowcontrol = switch settings.flowControl {
        case .none: SP_FLOWCONTROL_NONE
        case .xonxoff: SP_FLOWCONTROL_XONXOFF
        case .rtscts: SP_FLOWCONTROL_RTSCTS
        }
        let steps: [(String, () -> sp_return)] = [
            ("set baud rate \(settings.baud)", { sp_set_baudrate(handle, Int32(clamping: settings.baud)) }),
            ("set \(settings.dataBits) data bits", { sp_set_bits(handle, Int32(clamping: settings.dataBits)) }),
            ("set parity \(settings.parity.rawValue)", { sp_set_parity(handle, parity) }),
            ("set \(settings.stopBits) stop bits", { sp_set_stopbits(handle, Int32(clamping: settings.stopBits)) }),
            ("set flow control \(settings.flowControl.rawValue)", { sp_set_flowcontrol(handle, flow) }),
        ]
        for (operation, step) in steps {
            let result = step()
            if result.rawValue < 0 {
                let error = SerialPortError.make(result.rawValue, operation, path)
                sp_close(handle)
                sp_free_port(handle)
                throw error
            }
        }
        port = Mutex(handle)
    }

    deinit {
        port.withLock { handle in
            sp_close(handle)
            sp_free_port(handle)
        }
    }

    /// Reads up to `maxCount` bytes, returning what arrived within `timeout` (possibly nothing).
    ///
    /// Not `sp_blocking_read`: on a line that hung up (a USB adapter pulled, the far end of a pty
    /// closed) it gets 0 bytes at once, again and again, until its timeout, and returns 0 as if
    /// nothing had arrived, so a streaming device was never reopened and its poller spun a core.
    /// Here `poll(2)` on the port's descriptor waits for data, and POLLHUP, POLLERR, POLLNVAL or an
    /// end of file (`read(2)` giving 0 after POLLIN) is a hang-up: the bytes read before it are
    /// returned, and this read or the next throws `SerialPortError` with `isHangUp`.
    package func read(maxCount: Int, timeout: Duration) throws(SerialPortError) -> [UInt8] {
        if hungUp.withLock({ $0 }) { throw SerialPortError.hangUp(path, detail: "end of file") }
        var buffer = [UInt8](repeating: 0, count: max(1, maxCount))
        var filled = 0
        var failure: SerialPortError?
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        port.withLock { handle in
            var descriptor: Int32 = -1
            let status = sp_get_port_handle(handle, &descriptor)
            guard status.rawValue >= 0, descriptor >= 0 else {
                failure = SerialPortError.make(status.rawValue, "read (get the port's descriptor)", path)
                return
            }
            while filled < maxCount {
                let left = clock.now.duration(to: deadline)
                var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                let ready = poll(&poller, 1, Int32(clamping: max(0, left.wholeNanoseconds / 1_000_000)))
                if ready < 0 {
                    if errno == EINTR { continue }
                    failure = SerialPortError(operation: "read (poll)", path: path, code: -2, osCode: errno,
                                              osMessage: String(cString: strerror(errno)))
                    return
                }
                if ready == 0 { return }  // the timeout passed
                if poller.revents & Int16(POLLIN) != 0 {
                    let got = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + filled, maxCount - filled) }
                    if got > 0 {
                        filled += got
                        continue
                    }
                    if got == 0 {
                        failure = SerialPortError.hangUp(path, detail: "end of file")
                        return
                    }
                    if errno == EINTR || errno == EAGAIN { continue }
                    failure = SerialPortError(operation: "read", path: path, code: -2, osCode: errno,
                                              osMessage: String(cString: strerror(errno)))
                    return
                }
                if poller.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 {
                    let what = poller.revents & Int16(POLLNVAL) != 0 ? "POLLNVAL" : (poller.revents & Int16(POLLHUP) != 0 ? "POLLHUP" : "POLLERR")
                    failure = SerialPortError.hangUp(path, detail: what)
                    return
                }
            }
        }
        if let failure {
            // What arrived before the failure is handed over now; the next read reports it.
            guard filled > 0 else { throw failure }
            if failure.isHangUp { hungUp.withLock { $0 = true } }
        }
        return Array(buffer.prefix(filled))
    }

    /// Writes all of `bytes` or fails after `timeout` (`sp_blocking_write`); returns the count written.
    @discardableResult
    package func write(_ bytes: [UInt8], timeout: Duration) throws(SerialPortError) -> Int {
        let milliseconds = UInt32(clamping: max(0, timeout.wholeNanoseconds / 1_000_000))
        let result: Int32 = port.withLock { handle in
            bytes.withUnsafeBytes { sp_blocking_write(handle, $0.baseAddress, bytes.count, milliseconds).rawValue }
        }
        if result < 0 { throw SerialPortError.make(result, "write", path) }
        if Int(result) < bytes.count {
            // A short write: the line did not take the bytes in time (e.g. RTS/CTS flow control with
            // CTS not wired). Say so rather than leave the device waiting for a command never sent.
            throw SerialPortError(operation: "write (\(result) of \(bytes.count) bytes within the timeout; check flow control)",
                                  path: path, code: -2, osCode: 110, osMessage: "timed out")
        }
        return Int(result)
    }
}

extension String {
    var trimmingTrailingNewlines: String {
        var text = self
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        return text
    }
}
