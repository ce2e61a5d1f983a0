import Postgres

/// The ledger's `freezes` table: at most one row, the active freeze (`orchestrate lock`), its columns, reads and
/// writes.
enum FreezesTable {
    static let singleton = LedgerColumn("singleton", "boolean PRIMARY KEY DEFAULT true CHECK (singleton)")
    static let frozenAt = LedgerColumn("frozen_at", "timestamptz NOT NULL DEFAULT clock_timestamp()")
    static let databaseUser = LedgerColumn("db_user", "text NOT NULL DEFAULT current_user")
    static let osUser = LedgerColumn("os_user", "text")
    static let host = LedgerColumn("host", "text")
    static let gitCommit = LedgerColumn("git_commit", "text")
    static let reason = LedgerColumn("reason", "text NOT NULL")

    static let table = LedgerTable("freezes", [singleton, frozenAt, databaseUser, osUser, host, gitCommit, reason])
}

extension FreezesTable {
    /// The freeze's columns for a SELECT over `alias` (the table's alias in the query), each named `prefix` + column.
    static func selectList(alias: String, prefix: String) -> String {
        table.columns.filter { $0 != singleton }.map { column in
            let value =
                column.type == "timestamptz" ? Ledger.isoTime("\(alias).\(column.name)") : "\(alias).\(column.name)"
            return "\(value) AS \(prefix)\(column.name)"
        }.joined(separator: ", ")
    }

    /// The freeze in `row` (read with `selectList(alias:prefix:)`), nil when the row has none.
    static func decode(_ row: QueryResult.Record, prefix: String) -> Freeze? {
        guard let reason = row[prefix + reason.name] else { return nil }
        return Freeze(
            frozenAt: row[prefix + frozenAt.name] ?? "", databaseUser: row[prefix + databaseUser.name] ?? "",
            osUser: row[prefix + osUser.name], host: row[prefix + host.name],
            gitCommit: row[prefix + gitCommit.name], reason: reason)
    }
}

extension Ledger {
    /// The active freeze, if any.
    func freeze() throws(PostgresError) -> Freeze? {
        let result = try connection.query(
            "SELECT \(FreezesTable.selectList(alias: "f", prefix: "")) FROM \(table(FreezesTable.table)) f")
        return result.records.first.flatMap { FreezesTable.decode($0, prefix: "") }
    }

    /// The statement that freezes the environment for `run`, with `reason`.
    func freezeInsert(run: RunContext, reason: String) -> SQLCommand {
        let columns = FreezesTable.self
        return SQLCommand.build { builder in
            columns.table.insert(
                schema: quoted,
                [
                    (columns.osUser, .bound(.text(run.actor.osUser))), (columns.host, .bound(.text(run.actor.host))),
                    (columns.gitCommit, .bound(.text(run.git?.commit))), (columns.reason, .bound(.text(reason))),
                ], builder: &builder)
        }
    }

    /// The statement that lifts the freeze.
    func freezeDelete() -> SQLCommand {
        SQLCommand(sql: "DELETE FROM \(table(FreezesTable.table))", parameters: [])
    }

    /// A DO block that raises `message` when the environment is frozen: how `plan --sql` refuses a frozen environment.
    func refuseFrozen(message quotedMessage: String) -> String {
        "DO $orchestrate$ BEGIN IF EXISTS (SELECT FROM \(table(FreezesTable.table))) THEN RAISE EXCEPTION \(quotedMessage); END IF; END $orchestrate$"
    }
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
