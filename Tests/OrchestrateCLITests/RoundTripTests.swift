import Foundation
import TestSupport
import Testing

/// What the executor's two round trips per revision (`BEGIN` with the section, the ledger row inlined with `COMMIT`)
/// and the lazy work connection and git provenance must keep: the ledger records the file byte for byte, a failure at
/// `COMMIT` records nothing, and a run with nothing to do needs one connection and no git.
@Suite("round trips and lazy work")
struct RoundTripTests {
    @Test(
        "the ledger keeps the up and down SQL byte for byte, whatever quotes, backslashes, `$n` and non-ASCII they hold"
    )
    func ledgerTextIsExact() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let database = try project.environment("dev")
        let up = """
            -- $1 and $2 are not parameters here; neither is a$3 or '$4'
            CREATE TABLE "quo""ted" (id int, note text DEFAULT 'it''s', path text DEFAULT E'C:\\\\temp\\n');
            COMMENT ON TABLE "quo""ted" IS 'Grüße, 東京, \\ and "$1"';
            CREATE FUNCTION twice(x int) RETURNS int LANGUAGE sql AS $$ SELECT $1 * 2 $$;

            """
        let down = "DROP FUNCTION twice(int);\nDROP TABLE \"quo\"\"ted\"; -- $1 'x' \\\n"
        try project.migration("001_text", parent: nil, up: up, down: down)
        let result = try project.run(["upgrade", "dev"])
        #expect(result.exitCode == 0, "\(result.output)")
        let rows = try TestPostgres.query(database, "SELECT up_sql, down_sql FROM orchestrate.revisions")
        #expect(rows == [[up + "\n", down + "\n"]])  // `migration` ends each section with a newline of its own
        #expect(
            try TestPostgres.query(database, "SELECT twice(21), obj_description('\"quo\"\"ted\"'::regclass)")
                == [["42", "Grüße, 東京, \\ and \"$1\""]])
        // The same text comes back for a downgrade, which runs the recorded down SQL.
        let reverted = try project.run(["downgrade", "dev", "--to", "base"])
        #expect(reverted.exitCode == 0, "\(reverted.output)")
        #expect(try TestPostgres.query(database, "SELECT to_regclass('\"quo\"\"ted\"') IS NULL") == [["t"]])
    }

    @Test("a revision that fails at COMMIT (a deferred constraint) is rolled back with its ledger row, exit 3")
    func failureAtCommit() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let database = try project.environment("dev")
        try project.migration(
            "001_root", parent: nil, up: "CREATE TABLE t (id int PRIMARY KEY);", down: "DROP TABLE t;")
        try project.migration(
            "002_deferred", parent: "001_root",
            up: """
                CREATE TABLE child (parent_id int REFERENCES t (id) DEFERRABLE INITIALLY DEFERRED);
                INSERT INTO child VALUES (7);

                """)
        let result = try project.run(["upgrade", "dev"])
        #expect(result.exitCode == 3, "\(result.output)")
        #expect(result.stderr.contains("revision 002_deferred failed (up) at migrations/002_deferred.sql"))
        #expect(result.stderr.contains("23503"))
        #expect(result.stderr.contains("001_root"))  // the revision before it stays applied, and the error says so
        #expect(try TestPostgres.query(database, "SELECT revision FROM orchestrate.revisions") == [["001_root"]])
        #expect(try TestPostgres.query(database, "SELECT to_regclass('child') IS NULL") == [["t"]])
        #expect(
            try TestPostgres.query(database, "SELECT outcome FROM orchestrate.events WHERE revision = '002_deferred'")
                == [["failed"]])
        // Fixed, it applies; the next run is a no-op.
        try project.migration(
            "002_deferred", parent: "001_root",
            up: "CREATE TABLE child (parent_id int REFERENCES t (id) DEFERRABLE INITIALLY DEFERRED);\n")
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        #expect(try TestPostgres.query(database, "SELECT count(*) FROM orchestrate.revisions") == [["2"]])
    }

    @Test(
        "nothing to do: one connection to the database (a role limited to one works), and no git (outside a repository, a later stage is not refused)"
    )
    func noOpNeedsOneConnectionAndNoGit() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let role = "orch_one_\(UUID().uuidString.prefix(6).lowercased())"
        let dev = try project.environment("dev")
        let staging = try project.environment("staging", promotesFrom: "dev")
        try project.migration("001_root", parent: nil, up: "CREATE TABLE t (id int);", down: "DROP TABLE t;")
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        #expect(try project.run(["promote", "staging"]).exitCode == 0)

        // The work connection is opened only when there is work: with CONNECTION LIMIT 1 a no-op still succeeds.
        try TestPostgres.query(dev, "CREATE ROLE \(role) LOGIN CONNECTION LIMIT 1")
        defer {
            _ = try? TestPostgres.query(dev, "DROP OWNED BY \(role)")
            _ = try? TestPostgres.query(dev, "DROP ROLE \(role)")
        }
        for grant in [
            "GRANT ALL ON SCHEMA orchestrate TO \(role)", "GRANT ALL ON ALL TABLES IN SCHEMA orchestrate TO \(role)",
            "GRANT ALL ON ALL SEQUENCES IN SCHEMA orchestrate TO \(role)",
        ] {
            try TestPostgres.query(dev, grant)
        }
        let url = try project.read("environments/dev.toml")
            .replacingOccurrences(of: "user=postgres", with: "user=\(role)")
        #expect(url.contains("user=\(role)"), "the test project's URL names its user: \(url)")
        try project.write("environments/dev.toml", url)
        let noOp = try project.run(["upgrade", "dev"])
        #expect(noOp.exitCode == 0, "\(noOp.output)")
        #expect(noOp.output.contains("nothing to do"))

        // Without git: a later stage with nothing to do is not refused for lack of provenance…
        try FileManager.default.removeItem(atPath: project.root + "/.git")
        let idle = try project.run(["promote", "staging"])
        #expect(idle.exitCode == 0, "\(idle.output)")
        #expect(idle.output.contains("nothing to do"))
        // …but one with work is, before anything runs, and the refusal is in its event log.
        try project.migration("002_next", parent: "001_root", up: "ALTER TABLE t ADD COLUMN a int;")
        try project.write("environments/dev.toml", url.replacingOccurrences(of: "user=\(role)", with: "user=postgres"))
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        let refused = try project.run(["promote", "staging"])
        #expect(refused.exitCode == 1, "\(refused.output)")
        #expect(refused.stderr.contains("environment `staging` needs git provenance"))
        #expect(try TestPostgres.query(staging, "SELECT revision FROM orchestrate.revisions") == [["001_root"]])
        #expect(
            try TestPostgres.query(
                staging, "SELECT outcome FROM orchestrate.events WHERE action = 'promote' ORDER BY id DESC LIMIT 1")
                == [["refused"]])
    }
}
