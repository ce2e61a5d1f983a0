import Foundation
import Migrations
import Testing

@testable import OrchestrateCore

/// The rules of `orchestrate check` on literal files: no git, no database.
@Suite("pull request check (pure)")
struct PullRequestCheckTests {
    static let mergeBaseCommit = String(repeating: "ab", count: 20)

    /// A migration file's text.
    static func text(_ id: String, parent: String?, up: String? = nil) -> String {
        (parent.map { "-- parent: \($0)\n" } ?? "") + "-- migrate:up\n" + (up ?? "CREATE TABLE t_\(id) (id int);")
            + "\n"
            + "-- migrate:down\nDROP TABLE t_\(id);\n"
    }

    /// A file as a side holds it; the blob key is the raw text, so bytes that differ give different blobs.
    static func file(_ id: String, parent: String?, up: String? = nil) -> (String, MigrationBlob) {
        raw(id, text(id, parent: parent, up: up))
    }

    static func raw(_ id: String, _ text: String) -> (String, MigrationBlob) {
        let path = "migrations/\(id).sql"
        return (path, MigrationBlob.read(path: path, blob: text, bytes: Array(text.utf8)))
    }

    static func files(_ entries: (String, MigrationBlob)...) -> [String: MigrationBlob] {
        Dictionary(entries, uniquingKeysWith: { _, last in last })
    }

    static func commit(
        _ sha: Character, _ summary: String, _ author: String = "Ada Lovelace <ada@example.com>"
    ) -> CommitSummary {
        let full = String(repeating: String(sha), count: 40)
        return CommitSummary(
            sha: full, shortSHA: String(full.prefix(7)), summary: summary, author: author,
            time: "2026-01-01T00:00:00Z")
    }

    /// What a tree diff (without rename detection) reports between two sides' files.
    static func diff(from old: [String: MigrationBlob], to new: [String: MigrationBlob]) -> [MigrationChange] {
        Set(old.keys).union(new.keys).sorted().compactMap { path in
            switch (old[path], new[path]) {
            case (nil, _?): MigrationChange(kind: .added, oldPath: nil, newPath: path)
            case (_?, nil): MigrationChange(kind: .deleted, oldPath: path, newPath: nil)
            case (let a?, let b?) where a.blob != b.blob: MigrationChange(kind: .modified, oldPath: path, newPath: path)
            default: nil
            }
        }
    }

    /// The input git would give for these three sides: HEAD in full, the changes on each side (HEAD's as given, for
    /// renames, else diffed), and the merge base's and base's versions of the changed paths only.
    static func input(
        head: [String: MigrationBlob], base: [String: MigrationBlob], mergeBase: [String: MigrationBlob],
        changes: [MigrationChange]? = nil,
        ledgers: [(environment: String, entries: [LedgerEntry])] = []
    ) -> PullRequestCheckInput {
        let headChanges = changes ?? diff(from: mergeBase, to: head)
        let baseChanges = diff(from: mergeBase, to: base)
        let changedPaths = Set((headChanges + baseChanges).flatMap { [$0.oldPath, $0.newPath].compactMap { $0 } })
        return PullRequestCheckInput(
            migrationsDirectory: "migrations", baseName: "origin/main", mergeBaseCommit: mergeBaseCommit, head: head,
            headChanges: headChanges, baseChanges: baseChanges,
            mergeBase: mergeBase.filter { changedPaths.contains($0.key) },
            base: base.filter { path, _ in baseChanges.contains { $0.newPath == path } }, ledgers: ledgers)
    }

    /// The released history every test starts from: a <- b.
    static let released = files(file("a", parent: nil), file("b", parent: "a"))

    @Test("a new revision on HEAD's side alone passes")
    func newRevisionPasses() {
        var head = Self.released
        let (path, blob) = Self.file("c", parent: "b")
        head[path] = blob
        let check = PullRequestCheck(
            Self.input(
                head: head, base: Self.released, mergeBase: Self.released,
                changes: [MigrationChange(kind: .added, oldPath: nil, newPath: path)]))
        #expect(check.findings(history: [:]).isEmpty)
        #expect(check.historyQueries.isEmpty)
        #expect(check.revisionCount == 3)
        #expect(check.mergedHeads == ["c"])
    }

    @Test("two branches adding a revision on the same parent: one head each, two once merged")
    func divergingHeads() throws {
        var head = Self.released
        let (ours, oursBlob) = Self.file("c_ours", parent: "b")
        head[ours] = oursBlob
        var base = Self.released
        let (theirs, theirsBlob) = Self.file("d_theirs", parent: "b")
        base[theirs] = theirsBlob

        // Each side alone has one head.
        #expect(
            PullRequestCheck(Self.input(head: head, base: Self.released, mergeBase: Self.released)).findings(
                history: [:]).isEmpty)
        #expect(
            PullRequestCheck(Self.input(head: base, base: Self.released, mergeBase: Self.released)).findings(
                history: [:]).isEmpty)

        let check = PullRequestCheck(
            Self.input(
                head: head, base: base, mergeBase: Self.released,
                changes: [MigrationChange(kind: .added, oldPath: nil, newPath: ours)]))
        #expect(check.mergedHeads == ["c_ours", "d_theirs"])
        #expect(check.historyQueries == [.adding(path: ours, side: .head), .adding(path: theirs, side: .base)])
        let findings = check.findings(history: [
            .adding(path: ours, side: .head): [Self.commit("1", "Add c", "Ada Lovelace <ada@example.com>")],
            .adding(path: theirs, side: .base): [Self.commit("2", "Add d", "Grace Hopper <grace@example.com>")],
        ])
        let finding = try #require(findings.first)
        #expect(findings.count == 1)
        #expect(finding.kind == .multipleHeads)
        #expect(finding.file == ours)
        #expect(finding.revisions.map(\.side) == [.head, .base])
        #expect(finding.revisions.map(\.addedBy?.shortSHA) == ["1111111", "2222222"])
        #expect(
            finding.message.contains(
                "c_ours (parent b; added on this branch in 1111111 \"Add c\" (Ada Lovelace <ada@example.com>))"))
        #expect(
            finding.message.contains(
                "d_theirs (parent b; added on origin/main in 2222222 \"Add d\" (Grace Hopper <grace@example.com>))"))
        #expect(finding.fix.contains("`git merge origin/main`"))
        #expect(finding.fix.contains("`orchestrate rebase c_ours --onto d_theirs`"))
        #expect(finding.fix.contains("`orchestrate merge`"))
        #expect(!finding.kind.isInvalidFile)
    }

    @Test("the fix rebases the first revision of the branch's chain")
    func rebaseTheChainsFirstRevision() throws {
        var head = Self.released
        for (path, blob) in [Self.file("c1", parent: "b"), Self.file("c2", parent: "c1")] { head[path] = blob }
        var base = Self.released
        let (theirs, theirsBlob) = Self.file("d", parent: "b")
        base[theirs] = theirsBlob
        let finding = try #require(
            PullRequestCheck(Self.input(head: head, base: base, mergeBase: Self.released)).findings(history: [:]).first)
        #expect(finding.revisions.map(\.revision) == ["c2", "d"])
        #expect(finding.fix.contains("`orchestrate rebase c1 --onto d`"))
    }

    @Test("a branch that builds on an old revision is rebased onto the merge base's head, without git merge")
    func staleParent() throws {
        var head = Self.released
        let (ours, oursBlob) = Self.file("c", parent: "a")
        head[ours] = oursBlob
        let finding = try #require(
            PullRequestCheck(Self.input(head: head, base: Self.released, mergeBase: Self.released)).findings(
                history: [:]).first)
        #expect(finding.revisions.map(\.side) == [.mergeBase, .head])
        #expect(finding.message.contains("b (parent a; already at the merge base abababa)"))
        #expect(finding.fix.hasPrefix("run `orchestrate rebase c --onto b`"))
    }

    @Test("heads that all come from the base: the fix says so")
    func headsFromTheBase() throws {
        var base = Self.released
        for (path, blob) in [Self.file("d1", parent: "b"), Self.file("d2", parent: "b")] { base[path] = blob }
        let finding = try #require(
            PullRequestCheck(Self.input(head: Self.released, base: base, mergeBase: Self.released)).findings(
                history: [:]).first)
        #expect(finding.kind == .multipleHeads)
        #expect(finding.fix.contains("origin/main itself has several"))
    }

    @Test("a revision both sides added (a cherry-pick) is one revision; the base's own edits are taken")
    func sameRevisionOnBothSides() {
        var head = Self.released
        let picked = Self.file("c", parent: "b")
        head[picked.0] = picked.1
        var base = Self.released
        base[picked.0] = picked.1
        // The base also moved a's file to CRLF: the merge takes its version, and nothing changes for HEAD.
        base["migrations/a.sql"] =
            Self.raw("a", Self.text("a", parent: nil).replacingOccurrences(of: "\n", with: "\r\n")).1
        let check = PullRequestCheck(Self.input(head: head, base: base, mergeBase: Self.released))
        #expect(check.findings(history: [:]).isEmpty)
        #expect(check.mergedHeads == ["c"])
    }

    @Test("a released file edited on HEAD's side names the commits and the way back")
    func editedRelease() throws {
        var head = Self.released
        let (path, edited) = Self.file("b", parent: "a", up: "CREATE TABLE t_b (id bigint);")
        head[path] = edited
        let check = PullRequestCheck(
            Self.input(
                head: head, base: Self.released, mergeBase: Self.released,
                changes: [MigrationChange(kind: .modified, oldPath: path, newPath: path)]))
        let query = HistoryQuery.touching(path: path, since: Self.mergeBaseCommit)
        #expect(check.historyQueries == [query])
        let findings = check.findings(history: [
            query: [Self.commit("3", "Use bigint"), Self.commit("4", "Fix b", "Grace Hopper <grace@example.com>")]
        ])
        let finding = try #require(findings.first)
        #expect(findings.count == 1)
        #expect(finding.kind == .editedRelease)
        #expect(finding.file == path)
        #expect(finding.commits.map(\.shortSHA) == ["3333333", "4444444"])
        #expect(finding.message.contains("migrations/b.sql exists at the merge base with origin/main (abababa)"))
        #expect(
            finding.message.contains(
                "3333333 \"Use bigint\" (Ada Lovelace <ada@example.com>) and 4444444 \"Fix b\" (Grace Hopper <grace@example.com>)"
            ))
        #expect(finding.fix.contains("`git checkout abababa -- migrations/b.sql`"))
    }

    @Test("CRLF line endings or a BOM alone are not an edit")
    func lineEndingsAndBOM() {
        let original = Self.text("b", parent: "a")
        for rewritten in [original.replacingOccurrences(of: "\n", with: "\r\n"), "\u{FEFF}" + original] {
            var head = Self.released
            let (path, blob) = Self.raw("b", rewritten)
            #expect(blob.blob != Self.released[path]?.blob)
            head[path] = blob
            let check = PullRequestCheck(
                Self.input(
                    head: head, base: Self.released, mergeBase: Self.released,
                    changes: [MigrationChange(kind: .modified, oldPath: path, newPath: path)]))
            #expect(check.findings(history: [:]).isEmpty)
        }
    }

    @Test("a modified file without checksums is never taken for unchanged")
    func missingChecksums() {
        let path = "migrations/b.sql"
        let original = Self.text("b", parent: "a")
        let rewritten = original.replacingOccurrences(of: "\n", with: "\r\n")
        var head = Self.released
        head[path] = MigrationBlob.read(path: path, blob: rewritten, bytes: Array(rewritten.utf8), checksum: false)
        var mergeBase = Self.released
        mergeBase[path] = MigrationBlob.read(path: path, blob: original, bytes: Array(original.utf8), checksum: false)
        let check = PullRequestCheck(
            Self.input(
                head: head, base: Self.released, mergeBase: mergeBase,
                changes: [MigrationChange(kind: .modified, oldPath: path, newPath: path)]))
        #expect(check.findings(history: [:]).map(\.kind) == [.editedRelease])
    }

    @Test("reading without a checksum gives the same blob otherwise, parse errors included")
    func readWithoutChecksum() {
        for text in [
            Self.text("b", parent: "a"), "-- parent: a\n-- parent: b\n-- migrate:up\n", "\u{FEFF}-- parent: a\r\n",
        ] {
            let path = "migrations/b.sql"
            let with = MigrationBlob.read(path: path, blob: "1", bytes: Array(text.utf8))
            let without = MigrationBlob.read(path: path, blob: "1", bytes: Array(text.utf8), checksum: false)
            #expect(with.checksum == Checksum.sha256Hex(normalizing: Array(text.utf8)))
            #expect(without.checksum == nil)
            #expect(without.node == with.node)
            #expect(without.error == with.error)
            #expect(without.parentLine == with.parentLine)
        }
    }

    @Test("a released file renamed or deleted on HEAD's side fails")
    func renamedAndDeleted() throws {
        var renamed = Self.files(Self.file("a", parent: nil))
        let (newPath, newBlob) = Self.file("b2", parent: "a")
        renamed[newPath] = newBlob
        let rename = PullRequestCheck(
            Self.input(
                head: renamed, base: Self.released, mergeBase: Self.released,
                changes: [MigrationChange(kind: .renamed, oldPath: "migrations/b.sql", newPath: newPath)]))
        let renameFinding = try #require(rename.findings(history: [:]).first)
        #expect(renameFinding.kind == .renamedRelease)
        #expect(renameFinding.file == newPath)
        #expect(renameFinding.message.contains("renames it to migrations/b2.sql (revision b becomes b2)"))
        #expect(renameFinding.fix.contains("git rm -q migrations/b2.sql && git checkout abababa -- migrations/b.sql"))

        let deleted = Self.files(Self.file("a", parent: nil))
        let delete = PullRequestCheck(
            Self.input(
                head: deleted, base: Self.released, mergeBase: Self.released,
                changes: [MigrationChange(kind: .deleted, oldPath: "migrations/b.sql", newPath: nil)]))
        let query = HistoryQuery.touching(path: "migrations/b.sql", since: Self.mergeBaseCommit)
        let deleteFinding = try #require(delete.findings(history: [query: [Self.commit("5", "Drop b")]]).first)
        #expect(deleteFinding.kind == .deletedRelease)
        #expect(deleteFinding.message.contains("this branch deletes it, in 5555555 \"Drop b\""))
        #expect(deleteFinding.fix.contains("`git checkout abababa -- migrations/b.sql`"))
    }

    @Test("every parse error at HEAD is reported with file:line, and the merge check still runs on what can be read")
    func parseErrors() throws {
        var head = Self.released
        for (path, blob) in [
            Self.raw("c", "-- parent: b\n-- migrate:up\nSELECT 1;\n-- migrate:down\n-- migrate:down\n"),
            Self.raw("d", "-- parent: b\n-- colour: red\n-- migrate:up\nSELECT 1;\n"),
        ] {
            head[path] = blob
        }
        let check = PullRequestCheck(Self.input(head: head, base: Self.released, mergeBase: Self.released))
        let findings = check.findings(history: [:])
        #expect(findings.map(\.kind) == [.invalidFile, .invalidFile, .multipleHeads])
        #expect(findings.map(\.file) == ["migrations/c.sql", "migrations/d.sql", "migrations/c.sql"])
        #expect(findings.map(\.line) == [5, 2, nil])
        #expect(findings[1].message.hasPrefix("migrations/d.sql:2: unknown header key 'colour'"))
        // Both broken files name b on a readable parent line: they are two heads.
        #expect(check.mergedHeads == ["c", "d"])
    }

    @Test("graph errors at HEAD name the file and its parent line")
    func graphErrors() throws {
        var head = Self.released
        let (path, blob) = Self.raw("c", "-- Adds c\n-- parent: missing\n-- migrate:up\nSELECT 1;\n")
        head[path] = blob
        let missing = try #require(
            PullRequestCheck(Self.input(head: head, base: Self.released, mergeBase: Self.released)).findings(
                history: [:]).first)
        #expect(missing.kind == .invalidGraph)
        #expect(missing.file == "migrations/c.sql")
        #expect(missing.line == 2)
        #expect(missing.message.contains("names parent missing, which does not exist at HEAD"))

        let cycle = Self.files(Self.file("a", parent: nil), Self.file("b", parent: "c"), Self.file("c", parent: "b"))
        let cycleFinding = try #require(
            PullRequestCheck(Self.input(head: cycle, base: cycle, mergeBase: cycle)).findings(history: [:]).first)
        #expect(cycleFinding.kind == .invalidGraph)
        #expect(cycleFinding.message.contains("b -> c -> b"))
        #expect(cycleFinding.file == "migrations/b.sql")
        #expect(cycleFinding.line == 1)

    }

    @Test("several roots are valid: joined by a merge they pass; unjoined, they are two heads")
    func severalRoots() {
        // Alembic's several bases: a project that took over another one's migrations keeps both roots.
        let joined = Self.files(
            Self.file("a", parent: nil), Self.file("b", parent: nil), Self.file("m", parent: "a, b"))
        let check = PullRequestCheck(Self.input(head: joined, base: joined, mergeBase: joined))
        #expect(check.findings(history: [:]).isEmpty)
        #expect(check.mergedHeads == ["m"])

        let unjoined = Self.files(Self.file("a", parent: nil), Self.file("b", parent: nil))
        let findings = PullRequestCheck(Self.input(head: unjoined, base: unjoined, mergeBase: unjoined)).findings(
            history: [:])
        #expect(findings.map(\.kind) == [.multipleHeads])
        #expect(findings.first?.message.contains("a (a root") == true)
    }

    @Test("one rule never hides another: an invalid file at HEAD and a divergence are both reported")
    func invalidFileAndDivergence() throws {
        // HEAD adds c on b and a broken file x; the base meanwhile added d on b.
        var head = Self.released
        for (path, blob) in [
            Self.file("c", parent: "b"), Self.raw("x", "-- parent: c\n-- colour: red\n-- migrate:up\nSELECT 1;\n"),
        ] {
            head[path] = blob
        }
        var base = Self.released
        let (dPath, dBlob) = Self.file("d", parent: "b")
        base[dPath] = dBlob
        let check = PullRequestCheck(Self.input(head: head, base: base, mergeBase: Self.released))
        let findings = check.findings(history: [:])
        #expect(findings.map(\.kind) == [.invalidFile, .multipleHeads])
        // x's parent line is readable (its error is the unknown key on line 2), so x, not c, is HEAD's head.
        #expect(check.mergedHeads == ["d", "x"])

        // A broken file whose parents cannot be read: the rule says it cannot tell, instead of guessing.
        var unknown = Self.released
        for (path, blob) in [Self.raw("y", "-- Parent: b\n-- migrate:up\nSELECT 1;\n")] { unknown[path] = blob }
        let unsure = PullRequestCheck(Self.input(head: unknown, base: base, mergeBase: Self.released)).findings(
            history: [:])
        #expect(unsure.map(\.kind) == [.invalidFile, .invalidMergedGraph])
        #expect(unsure.last?.message.contains("is unknown: the parents of migrations/y.sql cannot be read") == true)
        #expect(unsure.last?.file == "migrations/y.sql")
    }

    @Test("a child of a file that does not parse is not reported twice")
    func childOfBrokenFile() {
        var head = Self.released
        for (path, blob) in [Self.raw("c", "-- parent: b\nSELECT 1;\n"), Self.file("d", parent: "c")] {
            head[path] = blob
        }
        let findings = PullRequestCheck(Self.input(head: head, base: head, mergeBase: Self.released)).findings(
            history: [:])
        #expect(findings.map(\.kind) == [.invalidFile], "\(findings.map(\.message))")
    }

    @Test("a revision the base deleted while HEAD builds on it breaks the merged result")
    func mergedGraphInvalid() throws {
        var head = Self.released
        let (path, blob) = Self.file("c", parent: "b")
        head[path] = blob
        let base = Self.files(Self.file("a", parent: nil))
        let finding = try #require(
            PullRequestCheck(Self.input(head: head, base: base, mergeBase: Self.released)).findings(history: [:]).first)
        #expect(finding.kind == .invalidMergedGraph)
        #expect(
            finding.message.contains("migrations/c.sql:1: parent `b` does not exist (after merging origin/main)"),
            "\(finding.message)")
    }

    @Test("--env: applied revisions whose file was edited, renamed or deleted since")
    func ledgers() throws {
        let appliedB = try #require(Self.released["migrations/b.sql"])
        let appliedC = Self.file("c", parent: "b").1
        var head = Self.released
        head["migrations/b.sql"] = Self.file("b", parent: "a", up: "SELECT 2;").1
        head["migrations/c2.sql"] = Self.raw("c2", Self.text("c", parent: "b")).1
        let applied = String(repeating: "cd", count: 20)
        let ledger = [
            LedgerEntry(revision: "a", checksum: Self.released["migrations/a.sql"]!.checksum!, gitCommit: applied),
            LedgerEntry(revision: "b", checksum: appliedB.checksum!, gitCommit: applied),
            LedgerEntry(revision: "c", checksum: appliedC.checksum!, gitCommit: applied),
            LedgerEntry(revision: "gone", checksum: "0", gitCommit: nil),
        ]
        let check = PullRequestCheck(
            Self.input(head: head, base: head, mergeBase: head, ledgers: [("production", ledger)]))
        let edited = HistoryQuery.touching(path: "migrations/b.sql", since: applied)
        #expect(check.historyQueries.contains(edited))
        let findings = check.findings(history: [edited: [Self.commit("6", "Tweak b")]]).filter { $0.environment != nil }
        #expect(findings.map(\.kind) == [.editedAfterApply, .renamedAfterApply, .deletedAfterApply])
        #expect(findings.allSatisfy { $0.environment == "production" })
        #expect(findings[0].message.contains("`production` applied revision b from commit cdcdcdc"))
        #expect(findings[0].message.contains("changed by 6666666 \"Tweak b\""))
        #expect(findings[0].fix.contains("`orchestrate repair production b --reason TEXT`"))
        #expect(findings[0].fix.contains("`git checkout cdcdcdc -- migrations/b.sql`"))
        #expect(findings[1].file == "migrations/c2.sql")
        #expect(findings[1].fix.contains("`git mv migrations/c2.sql migrations/c.sql`"))
        #expect(findings[2].message.contains("HEAD has no migrations/gone.sql"))
    }

    @Test("the parent header line is found after comments, and not past the up marker")
    func headerLine() {
        #expect(
            MigrationBlob.headerLine(ofKey: "parent", in: Array("-- note\r\n\r\n  -- parent: a\n-- migrate:up\n".utf8))
                == 3)
        #expect(MigrationBlob.headerLine(ofKey: "parent", in: Array("\u{FEFF}-- parent: a\n".utf8)) == 1)
        #expect(MigrationBlob.headerLine(ofKey: "parent", in: Array("-- migrate:up\n-- parent: a\n".utf8)) == nil)
        let cases: [(String, Int?)] = [
            ("\t--\tparent:a\n-- migrate:up\n", 1),
            ("--parent: a", 1),
            ("-- parent : a\n-- migrate:up\n", nil),
            ("-- Parent: a\n-- migrate:up\n", nil),
            ("-- parents: a\n-- parent: b\n", 2),
            ("\r-- parent: a\n", nil),
            ("-- x\r\n-- y\r-- parent: a\r\n-- parent: b\r\n", 3),
            ("-- migrate:upx\n-- parent: a\n", nil),
            ("  --   migrate:up\n-- parent: a\n", nil),
            ("SELECT 1;\n\n-- parent: a\n", 3),
            ("", nil),
            ("\u{FEFF}", nil),
            ("-- é\n-- parent: é\n", 2),
        ]
        for (text, line) in cases {
            #expect(MigrationBlob.headerLine(ofKey: "parent", in: Array(text.utf8)) == line, "\(text.debugDescription)")
        }
        #expect(
            MigrationBlob.headerLine(ofKey: "transaction", in: Array("-- parent: a\n-- transaction: false\n".utf8)) == 2
        )
    }
}
