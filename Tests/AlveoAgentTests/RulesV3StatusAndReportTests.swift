import AlveoTestKit
import AlveoAgent
import AlveoCore
import Foundation
import Testing

/// Rules v3 acceptance for people (issue 25): `alveo status` and the report show MAP (and whether it is
/// the arterial line's or the cuff's), heart rate and the ECMO state.
@Suite struct RulesV3StatusAndReportTests {
    static let config = """
        patient: {sex: female, height_cm: 160, conditions: [diffuse_alveolar_hemorrhage]}
        """

    static func number(_ source: String, _ parameter: Parameter, _ value: Double) -> Observation {
        Observation(source: source, parameter: parameter, value: .number(value))
    }

    @Test func statusShowsMAPHeartRateAndECMO() throws {
        let config = try AgentConfig.parse(yaml: Self.config, file: "bed.yaml")
        var loop = BedsideLoop(config: config, expectDevices: false)
        _ = loop.take([Self.number("mon", .map, 58), Self.number("mon", .heartRate, 112), Self.number("vent", .fio2, 0.6)], at: 10)
        _ = loop.take([Observation(source: "nurse", parameter: .ecmo, value: .ecmo(.vv))], at: 20)
        var status = StatusReport.build(loop: loop, at: 20, started: Date(), config: config, pollers: [], serialPollers: [],
                                        outputs: nil, recording: nil)
        #expect(status.map?.valueMmhg == 58 && status.map?.source == "abp" && status.map?.device == "mon")
        #expect(status.ecmo?.mode == "vv" && status.ecmo?.sinceT == 20)
        #expect(status.values.contains { $0.parameter == "heart_rate" && $0.value == 112 })
        let text = StatusText.render(status)
        #expect(text.contains("MAP 58 mmHg (arterial line from mon") && text.contains("ECMO VV since "), "\(text)")
        #expect(text.contains("HR 112/min"), "\(text)")
        #expect(status.json.contains("\"ecmo\":{\"mode\":\"vv\",\"since_t\":20}"), "\(status.json)")

        // The arterial line lost, a cuff value current: the cuff's MAP.
        _ = loop.take([Observation(source: "mon", parameter: .map, value: .noData), Self.number("cuff", .nibpMap, 63)], at: 30)
        status = StatusReport.build(loop: loop, at: 30, started: Date(), config: config, pollers: [], serialPollers: [],
                                    outputs: nil, recording: nil)
        #expect(status.map?.source == "nibp" && status.map?.valueMmhg == 63, "\(String(describing: status.map))")
        #expect(StatusText.render(status).contains("MAP 63 mmHg (cuff from cuff"))
    }

    @Test func theReportChartsMAPAndHeartRateAndMarksECMO() throws {
        let directory = try Paths.temporaryDirectory()
        let config = directory.appendingPathComponent("bed.yaml").path
        try Self.config.write(toFile: config, atomically: true, encoding: .utf8)
        var csv = "t,source,parameter,value\n"
        for t in stride(from: 0, through: 7200, by: 300) {
            csv += "\(t),mon,map,\(t < 3600 ? 72 : 61)\n\(t),mon,heart_rate,\(100 + t / 600)\n\(t),vent,fio2,60\n\(t),oxi,spo2,90\n"
            if t % 1800 == 0 { csv += "\(t),cuff,nibp_map,70\n" }
            if t == 1800 { csv += "\(t),nurse,ecmo,vv\n" }
            if t == 5400 { csv += "\(t),nurse,ecmo,none\n" }
        }
        let scenario = directory.appendingPathComponent("circulation.csv").path
        try csv.write(toFile: scenario, atomically: true, encoding: .utf8)
        let report = try ChildProcess.run([Paths.alveo, "report", "--config", config, "--start", "2026-11-01T06:00:00Z", scenario], timeout: 120)
        #expect(report.status == 0, "\(report.stderr)")
        let html = report.stdout
        #expect(html.contains("data-chart=\"map\"") && html.contains("data-series=\"map\" data-points=\"25\""), "the MAP chart")
        #expect(html.contains("data-series=\"nibp_map\" data-points=\"5\""), "cuff values as points")
        #expect(html.contains("data-chart=\"heart_rate\"") && html.contains("data-series=\"heart_rate\" data-points=\"25\""))
        #expect(html.contains("class=\"ecmo\" data-mode=\"vv\""), "the ECMO period on the P/F chart")
        // Across every track (the alarm lane and the tracks with no data too), labelled on the first.
        let tracks = html.components(separatedBy: "<section class=\"track").count - 1
        #expect(tracks == 16 && html.components(separatedBy: "<rect class=\"ecmo\" data-mode=\"vv\"").count - 1 == tracks, "ECMO on every track")
        #expect(html.components(separatedBy: ">VV-ECMO</text>").count - 1 == 1)
        #expect(html.contains("<dt>ECMO</dt><dd>VV 2026-11-01 06:30"), "the header names the ECMO period")
        #expect(html.contains("circulation.hypotension"), "the hypotension alarm in the timeline")
    }
}
