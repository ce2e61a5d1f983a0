import Foundation
import Postgres
import TestSupport
import Testing

/// `status`, `audit` and `doctor` on fleets (DESIGN §7), against a fleet of databases and a fleet of schemas on the
/// real test server, through the real binary.
@Suite("fleet reports", .serialized)
struct FleetReportTests {
    /// Databases made for one test, dropped at its end.
    typealias Databases = FleetTests.Databases

    /// A target that never answers: a socket folder that does not exist.
    static let deadURL = "host=/tmp/orchestrate-no-such-socket-dir port=1 dbname=gone user=nobody"

    /// `targets = [...]`: t01… on `databases`, then `extra` entries.
    static func databaseTargets(_ databases: [String], extra: [String] = []) throws -> String {
        try FleetTests.targetsList(databases, extra: extra)
    }

    /// `targets = [...]`: s01… as schemas tenant_01… of `database_url`.
    static func schemaTargets(_ count: Int) -> String {
        var lines = ["targets = ["]
        for index in 1...count {
            let number = String(format: "%02d", index)
            lines.append("  { name = \"s\(number)\", schema = \"tenant_\(number)\" },")
        }
        return (lines + ["]"]).joined(separator: "\n") + "\n"
    }

    static func json(_ text: String) throws -> [[String: Any]] {
        try #require(
            try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]], "\(text.prefix(2000))")
    }

    static func commit(_ project: TestProject, _ message: String) throws {
        try project.git("add", "-A")
        try project.git("commit", "-q", "-m", message)
    }

    @Test(
        "20 databases: the aggregate line, pending, --targets, --json, --target and --shard, a frozen, a failed and an unreachable target"
    )
    func databaseFleet() throws {
        let project = try TestProject()
        let databases = Databases()
        defer {
            project.cleanUp()
            databases.drop()
        }
        let names = try databases.create(20, prefix: "fr")
        try TestPostgres.execute(names[4], "CREATE TABLE c (id int)")  // t05 fails on 003_c
        try project.write(
            "environments/tenants.toml",
            "connect_retries = 0\nparallel = 4\non_error = \"continue\"\n" + (try Self.databaseTargets(names)))
        try project.migration("001_a", parent: nil, up: "CREATE TABLE a (id int);", down: "DROP TABLE a;")
        try project.migration("002_b", parent: "001_a", up: "CREATE TABLE b (id int);", down: "DROP TABLE b;")
        try project.gitInitAndCommit()

        // Nothing applied yet: every target is read and has no ledger.
        let fresh = try project.run(["status", "tenants"])
        #expect(fresh.exitCode == 0, "\(fresh.output)")
        #expect(
            fresh.stdout.contains("20 targets: 20 at base (2 pending); 0 failed, 0 locked, 0 frozen, 0 unreachable"),
            "\(fresh.stdout)")
        #expect(fresh.stdout.contains("no ledger   20 targets"), "\(fresh.stdout)")

        let upgrade = try project.run(["upgrade", "tenants"])
        #expect(upgrade.exitCode == 0, "\(upgrade.output)")
        try project.migration("003_c", parent: "002_b", up: "CREATE TABLE c (id int);", down: "DROP TABLE c;")
        try Self.commit(project, "c")
        let some = try project.run(["upgrade", "tenants", "--target", "t01", "--target", "t02", "--target", "t05"])
        #expect(some.exitCode == 3, "t05 fails: \(some.output)")
        let frozen = try project.run(["lock", "tenants", "--target", "t07", "--reason", "tenant migration"])
        #expect(frozen.exitCode == 0, "\(frozen.output)")

        let status = try project.run(["status", "tenants"])
        #expect(status.exitCode == 0, "\(status.output)")
        #expect(
            status.stdout.contains(
                "20 targets: 18 at 002_b (1 pending), 2 at 003_c; 1 failed, 0 locked, 1 frozen, 0 unreachable"),
            "\(status.stdout)")
        #expect(status.stdout.contains("pending     1 from migrations/ on 18 targets: 003_c"), "\(status.stdout)")
        #expect(status.stdout.contains("frozen      t07: frozen by"), "\(status.stdout)")
        #expect(status.stdout.contains("tenant migration"))
        #expect(status.stdout.contains("failed      t05: last upgrade failed at"), "\(status.stdout)")
        #expect(status.stdout.contains("already exists"), "the failed run's error: \(status.stdout)")
        // No line per healthy target without --targets.
        #expect(!status.stdout.contains("t10"), "\(status.stdout)")

        // --targets: one line per target.
        let listed = try project.run(["status", "tenants", "--targets"])
        #expect(listed.exitCode == 0)
        let targetLines = listed.stdout.split(separator: "\n").filter {
            $0.hasPrefix("  t") && !$0.hasPrefix("  targets")
        }
        #expect(targetLines.count == 20, "\(listed.stdout)")
        #expect(listed.stdout.contains("t01  at 003_c (3 applied)"), "\(listed.stdout)")
        #expect(listed.stdout.contains("t05  at 002_b (2 applied); 1 pending; last upgrade failed"), "\(listed.stdout)")
        #expect(listed.stdout.contains("t07  at 002_b (2 applied); 1 pending; frozen"), "\(listed.stdout)")

        // --json: every target, always.
        let json = try project.run(["status", "tenants", "--json"])
        #expect(json.exitCode == 0)
        let fleet = try #require(try Self.json(json.stdout).first?["fleet"] as? [String: Any])
        let targets = try #require(fleet["targets"] as? [[String: Any]])
        #expect(targets.count == 20)
        #expect(targets.map { $0["name"] as? String } == (1...20).map { String(format: "t%02d", $0) })
        #expect(targets[0]["pending"] as? [String] == [])
        #expect(targets[2]["pending"] as? [String] == ["003_c"])
        #expect((targets[4]["failedRun"] as? [String: Any])?["action"] as? String == "upgrade")
        #expect(targets[6]["freeze"] != nil)
        let counts = try #require(fleet["counts"] as? [String: Any])
        #expect(counts["behind"] as? Int == 18)
        #expect(counts["frozen"] as? Int == 1)

        // --target and --shard select as the writing commands do.
        let one = try project.run(["status", "tenants", "--target", "t01", "--json"])
        let oneFleet = try #require(try Self.json(one.stdout).first?["fleet"] as? [String: Any])
        #expect((oneFleet["targets"] as? [[String: Any]])?.map { $0["name"] as? String } == ["t01"])
        #expect(oneFleet["size"] as? Int == 20)
        var shards: [String] = []
        for index in 0..<3 {
            let shard = try project.run(["status", "tenants", "--shard", "\(index)/3", "--json"])
            #expect(shard.exitCode == 0, "\(shard.output)")
            let shardFleet = try #require(try Self.json(shard.stdout).first?["fleet"] as? [String: Any])
            shards += (shardFleet["targets"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        }
        #expect(shards.sorted() == (1...20).map { String(format: "t%02d", $0) }, "the shards split the fleet")
        let unknown = try project.run(["status", "tenants", "--target", "t99"])
        #expect(unknown.exitCode == 2)
        #expect(unknown.stderr.contains("no target `t99`"), "\(unknown.stderr)")
        let notFleet = try project.run(["status", "--target", "t01"])
        #expect(notFleet.exitCode == 2, "\(notFleet.output)")

        // A revision edited after apply: drift counted, with the file.
        try project.migration("001_a", parent: nil, up: "CREATE TABLE a (id bigint);", down: "DROP TABLE a;")
        let drift = try project.run(["status", "tenants"])
        #expect(drift.stdout.contains("20 with drift"), "\(drift.stdout)")
        #expect(drift.stdout.contains("migrations/001_a.sql edited after apply on 20 targets"), "\(drift.stdout)")
        try project.git("checkout", "--", "migrations/001_a.sql")

        // An unreachable target: counted, named with its reason, exit 3; the others still reported.
        try project.write(
            "environments/tenants.toml",
            "connect_retries = 0\nparallel = 4\n"
                + (try Self.databaseTargets(names, extra: ["  { name = \"gone\", url = \"\(Self.deadURL)\" },"])))
        let down = try project.run(["status", "tenants"])
        #expect(down.exitCode == 3, "\(down.output)")
        #expect(down.stdout.contains("21 targets: 18 at 002_b (1 pending), 2 at 003_c;"), "\(down.stdout)")
        #expect(down.stdout.contains("1 unreachable"), "\(down.stdout)")
        #expect(down.stdout.contains("unreachable gone: "), "\(down.stdout)")
        #expect(down.stdout.contains("cannot connect"), "\(down.stdout)")
        #expect(!down.output.contains("nobody@") && !down.output.contains("password"))
        let downJSON = try project.run(["status", "tenants", "--json"])
        #expect(downJSON.exitCode == 3)
        let downFleet = try #require(try Self.json(downJSON.stdout).first?["fleet"] as? [String: Any])
        let gone = try #require((downFleet["targets"] as? [[String: Any]])?.last)
        #expect(gone["name"] as? String == "gone")
        #expect(gone["reachable"] as? Bool == false)
        #expect((gone["error"] as? String)?.contains("cannot connect") == true)
        #expect(try Self.json(downJSON.stdout).first?["pendingKnown"] as? Bool == false)

        // audit: the newest events over the fleet, each naming its target; the unreachable one named, exit 3.
        let audit = try project.run(["audit", "tenants", "--limit", "5"])
        #expect(audit.exitCode == 3, "\(audit.output)")
        let eventLines = audit.stdout.split(separator: "\n").filter { $0.hasPrefix("t") }
        #expect(eventLines.count == 5, "\(audit.stdout)")
        #expect(eventLines.first?.hasPrefix("t07") == true, "the freeze is the newest event: \(audit.stdout)")
        #expect(audit.stdout.contains("gone: unreadable: "), "\(audit.stdout)")
        let auditOne = try project.run(["audit", "tenants", "--target", "t05", "--json"])
        #expect(auditOne.exitCode == 0, "\(auditOne.output)")
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(auditOne.stdout.utf8)) as? [String: Any])
        let events = try #require(document["events"] as? [[String: Any]])
        #expect(!events.isEmpty && events.allSatisfy { $0["target"] as? String == "t05" })
        #expect(events.contains { $0["outcome"] as? String == "failed" }, "\(events)")

        // doctor: the target list, reachable targets (the unreachable named), ledgers summed up, the frozen one.
        let doctor = try project.run(["doctor"])
        #expect(doctor.exitCode == 1, "\(doctor.output)")
        #expect(
            doctor.stdout.contains("targets tenants: 21 target(s), 0 of them schemas; parallel = 4"), "\(doctor.stdout)"
        )
        #expect(
            doctor.stdout.contains("database tenants: 20 of 21 target(s) reachable; 1 unreachable: gone ("),
            "\(doctor.stdout)")
        #expect(
            doctor.stdout.contains("ledger tenants: 20 of 20 reachable target(s) healthy (20 at version"),
            "\(doctor.stdout)")
        #expect(doctor.stdout.contains("1 frozen: t07"), "\(doctor.stdout)")
        #expect(!doctor.stdout.contains("t10"), "no line per healthy target: \(doctor.stdout)")
    }

    @Test(
        "20 schemas: a later-stage fleet's pending is what every target of its source fleet runs; a run holding a target's lock is counted"
    )
    func schemaFleetPromotion() throws {
        let project = try TestProject()
        let databases = Databases()
        defer {
            project.cleanUp()
            databases.drop()
        }
        let names = try databases.create(3, prefix: "fs")
        try project.write(
            "environments/dev.toml", "connect_retries = 0\n" + (try Self.databaseTargets(names)))
        let shared = try TestPostgres.createDatabase(prefix: "fs_schemas")
        databases.names.append(shared.name)
        for index in 1...20 {
            try TestPostgres.execute(shared.name, "CREATE SCHEMA tenant_\(String(format: "%02d", index))")
        }
        try project.write(
            "environments/prod.toml",
            "database_url = \"\(shared.conninfo)\"\npromotes_from = \"dev\"\nparallel = 3\nddl_lock_timeout = \"60s\"\n"
                + Self.schemaTargets(20))
        try project.migration("001_a", parent: nil, up: "CREATE TABLE a (id int);", down: "DROP TABLE a;")
        try project.migration("002_b", parent: "001_a", up: "ALTER TABLE a ADD COLUMN b int;")
        try project.gitInitAndCommit()

        // dev: t01 and t02 at 002_b, t03 at 001_a: prod may take only 001_a.
        #expect(try project.run(["upgrade", "dev", "--to", "001_a"]).exitCode == 0)
        #expect(try project.run(["upgrade", "dev", "--target", "t01", "--target", "t02"]).exitCode == 0)
        let before = try project.run(["status", "prod"])
        #expect(before.exitCode == 0, "\(before.output)")
        #expect(before.stdout.contains("20 targets: 20 at base (1 pending); 0 failed"), "\(before.stdout)")
        #expect(before.stdout.contains("pending     1 from dev on 20 targets: 001_a"), "\(before.stdout)")

        #expect(try project.run(["promote", "prod"]).exitCode == 0)
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        let after = try project.run(["status"])
        #expect(after.exitCode == 0, "\(after.output)")
        #expect(after.stdout.contains("3 targets: 3 at 002_b; 0 failed"), "\(after.stdout)")
        #expect(after.stdout.contains("20 targets: 20 at 001_a (1 pending); 0 failed"), "\(after.stdout)")

        // Each schema keeps its own ledger: the status JSON names each target's schema.
        let json = try project.run(["status", "prod", "--json"])
        let fleet = try #require(try Self.json(json.stdout).first?["fleet"] as? [String: Any])
        let targets = try #require(fleet["targets"] as? [[String: Any]])
        #expect(targets.count == 20)
        #expect(targets.first?["schema"] as? String == "tenant_01")
        #expect(targets.allSatisfy { $0["appliedCount"] as? Int == 1 })

        // A run holding one target's lock (its revision waits for a table this test locks): counted and named.
        let blocker = try Connection(conninfo: shared.conninfo, applicationName: "orchestrate tests")
        defer { blocker.close() }
        try blocker.execute("BEGIN; LOCK TABLE tenant_04.a IN ACCESS EXCLUSIVE MODE")
        let holder = try BackgroundRun(project, ["promote", "prod", "--target", "s04"])
        let locked = try waitUntil(timeout: 30) { try project.run(["status", "prod"]).stdout.contains("1 locked") }
        #expect(locked)
        let during = try project.run(["status", "prod"])
        #expect(during.stdout.contains("locked      s04: by promote prod by "), "\(during.stdout)")
        try blocker.execute("ROLLBACK")
        let finished = holder.wait(timeout: 60)
        #expect(finished.exitCode == 0, "\(finished.output)")
        let done = try project.run(["status", "prod"])
        #expect(
            done.stdout.contains("20 targets: 19 at 001_a (1 pending), 1 at 002_b; 0 failed, 0 locked"),
            "\(done.stdout)")
    }
}
