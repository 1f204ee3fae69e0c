/// A problem in a scenario file, with the file and line it was found at.
package struct ScenarioError: Error, CustomStringConvertible, Equatable {
    package var file: String
    package var line: Int
    package var message: String

    package init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    package var description: String { "\(file):\(line): \(message)" }
}
