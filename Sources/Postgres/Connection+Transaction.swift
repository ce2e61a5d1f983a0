/// Why `Connection.withTransaction` failed: each of its four steps fails in its own way.
public enum TransactionError<Failure: Error>: Error {
    /// `BEGIN` failed; nothing ran.
    case begin(PostgresError)
    /// The body failed; the transaction was rolled back.
    case body(Failure)
    /// The body failed and so did `ROLLBACK` (the connection is then usually lost, which ends the transaction too).
    case rollback(PostgresError, after: Failure)
    /// `COMMIT` failed (a deferred constraint, a serialization failure, a lost connection): nothing was committed.
    case commit(PostgresError)

    /// The PostgreSQL error of a failed `BEGIN`, `COMMIT` or `ROLLBACK`, or the body's when it is one.
    public var postgresError: PostgresError? {
        switch self {
        case .begin(let error), .commit(let error): return error
        case .rollback(_, let after): return after as? PostgresError
        case .body(let error): return error as? PostgresError
        }
    }
}

extension TransactionError: CustomStringConvertible {
    /// As `description`, with a PostgreSQL error's `summary` (no DETAIL, which can quote row data).
    public var summary: String {
        func text(_ error: any Error) -> String { (error as? PostgresError)?.summary ?? "\(error)" }
        switch self {
        case .begin(let error): return "BEGIN failed: \(error.summary)"
        case .body(let error): return text(error)
        case .rollback(let error, let after): return "\(text(after)) (and ROLLBACK failed: \(error.summary))"
        case .commit(let error): return "COMMIT failed: \(error.summary)"
        }
    }

    public var description: String {
        switch self {
        case .begin(let error): return "BEGIN failed: \(error.description)"
        case .body(let error): return "\(error)"
        case .rollback(let error, let after): return "\(after) (and ROLLBACK failed: \(error.description))"
        case .commit(let error): return "COMMIT failed: \(error.description)"
        }
    }
}

extension Connection {
    /// Runs `body` between `BEGIN` and `COMMIT`: everything it does on this connection commits together, or, when it
    /// throws, is rolled back. A failed `COMMIT` leaves nothing committed (PostgreSQL ends the transaction; a
    /// transaction still open after it is rolled back).
    @discardableResult
    public func withTransaction<Result, Failure: Error>(
        _ body: () throws(Failure) -> Result
    ) throws(TransactionError<Failure>) -> Result {
        do {
            try execute("BEGIN")
        } catch {
            throw .begin(error)
        }
        let result: Result
        do {
            result = try body()
        } catch {
            guard isOpen, transactionStatus != .idle else { throw .body(error) }
            do {
                try execute("ROLLBACK")
            } catch let rollback {
                throw .rollback(rollback, after: error)
            }
            throw .body(error)
        }
        do {
            try execute("COMMIT")
        } catch {
            if isOpen, transactionStatus != .idle { _ = try? execute("ROLLBACK") }
            throw .commit(error)
        }
        return result
    }
}
