/// `escalation.prone_stop`: supine after proning with P/F, PEEP and FiO2 at the PROSEVA stopping
/// criteria for 4 h (advisory, low); the course of proning then ends (the prompt to prone re-arms).
/// Evaluated before the prompts to prone: they read whether the course has ended.
package struct ProneStop: BedRule {
    package static var id: RuleID { .proneStop }
    package static var identifier: String { "escalation.prone_stop" }
    package static var family: RuleFamily { .escalation }
    package static var type: AlarmType { .advisory }
    package static var title: String { "Criteria to stop prone sessions met" }
    package static var reference: String { "Guerin, NEJM 2013;368:2159 (PROSEVA stopping criteria)" }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 2, chatterStable: 3600) }
    package static var hasOffset: Bool { false }
    package static var coding: RuleCoding { .local }
    package static var inputs: Facts { [.pf, .peep, .fio2, .position] }

    package struct Settings: RuleSettingsGroup {
        package var proneStopMinPF = 150.0
        package var proneStopMaxPEEP = 10.0
        package var proneStopMaxFiO2 = 0.6
        package var proneStopDelay = 4 * 3600.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [
                Setting("min_pf_mmhg", "mmHg", \.proneStopMinPF, 50...400, "supine P/F at or above this"),
                Setting("max_peep_cmh2o", "cmH2O", \.proneStopMaxPEEP, 0...30, "with PEEP at or below this"),
                Setting("max_fio2_fraction", "fraction", \.proneStopMaxFiO2, 0.21...1, "and FiO2 at or below this"),
                Setting("delay_s", "s", \.proneStopDelay, SettingRange.seconds, "held this long"),
            ]
        }
    }

    let settings: Settings
    var onset = Onset()

    package init(settings: Settings) { self.settings = settings }

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        assess(&bed, at: t, into: &events)
        return nextDue(bed, at: t)
    }

    private mutating func assess(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) {
        let criteria = bed.proneStopCriteria
        onset.update(criteria, at: t)
        if criteria == true, onset.held(at: t, for: settings.proneStopDelay), !bed.courseEnded {
            bed.courseEnded = true
            bed.changed.insert(.position)
        }
        let key = AlarmKey(rule: Self.id)
        bed.drive(key, bed.tiered(ClinicalCore.Tier(condition: criteria, onset: onset, delay: settings.proneStopDelay, priority: .low),
                                  ended: criteria.map { !$0 }, key: key, at: t),
                  by: self, at: t, into: &events, known: criteria)
    }


    /// When it is next due with no input changed (`.infinity`: never; nil: at every group).
    private func nextDue(_ bed: borrowing ClinicalCore, at t: Double) -> Double? { onset.due(after: settings.proneStopDelay, at: t) }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        var evidence: [(String, JSONValue)] = [(EvidenceKey.pfValue.name, bed.pf.map(bed.pfEvidence) ?? .null)]
        evidence += bed.readingEvidence(.fio2, "fio2_fraction", decimals: 3) + bed.readingEvidence(.peep, "peep_cmh2o", decimals: 1)
        evidence += [("supine_since_t", .number(bed.positionSince)),
                     ("last_prone_t", bed.lastProneT.map { .number($0) } ?? .null),
                     ("criteria_since_t", onset.since.map { .number($0) } ?? .null)]
        let held = onset.since.map { Fmt.duration(t - $0) } ?? "?"
        let fio2 = bed.reading(.fio2).map { Fmt.fixed($0.value, 2) } ?? "?"
        let peep = bed.reading(.peep).map { Fmt.fixed($0.value, 0) } ?? "?"
        let now = bed.pf.map(bed.pfPhrase) ?? "P/F not available"
        return AlarmDescription(
            active: "Supine \(now) at or above \(Fmt.fixed(settings.proneStopMinPF, 0)) with PEEP \(peep) cmH2O and FiO2 \(fio2) for \(held) after proning: PROSEVA criteria to stop prone sessions are met.",
            cleared: "Criteria to stop prone sessions no longer met (\(now), FiO2 \(fio2), PEEP \(peep), \(bed.position.rawValue)).",
            evidence: evidence)
    }
}

extension RuleID {
    /// `escalation.prone_stop`
    package static let proneStop = RuleID(ordinal: 12)
}

extension ClinicalCore {
    /// The PROSEVA stopping criteria now (supine after proning, P/F, PEEP, FiO2): escalation.prone_stop
    /// holds them for its delay, escalation.prone_repeat stops prompting when they are met.
    var proneStopCriteria: Bool? {
        let stop = bedSettings.proneStop
        return all(lastProneT != nil && position == .supine,
                   pf.map { Tolerance.ge($0.value, stop.proneStopMinPF) },
                   reading(.peep).map { Tolerance.le($0.value, stop.proneStopMaxPEEP) },
                   reading(.fio2).map { Tolerance.le($0.value, stop.proneStopMaxFiO2) })
    }
}
