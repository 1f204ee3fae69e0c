import AlveoCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A failed socket or TLS operation: which, with whom, and the errno (or the TLS library's reason).
package struct SocketError: Error, CustomStringConvertible, Sendable, Equatable {
    package var operation: String
    package var peer: String
    package var code: Int32
    /// For TLS failures: OpenSSL's reason (certificate verify failed, …).
    package var detail: String?

    package init(operation: String, peer: String, code: Int32, detail: String? = nil) {
        self.operation = operation
        self.peer = peer
        self.code = code
        self.detail = detail
    }

    package var isTimeout: Bool { code == ETIMEDOUT || code == EAGAIN || code == EWOULDBLOCK }

    package var description: String {
        if let detail { return "\(peer): \(operation) failed: \(detail)" }
        let cause = code == ETIMEDOUT ? "timed out" : "\(String(cString: strerror(code))) (errno \(code))"
        return "\(peer): \(operation) failed: \(cause)"
    }
}

/// A connected byte stream to a receiver: plain TCP or TLS over TCP.
package protocol ByteLink: Sendable {
    var peer: String { get }
    func send(_ bytes: [UInt8]) throws(SocketError)
    /// Receives what is available, waiting up to `timeout`; an empty result means the peer closed.
    func receive(maxCount: Int, timeout: Duration) throws(SocketError) -> [UInt8]
    /// Whether the peer's TCP stack has acknowledged every byte sent.
    func allSentBytesAcknowledged() -> Bool
    /// Interrupts and closes the link from another thread.
    func shutdown()
    /// Whether the peer has closed or reset the connection (checked without blocking or reading).
    func peerHasClosed() -> Bool
    /// Whether the TCP connection is still established (Linux TCP_INFO).
    func isEstablished() -> Bool
}

extension ByteLink {
    package func receive(timeout: Duration) throws(SocketError) -> [UInt8] {
        try receive(maxCount: 4096, timeout: timeout)
    }
}

/// A blocking TCP client connection with explicit timeouts, for a forwarder's own thread.
/// The file descriptor is owned here alone and closed in `deinit`.
package final class TCPConnection: ByteLink, @unchecked Sendable {
    // @unchecked: the descriptor is used by one forwarder thread; `close` may come from another to
    // interrupt it, which is what shutdown(2) is for.
    let fd: Int32
    package let peer: String

    /// Resolves `host`, connects within `timeout`.
    package init(host: String, port: Int, timeout: Duration) throws(SocketError) {
        peer = "\(host):\(port)"
        let address = try SocketAddress.resolve(host: host, port: port, type: Int32(SOCK_STREAM.rawValue), peer: peer)
        let descriptor = socket(address.family, address.type, address.proto)
        guard descriptor >= 0 else { throw SocketError(operation: "socket", peer: peer, code: errno) }
        // Connect without blocking, then wait for writability up to the timeout.
        let flags = fcntl(descriptor, F_GETFL, 0)
        _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
        if address.withSockaddr({ connect(descriptor, $0, $1) }) != 0 {
            guard errno == EINPROGRESS else {
                let code = errno
                Glibc.close(descriptor)
                throw SocketError(operation: "connect", peer: peer, code: code)
            }
            var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&poller, 1, TCPConnection.milliseconds(timeout))
            var soError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &soError, &length)
            if ready <= 0 || soError != 0 {
                Glibc.close(descriptor)
                throw SocketError(operation: "connect", peer: peer, code: ready == 0 ? ETIMEDOUT : (soError != 0 ? soError : errno))
            }
        }
        _ = fcntl(descriptor, F_SETFL, flags)
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        fd = descriptor
    }

    /// Takes ownership of a socket `accept(2)` returned.
    init(accepted descriptor: Int32, peer: String) {
        fd = descriptor
        self.peer = peer
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        // A sender that vanished without a FIN (an interface engine failed over, a cable pulled) is
        // found within about two minutes instead of holding its place until the idle timeout.
        let size = socklen_t(MemoryLayout<Int32>.size)
        var idle: Int32 = 60, interval: Int32 = 10, probes: Int32 = 6
        setsockopt(descriptor, SOL_SOCKET, SO_KEEPALIVE, &one, size)
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_KEEPIDLE, &idle, size)
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_KEEPINTVL, &interval, size)
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_KEEPCNT, &probes, size)
    }

    deinit { Glibc.close(fd) }

    static func milliseconds(_ duration: Duration) -> Int32 {
        Int32(clamping: duration.wholeNanoseconds / 1_000_000)
    }

    /// Sends every byte (MSG_NOSIGNAL: a closed peer is an error, not a SIGPIPE).
    package func send(_ bytes: [UInt8]) throws(SocketError) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SocketError(operation: "send", peer: peer, code: errno)
            }
            sent += n
        }
    }

    /// Receives what is available, waiting up to `timeout`; an empty result means the peer closed.
    package func receive(maxCount: Int, timeout: Duration) throws(SocketError) -> [UInt8] {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&poller, 1, TCPConnection.milliseconds(timeout))
        if ready == 0 { throw SocketError(operation: "receive", peer: peer, code: ETIMEDOUT) }
        if ready < 0 { throw SocketError(operation: "receive", peer: peer, code: errno) }
        var buffer = [UInt8](repeating: 0, count: maxCount)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, maxCount, 0) }
        if n < 0 { throw SocketError(operation: "receive", peer: peer, code: errno) }
        return Array(buffer.prefix(n))
    }

    /// Whether the peer's TCP stack has acknowledged every byte sent (Linux TCP_INFO, tcpi_unacked),
    /// so that a forwarder without an application-level ACK (syslog) knows what reached the receiver.
    package func allSentBytesAcknowledged() -> Bool {
        var info = tcp_info()
        var length = socklen_t(MemoryLayout<tcp_info>.size)
        guard getsockopt(fd, Int32(IPPROTO_TCP), TCP_INFO, &info, &length) == 0 else { return false }
        return info.tcpi_unacked == 0
    }

    /// Interrupts a blocked send or receive from another thread.
    package func shutdown() { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }

    /// A receiver that restarted while the link was idle has sent FIN or RST: without this check the
    /// next message would be written into a dead connection, reset, and look acknowledged.
    /// POLLRDHUP (Linux, 0x2000): declared only under _GNU_SOURCE, which Swift's Glibc module lacks.
    static let pollReadHangUp: Int16 = 0x2000

    package func peerHasClosed() -> Bool {
        var poller = pollfd(fd: fd, events: Int16(POLLIN) | TCPConnection.pollReadHangUp, revents: 0)
        guard poll(&poller, 1, 0) > 0 else { return false }
        if poller.revents & (TCPConnection.pollReadHangUp | Int16(POLLHUP) | Int16(POLLERR)) != 0 { return true }
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    package func isEstablished() -> Bool {
        var info = tcp_info()
        var length = socklen_t(MemoryLayout<tcp_info>.size)
        guard getsockopt(fd, Int32(IPPROTO_TCP), TCP_INFO, &info, &length) == 0 else { return false }
        return info.tcpi_state == 1  // TCP_ESTABLISHED
    }
}
