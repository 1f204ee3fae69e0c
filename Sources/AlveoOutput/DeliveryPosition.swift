import AlveoIO
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A forwarder's delivery position (the last journal sequence number delivered), persisted
/// atomically (write, fsync, rename) so that a restart resumes exactly where delivery stopped.
package struct DeliveryPosition: Sendable {
    package let path: String

    package init(directory: String, name: String) {
        path = directory + "/\(name).position"
    }

    package func load() -> Int64 {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return 0 }
        return Int64(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    package func save(_ seq: Int64) throws(JournalError) {
        let temporary = path + ".tmp"
        do {
            try PrivateFiles.write(temporary, contents: Array("\(seq)\n".utf8))
            if rename(temporary, path) != 0 { throw JournalError(path: path, message: "rename failed: \(String(cString: strerror(errno)))") }
            syncDirectory(URL(fileURLWithPath: path).deletingLastPathComponent().path)
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError(path: path, message: "cannot save the delivery position: \(error.localizedDescription)")
        }
    }
}
