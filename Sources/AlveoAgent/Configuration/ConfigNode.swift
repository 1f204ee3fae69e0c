import AlveoCore
import Yams

/// A YAML node with its dotted key path and file, so every error can say where it is.
struct ConfigNode {
    let node: Node
    let path: String
    let file: String

    var line: Int { node.mark?.line ?? 0 }

    func error(_ message: String) -> ConfigError {
        ConfigError(file: file, line: line, key: path, message: message)
    }

    /// The entries of a mapping, refusing keys not in `allowed`.
    func mapping(allowed: [String]? = nil) throws(ConfigError) -> [(key: String, value: ConfigNode)] {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping of keys to values") }
        var entries: [(key: String, value: ConfigNode)] = []
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.string else {
                throw ConfigError(file: file, line: keyNode.mark?.line ?? line, key: path, message: "keys must be strings")
            }
            guard key.utf8.count <= 64, key.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
                throw ConfigError(file: file, line: keyNode.mark?.line ?? line, key: path,
                                  message: "key '\(Shown.text(key.utf8))' is not a key of this file (printable ASCII, at most 64 characters)")
            }
            let childPath = path.isEmpty ? key : "\(path).\(key)"
            if let allowed, !allowed.contains(key) {
                throw ConfigError(file: file, line: keyNode.mark?.line ?? line, key: childPath,
                                  message: "unknown key (allowed here: \(allowed.joined(separator: ", ")))")
            }
            entries.append((key, ConfigNode(node: valueNode, path: childPath, file: file)))
        }
        return entries
    }

    func sequence() throws(ConfigError) -> [ConfigNode] {
        guard case .sequence(let sequence) = node else { throw error("expected a list") }
        return sequence.enumerated().map { ConfigNode(node: $1, path: "\(path)[\($0)]", file: file) }
    }

    /// Longest text value accepted (a path, a host, a name); longer is a mistake, not a value.
    static let maxTextLength = 1024

    /// A text value. Control characters (CR, LF, tab, NUL, ESC …) are refused everywhere: a value
    /// ends up in HL7 and syslog fields, file names, log lines and terminals, where they forge or
    /// garble what follows.
    func string() throws(ConfigError) -> String {
        guard case .scalar(let scalar) = node else { throw error("expected a single value") }
        let text = scalar.string
        // The value itself is not echoed: it may be the patient's identifier or name.
        guard text.utf8.count <= ConfigNode.maxTextLength else {
            throw error("value of \(text.utf8.count) bytes, longer than \(ConfigNode.maxTextLength)")
        }
        if let (offset, bad) = text.unicodeScalars.enumerated().first(where: { $0.element.value < 0x20 || ($0.element.value >= 0x7F && $0.element.value < 0xA0) }) {
            throw error("control character U+\(String(bad.value, radix: 16, uppercase: true).leftPadded(4)) at character \(offset + 1) of the value: not allowed in any value")
        }
        return text
    }

    /// A name that goes into messages and file names: `SourceName`'s rule (letters, digits, _ - .).
    func name(what: String) throws(ConfigError) -> String {
        let text = try string()
        guard SourceName.isValid(text) else {
            throw error("'\(Shown.text(text.utf8))' is not a usable \(what) (\(SourceName.rule))")
        }
        return text
    }

    func number(in range: ClosedRange<Double>? = nil, unit: String = "") throws(ConfigError) -> Double {
        guard case .scalar = node, let value = node.float ?? node.int.map(Double.init), value.isFinite else {
            throw error("expected a number\(unit.isEmpty ? "" : " (\(unit))"), found '\(Shown.text((node.string ?? "?").utf8))'")
        }
        if let range, !range.contains(value) {
            throw error("\(value) is out of the allowed range \(range.lowerBound)...\(range.upperBound)\(unit.isEmpty ? "" : " \(unit)")")
        }
        return value
    }

    /// A whole number (a port, a register address, a unit id): 502.9 is refused, not truncated.
    func integer(in range: ClosedRange<Int>, unit: String = "") throws(ConfigError) -> Int {
        let value = try number(in: Double(range.lowerBound)...Double(range.upperBound), unit: unit)
        guard value == value.rounded() else { throw error("expected a whole number, found \(value)") }
        return Int(value)
    }

    func bool() throws(ConfigError) -> Bool {
        guard case .scalar = node, let value = node.bool else { throw error("expected true or false") }
        return value
    }

    func oneOf<T: RawRepresentable<String> & CaseIterable>(_ type: T.Type) throws(ConfigError) -> T {
        let text = try string()
        guard let value = T(rawValue: text) else {
            throw error("'\(text)' is not one of: \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
