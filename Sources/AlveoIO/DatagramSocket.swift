import AlveoCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A UDP socket that talks to one device on the network (an IntelliVue monitor's Data Export over LAN):
/// datagrams are sent to its address and port, and only datagrams from its address are received (from
/// any port: a monitor may answer from another). The descriptor is owned here alone and closed in
/// `deinit`; one thread uses it.
package final class DatagramSocket: @unchecked Sendable {
    // @unchecked: the descriptor is used by one poller thread only.
    let fd: Int32
    package let peer: String
    private let address: SocketAddress

    /// Resolves `host` (an address or a name) and opens an unconnected socket on an ephemeral port.
    package init(host: String, port: Int) throws(SocketError) {
        peer = "\(host):\(port)"
        address = try SocketAddress.resolve(host: host, port: port, type: Int32(SOCK_DGRAM.rawValue), peer: peer)
        let descriptor = socket(address.family, address.type | Int32(SOCK_CLOEXEC.rawValue), address.proto)
        guard descriptor >= 0 else { throw SocketError(operation: "socket", peer: peer, code: errno) }
        fd = descriptor
    }

    deinit { close(fd) }

    /// Sends one datagram to the device.
    package func send(_ bytes: [UInt8]) throws(SocketError) {
        let sent = bytes.withUnsafeBytes { buffer in
            address.withSockaddr { sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), $0, $1) }
        }
        guard sent == bytes.count else { throw SocketError(operation: "send", peer: peer, code: sent < 0 ? errno : EMSGSIZE) }
    }

    /// One datagram from the device's address (at most `maxCount` bytes, the rest of a longer one is
    /// dropped, as UDP does), or nothing once `timeout` has passed. Datagrams from other addresses are
    /// dropped, and the wait goes on.
    package func receive(maxCount: Int, timeout: Duration) throws(SocketError) -> [UInt8] {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var buffer = [UInt8](repeating: 0, count: max(1, min(maxCount, 65_536)))
        while true {
            let left = clock.now.duration(to: deadline)
            let milliseconds = max(0, Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, milliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                throw SocketError(operation: "poll", peer: peer, code: errno)
            }
            if ready == 0 { return [] }
            var from = sockaddr_storage()
            var fromLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = buffer.withUnsafeMutableBytes { target in
                withUnsafeMutablePointer(to: &from) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, target.baseAddress, target.count, Int32(MSG_DONTWAIT), $0, &fromLength) }
                }
            }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }
                // A port unreachable from an earlier datagram: the device is not listening (yet).
                if errno == ECONNREFUSED { continue }
                throw SocketError(operation: "receive", peer: peer, code: errno)
            }
            if isFromDevice(from) { return Array(buffer.prefix(count)) }
            if clock.now >= deadline { return [] }
        }
    }

    /// Same family and address as the device (any port).
    private func isFromDevice(_ from: sockaddr_storage) -> Bool {
        var from = from
        var mine = address.storage
        let family = address.family
        guard Int32(from.ss_family) == family else { return false }
        if family == AF_INET {
            let theirs = withUnsafeBytes(of: &from) { $0.load(as: sockaddr_in.self).sin_addr.s_addr }
            let ours = withUnsafeBytes(of: &mine) { $0.load(as: sockaddr_in.self).sin_addr.s_addr }
            return theirs == ours
        }
        if family == AF_INET6 {
            let theirs = withUnsafeBytes(of: &from) { Array(withUnsafeBytes(of: $0.load(as: sockaddr_in6.self).sin6_addr) { Array($0) }) }
            let ours = withUnsafeBytes(of: &mine) { Array(withUnsafeBytes(of: $0.load(as: sockaddr_in6.self).sin6_addr) { Array($0) }) }
            return theirs == ours
        }
        return false
    }
}
