/// A PostgreSQL or libpq error, with the server's diagnostic fields.
///
/// `description` is safe to log: it never contains the connection string, a password or the SQL text that was
/// sent (it shows the message, SQLSTATE, position, detail and hint; `internalQuery` and `context`, which can
/// quote SQL, are only available as fields).
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// What failed.
    public enum Kind: Sendable {
        /// Connecting failed (unreachable server, authentication, unknown database, timeout, ...).
        case connection
        /// The server rejected a statement; the connection is still usable.
        case query
        /// The connection broke during or before a statement (server terminated the session, network loss).
        /// Open a new `Connection`; the outcome of the statement that was running is unknown unless it was in
        /// a transaction, which the server rolled back.
        case connectionLost
        /// libpq could not parse the connection string.
        case invalidConnectionString
        /// The caller misused the API (a closed connection, a NUL character in text, an unsupported COPY).
        case usage
    }

    /// What failed.
    public var kind: Kind
    /// The SQLSTATE the server sent, nil for errors detected by libpq or this module.
    public var sqlState: SQLState?
    /// The non-localized severity (`ERROR`, `FATAL`, `PANIC`) when the server sent one.
    public var severity: String?
    /// The primary message: the server's, or libpq's text (trimmed) for connection errors.
    public var message: String
    /// The server's DETAIL, which may quote data values (e.g. the duplicate key).
    public var detail: String?
    /// The server's HINT.
    public var hint: String?
    /// Where in the statement text the error is, in characters counted from 1 (PG_DIAG_STATEMENT_POSITION).
    /// For a multi-statement `execute`, it counts from the start of the whole text.
    public var position: Int?
    /// For `Connection.execute` of a text of several statements: how many of them completed before the one that
    /// failed. Each non-empty statement the server parses returns one result (empty ones, `;;` or comments only,
    /// return none), so the failing statement is number `statementsCompleted + 1`. nil for other calls.
    public var statementsCompleted: Int?
    /// The internally generated query that failed (e.g. inside a PL/pgSQL function); may contain SQL text.
    public var internalQuery: String?
    /// The call stack context (PG_DIAG_CONTEXT), e.g. `PL/pgSQL function f() line 3 at RAISE`; may quote SQL.
    public var context: String?
    /// The constraint involved, for integrity violations.
    public var constraint: String?
    /// The table involved.
    public var table: String?
    /// The column involved.
    public var column: String?
    /// The schema of the object involved.
    public var schema: String?
    /// The data type involved.
    public var dataType: String?

    /// Makes an error; the library builds them from libpq, callers mostly need this in tests.
    public init(
        kind: Kind, message: String, sqlState: SQLState? = nil, severity: String? = nil,
        detail: String? = nil, hint: String? = nil, position: Int? = nil, internalQuery: String? = nil,
        context: String? = nil, constraint: String? = nil, table: String? = nil, column: String? = nil,
        schema: String? = nil, dataType: String? = nil
    ) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.severity = severity
        self.detail = detail
        self.hint = hint
        self.position = position
        self.internalQuery = internalQuery
        self.context = context
        self.constraint = constraint
        self.table = table
        self.column = column
        self.schema = schema
        self.dataType = dataType
    }

    /// True when connecting failed in a way that is worth retrying after a pause: the server refused the
    /// connection, its socket does not exist yet, the attempt timed out, or the server answered 57P03
    /// cannot_connect_now (starting up, shutting down) or 53300 too_many_connections.
    ///
    /// Never true for authentication or authorization failures (class 28), an unknown database, or any error
    /// that is not of kind `.connection`. libpq reports network failures without a SQLSTATE, so those are
    /// recognised by libpq's (English) wording.
    public var isTransientConnectFailure: Bool {
        guard kind == .connection else { return false }
        if let sqlState {
            return sqlState == .cannotConnectNow || sqlState == .tooManyConnections
        }
        let transientWording = [
            "Connection refused", "No such file or directory", "could not connect", "timeout expired",
            "server closed the connection unexpectedly", "the database system is starting up",
        ]
        return transientWording.contains { message.contains($0) }
    }

    /// One line (plus DETAIL and HINT lines) that says what failed, without secrets or SQL text.
    ///
    /// DETAIL can quote row data (the duplicate key, the row that failed a check): show it to the user, but write
    /// `summary` where a message is kept (a log, an audit table).
    public var description: String {
        var text = summary
        if let detail {
            text += "\nDETAIL: \(detail)"
        }
        if let hint {
            text += "\nHINT: \(hint)"
        }
        return text
    }

    /// What failed, with the SQLSTATE and position, without DETAIL (which can quote data values) and HINT.
    public var summary: String {
        var text: String
        switch kind {
        case .connection: text = "could not connect to PostgreSQL: "
        case .connectionLost: text = "lost the connection to PostgreSQL: "
        case .invalidConnectionString: text = "invalid PostgreSQL connection string: "
        case .query, .usage: text = ""
        }
        if kind == .query || kind == .connectionLost, let severity {
            text += "\(severity): "
        }
        text += message
        var tags: [String] = []
        if let sqlState {
            tags.append("SQLSTATE \(sqlState)")
        }
        if let position {
            tags.append("at character \(position)")
        }
        if !tags.isEmpty {
            text += " (" + tags.joined(separator: ", ") + ")"
        }
        return text
    }
}
