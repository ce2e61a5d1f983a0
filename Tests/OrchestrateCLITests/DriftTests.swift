import Foundation
import Postgres
import TestSupport
import Testing

@testable import OrchestrateCore

/// `orchestrate diff ENV` and `status --drift`: drift introduced by hand on a real database, reported, reconciled,
/// and the replayed schema cached.
@Suite("diff and status --drift", .serialized)
struct DriftTests {
    /// A project with one first stage, `staging`, running two revisions.
    static func stagingProject() throws -> (TestProject, String) {
        let project = try TestProject()
        let staging = try project.environment("staging")
        try project.migration(
            "001_users", parent: nil,
            up: """
                CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);
                CREATE INDEX users_email ON users (email);
                """,
            down: "DROP TABLE users;")
        try project.migration(
            "002_orders", parent: "001_users",
            up: "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id));",
            down: "DROP TABLE orders;")
        try project.gitInitAndCommit()
        let upgrade = try project.run(["upgrade", "staging"])
        #expect(upgrade.exitCode == 0, "\(upgrade.output)")
        return (project, staging)
    }

    /// The cache entries of a project.
    static func cacheFiles(_ project: TestProject) -> [String] {
        let directory = project.root + "/.orchestrate/cache"
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix("schema-") && $0.hasSuffix(".json") }.map { directory + "/" + $0 }
    }

    /// A JSON document printed by a command.
    static func json(_ result: TestProject.RunResult) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        return try #require(object as? [String: Any], "\(result.output)")
    }

    /// A conninfo to a database that does not exist: any attempt to replay on it fails.
    static func missingDatabase() throws -> String {
        try TestPostgres.conninfo(database: "t_no_such_database_for_diff") + " password=hunter2secret"
    }

    @Test(
        "drift by hand (a column added, an index dropped) is reported with its SQL, exit 1; the SQL run on staging makes diff exit 0; the second run uses the cache"
    )
    func driftReportedAndReconciled() throws {
        let (project, staging) = try Self.stagingProject()
        defer { project.cleanUp() }
        let scratch = try TestPostgres.createDatabase(prefix: "t_diff")
        defer { TestPostgres.dropDatabase(scratch.name) }

        let clean = try project.run(["diff", "staging", "--scratch-url", scratch.conninfo])
        #expect(clean.exitCode == 0, "\(clean.output)")
        #expect(clean.stdout.contains("no schema drift"), "\(clean.output)")
        #expect(clean.stdout.contains("2 applied revisions"), "\(clean.output)")
        #expect(clean.output.contains("replaying 2 revision(s)"), "\(clean.output)")
        #expect(Self.cacheFiles(project).count == 1)
        // The replay ran in the scratch database (which keeps it), not in staging.
        #expect(try TestPostgres.query(scratch.name, "SELECT to_regclass('public.orders')::text")[0][0] == "orders")

        try TestPostgres.execute(staging, "ALTER TABLE users ADD COLUMN nickname text; DROP INDEX users_email;")

        // The same applied set: the cache answers, and the scratch database (which does not exist) is never reached.
        let drift = try project.run(["diff", "staging", "--scratch-url", try Self.missingDatabase()])
        #expect(drift.exitCode == 1, "\(drift.output)")
        #expect(drift.stdout.contains("schema drift: 2 objects differ"), "\(drift.output)")
        #expect(drift.stdout.contains("- column public.users.nickname: only in staging"), "\(drift.output)")
        #expect(drift.stdout.contains("+ index public.users_email: missing from staging"), "\(drift.output)")
        #expect(drift.stdout.contains("ALTER TABLE public.users DROP COLUMN nickname;"), "\(drift.output)")
        #expect(drift.stdout.contains("DESTROYS DATA"), "\(drift.output)")
        #expect(
            drift.stdout.contains("CREATE INDEX users_email ON public.users USING btree (email);"), "\(drift.output)")
        #expect(drift.stdout.contains("orchestrate new \"MESSAGE\" --from-db staging"), "\(drift.output)")
        #expect(drift.stdout.contains("from the cache .orchestrate/cache/schema-"), "\(drift.output)")
        #expect(!drift.output.contains("replaying"), "\(drift.output)")
        #expect(!drift.output.contains("hunter2secret"), "\(drift.output)")

        let json = try Self.json(try project.run(["diff", "staging", "--json", "--scratch-url", scratch.conninfo]))
        #expect(json["drifted"] as? Bool == true)
        #expect(json["objects"] as? [String] == ["column public.users.nickname", "index public.users_email"])
        #expect((json["replay"] as? [String: Any])?["cached"] as? Bool == true)
        let changes = try #require(json["changes"] as? [[String: Any]])
        #expect(changes.count == 2)
        #expect(changes.contains { $0["destroysData"] as? Bool == true && $0["action"] as? String == "drop" })

        // status --drift: one line, in text and JSON; plain status says nothing about the schema.
        let status = try project.run(["status", "staging", "--drift"])
        #expect(status.exitCode == 0, "\(status.output)")
        #expect(
            status.stdout.contains("schema drift: 2 objects differ (run orchestrate diff staging)"), "\(status.output)")
        #expect(!(try project.run(["status", "staging"])).stdout.contains("schema drift"))
        let statusJSON = try JSONSerialization.jsonObject(
            with: Data(try project.run(["status", "staging", "--drift", "--json"]).stdout.utf8))
        let entry = try #require((statusJSON as? [[String: Any]])?.first)
        let summary = try #require(entry["schemaDrift"] as? [String: Any], "\(entry)")
        #expect(summary["state"] as? String == "drift")
        #expect((summary["objects"] as? [String])?.count == 2)

        // The reconciling SQL, run on staging, brings it back.
        let sql = changes.flatMap { ($0["sql"] as? [String]) ?? [] }.joined(separator: "\n")
        try TestPostgres.execute(staging, sql)
        let after = try project.run(["diff", "staging", "--scratch-url", try Self.missingDatabase()])
        #expect(after.exitCode == 0, "\(after.output)")
        #expect(after.stdout.contains("no schema drift"), "\(after.output)")
        #expect(try project.run(["status", "staging", "--drift"]).stdout.contains("no schema drift"))
    }

    @Test("a corrupt cache entry, or one of another format, is ignored, said, and rewritten after a replay")
    func corruptCache() throws {
        let (project, _) = try Self.stagingProject()
        defer { project.cleanUp() }
        let first = try TestPostgres.createDatabase(prefix: "t_diff")
        defer { TestPostgres.dropDatabase(first.name) }
        #expect(try project.run(["diff", "staging", "--scratch-url", first.conninfo]).exitCode == 0)
        let file = try #require(Self.cacheFiles(project).first)
        let good = try String(contentsOfFile: file, encoding: .utf8)

        for (broken, why) in [
            ("{\"format\": 1, \"key\": \"trunc", "not valid JSON"),
            (good.replacingOccurrences(of: "\"format\":1", with: "\"format\":99"), "its format is 99"),
            (good.replacingOccurrences(of: "\"key\":\"", with: "\"key\":\"0"), "its key does not match"),
        ] {
            try broken.write(toFile: file, atomically: true, encoding: .utf8)
            // Without a usable entry and without a scratch database, the drift cannot be told: exit 3.
            let unknown = try project.run(["diff", "staging", "--scratch-url", try Self.missingDatabase()])
            #expect(unknown.exitCode == 3, "\(unknown.output)")
            #expect(unknown.stderr.contains("ignored the cache entry"), "\(unknown.output)")
            #expect(unknown.stderr.contains(why), "\(unknown.output)")
            #expect(!unknown.output.contains("hunter2secret"), "\(unknown.output)")

            let scratch = try TestPostgres.createDatabase(prefix: "t_diff")
            defer { TestPostgres.dropDatabase(scratch.name) }
            let recovered = try project.run(["diff", "staging", "--scratch-url", scratch.conninfo])
            #expect(recovered.exitCode == 0, "\(recovered.output)")
            #expect(recovered.stdout.contains("no schema drift"), "\(recovered.output)")
            #expect(try String(contentsOfFile: file, encoding: .utf8) == good)
        }

        // --no-cache replays even with a good entry.
        let forced = try project.run(["diff", "staging", "--no-cache", "--scratch-url", try Self.missingDatabase()])
        #expect(forced.exitCode == 3, "\(forced.output)")
        #expect(!forced.output.contains("hunter2secret"), "\(forced.output)")
    }

    @Test("what is replayed is the SQL the ledger recorded, not the file as edited since")
    func ledgerSQLIsTheTruth() throws {
        let (project, _) = try Self.stagingProject()
        defer { project.cleanUp() }
        try project.migration(
            "002_orders", parent: "001_users",
            up:
                "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id), note text);",
            down: "DROP TABLE orders;")
        let scratch = try TestPostgres.createDatabase(prefix: "t_diff")
        defer { TestPostgres.dropDatabase(scratch.name) }
        let result = try project.run(["diff", "staging", "--scratch-url", scratch.conninfo])
        #expect(result.exitCode == 0, "\(result.output)")
        #expect(result.stdout.contains("no schema drift"), "\(result.output)")
        #expect(
            try TestPostgres.query(
                scratch.name,
                "SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'note'")[
                    0][0] == "0")
    }

    @Test("an environment without a ledger: everything in it is drift; other tools' tables are not")
    func noLedger() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let database = try project.environment("dev")
        try project.migration("001_a", parent: nil, up: "CREATE TABLE a (id int);")
        try project.gitInitAndCommit()
        try TestPostgres.execute(
            database,
            "CREATE TABLE hand_made (id int); CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY); INSERT INTO alembic_version VALUES ('abc');"
        )
        let scratch = try TestPostgres.createDatabase(prefix: "t_diff")
        defer { TestPostgres.dropDatabase(scratch.name) }
        let result = try project.run(["diff", "dev", "--json", "--scratch-url", scratch.conninfo])
        #expect(result.exitCode == 1, "\(result.output)")
        let json = try Self.json(result)
        #expect(json["objects"] as? [String] == ["table public.hand_made"], "\(result.output)")
        #expect((json["applied"] as? [Any])?.isEmpty == true)
    }

    @Test(
        "when drift cannot be told: exit 3 naming why (interrupted revision, a recorded revision that fails on the scratch database, an unreachable database); unknown environment: exit 2"
    )
    func cannotTell() throws {
        let (project, staging) = try Self.stagingProject()
        defer { project.cleanUp() }

        let unknown = try project.run(["diff", "stagign"])
        #expect(unknown.exitCode == 2, "\(unknown.output)")
        #expect(unknown.stderr.contains("staging"), "\(unknown.output)")

        // A revision that needs what was made by hand: it ran on staging, it cannot run on an empty database.
        try TestPostgres.execute(staging, "CREATE TABLE legacy (id int)")
        try project.migration(
            "003_legacy", parent: "002_orders", up: "ALTER TABLE legacy ADD COLUMN name text;",
            down: "ALTER TABLE legacy DROP COLUMN name;")
        #expect(try project.run(["upgrade", "staging"]).exitCode == 0)
        let scratch = try TestPostgres.createDatabase(prefix: "t_diff")
        defer { TestPostgres.dropDatabase(scratch.name) }
        let failing = try project.run(["diff", "staging", "--scratch-url", scratch.conninfo])
        #expect(failing.exitCode == 3, "\(failing.output)")
        #expect(failing.stderr.contains("revision 003_legacy"), "\(failing.output)")
        #expect(failing.stderr.contains("fails on the scratch database"), "\(failing.output)")
        #expect(Self.cacheFiles(project).isEmpty)

        // An interrupted revision: what ran is not known.
        try TestPostgres.execute(
            staging,
            "UPDATE orchestrate.revisions SET state = 'running', statements_total = 2, statements_done = 1 WHERE revision = '003_legacy'"
        )
        let interrupted = try project.run(["diff", "staging", "--scratch-url", scratch.conninfo])
        #expect(interrupted.exitCode == 3, "\(interrupted.output)")
        #expect(interrupted.stderr.contains("003_legacy was interrupted"), "\(interrupted.output)")
        #expect(interrupted.stderr.contains("orchestrate repair staging 003_legacy"), "\(interrupted.output)")

        // A damaged ledger (its version row deleted by hand): what ran is not known either.
        try TestPostgres.execute(
            staging, "UPDATE orchestrate.revisions SET state = 'applied'; DELETE FROM orchestrate.ledger_meta")
        let damaged = try project.run(["diff", "staging", "--scratch-url", scratch.conninfo])
        #expect(damaged.exitCode == 3, "\(damaged.output)")
        #expect(damaged.stderr.contains("version row"), "\(damaged.output)")

        // An unreachable database, with a password in its URL that is never printed.
        try project.write(
            "environments/staging.toml",
            "database_url = \"\(try Self.missingDatabase())\"\nconnect_retries = 0\n")
        let unreachable = try project.run(["diff", "staging"])
        #expect(unreachable.exitCode == 3, "\(unreachable.output)")
        #expect(!unreachable.output.contains("hunter2secret"), "\(unreachable.output)")
        let statusUnreachable = try project.run(["status", "staging", "--drift"])
        #expect(statusUnreachable.exitCode == 3, "\(statusUnreachable.output)")
        #expect(statusUnreachable.stdout.contains("unknown"), "\(statusUnreachable.output)")
        #expect(!statusUnreachable.output.contains("hunter2secret"), "\(statusUnreachable.output)")
    }
}
