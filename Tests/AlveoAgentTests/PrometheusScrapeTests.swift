import AlveoTestKit
import Foundation
import Testing

/// The metrics as an operator collects them (docs/operations.md, "Metrics"): a real node_exporter
/// (Debian's prometheus-node-exporter) reads `alveo run --metrics-file` with its textfile collector,
/// a real Prometheus (Debian's prometheus) scrapes it with the example alert rules loaded, and its
/// HTTP API answers `alveo_device_up` for a device that answers (1) and one that never did (0).
@Suite(.endToEnd, .ownThread) struct PrometheusScrapeTests {
    static let rules = Paths.repository.appendingPathComponent("config/prometheus/alveo-rules.yml")

    /// One GET to Prometheus' HTTP API (python's urllib: no HTTP client in the test kit), its JSON.
    static func get(_ url: String) -> [String: Any]? {
        let script = "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())"
        guard let result = try? ChildProcess.run(["python3", "-c", script, url], timeout: 20), result.status == 0 else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
    }

    /// The result of an instant query: each series' labels and value.
    static func query(_ port: Int, _ expression: String) -> [(labels: [String: String], value: Double)] {
        let encoded = expression.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? expression
        let answer = get("http://127.0.0.1:\(port)/api/v1/query?query=\(encoded)")
        let result = (answer?["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? []
        return result.compactMap { series in
            guard let labels = series["metric"] as? [String: String], let value = series["value"] as? [Any],
                  let number = (value.last as? String).flatMap(Double.init) else { return nil }
            return (labels, number)
        }
    }

    @Test func theExampleRulesPassPromtool() throws {
        let checked = try ChildProcess.run(["promtool", "check", "rules", Self.rules.path])
        #expect(checked.status == 0 && checked.stdout.contains("SUCCESS: 3 rules found"),
                "promtool (make test-deps installs prometheus): \(checked.stdout) \(checked.stderr)")
        // The documentation shows the very file.
        let rules = try String(contentsOf: Self.rules, encoding: .utf8)
        let docs = try String(contentsOf: Paths.repository.appendingPathComponent("docs/operations.md"), encoding: .utf8)
        let body = rules.split(separator: "\n", omittingEmptySubsequences: false).drop { $0.hasPrefix("#") }.joined(separator: "\n")
        #expect(docs.contains(body), "docs/operations.md shows config/prometheus/alveo-rules.yml as it is")
    }

    @Test func prometheusScrapesTheTextfileThroughNodeExporter() throws {
        let directory = try Paths.temporaryDirectory()
        let textfiles = directory.appendingPathComponent("textfile")
        try FileManager.default.createDirectory(at: textfiles, withIntermediateDirectories: true)
        let modbusPort = freePort(), exporterPort = freePort(), prometheusPort = freePort()
        let peer = try Receivers.modbusPeer(["--tcp", "\(modbusPort)", "--ir", "1,3,0,42,80,72,400,300,220,50,140,280"], in: directory)
        defer { peer.kill() }
        let profile = Paths.repository.appendingPathComponent("devices/alveo-gateway-v1/profile.yaml").path
        let config = directory.appendingPathComponent("bed.yaml").path
        try """
            patient: {sex: female, height_cm: 160}
            devices:
              - {id: gw, profile: \(profile), poll_interval_s: 0.5, transport: {kind: modbus_tcp, host: 127.0.0.1, port: \(modbusPort)}}
              - {id: never, profile: \(profile), transport: {kind: modbus_tcp, host: 127.0.0.1, port: \(freePort())}}
            outputs:
              journal: {directory: journal}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        // As the package lays it out (config/debian/alveo.links): the agent writes in its own directory,
        // node_exporter's textfile directory holds a link to the file.
        let metrics = directory.appendingPathComponent("alveo-metrics")
        try FileManager.default.createDirectory(at: metrics, withIntermediateDirectories: true)
        let textfile = metrics.appendingPathComponent("alveo.prom").path
        try FileManager.default.createSymbolicLink(atPath: textfiles.appendingPathComponent("alveo.prom").path, withDestinationPath: textfile)
        let agent = try RunningProcess([Paths.alveo, "run", "--config", config, "--metrics-file", textfile], directory: directory, name: "alveo")
        defer { agent.kill() }
        let exporter = try RunningProcess(["prometheus-node-exporter", "--collector.disable-defaults", "--collector.textfile",
                                           "--collector.textfile.directory=\(textfiles.path)", "--web.listen-address=127.0.0.1:\(exporterPort)"],
                                          directory: directory, name: "node-exporter")
        defer { exporter.kill() }
        let prometheusConfig = directory.appendingPathComponent("prometheus.yml").path
        try """
            global: {scrape_interval: 1s, evaluation_interval: 1s}
            rule_files: [\(Self.rules.path)]
            scrape_configs:
              - job_name: alveo-box
                static_configs: [{targets: ["127.0.0.1:\(exporterPort)"]}]
            """.write(toFile: prometheusConfig, atomically: true, encoding: .utf8)
        let prometheus = try RunningProcess(["prometheus", "--config.file=\(prometheusConfig)", "--storage.tsdb.path=\(directory.path)/tsdb",
                                             "--web.listen-address=127.0.0.1:\(prometheusPort)"], directory: directory, name: "prometheus")
        defer { prometheus.kill() }

        var up: [String: Double] = [:]
        let seen = waitUntil(timeout: 90) {
            up = Dictionary(Self.query(prometheusPort, "alveo_device_up").map { ($0.labels["device"] ?? "", $0.value) }, uniquingKeysWith: { $1 })
            return up["gw"] == 1 && up["never"] == 0
        }
        #expect(seen, "alveo_device_up in Prometheus: \(up)\nalveo: \(agent.stderr.suffix(1500))\nnode_exporter: \(exporter.stderr.suffix(1500))\nprometheus: \(prometheus.stderr.suffix(1500))")
        // What the rules read is there too: the textfile's age (node_exporter's), the journal backlog, and the rules are loaded.
        let mtime = Self.query(prometheusPort, #"node_textfile_mtime_seconds{file=~"(.*/)?alveo[.]prom"}"#)
        #expect(mtime.count == 1 && abs(mtime[0].value - Date().timeIntervalSince1970) < 120, "\(mtime)")
        #expect(Self.query(prometheusPort, "alveo_journal_backlog").count == 1)
        #expect(Self.query(prometheusPort, "node_textfile_scrape_error").first?.value == 0, "node_exporter read the textfile through the link and parsed it")
        let rules = Self.get("http://127.0.0.1:\(prometheusPort)/api/v1/rules")
        let groups = ((rules?["data"] as? [String: Any])?["groups"] as? [[String: Any]]) ?? []
        #expect(groups.flatMap { ($0["rules"] as? [[String: Any]]) ?? [] }.compactMap { $0["name"] as? String }
            == ["AlveoDeviceDown", "AlveoJournalBacklogGrowing", "AlveoMetricsStale"], "\(groups)")
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 30) == 0)
    }
}
