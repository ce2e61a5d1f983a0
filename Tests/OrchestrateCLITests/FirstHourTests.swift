import Foundation
import TestSupport
import Testing

/// The first hour of a team that comes from Alembic: init, new -m, history, upgrade --steps, typos.
@Suite("first hour")
struct FirstHourTests {
    @Test("init writes the three stages, migrations/, .env.example and .gitignore entries; never overwrites")
    func initProject() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let folder = project.root + "/app"
        let result = try TestProject.runOrchestrate(["init", "app"], directory: project.root)
        #expect(result.exitCode == 0, "\(result.output)")
        for path in [
            "environments/dev.toml", "environments/staging.toml", "environments/production.toml", ".env.example",
        ] {
            #expect(result.stdout.contains("wrote \(path)"))
            #expect(FileManager.default.fileExists(atPath: folder + "/" + path))
        }
        #expect(result.stdout.contains("next: cd app && orchestrate new"))
        let gitignore = try String(contentsOfFile: folder + "/.gitignore", encoding: .utf8)
        #expect(gitignore.contains(".orchestrate/\n") && gitignore.contains(".env\n"))
        let production = try String(contentsOfFile: folder + "/environments/production.toml", encoding: .utf8)
        #expect(production.contains("promotes_from = \"staging\"") && production.contains("protected = true"))

        // A second init refuses, writing nothing, and says which files are in the way.
        try "keep me".write(toFile: folder + "/.env.example", atomically: true, encoding: .utf8)
        let again = try TestProject.runOrchestrate(["init"], directory: folder)
        #expect(again.exitCode == 2, "\(again.output)")
        #expect(again.stderr.contains("init never overwrites a file"))
        #expect(again.stderr.contains("environments/dev.toml"))
        #expect(try String(contentsOfFile: folder + "/.env.example", encoding: .utf8) == "keep me")
    }

    @Test("from init to promote staging, as the README's first screen says")
    func initToPromote() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try TestPostgres.createDatabase(prefix: "t_first_dev")
        let staging = try TestPostgres.createDatabase(prefix: "t_first_stg")
        defer {
            TestPostgres.dropDatabase(dev.name)
            TestPostgres.dropDatabase(staging.name)
        }
        // The README's sandbox defaults, pointed at the test server instead (as a user's .env would).
        let variables = ["DEV_DATABASE_URL": dev.conninfo, "STAGING_DATABASE_URL": staging.conninfo]
        func run(_ arguments: [String]) throws -> TestProject.RunResult {
            try TestProject.runOrchestrate(arguments, directory: project.root, environment: variables)
        }
        #expect(try run(["init"]).exitCode == 0)
        try project.git("init", "-q")
        let new = try run(["new", "-m", "create users"])
        #expect(new.exitCode == 0, "\(new.output)")
        let path = new.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(path.hasSuffix("_create_users.sql"))
        let text = try project.read(path)
        try project.write(
            path,
            text.replacingOccurrences(
                of: "-- migrate:down", with: "CREATE TABLE users (id int);\n-- migrate:down\nDROP TABLE users;"))
        try project.gitInitAndCommit("first revision")
        #expect(try run(["upgrade", "dev"]).exitCode == 0)
        let promote = try run(["promote", "staging"])
        #expect(promote.exitCode == 0, "\(promote.output)")
        #expect(try TestPostgres.query(staging.name, "SELECT count(*) FROM users") == [["0"]])
        let status = try run(["status", "dev", "staging"])
        #expect(status.exitCode == 0, "\(status.output)")
    }

    @Test("history: newest first, message, parents, who added each one in which commit; --env marks what runs")
    func history() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.environment("dev")
        try project.write(
            "migrations/ae1027a6acf.sql", "-- Create accounts table\n-- migrate:up\nCREATE TABLE accounts (id int);\n")
        try project.gitInitAndCommit("Import from Alembic")
        try project.migration("20261121093000_add_orders", parent: "ae1027a6acf", up: "CREATE TABLE orders (id int);")
        try project.git("add", "-A")
        try project.git("commit", "-q", "-m", "Add orders", "--author", "Grace Hopper <grace@example.com>")
        try project.migration("20261122093000_add_index", parent: "20261121093000_add_orders", up: "SELECT 1;")
        #expect(try project.run(["upgrade", "dev", "--to", "20261121093000"]).exitCode == 0)

        let result = try project.run(["history", "--env", "dev"])
        #expect(result.exitCode == 0, "\(result.output)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let titles = lines.filter { !$0.hasPrefix(" ") }
        #expect(titles.count == 3)
        #expect(titles[0].hasPrefix("20261122093000_add_index (head)") && titles[0].contains("pending in dev"))
        #expect(titles[1].hasPrefix("20261121093000_add_orders") && titles[1].contains("applied in dev"))
        #expect(titles[2].hasPrefix("ae1027a6acf") && titles[2].contains("applied in dev"))
        #expect(result.stdout.contains("    Create accounts table"))
        #expect(result.stdout.contains("    add orders"))
        #expect(result.stdout.contains("added in") && result.stdout.contains("by Grace Hopper <grace@example.com>"))
        #expect(result.stdout.contains("not in git history"), "the third file is not committed: \(result.stdout)")

        let json = try project.run(["history", "--json"])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let revisions = try #require(report["revisions"] as? [[String: Any]])
        #expect(
            revisions.map { $0["revision"] as? String } == [
                "20261122093000_add_index", "20261121093000_add_orders", "ae1027a6acf",
            ])
        #expect((revisions[1]["addedBy"] as? [String: Any])?["summary"] as? String == "Add orders")
        #expect(revisions[0]["addedBy"] == nil)
    }

    @Test("upgrade --steps N applies the next N revisions (Alembic's upgrade +N); new -m takes the message")
    func stepsAndMessage() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.environment("dev")
        try project.migration("001", parent: nil, up: "CREATE TABLE a (id int);")
        try project.migration("002", parent: "001", up: "CREATE TABLE b (id int);")
        try project.migration("003", parent: "002", up: "CREATE TABLE c (id int);")
        try project.gitInitAndCommit()
        let two = try project.run(["upgrade", "dev", "--steps", "2"])
        #expect(two.exitCode == 0, "\(two.output)")
        #expect(two.stdout.contains("applied 2 revision(s)") && two.stdout.contains("now at 002"))
        let rest = try project.run(["upgrade", "dev", "--steps", "5"])
        #expect(rest.stdout.contains("applied 1 revision(s)"), "\(rest.output)")
        #expect(try project.run(["upgrade", "dev", "--steps", "0"]).exitCode == 2)

        let both = try project.run(["new", "-m", "x", "y"])
        #expect(both.exitCode == 2)
        #expect(both.stderr.contains("give the message once"))
        let new = try project.run(["new", "--message", "add email"])
        #expect(new.exitCode == 0, "\(new.output)")
        #expect(new.stdout.contains("_add_email.sql"))
    }

    @Test("typos get a suggestion: subcommands, help topics, promotes_from")
    func typos() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let upgrade = try project.run(["upgarde", "dev"])
        #expect(upgrade.exitCode == 2)
        #expect(upgrade.stderr.contains("`upgarde` is not an orchestrate command (did you mean `upgrade`?)"))
        let help = try project.run(["help", "nosuch"])
        #expect(help.exitCode == 2, "help for an unknown command is an error, not the top-level help")
        #expect(help.stderr.contains("`nosuch` is not an orchestrate command"))
        #expect(try project.run(["help", "upgrade"]).exitCode == 0)

        try project.environment("dev")
        try project.environment("staging", promotesFrom: "dve")
        let promote = try project.run(["promote", "staging"])
        #expect(promote.exitCode == 2)
        #expect(promote.stderr.contains("did you mean `dev`?"), "\(promote.output)")
    }

    @Test("each revision is announced as it starts; a single transaction says `ran`, then what the commit did")
    func progressIsTruthful() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.environment("dev")
        try project.migration("001", parent: nil, up: "CREATE TABLE a (id int);", down: "DROP TABLE a;")
        try project.migration("002", parent: "001", up: "CREATE TABLE b (id int);", down: "DROP TABLE b;")
        try project.migration("003", parent: "002", up: "CREATE TABLE c (id int);\nSELECT 1/0;", down: "DROP TABLE c;")
        try project.gitInitAndCommit()
        let ordinary = try project.run(["upgrade", "dev", "--to", "001"])
        #expect(ordinary.stderr.contains("dev: applying 001\n"), "\(ordinary.stderr)")
        #expect(ordinary.stderr.contains("dev: applied  001 ("))

        let single = try project.run(["upgrade", "dev", "--single-transaction"])
        #expect(single.exitCode == 3, "\(single.output)")
        #expect(single.stderr.contains("dev: ran      002 ("), "\(single.stderr)")
        #expect(single.stderr.contains("not committed until the single transaction commits"))
        #expect(!single.stderr.contains("dev: applied  002"), "002 was rolled back with the rest")
        #expect(single.stderr.contains("none of the 2 revision(s) were applied"))

        try project.migration("003", parent: "002", up: "CREATE TABLE c (id int);", down: "DROP TABLE c;")
        let committed = try project.run(["upgrade", "dev", "--single-transaction"])
        #expect(committed.exitCode == 0, "\(committed.output)")
        #expect(committed.stderr.contains("dev: committed the single transaction: 2 revision(s) applied"))
    }

    @Test("plan does not call a no-op run refused: uncommitted files block a run only when it has work")
    func planOfNoOp() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.environment("dev")
        try project.environment("staging", promotesFrom: "dev")
        try project.migration("001", parent: nil, up: "CREATE TABLE a (id int);")
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        #expect(try project.run(["promote", "staging"]).exitCode == 0)
        try project.write(
            "environments/staging.toml", try project.read("environments/staging.toml") + "# a local note\n")
        let plan = try project.run(["plan", "staging"])
        #expect(plan.exitCode == 0, "\(plan.output)")
        #expect(plan.stdout.contains("nothing to run"))
        #expect(!plan.stdout.contains("would be refused"), "\(plan.stdout)")
        #expect(try project.run(["promote", "staging"]).exitCode == 0, "and indeed the run succeeds")

        // With work to do, the same uncommitted file does block the run, and plan says so.
        try project.migration("002", parent: "001", up: "CREATE TABLE b (id int);")
        try project.git("add", "migrations")
        try project.git("commit", "-q", "-m", "002")
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        let blocked = try project.run(["plan", "staging"])
        #expect(blocked.stdout.contains("would be refused now"), "\(blocked.output)")
    }

    @Test("audit: outcomes are never cut, and a row without a revision keeps the columns aligned")
    func auditColumns() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.environment("dev")
        try project.migration("001_users", parent: nil, up: "CREATE TABLE a (id int);")
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        #expect(try project.run(["lock", "dev", "--reason", "release"]).exitCode == 0)
        let audit = try project.run(["audit", "dev"])
        #expect(audit.exitCode == 0, "\(audit.output)")
        let rows = audit.stdout.split(separator: "\n").filter { !$0.hasPrefix(" ") }.map(String.init)
        #expect(rows.count >= 4, "\(audit.stdout)")
        // The "by" column starts at the same place on every row, with or without a revision.
        let starts = Set(rows.compactMap { $0.range(of: "  by ")?.lowerBound.utf16Offset(in: $0) })
        #expect(starts.count == 1, "\(audit.stdout)")
        #expect(rows.contains { $0.contains("succeeded") }, "\(audit.stdout)")
        #expect(rows.contains { $0.contains(" lock ") && $0.contains("frozen") && $0.contains(" - ") })
    }

    @Test("hints fit their command: unlock, downgrade, the edit warning, two applied heads")
    func hintsFitTheirCommand() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.environment("dev", extra: "protected = true\n")
        try project.migration("001", parent: nil, up: "CREATE TABLE a (id int);", down: "DROP TABLE a;")
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        #expect(try project.run(["lock", "dev", "--reason", "x"]).exitCode == 0)
        let unlock = try project.run(["unlock", "dev"])
        #expect(unlock.exitCode == 1)
        #expect(unlock.stderr.contains("hint: rerun with --yes to unlock `dev`"), "\(unlock.stderr)")
        #expect(!unlock.stderr.contains("orchestrate plan"))
        #expect(try project.run(["unlock", "dev", "--yes"]).exitCode == 0)
        let downgrade = try project.run(["downgrade", "dev", "--to", "base"])
        #expect(downgrade.stderr.contains("`orchestrate plan dev --down --to base`"), "\(downgrade.stderr)")

        try project.migration("001", parent: nil, up: "CREATE TABLE a (id int, b int);", down: "DROP TABLE a;")
        let edited = try project.run(["upgrade", "dev"])
        #expect(edited.stderr.contains("`orchestrate repair dev 001 --reason TEXT`"), "\(edited.stderr)")
        try project.migration("001", parent: nil, up: "CREATE TABLE a (id int);", down: "DROP TABLE a;")

        // Two heads, both applied: rebasing either way is refused, and both commands say that only merge works.
        try project.migration("002_a", parent: "001", up: "SELECT 1;")
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        try project.migration("002_b", parent: "001", up: "SELECT 2;")
        #expect(try project.run(["upgrade", "dev", "--to", "002_b"]).exitCode == 0)
        let heads = try project.run(["upgrade", "dev"])
        #expect(heads.exitCode == 2)
        #expect(
            heads.stderr.contains("`orchestrate merge` joins them with a merge revision (always possible)"),
            "\(heads.stderr)")
        for (revision, onto) in [("002_a", "002_b"), ("002_b", "002_a")] {
            let rebase = try project.run(["rebase", revision, "--onto", onto])
            #expect(rebase.exitCode == 1, "\(rebase.output)")
            #expect(rebase.stderr.contains("so neither can be moved: run `orchestrate merge`"), "\(rebase.stderr)")
        }
    }

    @Test(
        "plan --sql --no-ledger is the DDL only; plan --sql --from --to needs no database, like alembic upgrade A:B --sql"
    )
    func reviewerScripts() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.environment("dev")
        try project.migration("001_users", parent: nil, up: "CREATE TABLE users (id int);", down: "DROP TABLE users;")
        try project.migration(
            "002_email", parent: "001_users", up: "ALTER TABLE users ADD COLUMN email text;",
            down: "ALTER TABLE users DROP COLUMN email;")
        try project.migration(
            "003_index", parent: "002_email", up: "CREATE INDEX CONCURRENTLY users_email ON users (email);",
            down: "DROP INDEX CONCURRENTLY users_email;", header: "-- transaction: false\n")
        try project.gitInitAndCommit()

        let review = try project.run(["plan", "dev", "--sql", "--no-ledger"])
        #expect(review.exitCode == 0, "\(review.output)")
        #expect(
            !review.stdout.contains("orchestrate\".") && !review.stdout.contains("pg_advisory_lock"), "\(review.stdout)"
        )
        #expect(
            review.stdout.contains(
                "-- 1/3 001_users (migrations/001_users.sql), up\nBEGIN;\nCREATE TABLE users (id int);\nCOMMIT;"))
        #expect(review.stdout.contains("-- 3/3 003_index (migrations/003_index.sql), up, non-transactional"))
        #expect(
            try TestPostgres.query(
                project.databases[0], "SELECT count(*) FROM pg_namespace WHERE nspname = 'orchestrate'") == [["0"]])

        // Offline: no environment is read; the database URL of dev could be anything.
        try project.write("environments/dev.toml", "database_url = \"host=/nonexistent-dir port=1 dbname=x\"\n")
        let offline = try project.run(["plan", "--sql", "--from", "base", "--to", "002"])
        #expect(offline.exitCode == 0, "\(offline.output)")
        #expect(offline.stdout.contains("upgrade from base to 002, from the files (offline), 2 revision(s)"))
        #expect(offline.stdout.contains("ALTER TABLE users ADD COLUMN email text;"))
        #expect(!offline.stdout.contains("003_index"))
        let down = try project.run(["plan", "--sql", "--from", "head", "--to", "001"])
        #expect(down.exitCode == 0, "\(down.output)")
        #expect(down.stdout.contains("-- 1/2 003_index (migrations/003_index.sql (down)), down"))
        #expect(down.stdout.contains("DROP INDEX CONCURRENTLY users_email;"))
        #expect(down.stdout.contains("ALTER TABLE users DROP COLUMN email;"))

        // The offline script runs as it is with psql.
        let scratch = try TestPostgres.createDatabase(prefix: "t_offline")
        defer { TestPostgres.dropDatabase(scratch.name) }
        try project.write("up.sql", offline.stdout)
        let ran = try TestProject.runProgram(
            "/usr/bin/psql",
            [
                "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", project.root + "/up.sql",
                scratch.conninfo,
            ])
        #expect(ran.exitCode == 0, "\(ran.output)")
        #expect(
            try TestPostgres.query(
                scratch.name, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'users'") == [["2"]])

        let usage = try project.run(["plan", "--from", "base", "--to", "head"])
        #expect(usage.exitCode == 2)
        #expect(usage.stderr.contains("add --sql"))
    }
}
