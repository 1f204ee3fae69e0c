import CKernel
#if canImport(Glibc)
import Glibc
#endif

/// What the kernel says about the box's clock and disks.
package enum SystemHealth {
    /// Whether the kernel reports the system clock as synchronised (adjtimex: neither `TIME_ERROR` nor
    /// `STA_UNSYNC`); nil if it cannot be asked.
    package static func clockSynchronized() -> Bool? {
        switch alveo_clock_synchronized() {
        case 1: true
        case 0: false
        default: nil
        }
    }

    /// Bytes free to unprivileged users on the file system holding `path`; nil if it cannot be asked.
    package static func freeBytes(at path: String) -> UInt64? {
        var status = statvfs()
        guard statvfs(path, &status) == 0 else { return nil }
        let (product, overflow) = UInt64(status.f_bavail).multipliedReportingOverflow(by: UInt64(status.f_frsize))
        return overflow ? UInt64.max : product
    }
}

/// The process's limit on open file descriptors (RLIMIT_NOFILE).
package enum DescriptorLimit {
    /// Raises the soft limit to the hard one (at most `ceiling`) and returns the limit in force.
    /// systemd's default soft limit is 1,024, which a few hundred idle connections used to exhaust,
    /// after which no device or output could reconnect ("Too many open files").
    package static func raise(ceiling: Int = 65_536) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        let wanted = min(limit.rlim_max, rlim_t(ceiling))
        if limit.rlim_cur < wanted {
            var raised = limit
            raised.rlim_cur = wanted
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return Int(wanted) }
        }
        return Int(clamping: limit.rlim_cur)
    }

    /// Descriptors open now (the entries of /proc/self/fd), for the status and the metrics; nil if unknown.
    package static func openCount() -> Int? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let name = entry.pointee.d_name.0
            if name != 0x2E { count += 1 }  // not "." or ".."
        }
        return max(0, count - 1)  // the directory's own descriptor
    }
}
