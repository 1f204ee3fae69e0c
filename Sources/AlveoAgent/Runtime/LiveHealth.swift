import AlveoOutput
import AlveoTrends
import Logging
import Metrics

/// What the live runtime checks and counts once a second (on the loop's clock tick): the outputs'
/// parked entries and health alarms, the trend store's state (technical.trend_store_failed, logged on
/// a change), the agent's liveness mark in the journal, the devices' counters as metrics, and the
/// metrics file every 15 s.
struct LiveHealth {
    let config: AgentConfig
    let logger: Logger
    let metricsFile: String?
    private var trendProblemLogged: String?
    private var ticks = 0
    private var deviceCounts: [String: DeviceHealth] = [:]

    init(config: AgentConfig, logger: Logger, metricsFile: String?) {
        self.config = config
        self.logger = logger
        self.metricsFile = metricsFile
    }

    mutating func tick(outputs: OutputPipeline, trendWriter: TrendWriter?, pollers: [BusPoller], serialPollers: [SerialPoller]) {
        outputs.checkParked()
        outputs.checkHealth(config.rules)
        if let path = config.trends.path, let trendWriter {
            let problem = trendWriter.problem
            if problem != trendProblemLogged {
                if let problem { logger.error("trend store: \(problem); monitoring goes on, values wait in memory") } else {
                    logger.info("trend store written", metadata: ["path": "\(path)"])
                }
                trendProblemLogged = problem
            }
            outputs.setTrendStoreProblem(problem, path: path, pending: trendWriter.counters.pending, settings: config.rules)
            let counters = trendWriter.counters
            Gauge(label: "alveo_trend_pending_rows").record(counters.pending)
            Gauge(label: "alveo_trend_written_rows").record(counters.written)
            Gauge(label: "alveo_trend_dropped_rows").record(counters.dropped)
        }
        ticks += 1
        if ticks % 30 == 0 { outputs.markAlive() }
        // The pollers' own counts, as counters (their increase since the last tick).
        var now: [String: DeviceHealth] = [:]
        for poller in pollers { for device in poller.devices { now[device.id] = poller.health(of: device.id) } }
        for poller in serialPollers { now[poller.device.id] = poller.health }
        for (id, health) in now {
            let was = deviceCounts[id] ?? DeviceHealth()
            for (name, value, previous) in [("alveo_device_polls_total", health.polls, was.polls),
                                            ("alveo_device_poll_failures_total", health.failures, was.failures),
                                            ("alveo_device_frames_total", health.frames, was.frames),
                                            ("alveo_device_frames_rejected_total", health.rejectedFrames, was.rejectedFrames),
                                            ("alveo_device_bytes_skipped_total", health.skippedBytes, was.skippedBytes)]
                where value > previous
            {
                Counter(label: name, dimensions: [("device", id)]).increment(by: value - previous)
            }
        }
        deviceCounts = now
        if ticks % 15 == 0, let path = metricsFile {
            do { try AgentMetrics.write(to: path) } catch { logger.error("cannot write the metrics file \(path): \(error)") }
        }
    }
}
