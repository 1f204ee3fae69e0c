import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// HTTP/1.1 over the agent's control socket, byte for byte, for tests that make hundreds of thousands
/// of requests (the `alveo status` command starts a process per request): one connection per request,
/// as the command makes, or one connection kept alive, as a bedside view would. A kept-alive
/// connection the agent closed (idle, or to make room at its bound) is opened again and the request
/// sent again — only for requests that may be repeated (`retry`), and counted.
package final class ControlSocketClient {
    package struct Response {
        package var status: Int
        package var body: [UInt8]
        package var text: String { String(decoding: body, as: UTF8.self) }
    }

    package let path: String
    /// The longest a request may wait for its answer before it counts as unanswered.
    package let timeoutSeconds: Int
    private var kept: Int32 = -1
    /// Kept-alive connections found closed by the agent and opened again.
    package private(set) var reopened = 0

    package init(path: String, timeoutSeconds: Int = 30) {
        self.path = path
        self.timeoutSeconds = timeoutSeconds
    }

    deinit { if kept >= 0 { close(kept) } }

    package static func get(_ path: String, close: Bool) -> [UInt8] {
        Array("GET \(path) HTTP/1.1\r\nHost: alveo\r\n\(close ? "Connection: close\r\n" : "")\r\n".utf8)
    }

    package static func post(_ path: String, json: String, close: Bool = true) -> [UInt8] {
        let body = Array(json.utf8)
        return Array("POST \(path) HTTP/1.1\r\nHost: alveo\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\(close ? "Connection: close\r\n" : "")\r\n".utf8) + body
    }

    /// A connected Unix socket with send and receive timeouts, or -1.
    package static func connect(_ path: String, timeoutSeconds: Int = 30) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = byte }
        }
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if ok != 0 {
            close(fd)
            return -1
        }
        return fd
    }

    /// Sends every byte (MSG_NOSIGNAL: a connection the agent closed is an error here, not a SIGPIPE).
    package static func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }

    /// Reads one response (status line, headers, a body of Content-Length bytes); nil when the
    /// connection ends first or the answer does not come in time.
    package static func receive(_ fd: Int32) -> Response? {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        var headerEnd: Int?
        var scanned = 0
        var length = 0
        while true {
            if headerEnd == nil, buffer.count >= 4 {
                var i = max(0, scanned - 3)
                while i + 3 < buffer.count {
                    if buffer[i] == 13, buffer[i + 1] == 10, buffer[i + 2] == 13, buffer[i + 3] == 10 {
                        headerEnd = i + 4
                        break
                    }
                    i += 1
                }
                scanned = buffer.count
                if let end = headerEnd {
                    let head = String(decoding: buffer[..<end], as: UTF8.self).lowercased()
                    if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }) {
                        length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
                    }
                }
            }
            if let end = headerEnd, buffer.count >= end + length {
                let statusLine = buffer[..<(buffer.firstIndex(of: 13) ?? end)]
                let fields = String(decoding: statusLine, as: UTF8.self).split(separator: " ")
                guard fields.count >= 2, let status = Int(fields[1]) else { return nil }
                return Response(status: status, body: Array(buffer[end..<(end + length)]))
            }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return nil }
            buffer += chunk[0..<n]
        }
    }

    /// One request on a connection of its own.
    package func once(_ request: [UInt8]) -> Response? {
        let fd = Self.connect(path, timeoutSeconds: timeoutSeconds)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard Self.send(fd, request) else { return nil }
        return Self.receive(fd)
    }

    /// One request on the kept-alive connection (opened when needed); a request that may be
    /// repeated is sent once more on a new connection when the agent had closed the old one.
    package func keptAlive(_ request: [UInt8], retry: Bool) -> Response? {
        for attempt in 0..<2 {
            if kept < 0 {
                kept = Self.connect(path, timeoutSeconds: timeoutSeconds)
                guard kept >= 0 else { return nil }
                if attempt > 0 { reopened += 1 }
            }
            if Self.send(kept, request), let response = Self.receive(kept) { return response }
            close(kept)
            kept = -1
            guard retry else { return nil }
        }
        return nil
    }

    /// Closes the kept-alive connection.
    package func disconnect() {
        if kept >= 0 { close(kept) }
        kept = -1
    }
}
