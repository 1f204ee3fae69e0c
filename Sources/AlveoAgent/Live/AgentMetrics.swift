import AlveoCore
import AlveoIO
import Foundation
import Metrics
import Prometheus

/// The agent's metrics (swift-metrics, exposed in the Prometheus text format by swift-prometheus):
/// served on the control socket at `/metrics`, and optionally written to a file for node_exporter's
/// textfile collector. Every family is in `families`, with the help text Prometheus shows; the table in
/// docs/operations.md is the same list.
package enum AgentMetrics {
    /// The registry `alveo run` bootstraps the metrics system with (nil until then).
    nonisolated(unsafe) package private(set) static var registry: PrometheusCollectorRegistry?

    /// One metric family: what Prometheus' `# HELP` and `# TYPE` lines say about it.
    package struct Family: Sendable {
        package enum Kind: String, Sendable { case counter, gauge, histogram }
        package var name: String
        package var kind: Kind
        package var labels: [String]
        package var help: String
        /// Histograms: the upper bounds of the buckets, in seconds.
        package var buckets: [Double] = []
    }

    /// fsync of a journal line on an SSD takes 0.1–5 ms, on an SD card or a busy disk up to 50 ms and
    /// more: buckets that tell these apart (swift-prometheus' default starts at 5 ms).
    package static let fsyncBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]
    /// A message sent and acknowledged over the hospital's network: a millisecond to seconds.
    package static let deliveryBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// Every family the agent exposes.
    package static let families: [Family] = [
        Family(name: "alveo_build_info", kind: .gauge, labels: ["version"], help: "The running Alveo build: always 1, its version in the label."),
        Family(name: "alveo_device_up", kind: .gauge, labels: ["device"],
               help: "1 while the device's link (Modbus connection, serial port) is open, 0 otherwise, also before it ever connected."),
        Family(name: "alveo_device_data_age_seconds", kind: .gauge, labels: ["device"],
               help: "Seconds since the device last gave good data (since the agent started if it never has)."),
        Family(name: "alveo_device_deliveries_total", kind: .counter, labels: ["device"], help: "Polls or frames of the device that gave observations to the clinical core."),
        Family(name: "alveo_device_polls_total", kind: .counter, labels: ["device"], help: "Modbus polls of the device."),
        Family(name: "alveo_device_poll_failures_total", kind: .counter, labels: ["device"],
               help: "Polls of the device that gave nothing (timeout, exception, refused) and serial reads that failed."),
        Family(name: "alveo_device_frames_total", kind: .counter, labels: ["device"], help: "Serial frames decoded from the device."),
        Family(name: "alveo_device_frames_rejected_total", kind: .counter, labels: ["device"], help: "Serial frames of the device rejected (checksum, format)."),
        Family(name: "alveo_device_bytes_skipped_total", kind: .counter, labels: ["device"], help: "Bytes from the device skipped as noise between frames."),
        Family(name: "alveo_alarm_events_total", kind: .counter, labels: ["rule", "phase"], help: "Alarm events from the clinical core, by rule and phase."),
        Family(name: "alveo_alarms_in_force", kind: .gauge, labels: ["type", "priority"],
               help: "Alarms in force now (the core's and the agent's own), by alarm type and priority."),
        Family(name: "alveo_output_backlog", kind: .gauge, labels: ["output"], help: "Journal entries that output has not delivered yet."),
        Family(name: "alveo_journal_backlog", kind: .gauge, labels: [],
               help: "Journal entries not yet delivered by every output (the largest output backlog; 0 without outputs)."),
        Family(name: "alveo_delivery_seconds", kind: .histogram, labels: ["output"], help: "Time to send one message and get its acknowledgement.",
               buckets: deliveryBuckets),
        Family(name: "alveo_journal_fsync_seconds", kind: .histogram, labels: [], help: "Time of each fsync of the alarm journal.", buckets: fsyncBuckets),
        Family(name: "alveo_trend_pending_rows", kind: .gauge, labels: [], help: "Trend rows waiting in memory for the trend store."),
        Family(name: "alveo_trend_written_rows_total", kind: .counter, labels: [], help: "Trend rows written to the trend store."),
        Family(name: "alveo_trend_dropped_rows_total", kind: .counter, labels: [], help: "Trend rows dropped because the trend store could not take them in time."),
        Family(name: "alveo_control_connections_expired_total", kind: .counter, labels: [],
               help: "Control API connections closed for idling or for an unfinished request."),
        Family(name: "alveo_control_connections_evicted_total", kind: .counter, labels: [],
               help: "Idle control API connections closed to make room for a new one."),
    ]

    static let byName = Dictionary(uniqueKeysWithValues: families.map { ($0.name, $0) })

    /// Once per process, before anything records a metric.
    package static func bootstrap() {
        guard registry == nil else { return }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(Factory(registry: registry))
        self.registry = registry
        recordBuildInfo()
    }

    /// The exposition text (empty when not bootstrapped).
    package static func text() -> String { registry?.emitToString() ?? "" }

    /// Writes the exposition to `path` for node_exporter's textfile collector: atomically (a temporary
    /// file in the same directory renamed over it) and readable by all (0644).
    package static func write(to path: String) throws(PrivateFiles.Failure) {
        try PublishedFile.replace(path, contents: Array(text().utf8))
    }

    /// swift-metrics' handlers made by the registry with each family's help text and buckets (swift-
    /// prometheus' own factory gives none: `promtool check metrics` then fails with "no help text").
    struct Factory: MetricsFactory {
        let registry: PrometheusCollectorRegistry

        private func descriptor(_ label: String) -> MetricNameDescriptor {
            // A family missing from `families` gets no help text; MetricsCatalogueTests finds it.
            MetricNameDescriptor(metricName: label, unitName: "", helpText: AgentMetrics.byName[label]?.help ?? "")
        }

        private func buckets(_ label: String) -> [Duration] {
            (AgentMetrics.byName[label]?.buckets ?? deliveryBuckets).map { Duration.nanoseconds(Int64(saturating: ($0 * 1e9).rounded())) }
        }

        func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
            registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
        }

        func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
            registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
        }

        func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
            guard aggregate else { return registry.makeGauge(descriptor: descriptor(label), labels: dimensions) }
            return registry.makeValueHistogram(descriptor: descriptor(label), labels: dimensions, buckets: AgentMetrics.byName[label]?.buckets ?? deliveryBuckets)
        }

        func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
            registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
        }

        func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
            registry.makeDurationHistogram(descriptor: descriptor(label), labels: dimensions, buckets: buckets(label))
        }

        func destroyCounter(_ handler: any CounterHandler) {
            if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
        }

        func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
            if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
        }

        func destroyRecorder(_ handler: any RecorderHandler) {
            if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
            if let histogram = handler as? ValueHistogram { registry.unregisterValueHistogram(histogram) }
        }

        func destroyMeter(_ handler: any MeterHandler) {
            if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
        }

        func destroyTimer(_ handler: any TimerHandler) {
            if let histogram = handler as? DurationHistogram { registry.unregisterDurationHistogram(histogram) }
        }
    }
}
