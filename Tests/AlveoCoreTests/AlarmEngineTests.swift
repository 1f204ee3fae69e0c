import Testing

@testable import AlveoCore

/// The alarm engine's timing shared by every rule (rules v3 §1.2–1.4): offset, minimum active time and
/// the chatter bound, and the flap cases of issue 24 that produced hundreds of thousands of events.
@Suite struct AlarmEngineTests {
    /// Per key (rule, source, parameter): the most onsets (starts and escalations) in any hour (t − 3600, t].
    static func maxOnsetsPerHour(_ events: [AlarmEvent]) -> [String: Int] {
        var onsets: [String: [Double]] = [:]
        for event in events where event.phase == .start || event.phase == .escalate {
            onsets["\(event.rule.id)/\(event.source ?? "")/\(event.parameter.map { "\($0)" } ?? "")", default: []].append(event.t)
        }
        return onsets.mapValues { times in
            var most = 0, first = 0
            for last in times.indices {
                while times[first] <= times[last] - 3600 { first += 1 }
                most = max(most, last - first + 1)
            }
            return most
        }
    }

    /// Starts per key in any hour: never more than the rule's chatter bound.
    static func expectWithinBound(_ events: [AlarmEvent], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        var starts: [String: [Double]] = [:]
        for event in events where event.phase == .start {
            starts["\(event.rule.id)/\(event.source ?? "")/\(event.parameter.map { "\($0)" } ?? "")", default: []].append(event.t)
        }
        for (key, times) in starts {
            let rule = RuleID(rawValue: String(key.prefix { $0 != "/" }))!
            let bound = Int(AlarmPolicy.defaults(for: rule).chatterMax)
            var first = 0
            for last in times.indices {
                while times[first] <= times[last] - 3600 { first += 1 }
                #expect(last - first + 1 <= bound, "\(what): \(key) started \(last - first + 1) times within an hour (bound \(bound))",
                        sourceLocation: sourceLocation)
            }
        }
        let tiers = 3
        for (key, most) in maxOnsetsPerHour(events) {
            let rule = RuleID(rawValue: String(key.prefix { $0 != "/" }))!
            #expect(most <= Int(AlarmPolicy.defaults(for: rule).chatterMax) + tiers - 1,
                    "\(what): \(key) made \(most) onsets within an hour", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: [(87.0, 91.0), (84.0, 86.0), (87.0, 89.0), (89.0, 91.0), (84.0, 91.0), (93.0, 94.0), (89.0, 90.0)])
    func spo2WobblingAcrossAThresholdForSixHoursStaysWithinTheBound(low: Double, high: Double) {
        // Long enough at each value for the onset delays (60 s, 30 s), short enough to flap: every period tried.
        for (lowFor, highFor) in [(1.0, 1.0), (70.0, 10.0), (90.0, 30.0), (200.0, 100.0)] {
            var h = Harness(Patient(sex: .male, heightCm: 170, conditions: [.diffuseAlveolarHemorrhage]))
            h.feed(0, [("lab", .pao2, 60), ("vent", .fio2, 80), ("vent", .peep, 12), ("oxi", .spo2, high)])
            var t = 1.0
            while t < 6 * 3600 {
                let period = lowFor + highFor
                let phase = t.truncatingRemainder(dividingBy: period)
                h.feed(t, [("vent", .fio2, 80), ("vent", .peep, 12), ("vent", .vt, 420), ("oxi", .spo2, phase < lowFor ? low : high)])
                t += 1
            }
            Self.expectWithinBound(h.events, "SpO2 \(low)<->\(high) (\(lowFor) s/\(highFor) s)")
            #expect(h.events.filter { $0.phase != .continue }.count < 100, "SpO2 \(low)<->\(high) (\(lowFor) s/\(highFor) s): \(h.events.count) events in 6 h")
        }
    }

    @Test func aProbeFlagTogglingEveryFrameForAnHourIsOneAlarm() {
        var h = Harness()
        for second in 0..<3600 {
            h.feed(Double(second), [("oxi", .sensor, second % 2 == 0 ? "off" : "ok"), ("oxi", .spo2, second % 2 == 0 ? nil : 95)])
        }
        h.hold(from: 3600, to: 3700, [("oxi", .sensor, "ok"), ("oxi", .spo2, 95)])
        // Off again within the 10 s offset is the same alarm: one start, one end 10 s after the last off.
        #expect(h.trail(.sensorOff).filter { !$0.hasPrefix("continue") } == ["start@0:medium", "end@3609:medium"])
        Self.expectWithinBound(h.events, "probe flag toggling")
    }

    @Test func aProbeFlagTogglingSlowerThanTheOffsetBecomesIntermittentAndEndsWhenStable() throws {
        var h = Harness()
        // Off 5 s, ok 15 s: each off would be a new alarm (ended 10 s after ok).
        var t = 0.0
        while t < 3600 {
            let off = t.truncatingRemainder(dividingBy: 20) < 5
            h.feed(t, [("oxi", .sensor, off ? "off" : "ok"), ("oxi", .spo2, off ? nil : 95)])
            t += 1
        }
        let trail = h.trail(.sensorOff)
        #expect(trail.filter { $0.hasPrefix("start") }.count == 3, "\(trail)")
        let intermittent = try #require(h.events(.sensorOff).first { $0.reason == "intermittent" })
        #expect(intermittent.phase == .update && intermittent.state == .active)
        #expect(intermittent.evidence.contains { $0.0 == "intermittent" && $0.1 == .bool(true) })
        #expect(intermittent.evidence.contains { $0.0 == "onsets_1h" && $0.1 == .number(3) })
        #expect(intermittent.text.hasPrefix("Intermittent: started 3 times in 60 min; stays active until stable for 60 s. "), "\(intermittent.text)")
        // Made while the probe is back on: said so, never "off the patient" (issue 24 finding).
        #expect(intermittent.text.contains("Oximeter probe on oxi reporting again for 10 s") && !intermittent.text.contains("off the patient"),
                "\(intermittent.text)")
        // Stable: ends 60 s (chatter_stable_s) after the last off, with how often it came back meanwhile.
        h.hold(from: 3600, to: 3800, [("oxi", .sensor, "ok"), ("oxi", .spo2, 95)])
        let end = try #require(h.events(.sensorOff).last)
        // The last off is 3580–3584 s; stable (ok) from 3585 s.
        #expect(end.phase == .end && end.reason == "stable" && end.t == 3585 + 60, "\(h.trail(.sensorOff).suffix(2))")
        let episodes = try #require(end.evidence.first { $0.0 == "episodes" }?.1)
        #expect(episodes == .number(Double((3580 - 60) / 20 + 1)), "every off from 60 s on came back: \(episodes)")
        #expect(end.text.hasPrefix("Stable for 60 s. "))
        Self.expectWithinBound(h.events, "probe flag every 20 s")
    }

    @Test func fio2SteppingBackAndForthEveryTwentySecondsStaysWithinTheBound() {
        var h = Harness(Patient(sex: .female, heightCm: 160, conditions: [.diffuseAlveolarHemorrhage]))
        var t = 0.0
        while t < 6 * 3600 {
            let up = Int(t / 20) % 2 == 0
            h.feed(t, [("vent", .fio2, up ? 60 : 40), ("vent", .peep, 10), ("vent", .vt, 330), ("oxi", .spo2, 92)])
            t += 1
        }
        Self.expectWithinBound(h.events, "FiO2 60<->40 every 20 s")
        #expect(h.events.filter { $0.phase != .continue }.count < 100, "\(h.events.count) events in 6 h")
    }

    @Test func anEscalationIsNeverHeldBackByTheBound() throws {
        var h = Harness()
        // Four starts (87 % for 60 s, then 91 %): the fourth end is held, the alarm intermittent.
        for k in 0..<4 {
            let base = Double(k) * 100
            h.hold(from: base, to: base + 60, [("oxi", .spo2, 87)])
            h.hold(from: base + 61, to: base + 99, [("oxi", .spo2, 91)])
        }
        #expect(h.trail(.spo2Low) == ["start@60:medium", "end@61:medium", "start@160:medium", "end@161:medium",
                                      "start@260:medium", "end@261:medium", "start@360:medium", "update@361:medium"])
        #expect(h.events(.spo2Low).last?.reason == "intermittent")
        // Below 85 % for 30 s: the escalation comes on time, intermittent or not.
        h.hold(from: 400, to: 430, [("oxi", .spo2, 80)])
        let escalation = try #require(h.events(.spo2Low).last)
        #expect(escalation.phase == .escalate && escalation.priority == .high && escalation.t == 430)
    }

    @Test func anAcknowledgedIntermittentAlarmEndsOnceStableAndBelowTheBound() throws {
        var settings = RuleSettings()
        settings.policies[RuleID.plateauHigh.ordinal].chatterMax = 2
        var h = Harness(settings: settings)
        h.feed(0, [("vent", .pplat, 33)])
        h.feed(10, [("vent", .pplat, 25)])
        h.feed(20, [("vent", .pplat, 33)])
        h.feed(30, [("vent", .pplat, 25)])
        let intermittent = try #require(h.events(.plateauHigh).last)
        #expect(intermittent.reason == "intermittent" && intermittent.state == .active && intermittent.priority == .high)
        h.feed(40, [("vent", .pplat, 25), ("nurse", .ack, "lpv.plateau_high")])
        #expect(h.events(.plateauHigh).last?.reason == "acknowledged")
        h.hold(from: 50, to: 3700, step: 10, [("vent", .pplat, 25)])
        // Acknowledged while active: no latching. Stable since 30 s, but two starts lie within the hour
        // until the first leaves it at 3600 s.
        let last = try #require(h.events(.plateauHigh).last)
        #expect(last.phase == .end && last.reason == "stable" && last.t == 3600, "\(h.trail(.plateauHigh))")
        #expect(last.evidence.contains { $0.0 == "episodes" && $0.1 == .number(0) })
    }

    @Test func minimumActiveTimeAndOffsetAreConfigurable() {
        var settings = RuleSettings()
        settings.policies[RuleID.plateauHigh.ordinal].minActive = 120
        settings.policies[RuleID.plateauHigh.ordinal].offset = 30
        var h = Harness(settings: settings)
        h.hold(from: 0, to: 49, [("vent", .pplat, 33)])
        h.hold(from: 50, to: 109, [("vent", .pplat, 25)])
        #expect(h.trail(.plateauHigh) == ["start@0:high"], "cleared 59 s, but active 109 s < 120 s")
        h.feed(110, [("vent", .pplat, 31)])
        h.hold(from: 111, to: 140, [("vent", .pplat, 25)])
        #expect(h.trail(.plateauHigh) == ["start@0:high"], "a met group restarts the offset: cleared 29 s")
        h.feed(141, [("vent", .pplat, 25)])
        #expect(h.trail(.plateauHigh) == ["start@0:high", "update@141:high:latched"])
    }
}

