import AlveoAgent
import ArgumentParser

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print Alveo's version and the C libraries it linked.")

    /// What `alveo version` and `alveo --version` print.
    static var text: String { AlveoVersion.text }

    func run() {
        print(Version.text)
    }
}
