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

    /// Rules v3 §3.2: haemodynamics, the arterial gas beside PaO2, ECMO and the team's call of massive
    /// haemoptysis, by their scenario names; a word that is not one of the values says which are.
    @Test func theParametersOfRulesV3Parse() throws {
        var parser = ScenarioParser(file: "v3.csv")
        func parse(_ line: String, _ number: Int) throws(ScenarioError) -> ScenarioParser.Row? {
            try Array(line.utf8).withUnsafeBufferPointer { buffer throws(ScenarioError) in try parser.parse(line: buffer, number: number) }
        }
        _ = try parse("t,source,parameter,value", 1)
        #expect(try parse("10,mon,map,61", 2)?.observation == Observation(source: "mon", parameter: .map, value: .number(61)))
        #expect(try parse("10,mon,nibp_map,58", 3)?.observation.parameter == .nibpMap)
        #expect(try parse("10,mon,heart_rate,118", 4)?.observation.parameter == .heartRate)
        #expect(try parse("10,lab,ph,7.18", 5)?.observation.value == .number(7.18))
        #expect(try parse("10,lab,paco2,68", 6)?.observation.parameter == .paco2)
        #expect(try parse("10,nurse,ecmo,vv", 7)?.observation.value == .ecmo(.vv))
        #expect(try parse("10,nurse,ecmo,none", 8)?.observation.value == .ecmo(.none))
        #expect(try parse("10,nurse,massive_hemoptysis,yes", 9)?.observation.value == .yesNo(true))
        #expect(try parse("10,nurse,massive_hemoptysis,no", 10)?.observation.value == .yesNo(false))
        #expect(Parameter.map.isStreamed && Parameter.heartRate.isStreamed && !Parameter.ph.isStreamed && !Parameter.ecmo.isNumeric)
        for (line, message) in [("11,nurse,ecmo,yes", "ecmo 'yes' is not one of: vv, va, none"),
                                ("11,nurse,massive_hemoptysis,maybe", "massive_hemoptysis 'maybe' is not one of: yes, no")] {
            #expect(throws: ScenarioError.self) { try parse(line, 11) }
            do { _ = try parse(line, 11) } catch { #expect(error.description.contains(message) && error.description.contains("v3.csv:11"), "\(error)") }
        }
    }
}
