import AlveoCore

/// The control API of `alveo run`: HTTP/1.1 with JSON on a Unix domain socket, never on TCP. Who may
/// use it is decided by the socket's mode (0660) and group.
package struct ControlConfig: Sendable, Equatable {
    /// Off with `control: {enabled: false}`.
    package var enabled = true
    package var socketPath = ControlConfig.defaultSocketPath
    /// The group given the socket (its members may use the API); nil: the agent's own group.
    package var group: String?
    /// Connections held open at most; at the bound a new one takes the place of the one idle longest.
    package var maxConnections = 64
    /// A connection with no request for this long is closed (a bedside view polling keeps its own).
    package var idleTimeoutSeconds = 30.0
    /// A request whose body has not arrived and been answered within this is closed (the loop answers
    /// within 10 s or says it cannot).
    package static let requestTimeout = Duration.seconds(15)

    package static let defaultSocketPath = "/run/alveo/alveo.sock"

    package init() {}

    /// The bounds of the control API's connections (ControlConnectionGuard).
    var connectionLimits: ConnectionTable.Limits {
        // One peer on a Unix socket: every connection is a local process; the bound is the whole.
        ConnectionTable.Limits(limit: maxConnections, perPeer: maxConnections, handshakeTimeout: .seconds(10),
                               idleTimeout: .milliseconds(Int64(idleTimeoutSeconds * 1000)), busyTimeout: ControlConfig.requestTimeout)
    }

    static func parse(_ node: ConfigNode) throws(ConfigError) -> ControlConfig {
        var config = ControlConfig()
        for (key, value) in try node.mapping(allowed: ["enabled", "socket", "group", "max_connections", "idle_timeout_s"]) {
            switch key {
            case "enabled": config.enabled = try value.bool()
            case "socket":
                let path = DeviceConfig.resolveDirectory(try value.string(), relativeTo: node.file)
                // sockaddr_un holds 108 bytes with its NUL.
                guard path.utf8.count < 104 else { throw value.error("a socket path of \(path.utf8.count) bytes: Unix sockets take at most 103") }
                config.socketPath = path
            case "group": config.group = try value.name(what: "group")
            case "max_connections": config.maxConnections = try value.integer(in: 4...1024)
            case "idle_timeout_s": config.idleTimeoutSeconds = try value.number(in: 1...3600)
            default: break
            }
        }
        return config
    }
}
