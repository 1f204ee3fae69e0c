/// `lpv.plateau_overdue`: ventilated with no plateau measurement for 4 h (advisory, low). While
/// neither Vt nor PEEP is current (a silent ventilator) it holds rather than ending, and the count
/// goes on.
package struct PlateauOverdue: BedRule {
    package static var id: RuleID { .plateauOverdue }
    package static var identifier: String { "lpv.plateau_overdue" }
    package static var family: RuleFamily { .lungProtection }
    package static var type: AlarmType { .advisory }
    package static var title: String { "Plateau pressure measurement overdue" }
    package static var reference: String { "NIH NHLBI ARDS Network protocol card (Pplat at least every 4 h)" }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 2, chatterStable: 600) }
    package static var hasOffset: Bool { true }
    package static var coding: RuleCoding { .local }
    /// Whether the ventilator reports (Vt or PEEP), not its values.
    package static var inputs: Facts { [.ventilatorReporting, .plateau, .ventilation] }

    package struct Settings: RuleSettingsGroup {
        package var plateauOverdueAfter = 4 * 3600.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [Setting("after_s", "s", \.plateauOverdueAfter, 600...(7 * 86400.0), "fires when ventilated with no plateau measurement for longer than this")]
        }
    }

    let settings: Settings

    package init(settings: Settings) { self.settings = settings }

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        assess(&bed, at: t, into: &events)
        return nextDue(bed, at: t)
    }

    private mutating func assess(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) {
        let ventilatorCurrent = bed.reading(.vt) != nil || bed.reading(.peep) != nil
        let overdue = bed.plateauOverdueFor(at: t).map { Tolerance.gt($0, settings.plateauOverdueAfter) } ?? false
        bed.drive(AlarmKey(rule: Self.id), overdue ? (ventilatorCurrent ? .active(.low) : .unknown) : .inactive, by: self, at: t, into: &events)
    }

    /// Due when the time since the last plateau (or the start of ventilation) passes the limit.
    private func nextDue(_ bed: borrowing ClinicalCore, at t: Double) -> Double? {
        guard let overdueFor = bed.plateauOverdueFor(at: t), !Tolerance.gt(overdueFor, settings.plateauOverdueAfter) else { return .infinity }
        return t - overdueFor + settings.plateauOverdueAfter
    }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        let evidence: [(String, JSONValue)] = [
            ("last_plateau_t", bed.lastPlateauT.map { .number($0) } ?? .null),
            ("ventilated_since_t", bed.ventilatedSince.map { .number($0) } ?? .null),
            ("limit_s", .number(settings.plateauOverdueAfter)),
        ]
        let since = bed.plateauOverdueFor(at: t).map { Fmt.duration($0) } ?? "unknown"
        let what = bed.lastPlateauT == nil ? "No plateau pressure measured since ventilation data began \(since) ago"
                                           : "Last plateau pressure measured \(since) ago"
        return AlarmDescription(
            active: "\(what): measure Pplat with a 0.5 s inspiratory pause (due every \(Fmt.duration(settings.plateauOverdueAfter))).",
            cleared: "Plateau pressure measured.",
            evidence: evidence)
    }
}

extension RuleID {
    /// `lpv.plateau_overdue`
    package static let plateauOverdue = RuleID(ordinal: 4)
}
