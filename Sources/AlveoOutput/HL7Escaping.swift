/// HL7 v2 escaping (ER7, the standard delimiters `|^~\&`), done on Unicode scalars: every delimiter
/// is a single ASCII scalar and a receiver splits the bytes, so a `|` followed by a combining mark
/// (one Swift `Character`) is still a field separator and must be escaped like any other.
///
/// Control characters (C0, DEL and C1: U+0000–U+001F, U+007F–U+009F) never reach the wire: they
/// become spaces. HL7 has no escape for them but `\Xhh\`, which a receiver decodes back into the raw
/// byte; a space keeps the text readable and cannot end a segment (CR), a frame (MLLP's 0x1C) or a line.
///
/// A composite value Alveo holds as one string (the patient name `FAMILY^GIVEN`, the assigning
/// authority `HOSP&1.2.3&ISO`, the bed location `ICU^B1^B1^HOSP`) is written in ER7 itself: `^`
/// separates components, `&` subcomponents, and a component's own delimiters are escaped in it
/// (`\S\`, `\T\`, `\E\`, `\F\`, `\R\`). So an ADT name whose family is `DOE\S\X` (decoded: `DOE^X`)
/// is held as `DOE\S\X^JANE` and goes out as such; `component(_:)` makes such a piece from data.
package enum HL7Escaping {
    /// C0 controls, DEL and C1 controls.
    package static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// Free text for one field, component or subcomponent: each delimiter escaped, controls as spaces.
    package static func escape(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { append(scalar, to: &out) }
        return String(out)
    }

    /// A composite value (components by `^`, subcomponents by `&`, the delimiters inside a piece
    /// escaped) for the wire: read into its pieces (`pieces`), each piece escaped. `^` and `&` stay
    /// separators, a piece's escapes `\F\ \S\ \T\ \R\ \E\` stay what they are, every other `\` (an
    /// `\X0D\`, a lone backslash) is escaped as data, `|` `~` are escaped, controls become spaces. With
    /// limits, for a field of a known type: at most `components` components and `subcomponents(i)`
    /// subcomponents in component i (0-based); what is beyond goes into the last piece kept, as data, so
    /// nothing is lost and the field keeps its type's shape.
    package static func composite(_ text: String, components maxComponents: Int = .max,
                                 subcomponents maxSubcomponents: (Int) -> Int = { _ in .max }) -> String {
        var components = pieces(text)
        if components.count > maxComponents, maxComponents > 0 {
            let overflow = components[maxComponents...].map { $0.joined(separator: "&") }.joined(separator: "^")
            components.removeSubrange(maxComponents...)
            components[maxComponents - 1][components[maxComponents - 1].count - 1] += "^" + overflow
        }
        for index in components.indices {
            let limit = max(1, maxSubcomponents(index))
            guard components[index].count > limit else { continue }
            let overflow = components[index][limit...].joined(separator: "&")
            components[index].removeSubrange(limit...)
            components[index][limit - 1] += "&" + overflow
        }
        return components.map { $0.map(escape).joined(separator: "&") }.joined(separator: "^")
    }

    /// Data as one piece of a composite value: its own `\`, `^` and `&` escaped (`\E\`, `\S\`, `\T\`),
    /// so they stay data when the composite is split and written; at most `maxBytes` UTF-8 bytes, cut
    /// before a scalar or an escape that would not fit whole.
    package static func component(_ text: String, maxBytes: Int = .max) -> String {
        var out = String.UnicodeScalarView()
        var bytes = 0
        for scalar in text.unicodeScalars {
            let piece: [Unicode.Scalar]
            switch scalar {
            case "\\": piece = ["\\", "E", "\\"]
            case "^": piece = ["\\", "S", "\\"]
            case "&": piece = ["\\", "T", "\\"]
            default: piece = [scalar]
            }
            let size = piece.reduce(0) { $0 + UTF8.width($1) }
            guard bytes + size <= maxBytes else { break }
            out.append(contentsOf: piece)
            bytes += size
        }
        return String(out)
    }

    /// A composite value's components and their subcomponents, decoded (what a receiver reads from
    /// `composite(text)`): for comparing with decoded values and for tests.
    package static func pieces(_ text: String) -> [[String]] {
        let scalars = Array(text.unicodeScalars)
        var components: [[String]] = []
        var subcomponents: [String] = []
        var current = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "^" {
                subcomponents.append(String(current))
                components.append(subcomponents)
                subcomponents = []
                current = String.UnicodeScalarView()
            } else if scalar == "&" {
                subcomponents.append(String(current))
                current = String.UnicodeScalarView()
            } else if scalar == "\\", let code = delimiterEscape(scalars, at: index) {
                current.append(delimiter(code))
                index += 3
                continue
            } else {
                current.append(isControl(scalar) ? " " : scalar)
            }
            index += 1
        }
        subcomponents.append(String(current))
        components.append(subcomponents)
        return components
    }

    /// At most `count` Unicode scalars of `text`: a cut never splits a scalar (nor, done before
    /// escaping, an escape sequence).
    package static func prefix(_ text: String, scalars count: Int) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(count)))
    }

    /// The code letter of a delimiter escape `\F\ \S\ \T\ \R\ \E\` starting at `index`, if one does.
    static func delimiterEscape(_ scalars: [Unicode.Scalar], at index: Int) -> Unicode.Scalar? {
        guard index + 2 < scalars.count, scalars[index] == "\\", scalars[index + 2] == "\\" else { return nil }
        let code = scalars[index + 1]
        let codes: [Unicode.Scalar] = ["F", "S", "T", "R", "E"]
        return codes.contains(code) ? code : nil
    }

    static func delimiter(_ code: Unicode.Scalar) -> Unicode.Scalar {
        switch code {
        case "F": "|"
        case "S": "^"
        case "T": "&"
        case "R": "~"
        default: "\\"
        }
    }

    static func append(_ scalar: Unicode.Scalar, to out: inout String.UnicodeScalarView) {
        switch scalar {
        case "\\": out.append(contentsOf: ["\\", "E", "\\"])
        case "|": out.append(contentsOf: ["\\", "F", "\\"])
        case "^": out.append(contentsOf: ["\\", "S", "\\"])
        case "~": out.append(contentsOf: ["\\", "R", "\\"])
        case "&": out.append(contentsOf: ["\\", "T", "\\"])
        default: out.append(isControl(scalar) ? " " : scalar)
        }
    }
}
