import Foundation
import Synchronization
import Testing

package extension Trait where Self == ConditionTrait {
    /// A suite that starts processes (the agent, a simulator, peers, receivers) or talks to real ones
    /// over sockets and pseudo-terminals: `make test` runs it; `make check` (ALVEO_CHECK=1) skips it.
    /// (Swift 6.3's `swift test` cannot filter by tag yet, so the switch is an environment variable.)
    static var endToEnd: Self {
        .enabled(if: ProcessInfo.processInfo.environment["ALVEO_CHECK"] == nil, "end to end: make test runs it, make check skips it")
    }
}

package extension Trait where Self == OwnThread {
    /// Each test of the suite on a thread of its own (`OwnThread`).
    static var ownThread: Self { OwnThread() }
}

/// Runs each test of a suite that blocks — it waits on processes, polls files and sockets with short
/// sleeps — on a thread of its own, never on Swift's cooperative pool. That pool has one thread per
/// core (two here): two blocking tests on it starved every async test in the process for minutes,
/// and an async test's own deadlines then fired although the agent had answered (seen under load:
/// "no answer from the agent within 15 s", and 80,000 in-process inbox requests taking 773 s).
package struct OwnThread: SuiteTrait, TestTrait, TestScoping {
    package var isRecursive: Bool { true }

    package func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        guard !test.isSuite else { return try await function() }
        await OwnThread.gate.enter()
        let executor = ThreadExecutor(name: String(test.name.prefix(15)))
        defer {
            executor.finish()
            OwnThread.gate.leave()
        }
        try await withTaskExecutorPreference(executor) { try await function() }
    }

    /// At most this many such tests at once (`ALVEO_TEST_CONCURRENCY`; default: the cores plus one).
    /// Each starts an agent, peers and receivers: unbounded, forty of them at once on two cores made
    /// their own deadlines fire (`alveo deliver` not done within 120 s).
    package static let gate = Gate(width: ProcessInfo.processInfo.environment["ALVEO_TEST_CONCURRENCY"].flatMap { Int($0) }.map { max(1, $0) }
        ?? ProcessInfo.processInfo.activeProcessorCount + 1)
}

/// A counting gate for async callers: `enter` waits while `width` are inside.
package final class Gate: Sendable {
    private let state: Mutex<(inside: Int, waiting: [CheckedContinuation<Void, Never>])>
    package let width: Int

    package init(width: Int) {
        self.width = width
        state = Mutex((0, []))
    }

    package func enter() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admitted = state.withLock { state -> Bool in
                if state.inside < width {
                    state.inside += 1
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if admitted { continuation.resume() }
        }
    }

    package func leave() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiting.isEmpty else {
                state.inside -= 1
                return nil
            }
            return state.waiting.removeFirst()  // its place passes on: `inside` stays
        }
        next?.resume()
    }
}

/// A task executor over one dedicated thread. After `finish`, a late job (there should be none) runs
/// on a new thread of its own rather than never.
package final class ThreadExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: `jobs` and `finished` are used under `condition`.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var finished = false

    package init(name: String) {
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
    }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        defer { condition.unlock() }
        if finished {
            let executor = asUnownedTaskExecutor()
            Thread.detachNewThread { job.runSynchronously(on: executor) }
            return
        }
        jobs.append(job)
        condition.signal()
    }

    package func finish() {
        condition.lock()
        finished = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty && !finished { condition.wait() }
            guard !jobs.isEmpty else { return condition.unlock() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
