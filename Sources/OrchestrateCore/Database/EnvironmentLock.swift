import Foundation
import Postgres

/// Who holds an environment's lock, read from `pg_locks`, `pg_stat_activity` and the holder's "started" event.
public struct LockHolder: Sendable, Hashable, Codable {
    /// The holder's backend process id.
    public var pid: Int32
    /// The holder's `application_name` (orchestrate sets it to the command).
    public var applicationName: String
    /// The database user it connected as.
    public var databaseUser: String
    /// The client address, nil for a Unix socket.
    public var clientAddress: String?
    /// Since when the holder's connection exists (UTC, ISO 8601).
    public var since: String
    /// The command, from the holder's event, when it wrote one.
    public var command: String?
    /// The OS user of the holder, when known.
    public var osUser: String?
    /// The host of the holder, when known.
    public var host: String?
    /// The git commit the holder runs from, when known.
    public var gitCommit: String?

    /// "orchestrate promote staging by alice@ci-7 at commit 1a2b3c4, since 2026-…, pid 4242".
    public var summary: String {
        var parts = [command ?? (applicationName.isEmpty ? "a session" : applicationName)]
        if let osUser {
            parts.append("by \(osUser)\(host.map { "@" + $0 } ?? "")")
        } else {
            parts.append("as database user \(databaseUser)")
        }
        if let gitCommit { parts.append("at commit \(gitCommit.prefix(7))") }
        parts.append("since \(since)")
        parts.append("pid \(pid)")
        return parts.joined(separator: " ")
    }
}

/// The per-environment lock: a PostgreSQL session advisory lock held on a dedicated connection for a whole run.
///
/// It dies with its connection, so a crashed run never leaves a stale lock. The key is derived from the ledger
/// schema; advisory locks are per database, so environments on different databases never collide.
final class EnvironmentLock {
    let connection: Connection
    let key: Int64
    private var held = true

    private init(connection: Connection, key: Int64) {
        self.connection = connection
        self.key = key
    }

    /// The advisory lock key of a ledger schema.
    static func key(schema: String) -> Int64 {
        Int64(bitPattern: stableHash("orchestrate.environment-lock:" + schema))
    }

    /// The expression that tries the lock of `environment` once, for a caller that sends it with other statements
    /// (the key is a number written out: nothing of the user's reaches the text).
    static func tryExpression(_ environment: EnvironmentConfig) -> String {
        "pg_try_advisory_lock(\(key(schema: environment.ledgerSchema))::bigint)"
    }

    /// Takes the lock on `connection`, waiting up to the environment's `lock_timeout` and reporting the holder
    /// once and then every five seconds. Exits with `.locked` (4) naming the holder when the time is up.
    ///
    /// `firstTry` is the result of a `pg_try_advisory_lock` the caller sent in an earlier round trip of its own
    /// (`tryExpression`): true, and the lock is held already.
    static func acquire(
        on connection: Connection, environment: EnvironmentConfig, ledgerExists: () -> Bool,
        firstTry: Bool? = nil, interruptions: Interruptions, progress: ProgressHandler
    ) throws(OrchestrateError) -> EnvironmentLock {
        let key = key(schema: environment.ledgerSchema)
        if firstTry == true { return EnvironmentLock(connection: connection, key: key) }
        let start = Date()
        var lastReport: Date?
        var pollInterval = 0.05
        while true {
            try interruptions.check("while waiting for the lock of `\(environment.name)`; nothing was run")
            do {
                if try connection.tryAdvisoryLock(key) {
                    return EnvironmentLock(connection: connection, key: key)
                }
            } catch {
                throw .operation("environment `\(environment.name)`: cannot take the environment lock", error)
            }
            let waited = Date().timeIntervalSince(start)
            let holder = try? findHolder(
                on: connection, key: key, ledgerSchema: ledgerExists() ? environment.ledgerSchema : nil)
            if waited >= environment.lockTimeout.seconds {
                let who = holder?.summary ?? "another session"
                throw .locked(
                    "environment `\(environment.name)` is locked by \(who); gave up after lock_timeout = \(environment.lockTimeout)",
                    hint: "wait for that run to finish, or raise lock_timeout in \(environment.path)")
            }
            if lastReport.map({ Date().timeIntervalSince($0) >= 5 }) ?? true {
                progress(.waitingForLock(environment: environment.name, holder: holder, waitedSeconds: waited))
                lastReport = Date()
            }
            let remaining = environment.lockTimeout.seconds - waited
            Thread.sleep(forTimeInterval: max(0.01, min(pollInterval, remaining)))
            pollInterval = min(pollInterval * 2, 0.5)
        }
    }

    /// Who holds the lock with `key` in the connection's database, or nil.
    static func findHolder(
        on connection: Connection, key: Int64, ledgerSchema: String?
    ) throws(PostgresError) -> LockHolder? {
        let bits = UInt64(bitPattern: key)
        let classID = String(bits >> 32), objectID = String(bits & 0xffff_ffff)
        let result = try connection.query(
            """
            SELECT a.pid, coalesce(a.application_name, '') AS application_name,
                   coalesce(a.usename::text, '') AS database_user, a.client_addr::text AS client_address,
                   \(Ledger.isoTime("a.backend_start")) AS since, a.backend_start
            FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND l.classid = $1::oid AND l.objid = $2::oid
            LIMIT 1
            """, [.text(classID), .text(objectID)])
        guard let row = result.records.first, let pid = row["pid"].flatMap({ Int32($0) }) else { return nil }
        var holder = LockHolder(
            pid: pid, applicationName: row["application_name"] ?? "", databaseUser: row["database_user"] ?? "",
            clientAddress: row["client_address"], since: row["since"] ?? "")
        if let ledgerSchema,
            let event = try Ledger(connection: connection, schema: ledgerSchema).lastEvent(
                lockPID: pid, since: row["backend_start"])
        {
            holder.command = event.command
            holder.osUser = event.osUser
            holder.host = event.host
            holder.gitCommit = event.gitCommit
        }
        return holder
    }

    /// Records that the session let the lock go without a statement of ours: `DISCARD ALL` releases every advisory
    /// lock of the session.
    func releasedByDiscard() { held = false }

    /// Releases the lock (closing the connection would too).
    func release() {
        guard held else { return }
        held = false
        _ = try? connection.advisoryUnlock(key)
    }

    deinit { release() }
}
