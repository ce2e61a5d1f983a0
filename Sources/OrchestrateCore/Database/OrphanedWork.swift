import Foundation
import Postgres

/// Work sessions that a run which died left running.
///
/// PostgreSQL keeps executing a statement whose client has gone (with its locks) until the statement ends or, from
/// PostgreSQL 14, until `client_connection_check_interval` notices. A run's work connection is tagged
/// `orchestrate COMMAND (work of PID)`, PID being its lock connection; once a new run holds the environment lock, a
/// tagged session that is not idle and whose lock connection holds no advisory lock any more belongs to a dead run,
/// and is ended so the new run proceeds at once instead of queueing behind it.
enum OrphanedWork {
    /// The application_name of the work connection of a run whose lock connection is `lockPID` (63 bytes at most).
    static func applicationName(command: String, lockPID: Int32) -> String {
        let tag = " (work of \(lockPID))"
        var base = "orchestrate \(command)"
        while base.utf8.count + tag.utf8.count > 63, !base.isEmpty { base.removeLast() }
        return base + tag
    }

    /// A session left behind.
    struct Session {
        var pid: Int32
        var applicationName: String
        var state: String
        var runningSince: String
    }

    /// The orphaned work sessions in the connection's database.
    static func find(on connection: Connection) throws(PostgresError) -> [Session] {
        let result = try connection.query(
            """
            SELECT w.pid, w.application_name, coalesce(w.state, '') AS state,
                   coalesce(\(Ledger.isoTime("w.xact_start")), \(Ledger.isoTime("w.query_start")), '') AS running_since
            FROM pg_stat_activity w
            WHERE w.datname = current_database() AND w.pid <> pg_backend_pid()
              AND w.application_name ~ '^orchestrate .* \\(work of [0-9]+\\)$'
              AND w.state IS DISTINCT FROM 'idle'
              AND NOT EXISTS (
                SELECT FROM pg_locks l
                WHERE l.locktype = 'advisory' AND l.granted
                  AND l.pid = substring(w.application_name FROM '\\(work of ([0-9]+)\\)$')::integer)
            ORDER BY w.pid
            """)
        return result.records.compactMap { row in
            guard let pid = row["pid"].flatMap({ Int32($0) }) else { return nil }
            return Session(
                pid: pid, applicationName: row["application_name"] ?? "", state: row["state"] ?? "",
                runningSince: row["running_since"] ?? "")
        }
    }

    /// Ends every orphaned work session (pg_terminate_backend) and waits up to `wait` seconds for each to go, so that
    /// its transaction is rolled back and its locks released. Needs the right to signal those backends (the same
    /// role, or pg_signal_backend); without it, warns and lets the run meet their locks with its usual retries.
    static func end(
        on connection: Connection, environment: EnvironmentConfig, wait: Double = 10,
        interruptions: Interruptions, progress: ProgressHandler
    ) {
        guard let orphans = try? find(on: connection), !orphans.isEmpty else { return }
        for orphan in orphans {
            progress(
                .notice(
                    "environment `\(environment.name)`: ending server process \(orphan.pid) (\(orphan.applicationName), \(orphan.state) since \(orphan.runningSince)): the run it belonged to is gone, and its statement would keep its locks"
                ))
            let ended =
                (try? connection.query("SELECT pg_terminate_backend($1::integer)", [.integer(Int(orphan.pid))]))?
                .rows.first?.first == "t"
            guard ended else {
                progress(
                    .warning(
                        "environment `\(environment.name)`: cannot end server process \(orphan.pid) (needs the same database role or pg_signal_backend); revisions may wait for its locks"
                    ))
                continue
            }
            let deadline = Date().addingTimeInterval(wait)
            while Date() < deadline, interruptions.signal == nil {
                let alive =
                    (try? connection.query(
                        "SELECT 1 FROM pg_stat_activity WHERE pid = $1::integer", [.integer(Int(orphan.pid))]))?
                    .count ?? 0
                if alive == 0 { break }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
    }
}
