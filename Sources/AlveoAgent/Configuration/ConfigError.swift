/// A problem in an agent configuration: which file, line and key, what is wrong and what is allowed.
package struct ConfigError: Error, CustomStringConvertible, Equatable {
    package var file: String
    package var line: Int
    package var key: String
    package var message: String

    package init(file: String, line: Int, key: String, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    package var description: String {
        key.isEmpty ? "\(file):\(line): \(message)" : "\(file):\(line): \(key): \(message)"
    }
}
