import Foundation
import OrchestrateCore
import Postgres
import TestSupport
import Testing

/// `orchestrate baseline`: adopting databases another tool (or a person) already migrated, and noticing them first.
@Suite("baseline", .serialized)
struct BaselineTests {
    /// A SQLAlchemy URL for the libpq conninfo of a test database.
    static func sqlalchemyURL(_ conninfo: String) throws -> String {
        let pairs = try ConnInfo.parse(conninfo)
        let database = pairs.first { $0.keyword == "dbname" }?.value ?? "postgres"
        let query = pairs.filter { $0.keyword != "dbname" }.map { "\($0.keyword)=\($0.value)" }.joined(separator: "&")
        return "postgresql+psycopg:///\(database)?\(query)"
    }

    /// Runs the real `alembic upgrade head` of the project against `database`.
    static func alembicUpgrade(_ project: TestProject, alembic: String, database: String) throws {
        let url = try sqlalchemyURL(try TestPostgres.conninfo(database: database))
        try project.write("alembic.ini", "[alembic]\nscript_location = %(here)s/alembic\nsqlalchemy.url = \(url)\n")
        let result = try TestProject.runProgram(
            alembic, ["-c", project.root + "/alembic.ini", "upgrade", "head"],
            directory: project.root)
        #expect(result.exitCode == 0, "\(result.output)")
    }

    static func baselineEvents(_ database: String) throws -> [[String?]] {
        try TestPostgres.query(
            database, "SELECT outcome, message FROM orchestrate.events WHERE action = 'baseline' ORDER BY id")
    }

    @Test(
        "alembic: run by the real Alembic, noticed, imported, baselined from alembic_version; then upgraded and promoted to a stage baselined with --to",
        .enabled(
            if: AlembicVenv.alembic != nil,
            "Alembic could not be installed into \(AlembicVenv.directory) (python3 -m venv, pip install \(AlembicVenv.requirements.joined(separator: " ")))"
        ))
    func alembic() throws {
        let alembic = try #require(AlembicVenv.alembic)
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev")
        let staging = try project.environment("staging", promotesFrom: "dev")
        try ImportTests.writeAlembicProject(project)
        try Self.alembicUpgrade(project, alembic: alembic, database: staging)
        try Self.alembicUpgrade(project, alembic: alembic, database: dev)

        // Noticed before orchestrate manages it: status, doctor, and upgrade refuses before running anything.
        let notice = try project.run(["status", "dev"])
        #expect(notice.stdout.contains("managed by Alembic at e1e1e1e1e1e1"), "\(notice.output)")
        #expect(notice.stdout.contains("orchestrate baseline dev --from alembic --reason"), "\(notice.output)")
        let imported = try project.run(["import", "alembic", "--alembic", alembic])
        #expect(imported.exitCode == 0, "\(imported.output)")
        try project.gitInitAndCommit()
        let refused = try project.run(["upgrade", "dev"])
        #expect(refused.exitCode == 1, "\(refused.output)")
        #expect(refused.stderr.contains("managed by Alembic at e1e1e1e1e1e1"), "\(refused.output)")
        #expect(try TestPostgres.query(dev, "SELECT count(*) FROM orchestrate.revisions")[0][0] == "0")

        let scratch = try TestPostgres.createDatabase(prefix: "t_baseline")
        defer { TestPostgres.dropDatabase(scratch.name) }
        let baseline = try project.run([
            "baseline", "dev", "--from", "alembic", "--reason", "adopt",
            "--scratch-url", scratch.conninfo,
        ])
        #expect(baseline.exitCode == 0, "\(baseline.output)")
        #expect(baseline.stdout.contains("recorded 5 revision(s)"), "\(baseline.output)")
        #expect(try TestPostgres.query(dev, "SELECT count(*) FROM orchestrate.revisions WHERE baselined")[0][0] == "5")
        #expect(try TestPostgres.query(dev, "SELECT version_num FROM alembic_version")[0][0] == "e1e1e1e1e1e1")
        let events = try Self.baselineEvents(dev)
        #expect(events.count == 1 && events[0][0] == "succeeded" && (events[0][1] ?? "").contains("reason: adopt"))

        let status = try project.run(["status", "dev"])
        #expect(status.stdout.contains("e1e1e1e1e1e1 (5 applied, 5 by baseline)"), "\(status.output)")
        #expect(!status.stdout.contains("managed by"), "\(status.output)")
        #expect(try project.run(["audit", "dev"]).stdout.contains("baseline"))
        #expect(try project.run(["history", "--env", "dev"]).stdout.contains("applied in dev (by baseline)"))

        let scratch2 = try TestPostgres.createDatabase(prefix: "t_baseline")
        defer { TestPostgres.dropDatabase(scratch2.name) }
        let stage = try project.run([
            "baseline", "staging", "--to", "e1e1e1e1e1e1", "--reason", "adopt",
            "--scratch-url", scratch2.conninfo,
        ])
        #expect(stage.exitCode == 0, "\(stage.output)")

        try project.migration(
            "f00000000001", parent: "e1e1e1e1e1e1", up: "ALTER TABLE users ADD COLUMN name text;",
            down: "ALTER TABLE users DROP COLUMN name;")
        _ = try project.git("add", "-A")
        _ = try project.git("commit", "-qm", "name")
        let upgrade = try project.run(["upgrade", "dev"])
        #expect(upgrade.exitCode == 0, "\(upgrade.output)")
        let promote = try project.run(["promote", "staging"])
        #expect(promote.exitCode == 0, "\(promote.output)")
        #expect(try project.run(["status", "staging"]).stdout.contains("f00000000001 (6 applied, 5 by baseline)"))
        #expect(
            try TestPostgres.query(
                staging,
                "SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'name'")[
                    0][0] == "1")
    }

    /// A project of three chained revisions, as `import flyway` names them, and an environment.
    static func flywayProject() throws -> (TestProject, String) {
        let project = try TestProject()
        let database = try project.environment("dev")
        try project.migration("V1__a", parent: nil, up: "CREATE TABLE a (id int);")
        try project.migration("V2__b", parent: "V1__a", up: "CREATE TABLE b (id int);")
        try project.migration("V3__c", parent: "V2__b", up: "CREATE TABLE c (id int);")
        try project.gitInitAndCommit()
        try TestPostgres.execute(
            database,
            """
            CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version text, script text NOT NULL,
                                                type text NOT NULL DEFAULT 'SQL', success boolean NOT NULL)
            """)
        return (project, database)
    }

    static func baseline(_ project: TestProject, _ arguments: [String]) throws -> TestProject.RunResult {
        let scratch = try TestPostgres.createDatabase(prefix: "t_baseline")
        defer { TestPostgres.dropDatabase(scratch.name) }
        return try project.run(
            ["baseline", "dev"] + arguments + ["--reason", "adopt", "--scratch-url", scratch.conninfo])
    }

    @Test("flyway: a failed row and an out-of-order history are refused, naming why, and recorded as refused")
    func flywayRefusals() throws {
        let (project, database) = try Self.flywayProject()
        defer { project.cleanUp() }
        try TestPostgres.execute(
            database,
            """
            CREATE TABLE a (id int); CREATE TABLE c (id int);
            INSERT INTO flyway_schema_history VALUES (1, '1', 'V1__a.sql', 'SQL', true), (2, '3', 'V3__c.sql', 'SQL', true);
            """)
        let outOfOrder = try Self.baseline(project, ["--from", "flyway"])
        #expect(outOfOrder.exitCode == 1, "\(outOfOrder.output)")
        #expect(outOfOrder.stderr.contains("V3__c is applied but its parent V2__b is not"), "\(outOfOrder.output)")

        try TestPostgres.execute(
            database, "INSERT INTO flyway_schema_history VALUES (3, '2', 'V2__b.sql', 'SQL', false)")
        let failed = try Self.baseline(project, ["--from", "flyway"])
        #expect(failed.exitCode == 1, "\(failed.output)")
        #expect(failed.stderr.contains("failed migration, version 2 (V2__b.sql)"), "\(failed.output)")
        #expect(try Self.baselineEvents(database).map { $0[0] } == ["refused", "refused"])
        #expect(try TestPostgres.query(database, "SELECT count(*) FROM orchestrate.revisions")[0][0] == "0")
    }

    @Test(
        "schema differences refuse, listing each; --accept-differences records them in the event; a second baseline adds only what is missing"
    )
    func differences() throws {
        let (project, database) = try Self.flywayProject()
        defer { project.cleanUp() }
        try TestPostgres.execute(
            database,
            """
            CREATE TABLE a (id int); CREATE TABLE extra (id int);
            INSERT INTO flyway_schema_history VALUES (1, '1', 'V1__a.sql', 'SQL', true), (2, '2', 'V2__b.sql', 'SQL', true);
            """)
        let refused = try Self.baseline(project, ["--from", "flyway"])
        #expect(refused.exitCode == 1, "\(refused.output)")
        #expect(refused.stderr.contains("- table public.b"), "\(refused.output)")
        #expect(refused.stderr.contains("+ table public.extra"), "\(refused.output)")
        #expect(!refused.stderr.contains("flyway_schema_history"), "\(refused.output)")

        let first = try Self.baseline(project, ["--to", "V1__a", "--accept-differences"])
        #expect(first.exitCode == 0, "\(first.output)")
        #expect(first.stdout.contains("+ table public.extra"), "\(first.output)")
        try TestPostgres.execute(database, "CREATE TABLE b (id int)")
        let second = try Self.baseline(project, ["--from", "flyway", "--accept-differences"])
        #expect(second.exitCode == 0, "\(second.output)")
        #expect(
            second.stdout.contains("recorded 1 revision(s)") && second.stdout.contains("1 were already recorded"),
            "\(second.output)")
        let events = try Self.baselineEvents(database)
        #expect(events.map { $0[0] } == ["refused", "succeeded", "succeeded"])
        #expect((events[1][1] ?? "").contains("differences accepted: + column public.extra.id; + table public.extra"))
        #expect(
            try TestPostgres.query(
                database, "SELECT revision FROM orchestrate.revisions WHERE baselined ORDER BY revision"
            ).map { $0[0] } == ["V1__a", "V2__b"])

        // Below what is recorded: refused, not rewritten.
        let below = try Self.baseline(project, ["--to", "V1__a"])
        #expect(below.exitCode == 1, "\(below.output)")
        #expect(below.stderr.contains("already records V2__b"), "\(below.output)")
    }

    @Test("golang-migrate: a dirty version is refused; a clean one baselines the version and its ancestors")
    func golangMigrate() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let database = try project.environment("dev")
        try project.migration("1_a", parent: nil, up: "CREATE TABLE a (id int);")
        try project.migration("2_b", parent: "1_a", up: "CREATE TABLE b (id int);")
        try project.gitInitAndCommit()
        try TestPostgres.execute(
            database,
            """
            CREATE TABLE a (id int); CREATE TABLE b (id int);
            CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL);
            INSERT INTO schema_migrations VALUES (2, true);
            """)
        let dirty = try Self.baseline(project, ["--from", "golang-migrate"])
        #expect(dirty.exitCode == 1, "\(dirty.output)")
        #expect(dirty.stderr.contains("dirty at version 2"), "\(dirty.output)")
        try TestPostgres.execute(database, "UPDATE schema_migrations SET dirty = false")
        let clean = try Self.baseline(project, ["--from", "golang-migrate"])
        #expect(clean.exitCode == 0, "\(clean.output)")
        #expect(clean.stdout.contains("recorded 2 revision(s)"), "\(clean.output)")
    }

    @Test("goose: the latest row of each version decides; a version rolled back afterwards is not baselined")
    func goose() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let database = try project.environment("dev")
        try project.migration("20240101000000_a", parent: nil, up: "CREATE TABLE a (id int);")
        try project.migration("20240102000000_b", parent: "20240101000000_a", up: "CREATE TABLE b (id int);")
        try project.gitInitAndCommit()
        try TestPostgres.execute(
            database,
            """
            CREATE TABLE a (id int);
            CREATE TABLE goose_db_version (id serial PRIMARY KEY, version_id bigint NOT NULL, is_applied boolean NOT NULL,
                                           tstamp timestamp DEFAULT now());
            INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (20240101000000, true),
                (20240102000000, true), (20240102000000, false);
            """)
        let status = try project.run(["status", "dev"])
        #expect(status.stdout.contains("managed by goose"), "\(status.output)")
        let baseline = try Self.baseline(project, ["--from", "goose"])
        #expect(baseline.exitCode == 0, "\(baseline.output)")
        #expect(baseline.stdout.contains("recorded 1 revision(s)"), "\(baseline.output)")
        #expect(
            try TestPostgres.query(database, "SELECT revision FROM orchestrate.revisions") == [["20240101000000_a"]])
        // The other tool's table is left alone; the rest applies as usual.
        #expect(try TestPostgres.query(database, "SELECT count(*) FROM goose_db_version") == [["4"]])
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
    }

    @Test("a database dbmate manages is noticed by status (and --json), doctor, plan and upgrade, which runs nothing")
    func foreignLedger() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let database = try project.environment("dev")
        try project.migration("20240101000000_a", parent: nil, up: "CREATE TABLE a (id int);")
        try project.gitInitAndCommit()
        try TestPostgres.execute(
            database,
            """
            CREATE TABLE a (id int); CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY);
            INSERT INTO schema_migrations VALUES ('20240101000000');
            """)
        let status = try project.run(["status", "dev"])
        #expect(status.stdout.contains("managed by dbmate at 20240101000000"), "\(status.output)")
        let json = try project.run(["status", "dev", "--json"])
        #expect(json.stdout.contains("\"foreignLedger\""), "\(json.output)")
        let doctor = try project.run(["doctor"])
        #expect(
            doctor.exitCode != 0 && doctor.stdout.contains("orchestrate baseline dev --from dbmate"), "\(doctor.output)"
        )
        let plan = try project.run(["plan", "dev"])
        #expect(
            plan.output.contains(
                "the run would be refused now: environment `dev` is managed by dbmate at 20240101000000"),
            "\(plan.output)")
        let upgrade = try project.run(["upgrade", "dev"])
        #expect(upgrade.exitCode == 1, "\(upgrade.output)")
        #expect(upgrade.stderr.contains("nothing was run"), "\(upgrade.output)")
        let baseline = try Self.baseline(project, ["--from", "dbmate"])
        #expect(baseline.exitCode == 0, "\(baseline.output)")
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        #expect(!(try project.run(["status", "dev"]).stdout.contains("managed by")))
    }
}
