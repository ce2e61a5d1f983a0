internal import CLibPQ

/// One libpq connection to PostgreSQL.
///
/// Not Sendable: use it from one thread at a time (hand it over, never share it). It is closed by `close()` or
/// when the last reference goes away. Statements run synchronously; to stop a long one from elsewhere, take a
/// `Canceller` first. Text goes to and from the server as UTF-8 (client_encoding is always UTF8).
public final class Connection {
    private var handle: OpaquePointer?
    private let notices: NoticeReceiver

    /// Connects with `conninfo` exactly as given: a URI (`postgresql://…?sslmode=require&channel_binding=require`),
    /// a key=value string, or a plain database name, all parsed by libpq, so service files, `.pgpass` and the
    /// `PG*` environment variables work as they do for psql.
    ///
    /// - `applicationName`, if non-nil, overrides any application_name in the string or environment.
    /// - Unless the string or `PGCONNECT_TIMEOUT` sets connect_timeout, it defaults to `defaultConnectTimeout`
    ///   seconds (0 waits forever). A connect_timeout set only in a service file is overridden by this default.
    ///   The timer restarts for each host libpq tries; when it expires the attempt ends (libpq's own blocking
    ///   connect would try the next host of a multi-host string instead).
    /// - `noticeHandler` receives notices from the start, including warnings the server sends while the session
    ///   starts (e.g. a collation version mismatch); nil discards them. libpq never writes to stderr.
    ///
    /// Throws `.invalidConnectionString` when libpq cannot parse `conninfo`, `.connection` when connecting fails
    /// (with the server's SQLSTATE when it sent one; see `isTransientConnectFailure`). Error messages name the
    /// host or socket as libpq does, never a password.
    public init(
        conninfo: String, applicationName: String? = nil, defaultConnectTimeout: Int = 10,
        noticeHandler: (@Sendable (PostgresNotice) -> Void)? = nil
    ) throws(PostgresError) {
        let notices = NoticeReceiver(handler: noticeHandler)
        handle = try Connector.open(
            conninfo: conninfo, applicationName: applicationName, defaultConnectTimeout: defaultConnectTimeout,
            notices: notices)
        self.notices = notices
    }

    deinit {
        if let handle {
            PQfinish(handle)
        }
    }

    /// Closes the connection (PQfinish), releasing its session advisory locks; later calls throw `.usage`.
    /// Closing twice does nothing.
    public func close() {
        if let handle {
            PQfinish(handle)
            self.handle = nil
        }
    }

    // MARK: - Statements

    /// Runs one or more `;`-separated statements (one simple-query message) and returns the result of the last one.
    ///
    /// Without an explicit BEGIN/COMMIT in the text, the statements run in one implicit transaction: if one
    /// fails, none of them take effect. An error's `position` counts characters from the start of `sql`, and its
    /// `statementsCompleted` says how many statements of the text ran before the one that failed.
    /// `COPY … FROM STDIN` / `TO STDOUT` are refused with `.usage` (the connection stays usable).
    @discardableResult
    public func execute(_ sql: String) throws(PostgresError) -> QueryResult {
        let handle = try openHandle()
        try LibPQ.requireNoNUL(sql, "the SQL text")
        // What PQexec does (PQsendQuery, then PQgetResult until NULL, keeping the last result), counting the results
        // on the way: each statement of a multi-statement text returns its own, so the count locates a failure that
        // the server gives no position for. Same round trip, same work.
        guard PQsendQuery(handle, sql) == 1 else {
            throw failure(on: handle, result: nil)
        }
        var last: OpaquePointer?
        var completed = 0
        while let result = PQgetResult(handle) {
            if let last {
                PQclear(last)
                completed += 1
            }
            last = result
            let status = PQresultStatus(result)
            if status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH {
                break  // `consume` ends the COPY and drains what follows.
            }
            if status == PGRES_FATAL_ERROR {
                // The server skips the rest of the text after an error; drain to the end of the command.
                while let rest = PQgetResult(handle) {
                    PQclear(rest)
                }
                break
            }
        }
        do {
            return try consume(last, on: handle)
        } catch var error {
            if error.kind == .query || error.kind == .connectionLost {
                error.statementsCompleted = completed
            }
            throw error
        }
    }

    /// Runs exactly one statement with parameters `$1`…`$n` (PQexecParams, text format).
    ///
    /// Parameters are sent apart from the SQL text, so their content is never interpreted as SQL. The server
    /// infers each parameter's type; add a cast (`$1::bigint`) where it cannot.
    @discardableResult
    public func query(_ sql: String, _ parameters: [SQLParameter] = []) throws(PostgresError) -> QueryResult {
        let handle = try openHandle()
        try LibPQ.requireNoNUL(sql, "the SQL text")
        let values = parameters.map(\.textValue)
        for (index, value) in values.enumerated() {
            if let value {
                try LibPQ.requireNoNUL(value, "parameter $\(index + 1)")
            }
        }
        guard values.count <= 65535 else {
            throw PostgresError(
                kind: .usage, message: "\(values.count) parameters is more than PostgreSQL's limit of 65535")
        }
        let result = LibPQ.withCStrings(values, nullTerminated: false) { pointers in
            PQexecParams(handle, sql, Int32(values.count), nil, pointers, nil, nil, 0)
        }
        return try consume(result, on: handle)
    }

    /// Turns a PGresult into a value or an error, and frees it.
    private func consume(_ result: OpaquePointer?, on handle: OpaquePointer) throws(PostgresError) -> QueryResult {
        guard let result else {
            // No result at all: libpq could not send the query, or ran out of memory.
            throw failure(on: handle, result: nil)
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return QueryResult(result: result)
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            abandonCopy(on: handle)
            throw PostgresError(
                kind: .usage,
                message: "COPY … FROM STDIN and COPY … TO STDOUT are not supported here; "
                    + "use INSERT statements or COPY with a server-side file or program")
        default:
            throw failure(on: handle, result: result)
        }
    }

    /// The error for a failed statement, read right after the call: `.connectionLost` when libpq's status went
    /// bad (with the server's SQLSTATE from the error text when the result does not carry one), else `.query`.
    private func failure(on handle: OpaquePointer, result: OpaquePointer?) -> PostgresError {
        guard PQstatus(handle) == CONNECTION_BAD else {
            if let result {
                return PostgresError(result: result, kind: .query)
            }
            return PostgresError(connectionMessageOf: handle, kind: .query)
        }
        if let result, PQresultErrorField(result, CLibPQ_DIAG_SQLSTATE) != nil {
            return PostgresError(result: result, kind: .connectionLost)
        }
        return PostgresError(libpqText: LibPQ.string(PQerrorMessage(handle)) ?? "", kind: .connectionLost)
    }

    /// Ends a COPY that PQexec started, discarding its data, and drains the remaining results so that the
    /// connection is ready for the next statement.
    private func abandonCopy(on handle: OpaquePointer) {
        while PQstatus(handle) == CONNECTION_OK {
            var buffer: UnsafeMutablePointer<CChar>?
            // Ending COPY IN with an error message aborts it; COPY OUT data is read and thrown away.
            _ = PQputCopyEnd(handle, "COPY FROM STDIN is not supported by this client")
            while PQgetCopyData(handle, &buffer, 0) >= 0 {
                PQfreemem(buffer)
                buffer = nil
            }
            if let buffer {
                PQfreemem(buffer)
            }
            guard let next = PQgetResult(handle) else { return }
            let status = PQresultStatus(next)
            PQclear(next)
            if status != PGRES_COPY_IN && status != PGRES_COPY_OUT && status != PGRES_COPY_BOTH {
                // Drain what is left of this command's results.
                while let rest = PQgetResult(handle) {
                    PQclear(rest)
                }
                return
            }
        }
    }

    private func openHandle() throws(PostgresError) -> OpaquePointer {
        guard let handle else {
            throw PostgresError(kind: .usage, message: "the connection is closed; open a new Connection")
        }
        return handle
    }

    // MARK: - Session facts

    /// The server process id serving this session (PQbackendPID); 0 when closed.
    public var backendPID: Int32 {
        handle.map { PQbackendPID($0) } ?? 0
    }

    /// The server version as a number (PQserverVersion), e.g. 150018 for 15.18; 0 when closed.
    public var serverVersionNumber: Int {
        handle.map { Int(PQserverVersion($0)) } ?? 0
    }

    /// The role the session authenticated as (PQuser); empty when closed.
    public var user: String {
        handle.flatMap { LibPQ.string(PQuser($0)) } ?? ""
    }

    /// The database name (PQdb); empty when closed.
    public var database: String {
        handle.flatMap { LibPQ.string(PQdb($0)) } ?? ""
    }

    /// The host connected to (PQhost): a host name, an IP address, or a Unix socket directory; empty when closed.
    public var host: String {
        handle.flatMap { LibPQ.string(PQhost($0)) } ?? ""
    }

    /// The port connected to (PQport); empty when closed.
    public var port: String {
        handle.flatMap { LibPQ.string(PQport($0)) } ?? ""
    }

    /// Whether the session is idle, in a transaction block, or in a failed one (PQtransactionStatus).
    public var transactionStatus: TransactionStatus {
        handle.map { TransactionStatus(PQtransactionStatus($0)) } ?? .unknown
    }

    /// True while the connection is open and healthy: not closed, and libpq's status is CONNECTION_OK (false
    /// after the server ended the session).
    public var isOpen: Bool {
        handle.map { PQstatus($0) == CONNECTION_OK } ?? false
    }

    /// Whether the server is still there, checked without a round trip: reads whatever arrived on the idle
    /// connection without waiting (PQconsumeInput) and returns libpq's status afterwards.
    ///
    /// Detects a session the server ended (pg_terminate_backend, a shutdown, idle_session_timeout): its last
    /// message and the closed socket are already on this side. It cannot detect a silent network loss (nothing
    /// arrives); TCP keepalives cover that. Call it between statements, never while one runs elsewhere; once it
    /// returned false the connection stays unusable.
    public func checkAlive() -> Bool {
        guard let handle, PQstatus(handle) == CONNECTION_OK else { return false }
        // A terminated session sends its FATAL error and then closes: the first read may take the message and
        // only the next sees the end of the stream. Each call is one non-blocking recv.
        for _ in 0..<3 {
            guard PQconsumeInput(handle) == 1 else { break }
            // Parses what was read; an unexpected error while idle goes to the notice receiver.
            _ = PQisBusy(handle)
            guard PQstatus(handle) == CONNECTION_OK else { break }
        }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// The connection parameters libpq is using (PQconninfo), including defaults from the environment, without
    /// secret values such as the password; empty when closed.
    public var parameters: [(keyword: String, value: String)] {
        guard let handle else { return [] }
        return Connector.effectiveOptions(handle).compactMap { option in
            guard !option.isSecret, let value = option.value, !value.isEmpty else { return nil }
            return (option.keyword, value)
        }
    }

    /// A setting the server reported (PQparameterStatus), e.g. `server_version`, `application_name`,
    /// `standard_conforming_strings`, `TimeZone`; nil when unknown or closed.
    public func parameterStatus(_ name: String) -> String? {
        guard let handle, !name.utf8.contains(0) else { return nil }
        return LibPQ.string(PQparameterStatus(handle, name))
    }

    // MARK: - Notices and cancellation

    /// Receives server notices (RAISE NOTICE, `… does not exist, skipping`, warnings) on the connection's thread,
    /// during the call that produced them. nil (the default) discards them; libpq never writes them to stderr.
    public var noticeHandler: (@Sendable (PostgresNotice) -> Void)? {
        get { notices.handler }
        set { notices.handler = newValue }
    }

    /// A Sendable handle that cancels the statement running on this connection from another thread
    /// (PQgetCancel); nil when the connection is closed or broken. Take it before starting the statement.
    public func makeCanceller() -> Canceller? {
        guard let handle, PQstatus(handle) == CONNECTION_OK, let cancel = PQgetCancel(handle) else { return nil }
        return Canceller(handle: cancel)
    }

    // MARK: - Quoting

    /// Quotes an identifier for SQL text (PQescapeIdentifier): `my schema` becomes `"my schema"`, `a"b` becomes
    /// `"a""b"`. Prefer parameters for values; use this for names that cannot be parameters.
    public func quoteIdentifier(_ name: String) throws(PostgresError) -> String {
        try escape(name, "identifier", PQescapeIdentifier)
    }

    /// Quotes a literal for SQL text (PQescapeLiteral): `it's` becomes `'it''s'`, and a value with backslashes
    /// becomes ` E'…'`. Prefer `query(_:_:)` parameters; use this only where SQL text must carry the value.
    public func quoteLiteral(_ value: String) throws(PostgresError) -> String {
        try escape(value, "literal", PQescapeLiteral)
    }

    /// Runs one of libpq's escaping functions on `text`, called `what` (`identifier`) in errors.
    private func escape(
        _ text: String, _ what: String,
        _ function: (OpaquePointer?, UnsafePointer<CChar>?, Int) -> UnsafeMutablePointer<CChar>?
    ) throws(PostgresError) -> String {
        let handle = try openHandle()
        try LibPQ.requireNoNUL(text, "the \(what)")
        guard let escaped = function(handle, text, text.utf8.count) else {
            throw PostgresError(kind: .usage, message: "could not quote the \(what): \(LibPQ.errorMessage(handle))")
        }
        defer { PQfreemem(escaped) }
        return String(cString: escaped)
    }
}
