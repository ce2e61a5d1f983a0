import Foundation
import Postgres

/// A session holding a lock on one of the ledger's tables strong enough to block orchestrate (an open transaction
/// that ran `LOCK TABLE`, a DBA's `ALTER TABLE`…), read from `pg_locks` and `pg_stat_activity`.
public struct TableLockHolder: Sendable, Hashable, Codable {
    /// The holder's backend process id.
    public var pid: Int32
    /// Its `application_name` (empty when it set none).
    public var applicationName: String
    /// The database user it connected as.
    public var databaseUser: String
    /// The client address, nil for a Unix socket.
    public var clientAddress: String?
    /// The locked table, qualified.
    public var table: String
    /// The lock mode, e.g. `AccessExclusiveLock`.
    public var mode: String
    /// Its state in `pg_stat_activity`: `active`, `idle in transaction`…
    public var state: String
    /// How long its transaction has been open (its connection, outside a transaction), in seconds.
    public var seconds: Int

    /// "pid 4242 (psql, user alice, from 10.0.0.5) holds AccessExclusiveLock on orchestrate.revisions, idle in
    /// transaction for 42s".
    public var summary: String {
        var who = [applicationName.isEmpty ? "no application_name" : applicationName, "user \(databaseUser)"]
        who.append(clientAddress.map { "from \($0)" } ?? "over a Unix socket")
        return
            "pid \(pid) (\(who.joined(separator: ", "))) holds \(mode) on \(table), \(state.isEmpty ? "state unknown" : state) for \(seconds)s"
    }
}

extension Ledger {
    /// The other sessions holding a lock on a table of this ledger that blocks reading it or appending events,
    /// longest-held first.
    func tableLockHolders() throws(PostgresError) -> [TableLockHolder] {
        let result = try connection.query(
            """
            SELECT l.pid, coalesce(a.application_name, '') AS application_name, coalesce(a.usename::text, '') AS usename,
                   a.client_addr::text AS client_addr, l.relation::regclass::text AS locked_table, l.mode,
                   coalesce(a.state, '') AS state,
                   extract(epoch FROM now() - coalesce(a.xact_start, a.backend_start))::bigint AS seconds
            FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid()
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND l.relation IN (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                                 WHERE n.nspname = $1)
              AND l.mode NOT IN ('AccessShareLock', 'RowShareLock', 'RowExclusiveLock')
            ORDER BY seconds DESC, l.pid
            """, [.text(schema)])
        return (0..<result.count).compactMap { row in
            guard let pid = result[row, "pid"].flatMap({ Int32($0) }) else { return nil }
            return TableLockHolder(
                pid: pid, applicationName: result[row, "application_name"] ?? "",
                databaseUser: result[row, "usename"] ?? "", clientAddress: result[row, "client_addr"],
                table: result[row, "locked_table"] ?? "?", mode: result[row, "mode"] ?? "?",
                state: result[row, "state"] ?? "", seconds: result[row, "seconds"].flatMap { Int($0) } ?? 0)
        }
    }

    /// The error for a failed read (or event write) of this ledger: when PostgreSQL's `lock_timeout` expired
    /// (55P03), a `.locked` error (exit 4) naming the sessions that hold the ledger's tables; otherwise
    /// `.operation` (exit 3). `doing` says what failed, e.g. "cannot read the ledger".
    func failure(
        _ error: PostgresError, environment: EnvironmentConfig,
        doing: String = "cannot read the ledger"
    ) -> OrchestrateError {
        guard error.sqlState == .lockNotAvailable else {
            return .operation("environment `\(environment.name)`: \(doing)", error)
        }
        let holders = (try? tableLockHolders()) ?? []
        let who =
            holders.isEmpty
            ? "another session held a lock on a table of schema `\(schema)` (it has let go since)"
            : holders.map(\.summary).joined(separator: "; ")
        let hint =
            holders.first.map {
                "that session must commit or roll back; a DBA can end it with `SELECT pg_terminate_backend(\($0.pid))`. lock_timeout in \(environment.path) bounds the wait"
            }
            ?? "run the command again; lock_timeout in \(environment.path) bounds the wait"
        return .locked(
            "environment `\(environment.name)`: \(doing): the ledger is locked by another session, gave up after lock_timeout = \(environment.lockTimeout): \(who)",
            hint: hint)
    }
}

extension SessionSettings {
    /// Every connection that reads or writes the ledger (not the work connection, which has its own): PostgreSQL's
    /// `lock_timeout` set to the environment's `lock_timeout`, so that a session holding a ledger table makes the
    /// command give up and name it instead of waiting without limit. (0 in PostgreSQL would mean no limit.)
    static func ledger(_ environment: EnvironmentConfig) -> String {
        "SET lock_timeout = '\(max(1, environment.lockTimeout.milliseconds))ms'"
    }
}

extension EnvironmentDatabase {
    /// Connects for reading the ledger: `connect`, then waits for table locks bounded by the environment's
    /// `lock_timeout` (see `SessionSettings.ledger`).
    static func connectForReading(
        _ environment: EnvironmentConfig, conninfo: String, applicationName: String,
        retries: Int? = nil, interruptions: Interruptions,
        progress: @escaping ProgressHandler
    ) throws(OrchestrateError) -> Connection {
        let connection = try connect(
            environment, conninfo: conninfo, applicationName: applicationName, retries: retries,
            interruptions: interruptions, progress: progress)
        do throws(PostgresError) {
            try connection.execute(SessionSettings.ledger(environment))
        } catch {
            connection.close()
            throw .operation("environment `\(environment.name)`: cannot set lock_timeout", error)
        }
        return connection
    }

    /// A read-only look at `environment`'s ledger: a reading connection (the caller closes it) and the ledger on it.
    static func openLedgerForReading(
        _ environment: EnvironmentConfig, projectRoot: String, applicationName: String, retries: Int? = nil,
        interruptions: Interruptions, progress: @escaping ProgressHandler
    ) throws(OrchestrateError) -> (connection: Connection, ledger: Ledger) {
        let conninfo = try conninfo(for: environment, projectRoot: projectRoot, progress: progress)
        let connection = try connectForReading(
            environment, conninfo: conninfo, applicationName: applicationName, retries: retries,
            interruptions: interruptions, progress: progress)
        do throws(PostgresError) {
            return (connection, try Ledger(connection: connection, schema: environment.ledgerSchema))
        } catch {
            connection.close()
            throw .operation("environment `\(environment.name)`", error)
        }
    }
}
