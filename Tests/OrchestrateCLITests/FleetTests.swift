import Foundation
import Postgres
import TestSupport
import Testing

/// Fleets end to end (DESIGN §7): databases and schemas as targets on the real test server, run by the real binary.
@Suite("fleets")
struct FleetTests {
    /// `count` new databases on the test server (dropped by `drop`), with an owner when given.
    final class Databases: @unchecked Sendable {
        var names: [String] = []
        var role: String?

        func create(_ count: Int, prefix: String, owner: String? = nil) throws -> [String] {
            var created: [String] = []
            for _ in 0..<count {
                let database = try TestPostgres.createDatabase(prefix: prefix)
                names.append(database.name)
                created.append(database.name)
                if let owner {
                    try TestPostgres.execute("postgres", "ALTER DATABASE \(database.name) OWNER TO \(owner)")
                }
            }
            return created
        }

        func drop() {
            for name in names { TestPostgres.dropDatabase(name) }
            if let role { try? TestPostgres.execute("postgres", "DROP ROLE IF EXISTS \(role)") }
        }
    }

    /// `targets = [...]` with named entries t01… pointing at `databases` (as `user` when given), then `extra` entries.
    static func targetsList(_ databases: [String], user: String? = nil, extra: [String] = []) throws -> String {
        var lines = ["targets = ["]
        for (index, database) in databases.enumerated() {
            var url = try TestPostgres.conninfo(database: database)
            if let user { url = url.replacingOccurrences(of: "user=postgres", with: "user=\(user)") }
            lines.append("  { name = \"t\(String(format: "%02d", index + 1))\", url = \"\(url)\" },")
        }
        return (lines + extra + ["]"]).joined(separator: "\n") + "\n"
    }

    static func ledgerRevisions(_ database: String, schema: String = "orchestrate") throws -> [String] {
        let exists = try TestPostgres.query(
            database, "SELECT to_regclass(format('%I.revisions', $1::text)) IS NOT NULL", [.text(schema)])
        guard exists.first?.first == "t" else { return [] }
        return try TestPostgres.query(database, "SELECT revision FROM \"\(schema)\".revisions ORDER BY revision")
            .compactMap { $0[0] }
    }

    @Test("20 databases: URL-only targets named after their database; parallel stays within parallel + 1 connections")
    func databaseFleet() throws {
        let project = try TestProject()
        let databases = Databases()
        defer {
            project.cleanUp()
            databases.drop()
        }
        // A role limited to parallel + 1 connections: a run that opened more would fail to connect.
        let role = "fleet_\(UUID().uuidString.prefix(8).lowercased())"
        try TestPostgres.execute("postgres", "CREATE ROLE \(role) LOGIN CONNECTION LIMIT 5")
        databases.role = role
        let names = try databases.create(20, prefix: "fd", owner: role)
        let urls = try names.map {
            try TestPostgres.conninfo(database: $0).replacingOccurrences(of: "user=postgres", with: "user=\(role)")
        }
        try project.write(
            "environments/tenants.toml",
            "parallel = 4\ntargets = [\n" + urls.map { "  \"\($0)\",\n" }.joined() + "]\n")
        // Each target holds its connection a while, so that four overlap.
        try project.migration(
            "001_items", parent: nil, up: "SELECT pg_sleep(0.2);\nCREATE TABLE items (id int);",
            down: "DROP TABLE items;")
        try project.gitInitAndCommit()

        let first = try project.run(["upgrade", "tenants"])
        #expect(first.exitCode == 0, "\(first.output)")
        #expect(
            first.stdout.contains(
                "tenants: upgrade on 20 target(s): 20 done, 0 unchanged, 0 failed, 0 locked, 0 skipped"))
        // Not a terminal: one line per target on stderr, named after its database.
        for name in names { #expect(first.stderr.contains("tenants/\(name): done: 001_items"), "\(name)") }
        for name in names { #expect(try Self.ledgerRevisions(name) == ["001_items"]) }

        // A rerun does nothing, on one connection per target and no more.
        let second = try project.run(["upgrade", "tenants", "--json"])
        #expect(second.exitCode == 0, "\(second.output)")
        #expect(second.stdout.contains("\"status\" : \"unchanged\""))
        #expect(!second.stdout.contains("\"status\" : \"done\""))

        // A second revision, then one back down on every target.
        try project.migration(
            "002_more", parent: "001_items", up: "SELECT pg_sleep(0.1);\nCREATE TABLE more (id int);",
            down: "DROP TABLE more;")
        try project.git("add", "-A")
        try project.git("commit", "-q", "-m", "more")
        let third = try project.run(["upgrade", "tenants"])
        #expect(third.exitCode == 0, "\(third.output)")
        let down = try project.run(["downgrade", "tenants", "--steps", "1"])
        #expect(down.exitCode == 0, "\(down.output)")
        #expect(down.stdout.contains("20 done"))
        for name in names { #expect(try Self.ledgerRevisions(name) == ["001_items"]) }
    }

    @Test("a target that fails mid-run: on_error stop skips the rest, continue runs them; the rerun finishes it")
    func failureMidRun() throws {
        let project = try TestProject()
        let databases = Databases()
        defer {
            project.cleanUp()
            databases.drop()
        }
        let names = try databases.create(20, prefix: "ff")
        // t05 already has a table the revision creates: it fails there.
        try TestPostgres.execute(names[4], "CREATE TABLE items (id int)")
        let list = try Self.targetsList(names)
        try project.write("environments/tenants.toml", "parallel = 1\n" + list)
        try project.migration("001_items", parent: nil, up: "CREATE TABLE items (id int);", down: "DROP TABLE items;")
        try project.gitInitAndCommit()

        let stopped = try project.run(["upgrade", "tenants"])
        #expect(stopped.exitCode == 3, "\(stopped.output)")
        #expect(stopped.stdout.contains("4 done, 0 unchanged, 1 failed, 0 locked, 15 skipped"), "\(stopped.stdout)")
        #expect(stopped.stdout.contains("failed t05: "))
        #expect(stopped.stdout.contains("already exists"))
        #expect(stopped.stdout.contains("on_error = \"stop\""))
        #expect(try Self.ledgerRevisions(names[5]).isEmpty)
        #expect(try Self.ledgerRevisions(names[4]).isEmpty)

        try project.write("environments/tenants.toml", "parallel = 4\non_error = \"continue\"\n" + list)
        let continued = try project.run(["upgrade", "tenants"])
        #expect(continued.exitCode == 3, "\(continued.output)")
        #expect(continued.stdout.contains("15 done, 4 unchanged, 1 failed, 0 locked, 0 skipped"), "\(continued.stdout)")
        #expect(continued.stderr.contains("error: tenants: 1 of 20 target(s) failed"))

        // Fixed, the rerun does only what t05 lacks.
        try TestPostgres.execute(names[4], "DROP TABLE items")
        let rerun = try project.run(["upgrade", "tenants"])
        #expect(rerun.exitCode == 0, "\(rerun.output)")
        #expect(rerun.stdout.contains("1 done, 19 unchanged, 0 failed"), "\(rerun.stdout)")
        #expect(rerun.stdout.contains("t05: 001_items"))
    }

    @Test("a canary failure starts no other target")
    func canaryFailure() throws {
        let project = try TestProject()
        let databases = Databases()
        defer {
            project.cleanUp()
            databases.drop()
        }
        let names = try databases.create(6, prefix: "fc")
        try TestPostgres.execute(names[1], "CREATE TABLE items (id int)")
        try project.write(
            "environments/tenants.toml",
            "canary = 2\nparallel = 4\non_error = \"continue\"\n" + (try Self.targetsList(names)))
        try project.migration("001_items", parent: nil, up: "CREATE TABLE items (id int);", down: "DROP TABLE items;")
        try project.gitInitAndCommit()
        let result = try project.run(["upgrade", "tenants"])
        #expect(result.exitCode == 3, "\(result.output)")
        #expect(result.stdout.contains("1 done, 0 unchanged, 1 failed, 0 locked, 4 skipped"), "\(result.stdout)")
        #expect(result.stdout.contains("a canary failed"))
        for name in names[2...] { #expect(try Self.ledgerRevisions(name).isEmpty) }
        #expect(try Self.ledgerRevisions(names[0]) == ["001_items"])
    }

    @Test("--shard: the shards partition the fleet; overlapping shard runs at once are safe; --target picks targets")
    func shardsAndTargets() throws {
        let project = try TestProject()
        let databases = Databases()
        defer {
            project.cleanUp()
            databases.drop()
        }
        let names = try databases.create(8, prefix: "fs")
        try project.write("environments/tenants.toml", "parallel = 2\n" + (try Self.targetsList(names)))
        try project.migration(
            "001_items", parent: nil, up: "SELECT pg_sleep(0.2);\nCREATE TABLE items (id int);",
            down: "DROP TABLE items;")
        try project.gitInitAndCommit()

        let picked = try project.run(["upgrade", "tenants", "--target", "t02", "--target", "t07"])
        #expect(picked.exitCode == 0, "\(picked.output)")
        #expect(picked.stdout.contains("on 2 target(s) (of 8 in the fleet): 2 done"))
        #expect(try Self.ledgerRevisions(names[1]) == ["001_items"] && Self.ledgerRevisions(names[0]).isEmpty)
        let unknown = try project.run(["upgrade", "tenants", "--target", "t9"])
        #expect(unknown.exitCode == 2)
        #expect(unknown.stderr.contains("environment `tenants` has no target `t9`"))
        #expect(unknown.stderr.contains("`t01`"))
        let badShard = try project.run(["upgrade", "tenants", "--shard", "2/2"])
        #expect(badShard.exitCode == 2 && badShard.stderr.contains("0-based"))

        // Shards 0/2 and 1/2 and a full run, all at once: each target's lock serialises them.
        let arguments = [["--shard", "0/2"], ["--shard", "1/2"], []]
        let results = Mutex<[Int: TestProject.RunResult]>([:])
        DispatchQueue.concurrentPerform(iterations: arguments.count) { index in
            let result = try? project.run(["upgrade", "tenants"] + arguments[index])
            results.withLock { $0[index] = result }
        }
        let all = results.withLock { $0 }
        for index in 0..<3 { #expect(all[index]?.exitCode == 0, "\(all[index]?.output ?? "no result")") }
        func targets(_ result: TestProject.RunResult?, _ status: String) -> Set<String> {
            Set(
                (result?.stderr ?? "").split(separator: "\n").compactMap { line in
                    guard line.hasPrefix("tenants/"), line.contains(": \(status)") else { return nil }
                    return String(line.dropFirst("tenants/".count).prefix(3))
                })
        }
        let shard0 = targets(all[0], "done").union(targets(all[0], "unchanged"))
        let shard1 = targets(all[1], "done").union(targets(all[1], "unchanged"))
        #expect(shard0.isDisjoint(with: shard1))
        #expect(shard0.union(shard1) == Set((1...8).map { String(format: "t%02d", $0) }))
        for name in names { #expect(try Self.ledgerRevisions(name) == ["001_items"]) }
    }

    @Test(
        "20 schemas from targets_query: search_path is the tenant's schema, its ledger is its own, session_settings apply"
    )
    func schemaFleet() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let database = try project.environment("shared")
        try project.remove("environments/shared.toml")
        var setup = "CREATE TABLE tenants (name text, schema_name text);"
        for index in 1...20 {
            setup +=
                "CREATE SCHEMA \"tenant \(index)\"; INSERT INTO tenants VALUES ('tenant_\(index)', 'tenant \(index)');"
        }
        try TestPostgres.execute(database, setup)
        try project.write(
            "environments/tenants.toml",
            """
            database_url = "\(try TestPostgres.conninfo(database: database))"
            targets_query = "SELECT name, NULL AS url, schema_name AS schema FROM tenants ORDER BY name"
            parallel = 8

            [session_settings]
            work_mem = "7MB"
            "application_name_x.tag" = "it's; fine"

            """)
        try project.migration(
            "001_items", parent: nil,
            up:
                "CREATE TABLE items AS SELECT current_schema() AS s, current_setting('work_mem') AS w, current_setting('application_name_x.tag') AS t;",
            down: "DROP TABLE items;")
        try project.gitInitAndCommit()
        let result = try project.run(["upgrade", "tenants"])
        #expect(result.exitCode == 0, "\(result.output)")
        #expect(result.stdout.contains("20 done"))
        for index in 1...20 {
            let row = try TestPostgres.query(database, "SELECT s, w, t FROM \"tenant \(index)\".items")
            #expect(row.first == ["tenant \(index)", "7MB", "it's; fine"])
            #expect(try Self.ledgerRevisions(database, schema: "orchestrate_tenant \(index)") == ["001_items"])
        }
        // Nothing in the tenants' own schemas but their tables, and no shared ledger.
        #expect(
            try TestPostgres.query(database, "SELECT count(*) FROM pg_tables WHERE schemaname = 'tenant 1'").first?
                .first == "1")
        #expect(try Self.ledgerRevisions(database).isEmpty)

        // A frozen fleet: every target refuses (exit 4), until unlocked.
        let lock = try project.run(["lock", "tenants", "--reason", "audit", "--target", "tenant_3"])
        #expect(lock.exitCode == 0, "\(lock.output)")
        try project.migration(
            "002_more", parent: "001_items", up: "CREATE TABLE more (id int);", down: "DROP TABLE more;")
        try project.git("add", "-A")
        try project.git("commit", "-q", "-m", "more")
        let plan = try project.run(["plan", "tenants"])
        #expect(plan.exitCode == 0, "\(plan.output)")
        #expect(plan.stdout.contains("20 target(s): upgrade would run 1 revision(s): up 002_more (tenant_1,"))
        #expect(plan.stdout.contains("tenant_3: the run would be refused now: "))
        let script = try project.run(["plan", "tenants", "--sql", "--target", "tenant_7"])
        #expect(script.exitCode == 0, "\(script.output)")
        #expect(script.stdout.contains("-- target tenant_7"))
        #expect(script.stdout.contains("set_config('search_path', '\"tenant 7\"', false)"))
        #expect(script.stdout.contains("set_config('application_name_x.tag', 'it''s; fine', false)"))
        #expect(script.stdout.contains("\"orchestrate_tenant 7\".revisions"))
        let refused = try project.run(["upgrade", "tenants"])
        #expect(refused.exitCode == 4, "\(refused.output)")
        #expect(refused.stdout.contains("19 done, 0 unchanged, 0 failed, 1 locked"), "\(refused.stdout)")
        #expect(refused.stdout.contains("locked tenant_3: ") && refused.stdout.contains("frozen"))
        let unlock = try project.run(["unlock", "tenants"])
        #expect(unlock.exitCode == 0 && unlock.stdout.contains("1 done, 19 unchanged"), "\(unlock.output)")
        let rerun = try project.run(["upgrade", "tenants"])
        #expect(rerun.exitCode == 0 && rerun.stdout.contains("1 done, 19 unchanged"), "\(rerun.output)")
    }

    @Test("promotion: single → fleet → single and fleet → fleet take only what every source target runs")
    func promotion() throws {
        let project = try TestProject()
        let databases = Databases()
        defer {
            project.cleanUp()
            databases.drop()
        }
        try project.environment("dev")
        let stagingDB = try project.environment("staging")
        try project.remove("environments/staging.toml")
        for index in 1...4 { try TestPostgres.execute(stagingDB, "CREATE SCHEMA s\(index)") }
        try project.write(
            "environments/staging.toml",
            """
            promotes_from = "dev"
            database_url = "\(try TestPostgres.conninfo(database: stagingDB))"
            targets = [{ schema = "s1" }, { schema = "s2" }, { schema = "s3" }, { schema = "s4" }]

            """)
        try project.environment("prod", promotesFrom: "staging")
        let tenantDBs = try databases.create(3, prefix: "fp")
        try project.write(
            "environments/tenants.toml", "promotes_from = \"staging\"\n" + (try Self.targetsList(tenantDBs)))
        try project.migration("001_a", parent: nil, up: "CREATE TABLE a (id int);", down: "DROP TABLE a;")
        try project.migration("002_b", parent: "001_a", up: "CREATE TABLE b (id int);", down: "DROP TABLE b;")
        try project.gitInitAndCommit()

        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        let staging = try project.run(["promote", "staging"])
        #expect(staging.exitCode == 0 && staging.stdout.contains("4 done"), "\(staging.output)")
        #expect(try Self.ledgerRevisions(stagingDB, schema: "orchestrate_s3") == ["001_a", "002_b"])
        let prod = try project.run(["promote", "prod"])
        #expect(prod.exitCode == 0 && prod.stdout.contains("applied 2 revision(s)"), "\(prod.output)")
        let tenants = try project.run(["promote", "tenants"])
        #expect(tenants.exitCode == 0 && tenants.stdout.contains("3 done"), "\(tenants.output)")

        // 003 reaches dev and one staging target only: it is not promoted further.
        try project.migration("003_c", parent: "002_b", up: "CREATE TABLE c (id int);", down: "DROP TABLE c;")
        try project.git("add", "-A")
        try project.git("commit", "-q", "-m", "c")
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        let partial = try project.run(["promote", "staging", "--target", "s1"])
        #expect(partial.exitCode == 0, "\(partial.output)")
        let held = try project.run(["promote", "prod"])
        #expect(held.exitCode == 0, "\(held.output)")
        #expect(held.stderr.contains("revision 003_c runs on 1 of 4 source targets (not on `s2`, `s3`, `s4`)"))
        #expect(held.stdout.contains("up to date"))
        let forced = try project.run(["promote", "tenants", "--to", "003_c"])
        #expect(forced.exitCode == 1, "\(forced.output)")
        #expect(forced.stderr.contains("does not run on every target of `staging`"))
        #expect(try Self.ledgerRevisions(tenantDBs[0]) == ["001_a", "002_b"])

        // An unreachable source target makes what the source runs unknown: refused, naming it.
        try project.write(
            "environments/staging.toml",
            """
            promotes_from = "dev"
            database_url = "\(try TestPostgres.conninfo(database: stagingDB))"
            targets = [{ schema = "s1" }, { name = "gone", url = "\(try TestPostgres.conninfo(database: "no_such_db_fleet"))" }]

            """)
        let unreachable = try project.run(["promote", "prod"])
        #expect(unreachable.exitCode == 3, "\(unreachable.output)")
        #expect(unreachable.stderr.contains("its target `gone`") && unreachable.stderr.contains("cannot be read"))
    }

    @Test(
        "fleet errors a user can hit: a failing targets_query, a bad row, --target on one database, repair without --target"
    )
    func errors() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let database = try project.environment("single")
        try TestPostgres.execute(database, "CREATE TABLE tenants (name text, url text, schema text)")
        try project.write(
            "environments/broken.toml",
            "database_url = \"\(try TestPostgres.conninfo(database: database))\"\ntargets_query = \"SELECT name FROM nowhere\"\n"
        )
        try project.write(
            "environments/badrow.toml",
            "database_url = \"\(try TestPostgres.conninfo(database: database))\"\ntargets_query = \"SELECT 'a b' AS name, NULL AS url, 'x' AS schema\"\n"
        )
        try project.write(
            "environments/empty.toml",
            "database_url = \"\(try TestPostgres.conninfo(database: database))\"\ntargets_query = \"SELECT * FROM tenants\"\n"
        )
        try project.write(
            "environments/writes.toml",
            "database_url = \"\(try TestPostgres.conninfo(database: database))\"\ntargets_query = \"INSERT INTO tenants VALUES ('a', NULL, 'a') RETURNING *\"\n"
        )
        try project.migration("001_a", parent: nil, up: "CREATE TABLE a (id int);", down: "DROP TABLE a;")
        try project.gitInitAndCommit()

        let broken = try project.run(["upgrade", "broken"])
        #expect(broken.exitCode == 2, "\(broken.output)")
        #expect(broken.stderr.contains("environments/broken.toml:2: `targets_query` failed on database_url"))
        let badRow = try project.run(["upgrade", "badrow"])
        #expect(
            badRow.exitCode == 2 && badRow.stderr.contains("`targets_query` row 1: the name `a b` is not"),
            "\(badRow.output)")
        let empty = try project.run(["upgrade", "empty"])
        #expect(empty.exitCode == 2 && empty.stderr.contains("returns no rows"), "\(empty.output)")
        let writes = try project.run(["upgrade", "writes"])
        #expect(writes.exitCode == 2 && writes.stderr.contains("read-only"), "\(writes.output)")
        #expect(try TestPostgres.query(database, "SELECT count(*) FROM tenants").first?.first == "0")

        let single = try project.run(["upgrade", "single", "--target", "x"])
        #expect(single.exitCode == 2 && single.stderr.contains("is one database, not a fleet"), "\(single.output)")

        try TestPostgres.execute(database, "CREATE SCHEMA x; INSERT INTO tenants VALUES ('x', NULL, 'x')")
        try project.write(
            "environments/fleet.toml",
            "database_url = \"\(try TestPostgres.conninfo(database: database))\"\ntargets_query = \"SELECT * FROM tenants\"\n[session_settings]\nno_such_setting = \"1\"\n"
        )
        let badSetting = try project.run(["upgrade", "fleet"])
        #expect(badSetting.exitCode == 2, "\(badSetting.output)")
        #expect(badSetting.stderr.contains("`session_settings` in environments/fleet.toml cannot be applied"))
        let repair = try project.run(["repair", "fleet", "001_a", "--reason", "r", "--applied"])
        #expect(repair.exitCode == 2 && repair.stderr.contains("needs --target NAME"), "\(repair.output)")
        // Commands that read one database refuse a fleet clearly rather than connecting somewhere else.
        let verify = try project.run(["baseline", "fleet", "--to", "001_a", "--reason", "r"])
        #expect(verify.exitCode == 2 && verify.stderr.contains("is a fleet of targets"), "\(verify.output)")
    }
}
