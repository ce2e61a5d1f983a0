import Foundation
import Testing
import TestSupport

/// `orchestrate verify`: every revision up, down to the root, up again, on a scratch database.
@Suite("verify")
struct VerifyTests {
    static func project(down: String) throws -> TestProject {
        let project = try TestProject()
        try project.environment("dev")
        try project.migration("001_users", parent: nil,
                              up: "CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL);",
                              down: "DROP TABLE users;")
        try project.migration("002_audit", parent: "001_users",
                              up: "CREATE TABLE audit (id int);\nCREATE INDEX users_name ON users (name);\nALTER TABLE users ADD COLUMN email text DEFAULT '';",
                              down: down)
        try project.migration("003_view", parent: "002_audit",
                              up: "CREATE VIEW user_names AS SELECT name FROM users;",
                              down: "DROP VIEW user_names;")
        try project.gitInitAndCommit()
        return project
    }

    @Test("down sections that undo their up sections pass")
    func passes() throws {
        let project = try Self.project(down: "ALTER TABLE users DROP COLUMN email;\nDROP INDEX users_name;\nDROP TABLE audit;")
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
        #expect(result.stdout.contains("down      002_audit  FAILED: its down section does not undo what its up section did"))
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
        let project = try Self.project(down: "ALTER TABLE users DROP COLUMN email;\nDROP INDEX users_name;\nDROP TABLE audit;\nALTER TABLE users ALTER COLUMN name DROP NOT NULL;")
        defer { project.cleanUp() }
        let scratch = try TestPostgres.createDatabase(prefix: "t_verify")
        defer { TestPostgres.dropDatabase(scratch.name) }
        let tooMuch = try project.run(["verify", "--url", scratch.conninfo])
        #expect(tooMuch.exitCode == 1, "\(tooMuch.output)")
        #expect(tooMuch.stdout.contains("~ column public.users.name: text NOT NULL -> text"))

        try project.migration("003_view", parent: "002_audit", up: "CREATE VIEW user_names AS SELECT name FROM users;",
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
        #expect(try TestPostgres.query(busy.name, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'orchestrate%'") == [["0"]])

        let scratch = try TestPostgres.createDatabase(prefix: "t_verify")
        defer { TestPostgres.dropDatabase(scratch.name) }
        let limited = try project.run(["verify", "--to", "001", "--url", scratch.conninfo])
        #expect(limited.exitCode == 0, "\(limited.output)")
        #expect(limited.stdout.contains("verify: 1 revision(s)"))
    }

    @Test("by default verify uses a throwaway database on the project's sandbox, and drops it")
    func sandboxDefault() throws {
        let project = try Self.project(down: "ALTER TABLE users DROP COLUMN email;\nDROP INDEX users_name;\nDROP TABLE audit;")
        defer {
            _ = try? project.run(["sandbox", "stop"])
            project.cleanUp()
        }
        let result = try project.run(["verify"])
        #expect(result.exitCode == 0, "\(result.output)")
        #expect(result.stdout.contains("on a scratch database (sandbox:orchestrate_verify_"))
        let list = try project.run(["sandbox", "status"])
        #expect(list.exitCode == 0)
        // The scratch database is gone.
        let connInfo = list.stdout.split(separator: "\n").first.map { String($0.dropFirst("running: ".count)) } ?? ""
        let psql = Process()
        psql.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        psql.arguments = ["-XtAc", "SELECT count(*) FROM pg_database WHERE datname LIKE 'orchestrate_verify_%'", connInfo]
        let count = try TestProject.runProcess(psql)
        #expect(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "\(count.output)")
    }
}
