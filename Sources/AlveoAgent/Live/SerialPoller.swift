import AlveoCore
import AlveoDevices
import AlveoIO
import AlveoTrace
import Dispatch
import Foundation
import Logging
import Synchronization

/// Talks to one serial-protocol device over libserialport on its own thread: opens the line (with
/// capped exponential backoff), runs the protocol session (handshake, polls, keep-alives, echoes),
/// decodes what arrives and delivers each frame's observations with its receipt time. Garbled bytes
/// are counted and logged when they occur, never fatal; a line that fails is reopened.
package final class SerialPoller: Sendable {
    package let device: SerialDeviceConfig
    private let clock: AgentClock
    private let deliver: @Sendable (Delivery) -> Void
    private let logger: Logger
    private let worker: WorkerThread
    private let counters = Mutex(StreamCounters())
    private let recorder: TraceWriter?

    package init(device: SerialDeviceConfig, clock: AgentClock, logger: Logger, recorder: TraceWriter? = nil,
                deliver: @escaping @Sendable (Delivery) -> Void)
    {
        self.device = device
        self.recorder = recorder
        self.worker = WorkerThread(name: "alveo-serial-\(device.id)")
        self.clock = clock
        self.deliver = deliver
        var logger = logger
        logger[metadataKey: "device"] = "\(device.id)"
        logger[metadataKey: "serial"] = "\(device.path) \(device.driver.name)"
        self.logger = logger
    }

    package var streamCounters: StreamCounters { counters.withLock { $0 } }

    private let healthState = Mutex(DeviceHealth())
    /// The line's state for `alveo status`: open or not, the last frame, the last problem, the counts.
    package var health: DeviceHealth {
        var health = healthState.withLock { $0 }
        let seen = streamCounters
        health.frames = seen.frames
        health.rejectedFrames = seen.rejectedFrames
        health.skippedBytes = seen.skippedBytes
        return health
    }

    package func start() { worker.start { [self] in run() } }

    /// Stops the loop and waits for its thread (at most one 100 ms read or 1 s write in flight).
    package func stop() { worker.stop() }

    private var isStopping: Bool { worker.isStopping }

    private func sleep(_ seconds: Double) -> Bool { worker.pause(.clampedSeconds(seconds)) }

    /// Keeps every byte in the trace, with the time the core sees for it.
    private func record(_ kind: TraceRecord.Kind, _ bytes: [UInt8], at t: Double) {
        recorder?.write(TraceRecord(kind: kind, monotonic: t, wallNanoseconds: TraceWriter.wallNow(), device: device.id, payload: bytes))
    }

    private func run() {
        var backoff = 0.25
        var rejectionLines = RejectionLines()
        var lastProblem: String?
        // One pump (session and tick grid) for the poller's life: what the session remembers (the last
        // plateau seen) survives a reopen.
        var pump = device.makePump()
        while !isStopping {
            let line: any PumpLine
            do {
                if let lan = device.lan {
                    line = DatagramLine(socket: try DatagramSocket(host: lan.host, port: lan.port))
                } else {
                    line = PortLine(port: try SerialPort(path: device.path, settings: device.settings))
                }
                logger.info("opened")
                lastProblem = nil
                healthState.withLock {
                    $0.connected = true
                    $0.connects += 1
                }
            } catch {
                let problem = "cannot open: \(error)"
                record(.pollFailed, Array(problem.utf8), at: clock.seconds())
                if problem != lastProblem { logger.error("\(problem); retrying with backoff up to \(device.reconnectMax) s") }
                lastProblem = problem
                healthState.withLock {
                    $0.connected = false
                    $0.lastProblem = problem
                    $0.failures += 1
                }
                guard sleep(backoff) else { break }
                backoff = min(backoff * 2, device.reconnectMax)
                continue
            }
            var lastRejected = pump.counters.rejectedFrames
            var lastReasons = pump.session?.rejections.total ?? 0
            var reportedAlarms: [String] = []
            var reportedLink: String?
            var reportedIdentification: String?
            // The session starts its conversation again at every open: no refusal yet.
            var reportedRefusal: String?
            healthState.withLock {
                $0.refusal = nil
                $0.refusedSince = nil
            }
            do {
                let openedAt = clock.seconds()
                record(.opened, [], at: openedAt)
                try pump.open(on: line, at: openedAt) { bytes, t in record(.sent, bytes, at: t) }
                while !isStopping {
                    // Reads until the next tick is due, ticks the session on its grid (after a stall only
                    // the latest tick's bytes are sent: DevicePump), hands over what arrived, then writes.
                    try pump.turn(on: line, clock: clock.seconds, received: { bytes, turn, now in
                        guard !bytes.isEmpty else { return }
                        // Received bytes are recorded and delivered before anything is written, so a
                        // write that fails cannot lose them.
                        recordThenDeliver(recorder, TraceRecord(kind: .received, monotonic: now, wallNanoseconds: TraceWriter.wallNow(),
                                                                device: device.id, payload: bytes)) {
                            for observations in turn.frames where !observations.isEmpty {
                                deliver(Delivery(t: now, observations: observations))
                            }
                        }
                        if !turn.frames.isEmpty {
                            healthState.withLock {
                                $0.lastGood = now
                                $0.lastProblem = nil
                            }
                        }
                        backoff = 0.25
                    }, sending: { bytes, now in record(.sent, bytes, at: now) })
                    guard let session = pump.session else { break }
                    let seen = session.counters
                    counters.withLock { $0 = seen }
                    if session.linkState != reportedLink {
                        reportedLink = session.linkState
                        if let link = reportedLink { logger.info("link: \(link)") }
                        healthState.withLock { $0.link = reportedLink }
                    }
                    if let identification = session.identification, identification != reportedIdentification {
                        reportedIdentification = identification
                        logger.info("the device identifies itself as \(identification)")
                        healthState.withLock { $0.identification = identification }
                    }
                    if session.refusal != reportedRefusal {
                        reportedRefusal = session.refusal
                        if let refusal = reportedRefusal {
                            logger.warning("the device refuses to send data: \(refusal)")
                        } else {
                            logger.info("the device no longer refuses")
                        }
                        let now = clock.seconds()
                        healthState.withLock {
                            $0.refusedSince = reportedRefusal == nil ? nil : ($0.refusedSince ?? now)
                            $0.refusal = reportedRefusal
                        }
                    }
                    if session.deviceAlarms != reportedAlarms {
                        reportedAlarms = session.deviceAlarms
                        if reportedAlarms.isEmpty {
                            logger.info("the device reports no active alarms")
                        } else {
                            logger.warning("the device reports its own alarms: \(reportedAlarms.joined(separator: ", "))")
                        }
                    }
                    if seen.rejectedFrames > lastRejected {
                        // Each rejected frame with its own reason, up to `RejectionLines.perMinute` lines a
                        // minute (a noisy line must not flood the log); past that, or when the session
                        // keeps only its last reason, one line with the count and the last reason.
                        let new = seen.rejectedFrames - lastRejected
                        let reasons = session.rejections.since(lastReasons)
                        if let reasons, reasons.count == new, rejectionLines.allow(new, at: clock.seconds()) {
                            for reason in reasons {
                                logger.warning("rejected 1 frame(s): \(reason) (skipped bytes so far: \(seen.skippedBytes))")
                            }
                        } else {
                            let why = reasons?.count == new ? " (their reasons are not each logged: more than \(RejectionLines.perMinute) this minute)" : ""
                            logger.warning("rejected \(new) frame(s)\(why): the last: \(session.lastRejection ?? "?") (skipped bytes so far: \(seen.skippedBytes))")
                        }
                        lastRejected = seen.rejectedFrames
                        lastReasons = session.rejections.total
                    }
                }
            } catch {
                pump.fail()
                record(.pollFailed, Array("\(error)".utf8), at: clock.seconds())
                logger.error("\(error); reopening")
                healthState.withLock {
                    $0.connected = false
                    $0.lastProblem = "\(error)"
                    $0.failures += 1
                }
                guard sleep(backoff) else { break }
                backoff = min(backoff * 2, device.reconnectMax)
            }
        }
    }
}

/// How many rejected-frame lines a serial device may write to the log: `perMinute` in each minute
/// (agent seconds), so that each rejection is said with its own reason on a line that has a few, and a
/// line that garbles everything cannot flood the journal.
struct RejectionLines {
    static let perMinute = 20
    private var windowStart = -Double.infinity
    private var used = 0

    /// Whether `lines` more may be written at `t` (counted if so).
    mutating func allow(_ lines: Int, at t: Double) -> Bool {
        if t - windowStart >= 60 {
            windowStart = t
            used = 0
        }
        guard used + lines <= Self.perMinute else { return false }
        used += lines
        return true
    }
}
