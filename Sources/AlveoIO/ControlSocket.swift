import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The file side of the control API's Unix domain socket: its directory, a stale socket left by a
/// crash, its mode and group. The listening itself is the server library's.
package enum ControlSocket {
    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    /// Makes the socket's directory (0755: the socket's own mode guards it) and removes a socket left
    /// by an agent that died; refuses when another agent is serving the path.
    package static func prepare(path: String) throws(Failure) {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755]) } catch {
                throw Failure(description: "cannot create \(directory): \(error.localizedDescription)")
            }
        }
        var info = stat()
        guard lstat(path, &info) == 0 else { return }  // nothing there
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw Failure(description: "\(path) exists and is not a socket: move it away or choose another control.socket")
        }
        if isServed(path) { throw Failure(description: "another process serves \(path) (is another alveo run using this control socket?)") }
        unlink(path)
    }

    /// Whether something accepts connections on the socket.
    package static func isServed(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8.prefix(103)) + [0]
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: bytes.prefix(raw.count)) }
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 }
        }
    }

    /// Mode 0660, and the group `group` (by name) when given: its members may use the API.
    package static func secure(path: String, group: String?) throws(Failure) {
        var gid: gid_t = gid_t.max  // -1: leave the group as it is
        if let group {
            guard let entry = getgrnam(group) else { throw Failure(description: "no group '\(group)' on this system") }
            gid = entry.pointee.gr_gid
        }
        if gid != gid_t.max, chown(path, uid_t.max, gid) != 0 {
            throw Failure(description: "cannot give \(path) to group \(group ?? ""): \(String(cString: strerror(errno)))")
        }
        guard chmod(path, 0o660) == 0 else { throw Failure(description: "cannot make \(path) 0660: \(String(cString: strerror(errno)))") }
    }
}
