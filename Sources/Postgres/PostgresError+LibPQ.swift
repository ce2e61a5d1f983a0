internal import CLibPQ

extension PostgresError {
    /// An error from a failed PGresult, read field by field (PQresultErrorField) right after the failing call.
    /// `kind` is `.connectionLost` when the caller saw the connection go bad, `.query` otherwise.
    init(result: OpaquePointer, kind: Kind) {
        func field(_ code: Int32) -> String? {
            LibPQ.string(PQresultErrorField(result, code))
        }
        // libpq's own errors (lost connection, protocol trouble) carry only a message, no fields.
        let primary =
            field(CLibPQ_DIAG_MESSAGE_PRIMARY)
            ?? LibPQ.string(PQresultErrorMessage(result))?.trimmed
        self.init(
            kind: kind,
            message: primary.flatMap { $0.isEmpty ? nil : $0 } ?? "unknown error (libpq returned no message)",
            sqlState: field(CLibPQ_DIAG_SQLSTATE).map(SQLState.init(rawValue:)),
            severity: field(CLibPQ_DIAG_SEVERITY_NONLOCALIZED) ?? field(CLibPQ_DIAG_SEVERITY),
            detail: field(CLibPQ_DIAG_MESSAGE_DETAIL),
            hint: field(CLibPQ_DIAG_MESSAGE_HINT),
            position: field(CLibPQ_DIAG_STATEMENT_POSITION).flatMap { Int($0) },
            internalQuery: field(CLibPQ_DIAG_INTERNAL_QUERY),
            context: field(CLibPQ_DIAG_CONTEXT),
            constraint: field(CLibPQ_DIAG_CONSTRAINT_NAME),
            table: field(CLibPQ_DIAG_TABLE_NAME),
            column: field(CLibPQ_DIAG_COLUMN_NAME),
            schema: field(CLibPQ_DIAG_SCHEMA_NAME),
            dataType: field(CLibPQ_DIAG_DATATYPE_NAME))
    }

    /// An error for a call that failed without a PGresult: the message is PQerrorMessage, read right away.
    init(connectionMessageOf handle: OpaquePointer, kind: Kind) {
        let message = LibPQ.errorMessage(handle)
        self.init(kind: kind, message: message.isEmpty ? "unknown error (libpq returned no message)" : message)
    }

    /// An error from libpq's error text (PQerrorMessage), which this module asks for in verbose form so that
    /// server errors carry their SQLSTATE, e.g. `… failed: FATAL:  3D000: database "x" does not exist`.
    ///
    /// Used for connection failures and for lost connections, where libpq keeps the server's last words only
    /// in that text. The SQLSTATE and severity of the last server error are lifted into fields and removed
    /// from the text (with the severity when it starts a line), `LOCATION:` lines are dropped, and every
    /// occurrence of a secret (the passwords that were supplied) is masked, although libpq is not known to
    /// print them. For a lost connection, whose text may go on to quote the statement (`LINE 1: …`, `QUERY:`,
    /// `CONTEXT:`), only the server's primary message is kept when there is one.
    init(libpqText text: String, kind: Kind, secrets: [String] = []) {
        var lines: [String] = []
        var primary: String?
        var sqlState: SQLState?
        var severity: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("LOCATION:  ") {
                continue
            }
            if let found = Self.liftSQLState(from: line) {
                lines.append(found.line)
                primary = found.line
                sqlState = found.sqlState
                severity = found.severity
            } else {
                lines.append(String(line))
            }
        }
        var message = (kind == .connectionLost ? primary : nil) ?? lines.joined(separator: "\n")
        message = message.trimmed
        for secret in secrets.filter({ !$0.isEmpty }).sorted(by: { $0.count > $1.count }) {
            message = message.replacing(secret, with: "********")
        }
        self.init(
            kind: kind,
            message: message.isEmpty ? "unknown error (libpq returned no message)" : message,
            sqlState: sqlState, severity: severity)
    }

    /// Finds `SEVERITY:  XXXXX: ` (libpq's verbose error layout) in one line and returns the line without the
    /// code (and without the severity when it starts the line), the code, and the severity word.
    private static func liftSQLState(from line: Substring) -> (line: String, sqlState: SQLState, severity: String)? {
        let bytes = Array(line.utf8)
        func isCodeCharacter(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
        }
        var index = 0
        while index + 10 <= bytes.count {
            if bytes[index] == UInt8(ascii: ":"), bytes[index + 1] == UInt8(ascii: " "),
                bytes[index + 2] == UInt8(ascii: " "), bytes[(index + 3)..<(index + 8)].allSatisfy(isCodeCharacter),
                bytes[index + 8] == UInt8(ascii: ":"), bytes[index + 9] == UInt8(ascii: " ")
            {
                let code = String(decoding: bytes[(index + 3)..<(index + 8)], as: UTF8.self)
                let severityStart = bytes[..<index].lastIndex(of: UInt8(ascii: " ")).map { $0 + 1 } ?? 0
                let severity = String(decoding: bytes[severityStart..<index], as: UTF8.self)
                // `FATAL:  57P01: text` at the start of a line becomes `text`; elsewhere only the code goes.
                let keep = severityStart == 0 ? bytes[..<0] : bytes[..<(index + 3)]
                let cleaned = String(decoding: keep + bytes[(index + 10)...], as: UTF8.self)
                return (cleaned, SQLState(rawValue: code), severity)
            }
            index += 1
        }
        return nil
    }
}
