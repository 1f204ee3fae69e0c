import AlveoCore
import AlveoDevices
import AlveoTrace
import Foundation
import Yams

/// Reads a Modbus device profile (YAML) from `devices/`; errors name the file, line and key.
package enum ProfileLoader {
    package static func load(path: String) throws(ConfigError) -> ModbusProfile {
        try load(root: try YAMLFile.root(path: path), file: path)
    }

    /// A profile from its YAML text (a profile stored in a raw trace); `file` names it in errors.
    package static func load(yaml: String, file: String) throws(ConfigError) -> ModbusProfile {
        try load(root: try YAMLFile.root(yaml: yaml, file: file), file: file)
    }

    private static func load(root: ConfigNode, file path: String) throws(ConfigError) -> ModbusProfile {
        var name: String?
        var fields: [ModbusProfile.Field] = []
        var status: ModbusProfile.Status?
        for (key, value) in try root.mapping(allowed: ["name", "description", "registers", "status"]) {
            switch key {
            case "name": name = try value.string()
            case "registers":
                for item in try value.sequence() { fields.append(try field(item)) }
            case "status": status = try parseStatus(value)
            default: break
            }
        }
        guard let name else { throw root.error("missing 'name'") }
        guard !fields.isEmpty else { throw root.error("missing 'registers': a profile maps at least one register") }
        var used: [String: Int] = [:]
        for field in fields {
            for register in field.address..<(field.address + field.type.registerCount) {
                let key = "\(field.table.rawValue)\(register)"
                if let other = used[key], other != field.parameter.rawValue {
                    throw ConfigError(file: path, line: root.line, key: "registers",
                                      message: "\(field.table.rawValue) register \(register) is mapped twice")
                }
                used[key] = field.parameter.rawValue
            }
        }
        return ModbusProfile(name: name, fields: fields, status: status)
    }

    private static func field(_ node: ConfigNode) throws(ConfigError) -> ModbusProfile.Field {
        let allowed = ["parameter", "address", "table", "type", "scale", "unit", "no_data", "on_change"]
        var parameter: Parameter?, address: Int?, table = ModbusTable.input, type = ModbusValueType.int16
        var scale = 1.0, unit: DeviceUnit?, noData: UInt16?, onChange = false
        for (key, value) in try node.mapping(allowed: allowed) {
            switch key {
            case "parameter":
                let text = try value.string()
                // Device values only: lab results and charted entries do not come from polled registers.
                guard let found = Parameter(name: text), found.isNumeric, found.isStreamed else {
                    throw value.error("'\(text)' is not a device parameter (one of: \(Parameter.allCases.filter { $0.isNumeric && $0.isStreamed }.map(\.name).joined(separator: ", ")))")
                }
                parameter = found
            case "address": address = try value.integer(in: 0...65535, unit: "0-based register address")
            case "table": table = try value.oneOf(ModbusTable.self)
            case "type": type = try value.oneOf(ModbusValueType.self)
            case "scale":
                scale = try value.number(in: -1e6...1e6)
                guard scale != 0 else { throw value.error("scale must not be 0") }
            case "unit": unit = try value.oneOf(DeviceUnit.self)
            case "no_data": noData = UInt16(try value.integer(in: 0...65535, unit: "raw register value"))
            case "on_change": onChange = try value.bool()
            default: break
            }
        }
        guard let parameter else { throw node.error("missing 'parameter'") }
        guard let address else { throw node.error("missing 'address' (0-based PDU address; label 30005 is address 4)") }
        guard let unit else {
            throw node.error("missing 'unit' (for \(parameter.name): \(DeviceUnit.allowed(for: parameter).map(\.rawValue).joined(separator: ", ")))")
        }
        guard DeviceUnit.allowed(for: parameter).contains(unit) else {
            throw node.error("unit '\(unit.rawValue)' cannot be converted for \(parameter.name) (allowed: \(DeviceUnit.allowed(for: parameter).map(\.rawValue).joined(separator: ", ")))")
        }
        return ModbusProfile.Field(address: address, table: table, type: type, scale: scale, unit: unit,
                                   parameter: parameter, noData: noData, onChange: onChange)
    }

    private static func parseStatus(_ node: ConfigNode) throws(ConfigError) -> ModbusProfile.Status {
        var address: Int?, table = ModbusTable.input, validBit: Int?
        var off: [Int] = [], none: [Int] = [], lost: [Int] = []
        func bits(_ value: ConfigNode) throws(ConfigError) -> [Int] {
            var result: [Int] = []
            for item in try value.sequence() { result.append(try item.integer(in: 0...15, unit: "bit")) }
            return result
        }
        for (key, value) in try node.mapping(allowed: ["address", "table", "valid_bit", "sensor_off_bits", "no_sensor_bits", "comms_lost_bits"]) {
            switch key {
            case "address": address = try value.integer(in: 0...65535)
            case "table": table = try value.oneOf(ModbusTable.self)
            case "valid_bit": validBit = try value.integer(in: 0...15, unit: "bit")
            case "sensor_off_bits": off = try bits(value)
            case "no_sensor_bits": none = try bits(value)
            case "comms_lost_bits": lost = try bits(value)
            default: break
            }
        }
        guard let address else { throw node.error("missing 'address'") }
        return ModbusProfile.Status(address: address, table: table, validBit: validBit, sensorOffBits: off,
                                    noSensorBits: none, commsLostBits: lost)
    }
}

/// Reading a YAML file into a ConfigNode, with parse errors as ConfigError.
enum YAMLFile {
    /// No configuration or profile is near this size: a larger file is a mistake, refused before it
    /// is read whole (a 200 MB file once took 436 MB of memory to refuse).
    static let maxBytes = 1 << 20

    static func root(path: String) throws(ConfigError) -> ConfigNode {
        try root(yaml: try text(path: path), file: path)
    }

    /// The text of a configuration or profile file: at most `maxBytes`, UTF-8 (the line of the first
    /// byte that is not is named).
    static func text(path: String) throws(ConfigError) -> String {
        let data: [UInt8]
        do {
            data = try FileReading.read(try FileReading.open(path), count: maxBytes + 1)
        } catch {
            throw ConfigError(file: path, line: 0, key: "", message: "cannot read the file: \(error)")
        }
        guard data.count <= maxBytes else {
            throw ConfigError(file: path, line: 0, key: "", message: "the file is larger than \(maxBytes / 1024) KiB: not a configuration")
        }
        if let text = String(validating: data, as: UTF8.self) { return text }
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        let bad = lines.firstIndex { String(validating: $0, as: UTF8.self) == nil } ?? 0
        throw ConfigError(file: path, line: bad + 1, key: "", message: "not UTF-8 text")
    }

    static func root(yaml: String, file: String) throws(ConfigError) -> ConfigNode {
        guard yaml.utf8.count <= maxBytes else {
            throw ConfigError(file: file, line: 0, key: "", message: "the text is larger than \(maxBytes / 1024) KiB: not a configuration")
        }
        // libyaml refuses control characters with an offset, not a line: find them first, so the
        // error names the line and never echoes the byte itself.
        var line = 1
        for byte in yaml.utf8 {
            if byte == UInt8(ascii: "\n") { line += 1; continue }
            if byte < 0x20 || byte == 0x7F, byte != UInt8(ascii: "\t"), byte != UInt8(ascii: "\r") {
                throw ConfigError(file: file, line: line, key: "", message: "control character \\x\(String(decoding: Hex.digits(of: byte), as: UTF8.self)) in the file: not allowed in YAML text")
            }
        }
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw ConfigError(file: file, line: 1, key: "", message: "the file is empty")
            }
            return ConfigNode(node: node, path: "", file: file)
        } catch let error as ConfigError {
            throw error
        } catch let error as YamlError {
            switch error {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
                throw ConfigError(file: file, line: mark.line, key: "", message: "not valid YAML: \(problem)")
            case .reader(let problem, let offset, _, _):
                let line = 1 + (offset.map { yaml.utf8.prefix($0).count(where: { $0 == UInt8(ascii: "\n") }) } ?? 0)
                throw ConfigError(file: file, line: line, key: "", message: "not valid YAML: \(problem)")
            case .duplicatedKeysInMapping(let duplicates, let context):
                let key = duplicates.first ?? "?"
                let line = secondOccurrence(of: key, after: context.mark.line, column: context.mark.column, in: yaml) ?? context.mark.line
                throw ConfigError(file: file, line: line, key: Shown.text(key.utf8),
                                  message: "given twice in the same mapping (first at line \(context.mark.line)): say it once")
            default:
                throw ConfigError(file: file, line: 0, key: "", message: "not valid YAML")
            }
        } catch {
            throw ConfigError(file: file, line: 0, key: "", message: "not valid YAML")
        }
    }

    /// The line (1-based) after `first` where `key:` starts at `column` (1-based) again.
    private static func secondOccurrence(of key: String, after first: Int, column: Int, in yaml: String) -> Int? {
        let prefix = String(repeating: " ", count: max(0, column - 1))
        for (index, text) in yaml.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where index + 1 > first {
            let line = text.hasPrefix(prefix + "- ") ? prefix + "  " + text.dropFirst(prefix.count + 2) : String(text)
            if line.hasPrefix(prefix + key), line.dropFirst(prefix.count + key.count).drop(while: { $0 == " " }).first == ":" {
                return index + 1
            }
        }
        return nil
    }
}
