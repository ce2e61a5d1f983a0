import Foundation
import Postgres
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The lock connection during a run: its loss stops the run before anything more commits, and Ctrl-C stops a ledger
/// read it is waiting on.
@Suite("lock session")
struct LockSessionTests {
    /// The server process of the run's lock connection (application_name `orchestrate COMMAND`, without the work
    /// connection's `(work of …)` tag).
    static func lockBackend(in database: String, command: String) throws -> Int32? {
        try TestPostgres.query(
            database, "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
            ["orchestrate \(command)"]
        ).first?.first.flatMap { $0.flatMap { Int32($0) } }
    }

    /// Waits until the run sleeps inside its revision, then ends the server process of its lock connection, as a
    /// restart or `pg_terminate_backend` would; returns that process's id.
    static func terminateLockSession(in dev: String) throws -> Int32 {
        #expect(try waitUntil(timeout: 15) { try !backends(in: dev, running: "pg_sleep(2)").isEmpty })
        let pid = try #require(try lockBackend(in: dev, command: "upgrade dev"))
        #expect(
            try TestPostgres.query(dev, "SELECT pg_terminate_backend($1::integer, 5000)", [.integer(Int(pid))]) == [
                ["t"]
            ])
        return pid
    }

    @Test("the lock connection terminated between revisions: exit 3, the revision rolled back, the next not applied")
    func lockConnectionLostTransactional() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev")
        try project.migration("001_base", parent: nil, up: "CREATE TABLE base (id int);", down: "DROP TABLE base;")
        try project.migration(
            "002_slow", parent: "001_base", up: "CREATE TABLE doomed (id int);\nSELECT pg_sleep(2);",
            down: "DROP TABLE doomed;")
        try project.migration(
            "003_next", parent: "002_slow", up: "CREATE TABLE later (id int);", down: "DROP TABLE later;")
        try project.gitInitAndCommit()
        let run = try BackgroundRun(project, ["upgrade", "dev"])
        let pid = try Self.terminateLockSession(in: dev)
        let result = run.wait()
        #expect(result.exitCode == 3, "\(result.output)")
        #expect(
            result.stderr.contains(
                "environment `dev`: the connection holding the environment lock (server process \(pid)) was lost, so the lock is gone; the run stopped before revision 002_slow (up) at migrations/002_slow.sql committed; it was rolled back: nothing of it remains"
            ),
            "\(result.stderr)")
        #expect(result.stderr.contains("1 revision(s) before it were applied by this run and stay applied: 001_base"))
        #expect(
            try TestPostgres.query(
                dev, "SELECT to_regclass('public.doomed') IS NULL, to_regclass('public.later') IS NULL") == [
                    ["t", "t"]
                ])
        #expect(try TestPostgres.query(dev, "SELECT revision FROM orchestrate.revisions") == [["001_base"]])
        // The failure is in the event log (written on the work connection), and no success is claimed.
        #expect(
            try TestPostgres.query(
                dev, "SELECT count(*) FROM orchestrate.events WHERE outcome = 'failed' AND revision = '002_slow'") == [
                    ["1"]
                ])
        #expect(
            try TestPostgres.query(dev, "SELECT count(*) FROM orchestrate.events WHERE outcome = 'succeeded'") == [
                ["0"]
            ])

        let rerun = try project.run(["upgrade", "dev"])
        #expect(rerun.exitCode == 0, "\(rerun.output)")
        #expect(try TestPostgres.query(dev, "SELECT count(*) FROM orchestrate.revisions") == [["3"]])
    }

    @Test("the lock connection terminated inside a non-transactional revision: no further statement starts")
    func lockConnectionLostNonTransactional() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev")
        try project.migration(
            "001_nt", parent: nil,
            up: "CREATE TABLE first (id int);\nSELECT pg_sleep(2);\nCREATE TABLE second (id int);",
            down: "DROP TABLE IF EXISTS second;\nDROP TABLE first;", header: "-- transaction: false\n")
        try project.gitInitAndCommit()
        let run = try BackgroundRun(project, ["upgrade", "dev"])
        _ = try Self.terminateLockSession(in: dev)
        let result = run.wait()
        #expect(result.exitCode == 3, "\(result.output)")
        #expect(
            result.stderr.contains(
                "the run stopped before revision 001_nt (up) at migrations/001_nt.sql could run statement 3 of 3 (non-transactional revision)"
            ),
            "\(result.stderr)")
        #expect(result.stderr.contains("statements 1 to 2 of 3 are committed, statement 3 not"))
        #expect(
            try TestPostgres.query(
                dev, "SELECT to_regclass('public.first') IS NOT NULL, to_regclass('public.second') IS NULL") == [
                    ["t", "t"]
                ])
        #expect(
            try TestPostgres.query(dev, "SELECT state, statements_done FROM orchestrate.revisions") == [
                ["running", "2"]
            ])
    }

    @Test("Ctrl-C while the lock connection waits for a ledger table another session locked: exit 130 at once")
    func sigintDuringLedgerRead() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev")
        try project.migration("001_base", parent: nil, up: "CREATE TABLE base (id int);", down: "DROP TABLE base;")
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        try project.migration(
            "002_more", parent: "001_base", up: "CREATE TABLE more (id int);", down: "DROP TABLE more;")
        try project.git("add", "-A")
        try project.git("commit", "-q", "-m", "002")

        let blocker = try Connection(conninfo: try TestPostgres.conninfo(database: dev), applicationName: "blocker")
        defer { blocker.close() }
        try blocker.execute("BEGIN; LOCK TABLE orchestrate.revisions IN ACCESS EXCLUSIVE MODE")
        let run = try BackgroundRun(project, ["upgrade", "dev"])
        #expect(
            try waitUntil(timeout: 15) {
                try TestPostgres.query(
                    dev,
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'orchestrate upgrade dev' AND wait_event_type = 'Lock'"
                )
                    == [["1"]]
            })
        let interrupted = Date()
        run.send(SIGINT)
        let stopped = waitUntil(timeout: 5) { !run.process.isRunning }
        if !stopped { try blocker.execute("ROLLBACK") }  // Without the fix the run waits for ever: let it go.
        let result = run.wait()
        #expect(stopped)
        #expect(Date().timeIntervalSince(interrupted) < 5)
        #expect(result.exitCode == 130, "\(result.output)")
        #expect(result.stderr.contains("interrupted by Ctrl-C (SIGINT)"), "\(result.stderr)")
        try blocker.execute("ROLLBACK")
        #expect(try TestPostgres.query(dev, "SELECT to_regclass('public.more') IS NULL") == [["t"]])
    }
}
