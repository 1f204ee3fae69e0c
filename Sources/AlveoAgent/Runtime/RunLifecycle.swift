import AlveoCore
import AlveoIO
import AlveoOutput
import Foundation

/// The texts of the agent's own lifecycle, as the runtime hands them to the bedside loop (and a trace
/// records them, so that replay takes the very same entries): the stop of a clinical run, and at the
/// next start the reconciliation with what the previous run left in force (docs/integration.md §2.8).
package enum RunLifecycle {
    /// The texts of a stop at `now`.
    package static func stop(bed: String?, now: Date) -> LifecycleEntry {
        let theBed = phrase(bed)
        return .stop(LifecycleTexts(
            active: "Alveo stopped at \(clockTime(now)): \(theBed) is no longer watched by Alveo. Its alarms were ended; watch the patient by other means until Alveo runs again.",
            cleared: "Alveo watches \(theBed) again.",
            evidence: [("bed", bed.map { .string($0) } ?? .null), ("stopped_at", .string(PCD04Message.rfc3339(now)))]))
    }

    /// What to do at start with what the previous run left (`previous`), at `now`.
    static func reconciliation(_ previous: PreviousRun, bed: String?, now: Date) -> LifecycleEntry {
        let theBed = phrase(bed)
        let lastSeen = previous.lastSeen.map { min($0, now) }
        let stoppedAt = lastSeen.map(clockTime) ?? "an unknown time"
        let gapSeconds = lastSeen.map { max(0, now.timeIntervalSince($0)) }
        let how = previous.stoppedCleanly ? "after it was stopped at \(stoppedAt)" : "after it stopped unexpectedly (last heard of at \(stoppedAt))"
        var gap: LifecycleTexts?
        if !previous.stoppedCleanly {
            let length = gapSeconds.map { " (\(Fmt.duration($0)))" } ?? ""
            gap = LifecycleTexts(
                active: "Alveo was not watching \(theBed) from \(stoppedAt) to \(clockTime(now))\(length): it stopped without a clean shutdown (crash, kill or power cut). The alarms it had raised were ended; conditions still present are raised again.",
                cleared: "Alveo watches \(theBed) again since \(clockTime(now)), after a gap in monitoring from \(stoppedAt)\(length).",
                evidence: [("bed", bed.map { .string($0) } ?? .null), ("previous_run", previous.run.map { .string($0) } ?? .null),
                           ("stopped_at", lastSeen.map { .string(PCD04Message.rfc3339($0)) } ?? .null),
                           ("resumed_at", .string(PCD04Message.rfc3339(now))), ("gap_s", gapSeconds.map { .number(($0 * 1000).rounded() / 1000) } ?? .null)])
        }
        let resume = previous.open.last { $0.event.rule == .monitoringStopped }
        return .reconcile(LifecycleEntry.Reconciliation(
            open: previous.open, carried: previous.carried,
            endText: "Ended: Alveo restarted at \(clockTime(now)) \(how). If the condition still holds it is raised again as a new alarm.",
            gap: gap, resume: resume,
            resumeText: "Alveo watches \(theBed) again since \(clockTime(now)) (stopped at \(stoppedAt)\(gapSeconds.map { ", \(Fmt.duration($0)) without Alveo" } ?? "")).")
        )
    }

    /// The bed as texts name it: "bed ICU-B1", or "this bed" when the configuration names none
    /// (`outputs.hl7.bed_id` or `outputs.syslog.bed_id`).
    package static func phrase(_ bed: String?) -> String { bed.map { "bed \($0)" } ?? "this bed" }

    /// A wall-clock time as people at the bed read it: the box's local time, with the date when it is
    /// not today.
    static func clockTime(_ date: Date) -> String {
        let local = LocalTime(date), today = LocalTime(Date())
        return (local.isSameDay(as: today) ? "" : local.date + " ") + local.hoursMinutes + (today.utcOffset == 0 ? " UTC" : "")
    }
}
