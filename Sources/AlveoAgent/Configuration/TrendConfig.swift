import AlveoCore

/// The `trends` section: where `alveo run` keeps the bed's trend store, and for how long
/// (docs/configuration.md, docs/trends.md).
package struct TrendConfig: Sendable, Equatable {
    /// The SQLite file; nil: no trend store (the default).
    package var path: String?
    /// Raw values (every accepted observation and derived value) are kept this long, seconds.
    package var rawRetention: Double = 14 * 86400
    /// Minute summaries, alarm events and position periods are kept this long, seconds.
    package var summaryRetention: Double = 365 * 86400
    /// The store is not written while its file system has less than this free (MB): the alarm journal
    /// keeps its room (issue 23: the store's WAL refilled a freed journal disk in 20 s).
    package var minFreeMB: Double = 512

    package init() {}

    static func parse(_ node: ConfigNode) throws(ConfigError) -> TrendConfig {
        var config = TrendConfig()
        for (key, value) in try node.mapping(allowed: ["path", "retention_days", "summary_retention_days", "min_free_mb"]) {
            switch key {
            case "path": config.path = DeviceConfig.resolveDirectory(try value.string(), relativeTo: node.file)
            case "retention_days": config.rawRetention = try value.number(in: 1...3650, unit: "days") * 86400
            case "min_free_mb": config.minFreeMB = try value.number(in: 0...1_000_000, unit: "MB")
            case "summary_retention_days": config.summaryRetention = try value.number(in: 1...3650, unit: "days") * 86400
            default: break
            }
        }
        if config.summaryRetention < config.rawRetention {
            throw node.error("summary_retention_days (\(Int(saturating: config.summaryRetention / 86400))) is shorter than retention_days (\(Int(saturating: config.rawRetention / 86400))): summaries are what is kept after the raw values go")
        }
        return config
    }
}
