/// An alarm a run of the agent left in force, as its journal says: the run that started it and its
/// last event (rule, source, id, priority, state, acknowledgement, text, evidence).
package struct OpenAlarm: Sendable, Equatable {
    /// The run that started the alarm (the journal's run id; nil for a journal without run ids).
    package var run: String?
    package var event: AlarmEvent

    package init(run: String?, event: AlarmEvent) {
        self.run = run
        self.event = event
    }

    /// The alarm's reference within the bed: `<run>-A<alarm id>` (the station's OBR-3 carries it
    /// after the bed id).
    package var reference: String { "\(run.map { "\($0)-" } ?? "")A\(event.alarmID)" }

    /// Latched and not acknowledged: only an operator's act may end it.
    package var isLatchedUnacknowledged: Bool { event.state == .latched && !event.acknowledged }
}

/// The texts of a stop or a restart, written by the agent (they name the bed and the wall-clock
/// times, which the core does not know) and recorded with it, so that replay says the same.
package struct LifecycleTexts: Sendable, Equatable {
    package var active: String
    package var cleared: String
    package var evidence: [(String, JSONValue)]

    package init(active: String, cleared: String, evidence: [(String, JSONValue)]) {
        self.active = active
        self.cleared = cleared
        self.evidence = evidence
    }

    package static func == (lhs: LifecycleTexts, rhs: LifecycleTexts) -> Bool {
        lhs.active == rhs.active && lhs.cleared == rhs.cleared && JSONValue.object(lhs.evidence) == JSONValue.object(rhs.evidence)
    }
}

/// The agent's own lifecycle in the core: a clean stop, and the reconciliation at the next start
/// (docs/integration.md, "Alarm lifecycle across stops and restarts").
extension ClinicalCore {
    /// The start of the end text of a latched, unacknowledged alarm at a stop (its last text follows);
    /// the carried-over alarm at the next start keeps only what follows it.
    static let stoppedLatchedPrefix = "Ended: Alveo stopped watching this bed. Latched and not acknowledged: it is carried over when Alveo starts again. Was: "

    /// How long after a restart a new start of an alarm the previous run left in force names it.
    package static let previousAlarmWindow: Double = 3600

    /// The agent is stopping (SIGTERM, SIGINT): every alarm in force ends with reason `agent_stopped`
    /// (a latched, unacknowledged one says so in its evidence, `latched_unacknowledged`, and is
    /// carried over at the next start), then `technical.monitoring_stopped` starts, to tell the
    /// station that the bed is no longer watched.
    package mutating func stopMonitoring(at t: Double, texts: LifecycleTexts) -> [AlarmEvent] {
        now = max(now, t.isNaN ? now : t)
        let latched = Set(activeAlarms.filter { $0.latched && !$0.acknowledged }.map(\.alarmID))
        var events = endAll(reason: "agent_stopped", at: now).map { event in
            guard latched.contains(event.alarmID) else { return event }
            var carried = event
            carried.text = ClinicalCore.stoppedLatchedPrefix + event.text.dropPrefix("Ended: Alveo stopped watching this bed. Was: ")
            carried.evidence.append(("latched_unacknowledged", .bool(true)))
            return carried
        }
        lifecycleTexts[.monitoringStopped] = AlarmDescription(active: texts.active, cleared: texts.cleared, evidence: texts.evidence)
        let key = AlarmKey(rule: .monitoringStopped)
        if let transition = alarms.step(key, .active(.medium), at: now) { events.append(makeEvent(key, transition, describe(key, at: now), at: now)) }
        return events
    }

    /// The agent starts after a previous run (before it polls): each alarm that run left in force
    /// ends with reason `agent_restarted`, threaded to its instance (`run`), except the previous
    /// run's `technical.monitoring_stopped`, which ends at the first poll (`resumeMonitoring`). An
    /// unacknowledged latched alarm (left open, or ended by a clean stop: `carried`) starts again
    /// latched, naming the previous one; any other alarm, if its condition still holds, starts again
    /// as a new instance naming it (`previous_alarm`). `gap`: the previous run stopped without a clean
    /// shutdown; `technical.monitoring_gap` records when monitoring stopped and resumed.
    package mutating func reconcile(open: [OpenAlarm], carried: [OpenAlarm], endText: String, gap: LifecycleTexts?,
                                   at t: Double) -> [AlarmEvent]
    {
        now = max(now, t.isNaN ? now : t)
        changed = .all
        var events: [AlarmEvent] = []
        var latched: [OpenAlarm] = carried
        for alarm in open where alarm.event.rule != .monitoringStopped {
            var end = alarm.event
            end.t = now
            end.phase = .end
            end.state = .inactive
            end.reason = "agent_restarted"
            end.run = alarm.run
            end.text = endText + " Was: " + alarm.event.text
            end.evidence = alarm.event.evidence.filter { $0.0 != "previous_alarm" } + [("previous_run", alarm.run.map { .string($0) } ?? .null)]
            events.append(end)
            // The agent's own conditions (delivery, journal) are raised again by the outputs if they hold.
            if alarm.event.rule.isAgentCondition || alarm.event.rule.isLifecycle { continue }
            if alarm.isLatchedUnacknowledged { latched.append(alarm) } else { remember(alarm) }
        }
        if let gap {
            lifecycleTexts[.monitoringGap] = AlarmDescription(active: gap.active, cleared: gap.cleared, evidence: gap.evidence)
            let key = AlarmKey(rule: .monitoringGap)
            if let start = alarms.step(key, .active(.medium), at: now) { events.append(makeEvent(key, start, describe(key, at: now), at: now)) }
            if let end = alarms.step(key, .inactive, at: now) { events.append(makeEvent(key, end, describe(key, at: now), at: now)) }
        }
        for alarm in latched where !alarm.event.rule.isLifecycle && !alarm.event.rule.isAgentCondition {
            let key = alarmKey(alarm.event)
            guard alarms.instance(key) == nil else { continue }
            let transition = alarms.startLatched(key, priority: alarm.event.priority, at: now)
            events.append(AlarmEvent(
                t: now, alarmID: transition.alarmID, rule: alarm.event.rule, source: alarm.event.source, parameter: alarm.event.parameter,
                phase: .start, priority: transition.priority, state: .latched, acknowledged: false, reason: "carried_over",
                text: "Latched alarm carried over from before Alveo restarted (acknowledge it to end it). Was: "
                    + alarm.event.text.dropPrefix(ClinicalCore.stoppedLatchedPrefix),
                evidence: alarm.event.evidence.filter { !["previous_alarm", "latched_unacknowledged", "previous_run"].contains($0.0) }
                    + [("previous_alarm", .string(alarm.reference))]))
        }
        return events
    }

    /// The first poll after a restart that followed a clean stop: the previous run's
    /// `technical.monitoring_stopped` ends (threaded to it), reason `monitoring_resumed`.
    package func resumeMonitoring(_ stopped: OpenAlarm, text: String, at t: Double) -> AlarmEvent {
        var end = stopped.event
        end.t = max(now, t.isNaN ? now : t)
        end.phase = .end
        end.state = .inactive
        end.reason = "monitoring_resumed"
        end.run = stopped.run
        end.text = text
        return end
    }

    private mutating func remember(_ alarm: OpenAlarm) {
        previousAlarms[alarmKey(alarm.event)] = (alarm.reference, now + ClinicalCore.previousAlarmWindow)
    }

    private mutating func alarmKey(_ event: AlarmEvent) -> AlarmKey {
        AlarmKey(rule: event.rule, source: event.rule.type == .technical ? event.source.map { source(named: $0) } ?? -1 : -1,
                 parameter: event.parameter?.rawValue ?? -1)
    }
}

extension String {
    func dropPrefix(_ prefix: String) -> String { hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self }
}
