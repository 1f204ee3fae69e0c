import AlveoCore
import Foundation

/// One journal line as read back, decoded once into a typed record.
package struct JournalEntry: Sendable {
    /// What the line holds.
    package enum Content: Sendable {
        /// An alarm event: what the forwarders deliver.
        case alarm(AlarmEvent)
        /// A charted or lab entry, or an input from a person or the hospital: the record, not an
        /// alarm; forwarders skip it.
        case record
        /// An event line that does not decode (written by another version of Alveo, or damaged):
        /// forwarders park it with this reason rather than guess at its fields.
        case unreadable(String)
    }

    package var seq: Int64
    /// The agent run that wrote it (see Journal.runID).
    package var run: String?
    /// When the event was recorded (RFC 3339, UTC): live, the moment it was detected; in replay, the
    /// virtual time mapped to the wall clock (`alveo replay --start`). Nil in journals written before
    /// replays carried it; the message then carries the time it is built.
    package var wallTime: String?
    /// The event as written (`AlarmEvent.jsonLine()`), kept verbatim for the parked file; empty for
    /// a charted or lab entry.
    package var eventJSON: String
    package var content: Content
    /// Set for an event that could not be journaled (the journal failed) and is handed to the
    /// forwarders directly: it stands in for the sequence number in MSH-10 and the syslog `seq`
    /// (e.g. `JF-20261129T101500Z-1000001`), and the forwarder keeps no position for it.
    package var unjournaledID: String?

    /// Who the event is about, when the bed's patient came from an admission (else the configuration's
    /// identity applies).
    package var patient: JournalPatient?

    /// The entry as logs name it: its sequence number, or its stand-in when it was not journaled.
    package var label: String { unjournaledID ?? "\(seq)" }

    /// The alarm event, if the line is one.
    package var event: AlarmEvent? {
        if case .alarm(let event) = content { return event }
        return nil
    }

    /// A charted or lab entry, not an alarm event: forwarders skip it.
    package var isManualEntry: Bool {
        if case .record = content { return true }
        return false
    }

    package init(seq: Int64, run: String?, wallTime: String?, eventJSON: String, content: Content, unjournaledID: String? = nil) {
        self.seq = seq
        self.run = run
        self.wallTime = wallTime
        self.eventJSON = eventJSON
        self.content = content
        self.unjournaledID = unjournaledID
    }

    /// An entry for an event in hand (not read from a file).
    package init(seq: Int64, run: String?, wallTime: String?, event: AlarmEvent, unjournaledID: String? = nil,
                patient: JournalPatient? = nil)
    {
        self.init(seq: seq, run: run, wallTime: wallTime, eventJSON: event.jsonLine(), content: .alarm(event),
                  unjournaledID: unjournaledID)
        self.patient = patient
    }

    /// An entry from the text of an event (`AlarmEvent.jsonLine()`), decoded as the reader does.
    package init(seq: Int64, run: String?, wallTime: String?, eventJSON: String, unjournaledID: String? = nil) {
        var content = Content.record
        if !eventJSON.isEmpty {
            if let object = JSONValue.parse(eventJSON.utf8) {
                do { content = .alarm(try AlarmEvent(journal: object)) } catch { content = .unreadable(error.description) }
            } else {
                content = .unreadable("not JSON")
            }
        }
        self.init(seq: seq, run: run, wallTime: wallTime, eventJSON: eventJSON, content: content, unjournaledID: unjournaledID)
    }
}

/// Why a journaled event could not be decoded.
package struct JournalDecodingError: Error, CustomStringConvertible {
    package var description: String
}

extension AlarmEvent {
    /// The event from its journal JSON object (as `jsonLine()` writes it). Every field the outputs use
    /// must be there with a known value: an unknown rule, phase, priority or state is an error, never
    /// a default.
    package init(journal object: JSONValue) throws(JournalDecodingError) {
        guard object.isObject else { throw JournalDecodingError(description: "the event is not a JSON object") }
        func fail(_ what: String) -> JournalDecodingError {
            JournalDecodingError(description: "event \(what)")
        }
        func string(_ key: String) throws(JournalDecodingError) -> String {
            guard let value = object[key]?.text else { throw fail("has no text '\(key)'") }
            return value
        }
        func word<T>(_ key: String, _ decode: (String) -> T?) throws(JournalDecodingError) -> T {
            let text = try string(key)
            guard let value = decode(text) else { throw fail("has an unknown \(key) '\(Shown.text(text.utf8, limit: 48))'") }
            return value
        }
        guard let t = object["t"]?.number, t.isFinite else { throw fail("has no time 't'") }
        guard let alarmID = object["alarm_id"]?.number.map({ Int(clamping: Int64(saturating: $0)) }) else { throw fail("has no 'alarm_id'") }
        let rule = try word("rule") { RuleID(rawValue: $0) }
        let phase = try word("phase") { AlarmPhase(rawValue: $0) }
        let priority = try word("priority") { name in Priority.allCases.first { $0.name == name } }
        let state = try word("state") { AlarmState(rawValue: $0) }
        var parameter: Parameter?
        if object["parameter"] != nil { parameter = try word("parameter") { Parameter(name: $0) } }
        guard let acknowledged = object["acknowledged"]?.bool else { throw fail("has no 'acknowledged'") }
        // Members in key order, as the parser keeps them.
        let evidence = object["evidence"]?.members ?? []
        self.init(t: t, alarmID: alarmID, rule: rule, source: object["source"]?.text, parameter: parameter, phase: phase,
                  priority: priority, state: state, acknowledged: acknowledged, reason: object["reason"]?.text,
                  text: try string("text"), evidence: evidence, run: object["run"]?.text)
    }
}

extension JSONValue {
    /// The number, if this is one.
    package var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// The text, if this is a string.
    package var text: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// An object member by key.
    package subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members.first { $0.0 == key }?.1 }
        return nil
    }
}

extension AlarmEvent {
    /// An evidence member by key.
    package func evidence(_ key: String) -> JSONValue? { evidence.first { $0.0 == key }?.1 }
}

/// The patient an event is about, as journaled with it once the bed's patient came from an admission
/// (HL7 ADT or `alveo patient set`): the identifier, its assigning authority and the name. All nil: no
/// patient at the bed (discharged).
package struct JournalPatient: Sendable, Equatable {
    package var id: String?
    package var authority: String?
    package var name: String?

    package init(id: String?, authority: String?, name: String?) {
        self.id = id
        self.authority = authority
        self.name = name
    }

    init(_ object: JSONValue) {
        id = object["id"]?.text
        authority = object["authority"]?.text
        name = object["name"]?.text
    }

    func json() -> String {
        var out = ""
        JSONValue.object([("id", id.map { .string($0) } ?? .null), ("authority", authority.map { .string($0) } ?? .null),
                          ("name", name.map { .string($0) } ?? .null)]).write(to: &out)
        return out
    }
}
