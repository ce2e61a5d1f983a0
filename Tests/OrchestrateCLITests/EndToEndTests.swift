import Foundation
import TestSupport
import Testing

/// The main job as a user runs it: upgrade the first stage, promote along the pipeline, look at status and audit.
@Suite("end to end")
struct EndToEndTests {
    /// A three-stage project on fresh databases with three revisions.
    static func makeProject(protectedProduction: Bool = true) throws -> TestProject {
        let project = try TestProject()
        try project.environment("dev")
        try project.environment("staging", promotesFrom: "dev")
        try project.environment(
            "production", promotesFrom: "staging", extra: protectedProduction ? "protected = true\n" : "")
        try project.migration(
            "001_accounts", parent: nil,
            up: "CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL);",
            down: "DROP TABLE accounts;")
        try project.migration(
            "002_users", parent: "001_accounts",
            up: "CREATE TABLE users (id bigint PRIMARY KEY, account_id bigint REFERENCES accounts);",
            down: "DROP TABLE users;")
        try project.migration(
            "003_email", parent: "002_users",
            up: "ALTER TABLE users ADD COLUMN email text;",
            down: "ALTER TABLE users DROP COLUMN email;")
        return project
    }

    @Test("upgrade dev, promote staging and production, status and audit")
    func mainJob() throws {
        let project = try Self.makeProject()
        defer { project.cleanUp() }
        try project.gitInitAndCommit()

        let upgrade = try project.run(["upgrade", "dev"])
        #expect(upgrade.exitCode == 0, "\(upgrade.output)")
        #expect(upgrade.stdout.contains("dev: applied 3 revision(s)"))
        // One progress line per revision, with its duration.
        #expect(upgrade.stderr.contains("dev: applied  001_accounts ("))
        #expect(upgrade.stderr.contains("dev: applied  003_email ("))

        let again = try project.run(["upgrade", "dev"])
        #expect(again.exitCode == 0)
        #expect(again.stdout.contains("dev: up to date"))

        let promote = try project.run(["promote", "staging"])
        #expect(promote.exitCode == 0, "\(promote.output)")
        #expect(promote.stdout.contains("staging: applied 3 revision(s)"))

        // production is protected: without --yes and without a terminal nothing runs.
        let refused = try project.run(["promote", "production"])
        #expect(refused.exitCode == 1)
        #expect(refused.stderr.contains("protected"))
        #expect(refused.stderr.contains("--yes"))

        let status = try project.run(["status"])
        #expect(status.exitCode == 0, "\(status.output)")
        #expect(status.stdout.contains("dev  (first stage)"))
        #expect(status.stdout.contains("003_email (3 applied)"))
        #expect(status.stdout.contains("staging  (promotes from dev)"))
        #expect(status.stdout.contains("pending  3 from staging: 001_accounts, 002_users, 003_email"))

        let production = try project.run(["promote", "production", "--yes"])
        #expect(production.exitCode == 0, "\(production.output)")

        let json = try project.run(["status", "--json"])
        let decoded = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        let entries = try #require(decoded)
        #expect(entries.map { $0["name"] as? String } == ["dev", "staging", "production"])
        #expect(entries.allSatisfy { ($0["appliedCount"] as? Int) == 3 })
        #expect(entries.allSatisfy { ($0["pending"] as? [String]) == [] })
        let last = try #require(entries[2]["lastChange"] as? [String: Any])
        #expect(last["promotedFrom"] as? String == "staging")
        #expect((last["gitCommit"] as? String)?.count == 40)

        let audit = try project.run(["audit", "staging", "--json"])
        let events = try #require(try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [[String: Any]])
        let actions = events.map { "\($0["action"] as? String ?? "") \($0["outcome"] as? String ?? "")" }
        #expect(actions.first == "promote succeeded")
        #expect(actions.contains("promote started"))
        #expect(actions.filter { $0 == "promote applied" }.count == 3)
    }

    @Test("the ledger records SQL, checksum, provenance and the source stage")
    func ledgerContents() throws {
        let project = try Self.makeProject()
        defer { project.cleanUp() }
        try project.gitInitAndCommit()
        let head = try project.git("rev-parse", "HEAD")
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        #expect(try project.run(["promote", "staging"]).exitCode == 0)

        let rows = try TestPostgres.query(
            project.databases[1],
            """
            SELECT revision, array_to_string(parents, ','), length(checksum), up_sql, down_sql, git_commit, git_branch,
                   promoted_from, os_user IS NOT NULL, host IS NOT NULL, db_user, state, environment
            FROM orchestrate.revisions ORDER BY revision
            """)
        #expect(rows.count == 3)
        #expect(rows[1][0] == "002_users")
        #expect(rows[1][1] == "001_accounts")
        #expect(rows[1][2] == "64")
        #expect(rows[1][3]?.contains("CREATE TABLE users") == true)
        #expect(rows[1][4]?.contains("DROP TABLE users") == true)
        #expect(rows[1][5] == head)
        #expect(rows[1][6] == "main")
        #expect(rows[1][7] == "dev")
        #expect(rows[1][8] == "t" && rows[1][9] == "t")
        #expect(rows[1][10] == "postgres")
        #expect(rows[1][11] == "applied")
        #expect(rows[1][12] == "staging")
        // The event log is append-only.
        let tamper = try? TestPostgres.query(project.databases[1], "DELETE FROM orchestrate.events")
        #expect(tamper == nil)
    }

    @Test("upgrade --to, downgrade --to, --steps and base, using the down SQL recorded in the ledger")
    func upAndDown() throws {
        let project = try Self.makeProject()
        defer { project.cleanUp() }
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev", "--to", "002"]).exitCode == 0)
        var applied = try TestPostgres.query(
            project.databases[0], "SELECT revision FROM orchestrate.revisions ORDER BY 1")
        #expect(applied.map { $0[0] } == ["001_accounts", "002_users"])
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)

        // The file changes after apply: downgrade still runs what was applied, from the ledger.
        try project.migration(
            "003_email", parent: "002_users", up: "ALTER TABLE users ADD COLUMN email text;",
            down: "SELECT 1/0;")
        let down = try project.run(["downgrade", "dev", "--to", "001_accounts"])
        #expect(down.exitCode == 0, "\(down.output)")
        #expect(down.stderr.contains("dev: reverted 003_email"))
        #expect(
            down.stderr.range(of: "reverted 003_email")!.lowerBound
                < down.stderr.range(of: "reverted 002_users")!.lowerBound)
        applied = try TestPostgres.query(project.databases[0], "SELECT revision FROM orchestrate.revisions")
        #expect(applied.map { $0[0] } == ["001_accounts"])
        let tables = try TestPostgres.query(project.databases[0], "SELECT to_regclass('users') IS NULL")
        #expect(tables[0][0] == "t")

        #expect(try project.run(["upgrade", "dev", "--to", "002_users"]).exitCode == 0)
        #expect(try project.run(["downgrade", "dev", "--steps", "1"]).exitCode == 0)
        applied = try TestPostgres.query(project.databases[0], "SELECT revision FROM orchestrate.revisions")
        #expect(applied.map { $0[0] } == ["001_accounts"])

        #expect(try project.run(["downgrade", "dev", "--to", "base"]).exitCode == 0)
        applied = try TestPostgres.query(project.databases[0], "SELECT count(*) FROM orchestrate.revisions")
        #expect(applied[0][0] == "0")
    }

    @Test("promote --to promotes only that revision and its ancestors")
    func promoteTo() throws {
        let project = try Self.makeProject()
        defer { project.cleanUp() }
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        let result = try project.run(["promote", "staging", "--to", "002_users"])
        #expect(result.exitCode == 0, "\(result.output)")
        let applied = try TestPostgres.query(
            project.databases[1], "SELECT revision FROM orchestrate.revisions ORDER BY 1")
        #expect(applied.map { $0[0] } == ["001_accounts", "002_users"])
    }

    @Test("runs the same from a sub-folder, and --project points elsewhere")
    func projectDiscovery() throws {
        let project = try Self.makeProject()
        defer { project.cleanUp() }
        try project.gitInitAndCommit()
        try FileManager.default.createDirectory(atPath: project.root + "/src/deep", withIntermediateDirectories: true)
        let fromSub = try project.run(["upgrade", "dev"], in: "src/deep")
        #expect(fromSub.exitCode == 0, "\(fromSub.output)")
        let elsewhere = try TestProject.runOrchestrate(["status", "dev", "--project", project.root], directory: "/")
        #expect(elsewhere.exitCode == 0, "\(elsewhere.output)")
        #expect(elsewhere.stdout.contains("003_email (3 applied)"))
        let nowhere = try TestProject.runOrchestrate(["status"], directory: "/")
        #expect(nowhere.exitCode == 2)
        #expect(nowhere.stderr.contains("no environments/ folder"))
    }

    @Test("new writes a revision on top of the single head; heads lists it")
    func newAndHeads() throws {
        let project = try Self.makeProject()
        defer { project.cleanUp() }
        let created = try project.run(["new", "add", "orders table"])
        #expect(created.exitCode == 0, "\(created.output)")
        let path = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(path.hasPrefix("migrations/"))
        #expect(path.hasSuffix("_add_orders_table.sql"))
        let text = try project.read(path)
        #expect(text.contains("-- parent: 003_email"))
        #expect(text.contains("-- migrate:up"))
        let heads = try project.run(["heads"])
        #expect(
            heads.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                == String(path.dropFirst("migrations/".count).dropLast(4)))
    }

    @Test("a non-transactional revision runs statement by statement")
    func nonTransactional() throws {
        let project = try Self.makeProject()
        defer { project.cleanUp() }
        try project.migration(
            "004_index", parent: "003_email",
            up:
                "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\nCREATE INDEX CONCURRENTLY users_account_idx ON users (account_id);",
            down: "DROP INDEX CONCURRENTLY users_email_idx;\nDROP INDEX CONCURRENTLY users_account_idx;",
            header: "-- transaction: false\n")
        try project.gitInitAndCommit()
        let result = try project.run(["upgrade", "dev"])
        #expect(result.exitCode == 0, "\(result.output)")
        let rows = try TestPostgres.query(
            project.databases[0],
            "SELECT state, statements_done, statements_total, transactional FROM orchestrate.revisions WHERE revision = '004_index'"
        )
        #expect(rows.first == ["applied", "2", "2", "f"])
        #expect(try project.run(["downgrade", "dev", "--steps", "1"]).exitCode == 0)
        let index = try TestPostgres.query(project.databases[0], "SELECT to_regclass('users_email_idx') IS NULL")
        #expect(index[0][0] == "t")
    }
}

/// The project's sandbox cluster, as a new user meets it.
@Suite("sandbox")
struct SandboxTests {
    @Test("sandbox:NAME starts the sandbox on first use and creates the database; start, status and stop")
    func sandboxLifecycle() throws {
        let project = try TestProject()
        defer {
            _ = try? project.run(["sandbox", "stop"])
            project.cleanUp()
        }
        try project.write("environments/dev.toml", "database_url = \"${DEV_URL:-sandbox:app_dev}\"\n")
        try project.migration(
            "001_root", parent: nil,
            up: "CREATE TABLE t (id int);\nDO $$ BEGIN RAISE NOTICE 'hello from the migration'; END $$;",
            down: "DROP TABLE t;")
        let upgrade = try project.run(["upgrade", "dev"])
        #expect(upgrade.exitCode == 0, "\(upgrade.output)")
        #expect(upgrade.stderr.contains("started the sandbox PostgreSQL"))
        // Server notices reach the user as notes, not lost and not raw libpq output.
        #expect(upgrade.stderr.contains("note: dev: NOTICE: hello from the migration"))
        let running = try project.run(["sandbox", "status"])
        #expect(running.exitCode == 0)
        #expect(running.stdout.contains("running: host="))
        let status = try project.run(["status", "--json"])
        #expect(status.stdout.contains("\"appliedCount\" : 1"))
        #expect(try project.run(["sandbox", "start"]).stdout.contains("already running"))
        let stopped = try project.run(["sandbox", "stop"])
        #expect(stopped.stdout.contains("sandbox stopped"))
        let after = try project.run(["sandbox", "status"])
        #expect(after.exitCode == 0, "a report, not a check")
        #expect(after.stdout.contains("not running"))
        let json = try project.run(["sandbox", "status", "--json"])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(report["running"] as? Bool == false)
        #expect(report["initialized"] as? Bool == true)
        // The sandbox keeps its own files out of git, whatever the project's .gitignore says.
        #expect(try project.read(".orchestrate/.gitignore").contains("*"))
        // Data survives a restart.
        let again = try project.run(["status", "dev", "--json"])
        #expect(again.stdout.contains("\"appliedCount\" : 1"), "\(again.output)")
    }

    @Test("doctor: one line per check, exit 0 when all pass")
    func doctorHealthy() throws {
        let project = try EndToEndTests.makeProject()
        defer { project.cleanUp() }
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        let doctor = try project.run(["doctor"])
        #expect(doctor.exitCode == 0, "\(doctor.output)")
        for line in [
            "ok    environments/dev.toml: first stage", "ok    pipeline: dev, dev → staging, staging → production",
            "ok    migrations/: 3 revisions, head 003_email", "ok    git: repository",
            "ok    database dev: reachable as postgres",
            "ok    ledger dev: ledger `orchestrate` version 4, 3 revision(s) applied",
            "ok    ledger staging: not created yet",
        ] {
            #expect(doctor.stdout.contains(line), "missing \(line) in \(doctor.stdout)")
        }
    }

    @Test("a ledger newer than this build is refused, not misread")
    func newerLedger() throws {
        let project = try EndToEndTests.makeProject()
        defer { project.cleanUp() }
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev", "--to", "001"]).exitCode == 0)
        try TestPostgres.query(project.databases[0], "UPDATE orchestrate.ledger_meta SET version = 99")
        let result = try project.run(["upgrade", "dev"])
        #expect(result.exitCode == 3)
        #expect(result.stderr.contains("version 99, newer than this orchestrate"))
        let rows = try TestPostgres.query(project.databases[0], "SELECT count(*) FROM orchestrate.revisions")
        #expect(rows[0][0] == "1")
    }
}
