import AlveoCore
import Metrics

/// The series the agent sets itself (not counted where things happen).
extension AgentMetrics {
    static func recordBuildInfo() {
        Gauge(label: "alveo_build_info", dimensions: [("version", AlveoVersion.string)]).record(1)
    }

    /// The series that must exist before anything happens, so that an alert can see a device that
    /// never connected and a count that is still 0: every device down with its data as old as the run,
    /// every alarm type × priority at 0, an empty backlog.
    package static func start(devices: [String]) {
        for device in devices {
            Gauge(label: "alveo_device_up", dimensions: [("device", device)]).record(0)
            Gauge(label: "alveo_device_data_age_seconds", dimensions: [("device", device)]).record(0)
        }
        record(alarmsInForce: [])
        Gauge(label: "alveo_journal_backlog").record(0)
    }

    /// Sets `alveo_alarms_in_force` for every type × priority, 0 included.
    package static func record(alarmsInForce alarms: [(type: AlarmType, priority: Priority)]) {
        for type in AlarmType.allCases {
            for priority in Priority.allCases {
                let count = alarms.count { $0.type == type && $0.priority == priority }
                Gauge(label: "alveo_alarms_in_force", dimensions: [("type", type.rawValue), ("priority", priority.name)]).record(count)
            }
        }
    }
}
