/// The rule catalogue: every alarm Alveo raises, one line each. The clinical rules are evaluated in
/// this order at every group (so their events within a group come in this order): the patient's
/// context first (it says whether the volume rules can judge), `escalation.prone_stop` before the
/// prompts to prone (it ends the course they read), the per-source technical rules last, source by
/// source. Each unit declares its ordinal (`RuleID`) in its file; `CatalogueTests` checks that the
/// ordinals are dense and unique, and that every rule has its section in docs/clinical-rules.md.
/// A new rule is its file under `Rules/<Family>/`, one line here and that section.
package enum Catalogue {
    package static let units: [any RuleUnit.Type] = [
        PatientUnknown.self,
        TidalVolumeHigh.self,
        TidalVolumeLow.self,
        PlateauHigh.self,
        DrivingPressureHigh.self,
        PlateauOverdue.self,
        PlateauStale.self,
        SpO2Low.self,
        PFSeverity.self,
        PFFalling.self,
        FiO2Weanable.self,
        Hypotension.self,
        ProneStop.self,
        PronePositioning.self,
        ProneRepeat.self,
        PlasmaExchange.self,
        ECMOReferral.self,
        HemoglobinDrop.self,
        HemoptysisVolume.self,
        HemoptysisProne.self,
        RenalFunction.self,
        DeviceSilent.self,
        SensorOff.self,
        ValueRejected.self,
        UnitMismatch.self,
        DeliveryFailed.self,
        JournalFailed.self,
        MonitoringStopped.self,
        MonitoringGap.self,
        StationUnreachable.self,
        ClockUnsynchronized.self,
        DiskLow.self,
        TrendStoreFailed.self,
        DeviceRefused.self,
    ]

    /// Who raises a unit's alarms.
    package enum Kind: Sendable, Equatable {
        /// The clinical core's evaluation.
        case rule
        case agent
        case lifecycle
    }

    /// What the catalogue knows of a unit, read without opening its type (events, reports, the engine).
    package struct Entry: Sendable {
        package let identifier: String
        package let family: RuleFamily
        package let type: AlarmType
        package let title: String
        package let reference: String
        package let coding: RuleCoding
        package let kind: Kind
        package let policy: AlarmPolicy
        package let hasOffset: Bool
        package let resultDriven: Bool
        /// The unit's declared ordinal (its `RuleID`).
        package let declaredOrdinal: Int
        /// Its own settings at their defaults.
        let defaultSettings: any RuleSettingsGroup
        /// Its own configuration keys, read and written on `RuleSettings`.
        package let keys: [RuleSettings.Key]

        init<Unit: RuleUnit>(_ unit: Unit.Type) {
            identifier = Unit.identifier
            family = Unit.family
            type = Unit.type
            title = Unit.title
            reference = Unit.reference
            coding = Unit.coding
            policy = Unit.policy
            hasOffset = Unit.hasOffset
            resultDriven = Unit.resultDriven
            declaredOrdinal = Unit.id.ordinal
            if let agent = unit as? any AgentCondition.Type {
                kind = agent.raisedBy == .lifecycle ? .lifecycle : .agent
            } else {
                kind = .rule
            }
            defaultSettings = Unit.Settings()
            keys = Unit.Settings.keys.map { setting in
                RuleSettings.Key(name: setting.name, unit: setting.unit, help: setting.help,
                                 get: { $0[Unit.self][keyPath: setting.path] },
                                 set: { $0[Unit.self][keyPath: setting.path] = $1 }, allowed: setting.allowed)
            }
        }
    }

    /// The units' declarations, by ordinal (the order of `RuleID.allCases`).
    package static let entries: [Entry] = units.map { Entry($0) }.sorted { $0.declaredOrdinal < $1.declaredOrdinal }

    /// The clinical rules, in evaluation order.
    static let clinicalRules: [any ClinicalRule.Type] = units.compactMap { $0 as? any ClinicalRule.Type }
}
