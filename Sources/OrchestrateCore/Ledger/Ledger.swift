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
        /// `ledger_meta.revisions_digest` (see `LedgerDerived`).
        var digest: String
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
                SELECT pg_backend_pid() AS pid, m.version, m.\(LedgerDerived.digest.name)::text AS digest,
                       \(FreezesTable.selectList(alias: "f", prefix: "freeze_"))
                FROM \(table(LedgerSchema.meta)) m LEFT JOIN \(table(FreezesTable.table)) f ON true
                """)
        } catch  where error.sqlState == .undefinedTable || error.sqlState == .undefinedColumn {
            return nil
        }
        guard let row = result.records.first, row.integer("version") == Ledger.currentVersion,
            let digest = row["digest"]
        else { return nil }
        return Opening(
            backendPID: row.integer("pid").flatMap { Int32(exactly: $0) }, digest: digest,
            freeze: FreezesTable.decode(row, prefix: "freeze_"))
    }

    /// What `doctor` finds of `ledger_meta`'s derived columns (`LedgerDerived`) at layout 4 or later: nil when they
    /// match the rows and the event log and their triggers are enabled, otherwise the problem and the way out. Reads
    /// every row.
    func derivedProblem() throws(PostgresError) -> LedgerDerived.Problem? {
        let health = LedgerDerived.health(schema: quoted)
        let row = try connection.query(
            "SELECT \(health.matches) AS derived_matches, \(health.kept) AS derived_kept FROM \(table(LedgerSchema.meta))"
        ).records.first
        guard let row else { return nil }
        return LedgerDerived.problem(
            matches: row.boolean("derived_matches") ?? false, kept: row.boolean("derived_kept") ?? false,
            schema: quoted)
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
