import AlveoCore
import AlveoDevices
import AlveoTrace
import Foundation

/// Replays a raw device trace (`alveo run --record`) through the same protocol sessions, Modbus
/// decoders and clinical core as the live agent, on the trace's own time, as fast as the machine
/// allows. The live agent's one-second tick is reproduced, so silences are found as they were live.
public enum TraceReplay {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public struct Summary: Sendable {
        public var records = 0
        public var events = 0
        /// Why the trace ended early (torn or corrupt last record), if it did.
        public var warning: String?
    }

    /// Whether the file is a raw trace (by its magic) rather than a scenario CSV.
    public static func isTrace(path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return Array(handle.readData(ofLength: 8)) == RawTrace.magic
    }

    /// `observations` receives every decoded group (time, observations) before the core sees it: the
    /// trace as scenario rows, for `alveo trace export --csv`.
    public static func run(path: String, observations: (Double, [Observation]) -> Void = { _, _ in },
                           sink: (AlarmEvent) -> Void) throws -> Summary
    {
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure(description: "\(path): cannot read the trace") }
        let (records, problem) = RawTrace.decode(Array(data))
        guard let first = records.first, first.kind == .config else {
            throw Failure(description: "\(path): \(problem ?? "the trace does not start with its configuration")")
        }
        // Relative profile paths resolve beside the trace (then the working directory).
        let config = try AgentConfig.parse(yaml: String(decoding: first.payload, as: UTF8.self), file: path)
        var core = ClinicalCore(patient: config.patient, settings: config.rules)
        for device in config.devices { core.expectSource(device.id, at: 0) }
        for device in config.serialDevices { core.expectSource(device.id, at: 0) }
        var sessions: [String: any SerialSession] = [:]
        for device in config.serialDevices { sessions[device.id] = device.makeSession() }
        var decoders: [String: ModbusDecoder] = [:]
        for device in config.devices { decoders[device.id] = ModbusDecoder(profile: device.profile, source: device.id) }
        var pendingBlocks: [String: [[UInt16]]] = [:]

        var summary = Summary(records: records.count, events: 0, warning: problem)
        var events: [AlarmEvent] = []
        var last = 0.0
        var nextTick = 1.0
        func process(_ group: [Observation], at t: Double) {
            last = max(last, t)
            if !group.isEmpty { observations(last, group) }
            events.removeAll(keepingCapacity: true)
            core.process(group, at: last, into: &events)
            for event in events { sink(event) }
            summary.events += events.count
        }

        for record in records.dropFirst() {
            let t = record.monotonic
            while nextTick <= t {
                process([], at: nextTick)
                nextTick += 1
            }
            switch record.kind {
            case .received:
                guard var session = sessions[record.device] else { continue }
                let (frames, _) = session.receive(record.payload, at: t)
                sessions[record.device] = session
                for frame in frames where !frame.isEmpty { process(frame, at: t) }
            case .modbusRegisters:
                guard var decoder = decoders[record.device], record.payload.count >= 5 else { continue }
                let count = Int(record.payload[3]) | Int(record.payload[4]) << 8
                var registers: [UInt16] = []
                for index in 0..<count where 5 + 2 * index + 1 < record.payload.count {
                    registers.append(UInt16(record.payload[5 + 2 * index]) | UInt16(record.payload[6 + 2 * index]) << 8)
                }
                pendingBlocks[record.device, default: []].append(registers)
                if pendingBlocks[record.device]!.count == decoder.plan.blocks.count {
                    let result = decoder.decode(pendingBlocks[record.device]!)
                    decoders[record.device] = decoder
                    pendingBlocks[record.device] = []
                    if !result.deviceLost { process(result.observations, at: t) }
                }
            case .pollFailed:
                pendingBlocks[record.device] = []
            case .sent, .config, .end:
                break  // the clock has already run to this record's time
            }
        }
        return summary
    }
}
