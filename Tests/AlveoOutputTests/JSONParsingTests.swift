import AlveoCore
import AlveoOutput
import Foundation
import Testing

/// `JSONValue.parse`, which reads the journal, spill files and lifecycle records: the same values as
/// Foundation's parser on what Alveo writes and on hostile text, and nil for what is not one JSON text.
struct JSONParsingTests {
    /// Foundation's reading, as the journal used to be read (object keys sorted).
    static func foundation(_ text: String) -> JSONValue? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) else { return nil }
        func convert(_ value: Any) -> JSONValue {
            switch value {
            case let number as NSNumber:
                String(cString: number.objCType) == "c" ? .bool(number.boolValue) : .number(number.doubleValue)
            case let text as String: .string(text)
            case let members as [String: Any]: .object(members.keys.sorted().map { ($0, convert(members[$0]!)) })
            case let items as [Any]: .array(items.map(convert))
            default: .null
            }
        }
        return convert(object)
    }

    static let texts: [String] = [
        sampleEvent(3).jsonLine(),
        "{\"seq\":12,\"run\":\"r-1\",\"wall_time\":\"2026-11-29T10:02:00.000Z\",\"patient\":{\"id\":\"1\",\"authority\":null,\"name\":\"DOE^J\"},\"event\":\(sampleEvent(12).jsonLine())}",
        "{\"b\":[1,-0.5,2.5e3,1E-2,0,-0],\"a\":{\"z\":true,\"y\":false,\"x\":null},\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"}",
        "  [ ]  ", "{}", "\"text\"", "17", "null", "{\"k\":1,\"k\":2}", "[\"é ü 漢\"]",
    ]

    @Test(arguments: texts) func agreesWithFoundation(_ text: String) throws {
        let parsed = try #require(JSONValue.parse(text.utf8), "\(text)")
        #expect(parsed == Self.foundation(text), "\(text)")
    }

    static let notJSON: [String] = [
        "", " ", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "[1] x", "01", "1.", ".5", "-", "1e", "+1", "tru", "nul", "'a'",
        "\"a\u{01}b\"", "\"\\x41\"", "\"\\ud83d\"", "\"\\ude00\"", "\"abc", "[\"\\u12\"]", "1e400", "{1:2}",
        String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
    ]

    @Test(arguments: notJSON) func refusesWhatIsNotOneJSONText(_ text: String) {
        #expect(JSONValue.parse(text.utf8) == nil, "\(text.prefix(40))")
    }

    @Test func refusesBytesThatAreNotUTF8AndTakesDeepButBoundedNesting() {
        #expect(JSONValue.parse([0x22, 0xFF, 0x22]) == nil)
        #expect(JSONValue.parse([0x22, 0xC3, 0x22]) == nil)
        let deep = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(JSONValue.parse(deep.utf8) != nil)
        let deeper = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        #expect(JSONValue.parse(deeper.utf8) == nil)
    }
}
