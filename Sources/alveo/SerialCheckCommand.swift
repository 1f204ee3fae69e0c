import AlveoAgent
import ArgumentParser

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
    @Option(help: "Baud rate (default: as alveo run opens a line its configuration gives no baud for: 19200 as a modbus_rtu device; with --protocol, 9600 as a kind: serial device).")
    var baud: Int?
    @Option(help: "Data bits (5-8).") var dataBits: Int = 8
    @Option(help: "Parity: none, even, odd.") var parity: String = "none"
    @Option(help: "Stop bits (1 or 2).") var stopBits: Int = 1
    @Option(help: "Flow control: none, xonxoff, rtscts.") var flow: String = "none"
    @Option(help: "Bytes to send first, as hex (e.g. '1B 51 36 43 0D').") var send: String?
    @Option(help: "How long to listen, seconds.") var seconds: Double = 2
    @Option(name: .customLong("protocol"), help: "Hold this serial protocol's conversation and print what it decodes (\(Commands.serialProtocolNames)).")
    var driverName: String?

    var check: Commands.SerialCheck {
        Commands.SerialCheck(path: path, baud: baud ?? Commands.SerialCheck.defaultBaud(driverName: driverName), dataBits: dataBits, parity: parity, stopBits: stopBits, flow: flow, send: send,
                             seconds: seconds, driverName: driverName)
    }

    func validate() throws {
        if let problem = check.problem() { throw ValidationError(problem) }
    }

    func run() throws {
        try command { try check.run() }
    }
}
