import AlveoCore

/// Turns the registers of one poll into observations, following a profile. Pure: the transport (a live
/// libmodbus connection, a recorded trace, a test) hands it the blocks the poll plan asked for.
package struct ModbusDecoder: Sendable {
    package let profile: ModbusProfile
    package let plan: ModbusPollPlan
    package let source: String
    private var lastRaw: [Int: [UInt16]] = [:]

    /// What one poll gave.
    package struct Result: Sendable, Equatable {
        package var observations: [Observation]
        /// The gateway says its device is lost: treat the poll as unanswered.
        package var deviceLost: Bool
    }

    package init(profile: ModbusProfile, source: String) {
        self.profile = profile
        self.plan = ModbusPollPlan(profile: profile)
        self.source = source
    }

    /// Decodes one poll. `blocks[i]` holds the registers of `plan.blocks[i]`.
    package mutating func decode(_ blocks: [[UInt16]]) -> Result {
        precondition(blocks.count == plan.blocks.count, "one register array per planned block")
        func registers(_ table: ModbusTable, _ address: Int, _ width: Int) -> [UInt16]? {
            for (index, block) in plan.blocks.enumerated() where block.table == table && block.contains(address, width: width) {
                let offset = address - block.address
                guard blocks[index].count >= offset + width else { return nil }
                return Array(blocks[index][offset..<(offset + width)])
            }
            return nil
        }

        var observations: [Observation] = []
        var valid = true
        var sensorOK = true
        if let status = profile.status, let word = registers(status.table, status.address, 1)?.first {
            func bit(_ n: Int) -> Bool { word & (1 << UInt16(n)) != 0 }
            if status.commsLostBits.contains(where: bit) { return Result(observations: [], deviceLost: true) }
            if let validBit = status.validBit { valid = bit(validBit) }
            if status.reportsSensor {
                let state: SensorState = status.noSensorBits.contains(where: bit) ? .disconnected
                    : (status.sensorOffBits.contains(where: bit) ? .off : .ok)
                observations.append(Observation(source: source, parameter: .sensor, value: .sensor(state)))
                sensorOK = state == .ok
            }
        }
        for (index, field) in profile.fields.enumerated() {
            guard let raw = registers(field.table, field.address, field.type.registerCount) else { continue }
            if field.onChange {
                if lastRaw[index] == raw { continue }
                lastRaw[index] = raw
            }
            let value: ObservedValue
            // With the probe off, whatever SpO2 and pulse the registers still hold are not measurements.
            let probeValue = field.parameter == .spo2 || field.parameter == .pulseRate
            if !valid || (probeValue && !sensorOK) || (field.noData != nil && field.type.registerCount == 1 && raw[0] == field.noData) {
                value = .noData
            } else {
                // Out-of-range values go on to the core, which rejects and reports them; NaN, infinities
                // and numbers no device sends (a float32 of 3.4e38) go as unusable, never as numbers.
                let engineering = ModbusDecoder.engineering(raw, field.type)
                // An unusable product of a usable register keeps the register's text, scale and unit.
                let scaled = field.scale == 1 ? "" : " x \(JSONValue.formatted(field.scale))"
                value = DeviceNumber.isUsable(engineering)
                    ? DeviceNumber.value(field.unit.toScenarioUnit(engineering * field.scale),
                                         text: ModbusDecoder.text(raw, field.type) + scaled + " " + field.unit.rawValue)
                    : .unusable(DeviceNumber.shown(ModbusDecoder.text(raw, field.type)))
            }
            observations.append(Observation(source: source, parameter: field.parameter, value: value))
        }
        return Result(observations: observations, deviceLost: false)
    }

    /// The registers' number as the device meant it, for a report (a float32 in its own precision:
    /// 3.4028235e+38, not the Double it widens to).
    package static func text(_ raw: [UInt16], _ type: ModbusValueType) -> String {
        switch type {
        case .int16, .uint16: String(engineering(raw, type))
        case .float32ABCD: String(Float(bitPattern: UInt32(raw[0]) << 16 | UInt32(raw[1])))
        case .float32CDAB: String(Float(bitPattern: UInt32(raw[1]) << 16 | UInt32(raw[0])))
        }
    }

    /// The raw number held by the registers, before scaling.
    package static func engineering(_ raw: [UInt16], _ type: ModbusValueType) -> Double {
        switch type {
        case .int16: Double(Int16(bitPattern: raw[0]))
        case .uint16: Double(raw[0])
        case .float32ABCD: Double(Float(bitPattern: UInt32(raw[0]) << 16 | UInt32(raw[1])))
        case .float32CDAB: Double(Float(bitPattern: UInt32(raw[1]) << 16 | UInt32(raw[0])))
        }
    }
}
