import Foundation
import Postgres
import TestSupport
import Testing

@testable import OrchestrateCore

/// The digest of the ledger's rows (layout 4): kept by a trigger on every write, by orchestrate or by hand, so that a
/// fleet reads one value per target and the rows once per distinct ledger.
@Suite("ledger digest")
struct LedgerDigestTests {
    /// The stored digest and the one computed afresh from every row, in `schema`.
    static func digests(_ database: String, schema: String = "orchestrate") throws -> (stored: String, computed: String)
    {
        let row = try TestPostgres.query(
            database,
            """
            SELECT (SELECT revisions_digest::text FROM "\(schema)".ledger_meta),
                   (SELECT mod(coalesce(sum("\(schema)".revision_digest(r)), 0), 18446744073709551616)::text
                    FROM "\(schema)".revisions r)
            """)
        return (row[0][0] ?? "", row[0][1] ?? "")
    }

    /// Whether every derived column of `ledger_meta` (`LedgerDerived`) matches the rows and the event log.
    static func derivedMatch(_ database: String, schema: String = "orchestrate") throws -> Bool {
        let health = LedgerDerived.health(schema: "\"\(schema)\"")
        return try TestPostgres.query(
            database, "SELECT \(health.matches) FROM \"\(schema)\".ledger_meta")[0][0] == "t"
    }

    static func makeProject(extra: String = "") throws -> (TestProject, String) {
        let project = try TestProject()
        let database = try project.environment("dev", extra: extra)
        var parent: String?
        for index in 1...3 {
            let id = "00\(index)_t\(index)"
            try project.migration(
                id, parent: parent, up: "CREATE TABLE IF NOT EXISTS t\(index) (id int);",
                down: "DROP TABLE t\(index);")
            parent = id
        }
        try project.gitInitAndCommit()
        return (project, database)
    }

    /// Commits environment `tenants`: a schema target per name in `database`, its schema created.
    static func addTenants(_ project: TestProject, _ database: String, names: [String], parallel: Int) throws {
        var lines = [
            "database_url = \"\(try TestPostgres.conninfo(database: database))\"", "parallel = \(parallel)",
            "targets = [",
        ]
        lines += names.map { "  { name = \"\($0)\", schema = \"\($0)\" }," }
        try TestPostgres.execute(database, names.map { "CREATE SCHEMA \($0);" }.joined())
        try project.write("environments/tenants.toml", (lines + ["]"]).joined(separator: "\n") + "\n")
        try project.git("add", "-A")
        try project.git("commit", "-q", "-m", "tenants")
    }

    @Test("the digest follows every write: upgrade, downgrade, a hand UPDATE, DELETE and TRUNCATE")
    func followsEveryWrite() throws {
        let (project, database) = try Self.makeProject()
        defer { project.cleanUp() }
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        var now = try Self.digests(database)
        #expect(now.stored == now.computed && now.stored != "0", "\(now)")
        let atHead = now.stored
        #expect(try Self.derivedMatch(database))
        let meta = try TestPostgres.query(
            database,
            "SELECT last_run_action, last_run_outcome, unfinished IS NULL, last_applied_at IS NOT NULL FROM orchestrate.ledger_meta"
        )
        #expect(meta == [["upgrade", "succeeded", "t", "t"]])

        #expect(try project.run(["downgrade", "dev", "--steps", "1"]).exitCode == 0)
        now = try Self.digests(database)
        #expect(now.stored == now.computed && now.stored != atHead, "\(now)")
        #expect(try Self.derivedMatch(database))
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        // Applied again, at another time: the same rows to every decision, so the same digest.
        #expect(try Self.digests(database).stored == atHead)

        try TestPostgres.execute(
            database, "UPDATE orchestrate.revisions SET checksum = 'edited' WHERE revision = '002_t2'")
        now = try Self.digests(database)
        #expect(now.stored == now.computed && now.stored != atHead, "\(now)")
        try TestPostgres.execute(database, "DELETE FROM orchestrate.revisions WHERE revision = '003_t3'")
        now = try Self.digests(database)
        #expect(now.stored == now.computed, "\(now)")
        #expect(try Self.derivedMatch(database))
        // A revision caught between statements is listed in `unfinished` until it is applied.
        try TestPostgres.execute(
            database,
            "UPDATE orchestrate.revisions SET state = 'running', statements_done = 1, statements_total = 2 WHERE revision = '002_t2'"
        )
        #expect(
            try TestPostgres.query(database, "SELECT unfinished FROM orchestrate.ledger_meta") == [
                ["002_t2 running 1 2"]
            ])
        #expect(try Self.derivedMatch(database))
        try TestPostgres.execute(
            database, "UPDATE orchestrate.revisions SET state = 'applied' WHERE revision = '002_t2'")
        #expect(try TestPostgres.query(database, "SELECT unfinished FROM orchestrate.ledger_meta") == [[nil]])
        #expect(try Self.derivedMatch(database))
        try TestPostgres.execute(database, "TRUNCATE orchestrate.revisions")
        #expect(try Self.derivedMatch(database))
        #expect(try Self.digests(database) == ("0", "0"))
    }

    @Test(
        "a ledger of layout 3 gets the digest of the rows it has when a writing run upgrades it; status reads it as it is"
    )
    func upgradedFromLayoutThree() throws {
        let (project, database) = try Self.makeProject()
        defer { project.cleanUp() }
        try TestPostgres.execute(database, LedgerMigrations.script(from: 0, to: 3, schema: "\"orchestrate\""))
        try TestPostgres.execute(
            database,
            """
            CREATE TABLE t1 (id int);
            INSERT INTO orchestrate.revisions (revision, parents, checksum, up_sql, transactional, state, environment)
            VALUES ('001_t1', '{}', 'c', 'CREATE TABLE t1 (id int);', true, 'applied', 'dev');
            """)
        let status = try project.run(["status", "dev"])
        #expect(status.exitCode == 0, "\(status.output)")
        #expect(try TestPostgres.query(database, "SELECT version FROM orchestrate.ledger_meta")[0][0] == "3")

        let upgrade = try project.run(["upgrade", "dev"])
        #expect(upgrade.exitCode == 0, "\(upgrade.output)")
        #expect(try TestPostgres.query(database, "SELECT version FROM orchestrate.ledger_meta")[0][0] == "4")
        let now = try Self.digests(database)
        #expect(now.stored == now.computed && now.stored != "0", "\(now)")
        #expect(try FleetTests.ledgerRevisions(database) == ["001_t1", "002_t2", "003_t3"])
    }

    @Test(
        "20 schemas: a no-op run reads the rows of at most `parallel` ledgers; a ledger edited by hand is read and run on its own"
    )
    func fleetReadsRowsOncePerDigest() throws {
        let (project, database) = try Self.makeProject()
        defer { project.cleanUp() }
        try Self.addTenants(project, database, names: (1...20).map { String(format: "s%02d", $0) }, parallel: 2)
        let first = try project.run(["upgrade", "tenants"])
        #expect(first.exitCode == 0 && first.stdout.contains("20 done"), "\(first.output)")
        let digests = try (1...20).map { try Self.digests(database, schema: String(format: "orchestrate_s%02d", $0)) }
        #expect(Set(digests.map(\.stored)).count == 1 && digests.allSatisfy { $0.stored == $0.computed })

        /// How often each tenant's `revisions` table has been read (sequential and index scans).
        func reads() throws -> [String: Int] {
            // A finished run's server processes have flushed their counters; the wait covers their exit.
            Thread.sleep(forTimeInterval: 0.5)
            let rows = try TestPostgres.query(
                database,
                """
                SELECT schemaname, coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables
                WHERE relname = 'revisions' AND schemaname LIKE 'orchestrate_s%'
                """)
            return Dictionary(uniqueKeysWithValues: rows.map { ($0[0] ?? "", Int($0[1] ?? "") ?? 0) })
        }
        let before = try reads()
        let noop = try project.run(["upgrade", "tenants"])
        #expect(noop.exitCode == 0 && noop.stdout.contains("0 done, 20 unchanged"), "\(noop.output)")
        let after = try reads()
        let scanned = after.filter { $0.value > (before[$0.key] ?? 0) }.keys.sorted()
        #expect(!scanned.isEmpty && scanned.count <= 2, "ledgers read: \(scanned)")

        // One tenant's ledger loses its newest row by hand: its digest differs, so it is read and planned on its own,
        // and only it runs the revision again (its up SQL is idempotent).
        try TestPostgres.execute(database, "DELETE FROM orchestrate_s07.revisions WHERE revision = '003_t3'")
        let rerun = try project.run(["upgrade", "tenants"])
        #expect(rerun.exitCode == 0 && rerun.stdout.contains("1 done, 19 unchanged"), "\(rerun.output)")
        #expect(rerun.stdout.contains("s07: 003_t3"), "\(rerun.stdout)")
        #expect(try Self.digests(database, schema: "orchestrate_s07").stored == digests[0].stored)

        // An edited checksum on one tenant: the warning names that tenant only.
        try TestPostgres.execute(
            database, "UPDATE orchestrate_s11.revisions SET checksum = 'edited' WHERE revision = '001_t1'")
        let warned = try project.run(["upgrade", "tenants"])
        #expect(warned.exitCode == 0, "\(warned.output)")
        #expect(warned.stderr.contains("tenants/s11: ") && warned.stderr.contains("was edited after it was applied"))
        let edits = warned.stderr.split(separator: "\n").filter { $0.contains("was edited after it was applied") }
        #expect(edits.count == 1 && edits[0].contains("tenants/s11: "), "\(warned.stderr)")
    }

    @Test(
        "doctor: a digest whose triggers are disabled, or that no longer matches the rows, is named with the statements that mend it"
    )
    func doctorChecksTheDigest() throws {
        let (project, database) = try Self.makeProject()
        defer { project.cleanUp() }
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        let healthy = try project.run(["doctor"])
        #expect(healthy.exitCode == 0 && !healthy.stdout.contains("digest"), "\(healthy.output)")

        // The triggers fire ALWAYS: a session in replica mode (as restore and replication tools set) keeps the digest.
        try TestPostgres.execute(
            database,
            "SET session_replication_role = replica; UPDATE orchestrate.revisions SET checksum = 'x' WHERE revision = '003_t3'; RESET session_replication_role"
        )
        var now = try Self.digests(database)
        #expect(now.stored == now.computed, "\(now)")

        try TestPostgres.execute(
            database,
            "ALTER TABLE orchestrate.revisions DISABLE TRIGGER revisions_derived; DELETE FROM orchestrate.revisions WHERE revision = '003_t3'"
        )
        let disabled = try project.run(["doctor"])
        #expect(disabled.exitCode != 0, "\(disabled.output)")
        #expect(
            disabled.stdout.contains(
                "the triggers that keep the digest and summary columns of \"orchestrate\".ledger_meta are disabled, and the columns no longer match the revisions and events"
            ),
            "\(disabled.output)")
        #expect(disabled.stdout.contains("ENABLE ALWAYS TRIGGER revisions_derived;"), "\(disabled.output)")

        // Enabled again by hand without a recomputation: the digest is stale.
        try TestPostgres.execute(database, "ALTER TABLE orchestrate.revisions ENABLE ALWAYS TRIGGER revisions_derived")
        let stale = try project.run(["doctor"])
        #expect(
            stale.exitCode != 0 && stale.stdout.contains("do not match the revisions and events"), "\(stale.output)")

        // The way out doctor prints mends it.
        let line = try #require(
            stale.stdout.split(separator: "\n").first { $0.contains("do not match the revisions and events") })
        let remedy = try #require(
            line.components(separatedBy: "a DBA runs `").last?.split(separator: "`").first.map(String.init))
        try TestPostgres.execute(database, remedy)
        now = try Self.digests(database)
        #expect(now.stored == now.computed, "\(now)")
        let mended = try project.run(["doctor"])
        #expect(mended.exitCode == 0 && !mended.stdout.contains("digest"), "\(mended.output)")
    }

    @Test(
        "fleet doctor names a target whose derived columns no longer follow its rows (a row deleted behind disabled triggers); its way out mends it"
    )
    func fleetDoctorNamesStaleTargets() throws {
        let (project, database) = try Self.makeProject()
        defer { project.cleanUp() }
        try Self.addTenants(project, database, names: ["s1", "s2", "s3"], parallel: 1)
        #expect(try project.run(["upgrade", "tenants"]).stdout.contains("3 done"))
        let healthy = try project.run(["doctor"])
        #expect(
            healthy.exitCode == 0 && healthy.stdout.contains("3 of 3 reachable target(s) healthy"), "\(healthy.output)")

        // Behind disabled triggers, s2 loses a row while its digest still says it has it (the digest of s1 and s3).
        try TestPostgres.execute(
            database,
            "ALTER TABLE orchestrate_s2.revisions DISABLE TRIGGER revisions_derived; DELETE FROM orchestrate_s2.revisions WHERE revision = '003_t3'"
        )
        let doctor = try project.run(["doctor"])
        #expect(
            doctor.exitCode != 0 && doctor.stdout.contains("2 of 3 reachable target(s) healthy"), "\(doctor.output)")
        let line = try #require(
            doctor.stdout.split(separator: "\n").first {
                $0.contains("whose digest and summary columns do not follow")
            },
            "\(doctor.output)")
        #expect(line.contains("1 whose digest") && line.contains("s2 (the triggers that keep"), "\(line)")
        #expect(!line.contains("s1 (") && !line.contains("s3 ("), "\(line)")

        // The way out doctor prints, run by a DBA: the triggers enabled, the columns recomputed; the row is run again.
        let remedy = try #require(
            line.components(separatedBy: "a DBA runs `").last?.split(separator: "`").first.map(String.init))
        try TestPostgres.execute(database, remedy)
        let mended = try project.run(["doctor"])
        #expect(mended.exitCode == 0, "\(mended.output)")
        let rerun = try project.run(["upgrade", "tenants"])
        #expect(rerun.exitCode == 0 && rerun.stdout.contains("1 done, 2 unchanged"), "\(rerun.output)")
        #expect(rerun.stdout.contains("s2: 003_t3"), "\(rerun.stdout)")
    }
}
