import AlveoAgent
import AlveoCore
import AlveoDevices
import AlveoIO
import AlveoOutput
import AlveoTrace
import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print Alveo's version and the C libraries it linked.")

    /// What `alveo version` and `alveo --version` print.
    static var text: String {
        ["alveo \(AlveoVersion.string)", "libmodbus \(LinkedLibraries.modbusVersion)", "libserialport \(LinkedLibraries.serialPortVersion)",
         LinkedLibraries.openSSLVersion].joined(separator: "\n")
    }

    func run() {
        print(Version.text)
    }
}
