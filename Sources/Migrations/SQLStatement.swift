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

    /// Creates a statement.
    public init(text: String, offset: Int, line: Int) {
        self.text = text
        self.offset = offset
        self.line = line
    }
}
