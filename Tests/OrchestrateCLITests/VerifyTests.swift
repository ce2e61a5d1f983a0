import Foundation
import TestSupport
import Testing

/// `orchestrate verify`: every revision up, down to the root, up again, on a scratch database.
@Suite("verify")
struct VerifyTests {
    static func project(down: String) throws -> TestProject {
        let project = try TestProject()
        try project.environment("dev")
        try project.migration(
            "001_users", parent: nil,
            up: "CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL);",
            down: "DROP TABLE users;")
        try project.migration(
            "002_audit", parent: "001_users",
            up:
                "CREATE TABLE audit (id int);\nCREATE INDEX users_name ON users (name);\nALTER TABLE users ADD COLUMN email text DEFAULT '';",
            down: down)
        try project.migration(
            "003_view", parent: "002_audit",
            up: "CREATE VIEW user_names AS SELECT name FROM users;",
            down: "DROP VIEW user_names;")
        try project.gitInitAndCommit()
        return project
    }

    @Test("down sections that undo their up sections pass")
    func passes() throws {
        let project = try Self.project(
            down: "ALTER TABLE users DROP COLUMN email;\nDROP INDEX users_name;\nDROP TABLE audit;")
        defer { project.cleanUp() }
        let scratch = try TestPostgres.createDatabase(prefix: "t_verify")
        defer { TestPostgres.dropDatabase(scratch.name) }
        let result = try project.run(["verify", "--url", scratch.conninfo])
        #expect(result.exitCode == 0, "\(result.output)")
        #expect(result.stdout.contains("verify: 3 revision(s) on"))
        #expect(result.stdout.contains("down      002_audit  ok"))
        #expect(result.stdout.contains("up again  003_view   ok"))
        #expect(result.stdout.contains("every down section undoes its up section"))
    }

    @Test("a down section that forgets something is named, with what it left behind")
    func forgetfulDown() throws {
        let project = try Self.project(down: "ALTER TABLE users DROP COLUMN email;\nDROP TABLE audit;")
        defer { project.cleanUp() }
        let scratch = try TestPostgres.createDatabase(prefix: "t_verify")
        defer { TestPostgres.dropDatabase(scratch.name) }
        let result = try project.run(["verify", "--url", scratch.conninfo])
        #expect(result.exitCode == 1, "\(result.output)")
        #expect(
            result.stdout.contains(
                "down      002_audit  FAILED: its down section does not undo what its up section did"))
        #expect(result.stdout.contains("+ index public.users_name"))
        #expect(result.stdout.contains("down      001_users  ok"), "the leftover is blamed once, on 002_audit only")
        // Dropping the table took the stray index with it: applied again, everything is as the first time.
        #expect(result.stdout.contains("up again  002_audit  ok"))
        #expect(result.stdout.contains("verify: 1 problem(s)"))

        let other = try TestPostgres.createDatabase(prefix: "t_verify")
        defer { TestPostgres.dropDatabase(other.name) }
        let json = try project.run(["verify", "--json", "--url", other.conninfo])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let checks = try #require(report["checks"] as? [[String: Any]])
        let failed = checks.filter { ($0["ok"] as? Bool) == false }
        #expect(failed.first?["revision"] as? String == "002_audit")
        #expect(failed.first?["phase"] as? String == "down")
        #expect(json.exitCode == 1)
    }

    @Test("a down section that drops too much, or fails, is named too")
    func wrongDowns() throws {
        let project = try Self.project(
            down:
                "ALTER TABLE users DROP COLUMN email;\nDROP INDEX users_name;\nDROP TABLE audit;\nALTER TABLE users ALTER COLUMN name DROP NOT NULL;"
        )
        defer { project.cleanUp() }
        let scratch = try TestPostgres.createDatabase(prefix: "t_verify")
        defer { TestPostgres.dropDatabase(scratch.name) }
        let tooMuch = try project.run(["verify", "--url", scratch.conninfo])
        #expect(tooMuch.exitCode == 1, "\(tooMuch.output)")
        #expect(tooMuch.stdout.contains("~ column public.users.name: text NOT NULL -> text"))

        try project.migration(
            "003_view", parent: "002_audit", up: "CREATE VIEW user_names AS SELECT name FROM users;",
            down: "DROP VIEW no_such_view;")
        let other = try TestPostgres.createDatabase(prefix: "t_verify")
        defer { TestPostgres.dropDatabase(other.name) }
        let failing = try project.run(["verify", "--url", other.conninfo])
        #expect(failing.exitCode == 1, "\(failing.output)")
        #expect(failing.stdout.contains("down      003_view   FAILED: the down section failed"))
        #expect(failing.stdout.contains("view \"no_such_view\" does not exist"))
    }

    @Test("--url must be an empty database; --to limits the round trip")
    func urlAndTarget() throws {
        let project = try Self.project(down: "DROP TABLE audit;")
        defer { project.cleanUp() }
        let busy = try TestPostgres.createDatabase(prefix: "t_verify")
        defer { TestPostgres.dropDatabase(busy.name) }
        try TestPostgres.query(busy.name, "CREATE TABLE precious (id int)")
        let refused = try project.run(["verify", "--url", busy.conninfo])
        #expect(refused.exitCode == 2, "\(refused.output)")
        #expect(refused.stderr.contains("verify needs an empty scratch database"))
        #expect(refused.stderr.contains("table public.precious"))
        #expect(
            try TestPostgres.query(busy.name, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'orchestrate%'")
                == [["0"]])

        let scratch = try TestPostgres.createDatabase(prefix: "t_verify")
        defer { TestPostgres.dropDatabase(scratch.name) }
        let limited = try project.run(["verify", "--to", "001", "--url", scratch.conninfo])
        #expect(limited.exitCode == 0, "\(limited.output)")
        #expect(limited.stdout.contains("verify: 1 revision(s)"))
    }

    @Test(
        "by default verify uses a throwaway database on the project's sandbox, drops it, and stops a sandbox it started"
    )
    func sandboxDefault() throws {
        let project = try Self.project(
            down: "ALTER TABLE users DROP COLUMN email;\nDROP INDEX users_name;\nDROP TABLE audit;")
        defer {
            _ = try? project.run(["sandbox", "stop"])
            project.cleanUp()
        }
        let result = try project.run(["verify"])
        #expect(result.exitCode == 0, "\(result.output)")
        #expect(result.stdout.contains("on a scratch database (sandbox:orchestrate_verify_"))
        #expect(result.stderr.contains("verify stops it again"))
        // verify started the sandbox, so it stopped it.
        let stopped = try project.run(["sandbox", "status"])
        #expect(stopped.stdout.contains("not running"), "\(stopped.output)")

        // A sandbox that was already running stays running; the scratch database is gone either way.
        #expect(try project.run(["sandbox", "start"]).exitCode == 0)
        let again = try project.run(["verify"])
        #expect(again.exitCode == 0, "\(again.output)")
        #expect(!again.stderr.contains("verify stops it again"))
        let list = try project.run(["sandbox", "status"])
        #expect(list.exitCode == 0, "\(list.output)")
        let connInfo = list.stdout.split(separator: "\n").first.map { String($0.dropFirst("running: ".count)) } ?? ""
        let count = try TestProject.runProgram(
            "/usr/bin/psql",
            ["-XtAc", "SELECT count(*) FROM pg_database WHERE datname LIKE 'orchestrate_verify_%'", connInfo])
        #expect(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "\(count.output)")
    }

    @Test("a merge revision written by `orchestrate merge` (no SQL) is verified like any other")
    func mergeRevision() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.environment("dev")
        try project.migration("001_users", parent: nil, up: "CREATE TABLE users (id int);", down: "DROP TABLE users;")
        try project.migration("002_a", parent: "001_users", up: "CREATE TABLE a (id int);", down: "DROP TABLE a;")
        try project.migration("003_b", parent: "001_users", up: "CREATE TABLE b (id int);", down: "DROP TABLE b;")
        let merge = try project.run(["merge"])
        #expect(merge.exitCode == 0, "\(merge.output)")
        let scratch = try TestPostgres.createDatabase(prefix: "t_verify")
        defer { TestPostgres.dropDatabase(scratch.name) }
        let result = try project.run(["verify", "--url", scratch.conninfo])
        #expect(result.exitCode == 0, "\(result.output)")
        #expect(result.stdout.contains("all 4 revision(s) round-tripped"), "\(result.stdout)")
    }

    @Test("a project without down sections: verify says nothing was round-tripped and fails; --up-only passes")
    func withoutDownSections() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.environment("dev")
        try project.migration("V1__users", parent: nil, up: "CREATE TABLE users (id int);")
        try project.migration("V2__orders", parent: "V1__users", up: "CREATE TABLE orders (id int);")
        try project.migration("V3__index", parent: "V2__orders", up: "CREATE INDEX orders_id ON orders (id);")
        let scratch = try TestPostgres.createDatabase(prefix: "t_verify")
        defer { TestPostgres.dropDatabase(scratch.name) }
        let result = try project.run(["verify", "--url", scratch.conninfo])
        #expect(result.exitCode == 1, "\(result.output)")
        #expect(!result.stdout.contains("every down section undoes"))
        #expect(
            result.stdout.contains(
                "3 of 3 revision(s) not round-tripped (V1__users, V2__orders, V3__index); 0 round-tripped"),
            "\(result.stdout)")
        #expect(result.stdout.contains("--up-only"))
        #expect(result.stdout.contains("keeps the revisions verify applied"))

        let json = try project.run(["verify", "--json", "--url", scratch.conninfo])
        #expect(json.exitCode == 2, "the database now holds the revisions' tables: \(json.output)")

        let fresh = try TestPostgres.createDatabase(prefix: "t_verify")
        defer { TestPostgres.dropDatabase(fresh.name) }
        let upOnly = try project.run(["verify", "--up-only", "--json", "--url", fresh.conninfo])
        #expect(upOnly.exitCode == 0, "\(upOnly.output)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(upOnly.stdout.utf8)) as? [String: Any])
        #expect(report["mode"] as? String == "up only")
        #expect((report["schema"] as? [String])?.contains("table public.orders") == true, "\(upOnly.stdout)")
        #expect((report["checks"] as? [[String: Any]])?.count == 3)
    }

    @Test("verify --url leaves the database as it found it, so it can run again on the same one")
    func rerunOnSameDatabase() throws {
        let project = try Self.project(
            down: "ALTER TABLE users DROP COLUMN email;\nDROP INDEX users_name;\nDROP TABLE audit;")
        defer { project.cleanUp() }
        let scratch = try TestPostgres.createDatabase(prefix: "t_verify")
        defer { TestPostgres.dropDatabase(scratch.name) }
        for _ in 0..<2 {
            let result = try project.run(["verify", "--url", scratch.conninfo])
            #expect(result.exitCode == 0, "\(result.output)")
            #expect(!result.stdout.contains("keeps"))
        }
        #expect(
            try TestPostgres.query(
                scratch.name,
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
            ) == [["0"]])
        #expect(
            try TestPostgres.query(scratch.name, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'orchestrate%'")
                == [["0"]])
    }

    @Test("statements that cannot run in a transaction are refused before anything runs, for the whole plan")
    func preflight() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.environment("dev")
        try project.migration("001_users", parent: nil, up: "CREATE TABLE users (id int);", down: "DROP TABLE users;")
        try project.migration(
            "002_index", parent: "001_users", up: "-- the index\nCREATE INDEX CONCURRENTLY users_id ON users (id);",
            down: "DROP INDEX CONCURRENTLY users_id;")
        let scratch = try TestPostgres.createDatabase(prefix: "t_verify")
        defer { TestPostgres.dropDatabase(scratch.name) }
        let result = try project.run(["verify", "--url", scratch.conninfo])
        #expect(result.exitCode == 2, "\(result.output)")
        #expect(result.stderr.contains("2 problems found before anything ran"), "\(result.stderr)")
        #expect(
            result.stderr.contains(
                "migrations/002_index.sql:4: `CREATE INDEX CONCURRENTLY` cannot run inside a transaction block"))
        #expect(result.stderr.contains("migrations/002_index.sql:6: `DROP INDEX CONCURRENTLY`"))
        #expect(result.stderr.contains("-- transaction: false"))
        #expect(
            try TestPostgres.query(scratch.name, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'orchestrate%'")
                == [["0"]])
    }
}
