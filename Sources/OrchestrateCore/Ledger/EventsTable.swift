import Postgres

/// The ledger's append-only `events` table (DESIGN §5): every run, refusal, freeze and repair, its columns, reads and
/// writes.
enum EventsTable {
    static let id = LedgerColumn("id", "bigserial PRIMARY KEY")
    static let at = LedgerColumn("at", "timestamptz NOT NULL DEFAULT clock_timestamp()")
    static let runID = LedgerColumn("run_id", "text NOT NULL")
    static let environment = LedgerColumn("environment", "text NOT NULL")
    static let action = LedgerColumn("action", "text NOT NULL")
    static let revision = LedgerColumn("revision", "text")
    static let outcome = LedgerColumn("outcome", "text NOT NULL")
    static let message = LedgerColumn("message", "text")
    static let databaseUser = LedgerColumn("db_user", "text NOT NULL DEFAULT current_user")
    static let osUser = LedgerColumn("os_user", "text")
    static let host = LedgerColumn("host", "text")
    static let command = LedgerColumn("command", "text")
    static let gitCommit = LedgerColumn("git_commit", "text")
    static let gitBranch = LedgerColumn("git_branch", "text")
    static let duration = LedgerColumn("duration_ms", "bigint")
    /// The server process of the lock connection of the run that wrote the event: finds a lock holder's command.
    static let lockPID = LedgerColumn("lock_pid", "integer")

    static let table = LedgerTable(
        "events",
        [
            id, at, runID, environment, action, revision, outcome, message, databaseUser, osUser, host, command,
            gitCommit,
            gitBranch, duration, lockPID,
        ])

    /// The columns an event is written with (the others take their defaults), `revision` given apart so that an
    /// insert can take it from a CTE.
    static func values(_ event: NewEvent, revision: SQLValue) -> [(LedgerColumn, SQLValue)] {
        let run = event.run
        return [
            (runID, .bound(.text(run.id))), (environment, .bound(.text(run.environment))),
            (action, .bound(.text(event.action.rawValue))), (self.revision, revision),
            (outcome, .bound(.text(event.outcome.rawValue))),
            (message, .bound(.text(event.message))), (osUser, .bound(.text(run.actor.osUser))),
            (host, .bound(.text(run.actor.host))), (command, .bound(.text(run.command))),
            (gitCommit, .bound(.text(run.git?.commit))), (gitBranch, .bound(.text(run.git?.branch))),
            (duration, .bound(.integer(event.durationMilliseconds))),
            (lockPID, .bound(.integer(run.lockPID.map(Int.init)))),
        ]
    }

    /// A row read with `selectList` (every column but `lock_pid`).
    static func decode(_ row: QueryResult.Record) -> LedgerEvent {
        LedgerEvent(
            id: row.integer(id.name) ?? 0, at: row[at.name] ?? "", runID: row[runID.name] ?? "",
            environment: row[environment.name] ?? "", action: RunAction(rawValue: row[action.name] ?? ""),
            revision: row[revision.name],
            outcome: EventOutcome(rawValue: row[outcome.name] ?? ""), message: row[message.name],
            databaseUser: row[databaseUser.name] ?? "",
            osUser: row[osUser.name], host: row[host.name], command: row[command.name], gitCommit: row[gitCommit.name],
            gitBranch: row[gitBranch.name], durationMilliseconds: row.integer(duration.name))
    }

    /// What `LedgerEvent` reads.
    static let selectList = table.selectList(omitting: [lockPID])
}

extension Ledger {
    /// The newest `limit` events, newest first.
    func events(limit: Int) throws(PostgresError) -> [LedgerEvent] {
        let result = try connection.query(
            "SELECT \(EventsTable.selectList) FROM \(table(EventsTable.table)) ORDER BY id DESC LIMIT $1",
            [.integer(limit)])
        return result.records.map(EventsTable.decode)
    }

    /// The newest event written by the run whose lock connection is server process `pid`, started at
    /// `backendStart` or later (a pid is reused): what a lock holder is doing.
    func lastEvent(lockPID pid: Int32, since backendStart: String?) throws(PostgresError) -> LedgerEvent? {
        let result = try connection.query(
            """
            SELECT \(EventsTable.selectList) FROM \(table(EventsTable.table))
            WHERE lock_pid = $1::integer AND at >= $2::timestamptz ORDER BY id DESC LIMIT 1
            """, [.integer(Int(pid)), .text(backendStart)])
        return result.records.first.map(EventsTable.decode)
    }

    /// The statement that appends one event; run it alone or inside a transaction.
    func eventInsert(_ event: NewEvent) -> SQLCommand {
        let revision = SQLValue.bound(.text(event.revision))
        return SQLCommand.build { builder in
            EventsTable.table.insert(
                schema: quoted, EventsTable.values(event, revision: revision),
                builder: &builder)
        }
    }

    /// Appends one event.
    func record(_ event: NewEvent) throws(PostgresError) {
        try eventInsert(event).run(on: connection)
    }
}

/// One row of the event log.
public struct LedgerEvent: Sendable, Hashable, Codable {
    public var id: Int
    /// UTC, ISO 8601.
    public var at: String
    public var runID: String
    public var environment: String
    public var action: RunAction
    public var revision: String?
    public var outcome: EventOutcome
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
    var action: RunAction
    var revision: String?
    var outcome: EventOutcome
    var message: String?
    var durationMilliseconds: Int?
}
