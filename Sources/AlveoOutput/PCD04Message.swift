import AlveoCore
import Foundation

/// Who and where a message is about: the bed this agent serves.
public struct HL7Identity: Sendable, Equatable {
    public var sendingApplication = "ALVEO"
    public var sendingFacility = ""
    public var receivingApplication = ""
    public var receivingFacility = ""
    /// PID-3: the patient identifier (with its assigning authority, if any).
    public var patientID = ""
    public var patientIDAuthority = ""
    /// PID-5 (required in v2.6): family^given, or a placeholder when the agent is not told the name.
    public var patientName = "UNKNOWN"
    /// PV1-3: point of care ^ room ^ bed ^ facility, e.g. ICU^B1^B1^HOSP.
    public var bedLocation = ""
    /// Prefix of MSH-10 and of the alarm identifiers: unique per bed across the hospital.
    public var bedID = "BED"

    public init() {}
}

/// Builds IHE PCD-04 (Report Alarm, ORU^R40) messages from journal entries, in the layout of
/// shared/clinical-reference.md. MSH-10 is "<bedID>-<journal seq>": unique and stable per event, so a
/// resent message keeps its id and the receiver can de-duplicate.
public enum PCD04Message {
    public static func controlID(bedID: String, seq: Int64) -> String { "\(bedID)-\(seq)" }

    /// MSH-10 of an entry: by its journal sequence number, or its stand-in when it was not journaled.
    public static func controlID(bedID: String, entry: JournalEntry) -> String {
        entry.unjournaledID.map { "\(bedID)-\($0)" } ?? controlID(bedID: bedID, seq: entry.seq)
    }

    /// The identity a message carries: the configuration's, or the patient journaled with the event
    /// (admitted through ADT or `alveo patient set`; no patient at the bed: UNKNOWN).
    public static func identity(_ configured: HL7Identity, for patient: JournalPatient?) -> HL7Identity {
        guard let patient else { return configured }
        var identity = configured
        identity.patientID = patient.id ?? "UNKNOWN"
        identity.patientIDAuthority = patient.authority ?? ""
        identity.patientName = patient.name ?? "UNKNOWN"
        return identity
    }

    /// The message, segments separated by CR.
    public static func build(entry: JournalEntry, identity configured: HL7Identity, now: Date) -> String {
        let identity = Self.identity(configured, for: entry.patient)
        let event = entry.event
        let time = timestamp(entry.wallTime.flatMap(parseRFC3339) ?? now)
        let rule = event["rule"] as? String ?? "unknown"
        let source = event["source"] as? String
        let alarmID = (event["alarm_id"] as? NSNumber)?.intValue ?? 0
        let phase = event["phase"] as? String ?? "update"
        let state = event["state"] as? String ?? "active"
        let acknowledged = (event["acknowledged"] as? NSNumber)?.boolValue ?? false
        let priority = event["priority"] as? String ?? "low"
        let type = event["type"] as? String ?? "physiological"
        let text = event["text"] as? String ?? ""

        let priorityCode = ["high": "PH", "medium": "PM", "low": "PL"][priority] ?? "PN"
        let typeCode = ["physiological": "SP", "technical": "ST", "advisory": "SA"][type] ?? "SA"
        let flag = "\(abnormalFlag(rule))~\(priorityCode)~\(typeCode)"
        // Alarm ids restart with each run of the agent: the run id keeps the reference unique.
        let alarmRef = "\(identity.bedID)-\(entry.run.map { "\($0)-" } ?? "")A\(alarmID)^\(e(identity.sendingApplication))"
        let sourceName = source.map { "\(identity.sendingApplication)-\($0)" } ?? identity.sendingApplication
        let inactivation = acknowledged ? "alert-acknowledged" : "enabled"

        var segments: [String] = []
        segments.append([
            "MSH", "^~\\&", e(identity.sendingApplication), e(identity.sendingFacility), e(identity.receivingApplication),
            e(identity.receivingFacility), time, "", "ORU^R40^ORU_R40", controlID(bedID: identity.bedID, entry: entry),
            "P", "2.6", "", "", "AL", "NE", "", "UNICODE UTF-8", "", "",
            "IHE_PCD_ACM_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.4.1^ISO",
        ].joined(separator: "|"))
        let pid = identity.patientIDAuthority.isEmpty ? e(identity.patientID) : "\(e(identity.patientID))^^^\(e(identity.patientIDAuthority))"
        segments.append("PID|||\(pid)||\(components(identity.patientName))")
        segments.append("PV1||I|\(components(identity.bedLocation))")
        segments.append("OBR|1|\(alarmRef)|\(alarmRef)|196616^MDC_EVT_ALARM^MDC|||\(time)")
        segments.append("OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X")
        segments.append("OBX|2|ST|\(eventCode(rule))|1.0.0.0.1|\(e(text))|||\(flag)|||R|||\(time)||||\(e(sourceName))")
        let facets: [(String, String)] = [
            ("68164^MDC_ATTR_ALERT_SOURCE^MDC", source ?? rule),
            ("68165^MDC_ATTR_EVENT_PHASE^MDC", phase),
            ("68166^MDC_ATTR_ALERT_STATE^MDC", state),
            ("68167^MDC_ATTR_ALARM_INACTIVATION_STATE^MDC", inactivation),
            ("68484^MDC_ATTR_ALARM_PRIORITY^MDC", priorityCode),
            ("68485^MDC_ATTR_ALERT_TYPE^MDC", typeCode),
        ]
        for (index, facet) in facets.enumerated() {
            segments.append("OBX|\(index + 3)|ST|\(facet.0)|1.0.0.0.\(index + 2)|\(e(facet.1))|||\(flag)|||R")
        }
        return segments.joined(separator: "\r") + "\r"
    }

    /// The periodic "bed alive" message: an ORU^R01 with the monitoring system as its only observation.
    public static func heartbeat(identity: HL7Identity, controlID: String, now: Date) -> String {
        let time = timestamp(now)
        let pid = identity.patientIDAuthority.isEmpty ? e(identity.patientID) : "\(e(identity.patientID))^^^\(e(identity.patientIDAuthority))"
        return [
            ["MSH", "^~\\&", e(identity.sendingApplication), e(identity.sendingFacility), e(identity.receivingApplication),
             e(identity.receivingFacility), time, "", "ORU^R01^ORU_R01", controlID, "P", "2.6", "", "", "AL", "NE", "",
             "UNICODE UTF-8"].joined(separator: "|"),
            "PID|||\(pid)||\(components(identity.patientName))",
            "PV1||I|\(components(identity.bedLocation))",
            "OBR|1|\(controlID)^\(e(identity.sendingApplication))|\(controlID)^\(e(identity.sendingApplication))|69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|||\(time)",
            "OBX|1|ST|heartbeat^Alveo agent alive^ALVEO|1.0.0.0|alive|||N|||R|||\(time)",
        ].joined(separator: "\r") + "\r"
    }

    /// OBX-3 of the alarm: the MDC code of the metric it is about where one exists, else the rule id in
    /// Alveo's own coding system.
    static func eventCode(_ rule: String) -> String {
        switch rule {
        case "oxygenation.spo2_low": "150456^MDC_PULS_OXIM_SAT_O2^MDC"
        case "lpv.tidal_volume_high", "lpv.tidal_volume_low": "151980^MDC_VENT_VOL_TIDAL^MDC"
        case "lpv.plateau_high": "152424^MDC_VENT_PRESS_RESP_PLAT^MDC"
        case "oxygenation.pf_severity", "oxygenation.pf_falling": "150656^MDC_O2_OXYGENATION_RATIO^MDC"
        default: "\(rule)^\(rule)^ALVEO"
        }
    }

    /// OBX-8's first component: H or L for a value above or below its limit, A otherwise.
    static func abnormalFlag(_ rule: String) -> String {
        switch rule {
        case "lpv.tidal_volume_high", "lpv.plateau_high", "lpv.driving_pressure_high": "H"
        case "lpv.tidal_volume_low", "oxygenation.spo2_low", "oxygenation.pf_severity", "oxygenation.pf_falling": "L"
        default: "A"
        }
    }

    /// A composite field given in configuration with `^` between its components and `&` between
    /// subcomponents (PID-5 family^given, PV1-3 unit^room^bed^facility, a facility HOSP&1.2.3&ISO):
    /// each piece escaped, the `^` and `&` kept.
    static func components(_ text: String) -> String {
        text.split(separator: "^", omittingEmptySubsequences: false).map { component in
            component.split(separator: "&", omittingEmptySubsequences: false).map { e(String($0)) }.joined(separator: "&")
        }.joined(separator: "^")
    }

    /// HL7 escaping of the delimiters in free text; control characters (which configuration refuses
    /// and the core never writes) become spaces, so nothing can end a segment early.
    static func e(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "\\": out += "\\E\\"
            case "|": out += "\\F\\"
            case "^": out += "\\S\\"
            case "~": out += "\\R\\"
            case "&": out += "\\T\\"
            default:
                if character.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                    out += " "
                } else {
                    out.append(character)
                }
            }
        }
        return out
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMddHHmmss.SSS"
        return formatter.string(from: date) + "+0000"
    }

    static func parseRFC3339(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    /// An RFC 3339 UTC timestamp with milliseconds, for journal entries.
    public static func rfc3339(_ date: Date) -> String {
        UTCTime.rfc3339(millisecondsSince1970: Int64(saturating: (date.timeIntervalSince1970 * 1000).rounded(.down)))
    }

    /// MSA-1 and MSA-2 of an ACK, or nil if it is not a well-formed ACK.
    public static func parseACK(_ message: String) -> (code: String, controlID: String)? {
        for segment in message.split(whereSeparator: { $0 == "\r" || $0 == "\n" }) where segment.hasPrefix("MSA|") {
            let fields = segment.split(separator: "|", omittingEmptySubsequences: false)
            guard fields.count >= 3 else { return nil }
            return (String(fields[1]), String(fields[2]))
        }
        return nil
    }
}
