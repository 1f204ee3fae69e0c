import AlveoTestKit
import AlveoAgent
import Foundation
import NIOHTTP1
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The control API as docs/control-api.md promises it, field by field, against a running `alveo run`
/// (a ventilator that is not there, an HL7 output to a port nobody listens on): the answer's status
/// for every field of every endpoint, the sample time actually used, bounded echoes, the agent's own
/// alarms in status, the CLI's exit codes, and a client that reads the agent's answer whenever one
/// arrives.
@Suite(.serialized, .endToEnd, .ownThread) struct ControlContractTests {
    let directory: URL
    let socket: String

    init() throws {
        directory = try Paths.temporaryDirectory()
        socket = directory.appendingPathComponent("alveo.sock").path
    }

    /// Starts `alveo run` with the control socket; waits until it answers status. `hl7Port`: its HL7
    /// output goes there (nobody listens unless the test starts a receiver).
    func startAgent(hl7Port: Int = freePort(), extraRules: String = "") throws -> RunningProcess {
        let config = directory.appendingPathComponent("bed.yaml").path
        try """
            patient: {sex: female, height_cm: 160}
            devices:
              - {id: vent, profile: \(Paths.repository.appendingPathComponent("devices/alveo-gateway-v1/profile.yaml").path), transport: {kind: modbus_tcp, host: 127.0.0.1, port: \(freePort())}}
            control: {socket: \(socket)}
            rules:
              technical.device_silent: {timeout_s: 2}
            \(extraRules)
            outputs:
              journal: {directory: journal}
              hl7: {host: 127.0.0.1, port: \(hl7Port), bed_id: ICU-B1, patient_id: "12345", reconnect_max_s: 0.5}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let agent = try RunningProcess([Paths.alveo, "run", "--config", config], directory: directory, name: "run")
        let up = waitUntil(timeout: 60) {
            guard let result = try? ChildProcess.run([Paths.alveo, "status", "--json", "--socket", socket], timeout: 30) else { return false }
            return result.status == 0
        }
        #expect(up, "the agent did not answer status: \(agent.stderr)")
        return agent
    }

    /// One request through the CLI's own client (in process): status and the parsed answer.
    func request(_ path: String, _ body: String?) async throws -> (status: Int, answer: [String: Any], text: String) {
        // A bound on failure, not a measurement: on a loaded machine an answer may take long to be read.
        let reply = try await ControlClient.request(socket: socket, method: body == nil ? .GET : .POST, path: path,
                                                    json: body.map { Array($0.utf8) }, timeout: .seconds(600))
        let text = String(decoding: reply.body, as: UTF8.self)
        return (reply.status, (try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any]) ?? [:], text)
    }

    func alveo(_ arguments: [String], environment: [String: String] = [:]) throws -> ChildProcess.Result {
        try ChildProcess.run([Paths.alveo] + arguments, timeout: 60, environment: environment)
    }

    static func rfc3339(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    // MARK: the client reads the answer

    /// Runs `request` `count` times, `width` at a time: how many times each status came, with the
    /// failures (no answer read) under 0 and their reasons recorded.
    static func concurrently(_ count: Int, width: Int, _ request: @escaping @Sendable () async throws(ControlClient.Failure) -> Int) async throws -> [Int: Int] {
        var statuses: [Int: Int] = [:]
        var reasons: [String: Int] = [:]
        await withTaskGroup(of: Result<Int, ControlClient.Failure>.self) { group in
            func take(_ result: Result<Int, ControlClient.Failure>) {
                switch result {
                case .success(let status): statuses[status, default: 0] += 1
                case .failure(let failure):
                    statuses[0, default: 0] += 1
                    reasons["\(failure)", default: 0] += 1
                }
            }
            for index in 0..<count {
                if index >= width, let result = await group.next() { take(result) }
                group.addTask {
                    do throws(ControlClient.Failure) { return .success(try await request()) } catch { return .failure(error) }
                }
            }
            for await result in group { take(result) }
        }
        if !reasons.isEmpty { Issue.record("no answer read: \(reasons)") }
        return statuses
    }

    /// The agent refuses a 10 KB `by` once it has read the body, answers and closes; the client must
    /// take that answer even when the close comes before it finished writing (it used to say "no
    /// agent" for 3-5 % of them). And the CLI refuses such a `by` itself, without sending it.
    @Test func aLongByIsAnsweredEveryTimeAndTheCLIRefusesItItself() async throws {
        let agent = try startAgent()
        defer { agent.kill() }
        let by = String(repeating: "x", count: 10_240)
        let body = "{\"values\":{\"pao2\":70},\"by\":\"\(by)\"}"
        // Several at a time, as several bedside views and commands would.
        let socket = self.socket
        let statuses = try await Self.concurrently(250, width: 4) { () throws(ControlClient.Failure) in
            try await ControlClient.request(socket: socket, method: .POST, path: "/v1/chart", json: Array(body.utf8), timeout: .seconds(600)).status
        }
        #expect(statuses == [422: 250], "statuses (0: no answer read): \(statuses)")

        // The CLI: exit 65 with the reason, against the agent and against no agent at all (so it did
        // not send it).
        let cli = try alveo(["chart", "pao2=70", "--by", by, "--socket", socket])
        #expect(cli.status == 65 && cli.stderr.contains("--by") && cli.stderr.contains("10240 bytes"), "\(cli.status) \(cli.stderr)")
        #expect(cli.stderr.utf8.count < 400, "the CLI does not echo the whole option: \(cli.stderr.utf8.count) bytes")
        let offline = try alveo(["chart", "pao2=70", "--by", by, "--socket", directory.appendingPathComponent("none.sock").path])
        #expect(offline.status == 65, "refused before connecting: \(offline.status) \(offline.stderr)")
        for (command, option) in [(["ack", "oxygenation.spo2_low"], "--source"), (["patient", "set"], "--name"), (["patient", "discharge"], "--by")] {
            let refused = try alveo(command + [option, "a\u{7}b", "--socket", socket])
            #expect(refused.status == 65 && refused.stderr.contains(option) && refused.stderr.contains("control characters"),
                    "\(command) \(option): \(refused.status) \(refused.stderr)")
        }
        // A body larger than 64 KiB is answered 413, even when the agent stops reading it.
        let huge = "{\"values\":{\"pao2\":70},\"by\":\"\(String(repeating: "y", count: 70_000))\"}"
        let tooLarge = try await request("/v1/chart", huge)
        #expect(tooLarge.status == 413, "\(tooLarge)")
    }

    /// An agent that answers before it has read the request (as it does for a body over 64 KiB, or
    /// as one that is quicker than the command's writes): the command reads its answer rather than
    /// reporting the write it could not finish as "no agent". Each request is answered once its head is
    /// read, and the connection half-closed; its 300 KB body is never read.
    @Test func anAnswerThatComesBeforeTheRequestIsWrittenIsRead() async throws {
        let path = directory.appendingPathComponent("early.sock").path
        let count = 1000
        let server = try EarlyAnswerServer(path: path, connections: count)
        defer { server.stop() }
        let body = Array("{\"values\":{\"pao2\":70},\"by\":\"\(String(repeating: "x", count: 300_000))\"}".utf8)
        let statuses = try await Self.concurrently(count, width: 4) { () throws(ControlClient.Failure) in
            try await ControlClient.request(socket: path, method: .POST, path: "/v1/chart", json: body, timeout: .seconds(600)).status
        }
        #expect(statuses == [422: count], "statuses (0: no answer read): \(statuses)")
    }

    // MARK: every field as the table says

    struct Case: Sendable, CustomTestStringConvertible {
        var path: String
        var body: String
        var status: Int
        var mentions: String = ""
        var testDescription: String { "\(path) \(body.prefix(80)) → \(status)" }
    }

    static let long = String(repeating: "n", count: 129)
    static let cases: [Case] = [
        // Not a JSON object: 400 at every endpoint.
        Case(path: "/v1/ack", body: "not json", status: 400, mentions: "JSON object"),
        Case(path: "/v1/chart", body: "[]", status: 400, mentions: "JSON object"),
        Case(path: "/v1/patient", body: "\"x\"", status: 400, mentions: "JSON object"),
        Case(path: "/v1/patient/discharge", body: "[1]", status: 400, mentions: "JSON object"),
        // ack: rule (string, required), source and by (text).
        Case(path: "/v1/ack", body: "{}", status: 422, mentions: "rule"),
        Case(path: "/v1/ack", body: "{\"rule\":5}", status: 400, mentions: "rule"),
        Case(path: "/v1/ack", body: "{\"rule\":null}", status: 400, mentions: "rule"),
        Case(path: "/v1/ack", body: "{\"rule\":\"oxygenation.nonsense\"}", status: 422, mentions: "is not a rule"),
        Case(path: "/v1/ack", body: "{\"rule\":\"oxygenation.spo2_low\"}", status: 409, mentions: "spo2_low"),
        Case(path: "/v1/ack", body: "{\"rule\":\"oxygenation.spo2_low\",\"source\":5}", status: 400, mentions: "source"),
        Case(path: "/v1/ack", body: "{\"rule\":\"oxygenation.spo2_low\",\"source\":[\"vent\"]}", status: 400, mentions: "source"),
        Case(path: "/v1/ack", body: "{\"rule\":\"oxygenation.spo2_low\",\"source\":\"\"}", status: 422, mentions: "source"),
        Case(path: "/v1/ack", body: "{\"rule\":\"oxygenation.spo2_low\",\"source\":\"\(long)\"}", status: 422, mentions: "source"),
        Case(path: "/v1/ack", body: "{\"rule\":\"oxygenation.spo2_low\",\"source\":\"a\\u0007b\"}", status: 422, mentions: "source"),
        Case(path: "/v1/ack", body: "{\"rule\":\"oxygenation.spo2_low\",\"source\":\"vent\"}", status: 409, mentions: "vent"),
        Case(path: "/v1/ack", body: "{\"rule\":\"oxygenation.spo2_low\",\"by\":7}", status: 400, mentions: "by"),
        Case(path: "/v1/ack", body: "{\"rule\":\"oxygenation.spo2_low\",\"by\":\"\(long)\"}", status: 422, mentions: "by"),
        // chart: values (object of 1-32, each a number or a text), sampled, sampled_ago_s, by.
        Case(path: "/v1/chart", body: "{}", status: 422, mentions: "values"),
        Case(path: "/v1/chart", body: "{\"values\":[]}", status: 400, mentions: "values"),
        Case(path: "/v1/chart", body: "{\"values\":\"pao2=70\"}", status: 400, mentions: "values"),
        Case(path: "/v1/chart", body: "{\"values\":{}}", status: 422, mentions: "values"),
        Case(path: "/v1/chart", body: "{\"values\":{\(((1...33).map { "\"p\($0)\":1" }).joined(separator: ","))}}", status: 422, mentions: "values"),
        Case(path: "/v1/chart", body: "{\"values\":{\"pao2\":true}}", status: 400, mentions: "pao2"),
        Case(path: "/v1/chart", body: "{\"values\":{\"pao2\":null}}", status: 400, mentions: "pao2"),
        Case(path: "/v1/chart", body: "{\"values\":{\"pao2\":[70]}}", status: 400, mentions: "pao2"),
        Case(path: "/v1/chart", body: "{\"values\":{\"spo2\":90}}", status: 422, mentions: "spo2"),
        Case(path: "/v1/chart", body: "{\"values\":{\"pao2\":\"8kg\"}}", status: 422, mentions: "unit"),
        Case(path: "/v1/chart", body: "{\"values\":{\"pao2\":5000}}", status: 422, mentions: "pao2"),
        Case(path: "/v1/chart", body: "{\"values\":{\"position\":\"sideways\"}}", status: 422, mentions: "position"),
        Case(path: "/v1/chart", body: "{\"values\":{\"pao2\":70},\"sampled\":5}", status: 400, mentions: "sampled"),
        Case(path: "/v1/chart", body: "{\"values\":{\"pao2\":70},\"sampled\":\"yesterday\"}", status: 422, mentions: "RFC 3339"),
        Case(path: "/v1/chart", body: "{\"values\":{\"pao2\":70},\"sampled\":\"\(rfc3339(Date().addingTimeInterval(3600)))\"}", status: 422, mentions: "future"),
        Case(path: "/v1/chart", body: "{\"values\":{\"pao2\":70},\"sampled\":\"\(rfc3339(Date().addingTimeInterval(-7 * 3600)))\"}", status: 422, mentions: "max_sample_age_s"),
        Case(path: "/v1/chart", body: "{\"values\":{\"pao2\":70},\"sampled_ago_s\":\"60\"}", status: 400, mentions: "sampled_ago_s"),
        Case(path: "/v1/chart", body: "{\"values\":{\"pao2\":70},\"sampled_ago_s\":true}", status: 400, mentions: "sampled_ago_s"),
        Case(path: "/v1/chart", body: "{\"values\":{\"pao2\":70},\"sampled_ago_s\":-1}", status: 422, mentions: "0 to 604800"),
        Case(path: "/v1/chart", body: "{\"values\":{\"pao2\":70},\"sampled_ago_s\":700000}", status: 422, mentions: "0 to 604800"),
        Case(path: "/v1/chart", body: "{\"values\":{\"pao2\":70},\"sampled_ago_s\":30000}", status: 422, mentions: "max_sample_age_s"),
        Case(path: "/v1/chart", body: "{\"values\":{\"pao2\":70},\"sampled_ago_s\":60,\"sampled\":\"\(rfc3339(Date()))\"}", status: 422, mentions: "not both"),
        Case(path: "/v1/chart", body: "{\"values\":{\"pao2\":70},\"by\":{}}", status: 400, mentions: "by"),
        Case(path: "/v1/chart", body: "{\"values\":{\"pao2\":70},\"by\":\"\(String(repeating: "b", count: 10_240))\"}", status: 422, mentions: "by"),
        Case(path: "/v1/chart", body: "{\"values\":{\"pao2\":70,\"hb\":\"81g/L\"},\"sampled_ago_s\":60,\"by\":\"Dr Osei\"}", status: 200),
        // patient: sex, height_cm, pbw_kg, conditions, id, id_authority, name, by.
        Case(path: "/v1/patient", body: "{\"sex\":1}", status: 400, mentions: "sex"),
        Case(path: "/v1/patient", body: "{\"sex\":\"x\"}", status: 422, mentions: "sex"),
        Case(path: "/v1/patient", body: "{\"height_cm\":\"160\"}", status: 400, mentions: "height_cm"),
        Case(path: "/v1/patient", body: "{\"height_cm\":true}", status: 400, mentions: "height_cm"),
        Case(path: "/v1/patient", body: "{\"height_cm\":500}", status: 422, mentions: "height"),
        Case(path: "/v1/patient", body: "{\"pbw_kg\":\"60\"}", status: 400, mentions: "pbw_kg"),
        Case(path: "/v1/patient", body: "{\"pbw_kg\":500}", status: 422, mentions: "pbw_kg"),
        Case(path: "/v1/patient", body: "{\"conditions\":\"sle\"}", status: 400, mentions: "conditions"),
        Case(path: "/v1/patient", body: "{\"conditions\":[\"sle\",1]}", status: 400, mentions: "conditions[1]"),
        Case(path: "/v1/patient", body: "{\"conditions\":[null]}", status: 400, mentions: "conditions[0]"),
        Case(path: "/v1/patient", body: "{\"conditions\":[\"measles\"]}", status: 422, mentions: "measles"),
        Case(path: "/v1/patient", body: "{\"id\":12345}", status: 400, mentions: "id"),
        Case(path: "/v1/patient", body: "{\"id\":\"\"}", status: 422, mentions: "id"),
        Case(path: "/v1/patient", body: "{\"id\":\"\(long)\"}", status: 422, mentions: "id"),
        Case(path: "/v1/patient", body: "{\"id_authority\":false}", status: 400, mentions: "id_authority"),
        Case(path: "/v1/patient", body: "{\"id_authority\":\"A\\nB\"}", status: 422, mentions: "id_authority"),
        Case(path: "/v1/patient", body: "{\"name\":[\"DOE\"]}", status: 400, mentions: "name"),
        Case(path: "/v1/patient", body: "{\"name\":\"DOE\\u0000\"}", status: 422, mentions: "name"),
        Case(path: "/v1/patient", body: "{\"by\":null}", status: 400, mentions: "by"),
        Case(path: "/v1/patient", body: "{\"by\":\"\"}", status: 422, mentions: "by"),
        Case(path: "/v1/patient", body: "{\"conditions\":[\"anca_vasculitis\"],\"by\":\"Dr Osei\"}", status: 200),
        // discharge: by.
        Case(path: "/v1/patient/discharge", body: "{\"by\":1}", status: 400, mentions: "by"),
        Case(path: "/v1/patient/discharge", body: "{\"by\":\"\(long)\"}", status: 422, mentions: "by"),
        Case(path: "/v1/patient/discharge", body: "{\"by\":\"RN Kim\"}", status: 200),
    ]

    @Test func everyFieldOfEveryEndpointIsAnsweredAsTheTableSays() async throws {
        let agent = try startAgent()
        defer { agent.kill() }
        for check in Self.cases {
            let answer = try await request(check.path, check.body)
            #expect(answer.status == check.status, "\(check.testDescription): \(answer.status) \(answer.text)")
            if check.status != 200 {
                let error = answer.answer["error"] as? String ?? ""
                #expect(!error.isEmpty && error.contains(check.mentions), "\(check.testDescription): \(answer.text)")
                // Bounded: an echo of what was sent is cut short (the longest answer lists the rules).
                #expect(answer.text.utf8.count < 1000, "\(check.testDescription): an error of \(answer.text.utf8.count) bytes")
            }
        }
        // Nothing refused changed anything: only the three 200s left a trace in the journal.
        let inputs = try journal().filter { $0.contains("\"input\":{") }
        #expect(inputs.count == 3, "journaled inputs: \(inputs.map { $0.prefix(200) })")
    }

    func journal() throws -> [String] {
        let journal = directory.appendingPathComponent("journal").path
        return try FileManager.default.contentsOfDirectory(atPath: journal).filter { $0.hasSuffix(".jsonl") }.sorted()
            .flatMap { ((try? String(contentsOfFile: journal + "/" + $0, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }
    }

    // MARK: the sample time used

    /// A sample time up to 60 s ahead of the agent's clock is taken as now: the answer, the status and
    /// the journal say the time used, not the one given.
    @Test func aSampleAheadOfTheClockIsTakenAsNowAndTheAnswerSaysSo() async throws {
        let agent = try startAgent()
        defer { agent.kill() }
        let ahead = try await request("/v1/chart", "{\"values\":{\"pao2\":71},\"sampled\":\"\(Self.rfc3339(Date().addingTimeInterval(30)))\"}")
        #expect(ahead.status == 200, "\(ahead.text)")
        let t = try #require(ahead.answer["t"] as? Double), sampled = try #require(ahead.answer["sampled_t"] as? Double)
        #expect(sampled <= t && t - sampled < 5, "sampled_t \(sampled) is the time used (t \(t)), not 30 s ahead")
        let status = try await request("/v1/status", nil)
        let pao2 = ((status.answer["values"] as? [[String: Any]]) ?? []).first { $0["parameter"] as? String == "pao2" }
        #expect(abs((pao2?["t"] as? Double ?? .nan) - sampled) < 0.01, "status: \(pao2 ?? [:]), answer: \(sampled)")
        let journaled = try journal().compactMap { line -> Double? in
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return ((object?["input"] as? [String: Any])?["entry"] as? [String: Any])?["sampledAt"] as? Double
        }
        #expect(journaled.count == 1 && abs(journaled[0] - sampled) < 1e-6, "the journal holds the time used: \(journaled), answer \(sampled)")
        // A sample time in the past is kept as given.
        let past = try await request("/v1/chart", "{\"values\":{\"pao2\":72},\"sampled_ago_s\":120}")
        let pastT = try #require(past.answer["t"] as? Double), pastSampled = try #require(past.answer["sampled_t"] as? Double)
        #expect(abs(pastT - 120 - pastSampled) < 1, "\(past.text)")
        // More than 60 s ahead: refused.
        let future = try await request("/v1/chart", "{\"values\":{\"pao2\":73},\"sampled\":\"\(Self.rfc3339(Date().addingTimeInterval(120)))\"}")
        #expect(future.status == 422 && (future.answer["error"] as? String ?? "").contains("future"), "\(future.text)")
    }

    // MARK: bounded echoes

    /// An acknowledgement's source is text like `by`: a 60 KB one is refused (422) with a short answer
    /// and no long log line; a long but acceptable one is shown bounded.
    @Test func anAcksSourceIsBoundedAndSoIsEveryEchoOfIt() async throws {
        let agent = try startAgent()
        defer { agent.kill() }
        let huge = try await request("/v1/ack", "{\"rule\":\"oxygenation.spo2_low\",\"source\":\"\(String(repeating: "s", count: 60_000))\"}")
        #expect(huge.status == 422 && huge.text.utf8.count < 400, "\(huge.status), \(huge.text.utf8.count) bytes: \(huge.text.prefix(300))")
        let long = String(repeating: "q", count: 128)
        let unknown = try await request("/v1/ack", "{\"rule\":\"oxygenation.spo2_low\",\"source\":\"\(long)\"}")
        #expect(unknown.status == 409 && unknown.text.utf8.count < 200 && unknown.text.contains("qqqq"), "\(unknown.text)")
        // The refusal reached the log, bounded too.
        #expect(waitUntil(timeout: 10) { agent.stderr.contains("entry refused: no oxygenation.spo2_low alarm from qqqq") }, "\(agent.stderr)")
        let longest = agent.stderr.split(separator: "\n").map(\.utf8.count).max() ?? 0
        #expect(longest < 1000, "a log line of \(longest) bytes")
    }

    // MARK: the agent's own alarms in status

    /// `technical.station_unreachable` is raised by the outputs, not the clinical core: status lists
    /// it (JSON and text) with its source while it holds, and not after the station is back.
    @Test func statusListsTheAgentsOwnAlarms() async throws {
        let hl7Port = freePort()
        let agent = try startAgent(hl7Port: hl7Port, extraRules: "  technical.station_unreachable: {after_s: 5}")
        defer { agent.kill() }
        func own() async -> [String: Any]? {
            guard let status = try? await request("/v1/status", nil) else { return nil }
            return ((status.answer["alarms"] as? [[String: Any]]) ?? []).first { $0["rule"] as? String == "technical.station_unreachable" }
        }
        var alarm: [String: Any]?
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            alarm = await own()
            if alarm != nil { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let raised = try #require(alarm, "no technical.station_unreachable in status: \(agent.stdout)")
        #expect(raised["source"] as? String == "hl7" && raised["priority"] as? String == "high" && raised["type"] as? String == "technical"
                && (raised["alarm_id"] as? Double ?? 0) >= 1_000_001 && raised["latched"] as? Bool == false && raised["since_t"] is Double,
                "\(raised)")
        // Times for people in the zone of TZ (a POSIX zone, so that no tzdata is needed): 5 h 45 min east.
        let text = try alveo(["status", "--socket", socket], environment: ["TZ": "XYZ-5:45"])
        #expect(text.status == 0 && text.stdout.contains("technical.station_unreachable[hl7] since "), "\(text.stdout)")
        #expect(text.stdout.contains("times in XYZ (UTC+05:45)") && !text.stdout.contains("t="), "\(text.stdout)")
        // The station is back: the alarm ends and leaves the list.
        let receiver = try Receivers.hl7(port: hl7Port, log: directory.appendingPathComponent("received.jsonl").path, in: directory)
        defer { receiver.kill() }
        var ended = false
        let endDeadline = Date().addingTimeInterval(60)
        while Date() < endDeadline {
            if await own() == nil { ended = true; break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(ended, "still listed after the station came back: \(agent.stdout)")
    }

    // MARK: exit codes

    /// Every exit code the control commands give is in the table of docs/control-api.md, and the
    /// table has no other; 64, 65, 69 and 78 are seen here (0, 70 and 77 in ControlAPITests).
    @Test func theControlCommandsExitCodesAreTheDocumentedOnes() throws {
        let docs = try String(contentsOf: Paths.repository.appendingPathComponent("docs/control-api.md"), encoding: .utf8)
        let section = try #require(docs.range(of: "## Exit codes of the commands").map { docs[$0.upperBound...] })
        let table = Set(section.split(separator: "\n").prefix { !$0.hasPrefix("## ") }.compactMap { line -> Int32? in
            guard line.hasPrefix("| "), let code = line.dropFirst(2).split(separator: " ").first else { return nil }
            return Int32(code)
        })
        #expect(table == [0, 64, 65, 69, 70, 77, 78], "the table: \(table.sorted())")
        let missing = directory.appendingPathComponent("none.sock").path
        let seen: [(arguments: [String], status: Int32)] = [
            (["chart", "--socket", missing], 64),
            (["chart", "pao2=70", "--sampled", "tomorrow", "--socket", missing], 64),
            (["status", "--socket", String(repeating: "/s", count: 60)], 64),
            (["chart", "pao2=70", "--by", String(repeating: "b", count: 200), "--socket", missing], 65),
            (["status", "--socket", missing], 69),
            (["ack", "oxygenation.spo2_low", "--socket", missing], 69),
            (["status", "--config", directory.appendingPathComponent("none.yaml").path], 78),
        ]
        for (arguments, expected) in seen {
            let result = try alveo(arguments)
            #expect(result.status == expected, "alveo \(arguments.joined(separator: " ").prefix(120)): \(result.status) \(result.stderr)")
            #expect(table.contains(result.status), "exit \(result.status) is not in the table")
        }
    }
}

/// A Unix socket server that answers every request with a 422 as soon as it has its head, and
/// half-closes the connection without reading the body, then waits for the client to hang up (so the
/// client's unfinished write meets a closed connection, not a reset).
final class EarlyAnswerServer: @unchecked Sendable {
    // @unchecked: `listener` is set once before the thread starts; the thread alone uses the rest.
    private let listener: Int32
    private let thread: Thread

    init(path: String, connections: Int) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw NSError(domain: "EarlyAnswerServer", code: Int(errno), userInfo: [NSLocalizedDescriptionKey: "cannot listen on \(path)"])
        }
        listener = fd
        let answer = Array("HTTP/1.1 422 Unprocessable Content\r\nContent-Type: application/json\r\nContent-Length: 30\r\nConnection: close\r\n\r\n{\"error\":\"by: give less text\"}".utf8)
        thread = Thread {
            for _ in 0..<connections {
                let client = accept(fd, nil, nil)
                guard client >= 0 else { return }
                // The request's head only (a byte at a time, so nothing of the body is taken).
                var head: [UInt8] = []
                var byte: UInt8 = 0
                while !head.suffix(4).elementsEqual([13, 10, 13, 10]), recv(client, &byte, 1, 0) == 1 { head.append(byte) }
                _ = answer.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                shutdown(client, Int32(SHUT_WR))
                // Until the client hangs up (at most 30 s): never reading what it sends.
                var hangUp = pollfd(fd: client, events: 0, revents: 0)  // POLLHUP: both directions shut
                _ = poll(&hangUp, 1, 30_000)
                close(client)
            }
        }
        thread.start()
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}
