import AlveoCore

/// The inverse of ModbusDecoder: what a device following a profile would put in its registers.
/// Used by `alveo simulate` to play a scenario as a Modbus device.
package enum ModbusEncoder {
    /// Raw registers for a value given in the parameter's scenario unit; nil = the field's no-data value.
    package static func registers(for value: Double?, field: ModbusProfile.Field) -> [UInt16] {
        guard let value else { return Array(repeating: field.noData ?? 0, count: field.type.registerCount) }
        let deviceValue = field.unit.fromScenarioUnit(value) / field.scale
        switch field.type {
        case .int16:
            let clamped = min(max(deviceValue.rounded(), Double(Int16.min)), Double(Int16.max))
            return [UInt16(bitPattern: Int16(clamped))]
        case .uint16:
            return [UInt16(saturating: deviceValue.rounded())]
        case .float32ABCD, .float32CDAB:
            let bits = Float(deviceValue).bitPattern
            let high = UInt16(bits >> 16), low = UInt16(bits & 0xFFFF)
            return field.type == .float32ABCD ? [high, low] : [low, high]
        }
    }

    /// The status word for a probe state, with the valid bit set.
    package static func statusWord(_ status: ModbusProfile.Status, sensor: SensorState) -> UInt16 {
        var word: UInt16 = 0
        if let valid = status.validBit { word |= 1 << UInt16(valid) }
        switch sensor {
        case .ok: break
        case .off: status.sensorOffBits.forEach { word |= 1 << UInt16($0) }
        case .disconnected: status.noSensorBits.forEach { word |= 1 << UInt16($0) }
        }
        return word
    }
}

extension DeviceUnit {
    /// Converts a value in the parameter's scenario unit to this unit.
    package func fromScenarioUnit(_ value: Double) -> Double {
        value / toScenarioUnit(1)
    }
}

extension ModbusProfile {
    /// The alveo-gateway-v1 map (shared/device-protocols.md), built in for `alveo simulate`;
    /// devices/alveo-gateway-v1/profile.yaml is the same map as a file (a test keeps them equal).
    package static let gatewayV1 = ModbusProfile(
        name: "alveo-gateway-v1",
        fields: [
            .init(address: 4, table: .input, type: .int16, scale: 1, unit: .percent, parameter: .spo2, noData: 0x8000),
            .init(address: 5, table: .input, type: .int16, scale: 1, unit: .perMinute, parameter: .pulseRate, noData: 0x8000),
            .init(address: 6, table: .input, type: .int16, scale: 0.1, unit: .percent, parameter: .fio2, noData: 0x8000),
            .init(address: 7, table: .input, type: .int16, scale: 1, unit: .millilitre, parameter: .vt, noData: 0x8000),
            .init(address: 8, table: .input, type: .int16, scale: 0.1, unit: .cmH2O, parameter: .pplat, noData: 0x8000, onChange: true),
            .init(address: 9, table: .input, type: .int16, scale: 0.1, unit: .cmH2O, parameter: .peep, noData: 0x8000),
            .init(address: 10, table: .input, type: .int16, scale: 0.1, unit: .perMinute, parameter: .rr, noData: 0x8000),
            .init(address: 11, table: .input, type: .int16, scale: 0.1, unit: .cmH2O, parameter: .ppeak, noData: 0x8000),
        ],
        status: .init(address: 1, table: .input, validBit: 0, sensorOffBits: [1], noSensorBits: [2], commsLostBits: [8]))
}
