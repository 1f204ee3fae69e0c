import AlveoTestKit
import Foundation
import Testing

/// Charted values and laboratory results are journaled as the record (an `input` and an `entry` line
/// each) and the forwarders pass over them. Passing one used to save the forwarder's position with an
/// fsync'ed write and rename, so a burst of entries (a bedside view charting in a loop, an interface
/// engine flushing its queue) put the forwarder behind the journal by hundreds of lines it only skips,
/// and `technical.station_unreachable` (high) went off — "more alarm messages waiting than 100" —
/// while the station answered every message (found by the week of the agent's own interfaces,
/// issue 23: 302 lines behind after 3,000 charts).
@Suite(.serialized, .endToEnd, .ownThread) struct EntryBurstTests {
    @Test func aBurstOfChartsIsNoStationOutage() throws {
        let directory = try Paths.temporaryDirectory()
        let stationPort = freePort()
        let station = try Receivers.hl7(port: stationPort, log: directory.appendingPathComponent("received.jsonl").path, in: directory,
                                        arguments: ["--fast"])
        defer { station.kill() }
        let socket = directory.appendingPathComponent("alveo.sock").path
        let config = directory.appendingPathComponent("bed.yaml").path
        // A ventilator nobody answers for: it goes silent once (an event the station gets), then nothing changes.
        try """
            patient: {sex: female, height_cm: 160}
            devices:
              - {id: vent, profile: \(Paths.repository.appendingPathComponent("devices/alveo-gateway-v1/profile.yaml").path), poll_interval_s: 1, transport: {kind: modbus_tcp, host: 127.0.0.1, port: \(freePort())}}
            control: {socket: \(socket)}
            outputs:
              journal: {directory: journal}
              hl7: {host: 127.0.0.1, port: \(stationPort), reconnect_max_s: 0.5, patient_id: "12345", bed_id: ICU-B1}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let agent = try RunningProcess([Paths.alveo, "run", "--config", config], directory: directory, name: "alveo")
        defer { agent.kill() }
        let client = ControlSocketClient(path: socket)
        func backlog() -> Int? {
            guard let reply = client.once(ControlSocketClient.get("/v1/status", close: true)), reply.status == 200,
                  let status = try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any] else { return nil }
            return ((((status["outputs"] as? [String: Any])?["forwarders"] as? [[String: Any]])?.first)?["backlog"] as? Int)
        }
        #expect(waitUntil(timeout: 60) { agent.stdout.contains("technical.device_silent") && backlog() == 0 }, "\(agent.stderr.suffix(2000))")
        var answered = 0
        for n in 0..<2_000 {
            let reply = client.once(ControlSocketClient.post("/v1/chart", json: "{\"values\":{\"pao2\":\(80 + 2 * (n % 2))},\"by\":\"burst\"}"))
            if reply?.status == 200 { answered += 1 }
        }
        #expect(answered == 2_000)
        #expect(waitUntil(timeout: 60) { backlog() == 0 }, "the forwarder did not pass the entries")
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 30) == 0, "\(agent.stderr.suffix(2000))")
        #expect(!agent.stdout.contains("\"rule\":\"technical.station_unreachable\""),
                "\(agent.stdout.split(separator: "\n").filter { $0.contains("station_unreachable") }.first ?? "")")
    }
}
