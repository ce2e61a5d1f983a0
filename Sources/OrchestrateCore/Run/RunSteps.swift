import Migrations
import Postgres

/// One statement with its bound parameters (`$1`…`$n`), as sent with PQexecParams.
struct SQLCommand {
    var sql: String
    var parameters: [String?]

    /// The statement with every `$n` outside quotes replaced by its value quoted with `quote` (PQescapeLiteral),
    /// or `NULL`: what `plan --sql` prints, so that a script run by hand writes what a run would.
    func inlined(quote: (String) throws(PostgresError) -> String) throws(PostgresError) -> String {
        var output = ""
        var scalars = Array(sql.unicodeScalars)[...]
        var quoteCharacter: Unicode.Scalar?
        while let scalar = scalars.popFirst() {
            if let open = quoteCharacter {
                output.unicodeScalars.append(scalar)
                if scalar == open { quoteCharacter = nil }
                continue
            }
            if scalar == "'" || scalar == "\"" {
                quoteCharacter = scalar
                output.unicodeScalars.append(scalar)
                continue
            }
            guard scalar == "$", let first = scalars.first, ("0"..."9").contains(first),
                  output.unicodeScalars.last.map({ !($0.properties.isAlphabetic || $0 == "_" || ("0"..."9").contains($0)) }) ?? true
            else {
                output.unicodeScalars.append(scalar)
                continue
            }
            var digits = ""
            while let next = scalars.first, ("0"..."9").contains(next) {
                digits.unicodeScalars.append(next)
                scalars.removeFirst()
            }
            guard let number = Int(digits), number >= 1, number <= parameters.count else {
                output += "$" + digits
                continue
            }
            output += try parameters[number - 1].map { (value: String) throws(PostgresError) -> String in try quote(value) } ?? "NULL"
        }
        return output
    }
}

/// What a run writes to the ledger next to a revision. The SQL of each is built in one place
/// (`Ledger.commands(for:run:action:durationMilliseconds:)`) for both execution and `plan --sql`.
enum LedgerWrite {
    /// The revision's row (`applied`, or `running` before the first statement of a non-transactional one) and its
    /// event.
    case insert(MigrationFile, promotedFrom: String?, state: AppliedRevision.State, statements: Int?)
    /// `done` statements of a non-transactional revision are committed.
    case statementsDone(revision: String, done: Int)
    /// The last statement of a non-transactional revision is committed: the row becomes `applied`, with an event.
    case markApplied(revision: String)
    /// The down section of a non-transactional revision starts.
    case markReverting(revision: String, statements: Int)
    /// The revision is reverted: its row goes, with an event.
    case delete(revision: String)
}

/// One thing a run sends to the work connection, in order.
enum RunStep {
    /// Opens the revision's transaction.
    case begin
    /// Commits it.
    case commit
    /// A whole transactional section, sent as one text (PQexec); `startLine` is its first line in the file.
    case section(sql: String, startLine: Int)
    /// One statement of a non-transactional section, in autocommit; `index` counts from 1.
    case statement(SQLStatement, index: Int, total: Int, startLine: Int)
    /// A ledger write.
    case ledger(LedgerWrite)
}

/// The steps of one revision: the single definition of what applying or reverting it sends, used by the executor
/// and by `plan --sql`.
enum RevisionSteps {
    /// Applying `file`. A transactional revision is its section and its ledger row, in a transaction of its own
    /// unless `ownTransaction` is false (a single-transaction run). A non-transactional one is its row marked
    /// running, each statement followed by its progress, then the row marked applied.
    static func apply(_ file: MigrationFile, promotedFrom: String?, ownTransaction: Bool) -> [RunStep] {
        if file.transactional {
            let body: [RunStep] = [.section(sql: file.up, startLine: file.upStartLine),
                                   .ledger(.insert(file, promotedFrom: promotedFrom, state: .applied, statements: nil))]
            return ownTransaction ? [.begin] + body + [.commit] : body
        }
        let statements = SQLSplitter.split(file.up)
        var steps: [RunStep] = [.ledger(.insert(file, promotedFrom: promotedFrom, state: .running, statements: statements.count))]
        for (offset, statement) in statements.enumerated() {
            steps.append(.statement(statement, index: offset + 1, total: statements.count, startLine: file.upStartLine))
            steps.append(.ledger(.statementsDone(revision: file.revision, done: offset + 1)))
        }
        steps.append(.ledger(.markApplied(revision: file.revision)))
        return steps
    }

    /// Reverting `revision` with the `down` SQL recorded in the ledger, the mirror of `apply`.
    static func revert(revision: String, down: String, transactional: Bool, ownTransaction: Bool) -> [RunStep] {
        if transactional {
            let body: [RunStep] = [.section(sql: down, startLine: 1), .ledger(.delete(revision: revision))]
            return ownTransaction ? [.begin] + body + [.commit] : body
        }
        let statements = SQLSplitter.split(down)
        var steps: [RunStep] = [.ledger(.markReverting(revision: revision, statements: statements.count))]
        for (offset, statement) in statements.enumerated() {
            steps.append(.statement(statement, index: offset + 1, total: statements.count, startLine: 1))
            steps.append(.ledger(.statementsDone(revision: revision, done: offset + 1)))
        }
        steps.append(.ledger(.delete(revision: revision)))
        return steps
    }
}

extension Ledger {
    /// The statements that perform `write` for `run`; `durationMilliseconds` is nil in a script.
    func commands(for write: LedgerWrite, run: RunContext, action: String, durationMilliseconds: Int?) -> [SQLCommand] {
        let revisions = table("revisions")
        let duration = durationMilliseconds.map(String.init)
        switch write {
        case .insert(let file, let promotedFrom, let state, let statements):
            return [SQLCommand(sql: """
                WITH inserted AS (
                    INSERT INTO \(revisions) (revision, parents, checksum, up_sql, down_sql,
                        transactional, state, statements_total, statements_done, environment, os_user, host, git_commit,
                        git_branch, git_dirty, duration_ms, promoted_from)
                    VALUES ($1, $2::text[], $3, $4, $5, $6::boolean, $7, $8::integer, CASE WHEN $8 IS NULL THEN NULL ELSE 0 END,
                        $9, $10, $11, $12, $13, $14::boolean, $15::bigint, $16)
                    RETURNING revision
                )
                INSERT INTO \(table("events")) (run_id, environment, action, revision, outcome, os_user, host,
                    command, git_commit, git_branch, duration_ms, lock_pid)
                SELECT $17, $9, $18, revision, $19, $10, $11, $20, $12, $13, $15::bigint, $21::integer FROM inserted
                """,
                parameters: [
                    file.revision, Ledger.arrayLiteral(file.parents), file.checksum, file.up, file.down,
                    file.transactional ? "true" : "false", state.rawValue, statements.map(String.init), run.environment,
                    run.actor.osUser, run.actor.host, run.git?.commit, run.git?.branch,
                    run.git.map { $0.isDirty ? "true" : "false" }, state == .applied ? duration : nil, promotedFrom,
                    run.id, action, state == .applied ? "applied" : "started", run.command, run.lockPID.map(String.init),
                ])]
        case .statementsDone(let revision, let done):
            return [SQLCommand(sql: "UPDATE \(revisions) SET statements_done = $2::integer WHERE revision = $1",
                               parameters: [revision, String(done)])]
        case .markApplied(let revision):
            let event = eventInsert(NewEvent(run: run, action: action, revision: revision, outcome: "applied", message: nil,
                                             durationMilliseconds: durationMilliseconds))
            return [SQLCommand(sql: "UPDATE \(revisions) SET state = 'applied', duration_ms = $2::bigint, applied_at = clock_timestamp() WHERE revision = $1",
                               parameters: [revision, duration]),
                    SQLCommand(sql: event.sql, parameters: event.parameters)]
        case .markReverting(let revision, let statements):
            return [SQLCommand(sql: "UPDATE \(revisions) SET state = 'reverting', statements_total = $2::integer, statements_done = 0 WHERE revision = $1",
                               parameters: [revision, String(statements)])]
        case .delete(let revision):
            let event = eventInsert(NewEvent(run: run, action: action, revision: revision, outcome: "reverted", message: nil,
                                             durationMilliseconds: durationMilliseconds))
            return [SQLCommand(sql: "DELETE FROM \(revisions) WHERE revision = $1", parameters: [revision]),
                    SQLCommand(sql: event.sql, parameters: event.parameters)]
        }
    }
}
