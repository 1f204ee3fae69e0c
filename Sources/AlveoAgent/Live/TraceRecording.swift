import AlveoIO
import AlveoOutput
import AlveoTrace
import Foundation
import Synchronization
import Yams

/// Starts a raw trace for `alveo run --record` and `alveo record`: the configuration file's text first,
/// then the Modbus profile each device is decoded with, so that the trace replays on any machine.
package enum TraceRecording {
    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    /// Creates `directory/alveo-<run id>.alvtrace` with the configuration and profiles written.
    /// `onError` hears when records cannot be written (disk full): the recording is then incomplete;
    /// `onStop` when the recording stopped itself at one of `limits`.
    /// `limits`: where the recording stops on its own (size cap, free space kept for the journal).
    /// `identity`: keep the patient's identity (`patient_id`, `patient_id_authority`, `patient_name`)
    /// in the recorded configuration. Off by default: traces are sent out with fault reports, and
    /// replay needs none of it.
    package static func start(directory: String, configPath: String, config: AgentConfig, limits: TraceWriter.Limits = .init(),
                             identity: Bool = false,
                             onError: @escaping @Sendable (String) -> Void = { _ in },
                             onStop: (@Sendable (String) -> Void)? = nil) throws(Failure) -> TraceWriter {
        let writer: TraceWriter
        do {
            try PrivateFiles.createDirectory(directory)
            // Run ids are whole seconds: a second recording in the same second gets a suffix, never overwrites.
            let base = directory + "/alveo-\(Journal.newRunID())"
            var path = base + ".alvtrace", suffix = 2
            while FileManager.default.fileExists(atPath: path) {
                path = base + "-\(suffix).alvtrace"
                suffix += 1
            }
            writer = try TraceWriter(path: path, limits: limits, onError: onError, onStop: onStop)
        } catch let failure as TraceWriter.Failure {
            throw Failure(description: failure.description)
        } catch {
            throw Failure(description: "\(directory): cannot record: \(error)")
        }
        guard var text = try? YAMLFile.text(path: configPath) else {
            try? FileManager.default.removeItem(atPath: writer.path)
            throw Failure(description: "\(configPath): cannot read the configuration to record it")
        }
        if !identity {
            guard let redacted = redactingIdentity(yaml: text) else {
                try? FileManager.default.removeItem(atPath: writer.path)
                throw Failure(description: "\(configPath): cannot take the patient's identity out of the configuration to record it")
            }
            text = redacted
        }
        writer.write(TraceRecord(kind: .config, monotonic: 0, wallNanoseconds: TraceWriter.wallNow(), device: "", payload: Array(text.utf8)))
        // The profile texts read when the configuration was loaded: exactly the ones the run decodes with.
        for device in config.devices {
            writer.write(TraceRecord(kind: .profile, monotonic: 0, wallNanoseconds: TraceWriter.wallNow(), device: device.id,
                                     payload: Array(device.profileText.utf8)))
        }
        return writer
    }

    /// Keys whose values identify the patient; anywhere in the configuration, their values are
    /// replaced by `redactedValue` in a recording made without `identity`.
    package static let identityKeys: Set<String> = ["patient_id", "patient_id_authority", "patient_name"]
    package static let redactedValue = "REDACTED"

    /// The configuration with every identity value replaced (comments and layout are not kept: the
    /// text is written again from its parsed form); nil if it is not YAML.
    package static func redactingIdentity(yaml: String) -> String? {
        guard let root = try? Yams.compose(yaml: yaml) else { return nil }
        // The identity's values, to find them again elsewhere in `outputs:` (a YAML alias reusing an
        // anchored patient id in another field); replay never reads `outputs:`.
        var values: Set<String> = []
        func collect(_ node: Node) {
            switch node {
            case .mapping(let mapping):
                for pair in mapping {
                    if let key = pair.key.string, identityKeys.contains(key), let value = pair.value.string, !value.isEmpty { values.insert(value) }
                    collect(pair.value)
                }
            case .sequence(let sequence): sequence.forEach(collect)
            default: break
            }
        }
        collect(root)
        func redact(_ node: Node, inOutputs: Bool) -> Node {
            switch node {
            case .mapping(let mapping):
                let pairs = mapping.map { pair -> (Node, Node) in
                    let key = pair.key.string ?? ""
                    if identityKeys.contains(key) { return (pair.key, Node(redactedValue)) }
                    return (pair.key, redact(pair.value, inOutputs: inOutputs || key == "outputs"))
                }
                return .mapping(Node.Mapping(pairs, mapping.tag, mapping.style, mapping.mark))
            case .sequence(let sequence):
                return .sequence(Node.Sequence(sequence.map { redact($0, inOutputs: inOutputs) }, sequence.tag, sequence.style, sequence.mark))
            case .scalar(let scalar) where inOutputs && values.contains(scalar.string):
                return Node(redactedValue)
            default:
                return node
            }
        }
        let redacted = redact(root, inOutputs: false)
        guard let text = try? Yams.serialize(node: redacted) else { return nil }
        return "# recorded by Alveo; the patient's identity is redacted (record with --record-identity to keep it)\n" + text
    }
}

/// The names a recording without identity gives patients in its entries (admissions, updates,
/// laboratory results naming PID-3): the configuration's identity values become `REDACTED`, as in the
/// recorded configuration, and every other identifier or name `REDACTED-2`, `REDACTED-3`, … in order of
/// first appearance. Equal values get equal pseudonyms, so replay matches a result to the same patient
/// as the live agent did; the pseudonyms are not derived from the values (a hash of a record number
/// could be reversed by trying them all).
package final class IdentityPseudonyms: Sendable {
    private let names: Mutex<[String: String]>

    package init(config: AgentConfig) {
        var seeded: [String: String] = [:]
        let identity = config.patientIdentity
        for value in [identity.id, identity.authority, identity.name].compactMap({ $0 }) where !value.isEmpty {
            seeded[value] = TraceRecording.redactedValue
        }
        names = Mutex(seeded)
    }

    package func pseudonym(_ value: String) -> String {
        if value.isEmpty { return value }
        return names.withLock { names in
            if let known = names[value] { return known }
            let name = "\(TraceRecording.redactedValue)-\(names.count + 2)"
            names[value] = name
            return name
        }
    }
}
