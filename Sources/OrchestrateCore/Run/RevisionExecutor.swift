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
    let action: RunAction
    /// True inside `batch`: the revisions share the batch's transaction.
    private(set) var insideBatch = false

    init(session: EnvironmentSession, action: RunAction) {
        self.session = session
        self.action = action
    }

    var environment: EnvironmentConfig { session.environment }

    /// Applies `file`, recording it (with `promotedFrom` for a promote). Returns the duration in milliseconds.
    @discardableResult
    func apply(_ file: MigrationFile, promotedFrom: String?) throws(OrchestrateError) -> Int {
        try run(
            RevisionSteps.apply(file, promotedFrom: promotedFrom, ownTransaction: !insideBatch),
            source: SQLSource(revision: file.revision, path: file.path), transactional: file.transactional,
            direction: .up)
    }

    /// Reverts `revision` with the down SQL recorded in the ledger, removing its row.
    @discardableResult
    func revert(_ applied: AppliedRevision, down: String, displayPath: String) throws(OrchestrateError) -> Int {
        try run(
            RevisionSteps.revert(
                revision: applied.revision, down: down, transactional: applied.transactional,
                ownTransaction: !insideBatch),
            source: SQLSource(revision: applied.revision, path: displayPath), transactional: applied.transactional,
            direction: .down)
    }

    /// Runs one revision's steps, retrying a transactional one after a lock timeout, with its progress events.
    private func run(
        _ steps: [RunStep], source: SQLSource, transactional: Bool, direction: Plan.Direction
    ) throws(OrchestrateError) -> Int {
        session.progress(
            .revisionStarted(environment: environment.name, revision: source.revision, direction: direction))
        let started = DispatchTime.now()
        if transactional && !insideBatch {
            try withLockRetries(revision: source.revision) { () throws(OrchestrateError) in
                try perform(steps, source: source, direction: direction.rawValue, started: started)
            }
        } else {
            try perform(steps, source: source, direction: direction.rawValue, started: started)
        }
        let milliseconds = elapsed(since: started)
        session.progress(
            .revisionFinished(
                environment: environment.name, revision: source.revision, direction: direction,
                milliseconds: milliseconds, committed: !insideBatch))
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
            try checkInterrupt(source: source, direction: action.rawValue, progress: nil)
            let work = try session.work()
            do throws(PostgresError) {
                try work.execute("BEGIN")
            } catch {
                throw failure(source: source, direction: action.rawValue, error: error, sql: nil, sqlStartLine: 1)
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
            try checkLock(source: source, direction: action.rawValue, progress: nil)
            do throws(PostgresError) {
                try work.execute("COMMIT")
            } catch {
                rollback()
                var failed = failure(
                    source: source, direction: action.rawValue, error: error, sql: nil, sqlStartLine: 1)
                failed.hint =
                    "the single transaction was rolled back at COMMIT: none of the \(count) revision(s) were applied"
                throw failed
            }
            session.progress(.transactionCommitted(environment: environment.name, count: count))
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
    private func perform(
        _ steps: [RunStep], source: SQLSource, direction: String,
        started: DispatchTime
    ) throws(OrchestrateError) {
        let work = try session.work()
        // For a non-transactional revision: the statement running (or last run), and how many are committed.
        var progress: StatementProgress?
        var index = steps.startIndex
        while index < steps.endIndex {
            let step = steps[index]
            let next = index + 1 < steps.endIndex ? steps[index + 1] : nil
            index += 1
            switch step {
            case .begin:
                try checkInterrupt(source: source, direction: direction, progress: nil)
                if case .section(let sql, let startLine) = next {
                    index += 1
                    try runSection(
                        sql, startLine: startLine, prefix: "BEGIN; ", on: work, source: source, direction: direction)
                    continue
                }
                do {
                    try work.execute("BEGIN")
                } catch {
                    throw failure(source: source, direction: direction, error: error, sql: nil, sqlStartLine: 1)
                }
            case .commit:
                try checkLock(source: source, direction: direction, progress: nil)
                do {
                    try work.execute("COMMIT")
                } catch {
                    rollback()
                    throw failure(source: source, direction: direction, error: error, sql: nil, sqlStartLine: 1)
                }
            case .section(let sql, let startLine):
                try checkInterrupt(source: source, direction: direction, progress: nil)
                try runSection(sql, startLine: startLine, prefix: "", on: work, source: source, direction: direction)
            case .statement(let statement, let index, let total, let startLine):
                progress = StatementProgress(index: index, total: total, committed: index - 1)
                try checkInterrupt(source: source, direction: direction, progress: progress)
                // Statement by statement in autocommit, each one commits: none may start once the lock is gone.
                try checkLock(source: source, direction: direction, progress: progress)
                do {
                    try work.execute(statement.text)
                    progress?.committed = index
                } catch {
                    let failed = FailedStatement(index: index, total: total, line: startLine + statement.codeLine - 1)
                    var message = failure(
                        source: source, direction: direction, error: error, sql: statement.text,
                        sqlStartLine: startLine + statement.line - 1, progress: progress,
                        failed: failed)
                    if let invalid = invalidIndexes(mentionedIn: statement.text), !invalid.isEmpty {
                        message.message +=
                            "\nit left INVALID index(es) behind: \(invalid.joined(separator: ", ")) — drop them (DROP INDEX CONCURRENTLY) before retrying"
                    }
                    throw message
                }
            case .ledger(let write):
                let commands = session.ledger.commands(
                    for: write, run: session.run, action: action,
                    durationMilliseconds: elapsed(since: started))
                if case .commit = next {
                    // The revision's COMMIT travels with this write: it must not commit without the lock.
                    try checkLock(source: source, direction: direction, progress: nil)
                }
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
                            try command.run(on: work)
                        }
                    }
                } catch {
                    rollback()
                    throw failure(
                        source: source, direction: direction, error: error, sql: nil, sqlStartLine: 1,
                        progress: progress, ledgerWrite: write)
                }
            }
        }
    }

    /// Runs a transactional section as one text, after `prefix` (`BEGIN; ` when the transaction opens with it), and
    /// refuses a section that ended the transaction itself.
    private func runSection(
        _ sql: String, startLine: Int, prefix: String, on work: Connection, source: SQLSource,
        direction: String
    ) throws(OrchestrateError) {
        do {
            try work.execute(prefix + sql)
        } catch var error {
            rollback()
            // The server counts the position from the start of the text sent; the file's section starts after the prefix,
            // and its statements after the prefix's own (`BEGIN`).
            if let position = error.position { error.position = max(1, position - prefix.count) }
            let failed = FailedStatement.locate(
                in: sql, startLine: startLine, position: error.position,
                completed: error.statementsCompleted.map { $0 - (prefix.isEmpty ? 0 : 1) })
            throw failure(
                source: source, direction: direction, error: error, sql: sql, sqlStartLine: startLine,
                failed: failed)
        }
        guard work.transactionStatus == .inTransaction else {
            // The script ended our transaction itself (COMMIT/ROLLBACK inside the file): its effects may be
            // committed without a ledger row. Say so loudly; nothing more can be made atomic here.
            session.recordQuietly(
                action: action, revision: source.revision, outcome: .failed,
                message: "the \(direction) SQL ended the transaction itself")
            throw .operation(
                "\(source.path): revision \(source.revision) ended its own transaction (COMMIT or ROLLBACK in the \(direction) section); what it ran before that may be committed and is NOT recorded",
                hint:
                    "remove transaction control from the file, or mark it `-- transaction: false`; then check the database and use `orchestrate repair`"
            )
        }
    }

    /// Stops before the next step once a signal arrived: rolls back what is open and records the interruption.
    private func checkInterrupt(
        source: SQLSource, direction: String, progress: StatementProgress?
    ) throws(OrchestrateError) {
        guard let signal = session.interruptions.signal else { return }
        rollback()
        throw interrupted(
            source: source, direction: direction, signal: signal, progress: progress, location: source.path)
    }

    /// Stops before something commits once the lock connection is gone (the server ended that session): without the
    /// lock another run may start on the environment. Checked without a round trip (`Connection.checkAlive`).
    private func checkLock(source: SQLSource, direction: String, progress: StatementProgress?) throws(OrchestrateError)
    {
        guard !session.lockConnection.checkAlive() else { return }
        rollback()
        var text =
            "environment `\(environment.name)`: the connection holding the environment lock (server process \(session.run.lockPID.map(String.init) ?? "?")) was lost, so the lock is gone; the run stopped before revision \(source.revision) (\(direction)) at \(source.path)"
        let hint: String
        if let progress {
            text += " could run statement \(progress.index) of \(progress.total) (non-transactional revision)"
            hint = partialHint(
                source: source, direction: direction, committed: progress.committed, total: progress.total)
        } else {
            text += " committed; it was rolled back: nothing of it remains"
            hint =
                "another session ended the lock connection (pg_terminate_backend, a server restart or idle_session_timeout); `orchestrate status \(environment.name)` shows what is applied; rerun when that is resolved"
        }
        session.recordQuietly(action: action, revision: source.revision, outcome: .failed, message: text)
        throw .operation(text, hint: hint)
    }

    /// What is committed of a non-transactional revision stopped with `committed` of its `total` statements
    /// committed, and how `repair` settles it. The ledger row stays `running` (or `reverting`), so every writing
    /// command refuses the environment until then.
    private func partialHint(source: SQLSource, direction: String, committed: Int, total: Int) -> String {
        let repair = "`orchestrate repair \(environment.name) \(source.revision)"
        let (forward, backward) = direction == "up" ? ("--applied", "--reverted") : ("--reverted", "--applied")
        if committed == 0 {
            return
                "none of its \(total) statement(s) is committed; the database is as before: \(repair) \(backward) --reason TEXT` says so, then fix the cause and rerun"
        }
        if committed >= total {
            return "all \(total) of its statement(s) are committed: \(repair) \(forward) --reason TEXT` records that"
        }
        let done = Self.statements(1, committed), rest = Self.statements(committed + 1, total)
        return
            "\(done) of \(total) \(committed == 1 ? "is" : "are") committed, \(rest) not; fix the cause, then either run \(rest) by hand and \(repair) \(forward) --reason TEXT`, or undo \(done) and \(repair) \(backward) --reason TEXT`"
    }

    /// "statement 3" or "statements 1 to 3".
    private static func statements(_ first: Int, _ last: Int) -> String {
        first == last ? "statement \(first)" : "statements \(first) to \(last)"
    }

    private func interrupted(
        source: SQLSource, direction: String, signal: Int32, progress: StatementProgress?,
        location: String
    ) -> OrchestrateError {
        var text =
            "interrupted by \(Interruption.signalName(signal)) while running revision \(source.revision) (\(direction)) at \(location)"
        let hint: String
        if let progress {
            text += ", statement \(progress.index) of \(progress.total) (non-transactional revision)"
            hint =
                "the revision is marked interrupted; "
                + partialHint(
                    source: source, direction: direction,
                    committed: progress.committed, total: progress.total)
        } else {
            text += "; it was rolled back: nothing of it remains"
            hint = "rerun the command when you are ready"
        }
        session.recordQuietly(action: action, revision: source.revision, outcome: .interrupted, message: text)
        return .interrupted(signal: signal, text, hint: hint)
    }

    private func rollback() {
        if let work = session.openedWork, work.isOpen, work.transactionStatus != .idle {
            _ = try? work.execute("ROLLBACK")
        }
    }

    /// Retries `body` after a `lock_timeout` (55P03), with backoff, up to `ddl_lock_retries` times.
    private func withLockRetries(revision: String, _ body: () throws(OrchestrateError) -> Void) throws(OrchestrateError)
    {
        var attempt = 0
        var delay = 0.5
        while true {
            do {
                try body()
                return
            } catch let error {
                guard error.isLockTimeout, attempt < environment.ddlLockRetries else { throw error }
                attempt += 1
                session.progress(
                    .retrying(
                        environment: environment.name, revision: revision, attempt: attempt,
                        of: environment.ddlLockRetries,
                        reason:
                            "lock_timeout (ddl_lock_timeout = \(environment.ddlLockTimeout)) waiting for a table lock"))
                let deadline = Date().addingTimeInterval(delay)
                while Date() < deadline, session.interruptions.signal == nil {
                    Thread.sleep(forTimeInterval: min(0.05, max(0, deadline.timeIntervalSinceNow)))
                }
                delay = min(delay * 2, 10)
            }
        }
    }

    /// Invalid indexes (`pg_index.indisvalid = false`) whose names the failing statement mentions.
    private func invalidIndexes(mentionedIn statement: String) -> [String]? {
        guard
            let result = try? session.openedWork?.query(
                "SELECT indexrelid::regclass::text AS qualified, c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid"
            )
        else { return nil }
        let text = statement.lowercased()
        return result.records.compactMap { row in
            guard let qualified = row["qualified"], let name = row["name"], text.contains(name.lowercased()) else {
                return nil
            }
            return qualified
        }
    }

    // MARK: - Errors

    /// The error for a failed revision, with PostgreSQL's message, the file position and the SQLSTATE; the failure is
    /// also written to the event log (after the rollback, on the lock connection).
    ///
    /// The location is the server's position when it gave one, else the line of the statement that failed (`failed`,
    /// found by the executor), else the section's first line.
    ///
    /// For a non-transactional revision, `progress` says what is committed; `ledgerWrite` is the ledger write that
    /// failed, when it was one (the statements before it ran: the ledger is behind the database).
    private func failure(
        source: SQLSource, direction: String, error: PostgresError, sql: String?, sqlStartLine: Int,
        progress: StatementProgress? = nil, failed: FailedStatement? = nil,
        ledgerWrite: LedgerWrite? = nil
    ) -> OrchestrateError {
        var location = source.path
        if let sql, let position = error.position {
            let (line, column) = SourceLocation.lineAndColumn(ofCharacterPosition: position, in: sql)
            location += ":\(sqlStartLine + line - 1):\(column)"
        } else if let failed {
            location += ":\(failed.line)"
        } else if sql != nil {
            location += ":\(sqlStartLine)"
        }
        if let signal = session.interruptions.signal, error.sqlState == .queryCanceled || error.kind == .connectionLost
        {
            return interrupted(
                source: source, direction: direction, signal: signal, progress: progress, location: location)
        }
        var text = "revision \(source.revision) failed (\(direction)) at \(location): \(error.message)"
        if let state = error.sqlState { text += " [SQLSTATE \(state.rawValue)]" }
        if let progress, let ledgerWrite {
            text += "\n" + ledgerBehind(ledgerWrite, progress: progress, connectionLost: error.kind == .connectionLost)
        } else if let progress {
            text += "\nin statement \(progress.index) of \(progress.total) (non-transactional revision)"
        } else if let failed {
            text += "\nin statement \(failed.index) of \(failed.total)"
        }
        if let context = error.context, !context.isEmpty { text += "\nCONTEXT: \(context)" }
        if error.kind == .connectionLost {
            text += "\nthe connection to the database was lost"
        }
        session.recordQuietly(
            action: action, revision: source.revision, outcome: .failed,
            message: String(text.prefix(2000)))
        var hint = error.hint
        if let progress {
            hint = partialHint(
                source: source, direction: direction, committed: progress.committed, total: progress.total)
        } else if error.sqlState == .queryCanceled {
            hint =
                "statement_timeout = \(environment.statementTimeout) in \(environment.path) stopped it (not retried); the revision was rolled back: raise the timeout or make the revision faster"
        } else if error.sqlState == .lockNotAvailable {
            hint =
                "another session held a lock the revision needed for longer than ddl_lock_timeout = \(environment.ddlLockTimeout) (retried \(environment.ddlLockRetries) time(s)); the revision was rolled back: find the blocker in pg_stat_activity, or raise ddl_lock_timeout / ddl_lock_retries in \(environment.path)"
        } else if hint == nil {
            hint =
                error.kind == .connectionLost
                ? "an open transaction is rolled back by the server when its connection goes, so nothing of the revision remains, unless the connection went with its COMMIT in flight: then the revision and its ledger row were committed together (one transaction), and `orchestrate status \(environment.name)` tells which; rerun when the database is reachable"
                : "the revision was rolled back: nothing of it remains"
        }
        var result = OrchestrateError.operation(text, hint: hint)
        // The event above records no DETAIL: it can quote row data. The terminal shows it.
        result.detail = error.detail
        result.isLockTimeout = error.sqlState == .lockNotAvailable && progress == nil
        return result
    }

    /// What the ledger says of a non-transactional revision after its write `write` failed, against what ran.
    private func ledgerBehind(_ write: LedgerWrite, progress: StatementProgress, connectionLost: Bool) -> String {
        let done = progress.committed, total = progress.total
        // A write cut off with the connection may have reached the server: then the ledger is up to date after all.
        let unsure = connectionLost ? " (unless the write reached the server before the connection went)" : ""
        switch write {
        case .statementsDone:
            return
                "the ledger could not record the progress: statement \(done) of \(total) ran and is committed, but the ledger still says \(done - 1) of \(total) done\(unsure)"
        case .markApplied:
            return
                "the ledger could not mark it applied: all \(total) statement(s) ran and are committed, but its row still says applying\(unsure)"
        case .delete:
            return
                "the ledger could not remove its row: all \(total) down statement(s) ran and are committed, but its row still says reverting\(unsure)"
        case .insert, .markReverting:
            return "the ledger could not be written: \(done) of \(total) statement(s) ran\(unsure)"
        }
    }
}
