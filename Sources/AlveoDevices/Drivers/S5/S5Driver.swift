import AlveoCore

/// GE Datex-Ohmeda S/5 monitors (and CARESCAPE monitors through their S/5 computer interface) over
/// the serial computer interface (DRI): asked once for its displayed values, it sends a physiological
/// record every 10 s — ECG heart rate, the arterial mean, SpO2 and pulse, FiO2 and the spirometry
/// values (device-protocols-monitors-vents.md §GE; devices/ge-s5/README.md).
package struct S5Driver: SerialDriver {
    package init() {}
    package var name: String { "ge_s5" }
    package var title: String { "GE Datex-Ohmeda S/5 monitor (computer interface, DRI)" }
    package var role: DeviceRole { .monitor }
    package var polled: Bool { false }
    package var line: LineDefaults { LineDefaults(baud: 19_200, parity: .even, flow: .rtscts) }
    package var parameters: [Parameter] { [.spo2, .pulseRate, .fio2, .vt, .pplat, .peep, .ppeak, .rr, .map, .heartRate] }

    package func makeSession(source: String, pollInterval: Double) -> any SerialSession {
        S5Session(source: source)
    }

    /// It sends a record at the interval asked for (10 s).
    package var streamInterval: Double? { Double(S5Session.defaultInterval) }

    package func dataFrame(_ values: SerialDeviceEncoders.Values, sensor: SensorState) -> [UInt8] {
        SerialDeviceEncoders.s5Record(values, sensor: sensor)
    }

    /// It answers a physiological data request with a record at once (then streams).
    package func answers(to heard: inout [UInt8]) -> [SimulatedAnswer] {
        var deframer = S5Deframer()
        let records = deframer.feed(heard)
        // Keep an unfinished frame for next time.
        if heard.last == S5Frame.flag || heard.count > 4096 {
            heard.removeAll()
        } else if let start = heard.lastIndex(of: S5Frame.flag) {
            heard.removeSubrange(..<start)
        } else {
            heard.removeAll()
        }
        return records.filter { $0.count >= S5Frame.headerSize + 1 && $0[14] == 0 && $0[15] == 0 && $0[18] == S5Record.requestType }
            .map { _ in .dataFrame }
    }

    package var fuzzTarget: String { "ge_s5" }
    package var fuzzSeeds: [String] { ["Tests/AlveoDevicesTests/Fixtures/ge_dri_*.bin"] }
}
