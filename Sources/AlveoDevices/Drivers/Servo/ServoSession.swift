import AlveoCore

/// A Maquet SERVO-i / SERVO-s over its Computer Interface Emulator: `RCTY` (identification; the CIE
/// enters EXTENDED mode), `RCCO<ch>` for each breath channel's gain (the manual's gain when the
/// ventilator answers ER12 or nothing), `SDADB` with the channels, then either `RADAB` every poll
/// (polled) or, after `SDADC` with a curve channel (the manual, §4.4: RADC with no curve channel
/// defined answers binary error 16), `RADC` once and the binary stream (`ServoRADCDecoder`). ASCII
/// replies end with a checksum and EOT and are checked; XON/XOFF bytes are dropped from them (never
/// from binary data). Errors: ER17 (standby) is counted and said, ER16 (no channels) redefines them,
/// ER18 (our command's checksum) resends it, others are counted and logged. A data command refused
/// (ER16 or another error, standby aside) is asked again after a pause that doubles from 1 s to 30 s
/// until data comes; refused twice running, the refusal is said (`refusal`) for the technical alarm.
/// No valid reply for 3 × max(poll interval, 1 s) (polled), or no valid block for 15 s (streaming),
/// or a BASIC-mode reply (`900PCI`): start over from `RCTY`, after ESC when streaming. Pure: time
/// comes in as data.
package struct ServoSession: SerialSession {
    package enum Mode: Sendable { case polled, streaming }

    package let source: String
    package let mode: Mode
    package let pollInterval: Double
    /// The channels defined with `SDADB`, with the manual's gains.
    package let manualChannels: [ServoCIE.Channel]
    /// The channels with the gains in use (the ventilator's from `RCCO`, else the manual's).
    package var channels: [ServoCIE.Channel] { decoder.channels }
    private var ownCounters = StreamCounters()
    private var ownRejection: String?
    private var decoder: ServoRADCDecoder
    /// What the ventilator says it is (`RCTY`: "Servo-i", "Servo-s"), once it has said it.
    package private(set) var identification: String?

    enum Phase: Equatable {
        case identifying
        /// Waiting for the configuration of `manualChannels[index]`.
        case readingGain(Int)
        case defining
        /// `SDADC`: the curve channel RADC needs (streaming only).
        case definingCurves
        case polling
        case streaming
        /// ESC sent to stop a stream: `RCTY` follows once the ventilator has had time to stop.
        case stopping
    }

    private(set) var phase = Phase.identifying

    /// Where the conversation stands, for the log.
    package var linkState: String? {
        switch phase {
        case .identifying: "identifying (RCTY)"
        case .readingGain: "reading the channels' gains (RCCO)"
        case .defining: "defining the breath channels (SDADB)"
        case .definingCurves: "defining the curve channel (SDADC)"
        case .polling: "polling breath data (RADAB)"
        case .streaming: "streaming breath data (RADC)"
        case .stopping: "stopping the stream (ESC)"
        }
    }
    private var buffer: [UInt8] = []
    private var lastCommand: [UInt8] = []
    private var lastSent = -Double.infinity
    /// The last valid reply or block (a reply the conversation cannot go on with does not count).
    private var lastValid = -Double.infinity
    /// When to ask for data again after the ventilator refused it (standby, an error), and whether
    /// the channels are defined again first (ER16).
    private var retry: (at: Double, redefine: Bool)?
    /// Refusals of the data command (RADAB, RADC) since data last came.
    private var refusals = 0
    /// The ventilator's answer when it has refused the data command twice running (the channels
    /// defined again in between): what the technical alarm says; nil once data comes.
    package private(set) var refusal: String?
    /// The ventilator got our last command garbled (ER18): send it again at the next tick.
    private var resendDue = false

    /// ESC is followed by `RCTY` this much later.
    static let escPause = 0.5
    /// An unanswered `RCCO` keeps the manual's gain after this long.
    static let gainTimeout = 1.0
    static let streamTimeout = 15.0
    /// After a refused `RADC` (standby), ask again this much later.
    static let streamRetry = 5.0
    /// After a refused data command (not standby): the first pause, doubled at each refusal up to
    /// `backOffMax`.
    static let backOffFirst = 1.0
    static let backOffMax = 30.0
    /// The curve channel defined before `RADC` (airway flow, in every SERVO-i/SERVO-s protocol
    /// version; the real capture's ventilator streamed it). RADC needs one (manual §4.4); its
    /// blocks are checked and skipped.
    static let curveChannels = [100]
    /// Longer than any ASCII reply (50 channels × 4 digits): a longer one without EOT is noise.
    static let maxReplyLength = 1024

    package init(source: String, mode: Mode, pollInterval: Double = 1, channels: [ServoCIE.Channel] = ServoCIE.breathChannels) {
        self.source = source
        self.mode = mode
        self.pollInterval = pollInterval
        manualChannels = channels
        decoder = ServoRADCDecoder(source: source, channels: channels)
    }

    package var counters: StreamCounters {
        var sum = ownCounters
        sum.frames += decoder.counters.frames
        sum.rejectedFrames += decoder.counters.rejectedFrames
        sum.skippedBytes += decoder.counters.skippedBytes
        return sum
    }

    package var lastRejection: String? {
        rejectionIsDecoders ? decoder.lastRejection : ownRejection
    }
    private var rejectionIsDecoders = false
    /// Each rejection's reason, the session's own and the stream decoder's, in order.
    package private(set) var rejections = RejectionLog()

    /// No valid reply for this long: start over.
    var linkTimeout: Double {
        phase == .streaming ? Self.streamTimeout : 3 * max(pollInterval, 1)
    }

    /// The pause before asking again after the `refusals`-th refusal: 1, 2, 4, 8, 16, 30, 30… s.
    static func backOff(after refusals: Int) -> Double {
        min(backOffMax, backOffFirst * Double(1 << min(max(refusals - 1, 0), 16)))
    }

    package mutating func start(at t: Double) -> [UInt8] {
        decoder.reset()
        decoder.channels = manualChannels
        buffer.removeAll()
        identification = nil
        retry = nil
        refusals = 0
        refusal = nil
        resendDue = false
        lastValid = t
        return send(ServoCIE.message("RCTY"), phase: .identifying, at: t)
    }

    package mutating func tick(at t: Double) -> [UInt8] {
        if phase == .stopping {
            guard t - lastSent >= Self.escPause else { return [] }
            return send(ServoCIE.message("RCTY"), phase: .identifying, at: t)
        }
        // Waiting to ask again after a refusal is not silence: the ventilator answered.
        if retry == nil, t - lastValid > linkTimeout { return startOver(at: t) }
        if resendDue {
            resendDue = false
            return send(lastCommand, phase: phase, at: t)
        }
        switch phase {
        case .readingGain(let index):
            guard t - lastSent >= Self.gainTimeout else { return [] }
            return nextGain(after: index, at: t)  // no answer: the manual's gain
        case .polling, .streaming:
            if let retry {
                guard t >= retry.at else { return [] }
                self.retry = nil
                lastValid = t
                if retry.redefine { return define(at: t) }
                return send(dataCommand, phase: phase, at: t)
            }
            guard phase == .polling, t - lastSent >= pollInterval else { return [] }
            return send(ServoCIE.message("RADAB"), phase: .polling, at: t)
        case .identifying, .defining, .definingCurves, .stopping:
            return []
        }
    }

    package mutating func receive(_ bytes: [UInt8], at t: Double) -> (frames: [[Observation]], reply: [UInt8]) {
        var frames: [[Observation]] = []
        var reply: [UInt8] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if phase == .streaming {
                // The rest is the stream (an ASCII error in its place is found by the decoder).
                let (framesBefore, rejectedBefore) = (decoder.counters.frames, decoder.counters.rejectedFrames)
                let loggedBefore = decoder.rejections.total
                let items = decoder.decode(Array(bytes[index...]))
                if decoder.counters.rejectedFrames > rejectedBefore {
                    rejectionIsDecoders = true
                    for reason in decoder.rejections.since(loggedBefore) ?? [] { rejections.append(reason) }
                }
                if decoder.counters.frames > framesBefore {
                    lastValid = t
                    // A block of data (curve, breath, …), not only an error block, ends a refusal.
                    let errors = items.count { if case .error = $0 { true } else { false } }
                    if decoder.counters.frames - framesBefore > errors { dataCame() }
                }
                for item in items {
                    switch item {
                    case .breath(let observations): frames.append(observations)
                    case .error(let code), .asciiError(let code):
                        lastValid = t
                        reply += error(code, to: "RADC", at: t)
                    case .basicMode:
                        reply = startOver(at: t, basic: true)
                    case .stopped:
                        reject("the ventilator stopped the RADC stream (standby, buffer overflow or ESC)")
                        reply = startOver(at: t)
                    }
                }
                break
            }
            let byte = bytes[index]
            index += 1
            if byte == ServoCIE.xon || byte == ServoCIE.xoff { continue }
            guard byte == ServoCIE.eot else {
                buffer.append(byte)
                if buffer.count > Self.maxReplyLength {
                    ownCounters.skippedBytes += buffer.count
                    buffer.removeAll()
                }
                continue
            }
            let message = buffer
            buffer.removeAll()
            let (frame, answer) = handle(message, at: t)
            if let frame { frames.append(frame) }
            if !answer.isEmpty { reply = answer }
        }
        return (frames, reply)
    }

    // MARK: - ASCII replies

    /// One reply (the bytes before its EOT): checked, then taken by what the conversation awaits.
    private mutating func handle(_ whole: [UInt8], at t: Double) -> (frame: [Observation]?, reply: [UInt8]) {
        var raw = whole
        if phase == .identifying {
            // A ventilator still streaming from before the line opened sends the tail of its stream
            // (binary, its last checksum byte maybe printable) before the RCTY reply. That reply alone
            // carries no value, so it alone is looked for after the tail: it starts with a letter.
            let tail = raw.lastIndex(where: { $0 < 0x20 || $0 >= 0x7F }).map { $0 + 1 } ?? 0
            let end = raw.count - 2
            if end > tail {
                // One pass from the end: the XOR of the message grows with each earlier start.
                let checksum = Array(raw.suffix(2))
                var x: UInt8 = 0
                var found: Int?
                for start in stride(from: end - 1, through: tail, by: -1) {
                    x ^= raw[start]
                    let letter = (raw[start] | 0x20) >= UInt8(ascii: "a") && (raw[start] | 0x20) <= UInt8(ascii: "z")
                    if letter, Hex.digits(of: x) == checksum { found = start }
                }
                if let found, found > 0 {
                    ownCounters.skippedBytes += found
                    raw.removeFirst(found)
                }
            }
        }
        guard !raw.isEmpty else { return (nil, []) }
        if raw.count >= 6, raw.suffix(6).elementsEqual("900PCI".utf8) {
            ownCounters.skippedBytes += raw.count - 6
            return (nil, startOver(at: t, basic: true))
        }
        // Everything since the command (or the last EOT) is the reply: noise before it, a byte
        // inserted, dropped or changed in it, and the reply is rejected whole (ServoCIE.checkedMessage).
        guard let body = ServoCIE.checkedMessage(raw) else {
            // Unprintable bytes alone (the tail of a stopped stream) are noise, not a reply.
            let noise = (raw.lastIndex { $0 < 0x20 || $0 >= 0x7F }).map { $0 + 1 } ?? 0
            ownCounters.skippedBytes += noise
            if noise < raw.count {
                reject("reply '\(Shown.text(raw, limit: 40))' with a bad checksum, too short or with bytes before it")
            }
            return (nil, [])
        }
        if body.count == 4, body.starts(with: "ER".utf8), let code = ServoCIE.integer(body[2...]) {
            return (nil, error(code, to: commandName, at: t))
        }
        switch phase {
        case .identifying:
            return (nil, identified(body, at: t))
        case .readingGain(let index):
            lastValid = t
            let manual = manualChannels[index]
            let (channel, problem) = ServoCIE.configuration(body, for: manual)
            if let channel {
                decoder.channels[index] = channel
            } else if let problem {
                reject(problem + "; the manual's gain \(manual.gain) is used")
            }
            return (nil, nextGain(after: index, at: t))
        case .defining:
            guard body == [UInt8(ascii: "*")] else { return (nil, []) }
            lastValid = t
            ownCounters.frames += 1
            return (nil, mode == .polled ? send(ServoCIE.message("RADAB"), phase: .polling, at: t) : defineCurves(at: t))
        case .definingCurves:
            guard body == [UInt8(ascii: "*")] else { return (nil, []) }
            lastValid = t
            ownCounters.frames += 1
            return (nil, send(ServoCIE.message("RADC"), phase: .streaming, at: t))
        case .polling:
            guard body != [UInt8(ascii: "*")] else { return (nil, []) }
            guard let observations = breathData(body) else { return (nil, []) }
            lastValid = t
            ownCounters.frames += 1
            dataCame()
            return (observations, [])
        case .streaming, .stopping:
            return (nil, [])
        }
    }

    /// `RCTY`'s reply: the CIE type and a status digit (0 ok, 1 internal communication error).
    private mutating func identified(_ body: [UInt8], at t: Double) -> [UInt8] {
        guard body.count >= 2, let first = body.first, (first | 0x20) >= UInt8(ascii: "a"), (first | 0x20) <= UInt8(ascii: "z"),
              let status = body.last, status == UInt8(ascii: "0") || status == UInt8(ascii: "1") else {
            reject("unexpected reply to RCTY: '\(Shown.text(body, limit: 40))'")
            return []
        }
        let name = Shown.text(body.dropLast(), limit: 32)
        guard status == UInt8(ascii: "0") else {
            reject("\(name) reports an internal communication error (RCTY status 1)")
            return []
        }
        lastValid = t
        ownCounters.frames += 1
        identification = name
        return nextGain(after: -1, at: t)
    }

    /// `RCCO` for the channel after `index`, or `SDADB` once every gain is known.
    private mutating func nextGain(after index: Int, at t: Double) -> [UInt8] {
        let next = index + 1
        guard next < manualChannels.count else { return define(at: t) }
        return send(ServoCIE.message("RCCO\(manualChannels[next].number)"), phase: .readingGain(next), at: t)
    }

    private mutating func define(at t: Double) -> [UInt8] {
        send(ServoCIE.defineBreath(manualChannels), phase: .defining, at: t)
    }

    /// `SDADC` with the curve channel, before `RADC`.
    private mutating func defineCurves(at t: Double) -> [UInt8] {
        send(ServoCIE.message("SDADC" + Self.curveChannels.map { String($0).leftPadded(3) }.joined()), phase: .definingCurves, at: t)
    }

    /// The command that asks for data in this mode.
    private var dataCommand: [UInt8] { ServoCIE.message(mode == .polled ? "RADAB" : "RADC") }

    /// Data came: the ventilator no longer refuses.
    private mutating func dataCame() {
        refusals = 0
        refusal = nil
    }

    /// The ventilator refused the data command (`command`) with `code`: ask again after the back-off,
    /// defining the channels first when it says they are not defined; said as a standing refusal from
    /// the second time running.
    private mutating func refused(_ code: Int, to command: String, at t: Double) {
        refusals += 1
        let pause = Self.backOff(after: refusals)
        retry = (t + pause, code == 16)
        let binary = phase == .streaming
        let answer = "error \(code) (\(Self.meaning(code, streaming: binary)))"
        if refusals >= 2 { refusal = "SERVO answered \(command) with \(answer)" }
        reject("the ventilator answered \(command) with \(answer)"
            + (refusals >= 2 ? ", \(refusals) times running" : "")
            + (code == 16 ? "; defining the channels again in \(Fmt.duration(pause))" : "; asking again in \(Fmt.duration(pause))"))
    }

    /// An error code's meaning, with what is missing for ER16 (RADC needs a curve channel, RADAB a
    /// breath channel).
    static func meaning(_ code: Int, streaming: Bool) -> String {
        guard code == 16 else { return ServoCIE.errorText(code) }
        return streaming ? "CIE not configured: no curve channels defined" : "CIE not configured: no breath channels defined"
    }

    /// A RADAB reply: 4 digits per channel in table order; `9999` is no value.
    private mutating func breathData(_ body: [UInt8]) -> [Observation]? {
        guard body.count == 4 * channels.count else {
            reject("RADAB reply of \(body.count) characters for \(channels.count) channels (4 digits each)")
            return nil
        }
        var observations: [Observation] = []
        for (index, channel) in channels.enumerated() {
            let field = body[(4 * index)..<(4 * index + 4)]
            guard let raw = ServoCIE.integer(field) else {
                reject("RADAB value of channel \(channel.number) is '\(Shown.text(field, limit: 8))', not 4 digits")
                return nil
            }
            observations.append(Observation(source: source, parameter: channel.parameter, value: raw == 9999 ? .noData : channel.value(raw: raw)))
        }
        return observations
    }

    /// An `ER<nn>` answer (or a binary error block) to `command`.
    private mutating func error(_ code: Int, to command: String, at t: Double) -> [UInt8] {
        let said = "the ventilator answered ER\(String(code).leftPadded(2)) (\(ServoCIE.errorText(code))) to \(command)"
        switch (code, phase) {
        case (12, .readingGain(let index)):
            lastValid = t  // this channel's gain is not available: the manual's
            return nextGain(after: index, at: t)
        case (18, _):
            // Not progress: a line that garbles every command still ends in starting over.
            resendDue = !lastCommand.isEmpty
            return []
        case (17, .polling), (17, .streaming):
            lastValid = t
            reject("ventilator in standby (ER17)")
            if phase == .streaming { retry = (t + Self.streamRetry, false) }
            return []
        case (_, .polling), (_, .streaming):
            // The data command refused: asked again after a growing pause, never in a tight loop.
            lastValid = t
            refused(code, to: command, at: t)
            return []
        case (_, .definingCurves):
            // A CIE that does not take the curve channel: RADC is tried anyway (it says what it lacks).
            lastValid = t
            reject(said + "; asking for RADC anyway")
            return send(ServoCIE.message("RADC"), phase: .streaming, at: t)
        case (16, _):
            lastValid = t
            reject(said + "; defining the channels again")
            return define(at: t)
        case (17, _):
            lastValid = t
            reject("ventilator in standby (ER17)")
            return []
        default:
            reject(said)
            return []
        }
    }

    private var commandName: String {
        switch phase {
        case .identifying, .stopping: "RCTY"
        case .readingGain(let index): "RCCO\(manualChannels[index].number)"
        case .defining: "SDADB"
        case .definingCurves: "SDADC"
        case .polling: "RADAB"
        case .streaming: "RADC"
        }
    }

    /// From `RCTY` again; a stream is stopped with ESC first (the ventilator ignores commands while
    /// it streams).
    private mutating func startOver(at t: Double, basic: Bool = false) -> [UInt8] {
        if basic { reject("the CIE answered in BASIC mode (900PCI): identifying again") }
        retry = nil
        resendDue = false
        buffer.removeAll()
        lastValid = t
        decoder.reset()
        if mode == .streaming, !basic {
            lastSent = t
            phase = .stopping
            return [ServoCIE.esc]
        }
        return send(ServoCIE.message("RCTY"), phase: .identifying, at: t)
    }

    private mutating func send(_ command: [UInt8], phase next: Phase, at t: Double) -> [UInt8] {
        // What came before the command is not part of its answer.
        ownCounters.skippedBytes += buffer.count
        buffer.removeAll()
        if next == .streaming, phase != .streaming { decoder.reset() }
        phase = next
        lastSent = t
        lastCommand = command
        return command
    }

    private mutating func reject(_ reason: String) {
        ownCounters.rejectedFrames += 1
        ownRejection = reason
        rejectionIsDecoders = false
        rejections.append(reason)
    }
}
