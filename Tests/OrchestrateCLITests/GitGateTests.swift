import Foundation
import TestSupport
import Testing

/// The git rules at apply time (DESIGN §7): provenance per revision, the clean-tree rule of later stages, the
/// `branch` rule, and orphans. Real repositories, the real binary, real PostgreSQL.
@Suite("git gates at apply time")
struct GitGateTests {
    @Test("upgrade and promote record HEAD's commit and branch per revision; a detached HEAD records no branch")
    func provenance() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev")
        let staging = try project.environment("staging", promotesFrom: "dev")
        try project.migration("001_root", parent: nil, up: "CREATE TABLE t (id int);", down: "DROP TABLE t;")
        try project.gitInitAndCommit()
        let first = try project.git("rev-parse", "HEAD")
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)

        try project.migration("002_a", parent: "001_root", up: "ALTER TABLE t ADD COLUMN a int;")
        try project.git("add", "-A")
        try project.git("commit", "-q", "-m", "002")
        let second = try project.git("rev-parse", "HEAD")
        try project.git("checkout", "-q", "--detach")
        let detached = try project.run(["upgrade", "dev"])
        #expect(detached.exitCode == 0, "\(detached.output)")
        let rows = try TestPostgres.query(
            dev, "SELECT revision, git_commit, git_branch, git_dirty FROM orchestrate.revisions ORDER BY revision")
        #expect(rows == [["001_root", first, "main", "f"], ["002_a", second, nil, "f"]])

        try project.git("checkout", "-q", "main")
        #expect(try project.run(["promote", "staging"]).exitCode == 0)
        let promoted = try TestPostgres.query(
            staging,
            "SELECT revision, git_commit, git_branch, promoted_from FROM orchestrate.revisions ORDER BY revision")
        #expect(promoted == [["001_root", second, "main", "dev"], ["002_a", second, "main", "dev"]])
        let events = try TestPostgres.query(staging, "SELECT DISTINCT git_commit, git_branch FROM orchestrate.events")
        #expect(events == [[second, "main"]])
    }

    @Test(
        "a later stage refuses uncommitted changes under migrations/ or environments/; the first stage warns and records it"
    )
    func dirtyTree() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev")
        let staging = try project.environment("staging", promotesFrom: "dev")
        try project.migration("001_root", parent: nil, up: "CREATE TABLE t (id int);", down: "DROP TABLE t;")
        try project.gitInitAndCommit()
        try project.migration("002_wip", parent: "001_root", up: "ALTER TABLE t ADD COLUMN a int;")

        let upgrade = try project.run(["upgrade", "dev"])
        #expect(upgrade.exitCode == 0, "\(upgrade.output)")
        #expect(
            upgrade.stderr.contains(
                "warning: uncommitted changes under migrations/ or environments/ (migrations/002_wip.sql)"))
        let dirty = try TestPostgres.query(
            dev, "SELECT revision, git_dirty FROM orchestrate.revisions ORDER BY revision")
        #expect(dirty == [["001_root", "t"], ["002_wip", "t"]])

        let refused = try project.run(["promote", "staging"])
        #expect(refused.exitCode == 1, "\(refused.output)")
        #expect(
            refused.stderr.contains(
                "environment `staging` is a later stage and the work tree has uncommitted changes: migrations/002_wip.sql"
            ))
        #expect(refused.stderr.contains("commit or stash them"))

        try project.git("add", "-A")
        try project.git("commit", "-q", "-m", "002")
        try project.write("environments/staging.toml", try project.read("environments/staging.toml") + "# tuning\n")
        let config = try project.run(["promote", "staging"])
        #expect(config.exitCode == 1)
        #expect(config.stderr.contains("uncommitted changes: environments/staging.toml"))
        // Refused once the plan is known and before anything ran: no revision is recorded, the event log has the refusal.
        #expect(try TestPostgres.query(staging, "SELECT count(*) FROM orchestrate.revisions").first?.first == "0")
        #expect(
            try TestPostgres.query(
                staging,
                "SELECT outcome, message FROM orchestrate.events WHERE action = 'promote' ORDER BY id DESC LIMIT 1")
                == [
                    [
                        "refused",
                        "environment `staging` is a later stage and the work tree has uncommitted changes: environments/staging.toml",
                    ]
                ])

        try project.git("checkout", "--", "environments/staging.toml")
        let clean = try project.run(["promote", "staging"])
        #expect(clean.exitCode == 0, "\(clean.output)")
        #expect(
            try TestPostgres.query(staging, "SELECT bool_or(git_dirty) FROM orchestrate.revisions").first?.first == "f")
    }

    @Test("branch = \"main\": a revision added off main is refused, naming it and its commit, and passes once merged")
    func branchGateLocal() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.environment("dev")
        let staging = try project.environment("staging", promotesFrom: "dev", extra: "branch = \"main\"\n")
        try project.migration("001_root", parent: nil, up: "CREATE TABLE t (id int);", down: "DROP TABLE t;")
        try project.gitInitAndCommit()
        try project.git("checkout", "-q", "-b", "feature")
        try project.migration("002_feature", parent: "001_root", up: "ALTER TABLE t ADD COLUMN f int;")
        try project.git("add", "-A")
        try project.git("commit", "-q", "-m", "add the feature column")
        let adding = try project.git("rev-parse", "--short=7", "HEAD")
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)

        let refused = try project.run(["promote", "staging"])
        #expect(refused.exitCode == 1, "\(refused.output)")
        #expect(
            refused.stderr.contains(
                "revision 002_feature was added in commit \(adding) (add the feature column), which is not on branch `main`"
            ))
        #expect(refused.stderr.contains("merge it into main first"))
        #expect(try TestPostgres.query(staging, "SELECT count(*) FROM orchestrate.revisions").first?.first == "0")
        let events = try TestPostgres.query(
            staging, "SELECT action, outcome, message FROM orchestrate.events ORDER BY id")
        #expect(events.last?[0] == "promote" && events.last?[1] == "refused")
        #expect(events.last?[2]?.contains("002_feature") == true)

        try project.git("checkout", "-q", "main")
        try project.git("merge", "-q", "--no-ff", "feature", "-m", "merge feature")
        let merged = try project.run(["promote", "staging"])
        #expect(merged.exitCode == 0, "\(merged.output)")
        #expect(merged.stdout.contains("staging: applied 2 revision(s)"))
    }

    @Test("branch = \"main\" uses origin/main when there is no local main, as in a CI clone")
    func branchGateRemote() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.environment("dev")
        let staging = try project.environment("staging", promotesFrom: "dev", extra: "branch = \"main\"\n")
        try project.migration("001_root", parent: nil, up: "CREATE TABLE t (id int);", down: "DROP TABLE t;")
        try project.gitInitAndCommit()
        let clone = NSTemporaryDirectory() + "orchestrate-clone-" + UUID().uuidString.prefix(8).lowercased()
        defer { try? FileManager.default.removeItem(atPath: clone) }
        try TestProject.git(["clone", "-q", project.root, clone], in: NSTemporaryDirectory())
        try TestProject.git(["checkout", "-q", "-b", "work"], in: clone)
        try TestProject.git(["branch", "-q", "-D", "main"], in: clone)
        try "-- parent: 001_root\n-- migrate:up\nALTER TABLE t ADD COLUMN w int;\n"
            .write(toFile: clone + "/migrations/002_work.sql", atomically: true, encoding: .utf8)
        try TestProject.git(["add", "-A"], in: clone)
        try TestProject.git(["commit", "-q", "-m", "work column"], in: clone)
        let adding = try TestProject.git(["rev-parse", "--short=7", "HEAD"], in: clone)
        #expect(try TestProject.runOrchestrate(["upgrade", "dev"], directory: clone).exitCode == 0)

        let refused = try TestProject.runOrchestrate(["promote", "staging"], directory: clone)
        #expect(refused.exitCode == 1, "\(refused.output)")
        #expect(
            refused.stderr.contains(
                "revision 002_work was added in commit \(adding) (work column), which is not on branch `main`"))

        try TestProject.git(["push", "-q", "origin", "work"], in: clone)
        try project.git("merge", "-q", "--no-ff", "work", "-m", "merge work")
        try TestProject.git(["fetch", "-q", "origin"], in: clone)
        let merged = try TestProject.runOrchestrate(["promote", "staging"], directory: clone)
        #expect(merged.exitCode == 0, "\(merged.output)")
        #expect(try TestPostgres.query(staging, "SELECT count(*) FROM orchestrate.revisions").first?.first == "2")
    }

    @Test(
        "an orphan from a deleted branch: status shows its commit on no branch, graph mentions it, downgrade reverts it"
    )
    func orphan() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev")
        try project.migration("001_root", parent: nil, up: "CREATE TABLE t (id int);", down: "DROP TABLE t;")
        try project.gitInitAndCommit()
        try project.git("checkout", "-q", "-b", "experiment")
        try project.migration(
            "002_experiment", parent: "001_root", up: "CREATE TABLE experiment (id int);",
            down: "DROP TABLE experiment;")
        try project.git("add", "-A")
        try project.git("commit", "-q", "-m", "try an experiment")
        let commit = try project.git("rev-parse", "--short=7", "HEAD")
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        try project.git("checkout", "-q", "main")
        try project.git("branch", "-q", "-D", "experiment")

        let status = try project.run(["status", "dev"])
        #expect(status.exitCode == 0, "\(status.output)")
        #expect(
            status.stdout.contains(
                "orphan   002_experiment has no file at HEAD; applied from commit \(commit), which is on no branch (abandoned or rebased)"
            ))
        let json = try project.run(["status", "dev", "--json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        let orphans = try #require(entries.first?["orphans"] as? [[String: Any]])
        #expect(orphans.first?["revision"] as? String == "002_experiment")
        #expect(orphans.first?["branches"] as? [String] == [])
        #expect(orphans.first?["commitKnown"] as? Bool == true)

        let graph = try project.run(["graph"])
        #expect(graph.stdout.contains("◀ dev runs 002_experiment, which has no file in migrations/"))

        let down = try project.run(["downgrade", "dev", "--steps", "1"])
        #expect(down.exitCode == 0, "\(down.output)")
        #expect(down.stderr.contains("dev: reverted 002_experiment"))
        #expect(try TestPostgres.query(dev, "SELECT to_regclass('experiment') IS NULL").first?.first == "t")
        #expect(try TestPostgres.query(dev, "SELECT revision FROM orchestrate.revisions").map { $0[0] } == ["001_root"])
        #expect(!(try project.run(["status", "dev"]).stdout.contains("orphan")))
    }
}
