import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a process holds, read from /proc: resident memory, open descriptors, threads and the CPU time
/// it has used. Samples taken along a run say whether it stays flat.
package struct ProcessResources {
    /// Requests made when the sample was taken (what the figures are per).
    package var requests: Int
    /// VmRSS: all resident pages, the code of the binary and its libraries included (they come in as
    /// code runs for the first time, up to the size of what is mapped).
    package var rssKiB: Int
    /// RssAnon: resident anonymous memory (the heap, stacks): where a leak shows.
    package var anonKiB: Int
    package var descriptors: Int
    package var threads: Int
    /// User + system CPU seconds since the process started.
    package var cpuSeconds: Double
    /// The live heap (malloc's bytes in use), when the process reports it (heap_shim.c); -1 if not.
    package var heapKiB = -1

    /// The process's figures now; nil once it is gone.
    package static func sample(_ pid: pid_t, requests: Int) -> ProcessResources? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")
        else { return nil }
        func field(_ name: String) -> Int? {
            status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                .flatMap { Int($0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") }
        }
        // Fields after the command name (which may hold spaces): state is the first, utime the 12th.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]),
              let rss = field("VmRSS"), let anon = field("RssAnon"), let threads = field("Threads") else { return nil }
        return ProcessResources(requests: requests, rssKiB: rss, anonKiB: anon, descriptors: fds.count, threads: threads,
                                cpuSeconds: (user + system) / Double(sysconf(Int32(_SC_CLK_TCK))))
    }

    /// Whether the process is stopped (SIGSTOP): state T in /proc/PID/stat.
    package static func isStopped(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first == "T"
    }
}

/// How one figure moved over a series of samples: its mean over the first and the last quarter, its
/// least and greatest value in each, and its least-squares slope per 100,000 requests (over the
/// samples after the first tenth, which hold the warm-up: allocator arenas, caches, lazily started
/// threads).
package struct Drift: CustomStringConvertible {
    package var firstMean: Double, lastMean: Double
    package var firstMin: Double, lastMin: Double
    package var firstMax: Double, lastMax: Double
    package var slopePer100k: Double
    package var unit: String

    package init(_ samples: [ProcessResources], unit: String, _ value: (ProcessResources) -> Double) {
        self.unit = unit
        let quarter = max(1, samples.count / 4)
        let first = samples.prefix(quarter).map(value), last = samples.suffix(quarter).map(value)
        firstMean = first.reduce(0, +) / Double(max(1, first.count))
        lastMean = last.reduce(0, +) / Double(max(1, last.count))
        firstMin = first.min() ?? 0
        lastMin = last.min() ?? 0
        firstMax = first.max() ?? 0
        lastMax = last.max() ?? 0
        let settled = samples.dropFirst(samples.count / 10)
        let xs = settled.map { Double($0.requests) }, ys = settled.map(value)
        let n = Double(xs.count)
        let mx = xs.reduce(0, +) / max(1, n), my = ys.reduce(0, +) / max(1, n)
        let sxx = zip(xs, xs).map { ($0 - mx) * ($1 - mx) }.reduce(0, +)
        let sxy = zip(xs, ys).map { ($0 - mx) * ($1 - my) }.reduce(0, +)
        slopePer100k = sxx > 0 ? sxy / sxx * 100_000 : 0
    }

    package var growth: Double { lastMean - firstMean }

    package var description: String {
        String(format: "first quarter %.1f, last quarter %.1f %@ (min %.0f -> %.0f, max %.0f -> %.0f), slope %+.2f %@ per 100k requests",
               firstMean, lastMean, unit, firstMin, lastMin, firstMax, lastMax, slopePer100k, unit)
    }
}

/// CPU seconds per 1,000 requests in the first and the last quarter of a series of samples.
package struct CPUCost: CustomStringConvertible {
    package var firstPerThousand: Double, lastPerThousand: Double

    package init(_ samples: [ProcessResources]) {
        func cost(_ part: ArraySlice<ProcessResources>) -> Double {
            guard let a = part.first, let b = part.last, b.requests > a.requests else { return 0 }
            return (b.cpuSeconds - a.cpuSeconds) / Double(b.requests - a.requests) * 1000
        }
        let quarter = max(2, samples.count / 4)
        firstPerThousand = cost(samples.prefix(quarter))
        lastPerThousand = cost(samples.suffix(quarter))
    }

    package var ratio: Double { firstPerThousand > 0 ? lastPerThousand / firstPerThousand : 0 }

    package var description: String {
        String(format: "CPU %.3f s per 1,000 requests in the first quarter, %.3f s in the last (x%.2f)", firstPerThousand, lastPerThousand, ratio)
    }
}
