/// Maps PostgreSQL error positions back to lines and columns of the SQL that was sent.
public enum SourceLocation {
    /// Maps PostgreSQL's PG_DIAG_STATEMENT_POSITION (1-based, in CHARACTERS of `text`) to a 1-based (line, column).
    ///
    /// Characters are Unicode scalars (code points), as PostgreSQL counts them in a UTF-8 database; the column
    /// counts scalars too. Lines end at `\n`. A position below 1 maps to (1, 1); a position past the end maps to
    /// the place just after the last character. For a migration's up section sent as one string, the file line
    /// is `MigrationFile.upStartLine + line - 1`; for a split statement, pass the statement's text and add its
    /// `SQLStatement.line - 1`.
    public static func lineAndColumn(ofCharacterPosition position: Int, in text: String) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        var remaining = position - 1
        for scalar in text.unicodeScalars {
            if remaining <= 0 {
                break
            }
            if scalar == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
            remaining -= 1
        }
        return (line, column)
    }
}
