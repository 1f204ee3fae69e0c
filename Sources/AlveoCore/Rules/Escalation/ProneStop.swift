/// `escalation.prone_stop`: the stop assessment of rules v3 §4.7 met (advisory, low): supine after a
/// prone session, P/F, PEEP and FiO2 at the PROSEVA stopping criteria over the assessment window at
/// least 4 h after the session; the course of proning then ends (the prompt to prone re-arms).
/// This unit makes the assessments, which `escalation.prone_repeat` reads (`ClinicalCore.proneAssessment`):
/// evaluated before the prompts to prone, they read whether the course has ended.
package struct ProneStop: BedRule {
    package static var id: RuleID { .proneStop }
    package static var identifier: String { "escalation.prone_stop" }
    package static var family: RuleFamily { .escalation }
    package static var type: AlarmType { .advisory }
    package static var title: String { "Criteria to stop prone sessions met" }
    package static var reference: String { "Guerin, NEJM 2013;368:2159 (PROSEVA stopping criteria, assessed supine at least 4 h after a session)" }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 2, chatterStable: 3600) }
    package static var hasOffset: Bool { false }
    package static var coding: RuleCoding { .local }
    package static var inputs: Facts { [.pf, .peep, .fio2, .position, .ecmo] }

    package struct Settings: RuleSettingsGroup {
        package var proneStopMinPF = 150.0
        package var proneStopMaxPEEP = 10.0
        package var proneStopMaxFiO2 = 0.6
        package var assessAfter = 4 * 3600.0
        package var reassess = 4 * 3600.0
        package var assessWindow = 600.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [
                Setting("min_pf_mmhg", "mmHg", \.proneStopMinPF, 50...400, "supine P/F at or above this (measured, imputed or by its lower bound)"),
                Setting("max_peep_cmh2o", "cmH2O", \.proneStopMaxPEEP, 0...30, "with PEEP at or below this"),
                Setting("max_fio2_fraction", "fraction", \.proneStopMaxFiO2, 0.21...1, "and FiO2 at or below this"),
                Setting("assess_after_s", "s", \.assessAfter, 600...(48 * 3600.0), "the first assessment is due this long after the end of a prone session"),
                Setting("reassess_s", "s", \.reassess, 3600...86400, "then every this long after the previous one while the patient stays supine"),
                Setting("assess_window_s", "s", \.assessWindow, 0...3600,
                        "an assessment reads the groups of this last stretch: not met if any is not met, met if one is met and none is not"),
            ]
        }
    }

    let settings: Settings
    /// When the next assessment is due (nil: none: prone, no session yet, or the course has ended).
    var due: Double?
    /// The prone session the assessments are about (`ClinicalCore.proneSessionStarts`).
    var session = 0
    /// The outcomes of the groups since the assessment window of the due time opened (nil: unknown).
    var groups: [(t: Double, met: Bool?)] = []
    /// Why the prompt ended (charted prone, a criterion no longer met), for its text.
    var endReason: String?

    package init(settings: Settings) { self.settings = settings }

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        assess(&bed, at: t, into: &events)
        return nextDue(bed, at: t)
    }

    private mutating func assess(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) {
        let key = AlarmKey(rule: Self.id)
        if bed.onECMO {
            // Rules v3 §3.3: no assessment on ECMO (the course has ended); the prompt ends (reason ecmo).
            due = nil
            groups.removeAll()
            bed.endForECMO(key, by: self, at: t, into: &events)
            return
        }
        // A session charted prone cancels the assessments due; the end of a session of a course that
        // has not ended schedules the first.
        if bed.position == .prone || bed.courseEnded {
            due = nil
            groups.removeAll()
        } else if session != bed.proneSessionStarts, let last = bed.lastSession {
            session = bed.proneSessionStarts
            due = last.end + settings.assessAfter
            groups.removeAll()
        }
        let outcome = bed.proneStopOutcome
        var made: Bool?
        if let due, Tolerance.ge(t, due - settings.assessWindow) {
            groups.append((t, outcome))
            groups.removeAll { Tolerance.lt($0.t, t - settings.assessWindow) }
            if Tolerance.ge(t, due), let result = Self.outcome(of: groups) {
                made = result
                bed.proneAssessment = (t, result, t - (bed.lastSession?.end ?? t))
                bed.changed.insert(.proneAssessment)
                // The next decision starts afresh: an acknowledged prompt does not wait to re-arm.
                bed.rearming[key] = nil
                if result {
                    // PROSEVA improvement: the course of proning has ended; the prompt to prone re-arms.
                    self.due = nil
                    bed.courseEnded = true
                    bed.changed.insert(.position)
                } else {
                    self.due = t + settings.reassess
                }
                groups.removeAll()
            }
        }
        let active = bed.alarms.activePriority(key) != nil
        let assessment: Assessment
        if made == true {
            endReason = nil
            assessment = .active(.low)
        } else if active, bed.position == .prone {
            endReason = "charted prone"
            assessment = .inactive
        } else if active, outcome == false {
            endReason = "not met"
            assessment = .inactive
        } else {
            assessment = active ? .hold : .inactive
        }
        bed.drive(key, assessment, by: self, at: t, into: &events, known: made.map { $0 } ?? (outcome == false ? false : nil))
    }

    /// An assessment over its window (rules v3 §4.7): not met if any group is not met, met if one is
    /// and none is not, unknown (nil) while every group is unknown.
    static func outcome(of groups: [(t: Double, met: Bool?)]) -> Bool? {
        if groups.contains(where: { $0.met == false }) { return false }
        return groups.contains(where: { $0.met == true }) ? true : nil
    }

    /// From the opening of the due assessment's window, at every group until it is made.
    private func nextDue(_ bed: borrowing ClinicalCore, at t: Double) -> Double? {
        guard let due else { return .infinity }
        let opens = due - settings.assessWindow
        return Tolerance.ge(t, opens) ? nil : opens - Tolerance.epsilon
    }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        var evidence: [(String, JSONValue)] = [(EvidenceKey.pfValue.name, (bed.pf ?? bed.pfLowerBound).map(bed.pfEvidence) ?? .null)]
        evidence += bed.readingEvidence(.fio2, "fio2_fraction", decimals: 3) + bed.readingEvidence(.peep, "peep_cmh2o", decimals: 1)
        evidence += [("supine_since_t", .number(bed.positionSince)),
                     ("last_prone_t", bed.lastProneT.map { .number($0) } ?? .null),
                     ("assessed_t", bed.proneAssessment.map { .number($0.t) } ?? .null),
                     ("assess_window_s", .number(settings.assessWindow))]
        let fio2 = bed.reading(.fio2).map { Fmt.fixed($0.value, 2) } ?? "?"
        let peep = bed.reading(.peep).map { Fmt.fixed($0.value, 0) } ?? "?"
        let now = (bed.pf ?? bed.pfLowerBound).map(bed.pfPhrase) ?? "P/F not available"
        let after = bed.proneAssessment.map { Fmt.duration($0.afterSession) } ?? Fmt.duration(settings.assessAfter)
        let window = Fmt.duration(settings.assessWindow)
        let cleared = switch endReason {
        case "charted prone"?: "Patient charted prone: a new course of prone sessions."
        case "not met"?: "PROSEVA stop criteria no longer met (\(now), PEEP \(peep), FiO2 \(fio2)): the course has ended; escalation.prone_positioning applies again."
        default: "Criteria to stop prone sessions no longer prompted (\(now), PEEP \(peep), FiO2 \(fio2), \(bed.position.rawValue))."
        }
        return AlarmDescription(
            active: "Supine \(now) at or above \(Fmt.fixed(settings.proneStopMinPF, 0)) with PEEP \(peep) cmH2O and FiO2 \(fio2) over the last \(window), assessed \(after) after the prone session: PROSEVA criteria to stop prone sessions are met; the course of proning has ended.",
            cleared: cleared,
            evidence: evidence)
    }
}

extension RuleID {
    /// `escalation.prone_stop`
    package static let proneStop = RuleID(ordinal: 12)
}

extension Facts {
    /// A stop assessment was made (rules v3 §4.7): `escalation.prone_repeat` reads it.
    package static let proneAssessment = Facts(rawValue: 1 << 44)
}

extension ClinicalCore {
    /// One group for the stop assessment (rules v3 §4.7): met when P/F (measured, imputed or by its
    /// lower bound) ≥ min_pf, PEEP ≤ max and FiO2 ≤ max are all known true while supine after a
    /// session; not met when one is known false (a lower bound never shows P/F below anything).
    var proneStopOutcome: Bool? {
        let stop = bedSettings.proneStop
        let pfMet: Bool? = if let pf { Tolerance.ge(pf.value, stop.proneStopMinPF) }
            else if let bound = pfLowerBound, Tolerance.ge(bound.value, stop.proneStopMinPF) { true }
            else { nil }
        return all(lastProneT != nil && position == .supine,
                   pfMet,
                   reading(.peep).map { Tolerance.le($0.value, stop.proneStopMaxPEEP) },
                   reading(.fio2).map { Tolerance.le($0.value, stop.proneStopMaxFiO2) })
    }
}
