import Migrations
import Postgres

/// The ledger's `revisions` table: one row per applied revision (DESIGN §5), its columns, reads and writes.
enum RevisionsTable {
    static let revision = LedgerColumn("revision", "text PRIMARY KEY")
    static let parents = LedgerColumn("parents", "text[] NOT NULL")
    static let checksum = LedgerColumn("checksum", "text NOT NULL")
    static let upSQL = LedgerColumn("up_sql", "text NOT NULL")
    static let downSQL = LedgerColumn("down_sql", "text")
    static let transactional = LedgerColumn("transactional", "boolean NOT NULL")
    static let state = LedgerColumn("state", "text NOT NULL CHECK (state IN ('applied', 'running', 'reverting'))")
    static let statementsTotal = LedgerColumn("statements_total", "integer")
    static let statementsDone = LedgerColumn("statements_done", "integer")
    static let environment = LedgerColumn("environment", "text NOT NULL")
    static let appliedAt = LedgerColumn("applied_at", "timestamptz NOT NULL DEFAULT clock_timestamp()")
    static let databaseUser = LedgerColumn("db_user", "text NOT NULL DEFAULT current_user")
    static let osUser = LedgerColumn("os_user", "text")
    static let host = LedgerColumn("host", "text")
    static let gitCommit = LedgerColumn("git_commit", "text")
    static let gitBranch = LedgerColumn("git_branch", "text")
    static let gitDirty = LedgerColumn("git_dirty", "boolean")
    static let duration = LedgerColumn("duration_ms", "bigint")
    static let promotedFrom = LedgerColumn("promoted_from", "text")
    /// True for a revision recorded by `baseline`: another tool (or a person) ran it, orchestrate did not.
    static let baselined = LedgerColumn("baselined", "boolean NOT NULL DEFAULT false", since: 3)

    static let table = LedgerTable(
        "revisions",
        [
            revision, parents, checksum, upSQL, downSQL, transactional, state, statementsTotal, statementsDone,
            environment,
            appliedAt, databaseUser, osUser, host, gitCommit, gitBranch, gitDirty, duration, promotedFrom,
            baselined,
        ])

    /// A revision row's values that come from its file, in column order (with the row's state).
    static func fileValues(_ file: MigrationFile, state: AppliedRevision.State) -> [(LedgerColumn, SQLValue)] {
        [
            (revision, .bound(.text(file.revision))), (parents, .bound(.textArray(file.parents))),
            (checksum, .bound(.text(file.checksum))), (upSQL, .bound(.text(file.up))),
            (downSQL, .bound(.text(file.down))),
            (transactional, .bound(.boolean(file.transactional))), (self.state, .bound(.text(state.rawValue))),
        ]
    }

    /// A revision row's values that come from the run that writes it: where, who, and from which commit.
    static func runValues(_ run: RunContext) -> [(LedgerColumn, SQLValue)] {
        [
            (environment, .bound(.text(run.environment))), (osUser, .bound(.text(run.actor.osUser))),
            (host, .bound(.text(run.actor.host))), (gitCommit, .bound(.text(run.git?.commit))),
            (gitBranch, .bound(.text(run.git?.branch))), (gitDirty, .bound(.boolean(run.git?.isDirty))),
        ]
    }

    /// A row read by `Ledger.appliedRevisions` (every column but the SQL texts, and whether a down section exists).
    static func decode(_ row: QueryResult.Record) -> AppliedRevision {
        AppliedRevision(
            revision: row[revision.name] ?? "",
            parents: splitParents(row[parents.name]),
            checksum: row[checksum.name] ?? "",
            transactional: row.boolean(transactional.name) ?? false,
            state: AppliedRevision.State(rawValue: row[state.name] ?? "") ?? .applied,
            statementsDone: row.integer(statementsDone.name),
            statementsTotal: row.integer(statementsTotal.name),
            appliedAt: row[appliedAt.name] ?? "",
            databaseUser: row[databaseUser.name] ?? "",
            osUser: row[osUser.name],
            host: row[host.name],
            gitCommit: row[gitCommit.name],
            gitBranch: row[gitBranch.name],
            gitDirty: row.boolean(gitDirty.name),
            durationMilliseconds: row.integer(duration.name),
            promotedFrom: row[promotedFrom.name],
            baselined: row.boolean(baselined.name) ?? false,
            isReversible: row.boolean("reversible") ?? false)
    }

    /// The parents of `array_to_string(parents, ',')`: revision ids, which hold no comma (split on the UTF-8 bytes,
    /// which for thousands of rows is much cheaper than splitting the String).
    static func splitParents(_ joined: String?) -> [String] {
        guard let joined, !joined.isEmpty else { return [] }
        return joined.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: true).compactMap {
            String($0)
        }
    }
}

extension Ledger {
    // MARK: - Reading revisions

    /// Every revision row, without the SQL texts (see `sql(of:)`), in application order. A ledger of an older layout
    /// (read by a reading command, which does not upgrade it) is read without the columns it does not have yet.
    ///
    /// `knownVersion` is the ledger's layout version when the caller knows it (a session that just ensured the
    /// ledger: the current one); otherwise it is read first.
    func appliedRevisions(knownVersion: Int? = nil) throws(PostgresError) -> [AppliedRevision] {
        let columns = RevisionsTable.self
        var installed = Ledger.currentVersion
        if let knownVersion { installed = knownVersion } else if let read = try installedVersion() { installed = read }
        let newer = Set(columns.table.columns.filter { $0.since > installed })
        let result = try connection.query(
            """
            SELECT \(columns.table.selectList(omitting: newer.union([columns.upSQL, columns.downSQL]))), down_sql IS NOT NULL AS reversible
            FROM \(table(columns.table)) ORDER BY applied_at, revision
            """)
        return result.records.map(RevisionsTable.decode)
    }

    /// The up and down SQL recorded for `revisions`.
    func sql(of revisions: [String]) throws(PostgresError) -> [String: (up: String, down: String?)] {
        guard !revisions.isEmpty else { return [:] }
        let result = try connection.query(
            "SELECT revision, up_sql, down_sql FROM \(table(RevisionsTable.table)) WHERE revision = ANY($1::text[])",
            [.textArray(revisions)])
        var output: [String: (up: String, down: String?)] = [:]
        for row in result.records { output[row["revision"] ?? ""] = (row["up_sql"] ?? "", row["down_sql"]) }
        return output
    }

    // MARK: - Writing revisions

    /// The statements that perform `write` for `run`; `durationMilliseconds` is nil in a script.
    func commands(
        for write: LedgerWrite, run: RunContext, action: RunAction, durationMilliseconds: Int?
    ) -> [SQLCommand] {
        let columns = RevisionsTable.self
        let revisions = RevisionsTable.table
        switch write {
        case .insert(let file, let promotedFrom, let state, let statements):
            // The row and its event in one statement: atomic even in autocommit (a non-transactional revision).
            let event = NewEvent(
                run: run, action: action, revision: file.revision,
                outcome: state == .applied ? .applied : .started,
                durationMilliseconds: state == .applied ? durationMilliseconds : nil)
            let row =
                RevisionsTable.fileValues(file, state: state)
                + [
                    (columns.statementsTotal, .bound(.integer(statements))),
                    (columns.statementsDone, .bound(.integer(statements.map { _ in 0 }))),
                ]
                + RevisionsTable.runValues(run)
                + [
                    (columns.duration, .bound(.integer(state == .applied ? durationMilliseconds : nil))),
                    (columns.promotedFrom, .bound(.text(promotedFrom))),
                ]
            let eventRow = EventsTable.values(event, revision: .expression(columns.revision.name))
            return [
                SQLCommand.cached(
                    "revision and event insert into \(quoted)", parameters: (row + eventRow).compactMap(\.1.parameter)
                ) { builder in
                    let insert = revisions.insert(schema: quoted, row, builder: &builder)
                    let eventInsert = EventsTable.table.insert(
                        schema: quoted, eventRow, from: "inserted", builder: &builder)
                    return "WITH inserted AS (\n    \(insert)\n    RETURNING revision\n)\n\(eventInsert)"
                }
            ]
        case .statementsDone(let revision, let done):
            return [
                SQLCommand.build { builder in
                    revisions.update(
                        schema: quoted, set: [(columns.statementsDone, .bound(.integer(done)))],
                        where: columns.revision, equals: .text(revision), builder: &builder)
                }
            ]
        case .markApplied(let revision):
            let update = SQLCommand.build { builder in
                revisions.update(
                    schema: quoted,
                    set: [
                        (columns.state, .bound(.text(AppliedRevision.State.applied.rawValue))),
                        (columns.duration, .bound(.integer(durationMilliseconds))),
                        (columns.appliedAt, .expression("clock_timestamp()")),
                    ], where: columns.revision, equals: .text(revision), builder: &builder)
            }
            return [
                update,
                eventInsert(
                    NewEvent(
                        run: run, action: action, revision: revision, outcome: .applied,
                        durationMilliseconds: durationMilliseconds)),
            ]
        case .markReverting(let revision, let statements):
            return [
                SQLCommand.build { builder in
                    revisions.update(
                        schema: quoted,
                        set: [
                            (columns.state, .bound(.text(AppliedRevision.State.reverting.rawValue))),
                            (columns.statementsTotal, .bound(.integer(statements))),
                            (columns.statementsDone, .bound(0)),
                        ], where: columns.revision, equals: .text(revision), builder: &builder)
                }
            ]
        case .delete(let revision):
            return [
                deleteRevision(revision),
                eventInsert(
                    NewEvent(
                        run: run, action: action, revision: revision, outcome: .reverted,
                        durationMilliseconds: durationMilliseconds)),
            ]
        }
    }

    /// Records `file`'s checksum, SQL and transaction mode for its revision (`repair` accepting an edited file).
    func acceptFile(_ file: MigrationFile) -> SQLCommand {
        let columns = RevisionsTable.self
        return SQLCommand.build { builder in
            RevisionsTable.table.update(
                schema: quoted,
                set: [
                    (columns.checksum, .bound(.text(file.checksum))), (columns.upSQL, .bound(.text(file.up))),
                    (columns.downSQL, .bound(.text(file.down))),
                    (columns.transactional, .bound(.boolean(file.transactional))),
                ], where: columns.revision, equals: .text(file.revision), builder: &builder)
        }
    }

    /// Marks an interrupted revision applied, all of its `statements` done (`repair --applied`).
    func settleApplied(_ revision: String, statements: Int) -> SQLCommand {
        let columns = RevisionsTable.self
        return SQLCommand.build { builder in
            RevisionsTable.table.update(
                schema: quoted,
                set: [
                    (columns.state, .bound(.text(AppliedRevision.State.applied.rawValue))),
                    (columns.statementsTotal, .bound(.integer(statements))),
                    (columns.statementsDone, .bound(.integer(statements))),
                ], where: columns.revision, equals: .text(revision), builder: &builder)
        }
    }

    /// Records `file` as applied without running it (`baseline`): its row, with `baselined` set, no duration and no
    /// event of its own (the run's one `baseline` event names them all).
    func baselineRow(_ file: MigrationFile, run: RunContext) -> SQLCommand {
        let columns = RevisionsTable.self
        return SQLCommand.build { builder in
            RevisionsTable.table.insert(
                schema: quoted,
                RevisionsTable.fileValues(file, state: .applied) + RevisionsTable.runValues(run)
                    + [(columns.baselined, .bound(.boolean(true)))], builder: &builder)
        }
    }

    /// Removes a revision's row.
    func deleteRevision(_ revision: String) -> SQLCommand {
        return SQLCommand.build { builder in
            "DELETE FROM \(table(RevisionsTable.table)) WHERE \(RevisionsTable.revision.name) = \(builder.bind(.text(revision)))"
        }
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
    /// Whether `baseline` recorded it (it was applied by another tool or by hand, not run by orchestrate).
    public var baselined: Bool = false
    /// Whether a down section was recorded.
    public var isReversible: Bool
}
