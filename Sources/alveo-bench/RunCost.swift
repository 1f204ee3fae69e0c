import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `alveo-bench run [S]`: CPU and memory of `alveo run` at a bedside: three Modbus devices at 1 Hz
/// (`alveo simulate`'s ventilator over TCP and oximeter over RTU on a pseudo-terminal, a pymodbus
/// gateway), the control API on a Unix socket asked for the status once a second (a bedside view),
/// the trend store and the alarm journal; SIGTERM after S seconds.
///
/// Peak memory is the agent's own: VmHWM of /proc/PID/status, read every 50 ms until the process is
/// gone. wait4's ru_maxrss is printed beside it but is not the agent's figure: posix_spawn starts the
/// child with vfork (CLONE_VM), and exec folds the high-water mark of the memory it leaves (this
/// benchmark's) into the child's maxrss, so after `make bench`'s replay benchmarks it reported this
/// process's own peak (measured: a parent that touched 300 MB gives /bin/true a ru_maxrss of 301 MB).
enum RunCost {
    static func run(seconds: Int) throws {
        let binDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let alveo = binDirectory.appendingPathComponent("alveo").path
        guard FileManager.default.isExecutableFile(atPath: alveo) else {
            print("run cost: \(alveo) not built; run `swift build -c release` first (make bench does)")
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alveo-bench-run-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = 16_000 + Int(getpid() % 500) * 2
        let link = directory.appendingPathComponent("oxi").path
        let socket = directory.appendingPathComponent("alveo.sock").path
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let profile = repository.appendingPathComponent("devices/alveo-gateway-v1/profile.yaml").path
        let scenario = repository.appendingPathComponent("devices/scenarios/live_demo.csv").path
        let config = directory.appendingPathComponent("bed.yaml").path
        try """
            patient: {sex: female, height_cm: 160, conditions: [diffuse_alveolar_hemorrhage]}
            devices:
              - {id: vent, profile: \(profile), poll_interval_s: 1, transport: {kind: modbus_tcp, host: 127.0.0.1, port: \(base)}}
              - {id: oxi, profile: \(profile), poll_interval_s: 1, transport: {kind: modbus_rtu, path: \(link), baud: 19200}}
              - {id: gw2, profile: \(profile), poll_interval_s: 1, transport: {kind: modbus_tcp, host: 127.0.0.1, port: \(base + 1)}}
            control: {socket: \(socket)}
            trends: {path: \(directory.appendingPathComponent("trends.sqlite").path), min_free_mb: 0}
            outputs:
              journal: {directory: \(directory.appendingPathComponent("journal").path)}
            """.write(toFile: config, atomically: true, encoding: .utf8)

        func start(_ arguments: [String]) throws -> Process {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = arguments
            process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            process.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try process.run()
            return process
        }
        let simulator = try start([alveo, "simulate", "--scenario", scenario, "--vent-port", "\(base)", "--oxi-link", link])
        let peer = try start(["python3", repository.appendingPathComponent("Tests/Peers/modbus_peer.py").path, "--tcp", "\(base + 1)",
                              "--ir", "1,1,0,42,97,72,400,450,220,50,140,280"])
        defer {
            simulator.interrupt()
            peer.terminate()
            simulator.waitUntilExit()
            peer.waitUntilExit()
        }
        let clock = ContinuousClock()
        let linkDeadline = clock.now.advanced(by: .seconds(10))
        while !FileManager.default.fileExists(atPath: link), clock.now < linkDeadline { usleep(50_000) }

        var pid: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup(alveo), strdup("run"), strdup("--config"), strdup(config), nil]
        defer { argv.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 1, directory.appendingPathComponent("events.jsonl").path, O_WRONLY | O_CREAT, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, directory.appendingPathComponent("agent.log").path, O_WRONLY | O_CREAT, 0o644)
        guard posix_spawn(&pid, alveo, &actions, nil, &argv, environ) == 0 else { print("cannot start alveo run"); return }
        posix_spawn_file_actions_destroy(&actions)
        print("alveo run, 3 devices at 1 Hz, control API (status every second), trend store and journal, for \(seconds) s ...")

        // The status once a second on the control socket; memory sampled every 50 ms.
        var peak = Memory()
        var answered = 0, asked = 0
        let end = clock.now.advanced(by: .seconds(seconds))
        var nextStatus = clock.now.advanced(by: .seconds(1))
        var breakdown = ""
        while clock.now < end {
            if let now = Memory(pid: pid) { peak.keepPeak(now) }
            if clock.now >= nextStatus {
                nextStatus = nextStatus.advanced(by: .seconds(1))
                asked += 1
                if RunCost.status(socket: socket)?.hasPrefix("HTTP/1.1 200") == true { answered += 1 }
            }
            usleep(50_000)
        }
        breakdown = RunCost.breakdown(pid: pid)
        kill(pid, SIGTERM)
        // Until it has exited (a zombie has no VmHWM): its shutdown counts too.
        var status: Int32 = 0
        var usage = rusage()
        while true {
            if let now = Memory(pid: pid) { peak.keepPeak(now) }
            let reaped = wait4(pid, &status, WNOHANG, &usage)
            if reaped == pid || reaped < 0 { break }
            usleep(5_000)
        }
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        let log = (try? String(contentsOfFile: directory.appendingPathComponent("agent.log").path, encoding: .utf8)) ?? ""
        let polls = log.split(separator: "\n").filter { $0.contains("stopped") }.map { line in
            line.split(separator: " ").first { $0.hasPrefix("polls=") }.map(String.init) ?? "?"
        }
        print(String(format: "  CPU %.2f s in %d s = %.3f %% of one core; exit status %d; %@; status answered %d of %d",
                     cpu, seconds, cpu / Double(seconds) * 100, status >> 8, polls.joined(separator: " "), answered, asked))
        print(String(format: "  peak RSS (VmHWM, the agent's own) %.1f MB: anonymous %.1f MB, files %.1f MB at the peak of each; threads %d",
                     Double(peak.hwm) / 1024, Double(peak.anonymous) / 1024, Double(peak.file) / 1024, peak.threads))
        print(String(format: "  (wait4 ru_maxrss %.1f MB: it includes this benchmark's own high-water mark, see RunCost)", Double(usage.ru_maxrss) / 1024))
        print(breakdown)
    }

    /// What /proc/PID/status says of memory, in KiB.
    struct Memory {
        var hwm = 0, anonymous = 0, file = 0, threads = 0

        init() {}

        init?(pid: pid_t) {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
            for line in text.split(separator: "\n") {
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard fields.count >= 2, let value = Int(fields[1]) else { continue }
                switch fields[0] {
                case "VmHWM:": hwm = value
                case "RssAnon:": anonymous = value
                case "RssFile:": file = value
                case "Threads:": threads = value
                default: break
                }
            }
            guard hwm > 0 else { return nil }  // a zombie
        }

        mutating func keepPeak(_ now: Memory) {
            hwm = max(hwm, now.hwm)
            anonymous = max(anonymous, now.anonymous)
            file = max(file, now.file)
            threads = max(threads, now.threads)
        }
    }

    /// Where the resident memory is, from /proc/PID/smaps: by mapping (a library, the heap, the
    /// thread stacks and other anonymous maps), largest first.
    static func breakdown(pid: pid_t) -> String {
        // Read to the end: a /proc file has no size, and smaps is read in pieces.
        guard let handle = FileHandle(forReadingAtPath: "/proc/\(pid)/smaps"), let data = try? handle.readToEnd() else { return "" }
        try? handle.close()
        let text = String(decoding: data, as: UTF8.self)
        var byName: [String: Int] = [:]
        var name = ""
        var anonymousMaps = 0
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let first = fields.first, first.contains("-"), first.allSatisfy({ $0.isHexDigit || $0 == "-" }) {
                name = fields.count >= 6 ? String(fields[5...].joined(separator: " ")) : "[anonymous]"
                if let slash = name.lastIndex(of: "/") { name = String(name[name.index(after: slash)...]) }
                if name == "[anonymous]" { anonymousMaps += 1 }
            } else if fields.first == "Rss:", fields.count >= 2, let kb = Int(fields[1]) {
                byName[name, default: 0] += kb
            }
        }
        let total = byName.values.reduce(0, +)
        var out = String(format: "  resident before SIGTERM: %.1f MB (%d anonymous maps: thread stacks and malloc arenas)\n", Double(total) / 1024, anonymousMaps)
        for (name, kb) in byName.sorted(by: { $0.value > $1.value }).prefix(14) where kb >= 256 {
            out += String(format: "    %7.1f MB  %@\n", Double(kb) / 1024, name)
        }
        return out
    }

    /// GET /v1/status on the control socket: the answer's text, or nil.
    static func status(socket path: String) -> String? {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { return nil }
        let request = Array("GET /v1/status HTTP/1.1\r\nHost: alveo\r\nConnection: close\r\n\r\n".utf8)
        guard write(fd, request, request.count) == request.count else { return nil }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            answer.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: answer, as: UTF8.self)
    }
}
