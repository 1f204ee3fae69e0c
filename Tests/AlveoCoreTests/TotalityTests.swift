@testable import AlveoCore
import Testing

/// No number kills the core or its texts: a value of 9.3e18 from a device once trapped (SIGILL) in a
/// Double → Int64 conversion while the `technical.value_rejected` text was built.
@Suite struct TotalityTests {
    static let extremes: [Double] = [.nan, .infinity, -.infinity, 1e308, -1e308, 9.3e18, -9.3e18, 9.223372036854775807e18,
                                     1e15, 9e15, .greatestFiniteMagnitude, .leastNonzeroMagnitude, -0.0, 0, 1e-300]

    @Test func conversionsSaturate() {
        #expect(Int64(saturating: .nan) == 0)
        #expect(Int64(saturating: .infinity) == .max)
        #expect(Int64(saturating: -.infinity) == .min)
        #expect(Int64(saturating: 9.3e18) == .max)
        #expect(Int64(saturating: 9_223_372_036_854_775_807.0) == .max, "2^63 rounds up: it does not fit")
        #expect(Int64(saturating: -9_223_372_036_854_775_808.0) == .min)
        #expect(Int64(saturating: 12.9) == 12)
        #expect(Int64(saturating: -12.9) == -12)
        #expect(UInt32(saturating: -1) == 0)
        #expect(Int32(saturating: 1e10) == .max)
        #expect(Duration.clampedSeconds(.nan) == .zero)
        #expect(Duration.clampedSeconds(1e300) > .seconds(3_000_000_000))
        #expect(Duration.seconds(Int64.max).wholeNanoseconds == .max)
        #expect(Duration.seconds(Int64.min).wholeNanoseconds == .min)
    }

    @Test func formattingIsTotal() {
        for x in Self.extremes {
            for decimals in [0, 1, 2, 9, 30, -1] { _ = Fmt.fixed(x, decimals) }
            _ = Fmt.duration(x)
            _ = Fmt.round(x, 2)
            _ = JSONValue.formatted(x)
        }
        #expect(Fmt.fixed(9.3e18, 2) == "9.3e+18")
        #expect(Fmt.fixed(-0.0, 1) == "0.0")
        #expect(Fmt.fixed(.nan, 1) == "?")
        #expect(Fmt.fixed(52.416, 1) == "52.4")
        #expect(Fmt.duration(1e300).hasSuffix("min") || Fmt.duration(1e300).hasSuffix("h"))
        #expect(JSONValue.formatted(.nan) == "null")
        #expect(UTCTime.rfc3339(millisecondsSince1970: .min).hasSuffix("Z"))
        #expect(UTCTime.rfc3339(millisecondsSince1970: .max).hasSuffix("Z"))
    }

    @Test func everyExtremeValueIsRejectedAndReported() {
        for parameter in Parameter.allCases where parameter.isNumeric {
            for x in Self.extremes {
                var core = ClinicalCore(patient: Patient(sex: .female, heightCm: 160))
                let events = core.process([Observation(source: "dev", parameter: parameter, value: .number(x))], at: 1)
                let rejected = events.filter { $0.rule == .valueRejected }
                // Rules v3 §4.15: a value that looks like another unit (SpO2 0.5 on %) is rejected too.
                if let range = parameter.acceptedRange, DeviceNumber.isUsable(x), range.contains(x), parameter.mismatchedUnit(x) == nil {
                    #expect(rejected.isEmpty, "\(parameter.name) \(x)")
                } else {
                    #expect(rejected.count == 1, "\(parameter.name) \(x) is reported")
                    for event in rejected { _ = event.jsonLine() }
                }
            }
        }
    }

    @Test func unusableTextIsShownNotConverted() throws {
        var core = ClinicalCore(patient: Patient(sex: .male, heightCm: 170))
        let events = core.process([Observation(source: "vent", parameter: .pplat, value: .unusable("9E99"))], at: 0)
        let event = try #require(events.first { $0.rule == .valueRejected })
        #expect(event.text.contains("value 9E99 cmH2O from vent rejected"), "\(event.text)")
        #expect(event.jsonLine().contains("\"value\":null,\"value_text\":\"9E99\""), "\(event.jsonLine())")
        // The last good value is no longer used.
        var core2 = ClinicalCore(patient: Patient(sex: .male, heightCm: 170))
        _ = core2.process([Observation(source: "vent", parameter: .pplat, value: .number(25))], at: 0)
        _ = core2.process([Observation(source: "vent", parameter: .pplat, value: .unusable("inf"))], at: 1)
        #expect(core2.reading(.pplat) == nil)
    }

    @Test func timeThatGoesBackOrIsNotANumberDoesNotStopTheCore() {
        var core = ClinicalCore(patient: Patient(sex: .male, heightCm: 170))
        _ = core.process([], at: 10)
        _ = core.process([], at: 5)
        #expect(core.now == 10)
        _ = core.process([], at: .nan)
        #expect(core.now == 10)
        _ = core.process([Observation(source: "oxi", parameter: .spo2, value: .number(80))], at: .infinity)
    }

    @Test func deviceNumbersAreBoundedAtTheBoundary() {
        func parse(_ text: String) -> ObservedValue? { DeviceNumber.parse(Array(text.utf8)) }
        #expect(parse("97") == .number(97))
        #expect(parse("-0") == .number(0))
        #expect(parse("9E99") == .unusable("9E99"))
        #expect(parse("12345678901234567890") == .unusable("12345678901234567890"))
        #expect(parse("1e999") == .unusable("1e999"))
        #expect(parse("nan") == .unusable("nan"), "a device that sends nan sent an impossible number, not no data")
        #expect(parse("inf") == .unusable("inf"))
        #expect(parse("abc") == nil)
        #expect(parse("0x10") == nil)
        #expect(parse("") == nil)
        #expect(DeviceNumber.parse(Array("0.5".utf8), times: 1e10, unit: "l") == .unusable("0.5 l"))
        #expect(parse("INF") == .unusable("INF"))
        #expect(parse("-nan") == .unusable("-nan"))
        #expect(parse(String(repeating: "9", count: 100)) == .unusable(String(repeating: "9", count: 24) + "…"))
        #expect(DeviceNumber.shown("a\u{1B}[2J\nb") == "a\\x1B[2J\\x0Ab")
        #expect(DeviceNumber.shown(String(repeating: "x", count: 100)).count == DeviceNumber.shownLength + 1)
    }
}
