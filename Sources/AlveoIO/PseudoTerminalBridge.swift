import CSerialPort
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A virtual null-modem cable made of two pseudo-terminals joined by a copying thread (what
/// `socat pty pty` does): a simulated serial device opens one end, the agent the other, each by a
/// stable symlink. Lives until the process exits.
package final class PseudoTerminalBridge: Sendable {
    /// Symlinks to the two ends' /dev/pts paths.
    package let deviceEnd: String
    package let agentEnd: String

    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    package init(deviceEnd: String, agentEnd: String) throws {
        self.deviceEnd = deviceEnd
        self.agentEnd = agentEnd
        let first = try PseudoTerminalBridge.openPair(link: deviceEnd)
        let second = try PseudoTerminalBridge.openPair(link: agentEnd)
        let masters = (first, second)
        let thread = Thread {
            PseudoTerminalBridge.copy(between: masters.0, and: masters.1)
        }
        thread.name = "alveo-pty-bridge"
        thread.start()
    }

    /// Opens a pty master, makes its slave raw, keeps the slave open (so the master never reads EIO
    /// while nobody has the device open) and links `link` to the slave path. Returns the master fd.
    static func openPair(link: String) throws -> Int32 {
        let master = alveo_posix_openpt(O_RDWR | O_NOCTTY)
        guard master >= 0, alveo_grantpt(master) == 0, alveo_unlockpt(master) == 0 else {
            throw Failure(description: "cannot open a pseudo-terminal: \(String(cString: strerror(errno)))")
        }
        var name = [CChar](repeating: 0, count: 128)
        guard alveo_ptsname_r(master, &name, name.count) == 0 else {
            throw Failure(description: "cannot name the pseudo-terminal: \(String(cString: strerror(errno)))")
        }
        let slavePath = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let slave = open(slavePath, O_RDWR | O_NOCTTY)
        guard slave >= 0 else { throw Failure(description: "cannot open \(slavePath): \(String(cString: strerror(errno)))") }
        var settings = termios()
        tcgetattr(slave, &settings)
        cfmakeraw(&settings)
        tcsetattr(slave, TCSANOW, &settings)
        unlink(link)
        guard symlink(slavePath, link) == 0 else {
            throw Failure(description: "cannot create the link \(link): \(String(cString: strerror(errno)))")
        }
        return master
    }

    private static func copy(between a: Int32, and b: Int32) {
        var fds = [pollfd(fd: a, events: Int16(POLLIN), revents: 0), pollfd(fd: b, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            guard poll(&fds, 2, -1) > 0 else { continue }
            for (index, entry) in fds.enumerated() where entry.revents & Int16(POLLIN) != 0 {
                let count = read(entry.fd, &buffer, buffer.count)
                guard count > 0 else { continue }
                let target = index == 0 ? b : a
                var written = 0
                while written < count {
                    let n = buffer.withUnsafeBufferPointer { write(target, $0.baseAddress! + written, count - written) }
                    if n <= 0 { break }
                    written += n
                }
            }
        }
    }
}

/// One pseudo-terminal whose master side a simulated serial device uses directly, and whose slave
/// side the agent opens through `link`. The master descriptor is owned here and lives with the process.
package final class PseudoTerminal: Sendable {
    package let link: String
    private let master: Int32

    package init(link: String) throws {
        self.link = link
        master = try PseudoTerminalBridge.openPair(link: link)
    }

    /// Bytes the agent wrote, waiting up to `timeoutMilliseconds`.
    package func read(timeoutMilliseconds: Int32) -> [UInt8] {
        var poller = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeoutMilliseconds) > 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = Glibc.read(master, &buffer, buffer.count)
        return n > 0 ? Array(buffer.prefix(n)) : []
    }

    package func write(_ bytes: [UInt8]) {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBufferPointer { Glibc.write(master, $0.baseAddress! + written, bytes.count - written) }
            if n <= 0 { return }
            written += n
        }
    }
}
