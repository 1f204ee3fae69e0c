/// `dah.hemoptysis_prone`: haemoptysis charted during a prone session (high); lasts while prone,
/// latches.
package struct HemoptysisProne: BedRule {
    package static var id: RuleID { .hemoptysisProne }
    package static var identifier: String { "dah.hemoptysis_prone" }
    package static var family: RuleFamily { .dah }
    package static var type: AlarmType { .physiological }
    package static var title: String { "Haemoptysis during a prone session" }
    package static var reference: String { "Guerin, NEJM 2013;368:2159 (PROSEVA: haemoptysis stopped the session)" }
    package static var policy: AlarmPolicy { AlarmPolicy(minActive: 900, chatterMax: 3, chatterStable: 3600) }
    package static var resultDriven: Bool { true }
    package static var hasOffset: Bool { true }
    /// Charted values have no MDC metric in PCD-04: local code, values in the text.
    package static var coding: RuleCoding { .local }
    package static var inputs: Facts { [.position, .hemoptysis] }

    package struct Settings: RuleSettingsGroup {
        package var hemoptysisProneMin = 0.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [Setting("min_ml", "ml", \.hemoptysisProneMin, 0...1000, "haemoptysis above this charted while prone")]
        }
    }

    let settings: Settings
    /// The haemoptysis charted during the current prone session.
    var charted: (t: Double, ml: Double)?

    package init(settings: Settings) { self.settings = settings }

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        assess(&bed, at: t, into: &events)
        return nextDue(bed, at: t)
    }

    private mutating func assess(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) {
        if bed.position == .prone {
            let since = bed.positionSince
            if let entry = bed.hemoptysis.last(where: { $0.t >= since - Tolerance.epsilon && Tolerance.gt($0.ml, settings.hemoptysisProneMin) }),
               charted.map({ entry.t >= $0.t }) ?? true {
                charted = entry
            }
        } else {
            charted = nil
        }
        bed.drive(AlarmKey(rule: Self.id), charted != nil ? .active(.high) : .inactive, by: self, at: t, into: &events)
    }


    /// When it is next due with no input changed (`.infinity`: never; nil: at every group).
    private func nextDue(_ bed: borrowing ClinicalCore, at t: Double) -> Double? { .infinity }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        let evidence: [(String, JSONValue)] = [
            ("hemoptysis_ml", charted.map { .number($0.ml) } ?? .null),
            ("hemoptysis_t", charted.map { .number($0.t) } ?? .null),
            ("prone_since_t", bed.position == .prone ? .number(bed.positionSince) : (bed.lastSession.map { .number($0.start) } ?? .null)),
        ]
        let ml = charted.map { Fmt.fixed($0.ml, 0) } ?? "?"
        return AlarmDescription(
            active: "Haemoptysis \(ml) ml during a prone session: check tube patency and suction; consider turning supine (in PROSEVA haemoptysis stopped the session).",
            cleared: "Patient charted supine after haemoptysis during a prone session.",
            evidence: evidence)
    }
}

extension RuleID {
    /// `dah.hemoptysis_prone`
    package static let hemoptysisProne = RuleID(ordinal: 16)
}
