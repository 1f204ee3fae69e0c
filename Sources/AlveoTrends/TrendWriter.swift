import AlveoIO
import Foundation

/// Writes rows to a trend store from its own thread, so that the loop that feeds the clinical core
/// never waits on the disk: `append` only takes a lock and copies into a buffer. Rows are written in
/// one transaction per batch (every `interval`, or when `flush` asks). The store is opened on the
/// writer's thread too (`open`), and opened again every `reopenInterval` while it cannot be (locked,
/// not a database, no disk). A store that cannot be opened or written keeps the rows up to
/// `maxPending` and tries again; past that bound the oldest rows are dropped and counted. `problem`
/// says what is wrong (nil: all well), for the agent's `technical.trend_store_failed`.
package final class TrendWriter: @unchecked Sendable {
    /// The store's path, for messages.
    package let path: String
    private let open: @Sendable () throws(TrendStoreError) -> TrendStore
    private var store: TrendStore?
    private var lastOpenAttempt: ContinuousClock.Instant?
    package static let reopenInterval: Duration = .seconds(10)
    /// Guards the state below (taken briefly; nobody waits on it).
    private let condition = NSLock()
    /// Wakes the writer's thread before its interval (a flush, the stop).
    private let wakeup = MonotonicSemaphore()
    /// Held while a batch is written: one writer at a time (the thread, or a flush after the stop).
    private let writeLock = NSLock()
    private var pending: [TrendRow] = []
    private var stopping = false
    private var flushRequested = 0
    private var flushed = 0
    private var thread: Thread?
    private var lastRetention = -Double.infinity
    private var latestTime = -Double.infinity
    // Read by other threads under `condition`.
    private var problemText: String?
    private var droppedRows = 0
    private var writtenRows = 0
    private var writeSeconds = 0.0

    package let interval: Double
    package let rawRetention: Double
    package let summaryRetention: Double
    package static let maxPending = 500_000

    package convenience init(store: TrendStore, interval: Double = 1, rawRetention: Double, summaryRetention: Double) {
        self.init(path: store.path, interval: interval, rawRetention: rawRetention, summaryRetention: summaryRetention) { store }
    }

    /// Below this many bytes free on the store's file system (`freeSpace`), batches wait: the trend
    /// store never takes the last room of a disk it may share with the alarm journal. Writing resumes
    /// with 10 % more than this free.
    package let minFreeBytes: UInt64
    private let freeSpace: @Sendable () -> UInt64?
    private var lastSpaceCheck: ContinuousClock.Instant?
    private var spaceProblem: String?
    static let spaceCheckInterval = Duration.seconds(5)

    package init(path: String, interval: Double = 1, rawRetention: Double, summaryRetention: Double,
                minFreeBytes: UInt64 = 0, freeSpace: @escaping @Sendable () -> UInt64? = { nil },
                open: @escaping @Sendable () throws(TrendStoreError) -> TrendStore)
    {
        self.minFreeBytes = minFreeBytes
        self.freeSpace = freeSpace
        self.path = path
        self.open = open
        self.interval = interval
        self.rawRetention = rawRetention
        self.summaryRetention = summaryRetention
    }

    package func start() {
        let thread = Thread { [self] in run() }
        thread.name = "alveo-trends"
        self.thread = thread
        thread.start()
    }

    /// Queues rows (never blocks on the disk).
    package func append(_ rows: [TrendRow]) {
        guard !rows.isEmpty else { return }
        condition.lock()
        pending.append(contentsOf: rows)
        trimPending()
        condition.unlock()
    }

    /// Past `maxPending`, the oldest rows go (counted). Called with `condition` held.
    private func trimPending() {
        guard pending.count > TrendWriter.maxPending else { return }
        let excess = pending.count - TrendWriter.maxPending
        pending.removeFirst(excess)
        droppedRows += excess
    }

    /// What is wrong with the store now (nil: the last batch was written).
    package var problem: String? {
        condition.lock()
        defer { condition.unlock() }
        return problemText
    }

    package struct Counters: Sendable {
        package var written: Int
        package var dropped: Int
        package var pending: Int
        /// Seconds spent writing (on the writer's thread).
        package var writeSeconds: Double
    }

    package var counters: Counters {
        condition.lock()
        defer { condition.unlock() }
        return Counters(written: writtenRows, dropped: droppedRows, pending: pending.count, writeSeconds: writeSeconds)
    }

    /// Writes what is queued now and waits until it is written (or failed), up to `timeout` seconds
    /// (on the monotonic clock, as every wait here: a wall clock set back must not hold the writer).
    @discardableResult
    package func flush(timeout: Double = 10) -> Bool {
        condition.lock()
        flushRequested += 1
        let wanted = flushRequested
        condition.unlock()
        wakeup.signal()
        let deadline = ContinuousClock.now + .milliseconds(Int64(max(0, min(timeout, 86_400)) * 1000))
        while true {
            condition.lock()
            let done = flushed >= wanted, writeHere = thread == nil || stopping
            condition.unlock()
            if done { break }
            if writeHere {  // not started, or stopped: write here
                writeBatch()
                condition.lock()
                flushed = max(flushed, wanted)
                condition.unlock()
                break
            }
            if ContinuousClock.now >= deadline { return false }
            usleep(1_000)
        }
        return problem == nil
    }

    /// Writes what is queued and stops the thread.
    package func stop() {
        flush()
        condition.lock()
        guard !stopping else { return condition.unlock() }
        stopping = true
        condition.unlock()
        wakeup.signal()
        writeLock.lock()
        store?.checkpoint()
        writeLock.unlock()
    }

    private func run() {
        let period = Duration.milliseconds(Int64(max(0.001, min(interval, 3600)) * 1000))
        while true {
            // Monotonic: an NSCondition's deadline is a wall-clock date, and so, on Linux, is a
            // DispatchSemaphore's (MonotonicSemaphore).
            wakeup.wait(timeout: period)
            condition.lock()
            let stop = stopping
            let wanted = flushRequested
            condition.unlock()
            writeBatch()
            condition.lock()
            flushed = max(flushed, wanted)
            condition.unlock()
            if stop { return }
        }
    }

    /// Why batches wait for room (nil: room enough), checked every few seconds; on the writer's thread.
    private func checkSpace(now: ContinuousClock.Instant) -> String? {
        guard minFreeBytes > 0 else { return nil }
        if let last = lastSpaceCheck, now - last < TrendWriter.spaceCheckInterval { return spaceProblem }
        lastSpaceCheck = now
        guard let free = freeSpace() else { return spaceProblem }
        let floor = spaceProblem == nil ? minFreeBytes : minFreeBytes + minFreeBytes / 10
        spaceProblem = free < floor
            ? "only \(free / 1_048_576) MB free on its file system, below trends.min_free_mb (\(minFreeBytes / 1_048_576)): not written, so that the alarm journal keeps its room"
            : nil
        return spaceProblem
    }

    private func writeBatch() {
        writeLock.lock()
        defer { writeLock.unlock() }
        condition.lock()
        let batch = pending
        pending.removeAll(keepingCapacity: true)
        condition.unlock()
        let started = ContinuousClock.now
        var failure: String?
        if store == nil {
            // Not open yet, or could not be: again now and then (never from the core's loop).
            if let last = lastOpenAttempt, started - last < TrendWriter.reopenInterval {
                condition.lock()
                pending.insert(contentsOf: batch, at: 0)
                condition.unlock()
                return
            }
            lastOpenAttempt = started
            do { store = try open() } catch {
                failure = error.description
            }
        }
        guard let store else {
            condition.lock()
            problemText = failure ?? problemText
            pending.insert(contentsOf: batch, at: 0)
            trimPending()
            condition.unlock()
            return
        }
        guard !batch.isEmpty else {
            condition.lock()
            problemText = spaceProblem
            condition.unlock()
            return
        }
        if let problem = checkSpace(now: started) {
            condition.lock()
            problemText = problem
            pending.insert(contentsOf: batch, at: 0)
            trimPending()
            condition.unlock()
            return
        }
        do {
            try store.write(batch)
            for row in batch {
                switch row {
                case .observation(let o): latestTime = max(latestTime, o.time)
                case .derived(let d): latestTime = max(latestTime, d.time)
                default: break
                }
            }
            // Retention by the data's own time (a replay of last month keeps last month's values).
            if latestTime.isFinite, latestTime - lastRetention >= 3600 {
                lastRetention = latestTime
                try store.enforceRetention(now: latestTime, raw: rawRetention, summaries: summaryRetention)
            }
        } catch {
            failure = error.description
        }
        let elapsed = ContinuousClock.now - started
        condition.lock()
        writeSeconds += Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        if let failure {
            problemText = failure
            // Kept for the next batch, ahead of what came since, within the bound.
            pending.insert(contentsOf: batch, at: 0)
            trimPending()
        } else {
            problemText = nil
            writtenRows += batch.count
        }
        condition.unlock()
    }
}

/// Writes a replay's rows to a store as they come, synchronously, in transactions of `batch` rows:
/// a replay runs thousands of times faster than real time, so nothing is held back or dropped (the
/// live `TrendWriter` bounds what waits for a store that cannot be written; a replay stops instead).
package final class TrendBatchWriter {
    package let store: TrendStore
    private var pending: [TrendRow] = []
    private let batch: Int
    /// The first failure; rows after it are not written.
    package private(set) var failure: TrendStoreError?
    package private(set) var written = 0

    package init(store: TrendStore, batch: Int = 20_000) {
        self.store = store
        self.batch = max(1, batch)
    }

    package func append(_ rows: [TrendRow]) {
        guard failure == nil else { return }
        pending.append(contentsOf: rows)
        if pending.count >= batch { write() }
    }

    private func write() {
        do {
            try store.write(pending)
            written += pending.count
        } catch {
            failure = error
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// Writes what is left; throws the first failure.
    package func finish() throws(TrendStoreError) {
        if failure == nil, !pending.isEmpty { write() }
        if let failure { throw failure }
        store.checkpoint()
    }
}
