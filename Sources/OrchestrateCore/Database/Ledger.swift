import Foundation
import Postgres

/// The ledger in an environment's database (DESIGN §5): applied revisions, an append-only event log, and freezes.
///
/// It lives in the environment's `ledger_schema`, is created on first write, and carries a version of its own so
/// that later releases can upgrade it in place. Every identifier is quoted; every value is a bound parameter.
public struct Ledger {
    /// The newest ledger layout this build knows.
    ///
    /// 1: the tables, and a row trigger refusing UPDATE and DELETE on `events`.
    /// 2: a statement trigger refusing TRUNCATE on `events` too (a row trigger never sees a TRUNCATE).
    public static let currentVersion = 2

    /// The connection the ledger is read and written through.
    let connection: Connection
    /// The schema name, unquoted.
    public let schema: String
    /// The schema name, quoted for SQL text.
    let quoted: String

    /// A ledger in `schema`, reached through `connection`.
    init(connection: Connection, schema: String) throws(PostgresError) {
        self.connection = connection
        self.schema = schema
        self.quoted = try connection.quoteIdentifier(schema)
    }

    /// The qualified, quoted name of a ledger table.
    func table(_ name: String) -> String { "\(quoted).\(name)" }

    // MARK: - Creation and versioning

    /// What the schema holds: no ledger, a ledger of a known layout version, or one whose version is lost.
    enum Layout: Equatable {
        case absent
        case installed(Int)
        case versionLost(LedgerHealth.VersionRow)
    }

    /// The ledger's layout, from `ledger_meta` (and, when that is gone, whether the other tables remain).
    func layout() throws(PostgresError) -> Layout {
        let exists = try connection.query(
            "SELECT to_regclass($1) IS NOT NULL AS meta, to_regclass($2) IS NOT NULL AS revisions",
            ["\(quoted).ledger_meta", "\(quoted).revisions"])
        guard exists[0, "meta"] == "t" else { return exists[0, "revisions"] == "t" ? .versionLost(.tableMissing) : .absent }
        let row = try connection.query("SELECT version FROM \(table("ledger_meta"))")
        guard let version = row[0, "version"].flatMap({ Int($0) }) else { return .versionLost(.missing) }
        return .installed(version)
    }

    /// The installed layout version, or nil when there is no ledger yet (or its version is lost: see `layout()`).
    func installedVersion() throws(PostgresError) -> Int? {
        if case .installed(let version) = try layout() { return version }
        return nil
    }

    /// Creates the ledger or upgrades its layout; call only while holding the environment lock.
    func ensure(for environment: EnvironmentConfig) throws(OrchestrateError) {
        do {
            let installed: Int
            switch try layout() {
            case .absent: installed = 0
            case .installed(let version): installed = version
            case .versionLost(let versionRow):
                throw LedgerHealth.refusal(LedgerHealth.damage(rows: [], versionRow: versionRow, schema: schema),
                                           environment: environment.name)
            }
            if installed == Ledger.currentVersion { return }
            if installed > Ledger.currentVersion {
                throw OrchestrateError.operation(
                    "the ledger in schema `\(schema)` has version \(installed), newer than this orchestrate understands (\(Ledger.currentVersion))",
                    hint: "upgrade orchestrate to the version the rest of the team uses")
            }
            try connection.execute("BEGIN")
            do {
                for version in (installed + 1)...Ledger.currentVersion {
                    try connection.execute(Ledger.migration(to: version, schema: quoted))
                }
                try connection.execute("COMMIT")
            } catch {
                _ = try? connection.execute("ROLLBACK")
                throw error
            }
        } catch let error as OrchestrateError {
            throw error
        } catch let error as PostgresError {
            if error.sqlState == .lockNotAvailable { throw failure(error, environment: environment, doing: "cannot read the ledger") }
            throw .operation("cannot create the ledger in schema `\(schema)`: \(error.description)",
                             hint: error.sqlState == .insufficientPrivilege
                                ? "the database user needs CREATE on the database (or create schema \(schema) for it)" : nil)
        } catch {
            throw .operation("cannot create the ledger: \(error)")
        }
    }

    /// The DDL that takes the ledger from `version - 1` to `version`.
    static func migration(to version: Int, schema s: String) -> String {
        switch version {
        case 1:
            return """
            CREATE SCHEMA IF NOT EXISTS \(s);
            CREATE TABLE \(s).ledger_meta (
                singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                version integer NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                upgraded_at timestamptz NOT NULL DEFAULT now()
            );
            INSERT INTO \(s).ledger_meta (version) VALUES (1);
            CREATE TABLE \(s).revisions (
                revision text PRIMARY KEY,
                parents text[] NOT NULL,
                checksum text NOT NULL,
                up_sql text NOT NULL,
                down_sql text,
                transactional boolean NOT NULL,
                state text NOT NULL CHECK (state IN ('applied', 'running', 'reverting')),
                statements_total integer,
                statements_done integer,
                environment text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                db_user text NOT NULL DEFAULT current_user,
                os_user text,
                host text,
                git_commit text,
                git_branch text,
                git_dirty boolean,
                duration_ms bigint,
                promoted_from text
            );
            CREATE TABLE \(s).events (
                id bigserial PRIMARY KEY,
                at timestamptz NOT NULL DEFAULT clock_timestamp(),
                run_id text NOT NULL,
                environment text NOT NULL,
                action text NOT NULL,
                revision text,
                outcome text NOT NULL,
                message text,
                db_user text NOT NULL DEFAULT current_user,
                os_user text,
                host text,
                command text,
                git_commit text,
                git_branch text,
                duration_ms bigint,
                lock_pid integer
            );
            CREATE INDEX events_lock_pid ON \(s).events (lock_pid, id);
            CREATE FUNCTION \(s).events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the orchestrate event log is append-only';
            END
            $$;
            CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON \(s).events
                FOR EACH ROW EXECUTE FUNCTION \(s).events_append_only();
            CREATE TABLE \(s).freezes (
                singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                frozen_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                db_user text NOT NULL DEFAULT current_user,
                os_user text,
                host text,
                git_commit text,
                reason text NOT NULL
            );
            """
        case 2:
            // Idempotent: it reinstates a trigger someone dropped, and a ledger whose version row was lost can be
            // told "version 1" and brought up to date again.
            return """
            CREATE OR REPLACE FUNCTION \(s).events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the orchestrate event log %.events is append-only: % is refused', TG_TABLE_SCHEMA, TG_OP
                    USING ERRCODE = 'insufficient_privilege',
                          HINT = 'the event log records what happened to this environment; orchestrate only ever appends to it';
            END
            $$;
            DROP TRIGGER IF EXISTS events_append_only ON \(s).events;
            CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON \(s).events
                FOR EACH ROW EXECUTE FUNCTION \(s).events_append_only();
            DROP TRIGGER IF EXISTS events_append_only_truncate ON \(s).events;
            CREATE TRIGGER events_append_only_truncate BEFORE TRUNCATE ON \(s).events
                FOR EACH STATEMENT EXECUTE FUNCTION \(s).events_append_only();
            UPDATE \(s).ledger_meta SET version = 2, upgraded_at = now();
            """
        default:
            fatalError("no ledger migration to version \(version)")
        }
    }

    // MARK: - Reading

    /// Every revision row, without the SQL texts (see `sql(of:)`), in application order.
    func appliedRevisions() throws(PostgresError) -> [AppliedRevision] {
        let result = try connection.query("""
            SELECT revision, array_to_string(parents, ','), checksum, transactional, state, statements_done,
                   statements_total, \(Ledger.isoTime("applied_at")), db_user, os_user, host, git_commit, git_branch,
                   git_dirty, duration_ms, promoted_from, down_sql IS NOT NULL
            FROM \(table("revisions")) ORDER BY applied_at, revision
            """)
        return result.rows.map { row in
            AppliedRevision(
                revision: row[0] ?? "",
                parents: Ledger.parents(row[1]),
                checksum: row[2] ?? "",
                transactional: row[3] == "t",
                state: AppliedRevision.State(rawValue: row[4] ?? "") ?? .applied,
                statementsDone: row[5].flatMap { Int($0) },
                statementsTotal: row[6].flatMap { Int($0) },
                appliedAt: row[7] ?? "",
                databaseUser: row[8] ?? "",
                osUser: row[9],
                host: row[10],
                gitCommit: row[11],
                gitBranch: row[12],
                gitDirty: row[13].map { $0 == "t" },
                durationMilliseconds: row[14].flatMap { Int($0) },
                promotedFrom: row[15],
                isReversible: row[16] == "t")
        }
    }

    /// The parents of `array_to_string(parents, ',')`: revision ids, which hold no comma (split on the UTF-8 bytes,
    /// which for thousands of rows is much cheaper than splitting the String).
    static func parents(_ joined: String?) -> [String] {
        guard let joined, !joined.isEmpty else { return [] }
        return joined.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: true).compactMap { String($0) }
    }

    /// The up and down SQL recorded for `revisions`.
    func sql(of revisions: [String]) throws(PostgresError) -> [String: (up: String, down: String?)] {
        guard !revisions.isEmpty else { return [:] }
        let result = try connection.query(
            "SELECT revision, up_sql, down_sql FROM \(table("revisions")) WHERE revision = ANY($1::text[])",
            [Ledger.arrayLiteral(revisions)])
        var output: [String: (up: String, down: String?)] = [:]
        for row in result.rows { output[row[0] ?? ""] = (row[1] ?? "", row[2]) }
        return output
    }

    /// The active freeze, if any.
    func freeze() throws(PostgresError) -> Freeze? {
        let result = try connection.query(
            "SELECT \(Ledger.isoTime("frozen_at")), db_user, os_user, host, git_commit, reason FROM \(table("freezes"))")
        guard let row = result.rows.first else { return nil }
        return Freeze(frozenAt: row[0] ?? "", databaseUser: row[1] ?? "", osUser: row[2], host: row[3],
                      gitCommit: row[4], reason: row[5] ?? "")
    }

    /// The newest `limit` events, newest first.
    func events(limit: Int) throws(PostgresError) -> [LedgerEvent] {
        let result = try connection.query("""
            SELECT id, \(Ledger.isoTime("at")), run_id, environment, action, revision, outcome, message, db_user,
                   os_user, host, command, git_commit, git_branch, duration_ms
            FROM \(table("events")) ORDER BY id DESC LIMIT $1
            """, [String(limit)])
        return result.rows.map { row in
            LedgerEvent(
                id: Int(row[0] ?? "") ?? 0, at: row[1] ?? "", runID: row[2] ?? "", environment: row[3] ?? "",
                action: row[4] ?? "", revision: row[5], outcome: row[6] ?? "", message: row[7],
                databaseUser: row[8] ?? "", osUser: row[9], host: row[10], command: row[11], gitCommit: row[12],
                gitBranch: row[13], durationMilliseconds: row[14].flatMap { Int($0) })
        }
    }

    // MARK: - Writing

    /// The SQL and parameters that append one event; run it alone or inside a revision's transaction.
    func eventInsert(_ event: NewEvent) -> (sql: String, parameters: [String?]) {
        (
            """
            INSERT INTO \(table("events")) (run_id, environment, action, revision, outcome, message, os_user, host,
                command, git_commit, git_branch, duration_ms, lock_pid)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::bigint, $13::integer)
            """,
            [event.run.id, event.run.environment, event.action, event.revision, event.outcome, event.message,
             event.run.actor.osUser, event.run.actor.host, event.run.command, event.run.git?.commit,
             event.run.git?.branch, event.durationMilliseconds.map(String.init), event.run.lockPID.map(String.init)]
        )
    }

    /// Appends one event.
    func record(_ event: NewEvent) throws(PostgresError) {
        let insert = eventInsert(event)
        try connection.query(insert.sql, insert.parameters)
    }

    /// A UTC ISO-8601 rendering of a timestamptz column.
    static func isoTime(_ column: String) -> String {
        "to_char(\(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
    }

    /// A PostgreSQL array literal for text values that need no quoting beyond the revision-id alphabet.
    static func arrayLiteral(_ values: [String]) -> String {
        var literal = "{"
        for (index, value) in values.enumerated() {
            if index > 0 { literal += "," }
            literal += "\""
            if value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") }) {
                for character in value.unicodeScalars {
                    if character == "\\" || character == "\"" { literal += "\\" }
                    literal.unicodeScalars.append(character)
                }
            } else {
                literal += value
            }
            literal += "\""
        }
        return literal + "}"
    }
}

/// One row of the ledger's `revisions` table.
public struct AppliedRevision: Sendable, Hashable, Codable {
    /// Where a revision stands.
    public enum State: String, Sendable, Hashable, Codable {
        /// Fully applied.
        case applied
        /// A non-transactional revision between its first and last statement (interrupted if no run holds the lock).
        case running
        /// A non-transactional revision between the first and last statement of its down section.
        case reverting
    }
    public var revision: String
    public var parents: [String]
    public var checksum: String
    public var transactional: Bool
    public var state: State
    public var statementsDone: Int?
    public var statementsTotal: Int?
    /// UTC, ISO 8601.
    public var appliedAt: String
    public var databaseUser: String
    public var osUser: String?
    public var host: String?
    public var gitCommit: String?
    public var gitBranch: String?
    public var gitDirty: Bool?
    public var durationMilliseconds: Int?
    public var promotedFrom: String?
    /// Whether a down section was recorded.
    public var isReversible: Bool
}

/// An active freeze of an environment.
public struct Freeze: Sendable, Hashable, Codable {
    /// UTC, ISO 8601.
    public var frozenAt: String
    public var databaseUser: String
    public var osUser: String?
    public var host: String?
    public var gitCommit: String?
    public var reason: String

    /// "by alice@build-7 (db user deploy) at 2026-…: reason".
    public var summary: String {
        "frozen by \(osUser ?? databaseUser)\(host.map { "@" + $0 } ?? "") at \(frozenAt): \(reason)"
    }
}

/// One row of the event log.
public struct LedgerEvent: Sendable, Hashable, Codable {
    public var id: Int
    /// UTC, ISO 8601.
    public var at: String
    public var runID: String
    public var environment: String
    public var action: String
    public var revision: String?
    public var outcome: String
    public var message: String?
    public var databaseUser: String
    public var osUser: String?
    public var host: String?
    public var command: String?
    public var gitCommit: String?
    public var gitBranch: String?
    public var durationMilliseconds: Int?
}

/// An event about to be written.
struct NewEvent {
    var run: RunContext
    var action: String
    var revision: String?
    var outcome: String
    var message: String?
    var durationMilliseconds: Int?
}
