/// Alarm priority (IEC 60601-1-8).
package enum Priority: Int, Sendable, Comparable, CaseIterable {
    case low = 1, medium, high

    package var name: String {
        switch self {
        case .low: "low"
        case .medium: "medium"
        case .high: "high"
        }
    }

    package static func < (lhs: Priority, rhs: Priority) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Alarm condition type (IEC 60601-1-8), plus advisory prompts.
package enum AlarmType: String, Sendable, CaseIterable {
    case physiological, technical, advisory
}

/// A rule of the catalogue by its ordinal: a dense index (0 … count - 1), hashed and compared as an
/// integer. Each unit declares its static member (`RuleID.spo2Low`) in its own file; the identifiers
/// (`oxygenation.spo2_low`) are a contract with scenario files, configs and receivers.
package struct RuleID: Sendable, Hashable, CaseIterable, RawRepresentable, CustomStringConvertible {
    /// The rule's ordinal, 0 … count - 1 (the order of `allCases`, of error messages and reports).
    package let ordinal: Int

    /// A rule's ordinal, as its own file declares it (`CatalogueTests` checks that they are dense).
    init(ordinal: Int) { self.ordinal = ordinal }

    /// Looks a rule up by its identifier.
    package init?(rawValue: String) {
        guard let index = Catalogue.entries.firstIndex(where: { $0.identifier == rawValue }) else { return nil }
        ordinal = index
    }

    package static var allCases: [RuleID] { Catalogue.entries.indices.map(RuleID.init(ordinal:)) }

    private var entry: Catalogue.Entry { Catalogue.entries[ordinal] }

    /// The identifier as written in files and events.
    package var rawValue: String { entry.identifier }
    package var id: String { entry.identifier }
    package var description: String { entry.identifier }
    package var type: AlarmType { entry.type }
    package var family: RuleFamily { entry.family }
    /// A short title for reports.
    package var title: String { entry.title }
    /// Where the rule and its default numbers come from.
    package var reference: String { entry.reference }
    package var coding: RuleCoding { entry.coding }
    /// Re-announced below high only at a new result (rules v3 §2.2).
    package var isResultDriven: Bool { entry.resultDriven }

    /// Conditions the agent raises itself (outputs, clock, disk, trends), rather than the core's rules.
    package var isAgentCondition: Bool { entry.kind == .agent }

    /// The agent's own lifecycle (stopped, gap): raised by the bedside loop at a stop or a restart,
    /// never by the rules' evaluation.
    package var isLifecycle: Bool { entry.kind == .lifecycle }

    /// Whether instances of this rule are kept per source (their events carry `source`).
    package var isPerSource: Bool { type == .technical && !isLifecycle }
}
