import AlveoCore
import Dispatch
import Foundation
import Synchronization

/// A dedicated thread for blocking C calls (libmodbus, libserialport, sockets), kept off Swift's
/// cooperative pool, with a pause that a stop (or a wake) cuts short and a stop that waits for the
/// thread to finish. Shared by the Modbus bus pollers, the serial pollers and the journal forwarders.
package final class WorkerThread: Sendable {
    package let name: String
    /// Monotonic: a DispatchSemaphore's timed wait is moved by the wall clock on Linux (MonotonicSemaphore).
    private let wakeup = MonotonicSemaphore()
    private let done = DispatchSemaphore(value: 0)
    private let stopping = Mutex(false)

    package init(name: String) {
        self.name = name
    }

    /// Runs `body` on a new thread; `stop()` waits for it to return.
    package func start(_ body: @escaping @Sendable () -> Void) {
        let thread = Thread { [done] in
            body()
            done.signal()
        }
        thread.name = name
        thread.start()
    }

    package var isStopping: Bool { stopping.withLock { $0 } }

    /// Ends a pause early (new work arrived).
    package func wake() { wakeup.signal() }

    /// Sleeps up to `duration`, returning early on `wake()` or `stop()`. Returns false when stopping.
    package func pause(_ duration: Duration) -> Bool {
        wakeup.wait(timeout: duration)
        return !isStopping
    }

    /// Asks the loop to end and waits for its thread (at most one blocking call in flight).
    package func stop() {
        stopping.withLock { $0 = true }
        wakeup.signal()
        done.wait()
    }
}
