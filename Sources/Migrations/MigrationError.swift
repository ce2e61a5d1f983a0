/// A migration file that cannot be read: where (`path`, `line`) and what was expected.
///
/// `description` prints `path:line: message` (or `path: message` when the problem is not on one line,
/// such as an invalid file name), the shape editors and CI annotations understand.
public struct MigrationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The display path of the file, as the caller gave it to `MigrationFile.parse(path:bytes:)`.
    public var path: String
    /// The 1-based line the problem is on, or `nil` when it concerns the whole file.
    public var line: Int?
    /// What is wrong, what was expected and how to fix it.
    public var message: String

    /// Creates an error for `path` (at `line`, when known).
    public init(path: String, line: Int?, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    /// `path:line: message`, or `path: message` without a line.
    public var description: String {
        if let line {
            return "\(path):\(line): \(message)"
        }
        return "\(path): \(message)"
    }
}
