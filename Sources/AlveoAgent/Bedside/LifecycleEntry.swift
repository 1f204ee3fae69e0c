import AlveoCore
import AlveoOutput
import Foundation

/// The agent's own stop and restart, as the bedside loop takes them: composed by the live agent (it
/// knows the bed, the wall clock and the journal), recorded in a raw trace as a `lifecycle` record, so
/// that replay of the trace gives the same events (docs/integration.md §2.8).
package enum LifecycleEntry: Sendable, Equatable {
    /// SIGTERM or SIGINT: every alarm in force ends (`agent_stopped`), `technical.monitoring_stopped` starts.
    case stop(LifecycleTexts)
    /// The start after a previous run, before polling: what that run left in force ends
    /// (`agent_restarted`), latched alarms are carried over, a crash is recorded as a
    /// `technical.monitoring_gap`, and the previous run's `technical.monitoring_stopped` ends at the
    /// first poll (`resume`).
    case reconcile(Reconciliation)

    package struct Reconciliation: Sendable, Equatable {
        package var open: [OpenAlarm]
        package var carried: [OpenAlarm]
        package var endText: String
        package var gap: LifecycleTexts?
        /// The previous run's `technical.monitoring_stopped` and the text of its end.
        package var resume: OpenAlarm?
        package var resumeText: String

        package init(open: [OpenAlarm], carried: [OpenAlarm], endText: String, gap: LifecycleTexts?, resume: OpenAlarm?, resumeText: String) {
            self.open = open
            self.carried = carried
            self.endText = endText
            self.gap = gap
            self.resume = resume
            self.resumeText = resumeText
        }
    }

    /// The record's payload (JSON).
    package func json() -> [UInt8] {
        func texts(_ texts: LifecycleTexts?) -> String {
            guard let texts else { return "null" }
            var out = ""
            JSONValue.object([("active", .string(texts.active)), ("cleared", .string(texts.cleared)), ("evidence", .object(texts.evidence))])
                .write(to: &out)
            return out
        }
        func string(_ text: String) -> String {
            var out = ""
            JSONValue.string(text).write(to: &out)
            return out
        }
        switch self {
        case .stop(let stop):
            return Array("{\"stop\":\(texts(stop))}".utf8)
        case .reconcile(let r):
            let body = "\"open\":[\(r.open.map { $0.json() }.joined(separator: ","))],\"carried\":[\(r.carried.map { $0.json() }.joined(separator: ","))],"
                + "\"end_text\":\(string(r.endText)),\"gap\":\(texts(r.gap)),\"resume\":\(r.resume?.json() ?? "null"),"
                + "\"resume_text\":\(string(r.resumeText))"
            return Array("{\"reconcile\":{\(body)}}".utf8)
        }
    }

    /// From a record's payload; nil if it is not one (a damaged trace: counted as unreadable).
    package static func decode(_ payload: [UInt8]) -> LifecycleEntry? {
        guard payload.count <= 4 << 20, let object = JSONValue.parse(payload), object.isObject else { return nil }
        func texts(_ value: JSONValue?) -> LifecycleTexts? {
            guard let value, let active = value["active"]?.text, let cleared = value["cleared"]?.text else { return nil }
            // Members in key order, as the parser keeps them.
            return LifecycleTexts(active: active, cleared: cleared, evidence: value["evidence"]?.members ?? [])
        }
        func alarm(_ value: JSONValue?) -> OpenAlarm? { value.flatMap { OpenAlarm(json: $0) } }
        if let stop = object["stop"] { return texts(stop).map { .stop($0) } }
        guard let r = object["reconcile"], r.isObject else { return nil }
        let open = (r["open"]?.items ?? []).compactMap(alarm)
        let carried = (r["carried"]?.items ?? []).compactMap(alarm)
        return .reconcile(Reconciliation(open: open, carried: carried, endText: r["end_text"]?.text ?? "",
                                         gap: texts(r["gap"]), resume: alarm(r["resume"]), resumeText: r["resume_text"]?.text ?? ""))
    }
}
