import Foundation
import Postgres
import TestSupport
import Testing

@testable import OrchestrateCore

/// Every run that stops before running anything leaves one event where a ledger exists: refused (a plan error, a
/// freeze, an edited file, a single transaction it cannot have) or locked out, with the git commit it came from.
@Suite("refusal events")
struct RefusalEventTests {
    /// dev → staging, one applied revision in each, and a non-transactional, irreversible one in dev's files.
    static func makeProject() throws -> (TestProject, dev: String, staging: String) {
        let project = try TestProject()
        let dev = try project.environment("dev", extra: "lock_timeout = \"1s\"\n")
        let staging = try project.environment("staging", promotesFrom: "dev", extra: "lock_timeout = \"1s\"\n")
        try project.migration("001_root", parent: nil, up: "CREATE TABLE t (id int);")
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        #expect(try project.run(["promote", "staging"]).exitCode == 0)
        return (project, dev, staging)
    }

    /// The events of `database` after the id `after`, as "action outcome commit", then " pid" when the event was
    /// written by a run holding the environment lock.
    static func events(_ database: String, after: Int) throws -> [String] {
        try TestPostgres.query(
            database,
            "SELECT action, outcome, coalesce(git_commit, '-'), lock_pid FROM orchestrate.events WHERE id > $1::bigint ORDER BY id",
            [.integer(after)]
        )
        .map { "\($0[0] ?? "") \($0[1] ?? "") \($0[2] ?? "")\($0[3] == nil ? "" : " pid")" }
    }

    static func expectEvents(
        _ database: String, after: Int, _ expected: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let found = try events(database, after: after)
        #expect(found == expected, sourceLocation: sourceLocation)
    }

    static func lastID(_ database: String) throws -> Int {
        Int(try TestPostgres.query(database, "SELECT coalesce(max(id), 0) FROM orchestrate.events")[0][0] ?? "") ?? 0
    }

    @Test("refusals before anything runs are recorded once, with the commit")
    func refusals() throws {
        let (project, dev, staging) = try Self.makeProject()
        defer { project.cleanUp() }
        try project.migration(
            "002_index", parent: "001_root", up: "CREATE INDEX CONCURRENTLY t_id ON t (id);",
            header: "-- transaction: false\n")
        try project.gitInitAndCommit("index")
        let head = try project.git("rev-parse", "HEAD").trimmingCharacters(in: .whitespacesAndNewlines)

        // A single transaction over a non-transactional revision (decided in the plan's preparation).
        var mark = try Self.lastID(dev)
        #expect(try project.run(["upgrade", "dev", "--single-transaction"]).exitCode == 2)
        try Self.expectEvents(dev, after: mark, ["upgrade refused \(head) pid"])

        // A downgrade of an irreversible revision.
        mark = try Self.lastID(staging)
        let down = try project.run(["downgrade", "staging", "--to", "base", "--yes"])
        #expect(down.exitCode == 1, "\(down.output)")
        try Self.expectEvents(staging, after: mark, ["downgrade refused \(head) pid"])

        // A promote of a revision the source does not run.
        mark = try Self.lastID(staging)
        #expect(try project.run(["promote", "staging", "--to", "002_index"]).exitCode == 1)
        try Self.expectEvents(staging, after: mark, ["promote refused \(head) pid"])

        // An edited file on promote: recorded once, with its revision.
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        try project.migration(
            "002_index", parent: "001_root", up: "CREATE INDEX CONCURRENTLY t_x ON t (id);",
            header: "-- transaction: false\n")
        try project.gitInitAndCommit("edit")
        let edited = try project.git("rev-parse", "HEAD").trimmingCharacters(in: .whitespacesAndNewlines)
        mark = try Self.lastID(staging)
        #expect(try project.run(["promote", "staging"]).exitCode == 1)
        try Self.expectEvents(staging, after: mark, ["promote refused \(edited) pid"])
        #expect(
            try TestPostgres.query(
                staging, "SELECT revision FROM orchestrate.events WHERE id > $1::bigint", [.text(String(mark))])[0][0]
                == "002_index")

        // A frozen environment: the refusal names the commit too.
        #expect(try project.run(["lock", "staging", "--reason", "freeze"]).exitCode == 0)
        mark = try Self.lastID(staging)
        #expect(try project.run(["promote", "staging"]).exitCode == 4)
        #expect(try project.run(["lock", "staging", "--reason", "again"]).exitCode == 4)
        try Self.expectEvents(staging, after: mark, ["promote refused \(edited) pid", "lock refused \(edited) pid"])
    }

    @Test("a run that cannot take the environment lock records a locked-out event naming the holder")
    func lockedOut() throws {
        let (project, dev, _) = try Self.makeProject()
        defer { project.cleanUp() }
        try project.migration("002_next", parent: "001_root", up: "CREATE TABLE u (id int);")
        try project.gitInitAndCommit("next")
        let head = try project.git("rev-parse", "HEAD").trimmingCharacters(in: .whitespacesAndNewlines)

        let holder = try Connection(
            conninfo: try TestPostgres.conninfo(database: dev), applicationName: "holding session")
        defer { holder.close() }
        try holder.query(
            "SELECT pg_advisory_lock($1::bigint)", [.integer(Int(EnvironmentLock.key(schema: "orchestrate")))])
        let mark = try Self.lastID(dev)
        let result = try project.run(["upgrade", "dev"])
        #expect(result.exitCode == 4, "\(result.output)")
        // Not recorded as the holder's event: no lock pid.
        try Self.expectEvents(dev, after: mark, ["upgrade locked out \(head)"])
        let message = try TestPostgres.query(
            dev, "SELECT message FROM orchestrate.events WHERE id > $1::bigint", [.text(String(mark))])[0][0]
        #expect(message?.contains("holding session") == true, "\(message ?? "")")
        #expect(message?.contains("pid \(holder.backendPID)") == true, "\(message ?? "")")
    }
}
