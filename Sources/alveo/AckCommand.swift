import AlveoAgent
import ArgumentParser

struct Ack: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ack",
        abstract: "Acknowledge the alarms of a rule at the running agent (a latched alarm ends; an active one stops re-announcing).")

    @Argument(help: "The rule, e.g. oxygenation.spo2_low.")
    var rule: String

    @Option(name: .long, help: "Only this source's alarm (technical alarms are per source).")
    var source: String?

    @Option(name: .long, help: "Who acknowledges (journaled and sent with the record).")
    var by: String?

    @OptionGroup var control: ControlOptions

    func run() async throws {
        try control.checkText([("--source", source), ("--by", by)])
        let request = AckRequest(rule: rule, source: source, by: by)
        let reply = try await control.send { socket throws(ControlClient.Failure) in try await ControlClient.ack(request, socket: socket) }
        if control.json { return }
        try writeStandardOutput(EntryText.render(reply, done: "acknowledged"))
    }
}
