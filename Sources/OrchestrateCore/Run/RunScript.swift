import Foundation
import Migrations
import Postgres

/// The SQL script of a prepared run (`plan --sql`): what the run would send, in order, with transaction boundaries
/// and ledger writes, for a DBA to review or to run by hand with psql.
///
/// It is rendered from the same pieces the run executes (`SessionSettings`, `LedgerMigrations.script`,
/// `RevisionSteps`, `Ledger.commands`, `Ledger.eventInsert`), with parameters inlined as literals quoted by PQescapeLiteral, so the
/// plan and the run cannot drift apart. Like the run, it takes the environment lock first.
struct RunScript {
    var prepared: PreparedRun
    var run: RunContext
    var ledger: Ledger
    /// The ledger layout installed in the target, nil when there is none yet.
    var installedLedgerVersion: Int?
    var serverVersion: Int
    /// The database, for display (no password).
    var database: String

    func render() throws(PostgresError) -> String {
        let environment = prepared.environment
        let connection = ledger.connection
        let quote = { (value: String) throws(PostgresError) -> String in try connection.quoteLiteral(value) }
        var lines: [String] = []
        func sql(_ text: String) { lines.append(text.hasSuffix(";") ? text : text + ";") }
        func command(_ command: SQLCommand) throws(PostgresError) { sql(try command.inlined(quote: quote)) }

        let mode = prepared.singleTransaction ? "all of it in one transaction" : "one transaction per revision"
        let what =
            prepared.source.map { "\(prepared.action) `\(environment.name)` from `\($0)`" }
            ?? "\(prepared.action) `\(environment.name)`"
        lines.append("-- orchestrate plan --sql: \(what), \(prepared.items.count) revision(s), \(mode)")
        var origin = "-- database: \(database)"
        if let git = run.git { origin += "; git commit \(git.commit.prefix(12))\(git.branch.map { " (\($0))" } ?? "")" }
        lines.append(origin)
        lines.append(
            "-- Run it with psql, which stops at the first error:  psql -X -v ON_ERROR_STOP=1 -f FILE DATABASE")
        lines.append(
            "-- It takes the environment lock first and records every revision in the ledger as `orchestrate \(prepared.action)` would."
        )
        lines.append("\\set ON_ERROR_STOP on")
        sql("SET application_name = \(try quote("orchestrate \(run.command) (script)"))")
        // session_settings (and a schema target's search_path), as every session of the run applies them.
        for setting in environment.sessionSettings {
            sql("SELECT set_config(\(try quote(setting.name)), \(try quote(setting.value)), false)")
        }
        for setting in SessionSettings.work(environment, serverVersion: serverVersion) { sql(setting) }
        lines.append("-- The environment lock (waits at most lock_timeout):")
        sql(
            "DO $orchestrate$ BEGIN PERFORM pg_advisory_lock(\(EnvironmentLock.key(schema: environment.ledgerSchema))); END $orchestrate$"
        )

        let installed = installedLedgerVersion ?? 0
        if installed < Ledger.currentVersion {
            lines.append("")
            lines.append(
                installed == 0
                    ? "-- The ledger does not exist yet: create it in schema \(ledger.schema) (layout version \(Ledger.currentVersion))."
                    : "-- Upgrade the ledger layout from version \(installed) to \(Ledger.currentVersion).")
            sql("BEGIN")
            lines.append(LedgerMigrations.script(from: installed, schema: ledger.quoted))
            sql("COMMIT")
        } else {
            lines.append("")
            lines.append("-- Refuse a frozen environment, as the run would.")
            sql(
                ledger.refuseFrozen(
                    message: try quote(
                        "environment \(environment.name) is frozen: see orchestrate status \(environment.name)")))
        }

        lines.append("")
        let started = ledger.eventInsert(
            NewEvent(
                run: run, action: prepared.action, revision: nil, outcome: .started,
                message: prepared.startedMessage, durationMilliseconds: nil))
        try command(started)
        if prepared.singleTransaction {
            lines.append("")
            lines.append("-- One transaction for every revision: all of them land or none.")
            sql("BEGIN")
        }
        for (offset, item) in prepared.items.enumerated() {
            lines.append("")
            var title = "-- \(offset + 1)/\(prepared.items.count) \(item.revision) (\(item.path)), "
            title += prepared.plan.direction == .up ? "up" : "down"
            if !item.transactional { title += ", non-transactional: each statement in autocommit" }
            lines.append(title)
            for step in item.steps(ownTransaction: !prepared.singleTransaction) {
                switch step {
                case .begin: sql("BEGIN")
                case .commit: sql("COMMIT")
                case .section(let text, _): lines.append(RunScript.terminated(text))
                case .statement(let statement, let index, let total, _):
                    lines.append("-- statement \(index) of \(total)")
                    lines.append(RunScript.terminated(statement.text))
                case .ledger(let write):
                    for each in ledger.commands(
                        for: write, run: run, action: prepared.action, durationMilliseconds: nil)
                    {
                        try command(each)
                    }
                }
            }
        }
        if prepared.singleTransaction {
            lines.append("")
            sql("COMMIT")
        }
        lines.append("")
        let succeeded = ledger.eventInsert(
            NewEvent(
                run: run, action: prepared.action, revision: nil, outcome: .succeeded,
                message: "\(prepared.items.count) revision(s)", durationMilliseconds: nil))
        try command(succeeded)
        sql(
            "DO $orchestrate$ BEGIN PERFORM pg_advisory_unlock(\(EnvironmentLock.key(schema: environment.ledgerSchema))); END $orchestrate$"
        )
        return lines.joined(separator: "\n") + "\n"
    }

    /// `sql` as it must appear in a script: ended by a `;` outside any comment (added on a line of its own when the
    /// text does not end with one, so that a trailing `--` comment cannot swallow it).
    static func terminated(_ sql: String) -> String {
        let statements = SQLSplitter.split(sql)
        let body = sql.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let last = statements.last else { return body.isEmpty ? "" : body }
        let scalars = Array(sql.unicodeScalars)
        var position = last.offset + last.text.unicodeScalars.count
        while position < scalars.count, scalars[position].properties.isWhitespace { position += 1 }
        if position < scalars.count, scalars[position] == ";" { return body }
        return body + "\n;"
    }
}
