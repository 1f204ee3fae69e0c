import CKernel
#if canImport(Glibc)
import Glibc
#endif

/// What the kernel says about the box's clock and disks.
public enum SystemHealth {
    /// Whether the kernel reports the system clock as synchronised (adjtimex: neither `TIME_ERROR` nor
    /// `STA_UNSYNC`); nil if it cannot be asked.
    public static func clockSynchronized() -> Bool? {
        switch alveo_clock_synchronized() {
        case 1: true
        case 0: false
        default: nil
        }
    }

    /// Bytes free to unprivileged users on the file system holding `path`; nil if it cannot be asked.
    public static func freeBytes(at path: String) -> UInt64? {
        var status = statvfs()
        guard statvfs(path, &status) == 0 else { return nil }
        let (product, overflow) = UInt64(status.f_bavail).multipliedReportingOverflow(by: UInt64(status.f_frsize))
        return overflow ? UInt64.max : product
    }
}
