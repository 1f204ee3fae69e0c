import AlveoIO
import Foundation
import Testing

/// The pause of the agent's own threads (WorkerThread, the trend writer): a counting semaphore whose
/// timed wait is measured on CLOCK_MONOTONIC.
@Suite struct MonotonicSemaphoreTests {
    @Test func aSignalIsKeptUntilAWaitTakesIt() {
        let semaphore = MonotonicSemaphore()
        semaphore.signal()
        semaphore.signal()
        #expect(semaphore.wait(timeout: .seconds(60)))
        #expect(semaphore.wait(timeout: .zero))
        #expect(!semaphore.wait(timeout: .zero), "two signals, two waits")
    }

    @Test func aWaitEndsAtItsTimeoutOrWhenSignalled() async {
        let semaphore = MonotonicSemaphore()
        #expect(!semaphore.wait(timeout: .milliseconds(20)))
        #expect(!semaphore.wait(timeout: .milliseconds(-5)), "a negative timeout does not wait for ever")
        let waiter = Task.detached { semaphore.wait(timeout: .seconds(600)) }
        semaphore.signal()
        #expect(await waiter.value, "another thread's signal ends the wait")
    }
}
