import AlveoCore
import AlveoDevices
import AlveoIO
import Dispatch
import Foundation
import Logging
import Synchronization

/// Seconds since the agent started, from the monotonic clock: the time observations enter the core with.
public struct AgentClock: Sendable {
    private let start = ContinuousClock.now

    public init() {}

    public func seconds() -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}

/// What a poller hands to the core: the observations of one poll and when they were received.
public struct Delivery: Sendable {
    public var t: Double
    public var observations: [Observation]
}

/// Counters a clinical engineer can read in the logs.
public struct DeviceHealth: Sendable, Equatable {
    public var polls = 0
    public var failures = 0
    public var reconnects = 0
    public var deviceLost = 0
}

/// Polls one Modbus device on its own thread: libmodbus calls block, so they never run on Swift's
/// cooperative pool, and one slow device cannot stall another. Connects with capped exponential
/// backoff, reads the profile's blocks every poll interval, decodes, and delivers observations.
/// A poll that fails delivers nothing: the core's silence timeout turns that into
/// `technical.device_silent`, and the first good poll ends it.
public final class DevicePoller: Sendable {
    public let device: DeviceConfig
    private let clock: AgentClock
    private let deliver: @Sendable (Delivery) -> Void
    private let logger: Logger
    private let wake = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private let stopping = Mutex(false)
    private let counters = Mutex(DeviceHealth())

    public init(device: DeviceConfig, clock: AgentClock, logger: Logger, deliver: @escaping @Sendable (Delivery) -> Void) {
        self.device = device
        self.clock = clock
        self.deliver = deliver
        var logger = logger
        logger[metadataKey: "device"] = "\(device.id)"
        logger[metadataKey: "endpoint"] = "\(device.endpoint)"
        self.logger = logger
    }

    public var health: DeviceHealth { counters.withLock { $0 } }

    public func start() {
        let thread = Thread { [self] in
            run()
            done.signal()
        }
        thread.name = "alveo-poll-\(device.id)"
        thread.start()
    }

    /// Stops the loop and waits for its thread to finish (at most one response timeout).
    public func stop() {
        stopping.withLock { $0 = true }
        wake.signal()
        done.wait()
    }

    private var isStopping: Bool { stopping.withLock { $0 } }

    /// Sleeps, waking early on stop. Returns false when stopping.
    private func pause(_ duration: Duration) -> Bool {
        let nanos = max(0, duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
        _ = wake.wait(timeout: .now() + .nanoseconds(Int(nanos)))
        return !isStopping
    }

    private func run() {
        var decoder = ModbusDecoder(profile: device.profile, source: device.id)
        var connection: ModbusConnection?
        var backoff = device.reconnectMin
        var lastProblem: String?
        let monotonic = ContinuousClock()
        var nextPoll = monotonic.now

        func report(_ problem: String, level: Logger.Level) {
            // Log each new problem once, not once per poll, and say when it clears.
            if problem != lastProblem { logger.log(level: level, "\(problem)") }
            lastProblem = problem
        }

        while !isStopping {
            if connection == nil {
                do {
                    let candidate = try ModbusConnection(endpoint: device.endpoint, unitID: device.unitID,
                                                         responseTimeout: device.responseTimeout, byteTimeout: device.byteTimeout)
                    try candidate.connect()
                    connection = candidate
                    counters.withLock { $0.reconnects += 1 }
                    logger.info("connected")
                } catch {
                    report("cannot connect: \(error.causeText); retrying in \(backoff)", level: .error)
                    guard pause(backoff) else { break }
                    backoff = min(backoff * 2, device.reconnectMax)
                    continue
                }
            }
            guard let link = connection else { continue }
            do {
                var blocks: [[UInt16]] = []
                blocks.reserveCapacity(decoder.plan.blocks.count)
                for block in decoder.plan.blocks {
                    blocks.append(try link.read(block.table == .input ? .input : .holding, address: block.address, count: block.count))
                }
                let receivedAt = clock.seconds()
                let result = decoder.decode(blocks)
                counters.withLock { $0.polls += 1 }
                if result.deviceLost {
                    counters.withLock { $0.deviceLost += 1 }
                    report("the gateway reports its device lost (status comms-lost bit)", level: .warning)
                } else {
                    if lastProblem != nil { logger.info("data resumed") }
                    lastProblem = nil
                    backoff = device.reconnectMin
                    deliver(Delivery(t: receivedAt, observations: result.observations))
                }
            } catch {
                counters.withLock { $0.failures += 1 }
                if case .exception = error.cause {
                    // The device answered: the link is fine, the request or the device behind a gateway is not.
                    report("\(error.operation): \(error.causeText)", level: .error)
                } else {
                    report("\(error.operation): \(error.causeText); reconnecting", level: .error)
                    link.close()
                    connection = nil
                    guard pause(backoff) else { break }
                    backoff = min(backoff * 2, device.reconnectMax)
                    continue
                }
            }
            nextPoll = nextPoll.advanced(by: device.pollInterval)
            let now = monotonic.now
            if nextPoll < now { nextPoll = now }  // behind: skip missed polls rather than bursting
            guard pause(now.duration(to: nextPoll)) else { break }
        }
        connection?.close()
    }
}
