import AlveoCore

/// The control API of `alveo run`: HTTP/1.1 with JSON on a Unix domain socket, never on TCP. Who may
/// use it is decided by the socket's mode (0660) and group.
public struct ControlConfig: Sendable, Equatable {
    /// Off with `control: {enabled: false}`.
    public var enabled = true
    public var socketPath = ControlConfig.defaultSocketPath
    /// The group given the socket (its members may use the API); nil: the agent's own group.
    public var group: String?

    public static let defaultSocketPath = "/run/alveo/alveo.sock"

    public init() {}

    static func parse(_ node: ConfigNode) throws(ConfigError) -> ControlConfig {
        var config = ControlConfig()
        for (key, value) in try node.mapping(allowed: ["enabled", "socket", "group"]) {
            switch key {
            case "enabled": config.enabled = try value.bool()
            case "socket":
                let path = DeviceConfig.resolveDirectory(try value.string(), relativeTo: node.file)
                // sockaddr_un holds 108 bytes with its NUL.
                guard path.utf8.count < 104 else { throw value.error("a socket path of \(path.utf8.count) bytes: Unix sockets take at most 103") }
                config.socketPath = path
            case "group": config.group = try value.name(what: "group")
            default: break
            }
        }
        return config
    }
}
