/// `dah.hemoptysis_prone` (rules v3 §4.13): haemoptysis whose sample time falls in a prone session,
/// whenever it is charted. Medium above `min_ml`, high at `high_ml` (100 ml) in the session or while
/// massive; active while prone in that session; at supine a medium one ends, a high one latches. An
/// entry charted after its session ended starts it at the charting (kept `min_active_s`, 900 s).
package struct HemoptysisProne: BedRule {
    package static var id: RuleID { .hemoptysisProne }
    package static var identifier: String { "dah.hemoptysis_prone" }
    package static var family: RuleFamily { .dah }
    package static var type: AlarmType { .physiological }
    package static var title: String { "Haemoptysis during a prone session" }
    package static var reference: String { "Guerin, NEJM 2013;368:2159 (PROSEVA interrupted sessions for haemoptysis)" }
    package static var policy: AlarmPolicy { AlarmPolicy(minActive: 900, chatterMax: 3, chatterStable: 3600) }
    package static var resultDriven: Bool { true }
    package static var hasOffset: Bool { true }
    /// Charted values have no MDC metric in PCD-04: local code, values in the text.
    package static var coding: RuleCoding { .local }
    package static var inputs: Facts { [.position, .hemoptysis, .massiveHemoptysis] }

    package struct Settings: RuleSettingsGroup {
        package var hemoptysisProneMin = 0.0
        package var high = 100.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [
                Setting("min_ml", "ml", \.hemoptysisProneMin, 0...1000, "medium when the session's haemoptysis is above this"),
                Setting("high_ml", "ml", \.high, 0...1000, "high when the session's haemoptysis reaches this"),
            ]
        }
    }

    let settings: Settings
    /// The session the alarm is about (its start; its end once supine), its total and its last entry.
    var session: (start: Double, end: Double?)?
    var total = 0.0
    var last: (t: Double, ml: Double)?
    /// When the last entry was charted, and whether that was after its session had ended.
    var chartedT: Double?
    var late = false

    package init(settings: Settings) { self.settings = settings }

    /// The haemoptysis by sample time in [start, end).
    static func sessionEntries(_ bed: borrowing ClinicalCore, from start: Double, to end: Double?) -> (total: Double, last: (t: Double, ml: Double)?) {
        var total = 0.0
        var last: (t: Double, ml: Double)?
        for entry in bed.hemoptysis where entry.t >= start - Tolerance.epsilon && (end.map { entry.t < $0 - Tolerance.epsilon } ?? true) && entry.ml > 0 {
            total += entry.ml
            last = entry
        }
        return (total, last)
    }

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        let current: (start: Double, end: Double?)? = bed.position == .prone ? (bed.positionSince, nil) : bed.lastSession.map { ($0.start, $0.end) }
        guard let current else {
            bed.drive(AlarmKey(rule: Self.id), .inactive, by: self, at: t, into: &events)
            return .infinity
        }
        if session?.start != current.start { session = current; total = 0; last = nil; late = false; chartedT = nil }
        session?.end = current.end
        let now = Self.sessionEntries(bed, from: current.start, to: current.end)
        let added = Tolerance.gt(now.total, total)
        if added {
            chartedT = t
            late = current.end != nil
            last = now.last
        }
        total = now.total
        let assessment: Assessment
        if Tolerance.le(total, settings.hemoptysisProneMin) {
            assessment = .inactive
        } else if current.end == nil || (added && late) {
            // Prone in the session, or an entry of the ended session charted now.
            assessment = .active(Tolerance.ge(total, settings.high) || bed.massiveHemoptysis ? .high : .medium)
        } else {
            assessment = .inactive
        }
        let key = AlarmKey(rule: Self.id)
        let before = events.count
        bed.drive(key, assessment, by: self, at: t, into: &events)
        // Rules v3 §2.2: a new entry that leaves the alarm as it was is its re-announcement.
        if added, case .active = assessment, events.count == before { bed.announceNewResult(key, by: self, at: t, into: &events) }
        return .infinity
    }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        let evidence: [(String, JSONValue)] = [
            ("hemoptysis_ml", last.map { .number($0.ml) } ?? .null),
            ("hemoptysis_t", last.map { .number($0.t) } ?? .null),
            ("charted_t", chartedT.map { .number($0) } ?? .null),
            ("session_total_ml", .number(total)),
            ("prone_since_t", session.map { .number($0.start) } ?? .null),
            ("supine_t", session?.end.map { .number($0) } ?? .null),
            ("late", .bool(late)),
        ]
        let ml = last.map { Fmt.fixed($0.ml, 0) } ?? "?"
        let active: String
        if late, let session, let end = session.end, let last {
            // The core has no wall clock (t counts from the start of the run): ages, not clock times.
            active = "Haemoptysis \(ml) ml sampled \(Fmt.duration(max(0, t - last.t))) ago during the \(Fmt.duration(end - session.start)) prone session "
                + "that ended \(Fmt.duration(max(0, t - end))) ago, "
                + "charted after turning supine: take it into the decision on the next session; check tube patency and suction."
        } else {
            active = "Haemoptysis \(ml) ml during the prone session (session total \(Fmt.fixed(total, 0)) ml): check tube patency and suction; "
                + "if bleeding goes on or the tube obstructs, consider turning supine (PROSEVA interrupted sessions for haemoptysis)."
        }
        return AlarmDescription(
            active: active,
            cleared: late ? "Haemoptysis of the last prone session noted." : "Patient charted supine after haemoptysis during a prone session.",
            evidence: evidence)
    }
}

extension RuleID {
    /// `dah.hemoptysis_prone`
    package static let hemoptysisProne = RuleID(ordinal: 16)
}
