/// `escalation.prone_repeat`: supine for 4 h after a session of a course that has not ended, the
/// PROSEVA stopping criteria known not met (advisory, medium): consider the next session. Never
/// withheld: haemoptysis and hypotension are cautions in its text (rules v3 §3.5, §4.8).
package struct ProneRepeat: BedRule {
    package static var id: RuleID { .proneRepeat }
    package static var identifier: String { "escalation.prone_repeat" }
    package static var family: RuleFamily { .escalation }
    package static var type: AlarmType { .advisory }
    package static var title: String { "Next prone session due" }
    package static var reference: String {
        "Guerin, NEJM 2013;368:2159 (PROSEVA: daily sessions of at least 16 h until improvement)"
    }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 2, chatterStable: 3600) }
    package static var hasOffset: Bool { false }
    package static var coding: RuleCoding { .local }
    package static var inputs: Facts { [.pf, .fio2, .peep, .position, .hemoptysis, .massiveHemoptysis, .ecmo] }

    package struct Settings: RuleSettingsGroup {
        package var proneRepeatAssessAfter = 4 * 3600.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [Setting("assess_after_s", "s", \.proneRepeatAssessAfter, 600...(48 * 3600.0), "supine this long after a session before the criteria are assessed")]
        }
    }

    let settings: Settings
    /// Why the last prompt ended (charted prone, improved), for its text.
    var endReason: String?
    /// The cautions the active prompt last announced (a change is an update, reason `caution`).
    var cautions: [ProneCaution] = []

    package init(settings: Settings) { self.settings = settings }

    /// Supine after a session of a course that has not ended, for the assessment time.
    private func isDue(_ bed: ClinicalCore, at t: Double) -> Bool {
        bed.lastProneT != nil && !bed.courseEnded && bed.position == .supine
            && Tolerance.ge(t - bed.positionSince, settings.proneRepeatAssessAfter)
    }

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        assess(&bed, at: t, into: &events)
        return nextDue(bed, at: t)
    }

    private mutating func assess(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) {
        let key = AlarmKey(rule: Self.id)
        if bed.onECMO {
            // Rules v3 §3.3: not evaluated on ECMO; a prompt in force ends (reason ecmo).
            bed.endForECMO(key, by: self, at: t, into: &events)
            return
        }
        let due = isDue(bed, at: t)
        let stopCriteria = bed.proneStopCriteria
        let assessment: Assessment
        if !due || stopCriteria == true {
            if bed.alarms.activePriority(key) != nil {
                endReason = bed.position == .prone ? "charted prone" : (stopCriteria == true ? "improved" : nil)
            }
            assessment = .inactive
        } else {
            assessment = stopCriteria == false ? .active(.medium) : .hold
            if stopCriteria == false, bed.alarms.activePriority(key) == nil { endReason = nil }
        }
        let now = bed.proneCautions(at: t)
        if bed.alarms.activePriority(key) != nil, assessment != .inactive, now != cautions, !bed.isDisabled(Self.id),
           var transition = bed.alarms.reindicate(key, at: t) {
            cautions = now
            transition.reason = "caution"
            events.append(bed.makeEvent(key, transition, describe(key, bed: bed, at: t), at: t))
            return
        }
        cautions = now
        bed.drive(key, assessment, by: self, at: t, into: &events, known: due ? stopCriteria.map { !$0 } : false)
    }

    /// Due when the supine time reaches the assessment time; while its prompt is active, at every group
    /// (a caution can change with the hypotension alarm's state, which is no input fact).
    private func nextDue(_ bed: borrowing ClinicalCore, at t: Double) -> Double? {
        if bed.alarms.activePriority(AlarmKey(rule: Self.id)) != nil { return nil }
        guard bed.lastProneT != nil, !bed.courseEnded, bed.position == .supine, !isDue(bed, at: t) else { return .infinity }
        return bed.positionSince + settings.proneRepeatAssessAfter - 1e-6
    }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        let (warning, hemoptysisEvidence) = bed.proneCautionText(at: t)
        let session = bed.lastSession.map { $0.end - $0.start }
        var evidence: [(String, JSONValue)] = [(EvidenceKey.pfValue.name, bed.pf.map(bed.pfEvidence) ?? .null)]
        evidence += bed.readingEvidence(.peep, "peep_cmh2o", decimals: 1) + bed.readingEvidence(.fio2, "fio2_fraction", decimals: 3)
        evidence += [("last_prone_t", bed.lastProneT.map { .number($0) } ?? .null), ("supine_since_t", .number(bed.positionSince)),
                     ("session_s", session.map { .number(Fmt.round($0, 0)) } ?? .null)]
        evidence += hemoptysisEvidence
        let fio2 = bed.reading(.fio2).map { Fmt.fixed($0.value, 2) } ?? "?"
        let peep = bed.reading(.peep).map { Fmt.fixed($0.value, 0) } ?? "?"
        let now = bed.pf.map(bed.pfPhrase) ?? "P/F not available"
        let sessionHours = bed.bedSettings.pronePositioning.proneSessionHours
        let sessionText = session.map { "a \(Fmt.duration($0)) prone session" } ?? "a prone session"
        var short = ""
        if let session, Tolerance.lt(session, sessionHours * 3600) { short = " Last session only \(Fmt.duration(session))." }
        let cleared = switch endReason {
        case "charted prone"?: "Patient charted prone."
        case "improved"?: "PROSEVA improvement criteria met (\(now), PEEP \(peep), FiO2 \(fio2)): see escalation.prone_stop."
        default: "Next prone session no longer prompted (\(now), PEEP \(peep), FiO2 \(fio2), \(bed.position.rawValue))."
        }
        return AlarmDescription(
            active: "Supine \(Fmt.duration(t - bed.positionSince)) after \(sessionText) and PROSEVA improvement criteria not met (\(now), PEEP \(peep), FiO2 \(fio2)): consider the next prone session (daily sessions of at least \(Fmt.fixed(sessionHours, 0)) h until improvement).\(short)\(warning)",
            cleared: cleared,
            evidence: evidence)
    }
}

extension RuleID {
    /// `escalation.prone_repeat`
    package static let proneRepeat = RuleID(ordinal: 11)
}
