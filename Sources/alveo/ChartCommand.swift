import AlveoAgent
import ArgumentParser
import Foundation

struct Chart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Chart values at the running agent: pao2=62 hb=8.1 hemoptysis=50 position=prone creatinine=2.1.",
        discussion: """
            Values are in Alveo's units (PaO2 mmHg, Hb g/dL, creatinine mg/dL, haemoptysis ml) unless a unit follows \
            the number: pao2=8.2kPa, hb=81g/L, creatinine=180umol/L. --sampled gives when the sample was taken: a \
            clock time today (10:02; yesterday when later than now), a time ago (-25min, -90s, -2h) or an RFC 3339 \
            UTC time. A blood gas of 10:02 uses the FiO2 of 10:02. Samples in the future or older than \
            max_sample_age_s (6 h) are refused.
            """)

    @Argument(help: "PARAMETER=VALUE, e.g. pao2=62.")
    var values: [String]

    @Option(name: .long, parsing: .unconditional, help: "When sampled: 10:02, -25min or 2026-11-29T10:02:00Z (default: now).")
    var sampled: String?

    @Option(name: .long, help: "Who charts (journaled with the entry).")
    var by: String?

    @OptionGroup var control: ControlOptions

    func validate() throws {
        guard !values.isEmpty, values.count <= 32 else { throw ValidationError("give 1 to 32 PARAMETER=VALUE") }
        for value in values {
            if let problem = ChartRequest.argumentProblem(value) { throw ValidationError(problem) }
        }
        if let sampled, SampleTime.parse(sampled, now: Date()) == nil {
            throw ValidationError("--sampled '\(ControlServer.shown(sampled))': give 10:02, -25min or 2026-11-29T10:02:00Z")
        }
    }

    func run() async throws {
        try control.checkText([("--by", by)])
        let request = ChartRequest(arguments: values, sampled: sampled.flatMap { SampleTime.parse($0, now: Date()) }, by: by)
        let reply = try await control.send { socket throws(ControlClient.Failure) in try await ControlClient.chart(request, socket: socket) }
        if control.json { return }
        try writeStandardOutput(EntryText.render(reply, done: "charted"))
    }
}
