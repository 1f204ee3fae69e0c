import AlveoCore
import AlveoDevices
import AlveoIO
import AlveoOutput
import AlveoTrace
import AlveoTrends
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// The bedside runtime's live source as one service: bus pollers on their own threads feed the one
/// bedside loop, which also ticks once a second so that silence and delays are noticed without new
/// data, and takes the entries of the control API and the laboratory listener; its events go to the
/// runtime's sinks (journal and forwarders, trend store, stdout, metrics), its health is checked on the
/// tick (`LiveHealth`), systemd's watchdog fed from it (`Watchdog`). Runs until graceful shutdown
/// (SIGTERM/SIGINT through the ServiceGroup, or `stopAfter`), then ends its alarms, journals the stop
/// and drains the outputs. `BedsideRuntime` runs it (`alveo run`, `alveo record`).
struct LiveLoop: Service {
    /// The bed as the station knows it (texts of the lifecycle alarms); nil when the configuration names none.
    var bedID: String? { config.bedID }

    /// Deliveries waiting for the core at most (a minute of a busy bed many times over).
    static let maxQueuedDeliveries = 10_000

    let config: AgentConfig
    private let logger: Logger
    /// Opens the runtime's sinks on the run's clock (`RuntimeSinks.live`).
    private let openSinks: @Sendable (AgentClock) throws -> RuntimeSinks
    private let tick: Duration
    private let recorder: TraceWriter?
    private let clinical: Bool
    private let stopAfter: Duration?
    private let inbox: BedsideInbox?
    private let pseudonyms: IdentityPseudonyms?
    /// Where to write the metrics every 15 s (node_exporter's textfile collector), if anywhere.
    var metricsFile: String?

    /// What the loop takes, in one order: device deliveries and clock ticks, and requests from the
    /// control API and the laboratory listener (with the time they arrived).
    enum Input: Sendable {
        case delivery(Delivery)
        case request(BedsideInbox.Request, t: Double)
    }

    /// `recorder`: every byte and register the devices send and Alveo sends them, for `alveo run --record`.
    /// `clinical: false` (`alveo record`) polls and records only: no clinical core, no journal, no
    /// forwarders. `stopAfter`: stop by itself after this long, as on SIGTERM. `inbox`: where the control
    /// API hands in entries and asks for the status. `pseudonyms`: how a recording without identity names
    /// the patients in entries (nil: as they are).
    init(config: AgentConfig, logger: Logger, tick: Duration = .seconds(1), recorder: TraceWriter? = nil,
                clinical: Bool = true, stopAfter: Duration? = nil, inbox: BedsideInbox? = nil, pseudonyms: IdentityPseudonyms? = nil,
                sinks openSinks: @escaping @Sendable (AgentClock) throws -> RuntimeSinks)
    {
        self.inbox = inbox
        self.pseudonyms = pseudonyms
        self.recorder = recorder
        self.clinical = clinical
        self.stopAfter = stopAfter
        self.config = config
        self.logger = logger
        self.tick = tick
        self.openSinks = openSinks
    }

    func run() async throws {
        let clock = AgentClock()
        let sinks = try openSinks(clock)
        let outputs = sinks.outputs
        inbox?.runID = outputs?.runID
        defer { sinks.stop() }
        // Bounded: the core takes a delivery in microseconds and devices send a few a second, so a
        // full queue means the core is stalled; the oldest deliveries are then dropped (counted and
        // logged) rather than memory grown without end.
        let (stream, continuation) = AsyncStream.makeStream(of: Input.self, bufferingPolicy: .bufferingNewest(LiveLoop.maxQueuedDeliveries))
        let dropped = Mutex(0)
        let enqueue: @Sendable (Delivery) -> Void = { delivery in
            if case .dropped = continuation.yield(.delivery(delivery)) { dropped.withLock { $0 += 1 } }
        }
        var loop = BedsideLoop(config: config)
        let started = Date()
        if let trends = sinks.trendOutput(origin: started.timeIntervalSince1970 - clock.seconds()) {
            loop.recordTrends(origin: trends.origin, config: config, into: trends.sink)
        }
        // The alarm lifecycle across the agent's own (docs/integration.md §2.8): before polling, what the
        // previous run left in force is reconciled (recorded in the trace like any input, and journaled).
        let reconciled = sinks.begin(bed: bedID, started: started) { lifecycle in
            let t = clock.seconds()
            recordThenDeliver(recorder, TraceRecord(kind: .lifecycle, monotonic: t, wallNanoseconds: TraceWriter.wallNow(), device: "",
                                                    payload: lifecycle.json())) {}
            return loop.take(lifecycle, at: t)
        }
        if let (previous, events) = reconciled {
            logger.notice("reconciled with the previous run", metadata: [
                "previous_run": "\(previous.run ?? "-")", "stopped_cleanly": "\(previous.stoppedCleanly)",
                "ended": "\(previous.open.filter { $0.event.rule != .monitoringStopped }.count)", "carried_over": "\(events.filter { $0.reason == "carried_over" }.count)"])
        }

        let pollers = BusPoller.buses(for: config.devices).map { devices in
            BusPoller(devices: devices, clock: clock, logger: logger, recorder: recorder, deliver: enqueue)
        }
        // The bed's devices behind the hospital's device gateway: their messages come through the inbox.
        let gateway = GatewayDevices(devices: config.gatewayDevices, logger: logger)
        logger.info("starting", metadata: ["devices": "\(config.allDeviceIDs.joined(separator: ","))",
                                           "pbw_kg": "\(config.patient.predictedBodyWeightKg.map { Fmt.fixed($0, 1) } ?? "unknown")"])
        let serialPollers = config.serialDevices.map { device in
            SerialPoller(device: device, clock: clock, logger: logger, recorder: recorder, deliver: enqueue)
        }
        pollers.forEach { $0.start() }
        serialPollers.forEach { $0.start() }
        // systemd (Type=notify): ready once reconciled and polling; the watchdog is fed from the loop
        // that feeds the core, so a stalled loop stops feeding it and systemd restarts the agent.
        var watchdog = Watchdog()
        watchdog.ready(status: "watching \(RunLifecycle.phrase(bedID))\(outputs?.journalUnopened != nil ? " WITHOUT ITS ALARM JOURNAL (cannot be opened)" : "")")
        // Stopping (SIGTERM/SIGINT, or --seconds): the end record is written and the core's input is
        // closed in one step, and the core still takes every delivery queued before it. So the trace
        // holds exactly what the core saw, and replay of it gives exactly the live events.
        // A clinical run that stops (SIGTERM, SIGINT, --seconds) ends its alarms and says the bed is no
        // longer watched: the stop is composed once, at the time the input closes, recorded before the
        // end record, and taken by the loop after the last delivery.
        let stopping = Mutex<(t: Double, lifecycle: LifecycleEntry)?>(nil)
        let bed = bedID
        let stopInput: @Sendable () -> Void = { [recorder, clinical] in
            let t = clock.seconds()
            let lifecycle = stopping.withLock { state -> LifecycleEntry? in
                if case .some = state { return nil }
                guard clinical else { return nil }
                let composed = RunLifecycle.stop(bed: bed, now: Date())
                let stop = LifecycleEntry.decode(composed.json()) ?? composed
                state = (t, stop)
                return stop
            }
            let before = lifecycle.map { [TraceRecord(kind: .lifecycle, monotonic: t, wallNanoseconds: TraceWriter.wallNow(), device: "", payload: $0.json())] } ?? []
            let end = TraceRecord(kind: .end, monotonic: t, wallNanoseconds: TraceWriter.wallNow(), device: "", payload: [])
            if let recorder { recorder.finish(end, before: before) { continuation.finish() } } else { continuation.finish() }
        }
        // Entries from people and the hospital: stamped with the agent clock when they arrive, recorded
        // in the trace and queued in one step (the trace's order is the loop's).
        if clinical, let inbox {
            inbox.attach { request in
                let t = clock.seconds()
                var queued = true
                switch request {
                case .entry(var entry, let reply):
                    entry.stamp(at: t)
                    // Without --record-identity the trace names patients by pseudonyms (consistently,
                    // so that replay matches the same entries to the same patient).
                    let recorded = pseudonyms.map { entry.redacted($0.pseudonym) } ?? entry
                    let record = TraceRecord(kind: .entry, monotonic: t, wallNanoseconds: TraceWriter.wallNow(), device: "", payload: recorded.json())
                    recordThenDeliver(recorder, record) {
                        if case .terminated = continuation.yield(.request(.entry(entry, reply: reply), t: t)) { queued = false }
                    }
                case .status:
                    if case .terminated = continuation.yield(.request(request, t: t)) { queued = false }
                case .deviceMessage(let message, let ids):
                    // Each device's rows as its own record (replay reads them for that device), read
                    // and queued under the trace's lock: the trace's order is the loop's.
                    for id in ids {
                        guard let device = gateway.device(id) else { continue }
                        let now = clock.seconds()
                        let record = TraceRecord(kind: .received, monotonic: now, wallNanoseconds: TraceWriter.wallNow(), device: id, payload: message)
                        recordThenDeliver(recorder, record) {
                            let decoded = PCD01.decode(message, device: device, at: now)
                            gateway.took(decoded, device: id, at: now)
                            if !decoded.observations.isEmpty,
                               case .terminated = continuation.yield(.delivery(Delivery(t: now, observations: decoded.observations))) { queued = false }
                        }
                    }
                }
                return queued
            }
        }
        defer { inbox?.detach() }
        let interval = tick
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                let now = clock.seconds()
                // Recorded, so that replay runs the rules at these same moments, in the same order.
                recordThenDeliver(recorder, TraceRecord(kind: .tick, monotonic: now, wallNanoseconds: TraceWriter.wallNow(), device: "", payload: [])) {
                    enqueue(Delivery(t: now, observations: []))
                }
                // `alveo record` has nothing to do once its recording stopped itself (size cap, disk).
                if !clinical, recorder?.stoppedReason != nil { stopInput() }
            }
        }
        let timer = stopAfter.map { duration in
            Task {
                try? await Task.sleep(for: duration)
                if !Task.isCancelled { stopInput() }
            }
        }

        var frames: [String: Int] = [:]
        var droppedReported = 0
        var health = LiveHealth(config: config, logger: logger, metricsFile: metricsFile)
        await withGracefulShutdownHandler {
            for await input in stream {
                watchdog.loopAlive(at: clock.seconds())
                let droppedNow = dropped.withLock { $0 }
                if droppedNow > droppedReported {
                    logger.critical("the clinical core fell behind: \(droppedNow - droppedReported) device deliveries dropped (\(droppedNow) in all)")
                    droppedReported = droppedNow
                }
                let delivery: Delivery
                switch input {
                case .delivery(let value): delivery = value
                case .request(.deviceMessage, _):
                    continue  // read and queued as deliveries where it arrived (the inbox's attach)
                case .request(.entry(let entry, let reply), let t):
                    guard let outputs else { reply(.failure(.nothingToDo("alveo record runs no clinical rules"))); continue }
                    switch loop.take(entry, at: t) {
                    case .success(let step):
                        let wall = PCD04Message.rfc3339(Date())
                        // The entry first (who, what, when sampled), then what it caused; only then the answer.
                        sinks.recordInput(entry.json(), t: loop.now, wallTime: wall)
                        sinks.record(step.events, wallTime: wall)
                        switch entry.action {
                        case .admit, .update, .set, .discharge: outputs.setPatient(loop.journalPatient)
                        default: break
                        }
                        logger.info("entry taken", metadata: ["via": "\(entry.via)", "by": "\(entry.by.map { Shown.text($0.utf8, limit: 64) } ?? "-")",
                                                              "events": "\(step.events.count)"])
                        // The sample time the loop used: never after the moment it took the entry.
                        reply(.success(BedsideInbox.EntryReply(events: step.events, t: loop.now, sampledAt: entry.sampledAt.map { min($0, loop.now) })))
                    case .failure(let refusal):
                        logger.notice("entry refused: \(refusal)", metadata: ["via": "\(entry.via)"])
                        reply(.failure(refusal))
                    }
                    continue
                case .request(.status(let reply), let t):
                    reply(OrderedJSONEncoder.value(StatusReport.build(
                        loop: loop, at: max(loop.now, t), started: started, config: config, pollers: pollers, serialPollers: serialPollers, gateway: gateway,
                        outputs: outputs, recording: recorder?.path, inputs: inbox?.inputStatus ?? StatusAnswer.Inputs())))
                    continue
                }
                if let source = delivery.observations.first?.source {
                    frames[source, default: 0] += 1
                    Counter(label: "alveo_device_deliveries_total", dimensions: [("device", source)]).increment()
                }
                guard let outputs else { continue }  // alveo record: poll and record only
                if delivery.observations.isEmpty {  // the one-second tick
                    health.tick(outputs: outputs, trendWriter: sinks.liveTrendWriter, pollers: pollers, serialPollers: serialPollers, gateway: gateway,
                                t: delivery.t, coreAlarms: loop.core.activeAlarms.map { ($0.rule.type, $0.priority) })
                }
                // Deliveries from different threads can arrive a hair out of order: the loop keeps
                // time from going back.
                let step = loop.take(delivery.observations, at: delivery.t)
                // Journaled (fsync) first: only then does an event count as recorded.
                sinks.record(step.events)
            }
        } onGracefulShutdown: {
            stopInput()
        }

        ticker.cancel()
        timer?.cancel()
        stopInput()
        watchdog.stopping()
        if let stop = stopping.withLock({ $0 }) {
            // Every alarm in force ends, the station hears that the bed is unwatched, and the agent
            // waits (up to the shutdown budget) for it to be delivered.
            sinks.finish(stopEvents: loop.take(stop.lifecycle, at: stop.t), config: config, logger: logger)
        }
        sinks.stopTrends()
        if let failed = recorder?.failedRecords, failed > 0 {
            logger.error("the trace is incomplete: \(failed) record(s) could not be written", metadata: ["trace": "\(recorder!.path)"])
        }
        // Joining the poller threads blocks for up to one response timeout: not on the cooperative pool.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                pollers.forEach { $0.stop() }
                serialPollers.forEach { $0.stop() }
                done.resume()
            }
        }
        for poller in pollers {
            for device in poller.devices {
                let health = poller.health(of: device.id)
                logger.info("stopped", metadata: ["device": "\(device.id)", "polls": "\(health.polls)", "failures": "\(health.failures)",
                                                  "decoded": "\(frames[device.id] ?? 0)",
                                                  "connects": "\(health.connects)", "device_lost": "\(health.deviceLost)"])
            }
        }
        for poller in serialPollers {
            let seen = poller.streamCounters
            logger.info("stopped", metadata: ["device": "\(poller.device.id)", "frames": "\(seen.frames)", "decoded": "\(frames[poller.device.id] ?? 0)",
                                              "rejected_frames": "\(seen.rejectedFrames)", "skipped_bytes": "\(seen.skippedBytes)"])
        }
        for device in gateway.devices {
            logger.info("stopped", metadata: ["device": "\(device.id)", "messages": "\(gateway.health(of: device.id, at: clock.seconds()).frames)",
                                              "decoded": "\(frames[device.id] ?? 0)"])
        }
    }
}

/// Writes `record` (when recording) and hands the core its deliveries in one step under the trace's
/// lock, so that the trace's record order is the order the core sees: replay is then exact.
func recordThenDeliver(_ recorder: TraceWriter?, _ record: TraceRecord, deliver: () -> Void) {
    if let recorder { recorder.write(record, then: deliver) } else { deliver() }
}
