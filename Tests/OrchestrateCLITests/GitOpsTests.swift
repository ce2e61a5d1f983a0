import Foundation
import TestSupport
import Testing

/// Resolving divergence (merge, rebase), drawing the graph, and repair, run as a user runs them: the real binary, real
/// git repositories, real PostgreSQL.
@Suite("git ops: merge, rebase, graph, repair")
struct GitOpsTests {
    /// `001_root` and two heads on it, `002_a` and `002_b`.
    static func divergent(_ project: TestProject) throws {
        try project.migration(
            "001_root", parent: nil, up: "CREATE TABLE t (id int PRIMARY KEY);", down: "DROP TABLE t;")
        try project.migration(
            "002_a", parent: "001_root", up: "ALTER TABLE t ADD COLUMN a int;", down: "ALTER TABLE t DROP COLUMN a;")
        try project.migration(
            "002_b", parent: "001_root", up: "ALTER TABLE t ADD COLUMN b int;", down: "ALTER TABLE t DROP COLUMN b;")
    }

    // MARK: - merge

    @Test("merge writes a revision on the current heads, upgrade and downgrade run it; a single head is refused")
    func merge() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev")
        try Self.divergent(project)
        try project.gitInitAndCommit()

        let diverged = try project.run(["upgrade", "dev"])
        #expect(diverged.exitCode == 2)
        #expect(diverged.stderr.contains("2 heads (002_a, 002_b)"))
        #expect(diverged.stderr.contains("orchestrate merge"))

        let merged = try project.run(["merge", "-m", "join a and b"])
        #expect(merged.exitCode == 0, "\(merged.output)")
        let path = merged.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(path.hasPrefix("migrations/") && path.hasSuffix("_join_a_and_b.sql"))
        #expect(merged.stderr.contains("merged 2 heads: 002_a, 002_b"))
        let text = try project.read(path)
        #expect(text.hasPrefix("-- parent: 002_a, 002_b\n-- migrate:up\n"))
        #expect(text.contains("-- migrate:down"))
        let id = String(path.dropFirst("migrations/".count).dropLast(4))
        #expect(try project.run(["heads"]).stdout == id + "\n")

        try project.git("add", "-A")
        try project.git("commit", "-q", "-m", "merge heads")
        let upgrade = try project.run(["upgrade", "dev"])
        #expect(upgrade.exitCode == 0, "\(upgrade.output)")
        #expect(upgrade.stdout.contains("applied 4 revision(s)"))
        let row = try TestPostgres.query(
            dev, "SELECT array_to_string(parents, ',') FROM orchestrate.revisions WHERE revision = $1", [.text(id)])
        #expect(row.first?.first == "002_a,002_b")
        let down = try project.run(["downgrade", "dev", "--steps", "1"])
        #expect(down.exitCode == 0, "\(down.output)")
        #expect(down.stderr.contains("reverted \(id)"))

        let single = try project.run(["merge"])
        #expect(single.exitCode == 2)
        #expect(single.stderr.contains("single head (\(id))"))
        #expect(single.stderr.contains("orchestrate new"))
    }

    // MARK: - rebase

    @Test("rebase rewrites only the parent value, and is refused for a revision an environment applied, naming each")
    func rebaseAppliedAndByteExact() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev")
        try project.environment("staging", promotesFrom: "dev")
        try project.migration(
            "001_root", parent: nil, up: "CREATE TABLE t (id int PRIMARY KEY);", down: "DROP TABLE t;")
        try project.migration(
            "002_a", parent: "001_root", up: "ALTER TABLE t ADD COLUMN a int;", down: "ALTER TABLE t DROP COLUMN a;")
        // A file from a Windows checkout, with a BOM, CRLF, a comment and odd spacing: all of it must survive.
        let original =
            "\u{FEFF}-- Adds column b\r\n--  parent:  001_root \r\n-- migrate:up\r\nALTER TABLE t ADD COLUMN b int;\r\n-- migrate:down\r\nALTER TABLE t DROP COLUMN b;\r\n"
        try project.write("migrations/002_b.sql", original)
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev", "--to", "002_a"]).exitCode == 0)
        #expect(try project.run(["promote", "staging"]).exitCode == 0)

        let refused = try project.run(["rebase", "002_a", "--onto", "002_b"])
        #expect(refused.exitCode == 1, "\(refused.output)")
        #expect(refused.stderr.contains("002_a is applied to `dev`, `staging`"))
        #expect(refused.stderr.contains("nothing was written"))
        #expect(refused.stderr.contains("rebase the other head onto it"))
        #expect(try project.read("migrations/002_a.sql").contains("-- parent: 001_root"))

        let rebased = try project.run(["rebase", "002_b", "--onto", "002_a"])
        #expect(rebased.exitCode == 0, "\(rebased.output)")
        #expect(rebased.stdout.contains("migrations/002_b.sql: parent 002_a (was 001_root)"))
        #expect(!rebased.stderr.contains("still"))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: project.root + "/migrations/002_b.sql"))
        #expect(bytes == Data(original.replacingOccurrences(of: "parent:  001_root ", with: "parent:  002_a ").utf8))
        #expect(try project.run(["heads"]).stdout == "002_b\n")

        try project.git("commit", "-q", "-am", "rebase 002_b onto 002_a")
        let upgrade = try project.run(["upgrade", "dev"])
        #expect(upgrade.exitCode == 0, "\(upgrade.output)")
        let applied = try TestPostgres.query(
            dev, "SELECT revision, array_to_string(parents, ',') FROM orchestrate.revisions ORDER BY applied_at")
        #expect(applied.last == ["002_b", "002_a"])

        let again = try project.run(["rebase", "002_b", "--onto", "002_a"])
        #expect(again.exitCode == 0)
        #expect(again.stdout.contains("already builds on 002_a; nothing to do"))
    }

    @Test("rebase refuses results that would be invalid, and says when several heads remain")
    func rebaseInvalid() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try Self.divergent(project)
        try project.migration("003_a", parent: "002_a", up: "SELECT 1;")
        try project.migration("002_c", parent: "001_root", up: "SELECT 1;")
        try project.write("migrations/009_merge.sql", "-- parent: 002_b, 002_c\n-- migrate:up\n")
        let before = try project.read("migrations/002_a.sql")

        func expectUsage(
            _ arguments: [String], _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation
        ) throws {
            let result = try project.run(arguments)
            #expect(result.exitCode == 2, "\(result.output)", sourceLocation: sourceLocation)
            #expect(result.stderr.contains(fragment), "\(result.stderr)", sourceLocation: sourceLocation)
        }
        try expectUsage(
            ["rebase", "002_a", "--onto", "003_a"],
            "would make a cycle (002_a -> 003_a -> 002_a): 003_a builds on 002_a")
        try expectUsage(["rebase", "001", "--onto", "002_b"], "001_root is the root revision")
        try expectUsage(["rebase", "002_a", "--onto", "nope"], "--onto: unknown revision 'nope'")
        try expectUsage(["rebase", "002", "--onto", "001_root"], "REV: '002' is ambiguous")
        try expectUsage(["rebase", "002_a", "--onto", "002_a"], "onto itself")
        try expectUsage(["rebase", "009", "--onto", "003_a"], "is a merge revision (parents 002_b, 002_c)")
        try expectUsage(["rebase", "002_a"], "--onto")
        #expect(try project.read("migrations/002_a.sql") == before)

        // Two heads (003_a, 009_merge): moving the merge's line on top of 003_a leaves one.
        let moved = try project.run(["rebase", "002_c", "--onto", "003_a", "--json"])
        #expect(moved.exitCode == 0, "\(moved.output)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(moved.stdout.utf8)) as? [String: Any])
        #expect(json["rewritten"] as? Bool == true)
        #expect(json["heads"] as? [String] == ["009_merge"])
        #expect(json["previousParents"] as? [String] == ["001_root"])

        // A third head: the rebase works and warns that two remain.
        try project.migration("004_x", parent: "001_root", up: "SELECT 1;")
        try project.migration("004_y", parent: "001_root", up: "SELECT 1;")
        let partial = try project.run(["rebase", "004_y", "--onto", "004_x"])
        #expect(partial.exitCode == 0, "\(partial.output)")
        #expect(partial.stderr.contains("still has 2 heads (004_y, 009_merge)"))
    }

    @Test("rebase refuses when an environment cannot be read, unless --force-unreachable, which names it")
    func rebaseUnreachable() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.environment("dev")
        let missing = try TestPostgres.conninfo(database: "orchestrate_no_such_db")
        try project.write("environments/qa.toml", "database_url = \"\(missing)\"\n")
        try Self.divergent(project)
        let refused = try project.run(["rebase", "002_b", "--onto", "002_a"])
        #expect(refused.exitCode == 3, "\(refused.output)")
        #expect(refused.stderr.contains("cannot tell whether 002_b is applied everywhere: `qa`"))
        #expect(refused.stderr.contains("--force-unreachable"))
        #expect(try project.read("migrations/002_b.sql").contains("-- parent: 001_root"))

        let forced = try project.run(["rebase", "002_b", "--onto", "002_a", "--force-unreachable"])
        #expect(forced.exitCode == 0, "\(forced.output)")
        #expect(forced.stderr.contains("environment `qa` could not be read, so it was not checked for 002_b"))
        #expect(try project.read("migrations/002_b.sql").contains("-- parent: 002_a"))
    }

    // MARK: - graph

    @Test("graph draws newest first with where each environment stands; --offline and --json; unreachable is a warning")
    func graph() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.environment("dev")
        try project.environment("staging", promotesFrom: "dev")
        try project.environment("production", promotesFrom: "staging")
        let missing = try TestPostgres.conninfo(database: "orchestrate_no_such_db")
        try project.write("environments/qa.toml", "database_url = \"\(missing)\"\n")
        try Self.divergent(project)
        try project.write("migrations/003_merge.sql", "-- parent: 002_a, 002_b\n-- migrate:up\n")
        try project.migration(
            "004_c", parent: "003_merge", up: "ALTER TABLE t ADD COLUMN c int;", down: "ALTER TABLE t DROP COLUMN c;")
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        #expect(try project.run(["promote", "staging", "--to", "002_a"]).exitCode == 0)

        let drawn = try project.run(["graph"])
        #expect(drawn.exitCode == 0, "\(drawn.output)")
        #expect(
            drawn.stdout == """
                * 004_c  ◀ dev
                *  003_merge
                |\\
                * | 002_a  ◀ staging
                | * 002_b
                |/
                * 001_root
                ◀ nothing applied: production

                """)
        #expect(drawn.stderr.contains("warning: `qa` not shown: environment `qa`: cannot connect"))

        let offline = try project.run(["graph", "--offline"])
        #expect(offline.exitCode == 0)
        #expect(!offline.output.contains("◀"))
        #expect(!offline.stderr.contains("qa"))
        #expect(offline.stdout.hasPrefix("* 004_c\n*  003_merge\n"))

        let json = try project.run(["graph", "--json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let revisions = try #require(document["revisions"] as? [[String: Any]])
        #expect(revisions.map { $0["id"] as? String } == ["004_c", "003_merge", "002_a", "002_b", "001_root"])
        #expect(revisions[1]["parents"] as? [String] == ["002_a", "002_b"])
        #expect(revisions[2]["environments"] as? [String] == ["staging"])
        let environments = try #require(document["environments"] as? [[String: Any]])
        let reachable = Dictionary(
            uniqueKeysWithValues: environments.map { ($0["name"] as? String ?? "", $0["reachable"] as? Bool) })
        #expect(reachable == ["dev": true, "staging": true, "production": true, "qa": false])
        #expect(environments.first { $0["name"] as? String == "dev" }?["heads"] as? [String] == ["004_c"])
    }

    // MARK: - repair

    @Test(
        "an edit after apply: status names the commit, promote refuses, repair accepts it (audited), promote goes through"
    )
    func repairEditedFile() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev")
        let staging = try project.environment("staging", promotesFrom: "dev")
        try project.migration(
            "001_root", parent: nil, up: "CREATE TABLE t (id int PRIMARY KEY);", down: "DROP TABLE t;")
        try project.migration(
            "002_a", parent: "001_root", up: "ALTER TABLE t ADD COLUMN a int;", down: "ALTER TABLE t DROP COLUMN a;")
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        let oldChecksum = try #require(
            try TestPostgres.query(dev, "SELECT checksum FROM orchestrate.revisions WHERE revision = '002_a'").first?
                .first ?? nil)

        try project.migration(
            "002_a", parent: "001_root", up: "-- reviewed: adds a nullable column\nALTER TABLE t ADD COLUMN a int;",
            down: "ALTER TABLE t DROP COLUMN a;")
        try project.git("commit", "-q", "-am", "document 002_a")
        let edit = try project.git("rev-parse", "--short=7", "HEAD")

        let status = try project.run(["status", "dev"])
        #expect(status.stdout.contains("migrations/002_a.sql edited after apply"), "\(status.output)")
        #expect(status.stdout.contains("changed by \(edit) \"document 002_a\" (Test Author <author@example.com>)"))

        let refused = try project.run(["promote", "staging"])
        #expect(refused.exitCode == 1, "\(refused.output)")
        #expect(refused.stderr.contains("migrations/002_a.sql differs from what `dev` ran"))
        #expect(refused.stderr.contains("orchestrate repair dev 002_a --reason TEXT"))
        #expect(try TestPostgres.query(staging, "SELECT count(*) FROM orchestrate.revisions").first?.first == "0")

        let noReason = try project.run(["repair", "dev", "002_a"])
        #expect(noReason.exitCode == 2)
        #expect(noReason.stderr.contains("--reason"))

        let repaired = try project.run(["repair", "dev", "002_a", "--reason", "comment only"])
        #expect(repaired.exitCode == 0, "\(repaired.output)")
        #expect(repaired.stdout.contains("dev: 002_a now recorded with checksum"))
        let row = try TestPostgres.query(
            dev, "SELECT checksum, up_sql FROM orchestrate.revisions WHERE revision = '002_a'")
        let newChecksum = try #require(row.first?[0] ?? nil)
        #expect(newChecksum != oldChecksum)
        #expect(row.first?[1]?.contains("-- reviewed") == true)
        let events = try TestPostgres.query(
            dev, "SELECT action, outcome, message, git_commit FROM orchestrate.events WHERE action = 'repair'")
        #expect(events.count == 1)
        #expect(events.first?[1] == "accepted")
        #expect(events.first?[2]?.contains("checksum \(oldChecksum) -> \(newChecksum); reason: comment only") == true)
        #expect(events.first?[3] == (try project.git("rev-parse", "HEAD")))

        #expect(!(try project.run(["status", "dev"]).stdout.contains("edited after apply")))
        let promote = try project.run(["promote", "staging"])
        #expect(promote.exitCode == 0, "\(promote.output)")
        #expect(promote.stdout.contains("staging: applied 2 revision(s)"))

        let nothing = try project.run(["repair", "dev", "002", "--reason", "again"])
        #expect(nothing.exitCode == 0, "\(nothing.output)")
        #expect(nothing.stdout.contains("already matches its file; nothing to repair"))
    }

    @Test(
        "repair refuses what makes no sense: not recorded, flags on an applied revision, moved parents, orphans, frozen, protected"
    )
    func repairRefusals() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev", extra: "protected = true\n")
        try project.migration(
            "001_root", parent: nil, up: "CREATE TABLE t (id int PRIMARY KEY);", down: "DROP TABLE t;")
        try project.migration(
            "002_a", parent: "001_root", up: "ALTER TABLE t ADD COLUMN a int;", down: "ALTER TABLE t DROP COLUMN a;")
        try project.migration(
            "003_b", parent: "002_a", up: "ALTER TABLE t ADD COLUMN b int;", down: "ALTER TABLE t DROP COLUMN b;")
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev", "--to", "002_a"]).exitCode == 0)

        func expect(
            _ arguments: [String], exit: Int32, _ fragments: String...,
            sourceLocation: SourceLocation = #_sourceLocation
        ) throws {
            let result = try project.run(arguments)
            #expect(result.exitCode == exit, "\(result.output)", sourceLocation: sourceLocation)
            for fragment in fragments {
                #expect(result.stderr.contains(fragment), "\(result.stderr)", sourceLocation: sourceLocation)
            }
        }
        try expect(["repair", "dev", "002_a", "--reason", "x"], exit: 1, "protected", "--yes")
        try expect(
            ["repair", "dev", "002_a", "--reason", "x", "--yes", "--applied"], exit: 2,
            "002_a is fully applied in `dev`, not interrupted", "orchestrate downgrade dev")
        try expect(
            ["repair", "dev", "003", "--reason", "x", "--yes"], exit: 2,
            "revision 003_b is not recorded in `dev`'s ledger", "nothing to repair")
        try expect(["repair", "dev", "zzz", "--reason", "x", "--yes"], exit: 2, "records no revision `zzz`")
        try expect(
            ["repair", "dev", "002_a", "--reason", "x", "--applied", "--reverted"], exit: 2,
            "at most one of --applied and --reverted")
        try expect(["repair", "dev", "002_a", "--reason", "  ", "--yes"], exit: 2, "--reason must say why")

        // The parent line changed after apply: that is a move, not an edit repair can accept.
        try project.migration("003_b", parent: "001_root", up: "ALTER TABLE t ADD COLUMN b int;")
        try project.migration("002_a", parent: "003_b", up: "ALTER TABLE t ADD COLUMN a int;")
        try expect(
            ["repair", "dev", "002_a", "--reason", "x", "--yes"], exit: 2, "now names parent(s) 003_b",
            "restore its `-- parent:` line")

        // An orphan has no file whose checksum could be accepted.
        try project.remove("migrations/002_a.sql")
        try project.remove("migrations/003_b.sql")
        try expect(
            ["repair", "dev", "002_a", "--reason", "x", "--yes"], exit: 2, "has no file in migrations/",
            "orchestrate downgrade dev")

        #expect(try project.run(["lock", "dev", "--reason", "release in progress"]).exitCode == 0)
        try expect(["repair", "dev", "001_root", "--reason", "x", "--yes"], exit: 4, "frozen", "release in progress")
        let repairs = try TestPostgres.query(
            dev, "SELECT count(*) FROM orchestrate.events WHERE action = 'repair' AND outcome <> 'refused'")
        #expect(repairs.first?.first == "0")
    }

    @Test("an interrupted non-transactional revision: upgrade refuses, repair --applied or --reverted settles it")
    func repairInterrupted() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev")
        try project.migration(
            "001_root", parent: nil, up: "CREATE TABLE t (id int PRIMARY KEY);", down: "DROP TABLE t;")
        try project.migration(
            "002_index", parent: "001_root",
            up: "CREATE INDEX CONCURRENTLY t_one ON t (id);\nSELECT 1/0;",
            down: "DROP INDEX CONCURRENTLY t_one;", header: "-- transaction: false\n")
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev"]).exitCode == 3)
        #expect(
            try TestPostgres.query(
                dev, "SELECT state, statements_done FROM orchestrate.revisions WHERE revision = '002_index'"
            ).first == ["running", "1"])

        let blocked = try project.run(["upgrade", "dev"])
        #expect(blocked.exitCode == 1)
        #expect(blocked.stderr.contains("interrupted while applying, at statement 2 of 2"))

        let unsaid = try project.run(["repair", "dev", "002_index", "--reason", "x"])
        #expect(unsaid.exitCode == 2, "\(unsaid.output)")
        #expect(
            unsaid.stderr.contains(
                "interrupted in `dev` while applying, at statement 2 of 2 (non-transactional): say how it ended"))
        #expect(unsaid.stderr.contains("--applied if all of its up statements took effect"))

        let applied = try project.run([
            "repair", "dev", "002_index", "--applied", "--reason", "the index is built; the rest was a no-op",
        ])
        #expect(applied.exitCode == 0, "\(applied.output)")
        #expect(applied.stdout.contains("dev: 002_index marked applied"))
        #expect(
            try TestPostgres.query(
                dev,
                "SELECT state, statements_done, statements_total FROM orchestrate.revisions WHERE revision = '002_index'"
            ).first == ["applied", "2", "2"])
        // The repair that did not say how it ended was refused, and recorded as such.
        let event = try TestPostgres.query(
            dev, "SELECT outcome, message FROM orchestrate.events WHERE action = 'repair' AND outcome <> 'refused'")
        #expect(event.first?[0] == "applied")
        #expect(event.first?[1]?.contains("was interrupted while applying at statement 2 of 2") == true)

        try project.migration(
            "003_index", parent: "002_index",
            up: "CREATE INDEX CONCURRENTLY t_two ON t (id);\nSELECT 1/0;",
            down: "DROP INDEX CONCURRENTLY t_two;", header: "-- transaction: false\n")
        try project.git("add", "-A")
        try project.git("commit", "-q", "-m", "003")
        #expect(try project.run(["upgrade", "dev"]).exitCode == 3)
        try TestPostgres.query(dev, "DROP INDEX t_two")
        let reverted = try project.run([
            "repair", "dev", "003_index", "--reverted", "--reason", "dropped t_two by hand",
        ])
        #expect(reverted.exitCode == 0, "\(reverted.output)")
        #expect(
            try TestPostgres.query(dev, "SELECT count(*) FROM orchestrate.revisions WHERE revision = '003_index'")
                .first?.first == "0")
        #expect(
            try TestPostgres.query(dev, "SELECT outcome FROM orchestrate.events WHERE action = 'repair' ORDER BY id")
                .map { $0[0] }
                == ["refused", "applied", "reverted"])
        let audit = try project.run(["audit", "dev"])
        #expect(
            audit.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ").contains(
                "repair reverted 003_index"))
    }
}
