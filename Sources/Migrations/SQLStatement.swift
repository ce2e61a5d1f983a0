/// A statement found by the splitter, with where it starts in the input.
///
/// Positions count Unicode scalars (code points), the unit PostgreSQL uses for `PG_DIAG_STATEMENT_POSITION`
/// with a UTF-8 database, so `offset + position - 1` is the scalar offset of an error in the whole input.
public struct SQLStatement: Sendable, Equatable {
    /// The statement without its terminating `;`, trimmed of surrounding whitespace. Comments before the
    /// statement (after the previous `;`) are kept, so `text` is an exact slice of the input; do not append
    /// `;` to it (it may end with a `--` comment).
    public var text: String
    /// The 0-based offset, in Unicode scalars of the input, of the first character of `text`.
    public var offset: Int
    /// The 1-based line of the input on which `text` starts.
    public var line: Int

    /// The 1-based line of the input on which the statement's code starts, after the comments that `text` keeps in
    /// front of it: where an error in the statement is best reported.
    public var codeLine: Int {
        let scalars = Array(text.unicodeScalars)
        var index = 0
        var newlines = 0
        while index < scalars.count {
            let scalar = scalars[index]
            let next = index + 1 < scalars.count ? scalars[index + 1] : nil
            if scalar == "\n" {
                newlines += 1
                index += 1
            } else if scalar == " " || scalar == "\t" || scalar == "\r" || scalar == "\u{0B}" || scalar == "\u{0C}" {
                index += 1
            } else if scalar == "-", next == "-" {
                while index < scalars.count, scalars[index] != "\n" { index += 1 }
            } else if scalar == "/", next == "*" {
                // Block comments nest in PostgreSQL.
                var depth = 0
                repeat {
                    if scalars[index] == "/", index + 1 < scalars.count, scalars[index + 1] == "*" {
                        depth += 1
                        index += 2
                    } else if scalars[index] == "*", index + 1 < scalars.count, scalars[index + 1] == "/" {
                        depth -= 1
                        index += 2
                    } else {
                        if scalars[index] == "\n" { newlines += 1 }
                        index += 1
                    }
                } while depth > 0 && index < scalars.count
            } else {
                break
            }
        }
        return line + newlines
    }

    /// Creates a statement.
    public init(text: String, offset: Int, line: Int) {
        self.text = text
        self.offset = offset
        self.line = line
    }
}
