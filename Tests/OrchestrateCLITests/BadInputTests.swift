import Foundation
import TestSupport
import Testing

/// Every error a user can hit with bad input: a clear message naming the file, line, key or revision, the right
/// exit code, and nothing applied.
@Suite("bad input")
struct BadInputTests {
    /// A one-stage project with a valid root revision.
    static func project() throws -> TestProject {
        let project = try TestProject()
        try project.environment("dev")
        try project.migration("001_root", parent: nil, up: "CREATE TABLE t (id int);", down: "DROP TABLE t;")
        return project
    }

    /// Runs `upgrade dev` and checks the exit code and that nothing was applied.
    static func expectRefused(
        _ project: TestProject, _ arguments: [String] = ["upgrade", "dev"], code: Int32,
        contains fragments: [String], sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let result = try project.run(arguments)
        #expect(result.exitCode == code, "\(result.output)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(
                result.stderr.contains(fragment), "missing `\(fragment)` in: \(result.stderr)",
                sourceLocation: sourceLocation)
        }
        if let database = project.databases.first {
            let ledger = try TestPostgres.query(database, "SELECT to_regclass('orchestrate.revisions') IS NOT NULL")
            if ledger[0][0] == "t" {
                let applied = try TestPostgres.query(database, "SELECT count(*) FROM orchestrate.revisions")
                #expect(applied[0][0] == "0", "something was applied", sourceLocation: sourceLocation)
            }
        }
    }

    @Test("malformed header: unknown key, bad transaction value, SQL before the up marker")
    func malformedHeader() throws {
        let project = try Self.project()
        defer { project.cleanUp() }
        try project.write("migrations/002_bad.sql", "-- parent: 001_root\n-- parents: x\n-- migrate:up\nSELECT 1;\n")
        try Self.expectRefused(project, code: 2, contains: ["migrations/002_bad.sql:2:", "parents"])
        try project.write(
            "migrations/002_bad.sql", "-- parent: 001_root\n-- transaction: maybe\n-- migrate:up\nSELECT 1;\n")
        try Self.expectRefused(project, code: 2, contains: ["migrations/002_bad.sql:2:"])
        try project.write("migrations/002_bad.sql", "-- parent: 001_root\nSELECT 1;\n-- migrate:up\nSELECT 1;\n")
        try Self.expectRefused(project, code: 2, contains: ["migrations/002_bad.sql:2:"])
    }

    @Test("missing -- migrate:up")
    func missingUp() throws {
        let project = try Self.project()
        defer { project.cleanUp() }
        try project.write("migrations/002_bad.sql", "-- parent: 001_root\nCREATE TABLE x (id int);\n")
        try Self.expectRefused(project, code: 2, contains: ["migrations/002_bad.sql", "migrate:up"])
    }

    @Test("a revision with an empty up section (fresh from `new`) is not applied")
    func emptyUp() throws {
        let project = try Self.project()
        defer { project.cleanUp() }
        try project.write("migrations/002_todo.sql", "-- parent: 001_root\n-- migrate:up\n-- TODO\n-- migrate:down\n")
        try Self.expectRefused(project, code: 2, contains: ["migrations/002_todo.sql:2:", "no statement"])
    }

    @Test("graph errors: missing parent, cycle; two unjoined roots are two heads")
    func graphErrors() throws {
        let project = try Self.project()
        defer { project.cleanUp() }
        try project.migration("002_orphan", parent: "000_nope", up: "SELECT 1;")
        try Self.expectRefused(
            project, code: 2, contains: ["migrations/002_orphan.sql:1: parent `000_nope` does not exist"])
        try Self.expectRefused(project, ["heads"], code: 2, contains: ["migrations/002_orphan.sql:1:"])
        try project.remove("migrations/002_orphan.sql")

        try project.migration("002_a", parent: "003_b", up: "SELECT 1;")
        try project.migration("003_b", parent: "002_a", up: "SELECT 1;")
        try Self.expectRefused(
            project, code: 2,
            contains: [
                "migrations/002_a.sql:1: the revision graph has a cycle: 002_a -> 003_b -> 002_a",
                "migrations/003_b.sql:1",
            ])
        try Self.expectRefused(project, ["graph"], code: 2, contains: ["migrations/002_a.sql:1:"])
        try project.remove("migrations/002_a.sql")
        try project.remove("migrations/003_b.sql")

        try project.migration("002_second_root", parent: nil, up: "SELECT 1;")
        try Self.expectRefused(
            project, code: 2, contains: ["2 heads", "001_root", "002_second_root", "orchestrate merge"])
    }

    @Test("two heads: upgrade to head is refused, naming both and the way out")
    func twoHeads() throws {
        let project = try Self.project()
        defer { project.cleanUp() }
        try project.migration("002_left", parent: "001_root", up: "SELECT 1;")
        try project.migration("002_right", parent: "001_root", up: "SELECT 1;")
        try Self.expectRefused(project, code: 2, contains: ["002_left", "002_right", "orchestrate merge"])
        // --to picks one head explicitly.
        let one = try project.run(["upgrade", "dev", "--to", "002_left"])
        #expect(one.exitCode == 0, "\(one.output)")
    }

    @Test("unknown environment, unknown --to, ambiguous prefix")
    func unknownNames() throws {
        let project = try Self.project()
        defer { project.cleanUp() }
        try project.migration("002_abc", parent: "001_root", up: "SELECT 1;")
        try project.migration("003_abd", parent: "002_abc", up: "SELECT 1;")
        try Self.expectRefused(project, ["upgrade", "qa"], code: 2, contains: ["unknown environment `qa`", "dev"])
        try Self.expectRefused(project, ["upgrade", "dev", "--to", "999"], code: 2, contains: ["999"])
        try Self.expectRefused(
            project, ["upgrade", "dev", "--to", "00"], code: 2, contains: ["00", "001_root", "002_abc"])
    }

    @Test("config: missing variable, unknown key, wrong type, promote/upgrade on the wrong stage, pipeline errors")
    func configErrors() throws {
        let project = try Self.project()
        defer { project.cleanUp() }
        let url = try project.read("environments/dev.toml")

        try project.write("environments/dev.toml", "database_url = \"${NOPE_NOT_SET_URL}\"\n")
        try Self.expectRefused(project, code: 2, contains: ["environments/dev.toml:1", "NOPE_NOT_SET_URL", ".env"])

        // .env supplies it; the process environment wins over .env.
        let conninfo = url.components(separatedBy: "\"")[1]
        try project.write(".env", "export DEV_URL='\(conninfo)'\n")
        try project.write("environments/dev.toml", "database_url = \"${DEV_URL}\"\n")
        #expect(try project.run(["status", "dev"]).exitCode == 0)
        let overridden = try project.run(["status", "dev"], environment: ["DEV_URL": "host=/nonexistent-dir port=1"])
        #expect(overridden.exitCode == 3)

        try project.write("environments/dev.toml", url + "lock_timeuot = \"5s\"\n")
        try Self.expectRefused(
            project, code: 2, contains: ["environments/dev.toml:2", "unknown key `lock_timeuot`", "lock_timeout"])

        try project.write("environments/dev.toml", url + "protected = \"yes\"\n")
        try Self.expectRefused(
            project, code: 2, contains: ["environments/dev.toml:2", "`protected` must be a boolean"])

        try project.write("environments/dev.toml", url + "lock_timeout = \"soon\"\n")
        try Self.expectRefused(project, code: 2, contains: ["environments/dev.toml:2", "not a duration"])

        try project.write("environments/dev.toml", url + "database_url = \"x\"\n")
        try Self.expectRefused(project, code: 2, contains: ["environments/dev.toml"])

        try project.write("environments/dev.toml", url)
        try project.write(
            "environments/staging.toml",
            url.replacingOccurrences(of: "database_url", with: "database_url") + "promotes_from = \"qa\"\n")
        // The value is not quoted (it could be a secret pasted into the wrong key); the known environments are listed.
        try Self.expectRefused(
            project, code: 2,
            contains: [
                "environments/staging.toml: `promotes_from` names no environment",
                "environments are: dev, staging",
            ])

        try project.write("environments/staging.toml", url + "promotes_from = \"dev\"\n")
        try Self.expectRefused(
            project, ["upgrade", "staging"], code: 2, contains: ["promotes from `dev`", "orchestrate promote staging"])
        try Self.expectRefused(
            project, ["promote", "dev"], code: 2, contains: ["first stage", "orchestrate upgrade dev"])

        try project.write("environments/dev.toml", url + "promotes_from = \"staging\"\n")
        try Self.expectRefused(project, ["upgrade", "dev"], code: 2, contains: ["cycle"])
    }

    @Test("a SQL error in the middle of a revision: exit 3, rolled back, message with file:line")
    func sqlErrorMidRevision() throws {
        let project = try Self.project()
        defer { project.cleanUp() }
        try project.write(
            "migrations/002_broken.sql",
            """
            -- parent: 001_root
            -- migrate:up
            CREATE TABLE first_half (id int);
            INSERT INTO first_half VALUES (1);
            SELECT nonexistent_column FROM first_half;
            -- migrate:down
            DROP TABLE first_half;

            """)
        let result = try project.run(["upgrade", "dev"])
        #expect(result.exitCode == 3, "\(result.output)")
        #expect(result.stderr.contains("revision 002_broken failed"))
        #expect(result.stderr.contains("migrations/002_broken.sql:5:8"))
        #expect(result.stderr.contains("column \"nonexistent_column\" does not exist"))
        #expect(result.stderr.contains("42703"))
        let database = project.databases[0]
        // 001 committed in its own transaction; 002's earlier statements were rolled back.
        let rows = try TestPostgres.query(database, "SELECT revision FROM orchestrate.revisions")
        #expect(rows.map { $0[0] } == ["001_root"])
        #expect(try TestPostgres.query(database, "SELECT to_regclass('first_half') IS NULL")[0][0] == "t")
        // The failure is in the event log.
        let failed = try TestPostgres.query(
            database,
            "SELECT revision, message FROM orchestrate.events WHERE outcome = 'failed' AND revision IS NOT NULL")
        #expect(failed.first?[0] == "002_broken")
        #expect(failed.first?[1]?.contains("nonexistent_column") == true)
    }

    @Test("downgrade past an irreversible revision is refused before anything runs")
    func irreversible() throws {
        let project = try Self.project()
        defer { project.cleanUp() }
        try project.migration("002_irreversible", parent: "001_root", up: "CREATE TABLE kept (id int);")
        try project.migration(
            "003_reversible", parent: "002_irreversible", up: "CREATE TABLE gone (id int);", down: "DROP TABLE gone;")
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        let result = try project.run(["downgrade", "dev", "--to", "base"])
        #expect(result.exitCode == 1, "\(result.output)")
        #expect(result.stderr.contains("002_irreversible"))
        #expect(result.stderr.contains("irreversible"))
        let rows = try TestPostgres.query(project.databases[0], "SELECT count(*) FROM orchestrate.revisions")
        #expect(rows[0][0] == "3")
        #expect(try TestPostgres.query(project.databases[0], "SELECT to_regclass('gone') IS NOT NULL")[0][0] == "t")
    }

    @Test("usage errors exit 2")
    func usage() throws {
        let project = try Self.project()
        defer { project.cleanUp() }
        #expect(try project.run(["downgrade", "dev"]).exitCode == 2)
        #expect(try project.run(["frobnicate"]).exitCode == 2)
        let help = try project.run(["--help"])
        #expect(help.exitCode == 0)
        #expect(help.stdout.contains("upgrade"))
    }
}
