import Foundation
import TestSupport
import Testing

/// Real histories: several roots (Alembic's several bases) and the pre-flight that refuses a plan before it runs.
@Suite("several roots and pre-flight")
struct SeveralRootsTests {
    @Test("two roots joined by a merge: heads, graph, check, upgrade, promote, status, downgrade to base and verify")
    func severalRootsEndToEnd() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.environment("dev")
        try project.environment("staging", promotesFrom: "dev")
        // Our line, and the line of a project whose migrations were taken over, each with its own root.
        try project.migration(
            "a1_accounts", parent: nil, up: "CREATE TABLE accounts (id int);", down: "DROP TABLE accounts;")
        try project.migration(
            "a2_users", parent: "a1_accounts", up: "CREATE TABLE users (id int);", down: "DROP TABLE users;")
        try project.migration(
            "b1_invoices", parent: nil, up: "CREATE TABLE invoices (id int);", down: "DROP TABLE invoices;")
        try project.write(
            "migrations/m1_merge.sql", "-- parent: a2_users, b1_invoices\n-- migrate:up\n-- migrate:down\n")
        try project.migration(
            "n1_email", parent: "m1_merge", up: "ALTER TABLE users ADD COLUMN email text;",
            down: "ALTER TABLE users DROP COLUMN email;")
        try project.gitInitAndCommit()

        let heads = try project.run(["heads"])
        #expect(heads.exitCode == 0, "\(heads.output)")
        #expect(heads.stdout.contains("n1_email"))
        let graph = try project.run(["graph"])
        #expect(graph.exitCode == 0, "\(graph.output)")
        for id in ["a1_accounts", "a2_users", "b1_invoices", "m1_merge", "n1_email"] {
            #expect(graph.stdout.contains(id), "\(graph.stdout)")
        }
        #expect(try project.run(["check", "--base", "HEAD"]).exitCode == 0)

        let upgrade = try project.run(["upgrade", "dev"])
        #expect(upgrade.exitCode == 0, "\(upgrade.output)")
        #expect(upgrade.stdout.contains("dev: applied 5 revision(s)"))
        // Topological order, ties by id: a1, a2, b1, m1, n1.
        let order = try TestPostgres.query(
            project.databases[0], "SELECT revision FROM orchestrate.revisions ORDER BY applied_at, revision")
        #expect(order.map { $0[0] } == ["a1_accounts", "a2_users", "b1_invoices", "m1_merge", "n1_email"])

        #expect(try project.run(["promote", "staging"]).exitCode == 0)
        let status = try project.run(["status"])
        #expect(status.exitCode == 0, "\(status.output)")
        #expect(status.stdout.contains("n1_email (5 applied)"), "\(status.stdout)")

        let down = try project.run(["downgrade", "dev", "--to", "base"])
        #expect(down.exitCode == 0, "\(down.output)")
        #expect(try TestPostgres.query(project.databases[0], "SELECT count(*) FROM orchestrate.revisions") == [["0"]])
        #expect(
            try TestPostgres.query(project.databases[0], "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
                == [["0"]])

        let scratch = try TestPostgres.createDatabase(prefix: "t_verify")
        defer { TestPostgres.dropDatabase(scratch.name) }
        let verify = try project.run(["verify", "--url", scratch.conninfo])
        #expect(verify.exitCode == 0, "\(verify.output)")
    }

    @Test(
        "a CREATE INDEX CONCURRENTLY without `-- transaction: false` deep in a long history: refused before anything runs"
    )
    func preflightRefusesBeforeAnything() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.environment("dev")
        // A Flyway-like history: 50 revisions, the 47th builds an index concurrently, the 49th vacuums.
        var parent: String? = nil
        for index in 1...50 {
            let id = String(format: "V%03d__step", index)
            var up = "CREATE TABLE t\(index) (id int);"
            if index == 47 {
                up =
                    "-- Flyway ran this one outside a transaction by itself\nCREATE INDEX CONCURRENTLY t1_id ON t1 (id);"
            }
            if index == 49 { up = "VACUUM t1;" }
            try project.migration(id, parent: parent, up: up)
            parent = id
        }
        try project.gitInitAndCommit()
        let result = try project.run(["upgrade", "dev"])
        #expect(result.exitCode == 2, "\(result.output)")
        #expect(result.stderr.contains("2 problems found before anything ran; nothing was run"), "\(result.stderr)")
        #expect(
            result.stderr.contains(
                "migrations/V047__step.sql:4: `CREATE INDEX CONCURRENTLY` cannot run inside a transaction block"))
        #expect(result.stderr.contains("migrations/V049__step.sql:3: `VACUUM`"))
        #expect(result.stderr.contains("-- transaction: false"))
        // Nothing was created: not one table.
        #expect(
            try TestPostgres.query(project.databases[0], "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
                == [["0"]])

        // `plan` says the same, and `check` reports it on the pull request.
        let plan = try project.run(["plan", "dev"])
        #expect(plan.exitCode == 2, "\(plan.output)")
        #expect(plan.stderr.contains("V047__step.sql:4"))

        // With the header, the same history applies.
        let fixed = try project.read("migrations/V047__step.sql")
        try project.write("migrations/V047__step.sql", "-- transaction: false\n" + fixed)
        let vacuum = try project.read("migrations/V049__step.sql")
        try project.write("migrations/V049__step.sql", "-- transaction: false\n" + vacuum)
        let upgrade = try project.run(["upgrade", "dev"])
        #expect(upgrade.exitCode == 0, "\(upgrade.output)")
        #expect(upgrade.stdout.contains("applied 50 revision(s)"))
    }

    @Test(
        "COMMIT inside a transactional revision, an empty up section and an irreversible way down are refused up front")
    func otherPreflightRefusals() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.environment("dev")
        try project.migration("001_users", parent: nil, up: "CREATE TABLE users (id int);")
        try project.migration(
            "002_commit", parent: "001_users", up: "CREATE TABLE a (id int);\nCOMMIT;\nCREATE TABLE b (id int);")
        try project.migration("003_todo", parent: "002_commit", up: "-- TODO")
        try project.gitInitAndCommit()
        let result = try project.run(["upgrade", "dev"])
        #expect(result.exitCode == 2, "\(result.output)")
        #expect(
            result.stderr.contains(
                "migrations/002_commit.sql:4: `COMMIT` in the up section of revision 002_commit would end the transaction"
            ))
        #expect(
            result.stderr.contains(
                "migrations/003_todo.sql:2: revision 003_todo has no statement under `-- migrate:up`"))
        #expect(
            try TestPostgres.query(project.databases[0], "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
                == [["0"]])

        // Irreversible revisions on the way down: all of them named at once.
        try project.remove("migrations/003_todo.sql")
        try project.migration("002_commit", parent: "001_users", up: "CREATE TABLE a (id int);")
        try project.migration("003_more", parent: "002_commit", up: "CREATE TABLE b (id int);", down: "DROP TABLE b;")
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        let down = try project.run(["downgrade", "dev", "--to", "base"])
        #expect(down.exitCode == 1, "\(down.output)")
        #expect(down.stderr.contains("001_users") && down.stderr.contains("002_commit"), "\(down.stderr)")
        #expect(down.stderr.contains("nothing was run"))
        #expect(try TestPostgres.query(project.databases[0], "SELECT count(*) FROM orchestrate.revisions") == [["3"]])
    }
}
