import Foundation
import Migrations
import Postgres

/// Runs revisions on a locked session and keeps the ledger in step with what ran.
///
/// What each revision sends comes from `RevisionSteps` (shared with `plan --sql`). A transactional revision runs with
/// its ledger row and event in one transaction: it is recorded if and only if it ran. A non-transactional one runs
/// statement by statement in autocommit, its row marked `running` before the first statement and `applied` after the
/// last, so a crash in between leaves "interrupted at statement k of n". Inside `batch` (a single-transaction run)
/// revisions open no transaction of their own and the whole batch is retried as one.
struct RevisionExecutor {
    let session: EnvironmentSession
    let action: String
    /// True inside `batch`: the revisions share the batch's transaction.
    private(set) var insideBatch = false

    init(session: EnvironmentSession, action: String) {
        self.session = session
        self.action = action
    }

    var environment: EnvironmentConfig { session.environment }

    /// Applies `file`, recording it (with `promotedFrom` for a promote). Returns the duration in milliseconds.
    @discardableResult
    func apply(_ file: MigrationFile, promotedFrom: String?) throws(OrchestrateError) -> Int {
        session.progress(.revisionStarted(environment: environment.name, revision: file.revision, direction: "up"))
        let started = DispatchTime.now()
        let steps = RevisionSteps.apply(file, promotedFrom: promotedFrom, ownTransaction: !insideBatch)
        let source = SQLSource(revision: file.revision, path: file.path)
        if file.transactional && !insideBatch {
            try withLockRetries(revision: file.revision) { () throws(OrchestrateError) in
                try perform(steps, source: source, direction: "up", started: started)
            }
        } else {
            try perform(steps, source: source, direction: "up", started: started)
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
        let steps = RevisionSteps.revert(revision: applied.revision, down: down, transactional: applied.transactional,
                                         ownTransaction: !insideBatch)
        let source = SQLSource(revision: applied.revision, path: displayPath)
        if applied.transactional && !insideBatch {
            try withLockRetries(revision: applied.revision) { () throws(OrchestrateError) in
                try perform(steps, source: source, direction: "down", started: started)
            }
        } else {
            try perform(steps, source: source, direction: "down", started: started)
        }
        let milliseconds = elapsed(since: started)
        session.progress(.revisionFinished(environment: environment.name, revision: applied.revision, direction: "down",
                                           milliseconds: milliseconds))
        return milliseconds
    }

    /// Runs `body` in one transaction (every revision of a single-transaction run): all of them land or none. A lock
    /// timeout retries the whole batch; any other failure rolls all of it back.
    func batch<T>(count: Int, _ body: (RevisionExecutor) throws(OrchestrateError) -> T) throws(OrchestrateError) -> T {
        var inner = self
        inner.insideBatch = true
        var result: T?
        let source = SQLSource(revision: "(single transaction)", path: environment.path)
        try withLockRetries(revision: "the single transaction of \(count) revision(s)") { () throws(OrchestrateError) in
            try checkInterrupt(source: source, direction: action, statement: nil)
            let work = try session.work()
            do throws(PostgresError) {
                try work.execute("BEGIN")
            } catch {
                throw failure(source: source, direction: action, error: error, sql: nil, sqlStartLine: 1)
            }
            do throws(OrchestrateError) {
                result = try body(inner)
            } catch var error {
                rollback()
                if error.category != .interrupted {
                    error.hint = "the single transaction was rolled back: none of the \(count) revision(s) were applied"
                }
                throw error
            }
            do throws(PostgresError) {
                try work.execute("COMMIT")
            } catch {
                rollback()
                throw failure(source: source, direction: action, error: error, sql: nil, sqlStartLine: 1)
            }
        }
        guard let result else { throw .operation("the single transaction produced no result") }
        return result
    }

    // MARK: - Steps

    /// Sends `steps` in order on the work connection, turning every failure into an error that names the file, line
    /// and statement, after rolling back what is still open.
    ///
    /// A transactional revision takes two round trips, not four: `BEGIN` travels in one text with the section, and the
    /// ledger write (its values inlined as literals) with `COMMIT`. On a remote database that halves the time spent
    /// waiting on the network per revision.
    private func perform(_ steps: [RunStep], source: SQLSource, direction: String,
                         started: DispatchTime) throws(OrchestrateError) {
        let work = try session.work()
        // For a non-transactional revision: the statement running, and how many there are.
        var progress: (Int, Int)?
        var index = steps.startIndex
        while index < steps.endIndex {
            let step = steps[index]
            let next = index + 1 < steps.endIndex ? steps[index + 1] : nil
            index += 1
            switch step {
            case .begin:
                try checkInterrupt(source: source, direction: direction, statement: nil)
                if case .section(let sql, let startLine) = next {
                    index += 1
                    try runSection(sql, startLine: startLine, prefix: "BEGIN; ", on: work, source: source, direction: direction)
                    continue
                }
                do {
                    try work.execute("BEGIN")
                } catch {
                    throw failure(source: source, direction: direction, error: error, sql: nil, sqlStartLine: 1)
                }
            case .commit:
                do {
                    try work.execute("COMMIT")
                } catch {
                    rollback()
                    throw failure(source: source, direction: direction, error: error, sql: nil, sqlStartLine: 1)
                }
            case .section(let sql, let startLine):
                try checkInterrupt(source: source, direction: direction, statement: nil)
                try runSection(sql, startLine: startLine, prefix: "", on: work, source: source, direction: direction)
            case .statement(let statement, let index, let total, let startLine):
                progress = (index, total)
                try checkInterrupt(source: source, direction: direction, statement: progress)
                do {
                    try work.execute(statement.text)
                } catch {
                    var message = failure(source: source, direction: direction, error: error, sql: statement.text,
                                          sqlStartLine: startLine + statement.line - 1, statement: progress)
                    if let invalid = invalidIndexes(mentionedIn: statement.text), !invalid.isEmpty {
                        message.message += "\nit left INVALID index(es) behind: \(invalid.joined(separator: ", ")) — drop them (DROP INDEX CONCURRENTLY) before retrying"
                    }
                    throw message
                }
            case .ledger(let write):
                let commands = session.ledger.commands(for: write, run: session.run, action: action,
                                                       durationMilliseconds: elapsed(since: started))
                do {
                    if case .commit = next {
                        index += 1
                        var text = ""
                        for command in commands {
                            text += try command.inlined(quote: work.quoteLiteral) + ";\n"
                        }
                        try work.execute(text + "COMMIT")
                    } else {
                        for command in commands {
                            try work.query(command.sql, command.parameters)
                        }
                    }
                } catch {
                    rollback()
                    throw failure(source: source, direction: direction, error: error, sql: nil, sqlStartLine: 1,
                                  statement: progress)
                }
            }
        }
    }

    /// Runs a transactional section as one text, after `prefix` (`BEGIN; ` when the transaction opens with it), and
    /// refuses a section that ended the transaction itself.
    private func runSection(_ sql: String, startLine: Int, prefix: String, on work: Connection, source: SQLSource,
                            direction: String) throws(OrchestrateError) {
        do {
            try work.execute(prefix + sql)
        } catch var error {
            rollback()
            // The server counts the position from the start of the text sent; the file's section starts after the prefix.
            if let position = error.position { error.position = max(1, position - prefix.count) }
            throw failure(source: source, direction: direction, error: error, sql: sql, sqlStartLine: startLine)
        }
        guard work.transactionStatus == .inTransaction else {
            // The script ended our transaction itself (COMMIT/ROLLBACK inside the file): its effects may be
            // committed without a ledger row. Say so loudly; nothing more can be made atomic here.
            session.recordQuietly(action: action, revision: source.revision, outcome: "failed",
                                  message: "the \(direction) SQL ended the transaction itself")
            throw .operation(
                "\(source.path): revision \(source.revision) ended its own transaction (COMMIT or ROLLBACK in the \(direction) section); what it ran before that may be committed and is NOT recorded",
                hint: "remove transaction control from the file, or mark it `-- transaction: false`; then check the database and use `orchestrate repair`")
        }
    }

    /// Stops before the next step once a signal arrived: rolls back what is open and records the interruption.
    private func checkInterrupt(source: SQLSource, direction: String, statement: (Int, Int)?) throws(OrchestrateError) {
        guard let signal = Interruption.signal else { return }
        rollback()
        throw interrupted(source: source, direction: direction, signal: signal, statement: statement, location: source.path)
    }

    private func interrupted(source: SQLSource, direction: String, signal: Int32, statement: (Int, Int)?,
                             location: String) -> OrchestrateError {
        var text = "interrupted by \(Interruption.signalName(signal)) while running revision \(source.revision) (\(direction)) at \(location)"
        let hint: String
        if let (index, total) = statement {
            text += ", statement \(index) of \(total) (non-transactional revision)"
            hint = "statements 1 to \(index - 1) of \(total) are committed and the revision is marked interrupted; check the database, then `orchestrate repair \(environment.name) \(source.revision) --applied|--reverted --reason TEXT`"
        } else {
            text += "; it was rolled back: nothing of it remains"
            hint = "rerun the command when you are ready"
        }
        session.recordQuietly(action: action, revision: source.revision, outcome: "interrupted", message: text)
        return .interrupted(signal: signal, text, hint: hint)
    }

    private func rollback() {
        if let work = session.openedWork, work.isOpen, work.transactionStatus != .idle {
            _ = try? work.execute("ROLLBACK")
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
                                           reason: "lock_timeout (ddl_lock_timeout = \(environment.ddlLockTimeout)) waiting for a table lock"))
                let deadline = Date().addingTimeInterval(delay)
                while Date() < deadline, Interruption.signal == nil {
                    Thread.sleep(forTimeInterval: min(0.05, max(0, deadline.timeIntervalSinceNow)))
                }
                delay = min(delay * 2, 10)
            }
        }
    }

    /// Invalid indexes (`pg_index.indisvalid = false`) whose names the failing statement mentions.
    private func invalidIndexes(mentionedIn statement: String) -> [String]? {
        guard let result = try? session.openedWork?.query(
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
    private func failure(source: SQLSource, direction: String, error: PostgresError, sql: String?, sqlStartLine: Int,
                         statement: (Int, Int)? = nil) -> OrchestrateError {
        var location = source.path
        if let sql, let position = error.position {
            let (line, column) = SourceLocation.lineAndColumn(ofCharacterPosition: position, in: sql)
            location += ":\(sqlStartLine + line - 1):\(column)"
        } else if sql != nil {
            location += ":\(sqlStartLine)"
        }
        if let signal = Interruption.signal, error.sqlState == .queryCanceled || error.kind == .connectionLost {
            return interrupted(source: source, direction: direction, signal: signal, statement: statement, location: location)
        }
        var text = "revision \(source.revision) failed (\(direction)) at \(location): \(error.message)"
        if let state = error.sqlState { text += " [SQLSTATE \(state.rawValue)]" }
        if let statement { text += "\nin statement \(statement.0) of \(statement.1) (non-transactional revision)" }
        if let detail = error.detail { text += "\nDETAIL: \(detail)" }
        if let context = error.context, !context.isEmpty { text += "\nCONTEXT: \(context)" }
        if error.kind == .connectionLost {
            text += "\nthe connection to the database was lost"
        }
        session.recordQuietly(action: action, revision: source.revision, outcome: "failed",
                              message: String(text.prefix(2000)))
        var hint = error.hint
        if let (index, total) = statement {
            hint = "statements 1 to \(index - 1) of \(total) are committed; fix the cause, then `orchestrate repair \(environment.name) \(source.revision) --applied|--reverted --reason TEXT` once the database matches one of them"
        } else if error.sqlState == .queryCanceled {
            hint = "statement_timeout = \(environment.statementTimeout) in \(environment.path) stopped it (not retried); the revision was rolled back: raise the timeout or make the revision faster"
        } else if error.sqlState == .lockNotAvailable {
            hint = "another session held a lock the revision needed for longer than ddl_lock_timeout = \(environment.ddlLockTimeout) (retried \(environment.ddlLockRetries) time(s)); the revision was rolled back: find the blocker in pg_stat_activity, or raise ddl_lock_timeout / ddl_lock_retries in \(environment.path)"
        } else if hint == nil {
            hint = error.kind == .connectionLost
                ? "an open transaction is rolled back by the server when its connection goes, so nothing of the revision remains, unless the connection went with its COMMIT in flight: then the revision and its ledger row were committed together (one transaction), and `orchestrate status \(environment.name)` tells which; rerun when the database is reachable"
                : "the revision was rolled back: nothing of it remains"
        }
        var result = OrchestrateError.operation(text, hint: hint)
        result.isLockTimeout = error.sqlState == .lockNotAvailable && statement == nil
        return result
    }
}

/// The revision a step belongs to, as errors name it: a migration file, or the ledger's copy of its down SQL.
struct SQLSource {
    var revision: String
    var path: String
}

func elapsed(since start: DispatchTime) -> Int {
    Int((DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1_000_000)
}
