import Foundation
import Postgres

/// The ledger in an environment's database (DESIGN §5): applied revisions, an append-only event log, and freezes.
///
/// It lives in the environment's `ledger_schema`, is created on first write, and carries a version of its own so
/// that later releases can upgrade it in place. Every identifier is quoted; every value is a bound parameter.
///
/// All of its SQL lives in `Sources/OrchestrateCore/Ledger/`: `LedgerSchema` (the column list of each table, which
/// drives the DDL, the SELECT lists and the INSERT and UPDATE statements), `LedgerMigrations` (the layout versions),
/// and one file per table (`RevisionsTable`, `EventsTable`, `FreezesTable`) with its reads and writes. Rows are read
/// by column name.
public struct Ledger {
    /// The newest ledger layout this build knows (see `LedgerMigrations`).
    public static let currentVersion = LedgerMigrations.currentVersion

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
    func table(_ table: LedgerTable) -> String { table.qualified(quoted) }

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
            [.text(table(LedgerSchema.meta)), .text(table(RevisionsTable.table))])
        guard exists[0, "meta"] == "t" else {
            return exists[0, "revisions"] == "t" ? .versionLost(.tableMissing) : .absent
        }
        let row = try connection.query("SELECT version FROM \(table(LedgerSchema.meta))")
        guard let version = row[0, "version"].flatMap({ Int($0) }) else { return .versionLost(.missing) }
        return .installed(version)
    }

    /// What a writing run reads of a ledger at the current layout as soon as it holds the lock.
    struct Opening: Sendable {
        /// The server process that answered (the pooler check compares it with an earlier answer).
        var backendPID: Int32?
        /// `ledger_meta.revisions_digest`; nil when its triggers are disabled (the digest may not follow the rows).
        var digest: String?
        /// The active freeze.
        var freeze: Freeze?
    }

    /// The opening read in one round trip; nil when the ledger is absent, of another layout or without its version
    /// row (`layout()` and `ensure` then say which and create, upgrade or refuse it).
    func opening() throws(PostgresError) -> Opening? {
        let result: QueryResult
        do {
            result = try connection.query(
                """
                SELECT pg_backend_pid() AS pid, m.version, m.\(LedgerSchema.revisionsDigest.name)::text AS digest,
                       \(RevisionsTable.digestKept(tableParameter: "$1")) AS digest_kept,
                       \(FreezesTable.selectList(alias: "f", prefix: "freeze_"))
                FROM \(table(LedgerSchema.meta)) m LEFT JOIN \(table(FreezesTable.table)) f ON true
                """, [.text(table(RevisionsTable.table))])
        } catch  where error.sqlState == .undefinedTable || error.sqlState == .undefinedColumn {
            return nil
        }
        guard let row = result.records.first, row.integer("version") == Ledger.currentVersion,
            let digest = row["digest"]
        else { return nil }
        return Opening(
            backendPID: row.integer("pid").flatMap { Int32(exactly: $0) },
            digest: row.boolean("digest_kept") == true ? digest : nil,
            freeze: FreezesTable.decode(row, prefix: "freeze_"))
    }

    /// What `doctor` finds of the digest of a ledger at layout 4 or later: nil when it follows the rows, otherwise the
    /// problem and the way out (the statements that enable the triggers and recompute it). Reads every row: a check
    /// for one ledger, not for each target of a run.
    func digestProblem() throws(PostgresError) -> (problem: String, remedy: String)? {
        let meta = table(LedgerSchema.meta), revisions = table(RevisionsTable.table)
        let column = LedgerSchema.revisionsDigest.name
        let row = try connection.query(
            """
            SELECT m.\(column) = \(RevisionsTable.computedDigest(schema: quoted)) AS digest_matches,
                   \(RevisionsTable.digestKept(tableParameter: "$1")) AS digest_kept
            FROM \(meta) m
            """, [.text(revisions)]
        ).records.first
        guard let row else { return nil }
        let matches = row.boolean("digest_matches") ?? false, kept = row.boolean("digest_kept") ?? false
        guard !matches || !kept else { return nil }
        let enable = RevisionsTable.digestTriggers.map { "ALTER TABLE \(revisions) ENABLE ALWAYS TRIGGER \($0);" }
        let recompute = RevisionsTable.digestRecomputation(schema: quoted)
        let problem =
            kept
            ? "the digest of the revisions in \(meta) does not match the rows (they were changed while its triggers were disabled), so fleet runs may plan this ledger from another's rows"
            : "the triggers that keep the digest of the revisions in \(meta) are disabled"
                + (matches ? "" : ", and the digest no longer matches the rows")
                + ", so fleet runs read this ledger's rows in full"
        return (problem, "a DBA runs `" + (kept ? [recompute] : enable + [recompute]).joined(separator: " ") + "`")
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
                throw LedgerHealth.refusal(
                    LedgerHealth.damage(rows: [], versionRow: versionRow, schema: schema),
                    environment: environment.name)
            }
            if installed == Ledger.currentVersion { return }
            if installed > Ledger.currentVersion {
                throw OrchestrateError.operation(
                    "the ledger in schema `\(schema)` has version \(installed), newer than this orchestrate understands (\(Ledger.currentVersion))",
                    hint: "upgrade orchestrate to the version the rest of the team uses")
            }
            do throws(TransactionError<PostgresError>) {
                try connection.withTransaction { () throws(PostgresError) in
                    // The steps' `IF EXISTS` and `IF NOT EXISTS` would each print a NOTICE ("does not exist, skipping")
                    // that tells the user nothing: quiet for this transaction only.
                    try connection.execute(
                        "SET LOCAL client_min_messages = warning;\n"
                            + LedgerMigrations.script(from: installed, schema: quoted))
                }
            } catch {
                throw error.postgresError ?? PostgresError(kind: .query, message: error.description)
            }
        } catch let error as OrchestrateError {
            throw error
        } catch let error as PostgresError {
            if error.sqlState == .lockNotAvailable {
                throw failure(error, environment: environment, doing: "cannot read the ledger")
            }
            throw .operation(
                "cannot create the ledger in schema `\(schema)`", error,
                hint: error.sqlState == .insufficientPrivilege
                    ? "the database user needs CREATE on the database (or create schema \(schema) for it)" : nil)
        } catch {
            throw .operation("cannot create the ledger: \(error)")
        }
    }

    /// A UTC ISO-8601 rendering of a timestamptz column.
    static func isoTime(_ column: String) -> String {
        "to_char(\(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
    }
}
