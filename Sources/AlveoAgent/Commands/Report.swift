import AlveoIO
import AlveoOutput
import AlveoTrace
import AlveoTrends
import Foundation

extension Commands {
    /// `alveo report`: a self-contained HTML trend report from a trend store, a raw trace or a scenario.
    package struct Report: Sendable {
        package var trends: String?
        package var source: String?
        package var config: String
        package var start: String?
        package var from: String?
        package var to: String?
        package var timeZone: String?
        package var output: String?
        package var check: Bool

        package init(trends: String?, source: String?, config: String, start: String?, from: String?, to: String?, timeZone: String?,
                    output: String?, check: Bool) {
            self.trends = trends
            self.source = source
            self.config = config
            self.start = start
            self.from = from
            self.to = to
            self.timeZone = timeZone
            self.output = output
            self.check = check
        }

        package func run() throws {
            let store: TrendStore
            do {
                if let trends {
                    store = try TrendStore(path: trends, readOnly: true)
                } else {
                    store = try replayIntoMemory(source!)
                }
                if check {
                    let verdict = try store.quickCheck()
                    for (table, count) in try store.counts().sorted(by: { $0.key < $1.key }) { try Console.write("\(table): \(count) rows\n") }
                    try Console.write("quick_check: \(verdict)\n")
                    if verdict != "ok" { throw CommandExit(.failure) }
                    return
                }
                let fromTime = from.flatMap(PCD04Message.parseRFC3339)?.timeIntervalSince1970
                let toTime = to.flatMap(PCD04Message.parseRFC3339)?.timeIntervalSince1970
                if let fromTime, let toTime, toTime <= fromTime { throw CommandExit.usage("--to must be after --from") }
                let data = try store.read(from: fromTime, to: toTime)
                let zone = timeZone.flatMap(TimeZone.init(identifier:)) ?? .current
                // The limits drawn: the bed's (--config), or the rules' defaults.
                let rules = try config.isEmpty ? nil : Commands.loadConfig(config).rules
                let html = TrendReport(timeZone: zone, sourceName: (trends ?? source ?? "").split(separator: "/").last.map(String.init) ?? "",
                                       rules: rules).html(data)
                if let output {
                    do { try PrivateFiles.write(output, contents: Array(html.utf8)) } catch {
                        Console.error("error: \(error)")
                        throw CommandExit(.ioError)
                    }
                } else {
                    try Console.write(html)
                }
            } catch let error as TrendStoreError {
                Console.error("error: \(error)")
                throw CommandExit(.dataError)
            }
        }

        /// Replays a trace or a scenario into an in-memory store, as alveo replay --trends would.
        func replayIntoMemory(_ path: String) throws -> TrendStore {
            let store = try TrendStore(path: ":memory:")
            let writer = TrendBatchWriter(store: store)
            let base = try Commands.replayStart(start, source: path)
            let output = TrendOutput(origin: base.timeIntervalSince1970) { writer.append($0) }
            do {
                if TraceReplay.isTrace(path: path) {
                    let summary = try TraceReplay.run(path: path, trends: output) { _ in }
                    if let warning = summary.warning { Console.error("warning: \(path): \(warning)") }
                } else {
                    if let problem = TraceReplay.notATrace(path: path, csvExpected: !config.isEmpty) {
                        Console.error("error: \(problem)")
                        throw CommandExit(.noInput)
                    }
                    guard !config.isEmpty else { throw CommandExit.usage("--config is required to report on a scenario CSV (a raw trace carries its own configuration)") }
                    _ = try ScenarioReplay.run(config: try Commands.loadConfig(config), scenarioPath: path, trends: output) { _ in }
                }
            } catch let error as CommandExit {
                throw error
            } catch {
                Console.error("error: \(error)")
                throw CommandExit(.dataError)
            }
            do { try writer.finish() } catch {
                Console.error("error: the replay's trends could not be stored: \(error)")
                throw CommandExit(.ioError)
            }
            return store
        }
    }
}
