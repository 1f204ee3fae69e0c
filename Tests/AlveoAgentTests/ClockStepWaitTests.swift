import AlveoTestKit
import Foundation
import Testing

/// The agent's own threads (the bus pollers, the journal forwarders, the trend writer) pause between
/// their rounds, and a pause must be measured on the monotonic clock. libdispatch on Linux waits for a
/// `DispatchSemaphore` with `sem_timedwait` and an absolute CLOCK_REALTIME deadline (computed from the
/// wall clock when the wait begins): a wall clock stepped back by an hour while a poller pauses made
/// the pause an hour longer, and the bed's devices were not polled meanwhile (found by the week of the
/// agent's own interfaces, issue 23).
///
/// The wall clock is shifted for the agent alone (clockstep_shim.c) while the kernel's stays: to a
/// pause, the agent's clock 24 h ahead is the real clock set back 24 h after it began (it waited for
/// a day), and 2 h behind is a deadline already past (it did not wait at all, and the threads spun).
@Suite(.serialized, .endToEnd, .ownThread) struct ClockStepWaitTests {
    @Test func pollersKeepTheirPaceWhateverTheWallClockSays() throws {
        let directory = try Paths.temporaryDirectory()
        let shim = try Shims.build("clockstep_shim", in: directory)
        let modbusPort = freePort()
        let peer = try Receivers.modbusPeer(["--tcp", "\(modbusPort)", "--ir", "1,3,0,42,80,72,400,300,220,50,140,280"], in: directory)
        defer { peer.kill() }
        let socket = directory.appendingPathComponent("alveo.sock").path
        let config = directory.appendingPathComponent("bed.yaml").path
        try """
            patient: {sex: female, height_cm: 160}
            devices:
              - {id: gw, profile: \(Paths.repository.appendingPathComponent("devices/alveo-gateway-v1/profile.yaml").path), poll_interval_s: 0.2, transport: {kind: modbus_tcp, host: 127.0.0.1, port: \(modbusPort)}}
            control: {socket: \(socket)}
            trends: {path: trends.sqlite}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let offset = directory.appendingPathComponent("clock-offset").path
        try "0\n".write(toFile: offset, atomically: true, encoding: .utf8)
        let agent = try RunningProcess([Paths.alveo, "run", "--config", config], directory: directory, name: "alveo",
                                       environment: ["LD_PRELOAD": shim, "ALVEO_CLOCK_OFFSET_FILE": offset])
        defer { agent.kill() }
        let client = ControlSocketClient(path: socket)
        /// The agent's (monotonic) time and the gateway's poll count.
        func state() -> (t: Double, polls: Int)? {
            guard let reply = client.once(ControlSocketClient.get("/v1/status", close: true)), reply.status == 200,
                  let status = try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any],
                  let t = (status["agent"] as? [String: Any])?["t"] as? Double,
                  let polls = ((status["devices"] as? [[String: Any]])?.first)?["polls"] as? Int else { return nil }
            return (t, polls)
        }
        /// Polls made over `seconds` of the agent's own clock (asked twice a second).
        func polls(over seconds: Double) -> Int? {
            guard let from = state() else { return nil }
            var now = from
            for _ in 0..<240 where now.t < from.t + seconds {
                usleep(500_000)
                now = state() ?? now
            }
            return now.t >= from.t + seconds ? now.polls - from.polls : nil
        }
        #expect(waitUntil(timeout: 60) { (state()?.polls ?? 0) > 2 }, "\(agent.stderr.suffix(2000))")
        // 25 polls in 5 s at 0.2 s. A pause that does not wait polls as fast as the peer answers: hundreds.
        try "-7200\n".write(toFile: offset, atomically: true, encoding: .utf8)
        let behind = polls(over: 5)
        #expect((behind ?? .max) <= 60, "polls in 5 s with the wall clock 2 h behind: \(behind.map(String.init) ?? "no answer")")
        // A pause that lasts a day gives none after the first.
        try "86400\n".write(toFile: offset, atomically: true, encoding: .utf8)
        let ahead = polls(over: 5)
        #expect((ahead ?? 0) >= 5, "polls in 5 s with the wall clock 24 h ahead: \(ahead.map(String.init) ?? "no answer")")
        #expect(!agent.stdout.contains("technical.device_silent"), "\(agent.stdout)")
        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 30) == 0, "\(agent.stderr.suffix(2000))")
    }
}
