import AlveoTestKit
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The laboratory and ADT listener end to end: `alveo run` against `alveo simulate`, a real python-hl7
/// MLLP client as the laboratory and the ADT feed over TLS with client certificates (made by openssl),
/// `alveo status` to see what changed, and the `--record` trace replayed to the same bytes.
@Suite(.serialized, .endToEnd, .ownThread) struct LabListenerTests {
    static let senderScript = Paths.repository.appendingPathComponent("Tests/Peers/hl7_sender.py").path
    let directory: URL

    init() throws {
        directory = try Paths.temporaryDirectory()
    }

    struct Certificates {
        var ca: String, serverCert: String, serverKey: String, clientCert: String, clientKey: String
        var rogueCert: String, rogueKey: String
    }

    /// A CA with a server certificate (127.0.0.1) and a client certificate; a rogue client certificate
    /// from another CA.
    func makeCertificates() throws -> Certificates {
        let d = directory.path
        var steps: [[String]] = [
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Hospital CA", "-keyout", "\(d)/ca.key", "-out", "\(d)/ca.pem"],
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Rogue CA", "-keyout", "\(d)/rogue-ca.key", "-out", "\(d)/rogue-ca.pem"],
            ["sh", "-c", "printf 'subjectAltName=IP:127.0.0.1\\n' > \(d)/san.ext"],
        ]
        for (name, ca, subject) in [("server", "ca", "/CN=127.0.0.1"), ("client", "ca", "/CN=ABL90 middleware"), ("rogue", "rogue-ca", "/CN=ABL90 middleware")] {
            steps.append(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", "\(d)/\(name).key", "-out", "\(d)/\(name).csr"])
            steps.append(["openssl", "x509", "-req", "-in", "\(d)/\(name).csr", "-CA", "\(d)/\(ca).pem", "-CAkey", "\(d)/\(ca).key", "-CAcreateserial",
                          "-days", "2", "-extfile", "\(d)/san.ext", "-out", "\(d)/\(name).pem"])
        }
        for step in steps {
            let result = try ChildProcess.run(step)
            #expect(result.status == 0, "\(step.joined(separator: " ")): \(result.stderr)")
        }
        return Certificates(ca: "\(d)/ca.pem", serverCert: "\(d)/server.pem", serverKey: "\(d)/server.key", clientCert: "\(d)/client.pem",
                            clientKey: "\(d)/client.key", rogueCert: "\(d)/rogue.pem", rogueKey: "\(d)/rogue.key")
    }

    /// Sends `messages` (segments as lines) in one connection; one answer per message, or the error.
    func send(_ messages: [String], port: Int, certificates: Certificates, client: (cert: String, key: String)?, raw: Bool = false) throws -> [[String: Any]] {
        var files: [String] = []
        for message in messages {
            let path = directory.appendingPathComponent("message-\(UUID().uuidString).hl7").path
            try message.write(toFile: path, atomically: true, encoding: .utf8)
            files.append(path)
        }
        var arguments = ["python3", Self.senderScript, "--port", "\(port)", "--tls-ca", certificates.ca]
        if let client { arguments += ["--tls-cert", client.cert, "--tls-key", client.key] }
        if raw { arguments.append("--raw") }
        let result = try ChildProcess.run(arguments + files, timeout: 60)
        return result.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    static func hl7Time(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMddHHmmss"
        return formatter.string(from: date) + "+0000"
    }

    static func oru(id: String, patient: String, obx: [String], sampled: Date) -> String {
        let time = hl7Time(sampled)
        return (["MSH|^~\\&|ABL90|ICU|ALVEO|HOSP|\(hl7Time(Date()))||ORU^R01^ORU_R01|\(id)|P|2.5.1",
                 "PID|1||\(patient)^^^HOSP^MR||DOE^JANE||19700101|F",
                 "OBR|1||GAS-\(id)|24336-0^Gas panel - Arterial blood^LN|||\(time)"]
            + obx.enumerated().map { "OBX|\($0.offset + 1)|NM|\($0.element)|||||F|||\(time)" }).joined(separator: "\n")
    }

    @Test func resultsAndAdmissionsFromTheHospitalOverTLS() throws {
        let certificates = try makeCertificates()
        let scenarioPath = directory.appendingPathComponent("scenario.csv").path
        var scenario = "t,source,parameter,value\n"
        for t in 0...300 { scenario += "\(t),vent,fio2,60\n\(t),vent,peep,8\n\(t),vent,vt,400\n\(t),vent,pplat,24\n\(t),oxi,spo2,95\n\(t),oxi,pulse_rate,88\n" }
        try scenario.write(toFile: scenarioPath, atomically: true, encoding: .utf8)
        let ventPort = freePort(), labPort = freePort(), stationPort = freePort()
        let link = directory.appendingPathComponent("oxi").path
        let socket = directory.appendingPathComponent("alveo.sock").path
        let profile = Paths.repository.appendingPathComponent("devices/alveo-gateway-v1/profile.yaml").path
        let config = directory.appendingPathComponent("bed.yaml").path
        try """
            patient: {sex: male, height_cm: 175}
            devices:
              - {id: vent, profile: \(profile), poll_interval_s: 0.25, transport: {kind: modbus_tcp, host: 127.0.0.1, port: \(ventPort)}}
              - {id: oxi, profile: \(profile), poll_interval_s: 0.25, transport: {kind: modbus_rtu, path: \(link), baud: 19200}}
            control: {socket: \(socket)}
            inputs:
              hl7:
                bind: 127.0.0.1
                port: \(labPort)
                allowed_senders: [ABL90^ICU, ADT]
                tls: {cert_file: \(certificates.serverCert), key_file: \(certificates.serverKey), client_ca_file: \(certificates.ca)}
            outputs:
              journal: {directory: journal}
              hl7: {host: 127.0.0.1, port: \(stationPort), reconnect_max_s: 0.5, patient_id: "12345", patient_id_authority: HOSP, bed_id: ICU-B1, bed_location: ICU^B1^B1^HOSP}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let station = Station(directory: directory)
        let receiver = try station.startReceiver(port: stationPort)
        defer { receiver.kill() }
        let simulator = try RunningProcess([Paths.alveo, "simulate", "--scenario", scenarioPath, "--vent-port", "\(ventPort)", "--oxi-link", link],
                                           directory: directory, name: "simulate")
        defer { simulator.kill() }
        #expect(waitUntil(timeout: 30) { isListening(ventPort) && FileManager.default.fileExists(atPath: link) }, "simulator: \(simulator.stderr)")
        let traces = directory.appendingPathComponent("traces").path
        let agent = try RunningProcess([Paths.alveo, "run", "--config", config, "--record", traces], directory: directory, name: "run")
        defer { agent.kill() }
        let control = ControlAPITests(directory: directory)
        // Ten seconds of FiO2 0.60 behind us, so that a gas drawn five seconds ago has its FiO2.
        #expect(waitUntil(timeout: 60) {
            let status = control.status(socket)
            return control.value(status, "fio2") == 0.6 && control.value(status, "spo2") == 95 && (control.agentTime(status) ?? 0) > 10
        }, "agent: \(agent.stderr)")
        func listenerState() -> [String: Any] { ((control.status(socket)["inputs"] as? [String: Any])?["hl7"] as? [String: Any]) ?? [:] }
        #expect(listenerState()["listening"] as? Bool == true)
        let client = (certificates.clientCert, certificates.clientKey)

        // A blood gas in kPa, drawn five seconds ago: the P/F becomes measured (61.5 / 0.60 = 102.5).
        let before = control.status(socket)
        #expect((before["pf"] as? [String: Any])?["kind"] as? String == "imputed", "SpO2 95 % gives an imputed P/F: \(before["pf"] ?? "")")
        let gas = Self.oru(id: "GAS1", patient: "12345", obx: ["2703-7^Oxygen [Partial pressure] in Arterial blood^LN||8.2|kPa", "718-7^Hemoglobin^LN||81|g/L"],
                           sampled: Date().addingTimeInterval(-5))
        let answers = try send([gas], port: labPort, certificates: certificates, client: client)
        #expect(answers.first?["ack_code"] as? String == "AA", "\(answers)\n\(agent.stderr)")
        let measured = control.status(socket)
        let pf = (measured["pf"] as? [String: Any]) ?? [:]
        #expect(pf["kind"] as? String == "measured" && pf["pao2_mmhg"] as? Double == 61.5 && pf["value"] as? Double == 102.5, "pf: \(pf)")
        let hb = ((measured["values"] as? [[String: Any]]) ?? []).first { $0["parameter"] as? String == "hb" }
        #expect(hb?["value"] as? Double == 8.1 && hb?["source"] as? String == "lab" && ((hb?["age_s"] as? Double) ?? 0) >= 4, "hb: \(hb ?? [:])")

        // Another patient's results: AR with the reason, nothing changes.
        let eventsBefore = control.events(agent).count
        let other = try send([Self.oru(id: "GAS2", patient: "99999", obx: ["718-7^Hemoglobin^LN||60|g/L"], sampled: Date())],
                             port: labPort, certificates: certificates, client: client)
        #expect(other.first?["ack_code"] as? String == "AR" && (other.first?["ack_text"] as? String ?? "").contains("not this bed's patient"), "\(other)")
        // Not HL7, a sender not allowed, a unit that is not a pO2's: AE, AR, AE.
        let garbage = try send(["this is not HL7"], port: labPort, certificates: certificates, client: client, raw: true)
        #expect(garbage.first?["ack_code"] as? String == "AE", "\(garbage)")
        let stranger = try send([Self.oru(id: "GAS3", patient: "12345", obx: ["718-7^^LN||60|g/L"], sampled: Date()).replacingOccurrences(of: "|ABL90|ICU|", with: "|POCT|WARD9|")],
                                port: labPort, certificates: certificates, client: client)
        #expect(stranger.first?["ack_code"] as? String == "AR" && (stranger.first?["ack_text"] as? String ?? "").contains("allowed_senders"), "\(stranger)")
        let wrongUnit = try send([Self.oru(id: "GAS4", patient: "12345", obx: ["2703-7^^LN||8.2|g/dL"], sampled: Date())],
                                 port: labPort, certificates: certificates, client: client)
        #expect(wrongUnit.first?["ack_code"] as? String == "AE" && (wrongUnit.first?["ack_text"] as? String ?? "").contains("unit"), "\(wrongUnit)")
        let unchanged = control.status(socket)
        #expect(((unchanged["values"] as? [[String: Any]]) ?? []).first { $0["parameter"] as? String == "hb" }?["value"] as? Double == 8.1)
        #expect((unchanged["pf"] as? [String: Any])?["pao2_mmhg"] as? Double == 61.5)
        #expect(control.events(agent).count == eventsBefore, "a refused message caused events")

        // Without a client certificate, or with one from another CA: refused in the handshake.
        let refusedBefore = listenerState()["refused_connections"] as? Double ?? -1
        for rogue in [nil, (certificates.rogueCert, certificates.rogueKey)] {
            let refused = try send([gas], port: labPort, certificates: certificates, client: rogue)
            #expect(refused.first?["ack_code"] == nil && refused.first?["error"] != nil, "\(refused)")
        }
        let hl7Input = listenerState()
        #expect(hl7Input["refused_connections"] as? Double == refusedBefore + 2 && hl7Input["accepted"] as? Double == 1 && hl7Input["rejected"] as? Double == 4,
                "\(hl7Input)")

        // An admission to this bed, with a height in inches: a new patient, the previous one's alarms end.
        let activeBefore = ((control.status(socket)["alarms"] as? [[String: Any]]) ?? []).compactMap { $0["rule"] as? String }
        #expect(activeBefore.contains("oxygenation.pf_severity"), "P/F 102.5 is moderate: \(activeBefore)")
        let admission = ["MSH|^~\\&|ADT|HOSP|ALVEO|HOSP|\(Self.hl7Time(Date()))||ADT^A01^ADT_A01|ADT1|P|2.5",
                         "PID|1||67890^^^HOSP^MR||ROE^ANN||19800101|F", "PV1|1|I|ICU^B1^B1^HOSP",
                         "OBX|1|NM|8302-2^Body height^LN||64|[in_i]|||||F"].joined(separator: "\n")
        let admitted = try send([admission, admission], port: labPort, certificates: certificates, client: client)
        #expect(admitted.map { $0["ack_code"] as? String } == ["AA", "AA"], "\(admitted)")
        #expect(admitted.last?["ack_text"] as? String == "already taken")
        let ended = control.events(agent).filter { $0["phase"] as? String == "end" && $0["reason"] as? String == "patient_changed" }.compactMap { $0["rule"] as? String }
        #expect(Set(ended) == Set(activeBefore), "ended \(ended), active before \(activeBefore)")
        let newPatient = (control.status(socket)["patient"] as? [String: Any]) ?? [:]
        #expect(newPatient["id"] as? String == "67890" && newPatient["sex"] as? String == "female" && newPatient["height_cm"] as? Double == 162.6
                && newPatient["pbw_kg"] as? Double == 54.8, "\(newPatient)")
        // Her results are taken; the previous patient's are not.
        let hers = try send([Self.oru(id: "HB1", patient: "67890", obx: ["718-7^^LN||7.2|g/dL"], sampled: Date()),
                             Self.oru(id: "HB2", patient: "12345", obx: ["718-7^^LN||9.9|g/dL"], sampled: Date())],
                            port: labPort, certificates: certificates, client: client)
        #expect(hers.map { $0["ack_code"] as? String } == ["AA", "AR"], "\(hers)")
        // Discharged: nobody's results are taken until the next admission.
        let discharge = ["MSH|^~\\&|ADT|HOSP|ALVEO|HOSP|\(Self.hl7Time(Date()))||ADT^A03^ADT_A03|ADT2|P|2.5",
                         "PID|1||67890^^^HOSP^MR||ROE^ANN", "PV1|1|I|ICU^B1^B1^HOSP"].joined(separator: "\n")
        #expect(try send([discharge], port: labPort, certificates: certificates, client: client).first?["ack_code"] as? String == "AA")
        let empty = control.status(socket)
        #expect((empty["patient"] as? [String: Any])?["id"] is NSNull && (empty["patient"] as? [String: Any])?["pbw_kg"] is NSNull, "\(empty["patient"] ?? "")")

        // Hostile control ids (issue 23): escaped delimiters followed by combining marks, a hex CR LF,
        // 80 scalars to cut. The ACK echoes each decoded, cut by scalars and escaped again, and strict
        // hl7apy takes it; nobody's results, so nothing changes.
        let hostile = [("X\\F\\\u{301}Y\\S\\Z\\X0D0A\\~\\E\\", "X\\F\\\u{301}Y\\S\\Z  "),
                       (String(repeating: "\\F\\\u{301}", count: 40), String(repeating: "\\F\\\u{301}", count: 32))]
        let echoes = try send(hostile.map { Self.oru(id: $0.0, patient: "99999", obx: ["718-7^^LN||60|g/L"], sampled: Date()) },
                              port: labPort, certificates: certificates, client: client, raw: true)
        #expect(echoes.map { $0["control_id"] as? String } == hostile.map(\.1), "\(echoes)")
        let acks = directory.appendingPathComponent("hostile-acks.hl7").path
        try echoes.compactMap { ($0["ack"] as? String)?.replacingOccurrences(of: "\r", with: "\n") }.joined(separator: "\n\n").write(toFile: acks, atomically: true, encoding: .utf8)
        let validated = try ChildProcess.run(["python3", Paths.repository.appendingPathComponent("Tests/Peers/hl7_validate.py").path, acks])
        #expect(validated.status == 0 && validated.stdout.split(separator: "\n").count == 2, "hl7apy: \(validated.stdout) \(validated.stderr)")

        agent.signal(SIGTERM)
        #expect(agent.waitForExit(timeout: 30) == 0, "\(agent.stderr)")
        let journal = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("journal").path).filter { $0.hasSuffix(".jsonl") }
            .map { try String(contentsOfFile: directory.appendingPathComponent("journal/\($0)").path, encoding: .utf8) }.joined()
        #expect(journal.contains("\"by\":\"ABL90^ICU\"") && journal.contains("\"via\":\"hl7\""), "the journal says who sent results")
        // The trace replays to the same events, and names no patient.
        let trace = try #require(try FileManager.default.contentsOfDirectory(atPath: traces).first { $0.hasSuffix(".alvtrace") })
        let replay = try ChildProcess.run([Paths.alveo, "replay", traces + "/" + trace], timeout: 120)
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdout == LiveVersusReplay.withoutWallTime(agent.stdout), "replay differs from live:\n\(replay.stdout)\n---\n\(agent.stdout)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: traces + "/" + trace))
        for identity in ["67890", "12345", "ROE", "DOE"] {
            #expect(bytes.range(of: Data(identity.utf8)) == nil, "the trace names the patient: \(identity)")
        }
        #expect(agent.stderr.range(of: "67890") == nil && agent.stderr.range(of: "ROE") == nil, "the log names the patient")
    }
}
