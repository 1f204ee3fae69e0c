import AlveoCore
import CKernel  // struct timeval: sys/timex.h (CKernel) is where the module system finds it
import COpenSSL
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// TLS client settings (RFC 5425 for syslog, MLLP over TLS for HL7).
package struct TLSSettings: Sendable, Equatable {
    /// PEM file of the certificate authorities trusted to sign the receiver's certificate; nil: the
    /// system's trust store.
    package var caFile: String?
    /// Client certificate chain and key (PEM), for receivers that require mutual TLS.
    package var certificateFile: String?
    package var keyFile: String?
    /// The name (or IP address) the receiver's certificate must carry; default: the configured host.
    package var serverName: String?

    package init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, serverName: String? = nil) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.serverName = serverName
    }
}

/// A TLS 1.2+ client connection over OpenSSL, verifying the receiver's certificate and name.
/// The SSL context and session are owned here alone and freed in `deinit`.
package final class TLSConnection: ByteLink, @unchecked Sendable {
    // @unchecked: used by one forwarder thread; `shutdown` from another only shuts the socket down.
    private let tcp: TCPConnection
    private let context: OpaquePointer
    private let session: OpaquePointer
    package var peer: String { tcp.peer }

    package init(host: String, port: Int, timeout: Duration, settings: TLSSettings) throws(SocketError) {
        tcp = try TCPConnection(host: host, port: port, timeout: timeout)
        let peer = tcp.peer
        func failure(_ operation: String) -> SocketError {
            var reasons: [String] = []
            while case let code = ERR_get_error(), code != 0 {
                var buffer = [CChar](repeating: 0, count: 256)
                ERR_error_string_n(code, &buffer, buffer.count)
                reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            return SocketError(operation: operation, peer: peer, code: EPROTO,
                               detail: reasons.isEmpty ? "TLS error" : reasons.joined(separator: "; "))
        }
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw failure("TLS setup") }
        guard alveo_ssl_ctx_min_tls12(ctx) == 1 else {
            SSL_CTX_free(ctx)
            throw failure("TLS setup")
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        let trusted = settings.caFile.map { SSL_CTX_load_verify_locations(ctx, $0, nil) } ?? SSL_CTX_set_default_verify_paths(ctx)
        guard trusted == 1 else {
            let error = failure("load the trusted certificates \(settings.caFile ?? "(system store)")")
            SSL_CTX_free(ctx)
            throw error
        }
        if let certificate = settings.certificateFile, let key = settings.keyFile {
            guard SSL_CTX_use_certificate_chain_file(ctx, certificate) == 1,
                  SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1
            else {
                let error = failure("load the client certificate \(certificate) and key \(key)")
                SSL_CTX_free(ctx)
                throw error
            }
        }
        guard let ssl = SSL_new(ctx) else {
            SSL_CTX_free(ctx)
            throw failure("TLS setup")
        }
        context = ctx
        session = ssl
        let name = settings.serverName ?? host
        SSL_set_fd(ssl, tcp.fd)
        if inet_addr(name) == INADDR_NONE { _ = alveo_ssl_set_sni(ssl, name) }
        // Certificate name (or IP address) check against the name we meant to reach.
        guard SSL_set1_host(ssl, name) == 1 else { throw failure("TLS setup") }
        // The handshake blocks: bound it with socket timeouts.
        setSocketTimeout(timeout)
        guard SSL_connect(ssl) == 1 else {
            let verify = SSL_get_verify_result(ssl)
            var error = failure("TLS handshake")
            if verify != X509_V_OK, let text = X509_verify_cert_error_string(verify) {
                error.detail = "certificate not accepted: \(String(cString: text))"
            }
            throw error
        }
        // With TLS 1.3 the client finishes its handshake before the server has checked the client's
        // certificate: a refusal arrives as an alert just after. Look for it now, so that messages are
        // never written (and TCP-acknowledged) into a connection the receiver is about to drop.
        var poller = pollfd(fd: tcp.fd, events: Int16(POLLIN), revents: 0)
        if poll(&poller, 1, 200) > 0 {
            var byte: UInt8 = 0
            // Non-blocking for this one look: session tickets are processed, then WANT_READ.
            let flags = fcntl(tcp.fd, F_GETFL, 0)
            _ = fcntl(tcp.fd, F_SETFL, flags | O_NONBLOCK)
            let peeked = SSL_peek(ssl, &byte, 1)
            _ = fcntl(tcp.fd, F_SETFL, flags)
            if peeked <= 0 {
                let reason = SSL_get_error(ssl, peeked)
                if reason != SSL_ERROR_WANT_READ && reason != SSL_ERROR_WANT_WRITE {
                    var error = failure("TLS handshake")
                    if error.detail == "TLS error" { error.detail = "the receiver closed the connection after the handshake (client certificate refused?)" }
                    throw error
                }
            }
        }
    }

    /// The server side of a connection `StreamListener` accepted: the handshake, within `timeout`, with
    /// the client's certificate required and verified against the listener's client CAs.
    init(accepted tcp: TCPConnection, context: OpaquePointer, timeout: Duration) throws(SocketError) {
        self.tcp = tcp
        let peer = tcp.peer
        // This connection holds its own reference to the listener's context.
        SSL_CTX_up_ref(context)
        guard let ssl = SSL_new(context) else {
            SSL_CTX_free(context)
            throw TLSConnection.failure("TLS setup", peer: peer)
        }
        self.context = context
        session = ssl
        SSL_set_fd(ssl, tcp.fd)
        setSocketTimeout(timeout)
        guard SSL_accept(ssl) == 1 else {
            var error = TLSConnection.failure("TLS handshake", peer: peer)
            let verify = SSL_get_verify_result(ssl)
            if verify != X509_V_OK, let text = X509_verify_cert_error_string(verify) {
                error.detail = "client certificate not accepted: \(String(cString: text))"
            } else if alveo_ssl_has_peer_certificate(ssl) == 0 {
                error.detail = "no client certificate (one signed by client_ca_file is required): " + (error.detail ?? "")
            }
            throw error
        }
    }

    static func failure(_ operation: String, peer: String) -> SocketError {
        var reasons: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return SocketError(operation: operation, peer: peer, code: EPROTO, detail: reasons.isEmpty ? "TLS error" : reasons.joined(separator: "; "))
    }

    /// The subject of the client's certificate (for logs), if one was presented.
    package var peerCertificateSubject: String? {
        guard let certificate = SSL_get1_peer_certificate(session) else { return nil }
        defer { X509_free(certificate) }
        guard let name = X509_get_subject_name(certificate), let line = X509_NAME_oneline(name, nil, 0) else { return nil }
        defer { alveo_openssl_free(line) }
        return String(cString: line)
    }

    deinit {
        SSL_free(session)
        SSL_CTX_free(context)
    }

    /// `sending: false` sets the read timeout only: a short read (RELP's 1 ms look for a `serverclose`)
    /// must not leave the next write with a 1 ms timeout.
    private func setSocketTimeout(_ duration: Duration, sending: Bool = true) {
        let micros = max(0, duration.wholeNanoseconds / 1000)
        var value = timeval(tv_sec: Int(micros / 1_000_000), tv_usec: Int(micros % 1_000_000))
        setsockopt(tcp.fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        if sending { setsockopt(tcp.fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size)) }
    }

    package func send(_ bytes: [UInt8]) throws(SocketError) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { SSL_write(session, $0.baseAddress! + sent, Int32(bytes.count - sent)) }
            guard n > 0 else { throw SocketError(operation: "TLS send", peer: peer, code: errno == 0 ? EPIPE : errno) }
            sent += Int(n)
        }
    }

    package func receive(maxCount: Int, timeout: Duration) throws(SocketError) -> [UInt8] {
        if SSL_pending(session) == 0 {
            var poller = pollfd(fd: tcp.fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, TCPConnection.milliseconds(timeout))
            if ready == 0 { throw SocketError(operation: "receive", peer: peer, code: ETIMEDOUT) }
            if ready < 0 { throw SocketError(operation: "receive", peer: peer, code: errno) }
        }
        setSocketTimeout(timeout, sending: false)
        var buffer = [UInt8](repeating: 0, count: maxCount)
        let n = buffer.withUnsafeMutableBytes { SSL_read(session, $0.baseAddress, Int32(maxCount)) }
        if n > 0 { return Array(buffer.prefix(Int(n))) }
        let reason = SSL_get_error(session, n)
        if reason == SSL_ERROR_ZERO_RETURN { return [] }
        throw SocketError(operation: "TLS receive", peer: peer, code: errno == 0 ? ECONNRESET : errno)
    }

    package func allSentBytesAcknowledged() -> Bool { tcp.allSentBytesAcknowledged() }

    package func shutdown() { tcp.shutdown() }

    package func peerHasClosed() -> Bool { tcp.peerHasClosed() }

    package func isEstablished() -> Bool { tcp.isEstablished() }
}
