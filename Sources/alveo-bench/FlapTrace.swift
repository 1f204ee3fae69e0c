// Nonin format 8 traces whose probe flag flaps (issue 24's acceptance: a trace like this gave 630,000
// events before the alarm engine had a chatter bound). Made on virtual time through the live session
// (TraceSynthesizer), one 4-byte frame a second at 9600 baud with the agent's 1 s tick, as the golden
// traces are:
//
//   toggle  the sensor-disconnect bit flips with every frame (off, ok, off, ok, ...);
//   fuzzed  the bit is drawn at random for every frame (seeded), and before about one frame in eight
//           the line carries 1 to 16 garbled bytes, some of which fit the frame pattern and decode as
//           frames with arbitrary flags and values (format 8 has no checksum).
//
// `alveo-bench flap-trace KIND HOURS PATH [SEED]` writes one.
import AlveoAgent
import AlveoCore
import AlveoDevices
import AlveoTrace
import Foundation

enum FlapTrace {
    enum Kind: String, CaseIterable {
        case toggle, fuzzed
    }

    static let config = """
        # Flap trace: synthesized by `alveo-bench flap-trace` on virtual time (Nonin format 8, probe flag flapping).
        patient: {sex: male, height_cm: 170}
        devices:
          - {id: oxi, transport: {kind: serial, protocol: nonin_df8, path: /dev/ttyUSB1, baud: 9600}}
        """

    static let values: SerialDeviceEncoders.Values = [.spo2: 96, .pulseRate: 70]

    /// A small seeded generator (SplitMix64): the same seed gives the same trace on every machine.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    }

    /// The device's script: the oximeter streams a frame at each whole second (plus the poller's read
    /// phase), so the flag for the frame of second k+1 is set at k + 0.5.
    static func script(_ kind: Kind, hours: Double, seed: UInt64) -> GoldenTraces.Script {
        let seconds = Int(hours * 3600)
        var script: GoldenTraces.Script = [(0, "oxi", .values(values))]
        script.reserveCapacity(seconds + seconds / 4)
        var random = Random(state: seed)
        for k in 0..<seconds {
            let t = Double(k) + 0.5
            switch kind {
            case .toggle:
                script.append((t, "oxi", .sensor(k % 2 == 0 ? .off : .ok)))
            case .fuzzed:
                script.append((t, "oxi", .sensor(random.below(2) == 0 ? .off : .ok)))
                if random.below(8) == 0 {
                    let count = 1 + random.below(16)
                    script.append((t, "oxi", .noise((0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) })))
                }
            }
        }
        return script
    }

    /// Writes the trace; returns its records and bytes.
    @discardableResult
    static func write(_ kind: Kind, hours: Double, path: String, seed: UInt64 = 24) throws -> (records: Int, bytes: Int) {
        var synthesizer = try TraceSynthesizer(path: path, configYAML: config, script: script(kind, hours: hours, seed: seed))
        synthesizer.run(until: hours * 3600)
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        return (synthesizer.records, size)
    }
}

