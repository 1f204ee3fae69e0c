import AlveoAgent
import ArgumentParser
import Foundation

struct PatientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patient", abstract: "Set or discharge the patient at the running agent.",
        subcommands: [Set.self, Discharge.self])

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set the patient: with an identifier other than the current one, a new patient (the previous one's alarms end); else the same patient, better known (conditions add up).")

        @Option(name: .long, help: "male or female.") var sex: String?
        @Option(name: .long, help: "Height in cm (for the predicted body weight; adults, 130-250 cm).") var heightCm: Double?
        @Option(name: .long, help: "A predicted body weight entered by hand, kg (20-150), for a patient the ARDSNet formula does not fit.") var pbwKg: Double?
        @Option(name: .long, help: "Conditions, comma separated: diffuse_alveolar_hemorrhage, anca_vasculitis, anti_gbm, sle, ecmo_vv, ecmo_va.") var conditions: String?
        @Option(name: .long, help: "The patient identifier (PID-3 of the messages to the station).") var id: String?
        @Option(name: .long, help: "The identifier's assigning authority.") var idAuthority: String?
        @Option(name: .long, help: "The name, FAMILY^GIVEN.") var name: String?
        @Option(name: .long, help: "Who sets it (journaled).") var by: String?
        @OptionGroup var control: ControlOptions

        func validate() throws {
            if let problem = PatientRequest.optionProblem(heightCm: heightCm, pbwKg: pbwKg) { throw ValidationError(problem) }
        }

        func run() async throws {
            try control.checkText([("--id", id), ("--id-authority", idAuthority), ("--name", name), ("--by", by)])
            let request = PatientRequest(sex: sex, heightCm: heightCm, pbwKg: pbwKg,
                                         conditions: conditions.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } },
                                         id: id, idAuthority: idAuthority, name: name, by: by)
            let reply = try await control.send { socket throws(ControlClient.Failure) in try await ControlClient.patient(request, socket: socket) }
            if control.json { return }
            try writeStandardOutput(EntryText.render(reply, done: "patient set"))
        }
    }

    struct Discharge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The patient has left the bed: their alarms end and the bed waits for its next patient.")

        @Option(name: .long, help: "Who discharges (journaled).") var by: String?
        @OptionGroup var control: ControlOptions

        func run() async throws {
            try control.checkText([("--by", by)])
            let request = DischargeRequest(by: by)
            let reply = try await control.send { socket throws(ControlClient.Failure) in try await ControlClient.discharge(request, socket: socket) }
            if control.json { return }
            try writeStandardOutput(EntryText.render(reply, done: "discharged"))
        }
    }
}
