import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file another service reads (node_exporter's textfile collector reads the metrics file as its own
/// user): replaced atomically and made 0644 whatever the process's umask (the unit's 0027 would make
/// it 0640, unreadable to node_exporter). It holds no patient data.
package enum PublishedFile {
    package static let mode: mode_t = 0o644

    /// Writes `contents` to a temporary file in the same directory (`PATH.tmp`: the textfile collector
    /// reads only `*.prom`), sets mode 0644 and renames it over `path`, so that a reader sees the old file
    /// or the new one, never half of one.
    package static func replace(_ path: String, contents: some Collection<UInt8>) throws(PrivateFiles.Failure) {
        let temporary = path + ".tmp"
        // O_NOFOLLOW: the textfile directory may be shared (sticky, group-writable); a link planted at PATH.tmp
        // must not make the agent write through it into one of its own files.
        let descriptor = Glibc.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode)
        guard descriptor >= 0 else { throw PrivateFiles.Failure(path: temporary, operation: "create", code: errno) }
        var failure: PrivateFiles.Failure?
        if fchmod(descriptor, mode) != 0 { failure = PrivateFiles.Failure(path: temporary, operation: "set mode 0644", code: errno) }
        let bytes = Array(contents)
        bytes.withUnsafeBytes { raw in
            var written = 0
            while failure == nil, written < raw.count {
                let n = Glibc.write(descriptor, raw.baseAddress! + written, raw.count - written)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else {
                    failure = PrivateFiles.Failure(path: temporary, operation: "write", code: errno)
                    break
                }
                written += n
            }
        }
        close(descriptor)
        if failure == nil, rename(temporary, path) != 0 { failure = PrivateFiles.Failure(path: path, operation: "rename \(temporary) to", code: errno) }
        if let failure {
            unlink(temporary)
            throw failure
        }
    }
}
