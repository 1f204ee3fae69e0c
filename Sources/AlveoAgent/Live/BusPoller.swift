import AlveoCore
import AlveoDevices
import AlveoIO
import AlveoTrace
import Dispatch
import Foundation
import Logging
import Synchronization

/// Seconds since the agent started, from the monotonic clock: the time observations enter the core with.
/// Whole nanoseconds, converted exactly as a trace is read back, so a recorded run replays with the
/// very same times (a time computed from attoseconds can differ in its last bit after the round trip
/// through the file, and then the event's `t` prints differently).
package struct AgentClock: Sendable {
    private let start = ContinuousClock.now

    package init() {}

    package func seconds() -> Double {
        TraceRecord.seconds(nanoseconds: UInt64(max(0, (ContinuousClock.now - start).wholeNanoseconds)))
    }
}

/// What a poller hands to the core: the observations of one poll and when they were received.
package struct Delivery: Sendable {
    package var t: Double
    /// Empty for the agent's one-second clock tick: the rules run so that silences are found.
    package var observations: [Observation]
}

/// Counters a clinical engineer can read in the logs and in `alveo status`.
package struct DeviceHealth: Sendable, Equatable {
    package var polls = 0
    package var failures = 0
    package var connects = 0
    package var deviceLost = 0
    /// The link (Modbus connection, serial port) is open now.
    package var connected = false
    /// When the last good poll or frame arrived (agent seconds).
    package var lastGood: Double?
    /// The problem seen last, until data flows again.
    package var lastProblem: String?
    /// Serial devices: frames decoded and rejected, bytes skipped as noise.
    package var frames = 0
    package var rejectedFrames = 0
    package var skippedBytes = 0
    /// Serial devices with a handshake: where the conversation stands, and what the device says it is.
    package var link: String?
    package var identification: String?
    /// Serial devices: the device's own answer while it keeps refusing to give data
    /// (`technical.device_refused`), and since when (agent seconds).
    package var refusal: String?
    package var refusedSince: Double?
}

/// Polls the devices of one bus (one serial line, or one TCP gateway address) on the bus's own
/// thread: libmodbus calls block, so they never run on Swift's cooperative pool, and one bus cannot
/// stall another. Devices on the bus share its one libmodbus context (RS-485 multi-drop: requests
/// must not collide) and are addressed by unit id in turn, each on its own poll interval.
/// The bus connects with capped exponential backoff. A poll that fails delivers nothing: the core's
/// silence timeout turns that into `technical.device_silent`, and the first good poll ends it.
package final class BusPoller: Sendable {
    package let endpoint: ModbusEndpoint
    package let devices: [DeviceConfig]
    private let clock: AgentClock
    private let deliver: @Sendable (Delivery) -> Void
    private let logger: Logger
    private let worker: WorkerThread
    private let counters: Mutex<[String: DeviceHealth]>
    private let recorder: TraceWriter?

    /// Groups configured devices into buses: same endpoint, one bus.
    package static func buses(for devices: [DeviceConfig]) -> [[DeviceConfig]] {
        var buses: [[DeviceConfig]] = []
        for device in devices {
            if let index = buses.firstIndex(where: { $0[0].endpoint == device.endpoint }) {
                buses[index].append(device)
            } else {
                buses.append([device])
            }
        }
        return buses
    }

    package init(devices: [DeviceConfig], clock: AgentClock, logger: Logger, recorder: TraceWriter? = nil,
                deliver: @escaping @Sendable (Delivery) -> Void)
    {
        self.recorder = recorder
        self.worker = WorkerThread(name: "alveo-bus-\(devices[0].id)")
        precondition(!devices.isEmpty && devices.allSatisfy { $0.endpoint == devices[0].endpoint }, "one bus, one endpoint")
        self.endpoint = devices[0].endpoint
        self.devices = devices
        self.clock = clock
        self.deliver = deliver
        var logger = logger
        logger[metadataKey: "bus"] = "\(endpoint)"
        self.logger = logger
        self.counters = Mutex(Dictionary(uniqueKeysWithValues: devices.map { ($0.id, DeviceHealth()) }))
    }

    package func health(of device: String) -> DeviceHealth { counters.withLock { $0[device] ?? DeviceHealth() } }

    package func start() { worker.start { [self] in run() } }

    /// Stops the loop and waits for its thread to finish (at most one response timeout).
    package func stop() { worker.stop() }

    private var isStopping: Bool { worker.isStopping }

    private func pause(_ duration: Duration) -> Bool { worker.pause(duration) }

    /// Per-device state on the bus thread.
    private struct Slot {
        var device: DeviceConfig
        /// The device's data path: its decoder and the poll's blocks (as replay assembles them).
        var pump: DevicePump
        var nextPoll: ContinuousClock.Instant
        var lastProblem: String?
    }

    private func run() {
        let monotonic = ContinuousClock()
        var slots = devices.map { Slot(device: $0, pump: $0.makePump(), nextPoll: monotonic.now) }
        var connection: ModbusConnection?
        let reconnectMin = devices.map(\.reconnectMin).min()!, reconnectMax = devices.map(\.reconnectMax).max()!
        let responseTimeout = devices.map(\.responseTimeout).max()!, byteTimeout = devices.map(\.byteTimeout).max()!
        var backoff = reconnectMin
        var busProblem: String?
        let isSerial = if case .rtu = endpoint { true } else { false }

        func report(_ slot: inout Slot, _ problem: String, level: Logger.Level) {
            // Log each new problem once, not once per poll; say when it clears.
            if problem != slot.lastProblem { logger.log(level: level, "\(problem)", metadata: ["device": "\(slot.device.id)"]) }
            slot.lastProblem = problem
            counters.withLock { $0[slot.device.id]?.lastProblem = problem }
        }
        func linked(_ up: Bool, problem: String? = nil) {
            counters.withLock { all in
                for device in devices {
                    all[device.id]?.connected = up
                    if let problem { all[device.id]?.lastProblem = problem }
                }
            }
        }

        bus: while !isStopping {
            if connection == nil {
                do {
                    let candidate = try ModbusConnection(endpoint: endpoint, unitID: devices[0].unitID,
                                                         responseTimeout: responseTimeout, byteTimeout: byteTimeout)
                    try candidate.connect()
                    connection = candidate
                    counters.withLock { all in for device in devices { all[device.id]?.connects += 1 } }
                    linked(true)
                    busProblem = nil
                    logger.info("connected", metadata: ["devices": "\(devices.map(\.id).joined(separator: ","))"])
                } catch {
                    let problem = "cannot connect: \(error.causeText)"
                    for device in devices {
                        recorder?.write(TraceRecord(kind: .pollFailed, monotonic: clock.seconds(), wallNanoseconds: TraceWriter.wallNow(),
                                                    device: device.id, payload: Array(problem.utf8)))
                    }
                    if problem != busProblem {
                        logger.error("\(problem); retrying with backoff up to \(reconnectMax)",
                                     metadata: ["devices": "\(devices.map(\.id).joined(separator: ","))"])
                    }
                    busProblem = problem
                    linked(false, problem: problem)
                    guard pause(backoff) else { break }
                    backoff = min(backoff * 2, reconnectMax)
                    continue
                }
            }
            guard let link = connection else { continue }

            // The device due first; wait for it.
            let index = slots.indices.min { slots[$0].nextPoll < slots[$1].nextPoll }!
            let now = monotonic.now
            if slots[index].nextPoll > now {
                guard pause(now.duration(to: slots[index].nextPoll)) else { break }
            }
            var slot = slots[index]
            slot.nextPoll = slot.nextPoll.advanced(by: slot.device.pollInterval)
            if slot.nextPoll < monotonic.now { slot.nextPoll = monotonic.now }  // behind: skip, don't burst
            defer { slots[index] = slot }

            do {
                if devices.count > 1 { try link.setUnit(slot.device.unitID) }
                let poll = try slot.pump.poll { block throws(ModbusError) in
                    try link.read(block.table == .input ? .input : .holding, address: block.address, count: block.count)
                }
                guard let (blocks, result) = poll, let plan = slot.pump.decoder?.plan else { continue }
                let receivedAt = clock.seconds()
                let handOver = { [deliver] in
                    if !result.deviceLost { deliver(Delivery(t: receivedAt, observations: result.observations)) }
                }
                if let recorder {
                    // The poll's blocks, consecutive, then its observations handed over (trace order = core order).
                    let records = zip(plan.blocks, blocks).map { block, registers in
                        let payload = RegisterBlock(table: block.table == .input ? RegisterBlock.input : RegisterBlock.holding,
                                                    address: block.address, registers: registers).payload
                        return TraceRecord(kind: .modbusRegisters, monotonic: receivedAt, wallNanoseconds: TraceWriter.wallNow(),
                                           device: slot.device.id, payload: payload)
                    }
                    recorder.write(records, then: handOver)
                } else {
                    handOver()
                }
                counters.withLock { $0[slot.device.id]?.polls += 1 }
                if result.deviceLost {
                    counters.withLock { $0[slot.device.id]?.deviceLost += 1 }
                    report(&slot, "the gateway reports its device lost (status comms-lost bit)", level: .warning)
                } else {
                    if slot.lastProblem != nil { logger.info("data resumed", metadata: ["device": "\(slot.device.id)"]) }
                    slot.lastProblem = nil
                    counters.withLock { all in
                        all[slot.device.id]?.lastGood = receivedAt
                        all[slot.device.id]?.lastProblem = nil
                    }
                    backoff = reconnectMin
                }
            } catch {
                counters.withLock { $0[slot.device.id]?.failures += 1 }
                recorder?.write(TraceRecord(kind: .pollFailed, monotonic: clock.seconds(), wallNanoseconds: TraceWriter.wallNow(),
                                            device: slot.device.id, payload: Array("\(error.causeText)".utf8)))
                switch error.cause {
                case .exception, .protocolViolation, .invalidRequest:
                    // The bus works; this request, or the device behind a gateway, does not.
                    report(&slot, "\(error.operation): \(error.causeText)", level: .error)
                    if isSerial { link.flush() }
                case .system(let code) where isSerial && code == ETIMEDOUT:
                    // One silent unit on a serial line must not take the line down for the others.
                    report(&slot, "\(error.operation): \(error.causeText)", level: .error)
                    link.flush()
                case .system:
                    report(&slot, "\(error.operation): \(error.causeText); reconnecting", level: .error)
                    link.close()
                    connection = nil
                    linked(false)
                    guard pause(backoff) else { break bus }
                    backoff = min(backoff * 2, reconnectMax)
                }
            }
        }
        connection?.close()
    }
}
