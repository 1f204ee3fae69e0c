/// Phase of an alarm event (a subset of the IHE PCD-04 event phases): `escalate` only when the
/// priority rises, `de-escalate` only when it falls; `update` for latching, acknowledgement,
/// recurrence, a changed stage or indication; `continue` only for the re-announcement of an unchanged,
/// unacknowledged alarm.
package enum AlarmPhase: String, Sendable, CaseIterable {
    case start, update, escalate
    case deescalate = "de-escalate"
    case `continue`, end
}

/// Alarm state after the event (IHE PCD-04 MDC_ATTR_ALERT_STATE).
package enum AlarmState: String, Sendable {
    /// The condition is present.
    case active
    /// The condition has ended but a high-priority alarm stays until acknowledged.
    case latched
    /// The alarm is over.
    case inactive
}

/// One alarm state change: what the journal records and the central station receives.
package struct AlarmEvent: Sendable, Equatable {
    /// Seconds since the scenario or run start (the time of the observation group that caused it).
    package var t: Double
    /// Identifies the alarm instance across its events (start … end): 1, 2, … in order of start.
    package var alarmID: Int
    package var rule: RuleID
    /// The device or channel, for per-source rules.
    package var source: String?
    /// The parameter, for technical.value_rejected.
    package var parameter: Parameter?
    package var phase: AlarmPhase
    package var priority: Priority
    package var state: AlarmState
    package var acknowledged: Bool
    /// Why an update, escalate, continue or end happened: tier, reannounce, latched, acknowledged, recurred,
    /// indication, patient_changed, …
    package var reason: String?
    package var text: String
    package var evidence: [(String, JSONValue)]
    /// The run of the agent that started this alarm, when it is not the run that reports the event:
    /// the end of an alarm a previous run left in force (reason `agent_restarted`), or of its
    /// `technical.monitoring_stopped`. The station threads the event to that run's alarm (OBR-3).
    package var run: String?

    package var type: AlarmType { rule.type }
    package var reference: String { rule.reference }

    package init(t: Double, alarmID: Int, rule: RuleID, source: String?, parameter: Parameter?, phase: AlarmPhase,
                priority: Priority, state: AlarmState, acknowledged: Bool, reason: String?, text: String,
                evidence: [(String, JSONValue)], run: String? = nil)
    {
        self.run = run
        self.t = t
        self.alarmID = alarmID
        self.rule = rule
        self.source = source
        self.parameter = parameter
        self.phase = phase
        self.priority = priority
        self.state = state
        self.acknowledged = acknowledged
        self.reason = reason
        self.text = text
        self.evidence = evidence
    }

    package static func == (lhs: AlarmEvent, rhs: AlarmEvent) -> Bool { lhs.jsonLine() == rhs.jsonLine() }

    /// The event as one line of JSON (no trailing newline). Key order is fixed.
    package func jsonLine() -> String {
        var members: [(String, JSONValue)] = [("t", .number(t)), ("alarm_id", .number(Double(alarmID)))]
        if let run { members.append(("run", .string(run))) }
        members.append(("rule", .string(rule.id)))
        if let source { members.append(("source", .string(source))) }
        if let parameter { members.append(("parameter", .string(parameter.name))) }
        members.append(("phase", .string(phase.rawValue)))
        members.append(("priority", .string(priority.name)))
        members.append(("type", .string(type.rawValue)))
        members.append(("state", .string(state.rawValue)))
        members.append(("acknowledged", .bool(acknowledged)))
        if let reason { members.append(("reason", .string(reason))) }
        members.append(("text", .string(text)))
        members.append(("evidence", .object(evidence)))
        members.append(("reference", .string(reference)))
        var out = ""
        out.reserveCapacity(512)
        JSONValue.object(members).write(to: &out)
        return out
    }
}
