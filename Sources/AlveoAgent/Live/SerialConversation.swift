import AlveoCore
import AlveoDevices
import AlveoIO
import Foundation

/// A libserialport port as the device pump's line.
struct PortLine: PumpLine {
    let port: SerialPort

    func read(maxCount: Int, timeout: Duration) throws -> [UInt8] {
        try port.read(maxCount: maxCount, timeout: timeout)
    }

    func write(_ bytes: [UInt8], timeout: Duration) throws {
        try port.write(bytes, timeout: timeout)
    }
}

/// A device on the LAN (UDP) as the device pump's line: one read is one datagram from the device.
struct DatagramLine: PumpLine {
    let socket: DatagramSocket

    func read(maxCount: Int, timeout: Duration) throws -> [UInt8] {
        try socket.receive(maxCount: max(maxCount, 65_536), timeout: timeout)
    }

    func write(_ bytes: [UInt8], timeout: Duration) throws {
        // One datagram: a LAN session hands the pump one message at a time (IntelliVueSession.lan).
        try socket.send(bytes)
    }
}

/// `alveo serial-check --protocol NAME`: a driver's conversation held on an open port for a while,
/// through the same device pump as `alveo run` (the same tick grid, reads and writes), with what it
/// decodes printed instead of handed to the clinical rules.
package enum SerialConversation {
    /// Most decoded frames printed; the rest are counted.
    package static let shownFrames = 200

    /// The driver's session on `port` for `seconds`: its link states, the device's identification,
    /// each decoded frame (to `shownFrames`) and the tallies, each line given to `print`. Every text
    /// from the device is escaped. Returns the number of frames that decoded to values.
    package static func run(_ driver: any SerialDriver, port: SerialPort, seconds: Double, print: (String) -> Void) throws -> Int {
        try run(driver, line: PortLine(port: port), seconds: seconds, print: print)
    }

    static func run(_ driver: any SerialDriver, line: some PumpLine, seconds: Double, print: (String) -> Void) throws -> Int {
        print("protocol \(driver.name): \(driver.title)")
        var pump = DevicePump(session: driver.makeSession(source: "device", pollInterval: 1))
        let clock = ContinuousClock()
        let started = clock.now
        func now() -> Double {
            let elapsed = clock.now - started
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
        func stamp(_ t: Double) -> String { String(format: "%7.2f s", t) }
        try pump.open(on: line, at: 0)
        var link = pump.session?.linkState, identification: String?, rejected = 0, frames = 0
        if let link { print("\(stamp(0))  link: \(Shown.text(link.utf8, limit: 120))") }
        while now() < seconds {
            let turn = try pump.turn(on: line, clock: now)
            let t = turn.t
            for frame in turn.frames where !frame.isEmpty {
                frames += 1
                if frames <= shownFrames {
                    print("\(stamp(t))  " + frame.map { "\($0.parameter.name)=\(shown($0.value)) \($0.parameter.unit)" }.joined(separator: "  "))
                }
            }
            guard let session = pump.session else { break }
            if session.linkState != link, let state = session.linkState {
                print("\(stamp(t))  link: \(Shown.text(state.utf8, limit: 120))")
            }
            link = session.linkState
            if session.identification != identification, let name = session.identification {
                print("\(stamp(t))  the device identifies itself as \(Shown.text(name.utf8, limit: 60))")
            }
            identification = session.identification
            if session.counters.rejectedFrames > rejected {
                print("\(stamp(t))  rejected \(session.counters.rejectedFrames - rejected): \(Shown.text((session.lastRejection ?? "?").utf8, limit: 160))")
                rejected = session.counters.rejectedFrames
            }
        }
        let counters = pump.counters
        let more = frames > shownFrames ? " (the first \(shownFrames) shown)" : ""
        print("decoded \(frames) frame(s) with values\(more); valid frames \(counters.frames), rejected \(counters.rejectedFrames), skipped bytes \(counters.skippedBytes)")
        return frames
    }

    /// A decoded value as serial-check prints it.
    package static func shown(_ value: ObservedValue) -> String {
        switch value {
        case .number(let x): String(format: "%g", x)
        case .noData: "(no value)"
        case .unusable(let text): "refused(\(Shown.text(text.utf8, limit: 40)))"
        case .sensor(let state): state.rawValue
        case .position(let position): "\(position)"
        case .ack: "ack"
        case .ecmo(let mode): mode.rawValue
        case .yesNo(let yes): yes ? "yes" : "no"
        }
    }
}
