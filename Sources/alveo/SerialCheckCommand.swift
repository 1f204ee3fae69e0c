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

struct SerialCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serial-check",
        abstract: "Open a serial port with libserialport, optionally send bytes, and print what arrives.",
        discussion: """
            For clinical engineers wiring a device: proves the port opens with these settings and that bytes flow. \
            With --protocol NAME the device's own conversation is held (an IntelliVue's association, a SERVO's RCTY, \
            SDADB and RADAB, …) and what it decodes is printed, without the clinical rules: run it with `alveo run` \
            stopped (two programs must not talk to one device).
            """)

    @Option(help: "Serial device, e.g. /dev/ttyUSB0 or /dev/serial/by-id/... (symlinks are followed).")
    var path: String
    @Option(help: "Baud rate.") var baud: Int = 9600
    @Option(help: "Data bits (5-8).") var dataBits: Int = 8
    @Option(help: "Parity: none, even, odd.") var parity: String = "none"
    @Option(help: "Stop bits (1 or 2).") var stopBits: Int = 1
    @Option(help: "Flow control: none, xonxoff, rtscts.") var flow: String = "none"
    @Option(help: "Bytes to send first, as hex (e.g. '1B 51 36 43 0D').") var send: String?
    @Option(help: "How long to listen, seconds.") var seconds: Double = 2
    @Option(name: .customLong("protocol"), help: "Hold this serial protocol's conversation and print what it decodes (\(SerialDrivers.names)).")
    var driverName: String?

    func validate() throws {
        guard Parity(rawValue: parity) != nil else { throw ValidationError("--parity must be none, even or odd") }
        guard FlowControl(rawValue: flow) != nil else { throw ValidationError("--flow must be none, xonxoff or rtscts") }
        if let send, (hexBytes(send)?.count ?? 4097) > 4096 || send.utf8.count > 65_536 {
            throw ValidationError("--send must be hex bytes, e.g. '1B 51 36 43 0D' (at most 4096 bytes)")
        }
        guard (50...4_000_000).contains(baud) else { throw ValidationError("--baud must be 50...4000000") }
        guard (5...8).contains(dataBits) else { throw ValidationError("--data-bits must be 5...8") }
        guard (1...2).contains(stopBits) else { throw ValidationError("--stop-bits must be 1 or 2") }
        guard seconds > 0, seconds <= 3600 else { throw ValidationError("--seconds must be in (0, 3600]") }
        if let driverName {
            guard SerialDrivers.named(driverName) != nil else {
                throw ValidationError("--protocol '\(Shown.text(driverName.utf8, limit: 40))' is not one of: \(SerialDrivers.names)")
            }
            guard send == nil else { throw ValidationError("--protocol holds the conversation itself: give --send or --protocol, not both") }
        }
    }

    func run() throws {
        let settings = SerialSettings(baud: baud, dataBits: dataBits, parity: Parity(rawValue: parity)!, stopBits: stopBits,
                                      flowControl: FlowControl(rawValue: flow)!)
        do {
            let port = try SerialPort(path: path, settings: settings)
            print("opened \(path) at \(baud) \(dataBits)\(parity.prefix(1).uppercased())\(stopBits), flow \(flow)")
            if let driverName, let driver = SerialDrivers.named(driverName) {
                // The same device pump as `alveo run`, its decoded frames printed (AlveoAgent).
                let frames = try SerialConversation.run(driver, port: port, seconds: seconds) { print($0) }
                if frames == 0 { throw ExitCode(.ioError) }
                return
            }
            if let send, let bytes = hexBytes(send) {
                let written = try port.write(bytes, timeout: .seconds(2))
                print("sent \(written) bytes")
            }
            var received: [UInt8] = []
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: .clampedSeconds(seconds))
            // At most 64 KiB are kept to show: enough to see a device's frames, never gigabytes.
            var total = 0
            while clock.now < deadline {
                let bytes = try port.read(maxCount: 4096, timeout: .milliseconds(100))
                total += bytes.count
                received += bytes.prefix(max(0, 65_536 - received.count))
            }
            let more = total > received.count ? " (the first \(received.count) shown)" : ""
            print("received \(total) bytes\(more)\(received.isEmpty ? "" : ": " + received.map(Hex.byte).joined(separator: " "))")
        } catch {
            printError("error: \(error)")
            throw ExitCode(.ioError)
        }
    }
}

func hexBytes(_ text: String) -> [UInt8]? {
    let compact = text.filter { !$0.isWhitespace }
    guard compact.count % 2 == 0 else { return nil }
    var bytes: [UInt8] = []
    var index = compact.startIndex
    while index < compact.endIndex {
        let next = compact.index(index, offsetBy: 2)
        guard let byte = UInt8(compact[index..<next], radix: 16) else { return nil }
        bytes.append(byte)
        index = next
    }
    return bytes
}
