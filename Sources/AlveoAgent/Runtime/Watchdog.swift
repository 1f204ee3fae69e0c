import AlveoIO
import Foundation

/// The runtime's word to systemd (Type=notify): ready once reconciled and polling, the watchdog fed
/// from the loop that feeds the core (so a stalled loop stops feeding it and systemd restarts the
/// agent), stopping at the end. Without systemd (no NOTIFY_SOCKET) it does nothing.
struct Watchdog {
    private let notifier = SystemdNotifier()
    private let clock = ContinuousClock()
    private var last: ContinuousClock.Instant
    /// Test hook (documented in docs/operations.md): the loop stalls once, for 6 s, this many seconds
    /// after the start, so a test can see the watchdog pings stop.
    private var stallAt = ProcessInfo.processInfo.environment["ALVEO_TEST_STALL_LOOP_AFTER_S"].flatMap(Double.init)

    init() { last = clock.now }

    /// Ready: reconciled and polling.
    mutating func ready(status: String) {
        notifier?.notify("READY=1\nSTATUS=\(status)")
        last = clock.now
        if notifier?.watchdogInterval != nil { notifier?.notify("WATCHDOG=1") }
    }

    /// Called by the loop for every input it takes: feeds the watchdog when its half-interval has passed,
    /// and stalls once when the test hook asks (at agent time `t`).
    mutating func loopAlive(at t: @autoclosure () -> Double) {
        if let notifier, let interval = notifier.watchdogInterval, clock.now - last >= interval {
            notifier.notify("WATCHDOG=1")
            last = clock.now
        }
        if let at = stallAt, t() >= at {
            stallAt = nil
            usleep(6_000_000)  // blocks the loop, as a stall would
        }
    }

    func stopping() {
        notifier?.notify("STOPPING=1")
    }
}
