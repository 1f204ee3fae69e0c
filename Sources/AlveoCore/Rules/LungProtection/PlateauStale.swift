/// `lpv.plateau_stale`: PEEP or Vt changed since the last plateau's breath, and no new plateau for
/// the grace time (advisory, low).
package struct PlateauStale: BedRule {
    package static var id: RuleID { .plateauStale }
    package static var identifier: String { "lpv.plateau_stale" }
    package static var family: RuleFamily { .lungProtection }
    package static var type: AlarmType { .advisory }
    package static var title: String { "Plateau pressure older than a PEEP or Vt change" }
    package static var reference: String { "NIH NHLBI ARDS Network protocol card (Pplat after each change in PEEP or Vt)" }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 2, chatterStable: 600) }
    package static var hasOffset: Bool { true }
    package static var coding: RuleCoding { .local }
    package static var inputs: Facts { [.plateau] }

    package struct Settings: RuleSettingsGroup {
        package var staleAfterPEEPChange = 2.0
        package var staleAfterVtChangeMlPerKg = 1.0
        package var staleVtChangeDelay = 120.0
        package var staleGrace = 900.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [
                Setting("peep_change_cmh2o", "cmH2O", \.staleAfterPEEPChange, 0.5...10, "the plateau is stale once PEEP differs by this from the PEEP of its breath"),
                Setting("vt_change_ml_per_kg", "ml/kg PBW", \.staleAfterVtChangeMlPerKg, 0.25...5, "or Vt differs by this from the Vt of its breath"),
                Setting("vt_change_delay_s", "s", \.staleVtChangeDelay, 0...3600, "for at least this long"),
                Setting("grace_s", "s", \.staleGrace, 60...(24 * 3600.0), "fires when no new plateau is measured this long after the change"),
            ]
        }
    }

    let settings: Settings

    package init(settings: Settings) { self.settings = settings }

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        assess(&bed, at: t, into: &events)
        return nextDue(bed, at: t)
    }

    private mutating func assess(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) {
        let staleDue = bed.staleChange.map { Tolerance.ge(t - $0.t, settings.staleGrace) } ?? false
        bed.drive(AlarmKey(rule: Self.id), staleDue ? .active(.low) : .inactive, by: self, at: t, into: &events)
    }


    /// When it is next due with no input changed (`.infinity`: never; nil: at every group).
    private func nextDue(_ bed: borrowing ClinicalCore, at t: Double) -> Double? {
        guard let change = bed.staleChange, !Tolerance.ge(t - change.t, settings.staleGrace) else { return .infinity }
        return change.t + settings.staleGrace - 1e-6
    }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        let plateau = bed.plateau
        var evidence: [(String, JSONValue)] = [
            ("pplat_cmh2o", plateau.map { .number(Fmt.round($0.value, 1)) } ?? .null), ("pplat_t", plateau.map { .number($0.t) } ?? .null),
            ("pplat_peep_cmh2o", plateau?.peep.map { .number(Fmt.round($0, 1)) } ?? .null),
            ("pplat_vt_ml", plateau?.vt.map { .number(Fmt.round($0, 1)) } ?? .null),
        ]
        evidence += bed.readingEvidence(.peep, "peep_cmh2o", decimals: 1).prefix(1)
        evidence += bed.readingEvidence(.vt, EvidenceKey.vtML.name, decimals: 1).prefix(1)
        evidence += [("change", bed.staleChange.map { .string($0.what == .peep ? "peep" : "vt") } ?? .null),
                     ("change_t", bed.staleChange.map { .number($0.t) } ?? .null)]
        guard let change = bed.staleChange, let plateau else {
            return AlarmDescription(active: "Plateau pressure measured.", cleared: "Plateau pressure measured after the change.", evidence: evidence)
        }
        let what = change.what == .peep
            ? "PEEP changed from \(Fmt.fixed(change.from, 0)) to \(Fmt.fixed(change.to, 0)) cmH2O"
            : "Vt changed from \(Fmt.fixed(change.from, 0)) to \(Fmt.fixed(change.to, 0)) ml"
        return AlarmDescription(
            active: "\(what) \(Fmt.duration(t - change.t)) ago; the last plateau (\(Fmt.fixed(plateau.value, 0)) cmH2O) was measured before that: measure Pplat with a 0.5 s pause (ARDSNet: after each PEEP or Vt change).",
            cleared: "Plateau pressure measured after the change.",
            evidence: evidence)
    }
}

extension RuleID {
    /// `lpv.plateau_stale`
    package static let plateauStale = RuleID(ordinal: 5)
}
