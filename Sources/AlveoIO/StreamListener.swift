import AlveoCore
import COpenSSL
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// TLS settings of a listener: its certificate and key, and the certificate authorities whose
/// client certificates it accepts (a client without one is refused in the handshake).
package struct TLSServerSettings: Sendable, Equatable {
    package var certificateFile: String
    package var keyFile: String
    package var clientCAFile: String

    package init(certificateFile: String, keyFile: String, clientCAFile: String) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
    }
}

/// A TCP listening socket (and, with TLS, the server's OpenSSL context), for the laboratory and ADT
/// listener. `accept` waits with a timeout so that its thread can see a stop; the TLS handshake of an
/// accepted connection runs on that connection's own thread (`Incoming.establish`), so a client that
/// stalls in the handshake holds up nobody else. The socket and the context are owned here alone and
/// freed in `deinit`; each TLS connection holds its own reference to the context.
package final class StreamListener: @unchecked Sendable {
    // @unchecked: accept is called by one thread; `close` from another only shuts the socket down.
    private let fd: Int32
    private let context: OpaquePointer?
    /// The port bound (the one asked for, or the one the system chose for port 0).
    package let port: Int
    package let address: String

    package init(bind host: String, port: Int, tls: TLSServerSettings?, backlog: Int32 = 16) throws(SocketError) {
        let name = "\(host):\(port)"
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST
        var results: UnsafeMutablePointer<addrinfo>?
        let lookup = getaddrinfo(host, String(port), &hints, &results)
        guard lookup == 0, let first = results else {
            throw SocketError(operation: "listen", peer: name, code: EINVAL, detail: "'\(Shown.text(host.utf8, limit: 64))' is not a numeric IP address to bind")
        }
        defer { freeaddrinfo(results) }
        let descriptor = socket(first.pointee.ai_family, first.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), first.pointee.ai_protocol)
        guard descriptor >= 0 else { throw SocketError(operation: "socket", peer: name, code: errno) }
        var one: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard Glibc.bind(descriptor, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw SocketError(operation: "bind", peer: name, code: code)
        }
        guard listen(descriptor, backlog) == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw SocketError(operation: "listen", peer: name, code: code)
        }
        var bound = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
        let boundPort: Int
        if Int32(bound.ss_family) == AF_INET6 {
            boundPort = withUnsafePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) } }
        } else {
            boundPort = withUnsafePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) } }
        }
        if let tls {
            guard let ctx = SSL_CTX_new(TLS_server_method()) else {
                Glibc.close(descriptor)
                throw TLSConnection.failure("TLS setup", peer: name)
            }
            func fail(_ what: String) -> SocketError {
                let error = TLSConnection.failure(what, peer: name)
                SSL_CTX_free(ctx)
                Glibc.close(descriptor)
                return error
            }
            guard alveo_ssl_ctx_min_tls12(ctx) == 1 else { throw fail("TLS setup") }
            guard SSL_CTX_use_certificate_chain_file(ctx, tls.certificateFile) == 1 else { throw fail("load the certificate \(tls.certificateFile)") }
            guard SSL_CTX_use_PrivateKey_file(ctx, tls.keyFile, SSL_FILETYPE_PEM) == 1, SSL_CTX_check_private_key(ctx) == 1 else {
                throw fail("load the key \(tls.keyFile) (of that certificate)")
            }
            guard SSL_CTX_load_verify_locations(ctx, tls.clientCAFile, nil) == 1 else { throw fail("load the client CAs \(tls.clientCAFile)") }
            // The CAs named to clients in the handshake, so that a client picks the right certificate.
            if let names = SSL_load_client_CA_file(tls.clientCAFile) { SSL_CTX_set_client_CA_list(ctx, names) }
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
            context = ctx
        } else {
            context = nil
        }
        fd = descriptor
        self.port = boundPort
        address = "\(host):\(boundPort)"
    }

    deinit {
        Glibc.close(fd)
        if let context { SSL_CTX_free(context) }
    }

    package var usesTLS: Bool { context != nil }

    /// A connection accepted, not yet usable: `establish` does the TLS handshake (if any) on the
    /// caller's thread. Dropping it closes the socket.
    package struct Incoming: @unchecked Sendable {
        // @unchecked: handed from the accepting thread to the connection's thread, used by that one only.
        let tcp: TCPConnection
        let context: OpaquePointer?
        let listener: StreamListener  // keeps the context alive until the handshake took its reference
        package var peer: String { tcp.peer }
        /// The peer's address without its port (connections are bounded per address).
        package let peerHost: String

        /// Closes the connection from another thread (its owner's next read or handshake step fails).
        /// Whoever holds this value keeps the descriptor open, so it is never another socket's.
        package func shutdown() { tcp.shutdown() }

        package func establish(timeout: Duration) throws(SocketError) -> any ByteLink {
            guard let context else { return tcp }
            return try TLSConnection(accepted: tcp, context: context, timeout: timeout)
        }
    }

    /// Waits up to `timeout` for a connection; nil when none came (or the listener was closed).
    package func accept(timeout: Duration) throws(SocketError) -> Incoming? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&poller, 1, TCPConnection.milliseconds(timeout))
        if ready == 0 { return nil }
        if ready < 0 {
            if errno == EINTR { return nil }
            throw SocketError(operation: "accept", peer: address, code: errno)
        }
        var peerAddress = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let descriptor = withUnsafeMutablePointer(to: &peerAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(fd, $0, &length) }
        }
        if descriptor >= 0 { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        guard descriptor >= 0 else {
            // A client that reset before we took it, or a shut-down listener: not fatal.
            if [EAGAIN, EWOULDBLOCK, ECONNABORTED, EINTR, EPROTO].contains(errno) { return nil }
            throw SocketError(operation: "accept", peer: address, code: errno)
        }
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var service = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        let named = withUnsafePointer(to: &peerAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &host, socklen_t(host.count), &service, socklen_t(service.count), NI_NUMERICHOST | NI_NUMERICSERV)
            }
        }
        func text(_ characters: [CChar]) -> String {
            String(decoding: characters.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        let peer = named == 0 ? "\(text(host)):\(text(service))" : "unknown peer"
        return Incoming(tcp: TCPConnection(accepted: descriptor, peer: peer), context: context, listener: self,
                        peerHost: named == 0 ? text(host) : "unknown peer")
    }

    /// Stops accepting (from another thread): a waiting `accept` returns.
    package func shutdown() { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
}
