extension Connection {
    /// Tries to take the session advisory lock `key` (pg_try_advisory_lock) without waiting; true when taken.
    ///
    /// The lock belongs to this session: it is released by `advisoryUnlock(_:)` or when the connection closes
    /// or dies, so a crash never leaves it behind. Taking it twice needs two unlocks. Advisory locks are per
    /// database: the same key on another database is a different lock.
    public func tryAdvisoryLock(_ key: Int64) throws(PostgresError) -> Bool {
        try query("SELECT pg_try_advisory_lock($1::bigint)", [.integer(Int(key))])[0, "pg_try_advisory_lock"] == "t"
    }

    /// Releases one hold of the session advisory lock `key` (pg_advisory_unlock); false when this session did
    /// not hold it (the server then also sends a WARNING notice).
    @discardableResult
    public func advisoryUnlock(_ key: Int64) throws(PostgresError) -> Bool {
        try query("SELECT pg_advisory_unlock($1::bigint)", [.integer(Int(key))])[0, "pg_advisory_unlock"] == "t"
    }
}
