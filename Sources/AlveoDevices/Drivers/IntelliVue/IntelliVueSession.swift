import AlveoCore

/// A Philips IntelliVue MP/MX monitor over its MIB/RS232 port (Data Export): associate, answer the
/// monitor's MDS Create event, then poll its numerics (a single poll of NOM_MOC_VMO_METRIC_NU) at
/// least once a second — the poll is also the keep-alive. Silence, an abort or a refusal starts the
/// association over. Time is data: the live poller and replay drive it alike.
package struct IntelliVueSession: SerialSession {
    package let source: String
    package let pollInterval: Double
    /// Data Export over the LAN (UDP): one message per datagram, no frame, no FCS (the UDP checksum
    /// and the network's own guard them), the LAN variant of the association request.
    package let lan: Bool
    package private(set) var lastRejection: String?
    /// Each rejection's reason, the deframer's and the session's own, in order.
    package private(set) var rejections = RejectionLog()
    private var deframer = IntelliVueDeframer()
    private var ownCounters = StreamCounters()
    private var state = LinkState.idle
    private var lastSent = -Double.infinity
    private var lastReceived = -Double.infinity
    private var nextInvokeID: UInt16 = 0
    /// The invoke ids of the polls whose replies may still come (the last few).
    private var outstanding: [UInt16] = []
    /// Numerics of a linked reply gathered until its last part.
    private var linked: (invokeID: UInt16, numerics: [IntelliVueNumeric])?
    /// Demo or test data seen: said once per association.
    /// Why the session is associating again (for the log line of its link state).
    private var associatingBecause: String?

    enum LinkState: Equatable {
        case idle, associating, waitingForMDS, polling
    }

    /// Retry an unanswered or refused association after this long.
    static let associationRetry = 5.0
    /// No good frame for this long: the monitor dropped the association (PERSEUS resets after 10 s,
    /// LNhealth after 15 s).
    static let silenceLimit = 10.0
    /// The monitor drops a silent client: poll at least this often whatever `poll_interval_s` says.
    static let longestPollInterval = 1.0
    /// Replies to this many recent polls are accepted.
    static let outstandingLimit = 4

    package init(source: String, pollInterval: Double = 1, lan: Bool = false) {
        self.source = source
        self.lan = lan
        self.pollInterval = Self.pollInterval(configured: pollInterval)
    }

    /// The interval it polls at for `poll_interval_s`: 0.1 s to `longestPollInterval`.
    package static func pollInterval(configured: Double) -> Double {
        configured.isFinite ? min(max(configured, 0.1), longestPollInterval) : 1
    }

    package var counters: StreamCounters {
        var all = deframer.counters
        all.frames = ownCounters.frames
        all.rejectedFrames += ownCounters.rejectedFrames
        return all
    }

    package var linkState: String? {
        switch state {
        case .idle: nil
        case .associating: "associating" + (associatingBecause.map { " (\($0))" } ?? "")
        case .waitingForMDS: "associated, waiting for the MDS create event"
        case .polling: "associated, polling numerics"
        }
    }

    // MARK: what Alveo sends

    /// The association request (VSCaptureMP's serial variant: poll period 500 ms, MTU 1456), as the
    /// protocol document's fixture `intellivue_cmd_assoc_request_computed.bin` holds it.
    package static let associationRequestPayload: [UInt8] = [
        0x0D, 0xFF, 0x01, 0x28, 0x05, 0x08, 0x13, 0x01, 0x00, 0x16, 0x01, 0x02, 0x80, 0x00, 0x14, 0x02, 0x00, 0x02, 0xC1, 0xFF,
        0x01, 0x16, 0x31, 0x80, 0xA0, 0x80, 0x80, 0x01, 0x01, 0x00, 0x00, 0xA2, 0x80, 0xA0, 0x03, 0x00, 0x00, 0x01, 0xA4, 0x80,
        0x30, 0x80, 0x02, 0x01, 0x01, 0x06, 0x04, 0x52, 0x01, 0x00, 0x01, 0x30, 0x80, 0x06, 0x02, 0x51, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x30, 0x80, 0x02, 0x01, 0x02, 0x06, 0x0C, 0x2A, 0x86, 0x48, 0xCE, 0x14, 0x02, 0x01, 0x00, 0x00, 0x00, 0x01, 0x01,
        0x30, 0x80, 0x06, 0x0C, 0x2A, 0x86, 0x48, 0xCE, 0x14, 0x02, 0x01, 0x00, 0x00, 0x00, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x61, 0x80, 0x30, 0x80, 0x02, 0x01, 0x01, 0xA0, 0x80, 0x60, 0x80, 0xA1, 0x80, 0x06, 0x0C, 0x2A, 0x86, 0x48,
        0xCE, 0x14, 0x02, 0x01, 0x00, 0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0xBE, 0x80, 0x28, 0x80, 0x06, 0x0C, 0x2A, 0x86, 0x48,
        0xCE, 0x14, 0x02, 0x01, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x01, 0x02, 0x81, 0x82, 0x00, 0x80, 0x80, 0x00, 0x00, 0x00,
        0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x02, 0x00, 0x64, 0x00, 0x01, 0x00, 0x28, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0F, 0xA0, 0x00, 0x00, 0x05, 0xB0,
        0x00, 0x00, 0x05, 0xB0, 0xFF, 0xFF, 0xFF, 0xFF, 0x60, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0C, 0xF0, 0x01, 0x00, 0x08,
        0x8E, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x34, 0x00, 0x06, 0x00, 0x30, 0x00, 0x01, 0x00, 0x21,
        0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x06, 0x00, 0x00, 0x00, 0xC9, 0x00, 0x01, 0x00, 0x09, 0x00, 0x00, 0x00, 0x3C,
        0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x2A, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x36,
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]

    /// The association request over the LAN: the same, with the LAN variant's poll profile (VSCaptureMP's
    /// LAN request and the protocol description): min_poll_period 0x03E8 (125 ms in 1/8 ms), max_mtu_rx
    /// 0x09C4 (2500), max_mtu_tx 0x03E8 (1000), in place of the serial 0x0FA0, 0x05B0, 0x05B0.
    package static let lanAssociationRequestPayload: [UInt8] = {
        var payload = associationRequestPayload
        let serial: [UInt8] = [0x00, 0x00, 0x0F, 0xA0, 0x00, 0x00, 0x05, 0xB0, 0x00, 0x00, 0x05, 0xB0, 0xFF, 0xFF, 0xFF, 0xFF]
        let lan: [UInt8] = [0x00, 0x00, 0x03, 0xE8, 0x00, 0x00, 0x09, 0xC4, 0x00, 0x00, 0x03, 0xE8, 0xFF, 0xFF, 0xFF, 0xFF]
        if let at = (0...(payload.count - serial.count)).first(where: { Array(payload[$0..<($0 + serial.count)]) == serial }) {
            payload.replaceSubrange(at..<(at + serial.count), with: lan)
        }
        return payload
    }()

    /// What goes on the line: a frame on RS232, the bare message in a datagram on the LAN.
    private func wire(_ payload: [UInt8]) -> [UInt8] { lan ? payload : IntelliVueFrame.encode(payload) }

    /// The MDS Create event result, echoing the event's invoke id and time.
    package static func mdsCreateResult(invokeID: UInt16, eventTime: UInt32) -> [UInt8] {
        [0xE1, 0x00, 0x00, 0x02, 0x00, 0x02, 0x00, 0x14, UInt8(invokeID >> 8), UInt8(invokeID & 0xFF), 0x00, 0x01, 0x00, 0x0E,
         0x00, 0x21, 0x00, 0x00, 0x00, 0x00, UInt8(eventTime >> 24), UInt8((eventTime >> 16) & 0xFF), UInt8((eventTime >> 8) & 0xFF),
         UInt8(eventTime & 0xFF), 0x0D, 0x06, 0x00, 0x00]
    }

    /// A single poll of every numeric (NOM_ACT_POLL_MDIB_DATA of NOM_MOC_VMO_METRIC_NU, all attribute
    /// groups), with this invoke id: ROIV, confirmed action on the MDS, scope 0 (u32; the fixture has
    /// it, the document's step 3 leaves it out), action type, poll number 1, object type, group 0.
    package static func pollRequest(invokeID: UInt16) -> [UInt8] {
        [0xE1, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x1C, UInt8(invokeID >> 8), UInt8(invokeID & 0xFF), 0x00, 0x07, 0x00, 0x16,
         0x00, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x16, 0x00, 0x08, 0x00, 0x01, 0x00, 0x01, 0x00, 0x06, 0x00, 0x00]
    }

    package static let releaseRequestPayload: [UInt8] = [0x09, 0x18, 0xC1, 0x16, 0x61, 0x80, 0x30, 0x80, 0x02, 0x01, 0x01, 0xA0, 0x80, 0x62, 0x80, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]

    // MARK: the session

    private mutating func associate(at t: Double, because reason: String? = nil) -> [UInt8] {
        state = .associating
        associatingBecause = reason
        lastSent = t
        outstanding.removeAll()
        linked = nil
        nextInvokeID = 0
        return wire(lan ? IntelliVueSession.lanAssociationRequestPayload : IntelliVueSession.associationRequestPayload)
    }

    package mutating func start(at t: Double) -> [UInt8] {
        deframer.reset()
        lastReceived = t
        return associate(at: t)
    }

    package mutating func tick(at t: Double) -> [UInt8] {
        switch state {
        case .idle:
            return associate(at: t)
        case .associating:
            return t - lastSent >= IntelliVueSession.associationRetry ? associate(at: t) : []
        case .waitingForMDS, .polling:
            if t - lastReceived >= IntelliVueSession.silenceLimit {
                return associate(at: t, because: "no answer from the monitor for \(Int(IntelliVueSession.silenceLimit)) s")
            }
            guard state == .polling, t - lastSent >= pollInterval else { return [] }
            return poll(at: t)
        }
    }

    private mutating func poll(at t: Double) -> [UInt8] {
        lastSent = t
        let invokeID = nextInvokeID
        nextInvokeID &+= 1
        outstanding.append(invokeID)
        if outstanding.count > IntelliVueSession.outstandingLimit { outstanding.removeFirst() }
        return wire(IntelliVueSession.pollRequest(invokeID: invokeID))
    }

    private mutating func reject(_ reason: String) {
        ownCounters.rejectedFrames += 1
        lastRejection = reason
        rejections.append(reason)
    }

    package mutating func receive(_ bytes: [UInt8], at t: Double) -> (frames: [[Observation]], reply: [UInt8]) {
        var frames: [[Observation]] = []
        var reply: [UInt8] = []
        let rejectedBefore = deframer.counters.rejectedFrames, loggedBefore = deframer.rejections.total
        // On the LAN each read is one datagram, one message.
        let payloads = lan ? [bytes] : deframer.feed(bytes)
        if deframer.counters.rejectedFrames > rejectedBefore {
            lastRejection = deframer.lastRejection
            for reason in deframer.rejections.since(loggedBefore) ?? [] { rejections.append(reason) }
        }
        for payload in payloads {
            let message = IntelliVueMessage.parse(payload)
            if case .malformed(let why) = message {
                reject("unreadable message: \(why)")
                continue
            }
            lastReceived = t
            switch message {
            case .associationAccepted:
                if state == .associating { state = .waitingForMDS }
            case .associationRefused:
                reject("the monitor refused the association")
                state = .associating
                associatingBecause = "refused by the monitor: asking again in \(Int(IntelliVueSession.associationRetry)) s"
                lastSent = t
            case .abort, .releaseRequest, .releaseResponse:
                let what = message == .abort ? "aborted" : "released"
                reply += associate(at: t, because: "the monitor \(what) the association")
            case .mdsCreate(let invokeID, let eventTime):
                reply += wire(IntelliVueSession.mdsCreateResult(invokeID: invokeID, eventTime: eventTime))
                if state != .polling {
                    state = .polling
                    if lan {
                        // One message per datagram: the first poll goes at the next tick, on its own.
                        lastSent = -.infinity
                    } else {
                        reply += poll(at: t)
                    }
                }
            case .pollReply(let invokeID, let linkState, let numerics):
                guard state == .polling, outstanding.contains(invokeID) else {
                    reject("poll reply for invoke id \(invokeID), which no recent poll had")
                    continue
                }
                ownCounters.frames += 1
                if let linkState, linkState != 3 {
                    // A linked result: gather until its last part.
                    if linked?.invokeID != invokeID {
                        if linked != nil { reject("linked poll reply \(linked!.invokeID) ended without its last part") }
                        linked = (invokeID, [])
                    }
                    linked!.numerics += numerics.prefix(IntelliVueMessage.maxNumerics - linked!.numerics.count)
                    continue
                }
                var all = numerics
                if let pending = linked, pending.invokeID == invokeID { all = pending.numerics + numerics }
                linked = nil
                outstanding.removeAll { $0 == invokeID }
                frames.append(observations(all))
            case .error(let invokeID, let code):
                reject("the monitor answered request \(invokeID) with error \(code)")
            case .connectIndication, .other, .malformed:
                break
            }
        }
        return (frames, reply)
    }

    // MARK: numerics into the core's parameters

    /// Physiological ids Alveo reads, in order of preference per parameter. The arterial mean: the
    /// labelled ABP (NOM_PRESS_BLD_ART_ABP_MEAN, 0x4A17) before the generic ART (NOM_PRESS_BLD_ART_MEAN,
    /// 0x4A13); heart rate from the ECG (NOM_ECG_CARD_BEAT_RATE, 0x4182), apart from the pleth pulse.
    /// The ids are IEEE 11073-10101 SCADA terms (MDC code − 2 × 65536: 150039, 150035, 147842), as
    /// VSCaptureMP's table gives them. The cuff mean (NOM_PRESS_BLD_NONINV_MEAN, 0x4A07) is not read:
    /// the monitor repeats the last cuff value in every poll, and without the measurement's own time
    /// stamp it would look current for as long as the monitor shows it (devices/intellivue/README.md).
    static let physioIDs: [(UInt16, Parameter)] = [
        (0x4BB8, .spo2), (0x4822, .pulseRate), (0x7498, .fio2), (0x5284, .fio2), (0x513C, .vt),
        (0x50E8, .pplat), (0x51A8, .peep), (0x5109, .ppeak), (0x5012, .rr),
        (0x4A17, .map), (0x4A13, .map), (0x4182, .heartRate),
    ]

    /// IntelliVue unit codes Alveo reads, as the units every device adapter converts with (`DeviceUnit`).
    static let units: [UInt16: DeviceUnit] = [
        0x0220: .percent, 0x0AA0: .perMinute, 0x0AE0: .perMinute, 0x0F40: .cmH2O, 0x0F72: .mbar, 0x0652: .millilitre, 0x0640: .litre,
        0x0F20: .mmHg, 0x0F03: .kPa,
    ]

    /// The factor from a unit code to the parameter's unit in the core; nil for a unit Alveo does not
    /// take for it (the value is then rejected, never guessed).
    static func factor(unit code: UInt16, for parameter: Parameter) -> Double? {
        guard let unit = units[code], DeviceUnit.allowed(for: parameter).contains(unit) else { return nil }
        return unit.toScenarioUnit(1)
    }

    /// The measurement state bits that make a value "no value" (INVALID, QUESTIONABLE, UNAVAILABLE,
    /// CALIBRATION_ONGOING) and those that make it not the patient's (TEST_DATA, DEMO_DATA).
    static let noValueStates: UInt16 = 0x8000 | 0x4000 | 0x2000 | 0x1000
    static let notPatientStates: UInt16 = 0x0800 | 0x0400

    /// The core's observations of a poll reply's numerics (one per parameter, by preference).
    package func observations(_ numerics: [IntelliVueNumeric]) -> [Observation] {
        var observations: [Observation] = []
        for (physio, parameter) in IntelliVueSession.physioIDs where !observations.contains(where: { $0.parameter == parameter }) {
            guard let numeric = numerics.first(where: { $0.physioID == physio }) else { continue }
            observations.append(Observation(source: source, parameter: parameter, value: value(numeric, parameter)))
        }
        return observations
    }

    func value(_ numeric: IntelliVueNumeric, _ parameter: Parameter) -> ObservedValue {
        if numeric.state & IntelliVueSession.noValueStates != 0 { return .noData }
        guard let raw = numeric.value else { return .noData }
        let shown = DeviceNumber.shown(String(raw))
        if numeric.state & IntelliVueSession.notPatientStates != 0 {
            return .unusable("\(shown) (\(numeric.state & 0x0400 != 0 ? "demo" : "test") data)")
        }
        guard let factor = IntelliVueSession.factor(unit: numeric.unitCode, for: parameter) else {
            return .unusable("\(shown) unit \(Hex.byte(UInt8(numeric.unitCode >> 8)))\(Hex.byte(UInt8(numeric.unitCode & 0xFF)))")
        }
        return DeviceNumber.value(raw * factor, text: shown)
    }
}
