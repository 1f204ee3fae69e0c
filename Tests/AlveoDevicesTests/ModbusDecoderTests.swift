import AlveoCore
import AlveoDevices
import Foundation
import Testing

let gatewayV1 = ModbusProfile.gatewayV1

enum Frames {
    static let all: [String: [UInt8]] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/alveo-gateway-v1-frames.txt")
        let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        var frames: [String: [UInt8]] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            frames[String(parts[0])] = parts.dropFirst().map { UInt8($0, radix: 16)! }
        }
        return frames
    }()

    /// Modbus RTU CRC-16: polynomial 0xA001 reflected, initial 0xFFFF, low byte first on the wire.
    static func crc16(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0xFFFF
        for byte in bytes {
            crc ^= UInt16(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xA001 : crc >> 1 }
        }
        return crc
    }

    static func registers(ofRTUResponse frame: [UInt8]) -> [UInt16] {
        let count = Int(frame[2]) / 2
        return (0..<count).map { UInt16(frame[3 + 2 * $0]) << 8 | UInt16(frame[4 + 2 * $0]) }
    }
}

@Suite struct ModbusDecoderTests {
    @Test(arguments: ["rtu_request", "rtu_response", "rtu_exception_gateway_target", "crc_reference"])
    func fixtureFramesCarryAValidCRC(_ name: String) throws {
        let frame = try #require(Frames.all[name])
        let crc = Frames.crc16(frame.dropLast(2))
        #expect(frame[frame.count - 2] == UInt8(crc & 0xFF) && frame[frame.count - 1] == UInt8(crc >> 8))
    }

    @Test func gatewayMapIsReadInOneRequestMatchingTheReferenceFrame() throws {
        let plan = ModbusPollPlan(profile: gatewayV1)
        #expect(plan.blocks.count == 1)
        let request = try #require(Frames.all["rtu_request"])
        #expect(request[1] == 0x04, "input registers, function 04")
        let block = plan.blocks[0]
        #expect(block.address >= 0 && block.address + block.count <= 12, "inside the 12 registers of the reference request")
    }

    @Test func referenceResponseDecodesToEveryValue() throws {
        let registers = Frames.registers(ofRTUResponse: try #require(Frames.all["rtu_response"]))
        #expect(registers.count == 12)
        var decoder = ModbusDecoder(profile: gatewayV1, source: "gw")
        let block = decoder.plan.blocks[0]
        let result = decoder.decode([Array(registers[block.address..<(block.address + block.count)])])
        #expect(!result.deviceLost)
        let values = Dictionary(uniqueKeysWithValues: result.observations.map { ($0.parameter, $0.value) })
        #expect(values[.sensor] == .sensor(.ok))
        #expect(values[.spo2] == .number(97))
        #expect(values[.pulseRate] == .number(72))
        #expect(values[.fio2] == .number(40))
        #expect(values[.vt] == .number(450))
        #expect(values[.pplat] == .number(22))
        #expect(values[.peep] == .number(5))
        #expect(values[.rr] == .number(14))
        #expect(values[.ppeak] == .number(28))
        #expect(result.observations.allSatisfy { $0.source == "gw" })
    }

    func poll(_ decoder: inout ModbusDecoder, _ registers: [UInt16]) -> ModbusDecoder.Result {
        let block = decoder.plan.blocks[0]
        return decoder.decode([Array(registers[block.address..<(block.address + block.count)])])
    }

    @Test func noDataSentinelAndStatusBits() {
        var decoder = ModbusDecoder(profile: gatewayV1, source: "gw")
        var registers: [UInt16] = [1, 0b011, 0, 1, 0x8000, 72, 400, 450, 220, 50, 140, 280]
        var result = poll(&decoder, registers)
        var values = Dictionary(uniqueKeysWithValues: result.observations.map { ($0.parameter, $0.value) })
        #expect(values[.sensor] == .sensor(.off))
        #expect(values[.spo2] == .noData)
        #expect(values[.pulseRate] == .noData, "probe off: the pulse register is not a measurement")
        #expect(values[.vt] == .number(450), "ventilator values are unaffected")

        registers[1] = 0b101  // valid, no sensor
        values = Dictionary(uniqueKeysWithValues: poll(&decoder, registers).observations.map { ($0.parameter, $0.value) })
        #expect(values[.sensor] == .sensor(.disconnected))

        registers[1] = 0  // not valid: every value is no data
        values = Dictionary(uniqueKeysWithValues: poll(&decoder, registers).observations.map { ($0.parameter, $0.value) })
        #expect(values[.vt] == .noData)
        #expect(values[.fio2] == .noData)

        registers[1] = 1 | 1 << 8  // device behind the gateway lost
        result = poll(&decoder, registers)
        #expect(result.deviceLost)
        #expect(result.observations.isEmpty)
    }

    @Test func plateauIsReportedOnlyWhenItChanges() {
        var decoder = ModbusDecoder(profile: gatewayV1, source: "gw")
        var registers: [UInt16] = [1, 1, 0, 1, 97, 72, 400, 450, 220, 50, 140, 280]
        #expect(poll(&decoder, registers).observations.contains { $0.parameter == .pplat })
        #expect(!poll(&decoder, registers).observations.contains { $0.parameter == .pplat })
        registers[8] = 250
        #expect(poll(&decoder, registers).observations.contains { $0.parameter == .pplat && $0.value == .number(25) })
    }

    @Test func negativeInt16IsSigned() {
        var decoder = ModbusDecoder(profile: gatewayV1, source: "gw")
        let registers: [UInt16] = [1, 1, 0, 1, 97, 72, 400, UInt16(bitPattern: -5), 220, 50, 140, 280]
        let vt = poll(&decoder, registers).observations.first { $0.parameter == .vt }
        #expect(vt?.value == .number(-5), "passed on, so that the core rejects and reports it")
    }

    @Test func float32WordOrders() {
        // 40.0f is 0x42200000: ABCD registers [0x4220, 0x0000], CDAB [0x0000, 0x4220].
        #expect(ModbusDecoder.engineering([0x4220, 0x0000], .float32ABCD) == 40)
        #expect(ModbusDecoder.engineering([0x0000, 0x4220], .float32CDAB) == 40)
        #expect(ModbusDecoder.engineering([0xFFFB], .int16) == -5)
        #expect(ModbusDecoder.engineering([0xFFFB], .uint16) == 65531)
    }

    @Test func float32CDABProfileConvertsDeviceUnits() throws {
        let profile = ModbusProfile(name: "f", fields: [
            .init(address: 0, table: .holding, type: .float32CDAB, scale: 1, unit: .fraction, parameter: .fio2),
            .init(address: 2, table: .holding, type: .float32CDAB, scale: 1, unit: .litre, parameter: .vt),
            .init(address: 4, table: .holding, type: .float32CDAB, scale: 1, unit: .mbar, parameter: .peep),
        ])
        var decoder = ModbusDecoder(profile: profile, source: "v")
        #expect(decoder.plan.blocks == [.init(table: .holding, address: 0, count: 6)])
        func cdab(_ value: Float) -> [UInt16] { [UInt16(value.bitPattern & 0xFFFF), UInt16(value.bitPattern >> 16)] }
        let result = decoder.decode([cdab(0.5) + cdab(0.45) + cdab(10)])
        let values = Dictionary(uniqueKeysWithValues: result.observations.map { ($0.parameter, $0.value) })
        #expect(values[.fio2] == .number(50))
        if case .number(let vt)? = values[.vt] { #expect(abs(vt - 450) < 1e-3) } else { Issue.record("no Vt") }
        if case .number(let peep)? = values[.peep] { #expect(abs(peep - 10.19716) < 1e-5) } else { Issue.record("no PEEP") }
    }

    /// A monitor's blood pressure and heart rate through a Modbus gateway (issue 28): the arterial mean in
    /// kPa, the cuff mean reported only when its registers change (a cuff value is repeated every poll),
    /// the ECG heart rate; the gateway's no-data value.
    @Test func bloodPressureAndHeartRateFromAProfile() throws {
        let profile = ModbusProfile(name: "monitor", fields: [
            .init(address: 0, table: .input, type: .int16, scale: 0.1, unit: .kPa, parameter: .map, noData: 0x8000),
            .init(address: 1, table: .input, type: .int16, scale: 1, unit: .mmHg, parameter: .nibpMap, noData: 0x8000, onChange: true),
            .init(address: 2, table: .input, type: .int16, scale: 1, unit: .perMinute, parameter: .heartRate, noData: 0x8000),
        ])
        var decoder = ModbusDecoder(profile: profile, source: "mon")
        func values(_ registers: [UInt16]) -> [Parameter: ObservedValue] {
            Dictionary(uniqueKeysWithValues: decoder.decode([registers]).observations.map { ($0.parameter, $0.value) })
        }
        let first = values([100, 78, 92])
        guard case .number(let map)? = first[.map] else { Issue.record("\(first)"); return }
        #expect(abs(map - 75.006) < 0.01 && first[.nibpMap] == .number(78) && first[.heartRate] == .number(92))
        #expect(values([100, 78, 92])[.nibpMap] == nil, "the same cuff value again is a repeat, not a measurement")
        #expect(values([0x8000, 80, 0x8000]) == [.map: .noData, .nibpMap: .number(80), .heartRate: .noData])
    }

    @Test func pollPlanMergesNearbyRegistersAndSplitsFarOnes() {
        let profile = ModbusProfile(name: "p", fields: [
            .init(address: 0, table: .input, type: .int16, scale: 1, unit: .percent, parameter: .spo2),
            .init(address: 3, table: .input, type: .int16, scale: 1, unit: .perMinute, parameter: .pulseRate),
            .init(address: 200, table: .input, type: .int16, scale: 1, unit: .millilitre, parameter: .vt),
            .init(address: 0, table: .holding, type: .float32ABCD, scale: 1, unit: .percent, parameter: .fio2),
        ])
        #expect(ModbusPollPlan(profile: profile).blocks == [
            .init(table: .holding, address: 0, count: 2),
            .init(table: .input, address: 0, count: 4),
            .init(table: .input, address: 200, count: 1),
        ])
    }
}

@Suite struct ModbusEncoderTests {
    @Test func encodingThenDecodingGivesTheScenarioValuesBack() {
        var decoder = ModbusDecoder(profile: gatewayV1, source: "sim")
        var registers = [UInt16](repeating: 0, count: 12)
        registers[0] = 1
        registers[1] = ModbusEncoder.statusWord(gatewayV1.status!, sensor: .ok)
        let values: [Parameter: Double?] = [.spo2: 93, .pulseRate: 101, .fio2: 45, .vt: 330, .pplat: 27.5, .peep: 12, .rr: 22, .ppeak: nil]
        for field in gatewayV1.fields {
            registers[field.address] = ModbusEncoder.registers(for: values[field.parameter] ?? nil, field: field)[0]
        }
        let block = decoder.plan.blocks[0]
        let decoded = decoder.decode([Array(registers[block.address..<(block.address + block.count)])])
        for observation in decoded.observations where observation.parameter != .sensor {
            let expected = values[observation.parameter] ?? nil
            #expect(observation.value == (expected.map { .number($0) } ?? .noData), "\(observation.parameter)")
        }
    }

    @Test func float32RoundTripsInBothWordOrders() {
        for type in [ModbusValueType.float32ABCD, .float32CDAB] {
            let field = ModbusProfile.Field(address: 0, table: .holding, type: type, scale: 1, unit: .fraction, parameter: .fio2)
            let raw = ModbusEncoder.registers(for: 40, field: field)
            #expect(ModbusDecoder.engineering(raw, type) == Double(Float(0.4)))
        }
        #expect(ModbusEncoder.registers(for: 40, field: .init(address: 0, table: .holding, type: .float32ABCD, scale: 1, unit: .percent, parameter: .fio2)) == [0x4220, 0x0000])
        #expect(ModbusEncoder.registers(for: 40, field: .init(address: 0, table: .holding, type: .float32CDAB, scale: 1, unit: .percent, parameter: .fio2)) == [0x0000, 0x4220])
    }
}
