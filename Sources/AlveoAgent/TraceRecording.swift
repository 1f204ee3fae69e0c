import AlveoOutput
import AlveoTrace
import Foundation

/// Starts a raw trace for `alveo run --record` and `alveo record`: the configuration file's text first,
/// then the Modbus profile each device is decoded with, so that the trace replays on any machine.
public enum TraceRecording {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Creates `directory/alveo-<run id>.alvtrace` with the configuration and profiles written.
    /// `onError` hears when records cannot be written (disk full): the recording is then incomplete;
    /// `onStop` when the recording stopped itself at one of `limits`.
    /// `limits`: where the recording stops on its own (size cap, free space kept for the journal).
    public static func start(directory: String, configPath: String, config: AgentConfig, limits: TraceWriter.Limits = .init(),
                             onError: @escaping @Sendable (String) -> Void = { _ in },
                             onStop: (@Sendable (String) -> Void)? = nil) throws(Failure) -> TraceWriter {
        let writer: TraceWriter
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
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
        guard let text = try? String(contentsOfFile: configPath, encoding: .utf8) else {
            try? FileManager.default.removeItem(atPath: writer.path)
            throw Failure(description: "\(configPath): cannot read the configuration to record it")
        }
        writer.write(TraceRecord(kind: .config, monotonic: 0, wallNanoseconds: TraceWriter.wallNow(), device: "", payload: Array(text.utf8)))
        // The profile texts read when the configuration was loaded: exactly the ones the run decodes with.
        for device in config.devices {
            writer.write(TraceRecord(kind: .profile, monotonic: 0, wallNanoseconds: TraceWriter.wallNow(), device: device.id,
                                     payload: Array(device.profileText.utf8)))
        }
        return writer
    }
}
