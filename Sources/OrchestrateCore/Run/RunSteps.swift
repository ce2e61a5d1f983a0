import Migrations
import Postgres

/// One statement with its bound parameters (`$1`…`$n`), as sent with PQexecParams.
struct SQLCommand {
    var sql: String
    var parameters: [String?]

    /// The statement with every `$n` outside quotes replaced by its value quoted with `quote` (PQescapeLiteral),
    /// or `NULL`: what `plan --sql` prints, so that a script run by hand writes what a run would, and what a run sends
    /// when a ledger write travels with `COMMIT` in one round trip.
    ///
    /// Reads the UTF-8 bytes once and copies the text between parameters in spans (every character it looks for is
    /// ASCII); a `$n` right after an identifier character (`a$1`) or past the parameter count is left as it is.
    func inlined(quote: (String) throws(PostgresError) -> String) throws(PostgresError) -> String {
        let bytes = Array(sql.utf8)
        var output = ""
        output.reserveCapacity(bytes.count + parameters.reduce(0) { $0 + ($1?.utf8.count ?? 4) + 2 })
        var copied = 0
        var index = 0
        var openQuote: UInt8?
        /// Whether the character before `index` (as emitted) continues an identifier or a number.
        var afterIdentifier = false
        while index < bytes.count {
            let byte = bytes[index]
            if let open = openQuote {
                if byte == open { openQuote = nil }
                afterIdentifier = false
                index += 1
                continue
            }
            if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") {
                openQuote = byte
                afterIdentifier = false
                index += 1
                continue
            }
            guard byte == UInt8(ascii: "$"), !afterIdentifier, index + 1 < bytes.count, Self.isDigit(bytes[index + 1]) else {
                afterIdentifier = Self.continuesIdentifier(byte)
                index += 1
                continue
            }
            var end = index + 1
            var number = 0
            while end < bytes.count, Self.isDigit(bytes[end]) {
                number = min(number * 10 + Int(bytes[end] - UInt8(ascii: "0")), Int(Int32.max))
                end += 1
            }
            if number >= 1, number <= parameters.count {
                output += String(decoding: bytes[copied..<index], as: UTF8.self)
                let value = try parameters[number - 1].map { (value: String) throws(PostgresError) -> String in try quote(value) } ?? "NULL"
                output += value
                copied = end
                afterIdentifier = value.utf8.last.map(Self.continuesIdentifier) ?? false
            } else {
                afterIdentifier = true
            }
            index = end
        }
        output += String(decoding: bytes[copied...], as: UTF8.self)
        return output
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// Letters, digits, `_` and (as for identifiers) any non-ASCII byte.
    private static func continuesIdentifier(_ byte: UInt8) -> Bool {
        isDigit(byte) || byte == UInt8(ascii: "_") || byte >= 0x80
            || ((byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z"))
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
