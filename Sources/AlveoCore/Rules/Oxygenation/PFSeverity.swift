/// `oxygenation.pf_severity`: the P/F ratio (measured, or imputed from SpO2) in a Berlin ARDS band:
/// mild (low), moderate (medium), severe (high), with hysteresis at the band edges.
package struct PFSeverity: BedRule {
    package static var id: RuleID { .pfSeverity }
    package static var identifier: String { "oxygenation.pf_severity" }
    package static var family: RuleFamily { .oxygenation }
    package static var type: AlarmType { .physiological }
    package static var title: String { "P/F ratio in an ARDS severity band" }
    package static var reference: String {
        "ARDS Definition Task Force, JAMA 2012 (Berlin); Brown, Chest 2016;150:307 (SpO2 imputation)"
    }
    package static var policy: AlarmPolicy { AlarmPolicy(chatterMax: 4, chatterStable: 1800) }
    package static var hasOffset: Bool { true }
    package static var coding: RuleCoding {
        .limit(LimitAlarm(metric: .pfRatio, above: false, value: .pfValue, limit: .threshold(bandLimit, positiveOnly: true), device: nil))
    }
    package static var inputs: Facts { [.pf] }

    /// The upper edge of the band, mmHg (0: no band).
    static let bandLimit = EvidenceKey<Double>("band_limit")

    package struct Settings: RuleSettingsGroup {
        package var pfMild = 300.0
        package var pfModerate = 200.0
        package var pfSevere = 100.0
        package var pfBandHysteresis = 10.0
        package var gasValidFor = 3600.0
        package var sfMild = 315.0
        package var sfModerate = 235.0
        package var sfSevere = 148.0

        package init() {}

        package static var keys: [Setting<Settings>] {
            [
                Setting("mild_mmhg", "mmHg", \.pfMild, 50...600, "mild band: P/F at or below this (low priority)"),
                Setting("moderate_mmhg", "mmHg", \.pfModerate, 50...600, "moderate band: P/F at or below this (medium)"),
                Setting("severe_mmhg", "mmHg", \.pfSevere, 20...600, "severe band: P/F at or below this (high)"),
                Setting("hysteresis_mmhg", "mmHg", \.pfBandHysteresis, 0...100, "a band is left for a better one only this far past its edge"),
                Setting("gas_valid_s", "s", \.gasValidFor, 60...(24 * 3600.0), "a blood gas gives the measured P/F for this long; after it P/F is imputed from SpO2"),
                Setting("sf_mild", "ratio", \.sfMild, 50...600, "S/F (evidence only, SpO2 <= 97 %): mild at or below this"),
                Setting("sf_moderate", "ratio", \.sfModerate, 50...600, "moderate at or below this"),
                Setting("sf_severe", "ratio", \.sfSevere, 20...600, "severe at or below this"),
            ]
        }

        package var problem: String? { pfSevere < pfModerate && pfModerate < pfMild ? nil : "need severe_mmhg < moderate_mmhg < mild_mmhg" }
    }

    let settings: Settings
    /// The band of the alarm: 0 none, 1 mild, 2 moderate, 3 severe.
    var band = 0

    package init(settings: Settings) { self.settings = settings }

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        assess(&bed, at: t, into: &events)
        return nextDue(bed, at: t)
    }

    private mutating func assess(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) {
        bed.drive(AlarmKey(rule: Self.id), assessBand(bed), by: self, at: t, into: &events)
    }

    private mutating func assessBand(_ bed: ClinicalCore) -> Assessment {
        guard let pf = bed.pf else { return .unknown }
        let edges = (settings.pfMild, settings.pfModerate, settings.pfSevere)
        func edge(_ index: Int) -> Double { index == 1 ? edges.0 : (index == 2 ? edges.1 : (index == 3 ? edges.2 : .infinity)) }
        var raw = 0
        for index in 1...3 where Tolerance.le(pf.value, edge(index)) { raw = index }
        var band = bed.alarms.activePriority(AlarmKey(rule: Self.id)) != nil ? self.band : 0
        if raw > band {
            band = raw
        } else {
            while band > raw, Tolerance.ge(pf.value, edge(band) + settings.pfBandHysteresis) { band -= 1 }
        }
        self.band = band
        return band == 0 ? .inactive : .active(Priority(rawValue: band)!)
    }


    /// When it is next due with no input changed (`.infinity`: never; nil: at every group).
    private func nextDue(_ bed: borrowing ClinicalCore, at t: Double) -> Double? { .infinity }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        let names = ["none", "mild", "moderate", "severe"]
        let edges = [0, settings.pfMild, settings.pfModerate, settings.pfSevere]
        guard let pf = bed.pf else {
            return AlarmDescription(active: "P/F not currently available.", cleared: "P/F not currently available.",
                                    evidence: [(EvidenceKey.pfValue.name, .null), ("band", .string(names[band]))])
        }
        var evidence: [(String, JSONValue)] = [(EvidenceKey.pfValue.name, bed.pfEvidence(pf)), ("band", .string(names[band])),
                                               Self.bandLimit(edges[band])]
        // S/F beside P/F (global definition, Matthay 2024), as evidence only: bands on one signal only.
        if let spo2 = bed.reading(.spo2), let fio2 = bed.reading(.fio2), Tolerance.le(spo2.value, 97) {
            let sf = spo2.value / fio2.value
            let sfBand = Tolerance.le(sf, settings.sfSevere) ? "severe" : Tolerance.le(sf, settings.sfModerate) ? "moderate"
                : Tolerance.le(sf, settings.sfMild) ? "mild" : "none"
            evidence += [("sf", .number(Fmt.round(sf, 1))), ("sf_band", .string(sfBand))]
        }
        let name = names[band]
        return AlarmDescription(
            active: "\(bed.pfPhrase(pf)): \(name) ARDS range (Berlin, P/F <= \(Fmt.fixed(edges[band], 0))); review oxygenation and PEEP.",
            cleared: "\(bed.pfPhrase(pf)), above the Berlin ARDS bands.",
            evidence: evidence)
    }
}

extension RuleID {
    /// `oxygenation.pf_severity`
    package static let pfSeverity = RuleID(ordinal: 7)
}
