import Migrations

/// What a run writes to the ledger next to a revision. The SQL of each is built in one place
/// (`Ledger.commands(for:run:action:durationMilliseconds:)`, in `Ledger/RevisionsTable.swift`) for both execution and
/// `plan --sql`.
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
            let body: [RunStep] = [
                .section(sql: file.up, startLine: file.upStartLine),
                .ledger(.insert(file, promotedFrom: promotedFrom, state: .applied, statements: nil)),
            ]
            return ownTransaction ? [.begin] + body + [.commit] : body
        }
        let statements = SQLSplitter.split(file.up)
        var steps: [RunStep] = [
            .ledger(.insert(file, promotedFrom: promotedFrom, state: .running, statements: statements.count))
        ]
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
