import Foundation
import Testing

extension Trait where Self == ConditionTrait {
    /// A suite that starts processes (the agent, a simulator, peers, receivers) or talks to real ones
    /// over sockets and pseudo-terminals: `make test` runs it; `make check` (ALVEO_CHECK=1) skips it.
    /// (Swift 6.3's `swift test` cannot filter by tag yet, so the switch is an environment variable.)
    static var endToEnd: Self {
        .enabled(if: ProcessInfo.processInfo.environment["ALVEO_CHECK"] == nil, "end to end: make test runs it, make check skips it")
    }
}
