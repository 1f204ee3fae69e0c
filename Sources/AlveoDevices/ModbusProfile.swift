import AlveoCore

/// Modbus register table: holding registers (function 03) or input registers (function 04).
package enum ModbusTable: String, Sendable, CaseIterable {
    case holding, input
}

/// How a value is laid out in registers.
package enum ModbusValueType: String, Sendable, CaseIterable {
    case int16, uint16
    /// IEEE-754 float32, high word first (registers `42 20 00 00` = 40.0).
    case float32ABCD = "float32_abcd"
    /// IEEE-754 float32, low word first (registers `00 00 42 20` = 40.0).
    case float32CDAB = "float32_cdab"

    package var registerCount: Int {
        switch self {
        case .int16, .uint16: 1
        case .float32ABCD, .float32CDAB: 2
        }
    }
}

/// A unit a device may report in, and its conversion to the unit Alveo's rules use.
package enum DeviceUnit: String, Sendable, CaseIterable {
    case percent = "%"
    case fraction
    case perMinute = "/min"
    case millilitre = "ml"
    case litre = "l"
    case cmH2O = "cmH2O"
    case mbar
    case hPa
    case mmHg
    case kPa
    case gramsPerDecilitre = "g/dL"
    case milligramsPerDecilitre = "mg/dL"

    /// Units that can be converted to the parameter's scenario unit.
    package static func allowed(for parameter: Parameter) -> [DeviceUnit] {
        switch parameter {
        case .spo2: [.percent]
        case .fio2: [.percent, .fraction]
        case .pulseRate, .rr, .heartRate: [.perMinute]
        case .map, .nibpMap, .paco2: [.mmHg, .kPa]
        case .vt: [.millilitre, .litre]
        case .pplat, .peep, .ppeak: [.cmH2O, .mbar, .hPa]
        case .pao2: [.mmHg, .kPa]
        case .hb: [.gramsPerDecilitre]
        case .hemoptysis: [.millilitre]
        case .creatinine: [.milligramsPerDecilitre]
        case .position, .sensor, .ack, .ph, .ecmo, .massiveHemoptysis: []
        }
    }

    /// Converts a value in this unit to the scenario unit of the parameter (FiO2 %, ml, cmH2O, mmHg).
    package func toScenarioUnit(_ value: Double) -> Double {
        switch self {
        case .fraction: value * 100
        case .litre: value * 1000
        case .mbar, .hPa: value * 1.019716  // 1 mbar = 1 hPa = 1.019716 cmH2O
        case .kPa: value * 7.500617  // 1 kPa = 7.500617 mmHg
        default: value
        }
    }
}

/// A declarative Modbus register map for one kind of device (or gateway). Never code per device.
package struct ModbusProfile: Sendable, Equatable {
    /// One register (or register pair) that carries a clinical value.
    package struct Field: Sendable, Equatable {
        package var address: Int
        package var table: ModbusTable
        package var type: ModbusValueType
        /// Engineering value = raw × scale.
        package var scale: Double
        package var unit: DeviceUnit
        package var parameter: Parameter
        /// Raw register value meaning "no data" (e.g. 0x8000), for integer types.
        package var noData: UInt16?
        /// Report only when the raw value changes (a plateau pressure repeated every poll is one measurement).
        package var onChange: Bool

        package init(address: Int, table: ModbusTable, type: ModbusValueType, scale: Double, unit: DeviceUnit,
                    parameter: Parameter, noData: UInt16? = nil, onChange: Bool = false)
        {
            self.address = address
            self.table = table
            self.type = type
            self.scale = scale
            self.unit = unit
            self.parameter = parameter
            self.noData = noData
            self.onChange = onChange
        }
    }

    /// A status register whose bits say whether the values are valid and what the sensor is doing.
    package struct Status: Sendable, Equatable {
        package var address: Int
        package var table: ModbusTable
        /// Bit set when the values are valid; clear = every field is "no data".
        package var validBit: Int?
        /// Bits meaning the probe is off the patient.
        package var sensorOffBits: [Int]
        /// Bits meaning no sensor is connected.
        package var noSensorBits: [Int]
        /// Bits meaning the gateway has lost the device behind it: the poll counts as no answer.
        package var commsLostBits: [Int]

        package init(address: Int, table: ModbusTable, validBit: Int?, sensorOffBits: [Int] = [], noSensorBits: [Int] = [],
                    commsLostBits: [Int] = [])
        {
            self.address = address
            self.table = table
            self.validBit = validBit
            self.sensorOffBits = sensorOffBits
            self.noSensorBits = noSensorBits
            self.commsLostBits = commsLostBits
        }

        /// Whether the profile reports a probe state (so a `sensor` observation is emitted).
        package var reportsSensor: Bool { !sensorOffBits.isEmpty || !noSensorBits.isEmpty }
    }

    package var name: String
    package var fields: [Field]
    package var status: Status?

    package init(name: String, fields: [Field], status: Status? = nil) {
        self.name = name
        self.fields = fields
        self.status = status
    }
}
