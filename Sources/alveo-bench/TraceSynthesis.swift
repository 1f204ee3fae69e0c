// Raw traces made on virtual time: simulated devices (the simulator's encoders and the shared
// fixture frames) talking to the very protocol sessions the live serial poller runs, recorded the
// way the live pollers record. Used for the golden traces under devices/<device>/traces and for the
// 24-hour replay benchmark.
import AlveoAgent
import AlveoCore
import AlveoDevices
import AlveoIO
import AlveoTrace
import Foundation

/// What a simulated device is told to do at a moment of its script.
enum DeviceAction {
    /// Measure these values (Alveo's units; FiO2 in percent as devices report it).
    case values(SerialDeviceEncoders.Values)
    case sensor(SensorState)
    /// Send these exact frames (fixtures) before going back to encoding values.
    case frames([[UInt8]])
    /// Garbage on the line before the next frame.
    case noise([UInt8])
    /// Cut the next frame short (a cable moved mid-reply).
    case truncateNext
    /// Flip a byte of the next frame (a checksum or field error).
    case corruptNext
    /// The cable is pulled: the device neither hears nor sends (the port stays open).
    case unplug
    case plug
    /// The USB serial adapter is pulled: reads fail, the port is reopened with backoff until it is back.
    case adapterRemoved
    case adapterBack
    /// Modbus: the device answers with this exception until values are set again.
    case exception(String)
    /// Modbus gateway: its status word says it lost its device (or has it back).
    case commsLost(Bool)
}

/// One serial device on virtual time, with its line: bytes it transmits arrive at the line's byte
/// rate (baud / 10), and the live poller reads whatever has arrived every 100 ms.
struct VirtualSerialDevice {
    let config: SerialDeviceConfig
    /// The live poller's data path: the session on its tick grid from the line's open.
    var pump: DevicePump
    var values: SerialDeviceEncoders.Values = [:]
    var sensor: SensorState = .ok
    var queuedFrames: [[UInt8]] = []
    var noise: [UInt8] = []
    var truncateNext = false
    var corruptNext = false
    var plugged = true
    var adapterPresent = true
    var open = false
    var reopenAt = 0.0
    var backoff = 0.25
    var heard: [UInt8] = []
    var behaviour: SimulatedSerialDevice
    /// Where this poller's 100 ms reads fall within each tenth of a second.
    let phase: Double
    /// Bytes in flight: arrival time of each.
    var line: [(t: Double, byte: UInt8)] = []
    var lineStart = 0
    var lineFreeAt = 0.0

    var byteTime: Double { 10.0 / Double(config.settings.baud) }

    init(config: SerialDeviceConfig, phase: Double) {
        self.config = config
        pump = config.makePump()
        behaviour = SimulatedSerialDevice(config.driver)
        self.phase = phase
        reopenAt = phase
    }

    mutating func transmit(_ bytes: [UInt8], at t: Double) {
        guard plugged, adapterPresent, !bytes.isEmpty else { return }
        var arrival = max(t, lineFreeAt)
        for byte in bytes {
            arrival += byteTime
            line.append((arrival, byte))
        }
        lineFreeAt = arrival
    }

    mutating func arrived(by t: Double) -> [UInt8] {
        var bytes: [UInt8] = []
        while lineStart < line.count, line[lineStart].t <= t {
            bytes.append(line[lineStart].byte)
            lineStart += 1
        }
        if lineStart > 4096 {
            line.removeFirst(lineStart)
            lineStart = 0
        }
        return bytes
    }

    /// The next frame the device sends, with any scripted damage.
    mutating func frame(_ encode: () -> [UInt8]) -> [UInt8] {
        var bytes = queuedFrames.isEmpty ? encode() : queuedFrames.removeFirst()
        if truncateNext, bytes.count > 8 {
            bytes = Array(bytes.prefix(bytes.count / 2))
            truncateNext = false
        }
        if corruptNext, bytes.count > 8 {
            bytes[bytes.count - 3] ^= 0x5A
            corruptNext = false
        }
        let sent = noise + bytes
        noise = []
        return sent
    }

    /// The device side, as `alveo simulate` plays it (`SimulatedSerialDevice`): answers to what it
    /// heard, and what it streams on its own. Unplugged, it hears nothing and what it streams is lost.
    mutating func deviceStep(at t: Double) {
        let bytes = heard
        heard = []
        guard plugged, adapterPresent else {
            _ = behaviour.streams(at: t)
            return
        }
        let (values, sensor, kind) = (self.values, self.sensor, config.driver)
        let encode = { SimulatedSerialDevice.dataFrame(kind, values: values, sensor: sensor) }
        for answer in behaviour.hear(bytes) {
            if case .bytes(let reply) = answer {
                transmit(reply, at: t + 0.01)
            } else {
                transmit(frame { SimulatedSerialDevice.dataFrame(kind, for: answer, values: values, sensor: sensor) ?? [] }, at: t + 0.01)
            }
        }
        if behaviour.streams(at: t) { transmit(frame(encode), at: t) }
    }
}

/// A Modbus device behind the live bus poller: one poll every poll interval.
struct VirtualModbusDevice {
    let config: DeviceConfig
    var values: [Parameter: Double] = [:]
    var sensor: SensorState = .ok
    var commsLost = false
    var plugged = true
    var exception: String?
    var nextPoll: Double

    init(config: DeviceConfig, phase: Double) {
        self.config = config
        nextPoll = phase
    }

    /// The blocks a poll reads, as the live poller records them.
    func blocks() -> [[UInt8]] {
        var image: [ModbusTable: [Int: UInt16]] = [:]
        for field in config.profile.fields {
            let words = ModbusEncoder.registers(for: values[field.parameter], field: field)
            for (offset, word) in words.enumerated() { image[field.table, default: [:]][field.address + offset] = word }
        }
        if let status = config.profile.status {
            var word = ModbusEncoder.statusWord(status, sensor: sensor)
            if commsLost, let bit = status.commsLostBits.first { word |= 1 << UInt16(bit) }
            image[status.table, default: [:]][status.address] = word
        }
        return ModbusPollPlan(profile: config.profile).blocks.map { block in
            let words = (block.address..<(block.address + block.count)).map { image[block.table]?[$0] ?? 0 }
            return RegisterBlock(table: block.table == .input ? RegisterBlock.input : RegisterBlock.holding,
                                 address: block.address, registers: words).payload
        }
    }
}

/// Runs a bed's devices on virtual time through their live protocol sessions and writes the trace.
struct TraceSynthesizer {
    /// 2026-11-25T00:00:00Z: the wall clock of every synthesized trace (replay never reads it).
    static let wallBase: Int64 = 1_795_564_800 * 1_000_000_000

    let writer: TraceWriter
    var serial: [VirtualSerialDevice] = []
    var modbus: [VirtualModbusDevice] = []
    var script: [(t: Double, device: String, action: DeviceAction)]
    var records = 0

    init(path: String, configYAML: String, profiles: [String: String] = [:],
         script: [(t: Double, device: String, action: DeviceAction)]) throws
    {
        try? FileManager.default.removeItem(atPath: path)
        writer = try TraceWriter(path: path, durable: false)
        let config = try AgentConfig.parse(yaml: configYAML, file: path, profiles: profiles)
        self.script = script.sorted { $0.t < $1.t }
        write(.config, 0, "", Array(configYAML.utf8))
        for device in config.devices {
            write(.profile, 0, device.id, Array((profiles[device.id] ?? "").utf8))
        }
        // Each poller thread has its own phase on the 100 ms read grid.
        for (index, device) in config.serialDevices.enumerated() {
            serial.append(VirtualSerialDevice(config: device, phase: 0.013 + 0.029 * Double(index)))
        }
        for (index, device) in config.devices.enumerated() {
            modbus.append(VirtualModbusDevice(config: device, phase: 0.05 + 0.031 * Double(index)))
        }
    }

    mutating func write(_ kind: TraceRecord.Kind, _ t: Double, _ device: String, _ payload: [UInt8]) {
        writer.write(TraceRecord(kind: kind, monotonic: t, wallNanoseconds: Self.wallBase + Int64(saturating: (t * 1e9).rounded()),
                                 device: device, payload: payload))
        records += 1
    }

    mutating func apply(_ action: DeviceAction, to id: String) {
        if let index = serial.firstIndex(where: { $0.config.id == id }) {
            switch action {
            case .values(let values): serial[index].values = values
            case .sensor(let state): serial[index].sensor = state
            case .frames(let frames): serial[index].queuedFrames += frames
            case .noise(let bytes): serial[index].noise += bytes
            case .truncateNext: serial[index].truncateNext = true
            case .corruptNext: serial[index].corruptNext = true
            case .unplug: serial[index].plugged = false
            case .plug: serial[index].plugged = true
            case .adapterRemoved: serial[index].adapterPresent = false
            case .adapterBack: serial[index].adapterPresent = true
            case .exception, .commsLost: break
            }
        } else if let index = modbus.firstIndex(where: { $0.config.id == id }) {
            switch action {
            case .values(let values):
                modbus[index].values = values
                modbus[index].exception = nil
            case .sensor(let state): modbus[index].sensor = state
            case .unplug, .adapterRemoved: modbus[index].plugged = false
            case .plug, .adapterBack: modbus[index].plugged = true
            case .exception(let text): modbus[index].exception = text
            case .commsLost(let lost): modbus[index].commsLost = lost
            case .frames, .noise, .truncateNext, .corruptNext: break
            }
        }
    }

    /// Runs until `duration` seconds of virtual time, then writes the end record (a clean stop).
    mutating func run(until duration: Double) {
        var scriptIndex = 0
        var step = 0
        while true {
            let base = Double(step) * 0.1
            if base >= duration { break }
            step += 1
            // This tenth of a second's turns, in time order (each poller is its own thread live).
            var turns: [(t: Double, serial: Int?, modbus: Int?)] = serial.indices.map { (base + serial[$0].phase, $0, nil) }
            for index in modbus.indices where modbus[index].nextPoll < base + 0.1 { turns.append((modbus[index].nextPoll, nil, index)) }
            // The agent's clock tick, once a second: the rules run without new data.
            if step > 1, (step - 1) % 10 == 0 { turns.append((base, nil, nil)) }
            turns.sort { $0.t < $1.t }
            for turn in turns {
                while scriptIndex < script.count, script[scriptIndex].t <= turn.t {
                    apply(script[scriptIndex].action, to: script[scriptIndex].device)
                    scriptIndex += 1
                }
                if let index = turn.serial { serialStep(index, at: turn.t) }
                if let index = turn.modbus { modbusPoll(index, at: turn.t) }
                if turn.serial == nil, turn.modbus == nil { write(.tick, turn.t, "", []) }
            }
        }
        write(.end, duration, "", [])
    }

    /// One turn of the live serial poller's loop: open (with backoff), or read, tick and answer.
    private mutating func serialStep(_ index: Int, at t: Double) {
        let id = serial[index].config.id
        serial[index].deviceStep(at: t)
        if !serial[index].open {
            guard t >= serial[index].reopenAt else { return }
            guard serial[index].adapterPresent else {
                write(.pollFailed, t, id, Array("cannot open: \(serial[index].config.path): no such device".utf8))
                serial[index].reopenAt = t + serial[index].backoff
                serial[index].backoff = min(serial[index].backoff * 2, 5)
                return
            }
            serial[index].open = true
            serial[index].backoff = 0.25
            write(.opened, t, id, [])
            let opener = serial[index].pump.open(at: t)
            if !opener.isEmpty {
                write(.sent, t, id, opener)
                serial[index].heard += opener
            }
            return
        }
        guard serial[index].adapterPresent else {
            write(.pollFailed, t, id, Array("read \(serial[index].config.path): input/output error".utf8))
            serial[index].open = false
            serial[index].pump.fail()
            serial[index].line.removeAll()
            serial[index].lineStart = 0
            serial[index].reopenAt = t + serial[index].backoff
            return
        }
        let bytes = serial[index].arrived(by: t)
        // The live poller's turn (DevicePump): the due ticks, what was read recorded and handed over,
        // then what the session wants sent (after a catch-up, only the latest tick's bytes).
        let turn = serial[index].pump.receive(bytes, at: t)
        if !bytes.isEmpty { write(.received, t, id, bytes) }
        for out in turn.outgoing {
            write(.sent, t, id, out)
            if serial[index].plugged { serial[index].heard += out }
        }
    }

    private mutating func modbusPoll(_ index: Int, at t: Double) {
        let device = modbus[index]
        let id = device.config.id
        let interval = Double(device.config.pollInterval.components.seconds) + Double(device.config.pollInterval.components.attoseconds) / 1e18
        modbus[index].nextPoll += interval
        if !device.plugged {
            let tcp = if case .tcp(_, _) = device.config.endpoint { true } else { false }
            write(.pollFailed, t, id, Array((tcp ? "cannot connect: Connection refused" : "read input registers: Connection timed out").utf8))
            return
        }
        if let exception = device.exception {
            write(.pollFailed, t, id, Array(exception.utf8))
            return
        }
        for block in device.blocks() { write(.modbusRegisters, t, id, block) }
    }
}
