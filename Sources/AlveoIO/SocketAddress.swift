import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A peer's first address as getaddrinfo resolves it (an IP address or a host name), copied out of the
/// resolver's list: what a client socket is opened with (`socket`) and sends or connects to (`address`).
struct SocketAddress {
    var family: Int32
    var type: Int32
    var proto: Int32
    var storage = sockaddr_storage()
    var length: socklen_t

    /// `type`: SOCK_STREAM or SOCK_DGRAM; `peer` names it in the error.
    static func resolve(host: String, port: Int, type: Int32, peer: String) throws(SocketError) -> SocketAddress {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = type
        var results: UnsafeMutablePointer<addrinfo>?
        let lookup = getaddrinfo(host, String(port), &hints, &results)
        guard lookup == 0, let first = results else {
            throw SocketError(operation: "resolve", peer: peer, code: lookup == EAI_SYSTEM ? errno : EHOSTUNREACH)
        }
        defer { freeaddrinfo(results) }
        var address = SocketAddress(family: first.pointee.ai_family, type: first.pointee.ai_socktype, proto: first.pointee.ai_protocol,
                                    length: first.pointee.ai_addrlen)
        withUnsafeMutableBytes(of: &address.storage) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        }
        return address
    }

    /// Calls `body` with the address as a `sockaddr` and its length.
    func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        withUnsafePointer(to: storage) { pointer in pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) } }
    }
}
