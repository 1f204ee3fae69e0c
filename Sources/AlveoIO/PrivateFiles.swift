import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Files that hold patient data (journal segments, delivery positions, parked messages, raw traces)
/// are created readable by their owner and group only, whatever the process's umask: 0640 for files,
/// 0750 for the directories Alveo creates. A file an earlier version left more open is tightened
/// when it is opened for writing again. docs/security.md lists what each file holds.
package enum PrivateFiles {
    package static let fileMode: mode_t = 0o640
    package static let directoryMode: mode_t = 0o750

    package struct Failure: Error, CustomStringConvertible {
        package var path: String
        /// What failed and why, e.g. "cannot create: Permission denied (errno 13)".
        package var message: String
        package var description: String { "\(path): \(message)" }

        init(path: String, operation: String, code: Int32) {
            self.path = path
            message = "cannot \(operation): \(String(cString: strerror(code))) (errno \(code))"
        }
    }

    /// Opens `path` for writing, creating it with mode 0640 (`truncate`: emptied; `append`: writes go
    /// to the end), and sets that mode whatever the umask or the mode it had.
    package static func open(_ path: String, truncate: Bool = false, append: Bool = false) throws(Failure) -> FileHandle {
        var flags = O_WRONLY | O_CLOEXEC
        if truncate { flags |= O_TRUNC }
        if append { flags |= O_APPEND }
        // A new file is ours: it gets 0640 or the open fails. An existing one is tightened when we own
        // it; one that belongs to another user (a group-writable journal) keeps its mode.
        var descriptor = Glibc.open(path, flags | O_CREAT | O_EXCL, fileMode)
        let created = descriptor >= 0
        if !created, errno == EEXIST { descriptor = Glibc.open(path, flags) }
        guard descriptor >= 0 else { throw Failure(path: path, operation: created ? "create" : "open for writing", code: errno) }
        if fchmod(descriptor, fileMode) != 0, created || errno != EPERM {
            let code = errno
            close(descriptor)
            throw Failure(path: path, operation: "set mode 0640", code: code)
        }
        return FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    /// Creates `path` (replacing what was there) with `contents`, mode 0640, fsync'ed.
    package static func write(_ path: String, contents: some Collection<UInt8>) throws(Failure) {
        let handle = try open(path, truncate: true)
        defer { try? handle.close() }
        do {
            try handle.write(contentsOf: Data(contents))
            try handle.synchronize()
        } catch {
            var failure = Failure(path: path, operation: "write", code: EIO)
            failure.message = "cannot write: \(error.localizedDescription)"
            throw failure
        }
    }

    /// Creates `path` and any missing parents with mode 0750 (existing directories are left as they are:
    /// they may be shared, like /var/lib).
    package static func createDirectory(_ path: String) throws(Failure) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path { try createDirectory(parent) }
        if mkdir(path, directoryMode) != 0, errno != EEXIST { throw Failure(path: path, operation: "create the directory", code: errno) }
        _ = chmod(path, directoryMode)
    }
}
