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
    private var address = sockaddr_storage()
    private let addressLength: socklen_t
    private let family: Int32

    /// Resolves `host` (an address or a name) and opens an unconnected socket on an ephemeral port.
    package init(host: String, port: Int) throws(SocketError) {
        peer = "\(host):\(port)"
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        let lookup = getaddrinfo(host, String(port), &hints, &results)
        guard lookup == 0, let first = results else {
            throw SocketError(operation: "resolve", peer: peer, code: lookup == EAI_SYSTEM ? errno : EHOSTUNREACH)
        }
        defer { freeaddrinfo(results) }
        let descriptor = socket(first.pointee.ai_family, first.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), first.pointee.ai_protocol)
        guard descriptor >= 0 else { throw SocketError(operation: "socket", peer: peer, code: errno) }
        fd = descriptor
        family = first.pointee.ai_family
        addressLength = first.pointee.ai_addrlen
        withUnsafeMutableBytes(of: &address) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        }
    }

    deinit { close(fd) }

    /// Sends one datagram to the device.
    package func send(_ bytes: [UInt8]) throws(SocketError) {
        let sent = bytes.withUnsafeBytes { buffer in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), $0, addressLength) }
            }
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
        var mine = address
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
