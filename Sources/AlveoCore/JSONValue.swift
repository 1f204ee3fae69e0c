/// A JSON value with ordered object keys, so that the same events always print the same bytes.
package enum JSONValue: Sendable, Equatable {
    case number(Double)
    case string(String)
    case bool(Bool)
    case object([(String, JSONValue)])
    case array([JSONValue])
    case null

    package static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        var a = "", b = ""
        lhs.write(to: &a)
        rhs.write(to: &b)
        return a == b
    }

    /// Appends the compact JSON text.
    package func write(to out: inout String) {
        switch self {
        case .number(let x): out += JSONValue.format(x)
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeString(key, to: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    /// A number as events print it: integral without a decimal point, else shortest round-trip.
    package static func formatted(_ x: Double) -> String { format(x) }

    /// Numbers print as integers when integral, else in Swift's shortest round-trip form.
    static func format(_ x: Double) -> String {
        guard x.isFinite else { return "null" }
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(saturating: x)) }
        return String(x)
    }

    static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

/// Fixed-decimal formatting for alarm texts, without Foundation.
package enum Fmt {
    /// `x` rounded half away from zero to `decimals` places, e.g. fixed(52.416, 1) == "52.4".
    package static func fixed(_ x: Double, _ decimals: Int) -> String {
        guard x.isFinite else { return "?" }
        let decimals = min(max(decimals, 0), 9)
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(x) * scale).rounded(.toNearestOrAwayFromZero)
        // Past 2^53 a Double has no fraction left to print and past 2^63 no Int64 to hold it: the
        // shortest round-trip form says what the number was, with no conversion that could trap.
        guard scaled < 9e15 else { return String(x) }
        let negative = x < 0 && scaled > 0
        let whole = Int64(saturating: scaled / scale)
        var text = (negative ? "-" : "") + String(whole)
        if decimals > 0 {
            let frac = Int64(saturating: scaled - Double(whole) * scale)
            let digits = String(frac)
            text += "." + String(repeating: "0", count: decimals - digits.count) + digits
        }
        return text
    }

    /// Rounds for evidence, so that derived values print short and stable.
    package static func round(_ x: Double, _ decimals: Int) -> Double {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        return (x * scale).rounded(.toNearestOrAwayFromZero) / scale
    }

    /// A duration for a nurse: "45 s", "5 min", "12 h", "1 h 30 min".
    package static func duration(_ seconds: Double) -> String {
        let s = Int64(saturating: max(0, seconds).rounded())
        if s < 120 { return "\(s) s" }
        let minutes = s / 60
        if minutes < 120 { return "\(minutes) min" }
        let hours = minutes / 60, rest = minutes % 60
        return rest == 0 ? "\(hours) h" : "\(hours) h \(rest) min"
    }
}
