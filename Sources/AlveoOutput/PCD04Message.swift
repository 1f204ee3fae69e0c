import AlveoCore
import Foundation

/// Who and where a message is about, and how this agent presents itself to the station.
package struct HL7Identity: Sendable, Equatable {
    package var sendingApplication = "ALVEO"
    /// The agent's EUI-64 (16 upper-case hex digits): MSH-3, OBR-3 and OBX-18. Configured, or derived
    /// from the machine id (`EUI64.forThisMachine()`).
    package var eui64 = "0000000000000000"
    package var sendingFacility = ""
    package var receivingApplication = ""
    package var receivingFacility = ""
    /// PID-3: the patient identifier (with its assigning authority, if any, and its identifier type
    /// code from HL7 table 0203: MR medical record number, PI patient internal id, AN account number).
    package var patientID = ""
    package var patientIDAuthority = ""
    package var patientIDTypeCode = "MR"
    /// PID-5 (required in v2.6): family^given, or a placeholder when the agent is not told the name.
    package var patientName = "UNKNOWN"
    /// PV1-3: point of care ^ room ^ bed ^ facility, e.g. ICU^B1^B1^HOSP.
    package var bedLocation = ""
    /// Prefix of MSH-10 and of the alarm identifiers: unique per bed across the hospital.
    package var bedID = "BED"
    /// MSH-21's OID: public senders disagree (shared/pcd04-reference.md §2); the Dräger reference
    /// generator's value by default.
    package var profileOID = "1.3.6.1.4.1.19376.1.6.4.4"
    /// Whether an MDC event code is followed by the rule's own code as the alternate (CWE-4..6), so a
    /// station can tell two alarms with the same MDC event apart (P/F in a severity band, P/F falling).
    package var alternateRuleCode = true
    /// The bed's devices by configured id, in configuration order: the device at index i is VMD i + 1
    /// in OBX-4 (VMD 0 is Alveo's own: derived values, advisories, the agent's conditions).
    package var devices: [String] = []

    package init() {}
}

/// Builds IHE PCD-04 (Report Alert, ORU^R40) messages from journal entries by the IHE PCD Alert
/// Communication Management profile as public senders send it (shared/pcd04-reference.md): one alert
/// per message, an MDS row for Alveo, then rows .1 (event) to .7 (type) contained under the alarm's
/// source. MSH-10 is "<bedID>-<journal seq>": unique and stable per event, so a resent message keeps
/// its id and the receiver can de-duplicate.
package enum PCD04Message {
    package static func controlID(bedID: String, seq: Int64) -> String { "\(bedID)-\(seq)" }

    /// MSH-10 of an entry: by its journal sequence number, or its stand-in when it was not journaled.
    package static func controlID(bedID: String, entry: JournalEntry) -> String {
        entry.unjournaledID.map { "\(bedID)-\($0)" } ?? controlID(bedID: bedID, seq: entry.seq)
    }

    /// The identity a message carries: the configuration's, or the patient journaled with the event
    /// (admitted through ADT or `alveo patient set`; no patient at the bed: UNKNOWN).
    package static func identity(_ configured: HL7Identity, for patient: JournalPatient?) -> HL7Identity {
        guard let patient else { return configured }
        var identity = configured
        identity.patientID = patient.id ?? "UNKNOWN"
        identity.patientIDAuthority = patient.authority ?? ""
        identity.patientName = patient.name ?? "UNKNOWN"
        return identity
    }

    /// The message for an alarm event, segments separated by CR. `now` is MSH-7 (when the message is
    /// built); OBR-7 and OBX-14 carry the time the event was detected (the journal's), so a resend
    /// differs from the first send in MSH-7 only.
    package static func build(entry: JournalEntry, event: AlarmEvent, identity configured: HL7Identity, now: Date) -> String {
        let identity = Self.identity(configured, for: entry.patient)
        let eventTime = timestamp(entry.wallTime.flatMap(parseRFC3339) ?? now)
        let coding = AlertCoding.of(event)
        let agent = "\(e(identity.sendingApplication))^^\(identity.eui64)^EUI-64"
        // Alarm ids restart with each run of the agent: the run id keeps the reference unique.
        // The end of an alarm a previous run left in force carries that run (`event.run`).
        let alertID = "\(identity.bedID)-\((event.run ?? entry.run).map { "\($0)-" } ?? "")A\(event.alarmID)"
        let alertRef = "\(e(alertID))^\(e(identity.sendingApplication))^\(identity.eui64)^EUI-64"
        let flags = "\(coding.abnormality)~\(event.priority.pcd04)~\(event.type.pcd04)"

        // Containment MDS.VMD.CHAN.METRIC: MDS 1 is Alveo; VMD n the bed's n-th device, 0 Alveo's own.
        func vmd(_ device: String?) -> Int {
            device.flatMap { identity.devices.firstIndex(of: $0) }.map { $0 + 1 } ?? 0
        }
        func deviceName(_ device: String) -> String { e("\(identity.sendingApplication)-\(device)") }
        let prefix: String
        let sourceRow: String
        switch coding.source {
        case .numeric(let metric, let unit, let value, let limit, let device):
            prefix = "1.\(vmd(device)).1.\(metric.code)"
            sourceRow = "NM|\(field(metric))|\(prefix).2|\(JSONValue.formatted(value))|\(field(unit))|\(e(limit ?? ""))||||F|||\(eventTime)||||"
                + (device.map(deviceName) ?? agent)
        case .device(let device):
            prefix = coding.metricOnly.map { "1.\(vmd(device)).1.\($0.code)" } ?? "1.\(vmd(device)).0.0"
            sourceRow = "ST|\(field(MDC.alertSource))|\(prefix).2|\(e(device))||||||F|||||||\(deviceName(device))"
        case .metricUnavailable(let metric, let device):
            prefix = "1.\(vmd(device)).1.\(metric.code)"
            let name = device.map { e($0) } ?? e(identity.sendingApplication)
            sourceRow = "ST|\(field(MDC.alertSource))|\(prefix).2|\(name)||||||F|||||||" + (device.map(deviceName) ?? agent)
        case .agent:
            prefix = "1.0.0.0"
            sourceRow = "ST|\(field(MDC.alertSource))|\(prefix).2|\(e(identity.sendingApplication))||||||F|||||||\(agent)"
        }
        var eventCode = field(coding.event)
        if coding.isMDCEvent, identity.alternateRuleCode {
            eventCode += "^" + field(CodedElement.local(event.rule.id, event.rule.title))
        }
        let attributes: [(CodedElement, String)] = [
            (MDC.eventPhase, event.phase.pcd04),
            (MDC.alarmState, event.state.pcd04),
            (MDC.inactivationState, event.acknowledged ? "alert-acknowledged" : "enabled"),
            (MDC.alarmPriority, event.priority.pcd04),
            (MDC.alertType, event.type.pcd04),
        ]

        var segments = [msh(identity, type: "ORU^R40^ORU_R40", controlID: controlID(bedID: identity.bedID, entry: entry), now: now,
                            profile: true)]
        segments.append(pid(identity))
        segments.append("PV1||I|\(components(identity.bedLocation))")
        segments.append("OBR|1|\(alertRef)|\(alertRef)|\(field(MDC.alarm))|||\(eventTime)")
        segments.append("OBX|1||\(field(MDC.mds))|1.0.0.0|||||||X|||||||\(agent)")
        segments.append("OBX|2|ST|\(eventCode)|\(prefix).1|\(e(event.text))|||\(flags)|||F|||\(eventTime)||||\(agent)")
        segments.append("OBX|3|\(sourceRow)")
        for (index, attribute) in attributes.enumerated() {
            segments.append("OBX|\(index + 4)|ST|\(field(attribute.0))|\(prefix).\(index + 3)|\(attribute.1)||||||F")
        }
        return segments.joined(separator: "\r") + "\r"
    }

    /// The periodic "bed alive" message: an ORU^R01 with the monitoring system as its only observation.
    package static func heartbeat(identity: HL7Identity, controlID: String, now: Date) -> String {
        let time = timestamp(now)
        let reference = "\(e(controlID))^\(e(identity.sendingApplication))^\(identity.eui64)^EUI-64"
        return [
            msh(identity, type: "ORU^R01^ORU_R01", controlID: controlID, now: now, profile: false),
            pid(identity),
            "PV1||I|\(components(identity.bedLocation))",
            "OBR|1|\(reference)|\(reference)|\(field(MDC.mds))|||\(time)",
            "OBX|1|ST|heartbeat^Alveo agent alive^\(MDC.localSystem)|1.0.0.0|alive|||N|||F|||\(time)||||"
                + "\(e(identity.sendingApplication))^^\(identity.eui64)^EUI-64",
        ].joined(separator: "\r") + "\r"
    }

    static func msh(_ identity: HL7Identity, type: String, controlID: String, now: Date, profile: Bool) -> String {
        var fields = [
            "MSH", "^~\\&", "\(e(identity.sendingApplication))^\(identity.eui64)^EUI-64", e(identity.sendingFacility),
            e(identity.receivingApplication), e(identity.receivingFacility), timestamp(now), "", type, e(controlID),
            "P", "2.6", "", "", "AL", "NE", "", "UNICODE UTF-8",
        ]
        if profile { fields += ["", "", "IHE_PCD_ACM_001^IHE PCD^\(e(identity.profileOID))^ISO"] }
        return fields.joined(separator: "|")
    }

    /// PID-3 `id^^^authority^type`, PID-5 with name type L (legal) when a name is known. Both keep
    /// their types' shapes whatever they hold (`HL7Escaping.composite` with limits): the authority is
    /// one HD (namespace&universal id&type: a `^` in it is data), the name an XPN whose family (FN) has
    /// at most 5 subcomponents, its other components none, and at most 7 components (the 7th the name
    /// type code, `L` when not given).
    static func pid(_ identity: HL7Identity) -> String {
        let authority = HL7Escaping.composite(identity.patientIDAuthority, components: 1, subcomponents: { _ in 3 })
        let id = "\(e(identity.patientID))^^^\(authority)^\(e(identity.patientIDTypeCode))"
        var name = HL7Escaping.composite(identity.patientName, components: 7, subcomponents: { $0 == 0 ? 5 : 1 })
        let parts = HL7Escaping.pieces(identity.patientName).count
        if identity.patientName != "UNKNOWN", !identity.patientName.isEmpty, parts < 7 {
            name += String(repeating: "^", count: 7 - parts) + "L"
        }
        return "PID|||\(id)||\(name)"
    }

    static func field(_ code: CodedElement) -> String { "\(e(code.code))^\(e(code.text))^\(e(code.system))" }

    /// A composite field held as one string, `^` between its components and `&` between
    /// subcomponents (PID-5 family^given, PV1-3 unit^room^bed^facility, a facility HOSP&1.2.3&ISO),
    /// a component's own delimiters escaped in it (an ADT family `DOE\S\X`): `HL7Escaping.composite`.
    static func components(_ text: String) -> String { HL7Escaping.composite(text) }

    /// HL7 escaping of the delimiters in free text, on Unicode scalars; control characters become
    /// spaces, so nothing can end a field or a segment early (`HL7Escaping.escape`).
    static func e(_ text: String) -> String { HL7Escaping.escape(text) }

    /// `YYYYMMDDHHMMSS.sss+0000` (HL7 DTM, UTC), from the RFC 3339 text: no DateFormatter a message
    /// (its cost, and its first use paging in ICU's locale data: megabytes of resident memory).
    static func timestamp(_ date: Date) -> String {
        let separators: [UInt8] = Array("-:TZ".utf8)
        return String(decoding: rfc3339(date).utf8.filter { !separators.contains($0) }, as: UTF8.self) + "+0000"
    }

    /// An RFC 3339 time, with or without fractional seconds.
    package static func parseRFC3339(_ text: String) -> Date? {
        // The form Alveo writes (`2026-11-25T16:53:35.953Z`, every journal line's wall_time) without a
        // formatter; any other form (an offset, a --start typed by hand) through ISO8601DateFormatter.
        let utf8 = text.utf8
        if utf8.count >= 20, utf8[utf8.index(utf8.startIndex, offsetBy: 10)] == UInt8(ascii: "T"),
           let milliseconds = UTCTime.parse(rfc3339: text)
        {
            return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    /// An RFC 3339 UTC timestamp with milliseconds, for journal entries.
    package static func rfc3339(_ date: Date) -> String {
        UTCTime.rfc3339(millisecondsSince1970: Int64(saturating: (date.timeIntervalSince1970 * 1000).rounded(.down)))
    }

    /// MSA-1 and MSA-2 of an ACK, or nil if it is not a well-formed ACK.
    package static func parseACK(_ message: String) -> (code: String, controlID: String)? {
        // On bytes: a delimiter followed by a combining mark is still a delimiter.
        for segment in message.utf8.split(whereSeparator: { $0 == 0x0D || $0 == 0x0A }) where segment.starts(with: "MSA|".utf8) {
            let fields = segment.split(separator: UInt8(ascii: "|"), omittingEmptySubsequences: false)
            guard fields.count >= 3 else { return nil }
            return (String(decoding: fields[1], as: UTF8.self), String(decoding: fields[2], as: UTF8.self))
        }
        return nil
    }
}
