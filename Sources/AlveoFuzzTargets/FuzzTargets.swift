import AlveoAgent
import AlveoCore
import AlveoDevices
import AlveoIO
import AlveoOutput
import AlveoTrace
import AlveoTrends
import Foundation

/// Every parser of outside input, as a fuzz target: bytes in, no trap, no hang, bounded output, and
/// the invariants that keep impossible values away from the rules (a decoded number is always
/// finite and within `DeviceNumber.magnitudeLimit`). Run by libFuzzer through `alveo-fuzz`
/// (`make fuzz`), and over the committed seeds and past findings by the test suite.
package enum FuzzTargets {
    /// Every serial driver's target (from the registry, `SerialDrivers.all`), then the other parsers.
    package static let names = SerialDrivers.all.map(\.fuzzTarget) + others
    static let others = ["modbus", "profile", "scenario", "trace", "config", "hl7ack", "core", "hl7in", "control", "journal", "report",
                         "pcd04_builder", "syslog_builder", "spill", "relp"]

    /// The seed files of target `name` as shell globs from the repository's root (`Tests/Fuzz/fuzz.sh`
    /// adds Tests/Fuzz/seeds/NAME and the past findings): a serial driver's own fixtures.
    package static func seeds(_ name: String) -> [String] {
        SerialDrivers.fuzzing(name)?.fuzzSeeds ?? []
    }

    /// What `Tests/Fuzz/fuzz.sh` asks with ALVEO_FUZZ_LIST: `targets` (every target's name, one a line)
    /// or a target's name (its seed globs, one a line); nil without it.
    package static func listing(_ environment: [String: String]) -> String? {
        guard let what = environment["ALVEO_FUZZ_LIST"] else { return nil }
        return (what == "targets" ? names : seeds(what)).map { $0 + "\n" }.joined()
    }

    /// Runs target `name` on `data`; an unknown name traps (a usage error of the fuzz driver).
    package static func run(_ name: String, _ data: [UInt8]) {
        if let driver = SerialDrivers.fuzzing(name) {
            session(driver.fuzzSession(), data, replyPerChunk: driver.fuzzReplyPerByte)
            return
        }
        switch name {
        case "modbus": modbus(data)
        case "profile": profile(data)
        case "scenario": scenario(data)
        case "trace": trace(data)
        case "config": config(data)
        case "hl7ack": hl7ack(data)
        case "core": core(data)
        case "hl7in": hl7in(data)
        case "control": control(data)
        case "journal": journal(data)
        case "report": report(data)
        case "pcd04_builder": pcd04Builder(data)
        case "syslog_builder": syslogBuilder(data)
        case "spill": spill(data)
        case "relp": relp(data)
        default: preconditionFailure("unknown fuzz target '\(name)' (one of: \(names.joined(separator: ", ")))")
        }
    }

    /// A decoded observation never carries a number the core could not take safely.
    /// A trend store holding anything a damaged or foreign file could (any storage class in any
    /// column, NaN, ±inf, 1e308, huge times, long text), read for the whole of it and for a window, and
    /// drawn: `alveo report` on any file gives a report or an error, never a trap.
    static func report(_ data: [UInt8]) {
        guard let store = try? TrendStore(path: ":memory:") else { return }
        var index = 0
        func byte() -> UInt8? {
            guard index < data.count else { return nil }
            defer { index += 1 }
            return data[index]
        }
        func word() -> UInt64 {
            var value: UInt64 = 0
            for _ in 0..<8 { value = value << 8 | UInt64(byte() ?? 0) }
            return value
        }
        var rows = 0
        while let table = byte(), rows < 2000 {
            let count = Int((byte() ?? 0) % 14)
            var values: [TrendStore.RawValue] = []
            for _ in 0..<count {
                switch (byte() ?? 0) % 8 {
                case 0: values.append(.null)
                case 1: values.append(.integer(Int64(bitPattern: word())))
                case 2: values.append(.real(Double(bitPattern: word())))
                case 3:
                    let length = Int(byte() ?? 0)
                    let end = min(data.count, index + length)
                    values.append(.text(String(decoding: data[min(index, end)..<end], as: UTF8.self)))
                    index = end
                case 4: values.append(.blob(Array(data[min(index, data.count)..<min(data.count, index + 4)])))
                case 5: values.append(.real(1_790_000_000 + Double(byte() ?? 0) * 60))  // a plausible time
                case 6: values.append(.text(["spo2", "fio2", "pf", "imputed", "measured", "prone", "end", "high", "advisory", "acknowledged"][Int(byte() ?? 0) % 10]))
                default: values.append(.real(Double(Int8(bitPattern: byte() ?? 0))))
                }
            }
            store.insertRaw(table: Int(table), values: values)
            rows += 1
        }
        let report = TrendReport(timeZone: TimeZone(identifier: "UTC")!, sourceName: "fuzz<&>\"")
        if let whole = try? store.read(from: nil, to: nil) { _ = report.html(whole) }
        if let window = try? store.read(from: 1_790_000_000, to: 1_790_003_600, buckets: 3) { _ = report.html(window) }
    }

    static func check(_ observations: [Observation]) {
        for observation in observations {
            if case .number(let x) = observation.value {
                precondition(DeviceNumber.isUsable(x), "decoder produced \(x) for \(observation.parameter.name)")
            }
            if case .unusable(let text) = observation.value {
                precondition(text.utf8.count <= 4 * (DeviceNumber.shownLength + 1), "unusable text of \(text.utf8.count) bytes")
            }
        }
    }

    /// Chunk sizes from the input itself, so that every split of a frame across reads is tried.
    struct Chunks: Sequence, IteratorProtocol {
        var data: ArraySlice<UInt8>
        var seed: UInt64

        init(_ data: [UInt8]) {
            seed = data.prefix(8).reduce(UInt64(0x9E37_79B9_7F4A_7C15)) { $0 &* 31 &+ UInt64($1) }
            self.data = data[...]
        }

        mutating func next() -> [UInt8]? {
            guard !data.isEmpty else { return nil }
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let size = Int((seed >> 33) % 97) + 1
            defer { data = data.dropFirst(size) }
            return Array(data.prefix(size))
        }
    }

    /// A driver's session (started) fed the data in chunks of every size, ticked between them.
    static func session(_ start: any SerialSession, _ data: [UInt8], replyPerChunk: Int) {
        var session = start
        var t = 0.0
        var frames = 0
        for chunk in Chunks(data) {
            t += 0.05
            _ = session.tick(at: t)
            let (decoded, reply) = session.receive(chunk, at: t)
            precondition(reply.count <= replyPerChunk * (chunk.count + 1), "reply of \(reply.count) bytes to \(chunk.count)")
            for frame in decoded { check(frame) }
            frames += decoded.count
        }
        precondition(frames <= data.count + 1, "\(frames) frames from \(data.count) bytes")
        _ = session.counters
        _ = session.lastRejection.map { DeviceNumber.shown($0) }
    }

    static let float32Profile = ModbusProfile(name: "fuzz-float32", fields: [
        .init(address: 0, table: .holding, type: .float32CDAB, scale: 1, unit: .percent, parameter: .spo2),
        .init(address: 2, table: .holding, type: .float32ABCD, scale: 1, unit: .fraction, parameter: .fio2),
        .init(address: 4, table: .holding, type: .float32CDAB, scale: 1, unit: .litre, parameter: .vt),
        .init(address: 6, table: .holding, type: .float32ABCD, scale: 1e6, unit: .mbar, parameter: .pplat, onChange: true),
        .init(address: 8, table: .holding, type: .uint16, scale: -1e6, unit: .kPa, parameter: .peep),
        .init(address: 9, table: .holding, type: .int16, scale: 0.001, unit: .hPa, parameter: .ppeak, noData: 0x8000),
    ], status: .init(address: 10, table: .holding, validBit: 15, sensorOffBits: [0, 14], noSensorBits: [1], commsLostBits: [2]))

    static func modbus(_ data: [UInt8]) {
        for profile in [ModbusProfile.gatewayV1, float32Profile] {
            decode(profile, data)
        }
    }

    /// Each poll takes its registers from the data, two bytes a register, until the data runs out.
    static func decode(_ profile: ModbusProfile, _ data: [UInt8]) {
        var decoder = ModbusDecoder(profile: profile, source: "gw")
        var words = stride(from: 0, to: data.count - 1, by: 2).map { UInt16(data[$0]) << 8 | UInt16(data[$0 + 1]) }[...]
        repeat {
            let blocks = decoder.plan.blocks.map { block -> [UInt16] in
                // A short block (fewer registers than asked) is what a broken device can send.
                let taken = Array(words.prefix(block.count))
                words = words.dropFirst(taken.count)
                return taken
            }
            check(decoder.decode(blocks).observations)
        } while !words.isEmpty
    }

    static func profile(_ data: [UInt8]) {
        guard let profile = try? ProfileLoader.load(yaml: String(decoding: data, as: UTF8.self), file: "fuzz.yaml") else { return }
        decode(profile, Array(data.suffix(64)))
    }

    static func scenario(_ data: [UInt8]) {
        var parser = ScenarioParser(file: "fuzz.csv")
        var core = ClinicalCore(patient: Patient(sex: .female, heightCm: 160, conditions: [.diffuseAlveolarHemorrhage]))
        var number = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            let row: ScenarioParser.Row?
            do {
                row = try Array(line).withUnsafeBufferPointer { buffer throws(ScenarioError) in try parser.parse(line: buffer, number: number) }
            } catch {
                precondition(error.description.utf8.count < 2048, "error message of \(error.description.utf8.count) bytes")
                return
            }
            if let row {
                precondition(row.t.isFinite && row.t >= 0 && row.t <= ScenarioParser.maxTime)
                check([row.observation])
                for event in core.process([row.observation], at: row.t) { _ = event.jsonLine() }
            }
        }
    }

    static func trace(_ data: [UInt8]) {
        var reader = RawTraceReader(bytes: data)
        var index = 0
        while let record = reader.next() {
            index += 1
            _ = TraceListing.line(record, index: index)
        }
        var replayReader = RawTraceReader(bytes: data)
        _ = try? TraceReplay.run(reader: &replayReader, name: "fuzz.alvtrace", observations: { _, group in check(group) },
                                 sink: { _ = $0.jsonLine() })
    }

    static func config(_ data: [UInt8]) {
        let text = String(decoding: data, as: UTF8.self)
        if let config = try? AgentConfig.parse(yaml: text, file: "/nonexistent/fuzz.yaml", readOutputs: true) {
            _ = config.patient.predictedBodyWeightKg
            _ = TraceRecording.redactingIdentity(yaml: text)
        }
    }

    /// Journal lines as the forwarders read them back (a journal written by another version, a damaged
    /// disk): decoded once, and every event coded as PCD-04 and syslog; the messages stay bounded
    /// and their segments unbroken.
    static func journal(_ data: [UInt8]) {
        var identity = HL7Identity()
        identity.devices = ["vent", "oxi"]
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let entry = JournalEntry.decode(line: Data(line)), let event = entry.event else { continue }
            let message = PCD04Message.build(entry: entry, event: event, identity: identity, now: Date(timeIntervalSince1970: 0))
            let segments = message.split(separator: "\r")
            precondition(segments.count == 12 && segments.allSatisfy { !$0.contains("\n") }, "a PCD-04 message broken by its content")
            precondition(message.utf8.count <= 8 * line.count + 4096, "PCD-04 message out of proportion to its journal line")
            let syslog = SyslogMessage.build(entry: entry, event: event, settings: SyslogSettings(), now: Date(timeIntervalSince1970: 0))
            precondition(syslog.utf8.count <= 8 * line.count + 4096, "syslog message out of proportion to its journal line")
        }
    }

    /// A spill file (what a stopped run could not journal), as the next start reads it back: a line
    /// taken must make exactly one well-formed journal line of its kind, whatever the file held.
    static func spill(_ data: [UInt8]) {
        for bytes in data.split(separator: UInt8(ascii: "\n")).prefix(64) {
            guard let (run, line) = JournalSpill.decode(bytes) else { continue }
            let text = Journal.compose(seq: 7, run: run, kind: line.kind, json: line.json, before: line.before, wallTime: line.wallTime)
            guard let object = JSONValue.parse(text.utf8), let members = object.members else {
                preconditionFailure("a spill line made a journal line that is not JSON: \(text)")
            }
            let kinds = Set(members.map(\.0)).subtracting(["seq", "run", "wall_time", "patient"])
            precondition(kinds == [line.kind] && object["seq"]?.number == 7 && object["run"]?.text == run,
                         "a spill line smuggled members into the journal line: \(text)")
            if line.kind == "event" { precondition(JournalEntry.decode(line: Data(text.utf8))?.event != nil, "an event line that does not read back") }
        }
    }

    /// Bytes from a RELP receiver (`outputs.syslog.protocol: relp`): through the frame reader in
    /// chunks, every frame's data as a `rsp` and its offers; then as the whole answer of a receiver to
    /// the client's `open` and first message (a link that hands the bytes over in chunks, then
    /// closes): a session opened or refused, a verdict or a broken link, never a trap or a wait.
    static func relp(_ data: [UInt8]) {
        var reader = RELPFrameReader()
        var frames = 0
        for chunk in Chunks(data) {
            guard case .success(let read) = reader.feed(chunk) else { break }
            frames += read.count
            precondition(frames <= data.count / 6 + 1, "more frames than a frame's 6 bytes allow")
            for frame in read {
                precondition(frame.data.count <= RELPFrameReader.defaultMaxData, "a frame past the bound")
                if let answer = RELPResponse.parse(frame.data) {
                    precondition((0...999).contains(answer.status))
                    precondition(answer.offers.count <= 64)
                }
            }
        }
        var settings = SyslogSettings()
        settings.ackTimeout = .milliseconds(50)
        let wire = SyslogRELPProtocol(settings: settings)
        let link = ScriptedLink(Array(Chunks(data)))
        let event = AlarmEvent(t: 60, alarmID: 3, rule: .sensorOff, source: "oxi", parameter: nil, phase: .start, priority: .medium,
                               state: .active, acknowledged: false, reason: nil, text: "probe off", evidence: [], run: nil)
        let entry = JournalEntry(seq: 7, run: "R", wallTime: "2026-11-25T08:01:00.000Z", event: event)
        do {
            try wire.opened(link)
            _ = try wire.deliver(entry, event: event, over: link)
        } catch {}
        wire.closing(link)
    }

    /// A receiver that sends fixed chunks, one a read, then closes; takes whatever is sent.
    final class ScriptedLink: ByteLink, @unchecked Sendable {
        // @unchecked: one fuzz iteration's thread only.
        private var chunks: [[UInt8]]
        let peer = "fuzz:0"

        init(_ chunks: [[UInt8]]) { self.chunks = chunks.reversed() }

        func send(_ bytes: [UInt8]) throws(SocketError) {}
        func receive(maxCount: Int, timeout: Duration) throws(SocketError) -> [UInt8] { chunks.popLast() ?? [] }
        func allSentBytesAcknowledged() -> Bool { true }
        func shutdown() {}
        func peerHasClosed() -> Bool { false }
        func isEstablished() -> Bool { true }
    }

    static func hl7ack(_ data: [UInt8]) {
        var reader = MLLPFrameReader()
        for chunk in Chunks(data) {
            for frame in reader.feed(chunk) { _ = PCD04Message.parseACK(frame) }
        }
        _ = PCD04Message.parseACK(String(decoding: data, as: UTF8.self))
    }

    /// What the laboratory and ADT listener takes: MLLP frames of any bytes, parsed as HL7 v2,
    /// interpreted for a bed, answered, and what is taken handed to a bedside loop.
    static let listener: LabListenerConfig = {
        var config = LabListenerConfig()
        config.bind = "127.0.0.1"
        config.port = 2575
        config.allowedSenders = [.init(application: "ABL90", facility: "ICU"), .init(application: "LIS")]
        config.bedLocation = "ICU^B1^B1^HOSP"
        // Device observations (IHE PCD-01) from a gateway too: routed, read and given to the loop.
        var gateway = LabListenerConfig.DeviceGateway()
        gateway.senders = [.init(application: "GATEWAY")]
        gateway.location = ["ICU", "B1"]
        config.deviceGateway = gateway
        config.gatewayDevices = [GatewayDeviceConfig(id: "monitor", equipment: "00A037FFFE123456"), GatewayDeviceConfig(id: "vent", equipment: "VENT_B1")]
        return config
    }()

    static func hl7in(_ data: [UInt8]) {
        var reader = MLLPFrameReader()
        var loop = BedsideLoop(config: AgentConfig(patient: Patient(sex: .female, heightCm: 160, conditions: [.diffuseAlveolarHemorrhage])),
                               expectDevices: false)
        let now = Date(timeIntervalSince1970: 1_795_948_200)
        var t = 100.0
        for chunk in Chunks(data) {
            for frame in reader.frames(chunk) + [chunk] {
                guard case .success(let message) = HL7Message.parse(frame) else { continue }
                let ack = message.acknowledgement(code: "AA", text: message.value(message.msh, 10), controlID: "A", now: now)
                precondition(ack.utf8.count < 2048 && !ack.utf8.contains(0x0A), "an ACK is short and one segment per CR")
                switch HL7Inbound.interpret(message, config: listener, now: now, zone: TimeZone(identifier: "UTC")!) {
                case .take(var entry, _, _):
                    entry.stamp(at: t)
                    if case .success(let step) = loop.take(entry, at: t) { check(step.entries) }
                    t += 1
                case .devices(let ids, _):
                    let traced = PCD01.traced(frame)
                    for device in listener.gatewayDevices where ids.contains(device.id) {
                        let decoded = PCD01.decode(traced, device: device, at: t)
                        precondition(Set(decoded.observations.map(\.parameter)).count == decoded.observations.count, "one value per parameter")
                        _ = loop.take(decoded.observations, at: t)
                        t += 1
                    }
                default: break
                }
            }
        }
    }

    /// What the control API takes: the first byte picks the endpoint, the rest is the request body
    /// (as Hummingbird hands it over, at most 64 KiB), parsed as the server does and given to the loop.
    static func control(_ data: [UInt8]) {
        guard let first = data.first else { return }
        var loop = BedsideLoop(config: AgentConfig(patient: Patient(sex: .female, heightCm: 160, conditions: [.diffuseAlveolarHemorrhage])),
                               expectDevices: false)
        let endpoints = ControlServer.Endpoint.allCases
        let body = Array(data.dropFirst().prefix(64 * 1024))
        guard var entry = try? ControlServer.entry(endpoints[Int(first) % endpoints.count], body: body) else { return }
        entry.stamp(at: 100)
        if case .success(let step) = loop.take(entry, at: 100) {
            check(step.entries)
            for event in step.events { precondition(event.jsonLine().utf8.count < 64 * 1024, "an event line of \(event.jsonLine().utf8.count) bytes") }
        }
    }

    /// Observations built from the bytes: any parameter, any source, any number (all bit patterns:
    /// NaN, infinities, 1e308, -0), any time step, straight into the core.
    static func core(_ data: [UInt8]) {
        var core = ClinicalCore(patient: Patient(sex: .male, heightCm: 170, conditions: [.diffuseAlveolarHemorrhage, .ancaVasculitis]))
        var bytes = data[...]
        var t = 0.0
        let sources = ["vent", "oxi", "lab", "nurse"]
        while bytes.count >= 11 {
            let op = bytes[bytes.startIndex], target = bytes[bytes.startIndex + 1]
            let bits = bytes.dropFirst(2).prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let step = bytes[bytes.startIndex + 10]
            bytes = bytes.dropFirst(11)
            let parameter = Parameter.allCases[Int(target) % Parameter.allCases.count]
            let value: ObservedValue
            switch op % 6 {
            case 0: value = .number(Double(bitPattern: bits))
            case 1: value = .noData
            case 2: value = .sensor([SensorState.ok, .off, .disconnected][Int(bits % 3)])
            case 3: value = .position(bits % 2 == 0 ? .supine : .prone)
            case 4: value = .ack(RuleID.allCases[Int(bits % UInt64(RuleID.allCases.count))])
            default: value = .number(Double(Int64(truncatingIfNeeded: bits) % 10_000) / 10)
            }
            switch step {
            case 255: t += Double(bits % 100_000)
            case 254: t = .nan  // the core takes it as its last time
            case 253: t -= Double(bits % 1000)  // backwards: likewise
            default: t = (t.isNaN ? 0 : t) + Double(step) / 4
            }
            let observation = Observation(source: sources[Int(op >> 4) % sources.count], parameter: parameter, value: value)
            for event in core.process([observation], at: t) { _ = event.jsonLine() }
        }
    }
}
