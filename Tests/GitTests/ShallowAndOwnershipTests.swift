import Foundation
import Git
import Testing

@Suite struct ShallowAndOwnershipTests {
    /// A source repository whose main and feature branches fork at c2, and a depth-1 clone of it
    /// that also fetched feature at depth 1: the clone lacks their merge base.
    @Test func aShallowCloneWithoutTheMergeBaseSaysWhatToFetch() throws {
        let fixture = try GitFixture()
        try fixture.write("migrations/a.sql", "a\n")
        try fixture.commit("c1")
        try fixture.write("migrations/b.sql", "b\n")
        try fixture.commit("c2")
        try fixture.git("checkout", "-q", "-b", "feature")
        try fixture.write("migrations/c.sql", "c\n")
        try fixture.commit("on feature")
        try fixture.git("checkout", "-q", "main")
        try fixture.write("migrations/d.sql", "d\n")
        try fixture.commit("on main")
        let clone = fixture.root + "/shallow"
        try fixture.git("clone", "-q", "--depth", "1", "file://" + fixture.repo, clone, in: fixture.root)
        try fixture.git("fetch", "-q", "--depth", "1", "origin", "feature:refs/remotes/origin/feature", in: clone)
        let repository = try Repository.discover(from: clone)

        #expect(repository.isShallow)
        let head = try #require(try repository.head().commit)
        let feature = try repository.resolve("origin/feature")
        #expect(try repository.files(in: head, directory: "migrations").count == 3)

        let error = try #require(throws: GitError.self) { try repository.mergeBase(head, feature) }
        #expect(error.code == .shallowHistory)
        #expect(error.message.contains("git fetch --unshallow"))
        #expect(error.message.contains("fetch-depth: 0"))
        #expect(error.message.contains(clone))

        let walk = try #require(throws: GitError.self) {
            try repository.commitsTouching(path: "migrations", from: head, hiding: nil)
        }
        #expect(walk.code == .shallowHistory)
        let adding = try #require(throws: GitError.self) {
            try repository.commitAdding(path: "migrations/a.sql", from: head)
        }
        #expect(adding.code == .shallowHistory)
        let missing = try #require(throws: GitError.self) { try repository.resolve("origin/nope") }
        #expect(missing.code == .notFound)
        #expect(missing.message.contains("fetch-depth: 0"))
    }

    @Test func aShallowCloneDeepEnoughFindsTheMergeBase() throws {
        let fixture = try GitFixture()
        for index in 1...4 {
            try fixture.write("migrations/\(index).sql", "\(index)\n")
            try fixture.commit("c\(index)")
        }
        let base = try fixture.revParse("HEAD")
        try fixture.git("checkout", "-q", "-b", "feature")
        try fixture.write("migrations/f.sql", "f\n")
        try fixture.commit("on feature")
        try fixture.git("checkout", "-q", "main")
        try fixture.write("migrations/m.sql", "m\n")
        try fixture.commit("on main")
        let clone = fixture.root + "/shallow"
        try fixture.git(
            "clone", "-q", "--depth", "3", "--no-single-branch", "file://" + fixture.repo, clone, in: fixture.root)
        let repository = try Repository.discover(from: clone)
        let head = try repository.resolve("HEAD")
        let feature = try repository.resolve("origin/feature")

        #expect(repository.isShallow)
        #expect(try repository.mergeBase(head, feature) == base)
        let touching = try repository.commitsTouching(path: "migrations", from: feature, hiding: base)
        #expect(touching.map(\.summary) == ["on feature"])
        #expect(try repository.commitAdding(path: "migrations/f.sql", from: feature)?.summary == "on feature")
    }

    @Test(.enabled(if: geteuid() == 0, "giving a repository to another user (chown) needs root"))
    func aRepositoryOwnedByAnotherUserIsRefusedWithTheFix() throws {
        let fixture = try GitFixture()
        try fixture.write("migrations/a.sql", "a\n")
        try fixture.commit("first")
        try fixture.runProgram("/bin/chown", ["-R", "nobody", fixture.repo])

        let error = try #require(throws: GitError.self) { try Repository.discover(from: fixture.repo + "/migrations") }

        #expect(error.code == .unsafeOwnership)
        #expect(
            error.message == "the repository at \(fixture.repo) is owned by another user; "
                + "run `git config --global --add safe.directory \(fixture.repo)`")
    }
}
