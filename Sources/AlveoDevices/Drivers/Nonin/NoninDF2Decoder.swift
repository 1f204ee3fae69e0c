import AlveoCore

/// Nonin serial data format #2: 5-byte frames `01 STATUS PLETH DATA CHK` (CHK = sum of the first four
/// mod 256), 25 frames a packet, the first frame flagged by the SYNC bit. Synchronises on SYNC with a
/// valid checksum and slides one byte on any failure. HR 511 and SpO2 127 mean no value.
package struct NoninDF2Decoder: StreamDecoder {
    package let source: String
    package private(set) var counters = StreamCounters()
    package private(set) var lastRejection: String? {
        didSet { if let lastRejection { rejections.append(lastRejection) } }
    }
    /// Each rejection's reason (every one sets `lastRejection`).
    package private(set) var rejections = RejectionLog()
    private var buffer: [UInt8] = []
    private var packet: [[UInt8]] = []

    package init(source: String) {
        self.source = source
    }

    static func frameIsValid(_ frame: ArraySlice<UInt8>) -> Bool {
        let b = Array(frame)
        return b[0] == 0x01 && b[1] & 0x80 != 0 && UInt8(truncatingIfNeeded: Int(b[0]) + Int(b[1]) + Int(b[2]) + Int(b[3])) == b[4]
    }

    package mutating func feed(_ bytes: [UInt8]) -> [[Observation]] {
        buffer += bytes
        var frames: [[Observation]] = []
        var index = 0
        while buffer.count - index >= 5 {
            let frame = buffer[index..<(index + 5)]
            guard NoninDF2Decoder.frameIsValid(frame) else {
                if !packet.isEmpty {
                    counters.rejectedFrames += 1
                    lastRejection = "frame \(packet.count) of a packet failed its checksum or framing: resynchronising"
                    // The packet's frames may have taken the start of the next packet (a disturbed
                    // byte can make a SYNC frame of its own with the bytes after it): slide on from
                    // the byte after the packet's first, never from where it failed. A packet is 25
                    // checked frames after a SYNC frame, so nothing short of that is accepted.
                    buffer = Array(packet.joined().dropFirst()) + buffer[index...]
                    index = 0
                    packet.removeAll()
                    counters.skippedBytes += 1
                    continue
                }
                counters.skippedBytes += 1
                index += 1
                continue
            }
            let sync = frame[frame.startIndex + 1] & 0x01 != 0
            if packet.isEmpty && !sync {
                counters.skippedBytes += 5  // a valid frame, but we wait for the start of a packet
                index += 5
                continue
            }
            if sync && !packet.isEmpty {
                counters.rejectedFrames += 1
                lastRejection = "packet cut short after \(packet.count) frames"
                packet.removeAll()
            }
            packet.append(Array(frame))
            index += 5
            if packet.count == 25 {
                frames.append(decodePacket(packet))
                packet.removeAll()
            }
        }
        buffer.removeFirst(index)
        return frames
    }

    private mutating func decodePacket(_ frames: [[UInt8]]) -> [Observation] {
        counters.frames += 1
        // Every frame carries a status byte: a disconnect or an unusable signal in any of them counts.
        let statuses = frames.map { $0[1] }
        let disconnected = statuses.contains { $0 & 0x40 != 0 }
        let unusable = statuses.contains { $0 & 0x10 != 0 || $0 & 0x20 != 0 }  // out of track, artifact
        var observations = [Observation(source: source, parameter: .sensor, value: .sensor(disconnected ? .disconnected : .ok))]
        let hr = (Int(frames[0][3]) & 0x03) << 7 | (Int(frames[1][3]) & 0x7F)
        let spo2 = Int(frames[2][3]) & 0x7F
        let noValue = disconnected || unusable
        observations.append(Observation(source: source, parameter: .spo2,
                                        value: noValue || spo2 == 127 ? .noData : .number(Double(spo2))))
        observations.append(Observation(source: source, parameter: .pulseRate,
                                        value: noValue || hr == 511 ? .noData : .number(Double(hr))))
        return observations
    }

    /// The command that selects a data format: `02 70 02 02 <format> 03`; the device answers ACK 0x06 or NAK 0x15.
    package static func selectFormat(_ format: UInt8) -> [UInt8] { [0x02, 0x70, 0x02, 0x02, format, 0x03] }
}
