/// A scenario that makes exactly `events` alarm events, for the tests of delivery (how many, in what
/// order, through which failures), not of the rules: each probe-off episode is on an oximeter of its
/// own (`oxi`, `oxi1`, … `oxi49`, then `oxi` again), 2 s apart, because one probe flapping is one alarm
/// under the chatter bound (rules v3 §1.3). Its configuration needs `TogglingScenario.ruleLines`
/// (sensor_off without its 10 s offset, so each episode ends at the next row, and with the highest
/// chatter bound, 60 an hour, over the 15 an hour each oximeter makes; no silence alarms from the
/// oximeters between their episodes).
package enum TogglingScenario {
    package static func text(events: Int) -> String {
        var text = "t,source,parameter,value\n"
        for n in 0..<events {
            let k = (n / 2) % 50
            text += "\(2 * n),\(k == 0 ? "oxi" : "oxi\(k)"),sensor,\(n % 2 == 0 ? "off" : "ok")\n"
        }
        return text
    }

    /// The `rules:` entries (indented for a top-level `rules:` mapping).
    package static let ruleLines = """
          technical.sensor_off: {offset_s: 0, chatter_max_per_h: 60}
          technical.device_silent: {enabled: false}
        """
}
