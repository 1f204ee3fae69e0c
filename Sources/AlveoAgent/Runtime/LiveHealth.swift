import AlveoCore
import AlveoDevices
import AlveoOutput
import AlveoTrends
import Logging
import Metrics

/// What the live runtime checks and counts once a second (on the loop's clock tick): the outputs'
/// parked entries and health alarms, the trend store's state (technical.trend_store_failed, logged on
/// a change), the agent's liveness mark in the journal, the devices' counters and links, the alarms in
/// force and the backlogs as metrics, and the metrics file at the first tick and every 15 s after.
struct LiveHealth {
    let config: AgentConfig
    let logger: Logger
    let metricsFile: String?
    private var trendProblemLogged: String?
    private var metricsProblem: String?
    private var ticks = 0
    private var deviceCounts: [String: DeviceHealth] = [:]
    private var trendCounts = (written: 0, dropped: 0)

    init(config: AgentConfig, logger: Logger, metricsFile: String?) {
        self.config = config
        self.logger = logger
        self.metricsFile = metricsFile
        AgentMetrics.start(devices: config.allDeviceIDs)
    }

    /// `t`: now, in agent seconds; `coreAlarms`: the clinical core's alarms in force.
    mutating func tick(outputs: OutputPipeline, trendWriter: TrendWriter?, pollers: [BusPoller], serialPollers: [SerialPoller],
                       gateway: GatewayDevices? = nil, t: Double, coreAlarms: [(type: AlarmType, priority: Priority)]) {
        outputs.checkParked()
        outputs.checkHealth(config.rules)
        for poller in serialPollers {
            let health = poller.health
            outputs.setDeviceRefusal(health.refusal, device: poller.device.id, title: poller.device.driver.title,
                                     for: health.refusedSince.map { max(0, t - $0) } ?? 0, settings: config.rules)
        }
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
            if counters.written > trendCounts.written { Counter(label: "alveo_trend_written_rows_total").increment(by: counters.written - trendCounts.written) }
            if counters.dropped > trendCounts.dropped { Counter(label: "alveo_trend_dropped_rows_total").increment(by: counters.dropped - trendCounts.dropped) }
            trendCounts = (counters.written, counters.dropped)
        }
        ticks += 1
        if ticks % 30 == 0 { outputs.markAlive() }
        // The pollers' own counts, as counters (their increase since the last tick).
        var now: [String: DeviceHealth] = [:]
        for poller in pollers { for device in poller.devices { now[device.id] = poller.health(of: device.id) } }
        for poller in serialPollers { now[poller.device.id] = poller.health }
        for device in gateway?.devices ?? [] { now[device.id] = gateway?.health(of: device.id, at: t) }
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
        for (id, health) in now {
            Gauge(label: "alveo_device_up", dimensions: [("device", id)]).record(health.connected ? 1 : 0)
            Gauge(label: "alveo_device_data_age_seconds", dimensions: [("device", id)]).record(max(0, t - (health.lastGood ?? 0)))
        }
        AgentMetrics.record(alarmsInForce: coreAlarms + outputs.activeOwnAlarms.map { ($0.rule.type, $0.priority) })
        if ticks % 15 == 1, let path = metricsFile {
            // Logged when the problem changes, not every 15 s (a textfile directory not yet made writable).
            do {
                try AgentMetrics.write(to: path)
                if metricsProblem != nil { logger.notice("metrics file written again", metadata: ["path": "\(path)"]) }
                metricsProblem = nil
            } catch {
                let problem = "\(error)"
                if metricsProblem != problem {
                    logger.error("cannot write the metrics file: \(problem) (docs/operations.md, Metrics: the directory must be writable by the agent)")
                }
                metricsProblem = problem
            }
        }
    }
}
