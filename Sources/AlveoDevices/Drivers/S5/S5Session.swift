import AlveoCore

/// A GE Datex-Ohmeda S/5 (or CARESCAPE through its S/5 computer interface) monitor: ask for the
/// displayed values of the basic class every `interval` seconds when the line opens; the monitor then
/// sends a physiological record on its own at that interval. No answer yet: ask again every
/// `requestRetry` s; records stopped for `silenceLimit` s (a monitor restarted, a cable replugged):
/// ask again. Time is data: the live reader and replay drive it alike.
package struct S5Session: SerialSession {
    package let source: String
    package let interval: UInt16
    package private(set) var lastRejection: String?
    /// Each rejected frame's reason: of each read, the deframer's (framing, length, checksum), then the
    /// record reader's (layout).
    package private(set) var rejections = RejectionLog()
    private var deframer = S5Deframer()
    private var ownCounters = StreamCounters()
    private var lastSent = -Double.infinity
    private var lastRecord: Double?
    private var askedAgainBecause: String?

    /// The transmission interval Alveo asks for (the specification's example).
    package static let defaultInterval: UInt16 = 10
    /// No record since the request: ask again after this long.
    static let requestRetry = 5.0
    /// Records stopped for this many intervals: ask again.
    static let silentIntervals = 2.5

    package init(source: String, interval: UInt16 = S5Session.defaultInterval) {
        self.source = source
        self.interval = max(interval, 1)
    }

    /// What Alveo sends: displayed values, basic class, every `interval` s, framed.
    package var request: [UInt8] { S5Frame.encode(S5Record.request(interval: interval)) }

    var silenceLimit: Double { Double(interval) * S5Session.silentIntervals }

    package var counters: StreamCounters {
        var all = deframer.counters
        all.rejectedFrames += ownCounters.rejectedFrames
        all.frames -= ownCounters.rejectedFrames
        return all
    }

    package var linkState: String? {
        if lastRecord != nil { return "receiving displayed values every \(interval) s" }
        return "asked for displayed values every \(interval) s, no record yet" + (askedAgainBecause.map { " (\($0))" } ?? "")
    }

    package mutating func start(at t: Double) -> [UInt8] {
        deframer.reset()
        lastRecord = nil
        askedAgainBecause = nil
        lastSent = t
        return request
    }

    package mutating func tick(at t: Double) -> [UInt8] {
        if let last = lastRecord {
            guard t - last >= silenceLimit, t - lastSent >= silenceLimit else { return [] }
            lastRecord = nil
            askedAgainBecause = "no record for \(Int(silenceLimit)) s: asked again"
        } else {
            guard t - lastSent >= S5Session.requestRetry else { return [] }
        }
        lastSent = t
        return request
    }

    private mutating func reject(_ reason: String) {
        ownCounters.rejectedFrames += 1
        lastRejection = reason
        rejections.append(reason)
    }

    package mutating func receive(_ bytes: [UInt8], at t: Double) -> (frames: [[Observation]], reply: [UInt8]) {
        let loggedBefore = deframer.rejections.total
        let records = deframer.feed(bytes)
        if let reasons = deframer.rejections.since(loggedBefore) {
            for reason in reasons { rejections.append(reason) }
        } else {
            // More rejections in one read than the log keeps: the ones kept, in order.
            for reason in deframer.rejections.reasons { rejections.append(reason) }
        }
        if deframer.rejections.total > loggedBefore { lastRejection = deframer.lastRejection }
        var frames: [[Observation]] = []
        for record in records {
            switch S5Record.parse(record) {
            case .malformed(let why):
                reject("unreadable record: \(why)")
            case .other:
                lastRecord = t
            case .physiological(let subrecords):
                lastRecord = t
                askedAgainBecause = nil
                frames += subrecords.map(observations)
            }
        }
        return (frames, [])
    }

    // MARK: the basic class into the core's parameters

    /// The observations of a displayed basic-class subrecord: heart rate from the ECG, the arterial
    /// mean from the first invasive channel labelled ART or ABP, SpO2 and pleth pulse rate, FiO2 from
    /// the airway module, and RR, Ppeak, Pplat, PEEP and expired Vt from the spirometry (flow-volume)
    /// group. A group the monitor marks as not existing gives nothing; one present but not active, or
    /// a value at a marker (-32767 …), gives "no data".
    package func observations(_ subrecord: [UInt8]) -> [Observation] {
        var observations: [Observation] = []
        func add(_ parameter: Parameter, group offset: Int, field: Int, divisor: Double) {
            let group = S5Record.group(subrecord, at: offset)
            guard group.exists else { return }
            let raw = S5Record.raw(subrecord, group: offset, field: field)
            let value: ObservedValue = !group.active || raw <= S5Record.invalidLimit
                ? .noData : DeviceNumber.value(Double(raw) / divisor, text: String(raw))
            observations.append(Observation(source: source, parameter: parameter, value: value))
        }
        add(.heartRate, group: S5Record.ecg, field: 0, divisor: 1)
        if let arterial = S5Record.invasivePressures.first(where: {
            let group = S5Record.group(subrecord, at: $0)
            return group.exists && S5Record.arterialLabels.contains(group.label)
        }) {
            add(.map, group: arterial, field: 2, divisor: 100)
        }
        add(.spo2, group: S5Record.spo2, field: 0, divisor: 100)
        add(.pulseRate, group: S5Record.spo2, field: 1, divisor: 1)
        add(.fio2, group: S5Record.o2, field: 1, divisor: 100)
        add(.rr, group: S5Record.flowVolume, field: 0, divisor: 1)
        add(.ppeak, group: S5Record.flowVolume, field: 1, divisor: 100)
        add(.peep, group: S5Record.flowVolume, field: 2, divisor: 100)
        add(.pplat, group: S5Record.flowVolume, field: 3, divisor: 100)
        add(.vt, group: S5Record.flowVolume, field: 5, divisor: 10)
        return observations
    }
}
