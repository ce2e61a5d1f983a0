import Foundation
import Postgres
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Promotion you can trust: targets, single transactions, protected environments, lock and statement timeouts.
@Suite("promotion safety")
struct PromotionSafetyTests {
    @Test("promote --to REV promotes only REV and its ancestors; a REV the source does not run is refused")
    func promoteTo() throws {
        let project = try EndToEndTests.makeProject(protectedProduction: false)
        defer { project.cleanUp() }
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev", "--to", "002_users"]).exitCode == 0)

        let refused = try project.run(["promote", "staging", "--to", "003_email"])
        #expect(refused.exitCode == 1, "\(refused.output)")
        #expect(
            refused.stderr.contains("revision 003_email does not run in `dev`, so it cannot be promoted to `staging`"))
        #expect(refused.stderr.contains("`orchestrate upgrade dev --to 003_email` first"))
        #expect(
            try TestPostgres.query(project.databases[1], "SELECT to_regclass('public.accounts') IS NULL") == [["t"]])

        let promoted = try project.run(["promote", "staging", "--to", "001"])
        #expect(promoted.exitCode == 0, "\(promoted.output)")
        #expect(promoted.stdout.contains("staging: applied 1 revision(s)"))
        #expect(
            try TestPostgres.query(project.databases[1], "SELECT revision FROM orchestrate.revisions") == [
                ["001_accounts"]
            ])

        // A later stage's source is itself promoted: the hint says so.
        let later = try project.run(["promote", "production", "--to", "002_users"])
        #expect(later.exitCode == 1)
        #expect(later.stderr.contains("`orchestrate promote staging --to 002_users` first"))
    }

    @Test("--single-transaction: a failure in the third revision leaves none applied")
    func singleTransactionAllOrNothing() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev")
        try project.migration("001_a", parent: nil, up: "CREATE TABLE a (id int);", down: "DROP TABLE a;")
        try project.migration("002_b", parent: "001_a", up: "CREATE TABLE b (id int);", down: "DROP TABLE b;")
        try project.migration(
            "003_c", parent: "002_b", up: "CREATE TABLE c (id int);\nSELECT * FROM nowhere;", down: "DROP TABLE c;")
        try project.gitInitAndCommit()

        let failed = try project.run(["upgrade", "dev", "--single-transaction"])
        #expect(failed.exitCode == 3, "\(failed.output)")
        #expect(failed.stderr.contains("revision 003_c failed (up) at migrations/003_c.sql:4"))
        #expect(failed.stderr.contains("relation \"nowhere\" does not exist"))
        #expect(failed.stderr.contains("none of the 3 revision(s) were applied"))
        #expect(
            try TestPostgres.query(dev, "SELECT count(*) FROM pg_class WHERE relname IN ('a', 'b', 'c')") == [["0"]])
        #expect(try TestPostgres.query(dev, "SELECT count(*) FROM orchestrate.revisions") == [["0"]])
        let audit = try project.run(["audit", "dev"]).stdout
        #expect(audit.split(whereSeparator: \.isWhitespace).joined(separator: " ").contains("upgrade failed"))

        // Without the flag each revision commits on its own: the first two land.
        let perRevision = try project.run(["upgrade", "dev"])
        #expect(perRevision.exitCode == 3)
        #expect(
            try TestPostgres.query(dev, "SELECT revision FROM orchestrate.revisions ORDER BY 1") == [
                ["001_a"], ["002_b"],
            ])
    }

    @Test("transaction = \"all\" in the config does the same, and a good run lands whole")
    func transactionAllConfig() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev", extra: "transaction = \"all\"\n")
        try project.migration("001_a", parent: nil, up: "CREATE TABLE a (id int);", down: "DROP TABLE a;")
        try project.migration("002_b", parent: "001_a", up: "CREATE TABLE b (id int);", down: "DROP TABLE b;")
        try project.migration(
            "003_c", parent: "002_b", up: "CREATE TABLE c (id int REFERENCES nowhere);", down: "DROP TABLE c;")
        try project.gitInitAndCommit()
        let failed = try project.run(["upgrade", "dev"])
        #expect(failed.exitCode == 3, "\(failed.output)")
        #expect(try TestPostgres.query(dev, "SELECT count(*) FROM pg_class WHERE relname IN ('a', 'b')") == [["0"]])

        try project.migration(
            "003_c", parent: "002_b", up: "CREATE TABLE c (id int CHECK (id > 0));", down: "DROP TABLE c;")
        let good = try project.run(["upgrade", "dev"])
        #expect(good.exitCode == 0, "\(good.output)")
        #expect(try TestPostgres.query(dev, "SELECT count(*) FROM orchestrate.revisions") == [["3"]])
        let events = try TestPostgres.query(
            dev, "SELECT message FROM orchestrate.events WHERE outcome = 'started' ORDER BY id DESC LIMIT 1")
        #expect(events.first?.first??.contains("in one transaction") == true)

        let down = try project.run(["downgrade", "dev", "--to", "base"])
        #expect(down.exitCode == 0, "\(down.output)")
        #expect(
            try TestPostgres.query(dev, "SELECT count(*) FROM pg_class WHERE relname IN ('a', 'b', 'c')") == [["0"]])
    }

    @Test("a single transaction is refused up front when a planned revision is non-transactional")
    func singleTransactionRefusesNonTransactional() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev")
        try project.migration("001_a", parent: nil, up: "CREATE TABLE a (id int);", down: "DROP TABLE a;")
        try project.migration(
            "002_index", parent: "001_a", up: "CREATE INDEX CONCURRENTLY a_id ON a (id);",
            down: "DROP INDEX CONCURRENTLY a_id;", header: "-- transaction: false\n")
        try project.gitInitAndCommit()
        let refused = try project.run(["upgrade", "dev", "--single-transaction"])
        #expect(refused.exitCode == 2, "\(refused.output)")
        #expect(refused.stderr.contains("revision 002_index (migrations/002_index.sql) is non-transactional"))
        #expect(refused.stderr.contains("nothing was run"))
        #expect(try TestPostgres.query(dev, "SELECT to_regclass('public.a') IS NULL") == [["t"]])
        // Up to the revision before it, a single transaction is fine.
        #expect(try project.run(["upgrade", "dev", "--single-transaction", "--to", "001_a"]).exitCode == 0)
    }

    @Test("a protected environment asks on a terminal; a wrong answer runs nothing")
    func protectedPrompt() throws {
        let project = try EndToEndTests.makeProject(protectedProduction: true)
        defer { project.cleanUp() }
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        #expect(try project.run(["promote", "staging"]).exitCode == 0)
        let production = project.databases[2]

        // `script` gives the command a pseudo-terminal; the answer comes from its stdin.
        func promoteOnTerminal(answer: String) throws -> TestProject.RunResult {
            try TestProject.runProgram(
                "/usr/bin/script", ["-qec", "\(try TestProject.binaryPath()) promote production", "/dev/null"],
                environment: ["NO_COLOR": "1"], directory: project.root, stdin: answer + "\n")
        }
        let wrong = try promoteOnTerminal(answer: "staging")
        #expect(wrong.exitCode == 1, "\(wrong.output)")
        #expect(wrong.output.contains("production: promote from staging would apply 3 revision(s)"))
        #expect(wrong.output.contains("`production` is protected. Type its name to promote:"))
        #expect(wrong.output.contains("not confirmed; nothing was run"))
        #expect(try TestPostgres.query(production, "SELECT to_regclass('public.accounts') IS NULL") == [["t"]])

        let right = try promoteOnTerminal(answer: "production")
        #expect(right.exitCode == 0, "\(right.output)")
        #expect(right.output.contains("production: applied 3 revision(s)"))

        // Without a terminal: --yes, for downgrade and unlock as well.
        let noTerminal = try project.run(["downgrade", "production", "--steps", "1"])
        #expect(noTerminal.exitCode == 1)
        #expect(noTerminal.stderr.contains("protected: downgrade needs --yes"))
        #expect(try project.run(["downgrade", "production", "--steps", "1", "--yes"]).exitCode == 0)
    }

    @Test("a revision blocked by another session's lock retries, then succeeds when the lock is released")
    func ddlLockRetries() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev", extra: "ddl_lock_timeout = \"300ms\"\nddl_lock_retries = 8\n")
        try project.migration("001_a", parent: nil, up: "CREATE TABLE a (id int);", down: "DROP TABLE a;")
        try project.migration(
            "002_b", parent: "001_a", up: "ALTER TABLE a ADD COLUMN b int;", down: "ALTER TABLE a DROP COLUMN b;")
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev", "--to", "001_a"]).exitCode == 0)

        let blocker = try Connection(conninfo: try TestPostgres.conninfo(database: dev))
        defer { blocker.close() }
        try blocker.execute("BEGIN; LOCK TABLE a IN ACCESS EXCLUSIVE MODE")
        let run = try BackgroundRun(project, ["upgrade", "dev"])
        // Release the table once the run has hit the lock and retried at least once.
        #expect(waitUntil(timeout: 20) { run.stderrSoFar.contains("attempt 2 of 9") }, "\(run.stderrSoFar)")
        try blocker.execute("COMMIT")
        let result = run.wait()
        #expect(result.exitCode == 0, "\(result.output)")
        #expect(
            result.stderr.contains(
                "retry: dev: 002_b hit lock_timeout (ddl_lock_timeout = 300ms) waiting for a table lock; attempt 2 of 9"
            ))
        #expect(
            try TestPostgres.query(
                dev, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'a'::regclass AND attname = 'b'") == [["1"]])
    }

    @Test("when the lock is never released the retries run out: exit 3, rolled back, with the blocker's way out")
    func ddlLockRetriesExhausted() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev", extra: "ddl_lock_timeout = \"200ms\"\nddl_lock_retries = 1\n")
        try project.migration("001_a", parent: nil, up: "CREATE TABLE a (id int);", down: "DROP TABLE a;")
        try project.migration(
            "002_b", parent: "001_a", up: "CREATE TABLE b (id int);\nALTER TABLE a ADD COLUMN b int;", down: "SELECT 1;"
        )
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev", "--to", "001_a"]).exitCode == 0)
        let blocker = try Connection(conninfo: try TestPostgres.conninfo(database: dev))
        defer { blocker.close() }
        try blocker.execute("BEGIN; LOCK TABLE a IN ACCESS EXCLUSIVE MODE")
        let result = try project.run(["upgrade", "dev"])
        #expect(result.exitCode == 3, "\(result.output)")
        #expect(result.stderr.contains("attempt 2 of 2"))
        #expect(result.stderr.contains("SQLSTATE 55P03"))
        #expect(result.stderr.contains("raise ddl_lock_timeout / ddl_lock_retries in environments/dev.toml"))
        #expect(try TestPostgres.query(dev, "SELECT to_regclass('public.b') IS NULL") == [["t"]])
    }

    @Test("statement_timeout stops a long statement without retrying; the revision is rolled back")
    func statementTimeout() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev", extra: "statement_timeout = \"500ms\"\n")
        try project.migration(
            "001_slow", parent: nil, up: "CREATE TABLE slow (id int);\nSELECT pg_sleep(10);", down: "DROP TABLE slow;")
        try project.gitInitAndCommit()
        let started = Date()
        let result = try project.run(["upgrade", "dev"])
        #expect(Date().timeIntervalSince(started) < 6)
        #expect(result.exitCode == 3, "\(result.output)")
        #expect(result.stderr.contains("canceling statement due to statement timeout"))
        #expect(result.stderr.contains("statement_timeout = 500ms in environments/dev.toml stopped it (not retried)"))
        #expect(!result.stderr.contains("retry:"))
        #expect(try TestPostgres.query(dev, "SELECT to_regclass('public.slow') IS NULL") == [["t"]])
    }
}
