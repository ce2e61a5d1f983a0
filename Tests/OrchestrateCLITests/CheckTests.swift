import Foundation
import TestSupport
import Testing

/// `orchestrate check` on real repositories made with the git command line, run through the real binary.
@Suite("check")
struct CheckTests {
    /// A committed project on `main`: 001_accounts <- 002_users, and environments/dev.toml (so clones are projects).
    static func makeRepository(environmentURL: String = "sandbox:unused") throws -> TestProject {
        let project = try TestProject()
        try project.write("environments/dev.toml", "database_url = \"\(environmentURL)\"\n")
        try project.migration(
            "001_accounts", parent: nil, up: "CREATE TABLE accounts (id bigint PRIMARY KEY);",
            down: "DROP TABLE accounts;")
        try project.migration(
            "002_users", parent: "001_accounts", up: "CREATE TABLE users (id bigint PRIMARY KEY);",
            down: "DROP TABLE users;")
        try project.gitInitAndCommit("Create accounts and users")
        return project
    }

    /// Commits everything with `message`, as `author` when given; returns the short sha.
    @discardableResult
    static func commit(_ project: TestProject, _ message: String, author: String? = nil) throws -> String {
        try project.git("add", "-A")
        if let author {
            try project.git("commit", "-q", "-m", message, "--author", author)
        } else {
            try project.git("commit", "-q", "-m", message)
        }
        return try project.git("rev-parse", "--short=7", "HEAD")
    }

    static func json(_ result: TestProject.RunResult) throws -> [String: Any] {
        try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.output)")
    }

    @Test("a new revision on the pull request's side alone passes")
    func newRevisionPasses() throws {
        let project = try Self.makeRepository()
        defer { project.cleanUp() }
        try project.git("checkout", "-q", "-b", "feature")
        try project.migration("003_email", parent: "002_users", up: "ALTER TABLE users ADD COLUMN email text;")
        try Self.commit(project, "Add email")

        let result = try project.run(["check", "--base", "main"])
        #expect(result.exitCode == 0, "\(result.output)")
        #expect(result.stdout.hasPrefix("ok: HEAD (feature "))
        #expect(result.stdout.contains("against main"))
        #expect(result.stdout.contains("3 revisions, one head after merging, no released file changed"))
        #expect(!result.stderr.contains("comparing HEAD with"), "an explicit --base needs no notice")
    }

    @Test("one rule never hides another: a broken file and a divergence in one pull request are both reported")
    func brokenFileAndDivergence() throws {
        let project = try Self.makeRepository()
        defer { project.cleanUp() }
        try project.git("checkout", "-q", "-b", "feature")
        try project.migration("003_feature", parent: "002_users", up: "ALTER TABLE users ADD COLUMN email text;")
        try project.write(
            "migrations/004_broken.sql", "-- parent: 003_feature\n-- colour: red\n-- migrate:up\nSELECT 1;\n")
        try Self.commit(project, "Add email and a broken file")
        try project.git("checkout", "-q", "main")
        try project.migration("003_main", parent: "002_users", up: "ALTER TABLE users ADD COLUMN phone text;")
        try Self.commit(project, "Add phone on main")
        try project.git("checkout", "-q", "feature")

        let result = try project.run(["check", "--base", "main", "--json"])
        #expect(result.exitCode == 2, "the invalid file is the most severe finding: \(result.output)")
        let findings = try #require(try Self.json(result)["findings"] as? [[String: Any]])
        #expect(findings.compactMap { $0["kind"] as? String } == ["invalidFile", "multipleHeads"])
        #expect((findings.last?["message"] as? String)?.contains("004_broken") == true)
    }

    @Test("several roots joined by a merge revision pass; the pre-flight of upgrade runs on the pull request's files")
    func severalRootsAndPreflight() throws {
        let project = try Self.makeRepository()
        defer { project.cleanUp() }
        try project.git("checkout", "-q", "-b", "feature")
        // A second root (another project's migrations taken over), joined to ours by a merge revision.
        try project.migration(
            "100_billing", parent: nil, up: "CREATE TABLE invoices (id bigint);", down: "DROP TABLE invoices;")
        try project.write(
            "migrations/101_merge.sql", "-- parent: 002_users, 100_billing\n-- migrate:up\n-- migrate:down\n")
        try Self.commit(project, "Take over billing's migrations")
        let joined = try project.run(["check", "--base", "main"])
        #expect(joined.exitCode == 0, "\(joined.output)")

        try project.migration("102_index", parent: "101_merge", up: "CREATE INDEX CONCURRENTLY users_id ON users (id);")
        try Self.commit(project, "Index users")
        let result = try project.run(["check", "--base", "main"])
        #expect(result.exitCode == 2, "\(result.output)")
        #expect(
            result.stdout.contains(
                "migrations/102_index.sql:3: `CREATE INDEX CONCURRENTLY` cannot run inside a transaction block"),
            "\(result.stdout)")
        #expect(result.stdout.contains("add `-- transaction: false`"))
    }

    @Test("two branches each adding a revision on the same parent: one head each, two once merged")
    func divergingHeads() throws {
        let project = try Self.makeRepository()
        defer { project.cleanUp() }
        try project.git("checkout", "-q", "-b", "feature")
        try project.migration("003_feature", parent: "002_users", up: "ALTER TABLE users ADD COLUMN email text;")
        let ours = try Self.commit(project, "Add email on feature")
        try project.git("checkout", "-q", "main")
        try project.migration("003_main", parent: "002_users", up: "ALTER TABLE users ADD COLUMN phone text;")
        let theirs = try Self.commit(project, "Add phone on main", author: "Grace Hopper <grace@example.com>")

        // Each branch alone has one head.
        #expect(try project.run(["heads"]).stdout == "003_main\n")
        try project.git("checkout", "-q", "feature")
        #expect(try project.run(["heads"]).stdout == "003_feature\n")

        let result = try project.run(["check", "--base", "main"])
        #expect(result.exitCode == 1, "\(result.output)")
        #expect(result.stdout.contains("merging main would leave 2 heads"))
        #expect(
            result.stdout.contains(
                "003_feature (parent 002_users; added on this branch in \(ours) \"Add email on feature\" (Test Author <author@example.com>))"
            ))
        #expect(
            result.stdout.contains(
                "003_main (parent 002_users; added on main in \(theirs) \"Add phone on main\" (Grace Hopper <grace@example.com>))"
            ))
        #expect(
            result.stdout.contains(
                "fix: bring main into this branch (`git merge main` or `git rebase main`), then run `orchestrate rebase 003_feature --onto 003_main`"
            ))
        #expect(result.stdout.contains("`orchestrate merge`"))

        let json = try Self.json(try project.run(["check", "--base", "main", "--json"]))
        let finding = try #require((json["findings"] as? [[String: Any]])?.first)
        #expect(finding["kind"] as? String == "multipleHeads")
        #expect(finding["file"] as? String == "migrations/003_feature.sql")
        let revisions = try #require(finding["revisions"] as? [[String: Any]])
        #expect(revisions.map { $0["revision"] as? String } == ["003_feature", "003_main"])
        #expect(revisions.map { $0["side"] as? String } == ["head", "base"])
        #expect(revisions.map { ($0["addedBy"] as? [String: Any])?["shortSHA"] as? String } == [ours, theirs])
        #expect(json["heads"] as? [String] == ["003_feature", "003_main"])

        // Following the fix makes the check pass.
        try project.git("merge", "-q", "--no-edit", "main")
        try project.write(
            "migrations/003_feature.sql",
            try project.read("migrations/003_feature.sql")
                .replacingOccurrences(of: "-- parent: 002_users", with: "-- parent: 003_main"))
        try Self.commit(project, "Rebase 003_feature onto 003_main")
        let fixed = try project.run(["check", "--base", "main"])
        #expect(fixed.exitCode == 0, "\(fixed.output)")
    }

    @Test("editing a released file fails, naming each commit with its author")
    func editedRelease() throws {
        let project = try Self.makeRepository()
        defer { project.cleanUp() }
        try project.git("checkout", "-q", "-b", "feature")
        try project.migration(
            "002_users", parent: "001_accounts", up: "CREATE TABLE users (id bigint PRIMARY KEY, name text);",
            down: "DROP TABLE users;")
        let first = try Self.commit(project, "Add name to users", author: "Grace Hopper <grace@example.com>")
        try project.migration(
            "002_users", parent: "001_accounts", up: "CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL);",
            down: "DROP TABLE users;")
        let second = try Self.commit(project, "Make name required")
        let mergeBase = try project.git("rev-parse", "--short=7", "main")

        let result = try project.run(["check", "--base", "main"])
        #expect(result.exitCode == 1, "\(result.output)")
        #expect(result.stdout.contains("migrations/002_users.sql exists at the merge base with main (\(mergeBase))"))
        #expect(
            result.stdout.contains(
                "this branch edits it, in \(second) \"Make name required\" (Test Author <author@example.com>) and \(first) \"Add name to users\" (Grace Hopper <grace@example.com>)"
            ))
        #expect(result.stdout.contains("fix: restore it: `git checkout \(mergeBase) -- migrations/002_users.sql`"))
        #expect(result.stdout.contains("1 problem:"))
    }

    @Test("renaming or deleting a released file fails")
    func renamedAndDeleted() throws {
        let project = try Self.makeRepository()
        defer { project.cleanUp() }
        try project.git("checkout", "-q", "-b", "rename")
        try project.git("mv", "migrations/002_users.sql", "migrations/002_people.sql")
        let renamed = try Self.commit(project, "Rename users")
        let renameJSON = try Self.json(try project.run(["check", "--base", "main", "--format", "json"]))
        let renameFinding = try #require((renameJSON["findings"] as? [[String: Any]])?.first)
        #expect(renameFinding["kind"] as? String == "renamedRelease")
        #expect(renameFinding["file"] as? String == "migrations/002_people.sql")
        #expect((renameFinding["commits"] as? [[String: Any]])?.map { $0["shortSHA"] as? String } == [renamed])
        #expect((renameFinding["message"] as? String)?.contains("renames it to migrations/002_people.sql") == true)
        // 002_people still names its parent, so the graph stays valid: this is rule 3 alone.
        #expect(try project.run(["check", "--base", "main"]).exitCode == 1)

        try project.git("checkout", "-q", "main")
        try project.git("checkout", "-q", "-b", "delete")
        try project.remove("migrations/002_users.sql")
        let deleted = try Self.commit(project, "Drop the users migration")
        let result = try project.run(["check", "--base", "main"])
        #expect(result.exitCode == 1, "\(result.output)")
        #expect(result.stdout.contains("this branch deletes it, in \(deleted) \"Drop the users migration\""))
        #expect(result.stdout.contains("git checkout"))
    }

    @Test("rewriting released files with CRLF line endings or a BOM only passes")
    func lineEndingsAndBOM() throws {
        let project = try Self.makeRepository()
        defer { project.cleanUp() }
        try project.git("checkout", "-q", "-b", "feature")
        try project.write(
            "migrations/002_users.sql",
            try project.read("migrations/002_users.sql").replacingOccurrences(of: "\n", with: "\r\n"))
        try Self.commit(project, "CRLF")
        try project.write("migrations/001_accounts.sql", "\u{FEFF}" + (try project.read("migrations/001_accounts.sql")))
        try Self.commit(project, "BOM")
        #expect(try project.git("diff", "--stat", "main", "HEAD").contains("2 files changed"))

        let result = try project.run(["check", "--base", "main"])
        #expect(result.exitCode == 0, "\(result.output)")
    }

    @Test("graph and parse errors at HEAD are reported with file:line (exit 2)")
    func invalidHead() throws {
        let project = try Self.makeRepository()
        defer { project.cleanUp() }
        try project.git("checkout", "-q", "-b", "feature")
        try project.write(
            "migrations/003_orphan.sql", "-- Adds a column\n-- parent: 002_user\n-- migrate:up\nSELECT 1;\n")
        try project.write(
            "migrations/004_broken.sql", "-- parent: 002_users\n-- colour: red\n-- migrate:up\nSELECT 1;\n")
        try Self.commit(project, "Add two bad files")

        let result = try project.run(["check", "--base", "main"])
        #expect(result.exitCode == 2, "\(result.output)")
        #expect(
            result.stdout.contains(
                "migrations/003_orphan.sql:2: revision 003_orphan names parent 002_user, which does not exist at HEAD"))
        #expect(result.stdout.contains("migrations/004_broken.sql:2: unknown header key 'colour'"))

        let github = try project.run(["check", "--base", "main", "--format", "github"])
        #expect(github.exitCode == 2)
        let lines = github.stdout.split(separator: "\n").map(String.init)
        #expect(
            lines.contains {
                $0.hasPrefix(
                    "::error file=migrations/003_orphan.sql,line=2,title=orchestrate check%3A invalidGraph::revision 003_orphan names parent 002_user"
                )
            })
        #expect(
            lines.contains {
                $0.hasPrefix(
                    "::error file=migrations/004_broken.sql,line=2,title=orchestrate check%3A invalidFile::migrations/004_broken.sql:2: unknown header key"
                )
            })
    }

    @Test("--format github and --json print their documented shapes")
    func formats() throws {
        let project = try Self.makeRepository()
        defer { project.cleanUp() }
        try project.git("checkout", "-q", "-b", "feature")
        try project.migration("002_users", parent: "001_accounts", up: "CREATE TABLE users (id int);")
        let edit = try Self.commit(project, "Edit users, 100% sure")

        let github = try project.run(["check", "--base", "main", "--format", "github"])
        #expect(github.exitCode == 1, "\(github.output)")
        let annotation = try #require(github.stdout.split(separator: "\n").first.map(String.init))
        #expect(
            annotation.hasPrefix(
                "::error file=migrations/002_users.sql,title=orchestrate check%3A editedRelease::migrations/002_users.sql exists at the merge base"
            ))
        #expect(annotation.contains("\(edit) \"Edit users, 100%25 sure\""))
        #expect(annotation.contains(" — fix: restore it"))
        #expect(github.stdout.contains("orchestrate check: 1 problem(s)"))

        let json = try project.run(["check", "--base", "main", "--json"])
        #expect(json.exitCode == 1)
        #expect(json.stdout == (try project.run(["check", "--base", "main", "--format", "json"])).stdout)
        let object = try Self.json(json)
        #expect(
            Set(object.keys) == [
                "ok", "head", "base", "mergeBase", "migrationsDirectory", "revisions", "heads", "environments",
                "findings",
            ])
        #expect(object["ok"] as? Bool == false)
        #expect((object["head"] as? [String: Any])?["branch"] as? String == "feature")
        #expect(((object["head"] as? [String: Any])?["commit"] as? String)?.count == 40)
        let base = try #require(object["base"] as? [String: Any])
        #expect(base["ref"] as? String == "main")
        #expect(base["chosenBy"] as? String == "option")
        #expect(object["mergeBase"] as? String == (try project.git("rev-parse", "main")))
        #expect(object["migrationsDirectory"] as? String == "migrations")
        #expect(object["revisions"] as? Int == 2)
        let finding = try #require((object["findings"] as? [[String: Any]])?.first)
        #expect(Set(finding.keys) == ["kind", "file", "revisions", "commits", "message", "fix"])
        let commit = try #require((finding["commits"] as? [[String: Any]])?.first)
        #expect(Set(commit.keys) == ["sha", "shortSHA", "summary", "author", "time"])
        #expect(commit["author"] as? String == "Test Author <author@example.com>")

        let contradiction = try project.run(["check", "--json", "--format", "github"])
        #expect(contradiction.exitCode == 2)
        #expect(contradiction.stderr.contains("--json and --format github contradict each other"))
    }

    @Test(
        "the default base is the repository's default branch (GITHUB_BASE_REF, origin/HEAD, main, master), never the branch's own upstream"
    )
    func defaultBase() throws {
        let project = try Self.makeRepository()
        defer { project.cleanUp() }
        let clone = project.root + "/clone"
        try TestProject.git(["clone", "-q", "file://" + project.root, clone], in: project.root)
        try project.git("checkout", "-q", "-b", "feature")
        let local = try project.run(["check"])
        #expect(local.exitCode == 0, "\(local.output)")
        #expect(
            local.stderr.contains(
                "comparing HEAD with main (the repository's default branch: there is no GITHUB_BASE_REF and no origin/HEAD)"
            ),
            "\(local.stderr)")

        // A feature branch pushed with its upstream set: comparing with that upstream would pass vacuously.
        try TestProject.git(["checkout", "-q", "-b", "feature"], in: clone)
        try "-- parent: 002_users\n-- migrate:up\nSELECT 1;\n".write(
            toFile: clone + "/migrations/003_a.sql", atomically: true, encoding: .utf8)
        try TestProject.git(["add", "-A"], in: clone)
        try TestProject.git(["commit", "-q", "-m", "Add 003_a"], in: clone)
        try project.git("checkout", "-q", "main")
        try TestProject.git(["push", "-q", "-u", "origin", "feature"], in: clone)
        try project.migration("003_b", parent: "002_users", up: "SELECT 2;")
        try Self.commit(project, "Add 003_b on main")
        try TestProject.git(["fetch", "-q", "origin"], in: clone)
        let feature = try TestProject.runOrchestrate(["check"], directory: clone)
        #expect(feature.exitCode == 1, "the divergence with main is found: \(feature.output)")
        #expect(
            feature.stderr.contains(
                "comparing HEAD with origin/main (the repository's default branch, where origin/HEAD points)"))
        #expect(
            try Self.json(try TestProject.runOrchestrate(["check", "--json"], directory: clone))["base"]
                .flatMap { ($0 as? [String: Any])?["chosenBy"] as? String } == "origin/HEAD")

        // In a GitHub pull-request workflow, the pull request's base branch.
        try TestProject.git(["branch", "-q", "release", "origin/feature"], in: clone)
        try TestProject.git(["push", "-q", "origin", "release"], in: clone)
        let pullRequest = try TestProject.runOrchestrate(
            ["check"], directory: clone, environment: ["GITHUB_BASE_REF": "release"])
        #expect(pullRequest.exitCode == 0, "\(pullRequest.output)")
        #expect(
            pullRequest.stderr.contains(
                "comparing HEAD with origin/release (the pull request's base branch, from GITHUB_BASE_REF)"))

        let other = try TestProject()
        defer { other.cleanUp() }
        try other.write("environments/dev.toml", "database_url = \"sandbox:unused\"\n")
        try other.migration("001", parent: nil, up: "SELECT 1;")
        try other.git("init", "-q", "-b", "trunk")
        try Self.commit(other, "first")
        let none = try other.run(["check"])
        #expect(none.exitCode == 2, "\(none.output)")
        #expect(
            none.stderr.contains(
                "no base to compare with: there is no GITHUB_BASE_REF, no origin/HEAD, and no branch main or master"))
        #expect(none.stderr.contains("--base REF"))
        try other.git("branch", "master")
        let master = try other.run(["check"])
        #expect(master.exitCode == 0, "\(master.output)")
        #expect(master.stderr.contains("comparing HEAD with master"))

        let unknown = try other.run(["check", "--base", "nope"])
        #expect(unknown.exitCode == 3)
        #expect(unknown.stderr.contains("revision 'nope' not found"))
    }

    @Test("a shallow clone without the merge base fails with exit 3 and says what to fetch")
    func shallowClone() throws {
        let project = try Self.makeRepository()
        defer { project.cleanUp() }
        try project.git("checkout", "-q", "-b", "feature")
        try project.migration("003_feature", parent: "002_users", up: "SELECT 3;")
        try Self.commit(project, "Add 003 on feature")
        try project.git("checkout", "-q", "main")
        try project.migration("003_main", parent: "002_users", up: "SELECT 4;")
        try Self.commit(project, "Add 003 on main")

        let clone = project.root + "/shallow"
        try TestProject.git(
            ["clone", "-q", "--depth", "1", "--branch", "feature", "file://" + project.root, clone], in: project.root)
        // The base was not fetched at all.
        let unfetched = try TestProject.runOrchestrate(["check", "--base", "origin/main"], directory: clone)
        #expect(unfetched.exitCode == 3, "\(unfetched.output)")
        #expect(unfetched.stderr.contains("revision 'origin/main' not found"))
        #expect(
            unfetched.stderr.contains("`git fetch origin main`"),
            "a command that works, not `git fetch origin origin/main`")
        #expect(unfetched.stderr.contains("git fetch --unshallow"))
        #expect(unfetched.stderr.contains("fetch-depth: 0"))

        // The base was fetched, but not deep enough to hold the merge base.
        try TestProject.git(["fetch", "-q", "--depth", "1", "origin", "main:refs/remotes/origin/main"], in: clone)
        let shallow = try TestProject.runOrchestrate(["check", "--base", "origin/main"], directory: clone)
        #expect(shallow.exitCode == 3, "\(shallow.output)")
        #expect(shallow.stderr.contains("is a shallow clone and lacks the history needed to find the merge base"))
        #expect(shallow.stderr.contains("`git fetch --unshallow`"))
        #expect(shallow.stderr.contains("`fetch-depth: 0`"))
        #expect(
            shallow.stderr.contains(
                "hint: to keep the clone small instead, deepen it until it holds the merge base: `git fetch --deepen=200`"
            ))
        #expect(shallow.stdout.isEmpty, "never pass silently")

        // With the history fetched, the check runs (and finds the two heads).
        try TestProject.git(["fetch", "-q", "--unshallow"], in: clone)
        let deep = try TestProject.runOrchestrate(["check", "--base", "origin/main"], directory: clone)
        #expect(deep.exitCode == 1, "\(deep.output)")
        #expect(deep.stdout.contains("merging origin/main would leave 2 heads"))
    }

    @Test("a project in a sub-folder of the repository is checked there, with repository-relative paths")
    func projectInSubfolder() throws {
        let repository = try TestProject()
        defer { repository.cleanUp() }
        try repository.write("db/environments/dev.toml", "database_url = \"sandbox:unused\"\n")
        try repository.write("db/migrations/001.sql", "-- migrate:up\nSELECT 1;\n")
        try repository.gitInitAndCommit()
        try repository.git("checkout", "-q", "-b", "feature")
        try repository.write("db/migrations/001.sql", "-- migrate:up\nSELECT 2;\n")
        try Self.commit(repository, "Edit 001")
        let result = try repository.run(["check", "--base", "main", "--format", "github"], in: "db")
        #expect(result.exitCode == 1, "\(result.output)")
        #expect(result.stdout.hasPrefix("::error file=db/migrations/001.sql,"))
    }

    @Test("outside a repository, before the first commit, and without common history: exit 3 with the way out")
    func gitFailures() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.write("environments/dev.toml", "database_url = \"sandbox:unused\"\n")
        try project.migration("001", parent: nil, up: "SELECT 1;")
        // TestProject folders live in the temporary folder, which is not inside a repository.
        let outside = try project.run(["check"])
        #expect(outside.exitCode == 3, "\(outside.output)")
        #expect(outside.stderr.contains("is not in a git repository"))
        #expect(outside.stderr.contains("hint: check compares git commits"))

        try project.git("init", "-q")
        let unborn = try project.run(["check"])
        #expect(unborn.exitCode == 3, "\(unborn.output)")
        #expect(unborn.stderr.contains("has no commit yet"))

        try Self.commit(project, "first")
        try project.git("checkout", "-q", "--orphan", "unrelated")
        try Self.commit(project, "a new root")
        let unrelated = try project.run(["check", "--base", "main"])
        #expect(unrelated.exitCode == 3, "\(unrelated.output)")
        #expect(unrelated.stderr.contains("have no common history"))
        #expect(unrelated.stderr.contains("--base REF"))
    }

    @Test(.enabled(if: geteuid() == 0, "giving the repository to another user (chown) needs root"))
    func repositoryOwnedByAnotherUser() throws {
        let project = try Self.makeRepository()
        defer { project.cleanUp() }
        #expect(try TestProject.runProgram("/bin/chown", ["-R", "nobody", project.root]).exitCode == 0)

        let result = try project.run(["check", "--base", "main"])
        #expect(result.exitCode == 3, "\(result.output)")
        #expect(result.stderr.contains("the repository at \(project.root) is owned by another user"))
        #expect(result.stderr.contains("git config --global --add safe.directory \(project.root)"))
        #expect(!result.stderr.contains("config value 'safe.directory' was not found"))
    }
}

/// `check --env`: the ledgers of real databases.
@Suite("check --env", .serialized)
struct CheckEnvironmentTests {
    @Test("an applied revision edited since fails, naming the commit; unknown environments are usage errors")
    func editedAfterApply() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.environment("dev")
        try project.migration(
            "001_accounts", parent: nil, up: "CREATE TABLE accounts (id bigint PRIMARY KEY);",
            down: "DROP TABLE accounts;")
        try project.migration(
            "002_users", parent: "001_accounts", up: "CREATE TABLE users (id bigint PRIMARY KEY);",
            down: "DROP TABLE users;")
        try project.gitInitAndCommit("Create accounts and users")
        let applied = try project.git("rev-parse", "--short=7", "HEAD")
        let upgrade = try project.run(["upgrade", "dev"])
        #expect(upgrade.exitCode == 0, "\(upgrade.output)")

        let clean = try project.run(["check", "--base", "main", "--env", "dev"])
        #expect(clean.exitCode == 0, "\(clean.output)")
        #expect(clean.stdout.contains("nothing dev applied was changed"))

        // Edited on main itself: rule 3 has nothing to say (HEAD is the base), the ledger does.
        try project.migration(
            "002_users", parent: "001_accounts", up: "CREATE TABLE users (id bigint PRIMARY KEY, name text);",
            down: "DROP TABLE users;")
        try project.git("add", "-A")
        try project.git("commit", "-q", "-m", "Add name to users")
        let edit = try project.git("rev-parse", "--short=7", "HEAD")
        #expect(try project.run(["check", "--base", "main"]).exitCode == 0)

        let result = try project.run(["check", "--base", "main", "--env", "dev"])
        #expect(result.exitCode == 1, "\(result.output)")
        #expect(result.stdout.contains("`dev` applied revision 002_users from commit \(applied)"))
        #expect(result.stdout.contains("changed by \(edit) \"Add name to users\" (Test Author <author@example.com>)"))
        #expect(result.stdout.contains("`orchestrate repair dev 002_users --reason TEXT`"))

        try project.git("rm", "-q", "migrations/002_users.sql")
        try project.git("commit", "-q", "-m", "Drop users")
        let json = try project.run(["check", "--base", "main", "--env", "dev", "--json"])
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json.output)")
        #expect(object["environments"] as? [String] == ["dev"])
        let finding = try #require((object["findings"] as? [[String: Any]])?.first)
        #expect(finding["kind"] as? String == "deletedAfterApply")
        #expect(finding["environment"] as? String == "dev")

        let unknown = try project.run(["check", "--base", "main", "--env", "nope"])
        #expect(unknown.exitCode == 2)
        #expect(unknown.stderr.contains("unknown environment `nope`"))

        try project.write(
            "environments/gone.toml",
            "database_url = \"host=/tmp/orchestrate-no-such-socket-dir port=1 dbname=x user=x\"\n")
        let unreachable = try project.run(["check", "--base", "main", "--env", "gone"])
        #expect(unreachable.exitCode == 3, "\(unreachable.output)")
        #expect(unreachable.stderr.contains("gone"))
        #expect(unreachable.stdout.isEmpty)
    }
}
