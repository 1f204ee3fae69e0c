#if canImport(Glibc)
import Glibc
#endif

/// A counting semaphore whose timed wait is measured on CLOCK_MONOTONIC, for the pauses of the
/// agent's own threads (pollers, forwarders, the trend writer). libdispatch on Linux waits for a
/// `DispatchSemaphore` with `sem_timedwait`, whose deadline is absolute on CLOCK_REALTIME (computed
/// from the wall clock when the wait begins), so a wall clock set back by an hour while a thread
/// paused made the pause an hour longer: a bus poller between two polls stopped polling the bed's
/// devices (issue 23). A pthread condition variable whose clock is CLOCK_MONOTONIC is not moved by
/// the wall clock.
package final class MonotonicSemaphore: @unchecked Sendable {
    // @unchecked: `count` is read and written only with `mutex` held; the pthread objects are made
    // for use from many threads, and live as long as this object.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var count: Int

    package init(value: Int = 0) {
        count = value
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    package func signal() {
        pthread_mutex_lock(mutex)
        count += 1
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Waits until signalled or until `timeout` has passed on the monotonic clock; true if signalled.
    @discardableResult
    package func wait(timeout: Duration) -> Bool {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        // Never negative; at most ten years ahead: no overflow, and as good as for ever.
        let timeout = max(timeout, .zero)
        let seconds = min(timeout.components.seconds, 315_360_000)
        let nanoseconds = Int64(deadline.tv_nsec) + timeout.components.attoseconds / 1_000_000_000
        deadline.tv_sec += Int(clamping: seconds + nanoseconds / 1_000_000_000)
        deadline.tv_nsec = Int(clamping: nanoseconds % 1_000_000_000)
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while count == 0 {
            // 0: signalled (or woken spuriously: look again); ETIMEDOUT, or anything else: done.
            if pthread_cond_timedwait(condition, mutex, &deadline) != 0 { break }
        }
        guard count > 0 else { return false }
        count -= 1
        return true
    }
}
