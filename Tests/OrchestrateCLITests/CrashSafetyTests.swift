import Foundation
import Postgres
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Runs that are interrupted, killed, cut off from the database, or raced: nothing half-applied, nothing stale.
@Suite("crash safety")
struct CrashSafetyTests {
    /// A first stage whose second revision creates a table, takes a lock on the first one's table, then sleeps.
    static func sleepingProject(extra: String = "") throws -> (TestProject, String) {
        let project = try TestProject()
        let dev = try project.environment("dev", extra: extra)
        try project.migration("001_base", parent: nil, up: "CREATE TABLE base (id int);", down: "DROP TABLE base;")
        try project.migration(
            "002_slow", parent: "001_base",
            up: "CREATE TABLE doomed (id int);\nALTER TABLE base ADD COLUMN x int;\nSELECT pg_sleep(30);",
            down: "DROP TABLE doomed;")
        try project.gitInitAndCommit()
        return (project, dev)
    }

    @Test("Ctrl-C during a long statement cancels it, rolls back, records the interruption and exits 130")
    func sigint() throws {
        let (project, dev) = try Self.sleepingProject()
        defer { project.cleanUp() }
        #expect(try project.run(["upgrade", "dev", "--to", "001_base"]).exitCode == 0)
        let run = try BackgroundRun(project, ["upgrade", "dev"])
        #expect(try waitUntil(timeout: 15) { try !backends(in: dev, running: "pg_sleep(30)").isEmpty })
        let interrupted = Date()
        run.send(SIGINT)
        let result = run.wait()
        #expect(Date().timeIntervalSince(interrupted) < 5)
        #expect(result.exitCode == 130, "\(result.output)")
        #expect(result.stderr.contains("interrupted by Ctrl-C (SIGINT) while running revision 002_slow (up)"))
        #expect(result.stderr.contains("rolled back: nothing of it remains"))
        #expect(try TestPostgres.query(dev, "SELECT to_regclass('public.doomed') IS NULL") == [["t"]])
        #expect(try TestPostgres.query(dev, "SELECT revision FROM orchestrate.revisions") == [["001_base"]])
        #expect(
            try TestPostgres.query(dev, "SELECT count(*) FROM orchestrate.events WHERE outcome = 'interrupted'") == [
                ["2"]
            ])
        // The lock went with the process: status shows no holder, and the next run proceeds at once.
        #expect(!(try project.run(["status", "dev"]).stdout.contains("lock ")))
        try project.migration(
            "002_slow", parent: "001_base", up: "CREATE TABLE doomed (id int);", down: "DROP TABLE doomed;")
        let next = try project.run(["upgrade", "dev"])
        #expect(next.exitCode == 0, "\(next.output)")
    }

    @Test("SIGTERM (a CI job cancelled) does the same and exits 143; revisions already done are named")
    func sigterm() throws {
        let (project, dev) = try Self.sleepingProject()
        defer { project.cleanUp() }
        let run = try BackgroundRun(project, ["upgrade", "dev"])
        #expect(try waitUntil(timeout: 15) { try !backends(in: dev, running: "pg_sleep(30)").isEmpty })
        run.send(SIGTERM)
        let result = run.wait()
        #expect(result.exitCode == 143, "\(result.output)")
        #expect(result.stderr.contains("interrupted by SIGTERM while running revision 002_slow"))
        #expect(result.stderr.contains("1 revision(s) before it were applied by this run and stay applied: 001_base"))
        #expect(try TestPostgres.query(dev, "SELECT revision FROM orchestrate.revisions") == [["001_base"]])
        #expect(try TestPostgres.query(dev, "SELECT to_regclass('public.doomed') IS NULL") == [["t"]])
    }

    @Test("Ctrl-C while waiting for the environment lock exits 130 at once, having run nothing")
    func sigintWhileWaiting() throws {
        let (project, dev) = try Self.sleepingProject()
        defer { project.cleanUp() }
        let first = try BackgroundRun(project, ["upgrade", "dev"])
        #expect(try waitUntil(timeout: 15) { try !backends(in: dev, running: "pg_sleep(30)").isEmpty })
        let second = try BackgroundRun(project, ["upgrade", "dev"])
        #expect(
            try waitUntil(timeout: 10) {
                try TestPostgres.query(
                    dev, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'orchestrate upgrade dev'")
                    == [["2"]]
            })
        // The second run says it waits for the lock: only then is it in the wait that Ctrl-C must end.
        #expect(waitUntil(timeout: 10) { second.stderrSoFar.contains("waiting:") }, "\(second.stderrSoFar)")
        second.send(SIGINT)
        let waited = second.wait()
        #expect(waited.exitCode == 130, "\(waited.output)")
        #expect(waited.stderr.contains("while waiting for the lock of `dev`; nothing was run"))
        first.send(SIGINT)
        #expect(first.wait().exitCode == 130)
    }

    @Test("SIGKILL during a transactional revision: nothing of it remains and the next run proceeds at once")
    func sigkillTransactional() throws {
        let (project, dev) = try Self.sleepingProject(extra: "ddl_lock_timeout = \"1s\"\nddl_lock_retries = 0\n")
        defer { project.cleanUp() }
        let run = try BackgroundRun(project, ["upgrade", "dev"])
        #expect(try waitUntil(timeout: 15) { try !backends(in: dev, running: "pg_sleep(30)").isEmpty })
        run.send(SIGKILL)
        _ = run.wait()

        // The next run, with the revision rewritten, needs the table the killed statement had locked.
        try project.migration(
            "002_slow", parent: "001_base", up: "ALTER TABLE base ADD COLUMN y int;", down: "SELECT 1;")
        let started = Date()
        let next = try project.run(["upgrade", "dev"])
        #expect(next.exitCode == 0, "\(next.output)")
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(try TestPostgres.query(dev, "SELECT to_regclass('public.doomed') IS NULL") == [["t"]])
        #expect(
            try TestPostgres.query(
                dev,
                "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'base'::regclass AND attnum > 0 AND NOT attisdropped"
            )
                == [["id,y"]])
        #expect(try backends(in: dev, running: "pg_sleep(30)").isEmpty)
    }

    @Test("the server aborts the statement of a killed run by itself (client_connection_check_interval)")
    func serverNoticesDeadClient() throws {
        let (project, dev) = try Self.sleepingProject()
        defer { project.cleanUp() }
        let run = try BackgroundRun(project, ["upgrade", "dev"])
        #expect(try waitUntil(timeout: 15) { try !backends(in: dev, running: "pg_sleep(30)").isEmpty })
        let settings = try TestPostgres.query(
            dev,
            """
            SELECT application_name FROM pg_stat_activity WHERE datname = current_database() AND position('pg_sleep(30)' in query) > 0 AND pid <> pg_backend_pid()
            """)
        #expect(settings.first?.first??.hasPrefix("orchestrate upgrade dev (work of ") == true)
        run.send(SIGKILL)
        _ = run.wait()
        // No other run helps here: the server itself notices within about a second.
        #expect(try waitUntil(timeout: 5) { try backends(in: dev, running: "pg_sleep(30)").isEmpty })
        #expect(try TestPostgres.query(dev, "SELECT to_regclass('public.doomed') IS NULL") == [["t"]])
    }

    @Test("a work session left by a dead run is ended by the next run, which then proceeds")
    func orphanedWorkSessionIsEnded() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev", extra: "ddl_lock_timeout = \"500ms\"\nddl_lock_retries = 0\n")
        try project.migration("001_base", parent: nil, up: "CREATE TABLE base (id int);", down: "DROP TABLE base;")
        try project.migration(
            "002_more", parent: "001_base", up: "ALTER TABLE base ADD COLUMN y int;", down: "SELECT 1;")
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev", "--to", "001_base"]).exitCode == 0)
        // What PostgreSQL before 14 (or a half-open TCP connection) leaves: the dead run's work session, still in its
        // transaction with its locks; its lock connection (pid 999999) is gone.
        let orphan = try Connection(
            conninfo: try TestPostgres.conninfo(database: dev),
            applicationName: "orchestrate upgrade dev (work of 999999)")
        defer { orphan.close() }
        try orphan.execute("BEGIN; LOCK TABLE base IN ACCESS EXCLUSIVE MODE")
        // A session of another run that still holds its lock is left alone.
        let alive = try Connection(conninfo: try TestPostgres.conninfo(database: dev), applicationName: "alive lock")
        defer { alive.close() }
        try alive.execute("SELECT pg_advisory_lock(42)")
        let bystander = try Connection(
            conninfo: try TestPostgres.conninfo(database: dev),
            applicationName: "orchestrate upgrade other (work of \(alive.backendPID))")
        defer { bystander.close() }
        try bystander.execute("BEGIN; SELECT 1")

        let next = try project.run(["upgrade", "dev"])
        #expect(next.exitCode == 0, "\(next.output)")
        #expect(
            next.stderr.contains(
                "ending server process \(orphan.backendPID) (orchestrate upgrade dev (work of 999999), idle in transaction"
            ))
        #expect(!orphan.isOpen || (try? orphan.execute("SELECT 1")) == nil)
        #expect((try? bystander.execute("SELECT 1")) != nil, "the live run's session is untouched")
    }

    @Test("the work connection terminated mid-revision: exit 3, rolled back, and the rerun completes")
    func terminatedBackend() throws {
        let (project, dev) = try Self.sleepingProject()
        defer { project.cleanUp() }
        let run = try BackgroundRun(project, ["upgrade", "dev"])
        var pids: [Int32] = []
        #expect(
            try waitUntil(timeout: 15) {
                pids = try backends(in: dev, running: "pg_sleep(30)")
                return !pids.isEmpty
            })
        let pid = try #require(pids.first)
        #expect(
            try TestPostgres.query(dev, "SELECT pg_terminate_backend($1::integer)", [.integer(Int(pid))]) == [["t"]])
        let result = run.wait()
        #expect(result.exitCode == 3, "\(result.output)")
        #expect(result.stderr.contains("revision 002_slow failed (up)"))
        #expect(result.stderr.contains("the connection to the database was lost"))
        #expect(result.stderr.contains("rolled back"))
        #expect(result.stderr.contains("`orchestrate status dev` tells which"), "\(result.stderr)")
        #expect(try TestPostgres.query(dev, "SELECT to_regclass('public.doomed') IS NULL") == [["t"]])
        #expect(try TestPostgres.query(dev, "SELECT revision FROM orchestrate.revisions") == [["001_base"]])
        #expect(
            try TestPostgres.query(
                dev, "SELECT count(*) FROM orchestrate.events WHERE outcome = 'failed' AND revision = '002_slow'") == [
                    ["1"]
                ])

        try project.migration(
            "002_slow", parent: "001_base",
            up: "CREATE TABLE doomed (id int);\nALTER TABLE base ADD COLUMN x int;", down: "DROP TABLE doomed;")
        let rerun = try project.run(["upgrade", "dev"])
        #expect(rerun.exitCode == 0, "\(rerun.output)")
        #expect(try TestPostgres.query(dev, "SELECT count(*) FROM orchestrate.revisions") == [["2"]])
    }

    @Test("SIGKILL inside a non-transactional revision: reported interrupted, writing commands refuse until repair")
    func sigkillNonTransactional() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev")
        try project.migration("001_base", parent: nil, up: "CREATE TABLE base (id int);", down: "DROP TABLE base;")
        try project.migration(
            "002_index", parent: "001_base",
            up:
                "CREATE INDEX CONCURRENTLY base_id ON base (id);\nSELECT pg_sleep(30);\nCREATE INDEX CONCURRENTLY base_id2 ON base (id);",
            down: "DROP INDEX CONCURRENTLY base_id2;\nDROP INDEX CONCURRENTLY base_id;",
            header: "-- transaction: false\n")
        try project.gitInitAndCommit()
        let run = try BackgroundRun(project, ["upgrade", "dev"])
        #expect(try waitUntil(timeout: 15) { try !backends(in: dev, running: "pg_sleep(30)").isEmpty })
        run.send(SIGKILL)
        _ = run.wait()

        let status = try project.run(["status", "dev"])
        #expect(status.stdout.contains("002_index interrupted while applying at statement 2 of 3"), "\(status.output)")
        #expect(status.stdout.contains("orchestrate repair dev 002_index --applied|--reverted --reason TEXT"))
        let json = try project.run(["status", "dev", "--json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        let interrupted = try #require((entries.first?["interrupted"] as? [[String: Any]])?.first)
        #expect(interrupted["statementsDone"] as? Int == 1)
        #expect(interrupted["statementsTotal"] as? Int == 3)
        // Statement 1 is committed; statement 3 never ran.
        #expect(
            try TestPostgres.query(
                dev, "SELECT to_regclass('public.base_id') IS NOT NULL, to_regclass('public.base_id2') IS NULL") == [
                    ["t", "t"]
                ])

        for arguments in [["upgrade", "dev"], ["downgrade", "dev", "--to", "base"]] {
            let refused = try project.run(arguments)
            #expect(refused.exitCode == 1, "\(refused.output)")
            #expect(
                refused.stderr.contains(
                    "revision 002_index was interrupted while applying, at statement 2 of 3 (non-transactional)"))
            #expect(refused.stderr.contains("orchestrate repair dev 002_index --applied|--reverted --reason TEXT"))
        }
        let plan = try project.run(["plan", "dev"])
        #expect(plan.exitCode == 1)

        // Resolved with repair: finish the rest by hand, then say so.
        try TestPostgres.query(dev, "CREATE INDEX CONCURRENTLY base_id2 ON base (id)")
        let repair = try project.run([
            "repair", "dev", "002_index", "--applied", "--reason", "finished statement 3 by hand",
        ])
        #expect(repair.exitCode == 0, "\(repair.output)")
        #expect(!(try project.run(["status", "dev"]).stdout.contains("interrupted")))
        #expect(try project.run(["upgrade", "dev"]).stdout.contains("up to date"))
        let down = try project.run(["downgrade", "dev", "--to", "001_base"])
        #expect(down.exitCode == 0, "\(down.output)")
        #expect(
            try TestPostgres.query(
                dev, "SELECT to_regclass('public.base_id') IS NULL AND to_regclass('public.base_id2') IS NULL") == [
                    ["t"]
                ])
    }

    @Test("eight promotes of one environment at once: each revision applied exactly once, every exit 0 or 4")
    func concurrentPromotes() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.environment("dev")
        let staging = try project.environment("staging", promotesFrom: "dev", extra: "lock_timeout = \"60s\"\n")
        try project.migration(
            "001_a", parent: nil, up: "CREATE TABLE a (id int);\nSELECT pg_sleep(0.5);", down: "DROP TABLE a;")
        try project.migration("002_b", parent: "001_a", up: "CREATE TABLE b (id int);", down: "DROP TABLE b;")
        try project.migration(
            "003_c", parent: "002_b", up: "CREATE INDEX CONCURRENTLY b_id ON b (id);",
            down: "DROP INDEX CONCURRENTLY b_id;",
            header: "-- transaction: false\n")
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)

        let runs = try (0..<8).map { _ in try BackgroundRun(project, ["promote", "staging"]) }
        let results = runs.map { $0.wait() }
        for result in results {
            #expect(result.exitCode == 0 || result.exitCode == 4, "\(result.output)")
        }
        #expect(results.filter { $0.stdout.contains("staging: applied 3 revision(s)") }.count == 1)
        #expect(results.filter { $0.exitCode == 0 }.count >= 7)
        #expect(
            try TestPostgres.query(
                staging, "SELECT revision, count(*) FROM orchestrate.revisions GROUP BY 1 ORDER BY 1")
                == [["001_a", "1"], ["002_b", "1"], ["003_c", "1"]])
        #expect(
            try TestPostgres.query(
                staging, "SELECT count(*), count(DISTINCT revision) FROM orchestrate.events WHERE outcome = 'applied'")
                == [["3", "3"]])
        #expect(
            try TestPostgres.query(staging, "SELECT count(*) FROM orchestrate.events WHERE outcome = 'succeeded'") == [
                ["1"]
            ])
    }
}
