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

    func run() {
        print("alveo \(AlveoVersion.string)")
        print("libmodbus \(LinkedLibraries.modbusVersion)")
        print("libserialport \(LinkedLibraries.serialPortVersion)")
        print(LinkedLibraries.openSSLVersion)
    }
}
