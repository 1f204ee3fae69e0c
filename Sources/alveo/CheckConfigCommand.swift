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

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate an agent configuration without touching any device.")

    @Argument(help: "The YAML configuration file.")
    var file: String

    func run() throws {
        let config = try loadConfig(file)
        let patient = config.patient
        let described = if let pbw = patient.predictedBodyWeightKg, let sex = patient.sex, let height = patient.heightCm {
            "patient \(sex.rawValue), \(Fmt.fixed(height, 0)) cm, PBW \(Fmt.fixed(pbw, 1)) kg"
        } else {
            "patient's sex or height not known yet: Vt per kg PBW is not checked until they are set"
        }
        print("\(file): ok (\(described))")
        for device in config.serialDevices {
            let line = "\(device.settings.baud) \(device.settings.dataBits)\(device.settings.parity.rawValue.prefix(1).uppercased())\(device.settings.stopBits), flow \(device.settings.flowControl.rawValue)"
            let polled = device.serialProtocol == .pb840 || device.serialProtocol == .medibus ? ", polled every \(device.pollInterval) s" : ", streaming"
            print("  device \(device.id): serial \(device.path) at \(line), \(device.serialProtocol.rawValue)\(polled)")
        }
        for device in config.devices {
            let reads = device.profile.fields.count
            print("  device \(device.id): \(device.endpoint) unit \(device.unitID), profile \(device.profile.name) (\(reads) values), every \(device.pollInterval)")
        }
    }
}
