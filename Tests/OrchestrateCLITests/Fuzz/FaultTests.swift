import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Faults around real runs: many upgrades racing for one environment, and `kill -9` at seeded moments of an upgrade.
@Suite("fault", .tags(.fuzz))
struct FaultTests {
    /// Advisory locks still held in `database` (the environment lock is one).
    static func advisoryLocks(_ database: String) throws -> Int {
        Int(
            try TestPostgres.query(
                database,
                """
                SELECT count(*) FROM pg_locks
                WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                """)[0][0] ?? "") ?? -1
    }

    @Test(
        "16 upgrades of one environment at once: every revision runs exactly once, every exit is 0 or 4, the lock is free after"
    )
    func racingUpgrades() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev", extra: "lock_timeout = \"60s\"\n")
        // Each revision records itself in a table with a primary key: a second execution would fail, and so would
        // its CREATE TABLE ("already exists").
        try project.migration(
            "001_counters", parent: nil,
            up: "CREATE TABLE ran (revision text PRIMARY KEY);\nINSERT INTO ran VALUES ('001');",
            down: "DROP TABLE ran;")
        try project.migration(
            "002_slow", parent: "001_counters",
            up: "CREATE TABLE r2 (id int);\nSELECT pg_sleep(0.3);\nINSERT INTO ran VALUES ('002');",
            down: "DROP TABLE r2;")
        try project.migration(
            "003_outside", parent: "002_slow",
            up:
                "CREATE TABLE r3 (id int);\nINSERT INTO ran VALUES ('003');\nCREATE INDEX CONCURRENTLY r3_id ON r3 (id);",
            down: "DROP TABLE r3;", header: "-- transaction: false\n")
        try project.migration(
            "004_last", parent: "003_outside",
            up: "CREATE TABLE r4 (id int);\nINSERT INTO ran VALUES ('004');", down: "DROP TABLE r4;")
        try project.gitInitAndCommit()

        let runs = try (0..<16).map { _ in try BackgroundRun(project, ["upgrade", "dev"]) }
        let results = runs.map { $0.wait() }
        for result in results {
            #expect(result.exitCode == 0 || result.exitCode == 4, "\(result.output)")
            #expect(!result.output.contains("already exists"), "\(result.output)")
        }
        #expect(
            try TestPostgres.query(dev, "SELECT revision, count(*) FROM orchestrate.revisions GROUP BY 1 ORDER BY 1")
                == [["001_counters", "1"], ["002_slow", "1"], ["003_outside", "1"], ["004_last", "1"]])
        #expect(
            try TestPostgres.query(dev, "SELECT string_agg(revision, ',' ORDER BY revision) FROM ran") == [
                ["001,002,003,004"]
            ])
        #expect(
            try TestPostgres.query(
                dev, "SELECT count(*), count(DISTINCT revision) FROM orchestrate.events WHERE outcome = 'applied'")
                == [["4", "4"]])
        #expect(try waitUntil(timeout: 5) { try Self.advisoryLocks(dev) == 0 })
    }

    /// Transactional revisions and the table each creates; 003 runs outside a transaction.
    static let tables = [("001_a", "a"), ("002_b", "b"), ("004_d", "d"), ("005_e", "e")]

    @Test(
        "kill -9 at a seeded moment of an upgrade: nothing half-applied, the lock free at once, the next run completes",
        arguments: 0..<6)
    func killedUpgrade(seed: Int) throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev", extra: "lock_timeout = \"2s\"\n")
        try project.migration("001_a", parent: nil, up: "CREATE TABLE a (id int);", down: "DROP TABLE a;")
        try project.migration(
            "002_b", parent: "001_a", up: "CREATE TABLE b (id int);\nSELECT pg_sleep(0.4);", down: "DROP TABLE b;")
        // Idempotent statements, so that after `repair --reverted` the rerun is safe whatever had committed.
        try project.migration(
            "003_c", parent: "002_b",
            up:
                "CREATE TABLE IF NOT EXISTS c (id int);\nSELECT pg_sleep(0.4);\nCREATE TABLE IF NOT EXISTS c2 (id int);",
            down: "DROP TABLE c2;\nDROP TABLE c;", header: "-- transaction: false\n")
        try project.migration(
            "004_d", parent: "003_c", up: "SELECT pg_sleep(0.3);\nCREATE TABLE d (id int);", down: "DROP TABLE d;")
        try project.migration("005_e", parent: "004_d", up: "CREATE TABLE e (id int);", down: "DROP TABLE e;")
        try project.gitInitAndCommit()

        var rng = SeededGenerator(seed: UInt64(seed))
        let delay = 0.05 + Double(seed) * 0.25 + Double.random(in: 0..<0.2, using: &rng)
        let run = try BackgroundRun(project, ["upgrade", "dev"])
        Thread.sleep(forTimeInterval: delay)
        run.send(SIGKILL)
        let killed = run.wait()
        let label = "seed \(seed), killed after \(String(format: "%.2f", delay)) s"

        // Nothing half-applied: each transactional revision's table exists if and only if its ledger row does.
        let ledger = try TestPostgres.query(dev, "SELECT to_regclass('orchestrate.revisions') IS NOT NULL")[0][0] == "t"
        let recorded =
            ledger
            ? Set(try TestPostgres.query(dev, "SELECT revision FROM orchestrate.revisions").compactMap { $0[0] }) : []
        for (revision, table) in Self.tables {
            let exists =
                try TestPostgres.query(dev, "SELECT to_regclass($1) IS NOT NULL", [.text("public." + table)])[0][0]
                == "t"
            #expect(
                exists == recorded.contains(revision),
                "\(label): table \(table) exists: \(exists), ledger: \(recorded)\n\(killed.output)")
        }

        // The lock died with the process: the next run (lock_timeout 2s) does not report it held; it completes, or
        // refuses only because the non-transactional 003_c was interrupted.
        let next = try project.run(["upgrade", "dev"])
        #expect(next.exitCode == 0 || next.exitCode == 1, "\(label): \(next.output)")
        if next.exitCode == 1 {
            #expect(next.stderr.contains("revision 003_c was interrupted while applying"), "\(label): \(next.output)")
            let repair = try project.run([
                "repair", "dev", "003_c", "--reverted", "--reason", "fault test: statements are idempotent",
            ])
            #expect(repair.exitCode == 0, "\(label): \(repair.output)")
            let rerun = try project.run(["upgrade", "dev"])
            #expect(rerun.exitCode == 0, "\(label): \(rerun.output)")
        }
        #expect(
            try TestPostgres.query(
                dev,
                "SELECT string_agg(revision, ',' ORDER BY revision) FROM orchestrate.revisions WHERE state = 'applied'")
                == [["001_a,002_b,003_c,004_d,005_e"]], "\(label)")
        #expect(
            try TestPostgres.query(dev, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [["6"]],
            "\(label)")
        #expect(try waitUntil(timeout: 5) { try Self.advisoryLocks(dev) == 0 }, "\(label)")
    }
}
