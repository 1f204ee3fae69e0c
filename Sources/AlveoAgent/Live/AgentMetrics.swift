import Foundation
import Metrics
import Prometheus

/// The agent's metrics (swift-metrics, exposed in the Prometheus text format by swift-prometheus):
/// served on the control socket at `/metrics`, and optionally written to a file for node_exporter's
/// textfile collector. Names and labels are in docs/operations.md.
package enum AgentMetrics {
    /// The registry `alveo run` bootstraps the metrics system with (nil until then).
    nonisolated(unsafe) package private(set) static var registry: PrometheusCollectorRegistry?

    /// Once per process, before anything records a metric.
    package static func bootstrap() {
        guard registry == nil else { return }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        self.registry = registry
    }

    /// The exposition text (empty when not bootstrapped).
    package static func text() -> String { registry?.emitToString() ?? "" }

    /// Writes the exposition to `path` atomically (a temporary file renamed over it), as node_exporter's
    /// textfile collector expects.
    package static func write(to path: String) throws {
        let temporary = path + ".tmp"
        try Data(text().utf8).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }
}
