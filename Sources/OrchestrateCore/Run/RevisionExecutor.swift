import Foundation
import Migrations
import Postgres

/// Runs revisions on a locked session and keeps the ledger in step with what ran.
///
/// A transactional revision runs with its ledger row and event in one transaction: it is recorded if and only if it
/// ran. A non-transactional one runs statement by statement in autocommit, its row marked `running` before the first
/// statement and `applied` after the last, so a crash in between leaves "interrupted at statement k of n".
struct RevisionExecutor {
    let session: EnvironmentSession
    let action: String

    var environment: EnvironmentConfig { session.environment }

    /// Applies `file`, recording it (with `promotedFrom` for a promote). Returns the duration in milliseconds.
    @discardableResult
    func apply(_ file: MigrationFile, promotedFrom: String?) throws(OrchestrateError) -> Int {
        session.progress(.revisionStarted(environment: environment.name, revision: file.revision, direction: "up"))
        let started = DispatchTime.now()
        if file.transactional {
            try withLockRetries(revision: file.revision) { () throws(OrchestrateError) in
                try runTransactional(file: file, sql: file.up, sqlStartLine: file.upStartLine, direction: "up") {
                    () throws(PostgresError) in try insertRow(file, promotedFrom: promotedFrom, state: .applied, statements: nil,
                                                               durationMilliseconds: elapsed(since: started))
                }
            }
        } else {
            try runStatements(file: file, sql: file.up, sqlStartLine: file.upStartLine, direction: "up",
                              begin: { (count: Int) throws(PostgresError) in
                                  try insertRow(file, promotedFrom: promotedFrom, state: .running, statements: count,
                                                durationMilliseconds: nil)
                              },
                              finish: { () throws(PostgresError) in
                                  try session.work.query(
                                      "UPDATE \(session.ledger.table("revisions")) SET state = 'applied', duration_ms = $2::bigint, applied_at = clock_timestamp() WHERE revision = $1",
                                      [file.revision, String(elapsed(since: started))])
                              })
        }
        let milliseconds = elapsed(since: started)
        session.progress(.revisionFinished(environment: environment.name, revision: file.revision, direction: "up",
                                           milliseconds: milliseconds))
        return milliseconds
    }

    /// Reverts `revision` with the down SQL recorded in the ledger, removing its row.
    @discardableResult
    func revert(_ applied: AppliedRevision, down: String, displayPath: String) throws(OrchestrateError) -> Int {
        session.progress(.revisionStarted(environment: environment.name, revision: applied.revision, direction: "down"))
        let started = DispatchTime.now()
        let pseudoFile = LedgerSQL(revision: applied.revision, path: displayPath)
        let delete = { () throws(PostgresError) in
            try session.work.query("DELETE FROM \(session.ledger.table("revisions")) WHERE revision = $1", [applied.revision])
            let event = session.ledger.eventInsert(NewEvent(run: session.run, action: action, revision: applied.revision,
                                                            outcome: "reverted", message: nil,
                                                            durationMilliseconds: elapsed(since: started)))
            try session.work.query(event.sql, event.parameters)
        }
        if applied.transactional {
            try withLockRetries(revision: applied.revision) { () throws(OrchestrateError) in
                try runTransactional(file: pseudoFile, sql: down, sqlStartLine: 1, direction: "down", record: delete)
            }
        } else {
            try runStatements(file: pseudoFile, sql: down, sqlStartLine: 1, direction: "down",
                              begin: { (count: Int) throws(PostgresError) in
                                  try session.work.query(
                                      "UPDATE \(session.ledger.table("revisions")) SET state = 'reverting', statements_total = $2::integer, statements_done = 0 WHERE revision = $1",
                                      [applied.revision, String(count)])
                              },
                              finish: delete)
        }
        let milliseconds = elapsed(since: started)
        session.progress(.revisionFinished(environment: environment.name, revision: applied.revision, direction: "down",
                                           milliseconds: milliseconds))
        return milliseconds
    }

    // MARK: - Transactional

    private func runTransactional(file: some SQLSource, sql: String, sqlStartLine: Int, direction: String,
                                  record: () throws(PostgresError) -> Void) throws(OrchestrateError) {
        let work = session.work
        do {
            try work.execute("BEGIN")
        } catch {
            throw failure(file: file, direction: direction, error: error, sql: nil, sqlStartLine: sqlStartLine)
        }
        do {
            try work.execute(sql)
        } catch {
            rollback()
            throw failure(file: file, direction: direction, error: error, sql: sql, sqlStartLine: sqlStartLine)
        }
        guard work.transactionStatus == .inTransaction else {
            // The script ended our transaction itself (COMMIT/ROLLBACK inside the file): its effects may be committed
            // without a ledger row. Say so loudly; nothing more can be made atomic here.
            session.recordQuietly(action: action, revision: file.revision, outcome: "failed",
                                  message: "the \(direction) SQL ended the transaction itself")
            throw .operation(
                "\(file.path): revision \(file.revision) ended its own transaction (COMMIT or ROLLBACK in the \(direction) section); what it ran before that may be committed and is NOT recorded",
                hint: "remove transaction control from the file, or mark it `-- transaction: false`; then check the database and use `orchestrate repair`")
        }
        do {
            try record()
            try work.execute("COMMIT")
        } catch {
            rollback()
            throw failure(file: file, direction: direction, error: error, sql: nil, sqlStartLine: sqlStartLine)
        }
    }

    private func rollback() {
        if session.work.isOpen, session.work.transactionStatus != .idle {
            _ = try? session.work.execute("ROLLBACK")
        }
    }

    /// Retries `body` after a `lock_timeout` (55P03), with backoff, up to `ddl_lock_retries` times.
    private func withLockRetries(revision: String, _ body: () throws(OrchestrateError) -> Void) throws(OrchestrateError) {
        var attempt = 0
        var delay = 0.5
        while true {
            do {
                try body()
                return
            } catch let error {
                guard error.isLockTimeout, attempt < environment.ddlLockRetries else { throw error }
                attempt += 1
                session.progress(.retrying(environment: environment.name, revision: revision, attempt: attempt,
                                           of: environment.ddlLockRetries,
                                           reason: "lock_timeout (\(environment.ddlLockTimeout)) waiting for a table lock"))
                Thread.sleep(forTimeInterval: delay)
                delay = min(delay * 2, 10)
            }
        }
    }

    // MARK: - Statement by statement

    private func runStatements(file: some SQLSource, sql: String, sqlStartLine: Int, direction: String,
                               begin: (Int) throws(PostgresError) -> Void,
                               finish: () throws(PostgresError) -> Void) throws(OrchestrateError) {
        let statements = SQLSplitter.split(sql)
        let work = session.work
        let table = session.ledger.table("revisions")
        do {
            try begin(statements.count)
        } catch {
            throw failure(file: file, direction: direction, error: error, sql: nil, sqlStartLine: sqlStartLine)
        }
        for (index, statement) in statements.enumerated() {
            do {
                try work.execute(statement.text)
                try work.query("UPDATE \(table) SET statements_done = $2::integer WHERE revision = $1",
                               [file.revision, String(index + 1)])
            } catch {
                var message = failure(file: file, direction: direction, error: error, sql: statement.text,
                                      sqlStartLine: sqlStartLine + statement.line - 1,
                                      statement: (index + 1, statements.count))
                if let invalid = invalidIndexes(mentionedIn: statement.text), !invalid.isEmpty {
                    message.message += "\nit left INVALID index(es) behind: \(invalid.joined(separator: ", ")) — drop them (DROP INDEX CONCURRENTLY) before retrying"
                }
                message.hint = "statements 1 to \(index) of \(statements.count) are committed; fix the cause, then `orchestrate repair \(environment.name) \(file.revision) --applied|--reverted --reason TEXT` once the database matches one of them"
                throw message
            }
        }
        do {
            try finish()
        } catch {
            throw failure(file: file, direction: direction, error: error, sql: nil, sqlStartLine: sqlStartLine)
        }
    }

    /// Invalid indexes (`pg_index.indisvalid = false`) whose names the failing statement mentions.
    private func invalidIndexes(mentionedIn statement: String) -> [String]? {
        guard let result = try? session.work.query(
            "SELECT indexrelid::regclass::text, c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid")
        else { return nil }
        let text = statement.lowercased()
        return result.rows.compactMap { row in
            guard let qualified = row[0], let name = row[1], text.contains(name.lowercased()) else { return nil }
            return qualified
        }
    }

    // MARK: - Errors

    /// The error for a failed revision, with PostgreSQL's message, the file position and the SQLSTATE; the failure is
    /// also written to the event log (after the rollback, on the lock connection).
    private func failure(file: some SQLSource, direction: String, error: PostgresError, sql: String?, sqlStartLine: Int,
                         statement: (Int, Int)? = nil) -> OrchestrateError {
        var location = file.path
        if let sql, let position = error.position {
            let (line, column) = SourceLocation.lineAndColumn(ofCharacterPosition: position, in: sql)
            location += ":\(sqlStartLine + line - 1):\(column)"
        } else if statement != nil {
            location += ":\(sqlStartLine)"
        }
        var text = "revision \(file.revision) failed (\(direction)) at \(location): \(error.message)"
        if let state = error.sqlState { text += " [SQLSTATE \(state.rawValue)]" }
        if let statement { text += "\nin statement \(statement.0) of \(statement.1) (non-transactional revision)" }
        if let detail = error.detail { text += "\nDETAIL: \(detail)" }
        if let context = error.context, !context.isEmpty { text += "\nCONTEXT: \(context)" }
        if error.kind == .connectionLost {
            text += "\nthe connection to the database was lost"
        }
        session.recordQuietly(action: action, revision: file.revision, outcome: "failed",
                              message: String(text.prefix(2000)))
        var result = OrchestrateError.operation(
            text, hint: error.hint ?? (statement == nil ? "the revision was rolled back: nothing of it remains" : nil))
        result.isLockTimeout = error.sqlState == .lockNotAvailable && statement == nil
        return result
    }

    private func insertRow(_ file: MigrationFile, promotedFrom: String?, state: AppliedRevision.State, statements: Int?,
                           durationMilliseconds: Int?) throws(PostgresError) {
        let run = session.run
        try session.work.query("""
            WITH inserted AS (
                INSERT INTO \(session.ledger.table("revisions")) (revision, parents, checksum, up_sql, down_sql,
                    transactional, state, statements_total, statements_done, environment, os_user, host, git_commit,
                    git_branch, git_dirty, duration_ms, promoted_from)
                VALUES ($1, $2::text[], $3, $4, $5, $6::boolean, $7, $8::integer, CASE WHEN $8 IS NULL THEN NULL ELSE 0 END,
                    $9, $10, $11, $12, $13, $14::boolean, $15::bigint, $16)
                RETURNING revision
            )
            INSERT INTO \(session.ledger.table("events")) (run_id, environment, action, revision, outcome, os_user, host,
                command, git_commit, git_branch, duration_ms, lock_pid)
            SELECT $17, $9, $18, revision, $19, $10, $11, $20, $12, $13, $15::bigint, $21::integer FROM inserted
            """,
            [file.revision, Ledger.arrayLiteral(file.parents), file.checksum, file.up, file.down,
             file.transactional ? "true" : "false", state.rawValue, statements.map(String.init), environment.name,
             run.actor.osUser, run.actor.host, run.git?.commit, run.git?.branch, run.git.map { $0.isDirty ? "true" : "false" },
             durationMilliseconds.map(String.init), promotedFrom, run.id, action,
             state == .applied ? "applied" : "started", run.command, run.lockPID.map(String.init)])
    }
}

/// What the executor needs to name a revision in errors.
protocol SQLSource {
    var revision: String { get }
    var path: String { get }
}

extension MigrationFile: SQLSource {}

/// A revision known only from the ledger (its down SQL), for errors during a downgrade.
struct LedgerSQL: SQLSource {
    var revision: String
    var path: String
}

func elapsed(since start: DispatchTime) -> Int {
    Int((DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1_000_000)
}
