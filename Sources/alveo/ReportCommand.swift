import AlveoAgent
import ArgumentParser
import Foundation

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw a self-contained HTML trend report (inline SVG, no script, prints on A4 landscape) from a trend store, a raw trace or a scenario.",
        discussion: """
            From the store `alveo run` keeps (trends.path in the configuration):
              alveo report --trends /var/lib/alveo/trends.sqlite --from 2026-11-29T08:00:00Z -o report.html
            Straight from a raw trace (it carries its configuration) or a scenario with its configuration:
              alveo report devices/pb840/traces/pb840-faults.alvtrace -o report.html
              alveo report --config config/dah-demo.yaml devices/scenarios/dah_escalation.csv -o dah.html
            --check prints the store's row counts and SQLite's quick_check instead. docs/trends.md describes the store and the report.
            """)

    @Option(name: .long, help: "The SQLite trend store to read (written by alveo run, or alveo replay --trends).")
    var trends: String?

    @Argument(help: "Instead of --trends: a raw trace (.alvtrace) or a scenario CSV (with --config), replayed into a store in memory.")
    var source: String?

    @Option(name: .long, help: "With a scenario CSV: its agent configuration (YAML). With --trends or a trace: the bed's configuration, for the limits drawn (Vt, Pplat, driving pressure, MAP, haemoptysis in 24 h); default: the rules' defaults.")
    var config: String = ""

    @Option(name: .long, help: "With a trace or a scenario: the wall-clock time (RFC 3339) of t = 0. Default: a trace's recording start; for a scenario, now.")
    var start: String?

    @Option(name: .long, help: "The report's first moment (RFC 3339). Default: the data's first.")
    var from: String?

    @Option(name: .long, help: "The report's last moment (RFC 3339). Default: the data's last.")
    var to: String?

    @Option(name: .long, help: "Time zone of the times shown (an IANA name such as Europe/Paris). Default: the machine's (TZ).")
    var timeZone: String?

    @Option(name: [.short, .long], help: "Write the report here (created 0640: it is patient data). Default: standard output.")
    var output: String?

    @Flag(name: .long, help: "With --trends: print the store's row counts and SQLite's quick_check, then exit (1 if damaged).")
    var check = false

    func validate() throws {
        if (trends == nil) == (source == nil) { throw ValidationError("give either --trends STORE or a trace or scenario to replay") }
        if check, trends == nil { throw ValidationError("--check reads a store: give --trends") }
        for (name, value) in [("--from", from), ("--to", to)] {
            if let value, !Commands.isRFC3339(value) { throw ValidationError("\(name) must be an RFC 3339 time such as 2026-11-25T16:00:00Z") }
        }
        if let timeZone, TimeZone(identifier: timeZone) == nil { throw ValidationError("--time-zone: '\(timeZone)' is not a time zone name (e.g. Europe/Paris, UTC)") }
    }

    func run() throws {
        try command {
            try Commands.Report(trends: trends, source: source, config: config, start: start, from: from, to: to, timeZone: timeZone,
                                output: output, check: check).run()
        }
    }
}
