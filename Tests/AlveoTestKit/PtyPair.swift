import Foundation
import Testing

/// A socat pseudo-terminal pair in `directory`: the device's end (`device`, where a peer plays the
/// device) and the agent's (`agent`), linked as `ttyMON` and `ttyALVEO`; waits until both exist.
package struct PtyPair {
    package var device: String
    package var agent: String
    package var socat: RunningProcess

    package init(in directory: URL, sourceLocation: SourceLocation = #_sourceLocation) throws {
        device = directory.appendingPathComponent("ttyMON").path
        agent = directory.appendingPathComponent("ttyALVEO").path
        socat = try RunningProcess(["socat", "pty,raw,echo=0,link=\(device)", "pty,raw,echo=0,link=\(agent)"], directory: directory, name: "socat")
        let (device, agent) = (device, agent)
        #expect(waitUntil(timeout: 15) { FileManager.default.fileExists(atPath: device) && FileManager.default.fileExists(atPath: agent) },
                sourceLocation: sourceLocation)
    }
}
