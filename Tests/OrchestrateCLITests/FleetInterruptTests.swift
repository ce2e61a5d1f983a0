import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Ctrl-C during a fleet run: the targets running roll back, no other target starts, no lock stays behind.
@Suite("fleet interrupts")
struct FleetInterruptTests {
    @Test("Ctrl-C during a fleet upgrade: running targets roll back and record it, the rest never start, exit 130")
    func sigintStopsTheFleet() throws {
        let project = try TestProject()
        let databases = FleetTests.Databases()
        defer {
            project.cleanUp()
            databases.drop()
        }
        let names = try databases.create(6, prefix: "fi")
        try project.write("environments/tenants.toml", "parallel = 2\n" + (try FleetTests.targetsList(names)))
        try project.migration(
            "001_slow", parent: nil, up: "CREATE TABLE doomed (id int);\nSELECT pg_sleep(30);",
            down: "DROP TABLE doomed;")
        try project.gitInitAndCommit()

        let run = try BackgroundRun(project, ["upgrade", "tenants"])
        // Two targets (parallel = 2) are inside the revision.
        var running: [String] = []
        #expect(
            try waitUntil(timeout: 20) {
                running = try names.filter { try !backends(in: $0, running: "pg_sleep(30)").isEmpty }
                return running.count == 2
            }, "two targets should be running the slow revision")
        let interrupted = Date()
        run.send(SIGINT)
        let result = run.wait(timeout: 30)
        #expect(Date().timeIntervalSince(interrupted) < 10, "the run stops promptly")
        #expect(result.exitCode == 130, "\(result.output)")
        #expect(result.stdout.contains("4 skipped"), "\(result.output)")
        #expect(result.stderr.contains("stopped by a signal"), "\(result.output)")

        for name in names {
            // Nothing of the revision remains anywhere, and no statement of ours is still running.
            #expect(try TestPostgres.query(name, "SELECT to_regclass('public.doomed') IS NULL") == [["t"]], "\(name)")
            #expect(try FleetTests.ledgerRevisions(name).isEmpty, "\(name)")
            #expect(try backends(in: name, running: "pg_sleep(30)").isEmpty, "\(name)")
            #expect(
                try TestPostgres.query(
                    name,
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                        + "(SELECT oid FROM pg_database WHERE datname = current_database())") == [["0"]],
                "no advisory lock stays behind on \(name)")
        }
        // The targets that were running recorded the interruption; the others were never touched.
        for name in running {
            #expect(
                try TestPostgres.query(
                    name, "SELECT count(*) > 0 FROM orchestrate.events WHERE outcome = 'interrupted'")
                    == [["t"]], "\(name): \(result.output)")
        }
        for name in names where !running.contains(name) {
            #expect(
                try TestPostgres.query(name, "SELECT to_regclass('orchestrate.events') IS NULL") == [["t"]],
                "\(name) should not have been started: \(result.output)")
        }
    }
}
