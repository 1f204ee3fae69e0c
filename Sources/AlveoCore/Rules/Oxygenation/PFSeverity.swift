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
    package static var inputs: Facts { [.pf, .ecmo] }

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
    /// When the band last changed (a held band's re-announcement says it is held).
    var bandSince = -Double.infinity
    /// Since when P/F has been unknown (the held band's text, rules v3 §2.2); nil while it is known.
    var unknownSince: Double?

    package init(settings: Settings) { self.settings = settings }

    package mutating func evaluate(_ bed: inout ClinicalCore, at t: Double, into events: inout [AlarmEvent]) -> Double? {
        if bed.onECMO {
            // Rules v3 §3.3, §4.3 (c): not evaluated on ECMO; an alarm in force ends (reason ecmo, latched
            // included) and the band is forgotten: at `none` the rule starts afresh.
            bed.endForECMO(AlarmKey(rule: Self.id), by: self, at: t, into: &events)
            band = 0
            bandSince = -.infinity
            unknownSince = nil
            return .infinity
        }
        if bed.pf == nil { unknownSince = unknownSince ?? t } else { unknownSince = nil }
        let before = band
        let assessment = assessBand(bed)
        if band != before { bandSince = t }
        bed.drive(AlarmKey(rule: Self.id), assessment, by: self, at: t, into: &events)
        return .infinity
    }

    private func edge(_ index: Int) -> Double {
        index == 1 ? settings.pfMild : (index == 2 ? settings.pfModerate : (index == 3 ? settings.pfSevere : .infinity))
    }

    private mutating func assessBand(_ bed: ClinicalCore) -> Assessment {
        let active = bed.alarms.activePriority(AlarmKey(rule: Self.id)) != nil
        guard let pf = bed.pf else {
            // Rules v3 §3.1, §4.3 (a): a lower bound only shows that P/F is above an edge. It may let an
            // active alarm fall to a better band or end; it never starts, escalates or re-activates it.
            guard active, let bound = bed.pfLowerBound else { return .unknown }
            var band = self.band
            while band > 0, Tolerance.ge(bound.value, edge(band) + settings.pfBandHysteresis) { band -= 1 }
            if band == self.band { return .unknown }
            self.band = band
            return band == 0 ? .inactive : .active(Priority(rawValue: band)!)
        }
        var raw = 0
        for index in 1...3 where Tolerance.le(pf.value, edge(index)) { raw = index }
        var band = active ? self.band : 0
        if raw > band {
            band = raw
        } else {
            while band > raw, Tolerance.ge(pf.value, edge(band) + settings.pfBandHysteresis) { band -= 1 }
        }
        self.band = band
        return band == 0 ? .inactive : .active(Priority(rawValue: band)!)
    }

    package mutating func acknowledgedEnd(_ key: AlarmKey) -> Bool { true }

    static let names = ["none", "mild", "moderate", "severe"]

    /// "(100 < P/F <= 200)": the band's range on P/F (or S/F).
    private static func range(_ band: Int, _ edges: [Double], _ ratio: String) -> String {
        guard band > 0 else { return "" }
        let upper = "\(ratio) <= \(Fmt.fixed(edges[band], 0))"
        return band == 3 ? "(\(upper))" : "(\(Fmt.fixed(edges[band + 1], 0)) < \(upper))"
    }

    package func describe(_ key: AlarmKey, bed: ClinicalCore, at t: Double) -> AlarmDescription {
        let names = Self.names
        let edges = [0, settings.pfMild, settings.pfModerate, settings.pfSevere]
        let name = names[band]
        guard let pf = bed.pf ?? bed.pfLowerBound else {
            let held = "\(name.prefix(1).uppercased())\(name.dropFirst()) range held: P/F not known\(unknownSince.map { " for \(Fmt.duration(max(0, t - $0)))" } ?? "") (no current SpO2 and FiO2, no blood gas within \(Fmt.duration(settings.gasValidFor))): draw an arterial blood gas."
            return AlarmDescription(active: held, cleared: "P/F not currently available.",
                                    evidence: [(EvidenceKey.pfValue.name, .null), ("band", .string(names[band])), Self.bandLimit(edges[band])]
                                        + bed.ecmoEvidence)
        }
        var evidence: [(String, JSONValue)] = [(EvidenceKey.pfValue.name, bed.pfEvidence(pf)), ("band", .string(names[band])),
                                               Self.bandLimit(edges[band]),
                                               ("band_system", .string(pf.kind == .measured ? "berlin_2012" : "imputed"))]
        // S/F beside P/F (global definition, Matthay 2024), as evidence and text only: bands stay on P/F.
        var sfText = ""
        if let spo2 = bed.reading(.spo2), let fio2 = bed.reading(.fio2), Tolerance.le(spo2.value, 97), fio2.value > 0 {
            let sf = spo2.value / fio2.value
            let sfEdges = [0, settings.sfMild, settings.sfModerate, settings.sfSevere]
            let sfBand = Tolerance.le(sf, settings.sfSevere) ? 3 : Tolerance.le(sf, settings.sfModerate) ? 2 : Tolerance.le(sf, settings.sfMild) ? 1 : 0
            evidence += [("sf", .number(Fmt.round(sf, 1))), ("sf_band", .string(names[sfBand])), ("sf_band_system", .string("global_2024"))]
            // An imputed P/F or a bound is no Berlin band: the 2024 S/F band says more (rules v3 §4.3 b).
            if pf.kind != .measured {
                sfText = sfBand == 0 ? " S/F \(Fmt.fixed(sf, 0)): above the 2024 global definition's bands."
                    : " S/F \(Fmt.fixed(sf, 0)): \(names[sfBand]) by the 2024 global definition \(Self.range(sfBand, sfEdges, "S/F"))."
            }
        }
        let active: String
        switch pf.kind {
        case .measured:
            active = "\(bed.pfPhrase(pf)): \(name) ARDS range by Berlin 2012 and global definition 2024 \(Self.range(band, edges, "P/F")); review oxygenation and PEEP."
        case .imputed:
            active = "\(bed.pfPhrase(pf)): \(name) range by P/F imputed from SpO2 \(Self.range(band, edges, "P/F")): confirm with an arterial blood gas.\(sfText)"
        case .lowerBound:
            if band > 0, let since = unknownSince, Tolerance.gt(t, bandSince) {
                // Held on an unknown P/F (rules v3 §2.2): say so, and what would settle it.
                active = "\(name.prefix(1).uppercased())\(name.dropFirst()) range held: P/F not known for \(Fmt.duration(max(0, t - since))) (SpO2 \(Fmt.fixed(pf.spo2 ?? 0, 0)) % is above 96 %, no blood gas within \(Fmt.duration(settings.gasValidFor)); lower bound \(Fmt.fixed(pf.value.rounded(.down), 0)) on FiO2 \(Fmt.fixed(pf.fio2, 2))): draw an arterial blood gas."
            } else {
                active = "\(bed.pfPhrase(pf)): \(name) range by a lower bound of P/F \(Self.range(band, edges, "P/F")): confirm with an arterial blood gas.\(sfText)"
            }
        }
        evidence += bed.ecmoEvidence
        let cleared = pf.kind == .measured ? "\(bed.pfPhrase(pf)), above the ARDS bands (Berlin 2012 and global definition 2024)."
                                           : "\(bed.pfPhrase(pf)), above the ARDS bands: confirm with an arterial blood gas."
        return AlarmDescription(active: active, cleared: cleared, evidence: evidence)
    }
}

extension RuleID {
    /// `oxygenation.pf_severity`
    package static let pfSeverity = RuleID(ordinal: 7)
}
