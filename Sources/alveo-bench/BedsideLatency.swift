import AlveoAgent
import AlveoIO
import AlveoOutput
import Foundation
import NIOHTTP1
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Latency of the bedside loop under a running `alveo run` (release build): from a charted value
/// (the control API, and the `alveo chart` command) and from an ORU^R01 arriving over MLLP to the
/// alarm event it causes on the agent's stdout, and to the answer (sent only once the entry and its
/// events are journaled with fsync); and of `GET /v1/status`. Each haemoglobin alternates 12 and
/// 9 g/dL, so that every entry after the first starts or ends `dah.hemoglobin_drop`.
enum BedsideLatency {
    /// Lines of the agent's stdout with their arrival time, read on a thread of their own.
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [(at: ContinuousClock.Instant, text: String)] = []

        func read(_ fd: Int32) {
            Thread.detachNewThread { [self] in
                var pending: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 65536) }
                    if n <= 0 { return }
                    let now = ContinuousClock.now
                    pending += buffer[0..<n]
                    while let newline = pending.firstIndex(of: 0x0A) {
                        let line = String(decoding: pending[..<newline], as: UTF8.self)
                        pending.removeSubrange(...newline)
                        lock.withLock { lines.append((now, line)) }
                    }
                }
            }
        }

        /// Arrival times of the hemoglobin events, in order.
        func hemoglobinEvents() -> [ContinuousClock.Instant] {
            lock.withLock { lines.filter { $0.text.contains("\"rule\":\"dah.hemoglobin_drop\"") }.map(\.at) }
        }
    }

    static func milliseconds(_ duration: Duration) -> Double { Double(duration.components.attoseconds) / 1e15 + Double(duration.components.seconds) * 1000 }

    static func summary(_ name: String, _ samples: [Double]) {
        guard !samples.isEmpty else { print("  \(name): no samples"); return }
        let sorted = samples.sorted()
        print(String(format: "  %@: n %d, p50 %.2f ms, p99 %.2f ms, max %.2f ms", name, sorted.count,
                     percentile(sorted, 0.5), percentile(sorted, 0.99), sorted.last!))
    }

    static func run(entries: Int) async throws {
        let binDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let alveo = binDirectory.appendingPathComponent("alveo").path
        guard FileManager.default.isExecutableFile(atPath: alveo) else {
            print("bedside: \(alveo) not built; run `swift build -c release` first (make bench does)")
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alveo-bench-bedside-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let profile = repository.appendingPathComponent("devices/alveo-gateway-v1/profile.yaml").path
        let base = 17_000 + Int(getpid() % 500) * 3
        let socket = directory.appendingPathComponent("alveo.sock").path
        let config = directory.appendingPathComponent("bed.yaml").path
        // No ventilator answers (it goes silent once, then nothing changes); no station listens (the
        // forwarder retries with backoff in the background, as at a bed whose station is down).
        try """
            patient: {sex: female, height_cm: 160, conditions: [diffuse_alveolar_hemorrhage]}
            devices:
              - {id: vent, profile: \(profile), poll_interval_s: 1, transport: {kind: modbus_tcp, host: 127.0.0.1, port: \(base)}}
            rules:
              alarm_system: {max_sample_age_s: 86400}
            control: {socket: \(socket)}
            inputs:
              hl7: {bind: 127.0.0.1, port: \(base + 1), allowed_senders: [LAB]}
            outputs:
              journal: {directory: \(directory.path)/journal}
              hl7: {host: 127.0.0.1, port: \(base + 2), patient_id: "12345", bed_id: BENCH, reconnect_max_s: 30}
            """.write(toFile: config, atomically: true, encoding: .utf8)

        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { print("bedside: no pipe"); return }
        var pid: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup(alveo), strdup("run"), strdup("--config"), strdup(config), nil]
        defer { argv.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addopen(&actions, 2, directory.appendingPathComponent("agent.log").path, O_WRONLY | O_CREAT, 0o644)
        guard posix_spawn(&pid, alveo, &actions, nil, &argv, environ) == 0 else { print("bedside: cannot start alveo run"); return }
        posix_spawn_file_actions_destroy(&actions)
        close(fds[1])
        let lines = Lines()
        lines.read(fds[0])
        defer {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            close(fds[0])
        }
        // Up and serving: status answers.
        var ready = false
        for _ in 0..<300 where !ready {
            if let reply = try? await ControlClient.request(socket: socket, method: .GET, path: "/v1/status"), reply.status == 200 { ready = true } else { usleep(20_000) }
        }
        guard ready else { print("bedside: the agent did not start (see its log)"); return }
        print("bedside loop under alveo run (release), \(entries) entries per path:")

        // 1. Chart through the control API.
        var answered: [Double] = [], sent: [ContinuousClock.Instant] = []
        let before = lines.hemoglobinEvents().count
        for index in 0..<entries {
            let body = Array("{\"values\":{\"hb\":\(index % 2 == 0 ? 12 : 9)},\"by\":\"bench\"}".utf8)
            let start = ContinuousClock.now
            let reply = try await ControlClient.request(socket: socket, method: .POST, path: "/v1/chart", json: body)
            guard reply.status == 200 else { print("bedside: chart refused: \(String(decoding: reply.body, as: UTF8.self))"); return }
            answered.append(milliseconds(ContinuousClock.now - start))
            sent.append(start)
        }
        try await Task.sleep(for: .milliseconds(300))
        var events = Array(lines.hemoglobinEvents().dropFirst(before))
        summary("chart -> answer (entry and events journaled)", answered)
        summary("chart -> event on stdout", zip(sent.dropFirst(), events).map { milliseconds($1 - $0) })
        if events.count != entries - 1 { print("  (expected \(entries - 1) events, saw \(events.count))") }

        // 2. ORU^R01 over MLLP.
        let link = try TCPConnection(host: "127.0.0.1", port: base + 1, timeout: .seconds(5))
        var reader = MLLPFrameReader()
        answered = []
        sent = []
        let beforeLab = lines.hemoglobinEvents().count
        for index in 0..<entries {
            let stamp = { () -> String in
                let formatter = DateFormatter()
                formatter.locale = Locale(identifier: "en_US_POSIX")
                formatter.timeZone = TimeZone(identifier: "UTC")
                formatter.dateFormat = "yyyyMMddHHmmss.SSS"
                return formatter.string(from: Date()) + "+0000"
            }()
            let message = ["MSH|^~\\&|LAB|HOSP|ALVEO|HOSP|\(stamp)||ORU^R01^ORU_R01|B\(index)|P|2.5.1", "PID|1||12345^^^HOSP^MR",
                           "OBR|1||S\(index)|57021-8^CBC^LN|||\(stamp)", "OBX|1|NM|718-7^Hemoglobin^LN||\(index % 2 == 0 ? 120 : 90)|g/L|||||F|||\(stamp)"]
                .joined(separator: "\r")
            let start = ContinuousClock.now
            try link.send([0x0B] + Array(message.utf8) + [0x1C, 0x0D])
            var ack: [String] = []
            while ack.isEmpty { ack = reader.feed(try link.receive(timeout: .seconds(10))) }
            guard PCD04Message.parseACK(ack[0])?.code == "AA" else { print("bedside: ORU refused: \(ack[0])"); return }
            answered.append(milliseconds(ContinuousClock.now - start))
            sent.append(start)
        }
        try await Task.sleep(for: .milliseconds(300))
        events = Array(lines.hemoglobinEvents().dropFirst(beforeLab))
        summary("ORU -> ACK AA (entry and events journaled)", answered)
        // The first ORU after the charts (120 g/L after 9 g/dL) ends the alarm too: events and entries pair one to one.
        summary("ORU -> event on stdout", zip(sent, events).map { milliseconds($1 - $0) })

        // 3. Status.
        var status: [Double] = []
        var size = 0
        for _ in 0..<entries {
            let start = ContinuousClock.now
            let reply = try await ControlClient.request(socket: socket, method: .GET, path: "/v1/status")
            status.append(milliseconds(ContinuousClock.now - start))
            size = reply.body.count
        }
        summary("GET /v1/status (\(size) bytes)", status)

        // 4. The whole `alveo chart` command (process start, argument parsing, one request).
        var command: [Double] = []
        let commandRuns = min(entries, 200)
        for index in 0..<commandRuns {
            let start = ContinuousClock.now
            var child: pid_t = 0
            var childArgv: [UnsafeMutablePointer<CChar>?] = [strdup(alveo), strdup("chart"), strdup("hb=\(index % 2 == 0 ? 12 : 9)"),
                                                             strdup("--socket"), strdup(socket), nil]
            var quiet = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&quiet)
            posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0)
            guard posix_spawn(&child, alveo, &quiet, nil, &childArgv, environ) == 0 else { print("bedside: cannot run alveo chart"); return }
            posix_spawn_file_actions_destroy(&quiet)
            childArgv.forEach { free($0) }
            var exitStatus: Int32 = 0
            waitpid(child, &exitStatus, 0)
            command.append(milliseconds(ContinuousClock.now - start))
        }
        summary("alveo chart command, start to exit", command)
    }
}
