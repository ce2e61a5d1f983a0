import Foundation
import Postgres
import TestSupport
import Testing

@testable import OrchestrateCore

/// The ledger under faults and tampering: freezes and their events commit together, the event log refuses UPDATE,
/// DELETE and TRUNCATE (also in a ledger made by the previous layout version, once upgraded).
@Suite("ledger integrity", .serialized)
struct LedgerIntegrityTests {
    /// A first stage `dev` with one applied revision.
    static func makeProject() throws -> (TestProject, String) {
        let project = try TestProject()
        let database = try project.environment("dev", extra: "lock_timeout = \"1s\"\n")
        try project.migration("001_root", parent: nil, up: "CREATE TABLE t (id int);", down: "DROP TABLE t;")
        try project.gitInitAndCommit()
        return (project, database)
    }

    /// Makes the event log refuse events of `action` with `outcome`, as a fault after the freeze row was written.
    static func breakEvents(_ database: String, action: String, outcome: String) throws {
        try TestPostgres.execute(
            database,
            """
            CREATE FUNCTION public.fault() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.action = '\(action)' AND NEW.outcome = '\(outcome)' THEN RAISE EXCEPTION 'injected fault'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER fault BEFORE INSERT ON orchestrate.events FOR EACH ROW EXECUTE FUNCTION public.fault();
            """)
    }

    static func healEvents(_ database: String) throws {
        try TestPostgres.execute(database, "DROP TRIGGER fault ON orchestrate.events; DROP FUNCTION public.fault()")
    }

    @Test("lock and unlock: the freeze and its event commit together, or neither")
    func freezeAndEventTogether() throws {
        let (project, database) = try Self.makeProject()
        defer { project.cleanUp() }
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)

        try Self.breakEvents(database, action: "lock", outcome: "frozen")
        let lock = try project.run(["lock", "dev", "--reason", "release"])
        #expect(lock.exitCode == 3, "\(lock.output)")
        #expect(lock.stderr.contains("injected fault"))
        #expect(try TestPostgres.query(database, "SELECT count(*) FROM orchestrate.freezes")[0][0] == "0")
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        try Self.healEvents(database)

        #expect(try project.run(["lock", "dev", "--reason", "release"]).exitCode == 0)
        try Self.breakEvents(database, action: "unlock", outcome: "thawed")
        let unlock = try project.run(["unlock", "dev"])
        #expect(unlock.exitCode == 3, "\(unlock.output)")
        #expect(try TestPostgres.query(database, "SELECT reason FROM orchestrate.freezes")[0][0] == "release")
        try Self.healEvents(database)
        #expect(try project.run(["unlock", "dev"]).exitCode == 0)
        let events = try TestPostgres.query(
            database,
            "SELECT action, outcome FROM orchestrate.events WHERE action IN ('lock', 'unlock') AND outcome IN ('frozen', 'thawed') ORDER BY id"
        )
        #expect(events.map { "\($0[0] ?? "") \($0[1] ?? "")" } == ["lock frozen", "unlock thawed"])
    }

    /// Expects UPDATE, DELETE and TRUNCATE of the event log to fail, naming it append-only, and the rows to stay.
    static func expectAppendOnly(_ database: String) throws {
        let before = try TestPostgres.query(database, "SELECT count(*) FROM orchestrate.events")[0][0]
        for statement in [
            "UPDATE orchestrate.events SET outcome = 'x'", "DELETE FROM orchestrate.events",
            "TRUNCATE orchestrate.events",
        ] {
            do {
                try TestPostgres.query(database, statement)
                Issue.record("\(statement) succeeded")
            } catch let error as PostgresError {
                #expect(error.message.contains("append-only"), "\(error.message)")
            }
        }
        #expect(try TestPostgres.query(database, "SELECT count(*) FROM orchestrate.events")[0][0] == before)
    }

    @Test("the event log refuses UPDATE, DELETE and TRUNCATE")
    func appendOnly() throws {
        let (project, database) = try Self.makeProject()
        defer { project.cleanUp() }
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        #expect(
            try TestPostgres.query(database, "SELECT version FROM orchestrate.ledger_meta")[0][0]
                == String(Ledger.currentVersion))
        try Self.expectAppendOnly(database)
    }

    @Test("a ledger made by layout version 1 is upgraded: its event log then refuses TRUNCATE too")
    func upgradeFromVersionOne() throws {
        let (project, database) = try Self.makeProject()
        defer { project.cleanUp() }
        try TestPostgres.execute(database, LedgerMigrations.script(from: 0, to: 1, schema: "\"orchestrate\""))
        try TestPostgres.query(
            database,
            """
            INSERT INTO orchestrate.events (run_id, environment, action, outcome) VALUES ('r', 'dev', 'upgrade', 'succeeded')
            """)
        // Version 1 let TRUNCATE through (its row trigger never fires on TRUNCATE).
        try TestPostgres.execute(database, "BEGIN; TRUNCATE orchestrate.events; ROLLBACK")

        let upgrade = try project.run(["upgrade", "dev"])
        #expect(upgrade.exitCode == 0, "\(upgrade.output)")
        #expect(
            try TestPostgres.query(database, "SELECT version FROM orchestrate.ledger_meta")[0][0]
                == String(Ledger.currentVersion))
        try Self.expectAppendOnly(database)
        #expect(
            try TestPostgres.query(database, "SELECT count(*) FROM orchestrate.events WHERE run_id = 'r'")[0][0] == "1")
    }

    @Test(
        "a ledger made by layout version 2 is read by status as it is, and a writing run adds revisions.baselined (false)"
    )
    func upgradeFromVersionTwo() throws {
        let (project, database) = try Self.makeProject()
        defer { project.cleanUp() }
        try TestPostgres.execute(database, LedgerMigrations.script(from: 0, to: 2, schema: "\"orchestrate\""))
        let status = try project.run(["status", "dev"])
        #expect(status.exitCode == 0, "\(status.output)")
        #expect(try TestPostgres.query(database, "SELECT version FROM orchestrate.ledger_meta")[0][0] == "2")
        let upgrade = try project.run(["upgrade", "dev"])
        #expect(upgrade.exitCode == 0, "\(upgrade.output)")
        #expect(
            try TestPostgres.query(database, "SELECT version FROM orchestrate.ledger_meta")[0][0]
                == String(Ledger.currentVersion))
        #expect(try TestPostgres.query(database, "SELECT bool_or(baselined) FROM orchestrate.revisions")[0][0] == "f")
    }

    @Test("the ledger a run creates has exactly the columns of LedgerSchema, in order, at the current version")
    func columnsFollowTheSchema() throws {
        let (project, database) = try Self.makeProject()
        defer { project.cleanUp() }
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        for table in LedgerSchema.tables {
            let columns = try TestPostgres.query(
                database,
                """
                SELECT column_name FROM information_schema.columns WHERE table_schema = 'orchestrate' AND table_name = $1
                ORDER BY ordinal_position
                """, [.text(table.name)]
            ).map { $0[0] ?? "" }
            #expect(columns == table.columns.map(\.name), "\(table.name)")
        }
        // Each step of the script is followed by its own version row: the steps never write it themselves.
        let script = LedgerMigrations.script(from: 0, schema: "s")
        for version in 1...LedgerMigrations.currentVersion {
            #expect(!LedgerMigrations.step(version, schema: "s").contains("ledger_meta (version)"))
            #expect(
                script.contains(
                    LedgerMigrations.step(version, schema: "s") + "\n"
                        + LedgerMigrations.versionRow(version, schema: "s")))
        }
    }

    /// Expects status, doctor and the writing commands to name the damage (`problem`) and its way out (`remedy`),
    /// and the writing commands to refuse before anything runs.
    static func expectDamage(_ project: TestProject, _ database: String, problem: String, remedy: String) throws {
        let status = try project.run(["status", "dev"])
        #expect(status.exitCode == 3, "\(status.output)")
        #expect(status.stdout.contains("damaged") && status.stdout.contains(problem), "\(status.output)")
        #expect(status.stdout.contains(remedy), "\(status.output)")
        #expect(status.stdout.contains("pending  unknown"), "\(status.output)")
        let doctor = try project.run(["doctor"])
        #expect(doctor.exitCode == 1, "\(doctor.output)")
        #expect(doctor.stdout.contains(problem) && doctor.stdout.contains(remedy), "\(doctor.output)")
        let events = try TestPostgres.query(database, "SELECT count(*) FROM orchestrate.events")[0][0]
        for arguments in [
            ["upgrade", "dev"], ["downgrade", "dev", "--steps", "1"], ["plan", "dev"],
            ["repair", "dev", "003_c", "--reason", "x"],
        ] {
            let run = try project.run(arguments)
            #expect(run.exitCode == 1, "\(arguments): \(run.output)")
            #expect(
                run.stderr.contains("the ledger is damaged; nothing was run") && run.stderr.contains(problem),
                "\(arguments): \(run.output)")
        }
        #expect(
            try TestPostgres.query(database, "SELECT count(*) FROM orchestrate.revisions WHERE revision = '004_d'")[0][
                0] == "0")
        // Each writing command's refusal is in the event log (plan writes nothing).
        let refused = try TestPostgres.query(
            database,
            "SELECT action FROM orchestrate.events WHERE id > (SELECT max(id) FROM orchestrate.events) - 3 AND outcome = 'refused' ORDER BY id"
        )
        #expect(
            Int(try TestPostgres.query(database, "SELECT count(*) FROM orchestrate.events")[0][0] ?? "") == Int(
                events ?? "")! + 3)
        #expect(refused.map { $0[0] ?? "" } == ["upgrade", "downgrade", "repair"])
    }

    static func expectHealthy(_ project: TestProject) throws {
        let status = try project.run(["status", "dev"])
        #expect(status.exitCode == 0, "\(status.output)")
        #expect(!status.stdout.contains("damaged"), "\(status.output)")
        #expect(try project.run(["doctor"]).exitCode == 0)
    }

    @Test("damaged ledgers: status and doctor name the damage and the way out; writing commands refuse them")
    func damage() throws {
        let (project, database) = try Self.makeProject()
        defer { project.cleanUp() }
        try project.migration("002_b", parent: "001_root", up: "CREATE TABLE b (id int);", down: "DROP TABLE b;")
        try project.migration("003_c", parent: "002_b", up: "CREATE TABLE c (id int);", down: "DROP TABLE c;")
        try project.gitInitAndCommit("b, c")
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        try project.migration("004_d", parent: "003_c", up: "CREATE TABLE d (id int);", down: "DROP TABLE d;")
        try project.gitInitAndCommit("d")
        try Self.expectHealthy(project)
        let table = "\"orchestrate\".revisions"

        // A parent row deleted: only a backup (or the event log's facts) can bring it back.
        try TestPostgres.execute(
            database,
            """
            CREATE TABLE public.saved AS SELECT * FROM orchestrate.revisions WHERE revision = '002_b';
            DELETE FROM orchestrate.revisions WHERE revision = '002_b'
            """)
        try Self.expectDamage(
            project, database, problem: "revision 003_c names parent 002_b, which has no row in \(table)",
            remedy: "restore the row of 002_b from a backup")
        try TestPostgres.execute(database, "INSERT INTO orchestrate.revisions SELECT * FROM public.saved")
        try Self.expectHealthy(project)

        // Parents edited by hand: the exact UPDATE, from the file, mends it.
        try TestPostgres.execute(
            database, "UPDATE orchestrate.revisions SET parents = '{gone}' WHERE revision = '003_c'")
        let setParents = "UPDATE \(table) SET parents = '{\"002_b\"}'::text[] WHERE revision = '003_c';"
        try Self.expectDamage(project, database, problem: "revision 003_c names parent gone", remedy: setParents)
        try TestPostgres.execute(database, setParents)
        try Self.expectHealthy(project)

        // A parent cycle.
        try TestPostgres.execute(
            database, "UPDATE orchestrate.revisions SET parents = '{003_c}' WHERE revision = '001_root'")
        let unsetRoot = "UPDATE \(table) SET parents = '{}'::text[] WHERE revision = '001_root';"
        try Self.expectDamage(
            project, database, problem: "form a cycle: 001_root -> 002_b -> 003_c -> 001_root",
            remedy: unsetRoot)
        try TestPostgres.execute(database, unsetRoot)
        try Self.expectHealthy(project)

        // A duplicate row (the primary key dropped first).
        try TestPostgres.execute(
            database,
            """
            ALTER TABLE orchestrate.revisions DROP CONSTRAINT revisions_pkey;
            INSERT INTO orchestrate.revisions SELECT * FROM orchestrate.revisions WHERE revision = '002_b'
            """)
        try Self.expectDamage(
            project, database, problem: "revision 002_b has 2 rows in \(table)",
            remedy: "ALTER TABLE \(table) ADD PRIMARY KEY (revision);")
        try TestPostgres.execute(
            database,
            """
            DELETE FROM orchestrate.revisions a USING orchestrate.revisions b
                WHERE a.revision = '002_b' AND b.revision = a.revision AND a.ctid > b.ctid;
            ALTER TABLE orchestrate.revisions ADD PRIMARY KEY (revision)
            """)
        try Self.expectHealthy(project)

        // The version row missing: the INSERT it names brings the ledger back, upgraded again to the current layout.
        try TestPostgres.execute(database, "DELETE FROM orchestrate.ledger_meta")
        let restore = "INSERT INTO \"orchestrate\".ledger_meta (version) VALUES (1);"
        try Self.expectDamage(
            project, database, problem: "the version row of \"orchestrate\".ledger_meta is missing",
            remedy: restore)
        try TestPostgres.execute(database, restore)
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        #expect(
            try TestPostgres.query(database, "SELECT version FROM orchestrate.ledger_meta")[0][0]
                == String(Ledger.currentVersion))
        try Self.expectAppendOnly(database)
        try Self.expectHealthy(project)
    }
}
