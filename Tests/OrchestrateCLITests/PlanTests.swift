import Foundation
import TestSupport
import Testing

/// `orchestrate plan`: what upgrade, promote or downgrade would run, and the exact script, without writing anything.
@Suite("plan")
struct PlanTests {
    /// dev → staging, with a transactional root (with a quote in it), a non-transactional index and a third revision.
    static func makeProject() throws -> TestProject {
        let project = try TestProject()
        try project.environment("dev")
        try project.environment("staging", promotesFrom: "dev")
        try project.migration(
            "001_accounts", parent: nil,
            up: "CREATE TABLE accounts (id bigint PRIMARY KEY, note text DEFAULT 'it''s $1');",
            down: "DROP TABLE accounts;")
        try project.migration(
            "002_index", parent: "001_accounts",
            up:
                "CREATE INDEX CONCURRENTLY accounts_note ON accounts (note);\nCREATE INDEX CONCURRENTLY accounts_id2 ON accounts (id) -- last, no semicolon",
            down: "DROP INDEX CONCURRENTLY accounts_id2;\nDROP INDEX CONCURRENTLY accounts_note;",
            header: "-- transaction: false\n")
        try project.migration(
            "003_email", parent: "002_index",
            up: "ALTER TABLE accounts ADD COLUMN email text;",
            down: "ALTER TABLE accounts DROP COLUMN email;")
        try project.gitInitAndCommit()
        return project
    }

    /// The schema-only dump of a database, to prove that it did not change.
    static func dump(_ database: String) throws -> String {
        let result = try TestProject.runProgram(
            "/usr/bin/pg_dump", ["--schema-only", "--no-owner", "-d", try TestPostgres.conninfo(database: database)])
        guard result.exitCode == 0 else { throw TestSupportError("pg_dump failed: \(result.stderr)") }
        // pg_dump marks its output with a random \\restrict key: leave those lines out.
        return result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("\\restrict") && !$0.hasPrefix("\\unrestrict") }
            .joined(separator: "\n")
    }

    @Test("plan and plan --sql write nothing to the target, not even the ledger")
    func writesNothing() throws {
        let project = try Self.makeProject()
        defer { project.cleanUp() }
        let dev = project.databases[0]
        let before = try Self.dump(dev)

        let plan = try project.run(["plan", "dev"])
        #expect(plan.exitCode == 0, "\(plan.output)")
        #expect(plan.stdout.contains("dev: upgrade would apply 3 revision(s), each in its own transaction"))
        #expect(plan.stdout.contains("1. up   001_accounts"))
        #expect(plan.stdout.contains("002_index     migrations/002_index.sql  (non-transactional: 2 statement(s)"))
        #expect(plan.stdout.contains("the ledger does not exist yet"))
        let sql = try project.run(["plan", "dev", "--sql"])
        #expect(sql.exitCode == 0, "\(sql.output)")
        let json = try project.run(["plan", "dev", "--json", "--sql"])
        #expect(json.exitCode == 0, "\(json.output)")

        #expect(try Self.dump(dev) == before)
        #expect(
            try TestPostgres.query(dev, "SELECT count(*) FROM pg_namespace WHERE nspname = 'orchestrate'") == [["0"]])
        #expect(try TestPostgres.query(dev, "SELECT count(*) FROM pg_class WHERE relname = 'accounts'") == [["0"]])

        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(report["action"] as? String == "upgrade")
        #expect(report["ledgerExists"] as? Bool == false)
        let steps = try #require(report["steps"] as? [[String: Any]])
        #expect(steps.map { $0["revision"] as? String } == ["001_accounts", "002_index", "003_email"])
        #expect(steps[1]["transactional"] as? Bool == false)
        #expect(steps[1]["statements"] as? Int == 2)
        #expect((report["sql"] as? String)?.contains("CREATE TABLE accounts") == true)
    }

    @Test("plan --sql is the script the run sends: settings, lock, ledger, transactions, quoted literals")
    func scriptShape() throws {
        let project = try Self.makeProject()
        defer { project.cleanUp() }
        let script = try project.run(["plan", "dev", "--sql"]).stdout
        #expect(
            script.hasPrefix("-- orchestrate plan --sql: upgrade `dev`, 3 revision(s), one transaction per revision"))
        #expect(script.contains("\\set ON_ERROR_STOP on"))
        #expect(script.contains("SET lock_timeout = '5000ms';"))
        #expect(script.contains("SET statement_timeout = '0ms';"))
        #expect(script.contains("PERFORM pg_advisory_lock("))
        #expect(script.contains("CREATE SCHEMA IF NOT EXISTS \"orchestrate\";"))
        // The transactional revision: its SQL and its ledger row inside one transaction.
        let root = try #require(script.range(of: "-- 1/3 001_accounts"))
        let index = try #require(script.range(of: "-- 2/3 002_index"))
        let first = String(script[root.upperBound..<index.lowerBound])
        #expect(first.contains("BEGIN;\nCREATE TABLE accounts (id bigint PRIMARY KEY, note text DEFAULT 'it''s $1');"))
        #expect(first.contains("INSERT INTO \"orchestrate\".revisions"))
        // The up SQL recorded as a literal quoted by PQescapeLiteral: the quotes are doubled once more.
        #expect(first.contains("'CREATE TABLE accounts (id bigint PRIMARY KEY, note text DEFAULT ''it''''s $1'');"))
        #expect(first.hasSuffix("COMMIT;\n\n"))
        // The non-transactional revision: no BEGIN, each statement followed by its progress in the ledger.
        let last = try #require(script.range(of: "-- 3/3 003_email"))
        let second = String(script[index.upperBound..<last.lowerBound])
        #expect(!second.contains("BEGIN;"))
        #expect(second.contains("'running'"))
        #expect(second.contains("-- statement 1 of 2\nCREATE INDEX CONCURRENTLY accounts_note ON accounts (note)\n;"))
        #expect(second.contains("CREATE INDEX CONCURRENTLY accounts_id2 ON accounts (id) -- last, no semicolon\n;"))
        #expect(second.contains("SET statements_done = 2::integer"))
        #expect(second.contains("SET state = 'applied'"))
        #expect(script.contains("'succeeded'"))
        #expect(script.contains("PERFORM pg_advisory_unlock("))
        #expect(!script.contains("$2"), "every parameter is inlined")
    }

    @Test("the script runs by hand with psql and leaves the ledger as the run would")
    func scriptRunsWithPsql() throws {
        let project = try Self.makeProject()
        defer { project.cleanUp() }
        try project.write("plan.sql", try project.run(["plan", "dev", "--sql"]).stdout)
        let result = try TestProject.runProgram(
            "/usr/bin/psql",
            [
                "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", project.root + "/plan.sql",
                try TestPostgres.conninfo(database: project.databases[0]),
            ])
        #expect(result.exitCode == 0, "\(result.output)")

        let status = try project.run(["status", "dev", "--json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [[String: Any]])
        #expect(entries.first?["appliedCount"] as? Int == 3)
        #expect(entries.first?["pending"] as? [String] == [])
        #expect(entries.first?["drift"] as? [Any] == nil || (entries.first?["drift"] as? [Any])?.isEmpty == true)
        // Nothing left to do, and the recorded down SQL works: the script wrote the ledger like a run.
        #expect(try project.run(["upgrade", "dev"]).stdout.contains("up to date"))
        let down = try project.run(["downgrade", "dev", "--to", "base"])
        #expect(down.exitCode == 0, "\(down.output)")
        #expect(
            try TestPostgres.query(project.databases[0], "SELECT count(*) FROM pg_class WHERE relname = 'accounts'")
                == [["0"]])
        let audit = try project.run(["audit", "dev"]).stdout
        #expect(audit.split(whereSeparator: \.isWhitespace).joined(separator: " ").contains("upgrade succeeded"))
    }

    @Test("plan of a later stage is a promote; --down plans a downgrade from the ledger")
    func promoteAndDowngradePlans() throws {
        let project = try Self.makeProject()
        defer { project.cleanUp() }
        #expect(try project.run(["upgrade", "dev", "--to", "002_index"]).exitCode == 0)
        let promote = try project.run(["plan", "staging"])
        #expect(promote.exitCode == 0, "\(promote.output)")
        #expect(promote.stdout.contains("staging: promote from dev would apply 2 revision(s)"))
        #expect(!promote.stdout.contains("003_email"))

        let down = try project.run(["plan", "dev", "--down", "--to", "base", "--sql"])
        #expect(down.exitCode == 0, "\(down.output)")
        #expect(down.stdout.contains("-- 1/2 002_index"))
        #expect(down.stdout.contains("DROP INDEX CONCURRENTLY accounts_id2"))
        #expect(down.stdout.contains("DELETE FROM \"orchestrate\".revisions WHERE revision = '001_accounts';"))
        #expect(down.stdout.contains("'reverted'"))
        #expect(!down.stdout.contains("CREATE SCHEMA"), "the ledger exists: no DDL")
        let steps = try project.run(["plan", "dev", "--down", "--steps", "1"])
        #expect(steps.stdout.contains("dev: downgrade would revert 1 revision(s)"))
        #expect(steps.stdout.contains("1. down 002_index"))
        // Nothing was reverted by planning.
        #expect(try TestPostgres.query(project.databases[0], "SELECT count(*) FROM orchestrate.revisions") == [["2"]])
    }

    @Test("plan refuses what the run would refuse, and reports a freeze as a blocker")
    func refusals() throws {
        let project = try Self.makeProject()
        defer { project.cleanUp() }
        let usage = try project.run(["plan", "dev", "--steps", "1"])
        #expect(usage.exitCode == 2)
        #expect(usage.stderr.contains("--steps plans a downgrade: add --down"))
        #expect(try project.run(["plan", "dev", "--down"]).exitCode == 2)
        let single = try project.run(["plan", "dev", "--single-transaction"])
        #expect(single.exitCode == 2)
        #expect(single.stderr.contains("002_index"))
        #expect(single.stderr.contains("non-transactional"))
        let unknown = try project.run(["plan", "dev", "--to", "999"])
        #expect(unknown.exitCode == 2, "\(unknown.output)")

        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        #expect(try project.run(["lock", "dev", "--reason", "quarter close"]).exitCode == 0)
        let frozen = try project.run(["plan", "dev", "--down", "--steps", "1"])
        #expect(frozen.exitCode == 0, "\(frozen.output)")
        #expect(frozen.stdout.contains("the run would be refused now"))
        #expect(frozen.stdout.contains("quarter close"))
        let script = try project.run(["plan", "dev", "--down", "--steps", "1", "--sql"])
        #expect(script.stderr.contains("quarter close"))
        #expect(script.stdout.contains("RAISE EXCEPTION 'environment dev is frozen"))
    }
}
