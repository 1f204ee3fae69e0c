import Testing
@testable import AlveoCore

@Suite struct PatientAndOxygenationTests {
    @Test func predictedBodyWeightMatchesTheARDSNetworkCard() throws {
        let male = try #require(Patient(sex: .male, heightCm: 170).predictedBodyWeightKg)
        let female = try #require(Patient(sex: .female, heightCm: 160).predictedBodyWeightKg)
        #expect(Patient(sex: nil, heightCm: 170).predictedBodyWeightKg == nil)
        #expect(Patient(sex: .male, heightCm: nil).predictedBodyWeightKg == nil)
        // 50 + 0.91 × 17.6 = 66.016; 45.5 + 0.91 × 7.6 = 52.416
        #expect(abs(male - 66.016) < 1e-9)
        #expect(abs(female - 52.416) < 1e-9)
        #expect(Fmt.fixed(male, 1) == "66.0")
        #expect(Fmt.fixed(female, 1) == "52.4")
        #expect(Fmt.fixed(6 * male, 0) == "396")
        #expect(Fmt.fixed(6 * female, 0) == "314")
    }

    @Test(arguments: [(88.0, "54.7"), (90.0, "58.7"), (92.0, "63.8"), (94.0, "70.9"), (96.0, "81.9")])
    func brownImputationMatchesThePublishedCheckValues(spo2: Double, pao2: String) throws {
        let imputed = try #require(Oxygenation.imputedPaO2(spo2Percent: spo2))
        #expect(Fmt.fixed(imputed, 1) == pao2)
    }

    @Test func brownImputationRefusesTheFlatPartOfTheCurve() {
        #expect(Oxygenation.imputedPaO2(spo2Percent: 96.5) == nil)
        #expect(Oxygenation.imputedPaO2(spo2Percent: 100) == nil)
        #expect(Oxygenation.imputedPaO2(spo2Percent: 0) == nil)
    }

    @Test func fixedFormattingRoundsHalfAwayFromZero() {
        #expect(Fmt.fixed(2.25, 1) == "2.3")
        #expect(Fmt.fixed(-2.25, 1) == "-2.3")
        #expect(Fmt.fixed(0.04, 1) == "0.0")
        #expect(Fmt.fixed(119.96, 1) == "120.0")
        #expect(Fmt.duration(59) == "59 s")
        #expect(Fmt.duration(300) == "5 min")
        #expect(Fmt.duration(43200) == "12 h")
        #expect(Fmt.duration(5400 + 7200) == "3 h 30 min")
    }

    @Test func jsonStringsAreEscaped() {
        var out = ""
        JSONValue.object([("a\"b", .string("line\nnext\u{1}")), ("n", .number(0.1)), ("i", .number(300))]).write(to: &out)
        #expect(out == #"{"a\"b":"line\nnext\u0001","n":0.1,"i":300}"#)
    }
}
