import AlveoTestKit
import AlveoCore
import AlveoTrace
import Testing

@Suite struct ScenarioParserTests {
    func number(_ text: String) -> Double? {
        Array(text.utf8).withUnsafeBufferPointer { ScenarioParser.parseNumber($0) }
    }

    @Test func numbersParseExactlyLikeSwift() {
        for text in ["0", "97", "10.1", "8.1", "0.05", "-5", "+3", "123456.789", "1e3", "2.5E-1", ".5", "5.", "007", "0.1234567890123"] {
            #expect(number(text) == Double(text.hasPrefix(".") ? "0" + text : text), "\(text)")
        }
        #expect(number("10.1")! - number("8.1")! == 10.1 - 8.1)
    }

    @Test func nonNumbersAreRefused() {
        for text in ["", "-", ".", "nan", "inf", "1,5", "9x7", "0x10", "1e", "--1", "1.2.3"] {
            #expect(number(text) == nil, "\(text)")
        }
    }

    @Test func rowsParseWithUnitsAsWritten() throws {
        var parser = ScenarioParser(file: "s.csv")
        func parse(_ line: String, _ number: Int) throws -> ScenarioParser.Row? {
            try Array(line.utf8).withUnsafeBufferPointer { try parser.parse(line: $0, number: number) }
        }
        #expect(try parse("# a comment", 1) == nil)
        #expect(try parse("t, source, parameter, value\r", 2) == nil)
        let row = try #require(try parse("1.5,vent,fio2,40", 3))
        #expect(row.t == 1.5)
        #expect(row.observation == Observation(source: "vent", parameter: .fio2, value: .number(40)))
        #expect(try parse("2,oxi,spo2,", 4)?.observation.value == .noData)
        #expect(try parse("2,oxi,sensor,off", 5)?.observation.value == .sensor(.off))
        #expect(try parse("3,nurse,ack,lpv.plateau_high", 6)?.observation.value == .ack(.plateauHigh))
    }
}
