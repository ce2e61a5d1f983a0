import Foundation
import Git
import TestSupport
import Testing

/// main: c1 (adds a.sql) ← c2 (edits a.sql) ← m1 (adds z.sql) ← merge
/// feature from c2: f1 (edits a.sql) ← f2 (README only) ← f3 (edits a.sql, adds b.sql)
/// `merge` merges feature into main with --no-ff.
private struct BranchedHistory {
    let fixture: GitFixture
    let c1, c2, f1, f2, f3, m1, merge: ObjectID

    init() throws {
        fixture = try GitFixture()
        try fixture.write("migrations/a.sql", "a1\n")
        c1 = try fixture.commit("Add a")
        try fixture.write("migrations/a.sql", "a2\n")
        c2 = try fixture.commit("Edit a before branching")
        try fixture.git("checkout", "-q", "-b", "feature")
        try fixture.write("migrations/a.sql", "a3\n")
        f1 = try fixture.commit("Edit a on feature")
        try fixture.write("README.md", "readme\n")
        f2 = try fixture.commit("Document")
        try fixture.write("migrations/a.sql", "a4\n")
        try fixture.write("migrations/b.sql", "b\n")
        f3 = try fixture.commit("Edit a again, add b")
        try fixture.git("checkout", "-q", "main")
        try fixture.write("migrations/z.sql", "z\n")
        m1 = try fixture.commit("Add z on main")
        try fixture.git("merge", "-q", "--no-ff", "-m", "Merge feature", "feature")
        merge = try fixture.revParse("HEAD")
    }
}

@Suite struct HistoryTests {
    @Test func commitsTouchingAFileSinceTheMergeBaseOnly() throws {
        let history = try BranchedHistory()
        let repository = try Repository.discover(from: history.fixture.repo)
        let base = try #require(try repository.mergeBase(history.f3, history.m1))
        #expect(base == history.c2)

        let touching = try repository.commitsTouching(path: "migrations/a.sql", from: history.f3, hiding: base)

        #expect(touching.map(\.id) == [history.f3, history.f1])
        #expect(touching.map(\.summary) == ["Edit a again, add b", "Edit a on feature"])
        #expect(touching.first?.authorName == "Ada Author")
        #expect(
            try repository.commitsTouching(path: "migrations/a.sql", from: history.f3, hiding: base, limit: 1).map(\.id)
                == [history.f3])
        #expect(
            try repository.commitsTouching(path: "migrations", from: history.f3, hiding: base).map(\.id) == [
                history.f3, history.f1,
            ])
        #expect(
            try repository.commitsTouching(path: "README.md", from: history.f3, hiding: base).map(\.id) == [history.f2])
        #expect(try repository.commitsTouching(path: "migrations/nope.sql", from: history.f3, hiding: base) == [])
        #expect(
            try repository.commitsTouching(path: "migrations/a.sql", from: history.f3, hiding: base, limit: 0) == [])
        #expect(try repository.commitsTouching(path: "migrations/a.sql", from: base, hiding: history.f3) == [])
        let unknown = try #require(ObjectID(hex: String(repeating: "12", count: 20)))
        let error = try #require(throws: GitError.self) {
            try repository.commitsTouching(path: "migrations", from: history.f3, hiding: unknown)
        }
        #expect(error.code == .notFound)
        #expect(error.message.contains(unknown.hex))
    }

    @Test func commitsTouchingAcrossAllHistory() throws {
        let history = try BranchedHistory()
        let repository = try Repository.discover(from: history.fixture.repo)

        let touching = try repository.commitsTouching(path: "migrations/a.sql", from: history.f3, hiding: nil)

        #expect(touching.map(\.id) == [history.f3, history.f1, history.c2, history.c1])
    }

    @Test func aMergeCountsOnlyWhenItDiffersFromEveryParent() throws {
        let history = try BranchedHistory()
        let repository = try Repository.discover(from: history.fixture.repo)

        // The merge takes a.sql from feature unchanged: it is not listed, the feature commits are.
        let file = try repository.commitsTouching(path: "migrations/a.sql", from: history.merge, hiding: history.c2)
        #expect(file.map(\.id) == [history.f3, history.f1])
        // The folder after the merge combines both sides, so it differs from each parent.
        let folder = try repository.commitsTouching(path: "migrations", from: history.merge, hiding: history.c2)
        #expect(Set(folder.map(\.id)) == [history.merge, history.m1, history.f3, history.f1])
        #expect(folder.first?.id == history.merge)
    }

    @Test func aMergeThatResolvesAConflictIsListed() throws {
        let fixture = try GitFixture()
        try fixture.write("migrations/a.sql", "a\n")
        let base = try fixture.commit("Add a")
        try fixture.git("checkout", "-q", "-b", "side")
        try fixture.write("migrations/a.sql", "side\n")
        let side = try fixture.commit("Edit a on side")
        try fixture.git("checkout", "-q", "main")
        try fixture.write("migrations/a.sql", "main\n")
        let main = try fixture.commit("Edit a on main")
        #expect(throws: TestSupportError.self) { try fixture.git("merge", "-q", "side") }
        try fixture.write("migrations/a.sql", "resolved\n")
        let merge = try fixture.commit("Merge side, resolving a")
        let repository = try Repository.discover(from: fixture.repo)

        let touching = try repository.commitsTouching(path: "migrations/a.sql", from: merge, hiding: base)

        #expect(touching.first?.id == merge)
        #expect(Set(touching.map(\.id)) == [merge, main, side])
        #expect(try repository.commit(merge).parents == [main, side])
    }

    @Test func commitAddingAFile() throws {
        let history = try BranchedHistory()
        let repository = try Repository.discover(from: history.fixture.repo)

        #expect(try repository.commitAdding(path: "migrations/a.sql", from: history.merge)?.id == history.c1)
        #expect(try repository.commitAdding(path: "migrations/b.sql", from: history.merge)?.id == history.f3)
        #expect(try repository.commitAdding(path: "migrations/z.sql", from: history.merge)?.id == history.m1)
        #expect(try repository.commitAdding(path: "migrations/b.sql", from: history.m1) == nil)
        #expect(try repository.commitAdding(path: "migrations/nope.sql", from: history.merge) == nil)
    }

    @Test func commitAddingAFileDeletedSince() throws {
        let history = try BranchedHistory()
        let fixture = history.fixture
        try fixture.git("rm", "-q", "migrations/z.sql")
        let removal = try fixture.commit("Remove z")
        let repository = try Repository.discover(from: fixture.repo)

        #expect(try repository.commitAdding(path: "migrations/z.sql", from: removal)?.id == history.m1)
    }
}
