/// `lpv.driving_pressure_high`: Pplat minus the PEEP of the same breath above 15 cmH2O (medium);
/// unknown (held) while that PEEP is not known or the plateau is stale.
package struct DrivingPressureHigh: BedRule {
    package static var id: RuleID { .drivingPressureHigh }
    package static var identifier: String { "lpv.driving_pressure_high" }
    package static var family: RuleFamily { .lungProtection }
    package static var type: AlarmType { .physiological }
    package static var title: String { "Driving pressure high" }
    package static var reference: String {
        "Amato, NEJM 2015;372:747 (driving pressure, Pplat - PEEP of the same breath); 15 cmH2O threshold from later cohorts (configurable)"
    }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 4, chatterStable: 600) }
    package static var hasOffset: Bool { true }
    /// Derived from the ventilator's plateau and PEEP of one breath: contained in the ventilator.
    package static var coding: RuleCoding {
        .limit(LimitAlarm(metric: .drivingPressure, above: true, value: drivingPressure,
                          limit: .threshold(.thresholdCmH2O, positiveOnly: false), device: .pplatSource))
    }
    package static var inputs: Facts { [.pplat, .plateau] }

    /// The driving pressure, cmH2O.
    static let drivingPressure = EvidenceKey<Double>("driving_pressure_cmh2o")

    package struct Settings: RuleSettingsGroup {
        package var drivingPressureHigh = 15.0
        package var drivingPressureEnd = 13.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [
                Setting("threshold_cmh2o", "cmH2O", \.drivingPressureHigh, 5...40, "fires when Pplat - PEEP is above this"),
                Setting("end_cmh2o", "cmH2O", \.drivingPressureEnd, 5...40, "ends when Pplat - PEEP is at or below this"),
            ]
        }

        package var problem: String? { drivingPressureEnd <= drivingPressureHigh ? nil : "need end_cmh2o <= threshold_cmh2o" }
    }

    let settings: Settings

    package init(settings: Settings) { self.settings = settings }

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        assess(&bed, at: t, into: &events)
        return nextDue(bed, at: t)
    }

    private mutating func assess(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) {
        let drivingPressure = bed.drivingPressureNow
        let key = AlarmKey(rule: Self.id)
        bed.drive(key, bed.tiered(ClinicalCore.Tier(condition: drivingPressure.map { Tolerance.gt($0, settings.drivingPressureHigh) },
                                                    onset: Onset.always(t), delay: 0, priority: .medium),
                                  ended: drivingPressure.map { Tolerance.le($0, settings.drivingPressureEnd) }, key: key, at: t),
                  by: self, at: t, into: &events)
    }


    /// When it is next due with no input changed (`.infinity`: never; nil: at every group).
    private func nextDue(_ bed: borrowing ClinicalCore, at t: Double) -> Double? { .infinity }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        var evidence = bed.readingEvidence(.pplat, EvidenceKey.pplatCmH2O.name, decimals: 1) + bed.readingEvidence(.peep, "peep_cmh2o", decimals: 1)
        if let src = bed.reading(.pplat)?.source { evidence.append(EvidenceKey.pplatSource(bed.sources[src].name)) }
        evidence += [("pplat_peep_cmh2o", bed.plateau?.peep.map { .number(Fmt.round($0, 1)) } ?? .null),
                     ("pplat_vt_ml", bed.plateau?.vt.map { .number(Fmt.round($0, 1)) } ?? .null),
                     ("stale", .bool(bed.staleChange != nil))]
        guard let dp = bed.drivingPressureNow, let pplat = bed.reading(.pplat), let peep = bed.plateau?.peep else {
            let why = bed.staleChange != nil ? "the last plateau was measured before a PEEP or Vt change"
                : "no plateau with the PEEP of its breath"
            return AlarmDescription(active: "Driving pressure not currently available (\(why)).",
                                    cleared: "Driving pressure not currently available (\(why)).", evidence: evidence)
        }
        evidence.append(Self.drivingPressure(Fmt.round(dp, 1)))
        evidence.append(EvidenceKey.thresholdCmH2O(settings.drivingPressureHigh))
        let now = "Driving pressure \(Fmt.fixed(dp, 1)) cmH2O (Pplat \(Fmt.fixed(pplat.value, 1)) - PEEP \(Fmt.fixed(peep, 1)) of the same breath)"
        return AlarmDescription(
            active: "\(now) is above \(Fmt.fixed(settings.drivingPressureHigh, 1).trimmingTrailingZeros) cmH2O: review tidal volume and PEEP.",
            cleared: "\(now), back at or below \(Fmt.fixed(settings.drivingPressureEnd, 1).trimmingTrailingZeros) cmH2O.",
            evidence: evidence)
    }
}

extension RuleID {
    /// `lpv.driving_pressure_high`
    package static let drivingPressureHigh = RuleID(ordinal: 3)
}
