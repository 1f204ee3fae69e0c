/// `escalation.prone_repeat`: a stop assessment (rules v3 §4.7, made by `escalation.prone_stop`) not met
/// after a session of a course that has not ended (advisory, medium): consider the next session. Never
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
    // It reads P/F, PEEP and FiO2 through the assessments (and names them): blind with them on a unit mismatch.
    package static var inputs: Facts { [.proneAssessment, .pf, .fio2, .peep, .position, .hemoptysis, .massiveHemoptysis, .ecmo] }

    /// Its assessments are `escalation.prone_stop`'s (`assess_after_s`, `reassess_s`, `assess_window_s`).
    package typealias Settings = NoSettings

    /// Why the last prompt ended (charted prone, improved), for its text.
    var endReason: String?
    /// The cautions the active prompt last announced (a change is an update, reason `caution`).
    var cautions: [ProneCaution] = []

    package init(settings: Settings) {}

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
        let active = bed.alarms.activePriority(key) != nil
        let made = bed.proneAssessment.flatMap { Tolerance.equal($0.t, t) ? $0.met : nil }
        // The next assessment decides afresh: an acknowledged prompt does not wait for rearm_s (§4.8).
        if made != nil { bed.rearming[key] = nil }
        let assessment: Assessment
        if bed.position == .prone {
            if active { endReason = "charted prone" }
            assessment = .inactive
        } else if made == true {
            if active { endReason = "improved" }
            assessment = .inactive
        } else if made == false {
            if !active { endReason = nil }
            assessment = .active(.medium)
        } else {
            assessment = active ? .hold : .inactive
        }
        let now = bed.proneCautions(at: t)
        if active, assessment != .inactive, now != cautions, !bed.isDisabled(Self.id),
           var transition = bed.alarms.reindicate(key, at: t) {
            cautions = now
            transition.reason = "caution"
            events.append(bed.makeEvent(key, transition, describe(key, bed: bed, at: t), at: t))
            return
        }
        cautions = now
        bed.drive(key, assessment, by: self, at: t, into: &events, known: made.map { !$0 })
    }

    /// While its prompt is active, at every group (a caution can change with the hypotension alarm's
    /// state, which is no input fact); otherwise when an assessment is made.
    private func nextDue(_ bed: borrowing ClinicalCore, at t: Double) -> Double? {
        bed.alarms.activePriority(AlarmKey(rule: Self.id)) != nil ? nil : .infinity
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
        // Rules v3 §4.8: the haemoptysis of the last session, by sample time.
        let sessionBleed = bed.lastSession.map { last in
            bed.hemoptysis.filter { Tolerance.ge($0.t, last.start) && Tolerance.le($0.t, last.end) }.reduce(0) { $0 + $1.ml }
        } ?? 0
        evidence.append(("session_hemoptysis_ml", .number(sessionBleed)))
        let bled = Tolerance.gt(sessionBleed, 0) ? " Haemoptysis \(Fmt.fixed(sessionBleed, 0)) ml during the last session." : ""
        let fio2 = bed.reading(.fio2).map { Fmt.fixed($0.value, 2) } ?? "?"
        let peep = bed.reading(.peep).map { Fmt.fixed($0.value, 0) } ?? "?"
        let now = bed.pf.map(bed.pfPhrase) ?? "P/F not available"
        let sessionHours = bed.bedSettings.pronePositioning.proneSessionHours
        let sessionText = session.map { "a \(Fmt.duration($0)) prone session" } ?? "a prone session"
        var short = ""
        if let session, Tolerance.lt(session, sessionHours * 3600) { short = " Last session only \(Fmt.duration(session))." }
        let cleared = switch endReason {
        case "charted prone"?: "Patient charted prone."
        case "improved"?:
            "PROSEVA improvement criteria met at the assessment \(bed.proneAssessment.map { Fmt.duration($0.afterSession) } ?? "?") after the session (\(now), PEEP \(peep), FiO2 \(fio2)): see escalation.prone_stop."
        default: "Next prone session no longer prompted (\(now), PEEP \(peep), FiO2 \(fio2), \(bed.position.rawValue))."
        }
        return AlarmDescription(
            active: "Supine \(Fmt.duration(t - bed.positionSince)) after \(sessionText) and PROSEVA improvement criteria not met (\(now), PEEP \(peep), FiO2 \(fio2)): consider the next prone session (daily sessions of at least \(Fmt.fixed(sessionHours, 0)) h until improvement).\(short)\(bled)\(warning)",
            cleared: cleared,
            evidence: evidence)
    }
}

extension RuleID {
    /// `escalation.prone_repeat`
    package static let proneRepeat = RuleID(ordinal: 11)
}
