import Foundation
import Postgres
import TestSupport
import Testing

/// The per-environment lock: a second runner waits up to lock_timeout, names the holder, then exits 4; the holder's
/// application_name is the command it runs; a frozen environment refuses every writing command.
@Suite("locks")
struct LockTests {
    @Test("a second runner waits, names the holder, and exits 4")
    func secondRunnerWaits() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let database = try project.environment("dev", extra: "lock_timeout = \"1s\"\n")
        try project.migration("001_slow", parent: nil, up: "SELECT pg_sleep(4);", down: "SELECT 1;")
        try project.gitInitAndCommit()

        let first = Process()
        first.executableURL = URL(fileURLWithPath: try TestProject.binaryPath())
        first.arguments = ["upgrade", "dev"]
        first.currentDirectoryURL = URL(fileURLWithPath: project.root)
        first.standardOutput = FileHandle.nullDevice
        first.standardError = FileHandle.nullDevice
        try first.run()
        defer { first.waitUntilExit() }

        // Wait until the first run holds the lock and is running the revision.
        var applicationNames: [String] = []
        for _ in 0..<100 {
            applicationNames = try TestPostgres.query(
                database,
                "SELECT application_name FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(4)%' AND pid <> pg_backend_pid()"
            )
            .compactMap { $0[0] }
            if !applicationNames.isEmpty { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        // The work connection names its run's lock connection, so that a later run can tell an orphan from a live run.
        #expect(applicationNames.count == 1)
        #expect(applicationNames.first?.hasPrefix("orchestrate upgrade dev (work of ") == true)

        let second = try project.run(["upgrade", "dev"])
        #expect(second.exitCode == 4, "\(second.output)")
        #expect(second.stderr.contains("is locked by upgrade dev"))
        #expect(second.stderr.contains("lock_timeout"))
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)
        // The lock died with the first run: a third run proceeds at once.
        let third = try project.run(["upgrade", "dev"])
        #expect(third.exitCode == 0, "\(third.output)")
    }

    @Test("a frozen environment refuses writing commands with who, when and why, until unlock")
    func freeze() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.environment("dev")
        try project.environment("staging", promotesFrom: "dev", extra: "protected = true\n")
        try project.migration("001_root", parent: nil, up: "CREATE TABLE t (id int);", down: "DROP TABLE t;")
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)

        let lock = try project.run(["lock", "staging", "--reason", "release freeze until Monday"])
        #expect(lock.exitCode == 0, "\(lock.output)")
        let refused = try project.run(["promote", "staging", "--yes"])
        #expect(refused.exitCode == 4, "\(refused.output)")
        #expect(refused.stderr.contains("release freeze until Monday"))
        #expect(refused.stderr.contains("frozen by"))
        #expect(try project.run(["downgrade", "staging", "--to", "base", "--yes"]).exitCode == 4)

        let status = try project.run(["status", "staging"])
        #expect(status.stdout.contains("frozen"))
        #expect(status.stdout.contains("release freeze until Monday"))

        // unlock on a protected environment needs --yes too.
        #expect(try project.run(["unlock", "staging"]).exitCode == 1)
        #expect(try project.run(["unlock", "staging", "--yes"]).exitCode == 0)
        let promoted = try project.run(["promote", "staging", "--yes"])
        #expect(promoted.exitCode == 0, "\(promoted.output)")

        let audit = try project.run(["audit", "staging"])
        #expect(audit.stdout.contains("lock "))
        #expect(audit.stdout.contains("unlock"))
        #expect(audit.stdout.contains("refused"))
    }

    @Test("a session holding the ledger's tables: every command gives up after lock_timeout and names it")
    func ledgerTableLocked() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let database = try project.environment("dev", extra: "lock_timeout = \"1s\"\n")
        try project.migration("001_root", parent: nil, up: "CREATE TABLE t (id int);", down: "DROP TABLE t;")
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev", "--to", "001_root"]).exitCode == 0)
        try project.migration("002_next", parent: "001_root", up: "CREATE TABLE u (id int);", down: "DROP TABLE u;")
        try project.gitInitAndCommit("next")

        let holder = try Connection(
            conninfo: try TestPostgres.conninfo(database: database), applicationName: "ledger-holder")
        defer { holder.close() }
        // The server ends the holder after 20 s, so that a regression fails the test instead of hanging it.
        try holder.execute(
            """
            SET idle_in_transaction_session_timeout = '20s'; BEGIN;
            LOCK TABLE orchestrate.ledger_meta, orchestrate.revisions, orchestrate.events, orchestrate.freezes
                IN ACCESS EXCLUSIVE MODE
            """)
        let pid = "pid \(holder.backendPID)"
        for (arguments, code) in [
            (["status"], Int32(3)), (["status", "--json"], 3), (["plan", "dev"], 4), (["audit", "dev"], 4),
            (["doctor"], 1), (["upgrade", "dev"], 4),
        ] {
            let started = Date()
            let result = try project.run(arguments)
            #expect(Date().timeIntervalSince(started) < 10, "\(arguments)")
            #expect(result.exitCode == code, "\(arguments): \(result.output)")
            #expect(result.output.contains("the ledger is locked by another session"), "\(arguments): \(result.output)")
            #expect(result.output.contains(pid), "\(arguments): \(result.output)")
            #expect(result.output.contains("ledger-holder"), "\(arguments): \(result.output)")
            #expect(result.output.contains("AccessExclusiveLock on orchestrate."), "\(arguments): \(result.output)")
            #expect(result.output.contains("idle in transaction"), "\(arguments): \(result.output)")
        }
        try holder.execute("ROLLBACK")
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
    }
}
