import Foundation
import TestSupport
import Testing

/// A fleet worker keeps its connection for its next target in the same database (schema targets), and nothing a
/// target's revisions set for their session reaches the next target.
@Suite("fleet connections")
struct FleetConnectionTests {
    @Test("20 schemas in one database: 2 workers apply them on 2 server processes, and a temporary table does not leak")
    func schemaTargetsShareConnections() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let database = try TestPostgres.createDatabase(prefix: "fc")
        defer { TestPostgres.dropDatabase(database.name) }
        try TestPostgres.execute(
            database.name, (1...20).map { String(format: "CREATE SCHEMA tenant_%02d;", $0) }.joined(separator: " "))
        try project.write(
            "environments/tenants.toml",
            "database_url = \"\(database.conninfo)\"\nparallel = 2\n" + FleetReportTests.schemaTargets(20))
        // A session-level leftover (a temporary table) would make the same revision fail on the next target of the
        // connection; the server process id shows which connection applied each target.
        try project.migration(
            "001_seen", parent: nil,
            up: "CREATE TEMP TABLE scratch_leftover (id int);\nCREATE TABLE seen AS SELECT pg_backend_pid() AS pid;",
            down: "DROP TABLE seen;")
        try project.gitInitAndCommit()

        let result = try project.run(["upgrade", "tenants"])
        #expect(result.exitCode == 0, "\(result.output)")
        #expect(result.stdout.contains("20 done"), "\(result.output)")
        let pids = try TestPostgres.query(
            database.name,
            (1...20).map { String(format: "SELECT pid FROM tenant_%02d.seen", $0) }.joined(separator: " UNION "))
        #expect(pids.count <= 2, "20 targets on at most parallel = 2 server processes, not one each: \(pids)")
        // Each tenant's search_path and ledger were its own.
        for index in 1...20 {
            let ledger = String(format: "orchestrate_tenant_%02d", index)
            #expect(try FleetTests.ledgerRevisions(database.name, schema: ledger) == ["001_seen"], "\(ledger)")
        }
        // No lock stays behind, and no connection of ours either.
        #expect(
            try TestPostgres.query(
                database.name,
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                    + "(SELECT oid FROM pg_database WHERE datname = current_database())") == [["0"]])
        let next = try project.run(["upgrade", "tenants"])
        #expect(next.exitCode == 0 && next.stdout.contains("20 unchanged"), "\(next.output)")
    }
}
