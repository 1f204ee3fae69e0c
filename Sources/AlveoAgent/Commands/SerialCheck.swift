import AlveoCore
import AlveoDevices
import AlveoIO
import Foundation

extension Commands {
    /// `alveo serial-check`: opens a serial port with libserialport, optionally sends bytes, and prints
    /// what arrives; with a protocol, holds the device's conversation and prints what it decodes.
    package struct SerialCheck: Sendable {
        package var path: String
        package var baud: Int
        package var dataBits: Int
        package var parity: String
        package var stopBits: Int
        package var flow: String
        package var send: String?
        package var seconds: Double
        package var driverName: String?

        package init(path: String, baud: Int, dataBits: Int, parity: String, stopBits: Int, flow: String, send: String?, seconds: Double,
                    driverName: String?) {
            self.path = path
            self.baud = baud
            self.dataBits = dataBits
            self.parity = parity
            self.stopBits = stopBits
            self.flow = flow
            self.send = send
            self.seconds = seconds
            self.driverName = driverName
        }

        /// The baud rate when `--baud` is not given: what `alveo run` opens the same line at when its
        /// configuration gives none, so that a line proven by serial-check is the line the agent polls.
        /// A bare check (bytes, typically a Modbus RTU request to a gateway) is a `modbus_rtu` line's
        /// 19200; with `--protocol` a `kind: serial` line's 9600.
        package static func defaultBaud(driverName: String?) -> Int {
            driverName == nil ? DeviceConfig.defaultRTUBaud : SerialDeviceConfig.defaultBaud
        }

        /// With `--protocol`: a note when the line differs from the protocol's usual settings.
        package func lineNote() -> String? {
            guard let driverName, let driver = SerialDrivers.named(driverName) else { return nil }
            let settings = SerialSettings(baud: baud, dataBits: dataBits, parity: Parity(rawValue: parity) ?? .none, stopBits: stopBits,
                                          flowControl: FlowControl(rawValue: flow) ?? .none)
            guard settings != SerialDeviceConfig.settings(driver.line) else { return nil }
            return "note: \(driver.name) devices usually run at \(driver.line); check the line settings against the device's menu"
        }

        /// Why these options cannot be used, or nil (a usage error).
        package func problem() -> String? {
            guard Parity(rawValue: parity) != nil else { return "--parity must be none, even or odd" }
            guard FlowControl(rawValue: flow) != nil else { return "--flow must be none, xonxoff or rtscts" }
            if let send, (hexBytes(send)?.count ?? 4097) > 4096 || send.utf8.count > 65_536 {
                return "--send must be hex bytes, e.g. '1B 51 36 43 0D' (at most 4096 bytes)"
            }
            guard (50...4_000_000).contains(baud) else { return "--baud must be 50...4000000" }
            guard (5...8).contains(dataBits) else { return "--data-bits must be 5...8" }
            guard (1...2).contains(stopBits) else { return "--stop-bits must be 1 or 2" }
            guard seconds > 0, seconds <= 3600 else { return "--seconds must be in (0, 3600]" }
            if let driverName {
                guard SerialDrivers.named(driverName) != nil else {
                    return "--protocol '\(Shown.text(driverName.utf8, limit: 40))' is not one of: \(SerialDrivers.names)"
                }
                guard send == nil else { return "--protocol holds the conversation itself: give --send or --protocol, not both" }
            }
            return nil
        }

        package func run() throws {
            let settings = SerialSettings(baud: baud, dataBits: dataBits, parity: Parity(rawValue: parity)!, stopBits: stopBits,
                                          flowControl: FlowControl(rawValue: flow)!)
            do {
                let port = try SerialPort(path: path, settings: settings)
                print("opened \(path) at \(baud) \(dataBits)\(parity.prefix(1).uppercased())\(stopBits), flow \(flow)")
                if let note = lineNote() { print(note) }
                if let driverName, let driver = SerialDrivers.named(driverName) {
                    // The same device pump as `alveo run`, its decoded frames printed.
                    let frames = try SerialConversation.run(driver, port: port, seconds: seconds) { print($0) }
                    if frames == 0 { throw CommandExit(.ioError) }
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
            } catch let exit as CommandExit {
                throw exit  // no frame decoded: said already
            } catch {
                Console.error("error: \(error)")
                throw CommandExit(.ioError)
            }
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
