import Foundation

/// Opening and reading input files with POSIX calls, so that every failure (no such file, a
/// directory, EIO from a failing USB stick, a closed standard input) is a reason with its errno, never
/// a trap in Foundation's non-throwing reads.
package enum FileReading {
    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    /// Opens `path` for reading; "-" is standard input.
    package static func open(_ path: String) throws(Failure) -> FileHandle {
        if path == "-" { return FileHandle.standardInput }
        let descriptor = Foundation.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Failure(description: lastError()) }
        return FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    /// Up to `count` bytes, fewer only at the end of the file (a pipe gives what it has at a time).
    package static func read(_ handle: FileHandle, count: Int) throws(Failure) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = bytes.withUnsafeMutableBytes { buffer in
                Foundation.read(handle.fileDescriptor, buffer.baseAddress! + filled, count - filled)
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw Failure(description: lastError())
            }
            if got == 0 { break }
            filled += got
        }
        return Array(bytes.prefix(filled))
    }

    /// The compressor whose magic `head` starts with (gzip, zstd, bzip2, xz), if any: a compressed
    /// file given where plain data was expected.
    package static func compression(_ head: some Collection<UInt8>) -> String? {
        let start = Array(head.prefix(4))
        if start.starts(with: [0x1F, 0x8B]) { return "gzip" }
        if start == [0x28, 0xB5, 0x2F, 0xFD] { return "zstd" }
        if start.starts(with: [0x42, 0x5A, 0x68]) { return "bzip2" }
        if start == [0xFD, 0x37, 0x7A, 0x58] { return "xz" }
        return nil
    }

    static func lastError() -> String { "\(String(cString: strerror(errno))) (errno \(errno))" }
}
