import AlveoCore
import AlveoTrends
import AlveoDevices
import AlveoTrace
import Foundation

/// Replays a raw device trace (`alveo run --record`) through the same protocol sessions, Modbus
/// decoders and clinical core as the live agent, on the trace's own time, as fast as the machine
/// allows. The live agent's clock ticks are in the trace: the rules run at the same moments, so
/// silences and delays are found as they were live.
package enum TraceReplay {
    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    package struct Summary: Sendable {
        package var records = 0
        package var events = 0
        /// Why the trace ended early (torn or corrupt last record), if it did.
        package var warning: String?
        /// Corrupt stretches skipped in the middle of the trace (the records in them are lost).
        package var damage: [String] = []
        /// The end record was read: the recording was stopped cleanly (or stopped itself).
        package var ended = false
        /// Why the recording stopped while the live agent ran on (size cap, low disk space), if it did:
        /// the replay ends there, the live run did not.
        package var recordingStopped: String?
        /// What each device gave, by id: frames or polls decoded, frames rejected, bytes skipped as
        /// noise, and failed reads (Modbus polls, serial opens and reads).
        package var devices: [String: DeviceTally] = [:]
        /// Entry records whose JSON this version cannot read (skipped).
        package var unreadableEntries = 0
        /// Alarms still in force at the end: replay invents no ends for them (the live agent ended
        /// them only if it was stopped, and then the trace holds that stop).
        package var active: [ClinicalCore.ActiveAlarm] = []

        package init() {}
    }

    /// The live agent writes a tick record every second, so consecutive records are never far apart;
    /// a record more than this after the one before (a clock gone wrong, a damaged record whose CRC
    /// still matched, a crafted file) is skipped and reported rather than replayed: the sessions
    /// would be ticked through every 100 ms of the jump, and `--speed` would sleep through it.
    package static let maxJump = 86_400.0
    /// Consecutive records past a jump that, agreeing with each other, make it real.
    package static let reanchorAfter = 3
    /// Live, a serial read returns at most this many bytes: a longer received record (not written by
    /// Alveo) is handed to its session in pieces of this size, so decoding stays in bounded memory.
    package static let maxReceivedChunk = DevicePump.maxRead

    package struct DeviceTally: Sendable, Equatable {
        package var decoded = 0
        package var rejected = 0
        package var skippedBytes = 0
        package var failed = 0
    }

    /// Whether the file is a raw trace (by its magic) rather than a scenario CSV. "-" is a raw trace
    /// on standard input (its magic is checked when it is read: peeking would consume it).
    package static func isTrace(path: String) -> Bool {
        if path == "-" { return true }
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 8)).map { Array($0) } == RawTrace.magic
    }

    /// Why `path`, which is not a raw trace, is not a scenario CSV either (missing, unreadable,
    /// compressed, a trace cut inside its header, or empty when no CSV was meant); nil when it may
    /// well be a CSV (the CSV reader then says what is wrong with it, by line).
    package static func notATrace(path: String, csvExpected: Bool) -> String? {
        let head: [UInt8]
        do { head = try FileReading.read(try FileReading.open(path), count: 8) } catch {
            return "\(path): cannot read it: \(error)"
        }
        if head.isEmpty { return csvExpected ? nil : "\(path): the file is empty" }
        if let compressor = FileReading.compression(head) {
            return "\(path): it is \(compressor)-compressed: read a trace through a pipe, `\(compressor) -dc \(path) | alveo replay -`"
        }
        if head.count < RawTrace.magic.count, RawTrace.magic.starts(with: head) {
            return "\(path): a trace cut inside its header (\(head.count) bytes): nothing to replay"
        }
        return nil
    }

    /// `observations` receives every decoded group (time, observations) before the core sees it: the
    /// trace as scenario rows, for `alveo trace export --csv`. `pace` is called with each virtual time
    /// before anything at that time is processed (`--speed`: it sleeps until then); nil runs flat out.
    /// `trends`: the trend rows of the replay go to `sink`, t = 0 at Unix time `origin` (`alveo replay --trends`, `alveo report`).
    package static func run(path: String, observations: (Double, [Observation]) -> Void = { _, _ in },
                           pace: ((Double) -> Void)? = nil, trends: TrendOutput? = nil, sink: (AlarmEvent) -> Void) throws -> Summary
    {
        var reader = try RawTraceReader(path: path)
        return try run(reader: &reader, name: path, observations: observations, pace: pace, trends: trends, sink: sink)
    }

    /// As `run(path:…)`, from a reader (a trace in memory: `RawTraceReader(bytes:)`); `name` names it
    /// in messages.
    package static func run(reader: inout RawTraceReader, name path: String, observations: (Double, [Observation]) -> Void = { _, _ in },
                           pace: ((Double) -> Void)? = nil, trends: TrendOutput? = nil, sink: (AlarmEvent) -> Void) throws -> Summary
    {
        guard let first = reader.next(), first.kind == .config else {
            throw Failure(description: "\(path): \(reader.problem ?? "the trace does not start with its configuration")")
        }
        // The Modbus profiles the run used follow the configuration; a device without one (a trace
        // written by another tool) has its profile path resolved beside the trace, then from the
        // working directory.
        var profiles: [String: String] = [:]
        var pending = reader.next()
        while let record = pending, record.kind == .profile {
            profiles[record.device] = String(decoding: record.payload, as: UTF8.self)
            pending = reader.next()
        }
        let config = try AgentConfig.parse(yaml: String(decoding: first.payload, as: UTF8.self), file: path, profiles: profiles,
                                       readOutputs: false)
        var summary = try run(config: config, firstRecord: pending, reader: &reader, observations: observations, pace: pace, trends: trends, sink: sink)
        summary.records += 1 + profiles.count
        return summary
    }

    private static func countRest(_ reader: inout RawTraceReader) -> Int {
        var count = 0
        while reader.next() != nil { count += 1 }
        return count
    }

    private static func run(config: AgentConfig, firstRecord: TraceRecord?, reader: inout RawTraceReader,
                            observations: (Double, [Observation]) -> Void, pace: ((Double) -> Void)?, trends: TrendOutput?,
                            sink: (AlarmEvent) -> Void) throws -> Summary
    {
        var loop = BedsideLoop(config: config)
        if let trends { loop.recordTrends(origin: trends.origin, config: config, into: trends.sink) }
        // Each device's pump, driven by the records as the live poller drove it (the same opens, reads
        // and failures at the same times): the same ticks, sessions and poll decoding. What it would
        // send is in the trace, and ignored here.
        var pumps: [String: DevicePump] = [:]
        for device in config.serialDevices { pumps[device.id] = device.makePump() }
        for device in config.devices { pumps[device.id] = device.makePump() }

        // The devices behind the device gateway: each message read again as the live loop read it.
        let gatewayDevices = Dictionary(config.gatewayDevices.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })

        var summary = Summary()
        for device in config.devices { summary.devices[device.id] = DeviceTally() }
        for device in config.serialDevices { summary.devices[device.id] = DeviceTally() }
        for device in config.gatewayDevices { summary.devices[device.id] = DeviceTally() }
        func finish() -> Summary {
            for (id, pump) in pumps where pump.session != nil {
                summary.devices[id]?.decoded = pump.counters.frames
                summary.devices[id]?.rejected = pump.counters.rejectedFrames
                summary.devices[id]?.skippedBytes = pump.counters.skippedBytes
            }
            summary.warning = reader.problem
            summary.damage = reader.damage
            summary.active = loop.activeAlarms
            if let jump = firstJump {
                summary.damage.append("\(jumped) record(s) skipped: their time jumped more than \(Int(maxJump / 3600)) h past the latest record replayed (first: from t=\(JSONValue.formatted(jump.from)) s to t=\(JSONValue.formatted(jump.to)) s; \(reanchorAfter) records in a row past a jump make it real)")
            }
            return summary
        }
        func process(_ group: [Observation], at t: Double) {
            if !group.isEmpty { observations(max(loop.now, t), group) }
            let step = loop.take(group, at: t)
            for event in step.events { sink(event) }
            summary.events += step.events.count
        }

        var next = firstRecord
        var latest = 0.0
        var jumped = 0
        var firstJump: (from: Double, to: Double)?
        // Records past a jump that agree with each other: after `reanchorAfter` of them the jump was
        // real (a suspended machine, a long damaged stretch), and replay goes on from there.
        var ahead: (t: Double, count: Int)?
        while let record = next {
            summary.records += 1
            next = reader.next()
            let t = record.monotonic
            if t - latest > maxJump {
                if let run = ahead, t >= run.t, t - run.t <= maxJump { ahead = (max(run.t, t), run.count + 1) } else { ahead = (t, 1) }
                if ahead!.count < reanchorAfter {
                    jumped += 1
                    if firstJump == nil { firstJump = (latest, t) }
                    continue
                }
            }
            ahead = nil
            latest = max(latest, t)
            pace?(t)
            switch record.kind {
            case .opened:
                _ = pumps[record.device]?.open(at: t)
            case .received:
                if let device = gatewayDevices[record.device] {
                    let decoded = PCD01.decode(record.payload, device: device, at: t)
                    if decoded.observations.isEmpty {
                        summary.devices[record.device]?.rejected += 1
                    } else {
                        summary.devices[record.device]?.decoded += 1
                        process(decoded.observations, at: t)
                    }
                } else {
                    // Each frame goes to the core as its piece is decoded: a huge record stays in bounded memory.
                    _ = pumps[record.device]?.receive(record.payload, at: t) { frame in
                        if !frame.isEmpty { process(frame, at: t) }
                    }
                }
            case .modbusRegisters:
                guard let block = RegisterBlock(payload: record.payload),
                      let result = pumps[record.device]?.take(block: block.registers) else { continue }
                if result.deviceLost {
                    summary.devices[record.device]?.failed += 1  // the gateway lost its device: no data
                } else {
                    summary.devices[record.device]?.decoded += 1
                    process(result.observations, at: t)
                }
            case .pollFailed:
                summary.devices[record.device]?.failed += 1
                pumps[record.device]?.fail()  // a serial line that failed is not ticked until reopened
            case .tick:
                process([], at: t)
            case .entry:
                // Taken (or refused) exactly as the live loop did.
                guard let entry = BedsideEntry.decode(record.payload) else { summary.unreadableEntries += 1; continue }
                if case .success(let step) = loop.take(entry, at: t) {
                    for event in step.events { sink(event) }
                    summary.events += step.events.count
                }
            case .lifecycle:
                // The agent's stop or restart, as the live loop took it.
                guard let lifecycle = LifecycleEntry.decode(record.payload) else { summary.unreadableEntries += 1; continue }
                let events = loop.take(lifecycle, at: t)
                for event in events { sink(event) }
                summary.events += events.count
            case .end:
                // The live core stopped here, or the recording did: the writer takes nothing after the end record.
                summary.ended = true
                if !record.payload.isEmpty { summary.recordingStopped = String(decoding: record.payload, as: UTF8.self) }
                summary.records += countRest(&reader)
                return finish()
            case .sent, .config, .profile:
                break  // for people reading the trace: the sessions produce what they sent again
            }
        }
        return finish()
    }
}
