import Foundation
import Git
import Testing

/// A source repository (main: c1 ← c2, feature: c2 ← c3, annotated tag v1 on c1), a bare clone of it
/// as "origin", and a work clone of origin in `work` with remote-tracking branches.
private struct ClonedRepositories {
    let fixture: GitFixture
    let work: String
    let c1: ObjectID
    let c2: ObjectID
    let c3: ObjectID

    init() throws {
        fixture = try GitFixture()
        try fixture.write("migrations/a.sql", "a\n")
        c1 = try fixture.commit("Create a")
        try fixture.git("tag", "-a", "v1", "-m", "version 1")
        try fixture.write("migrations/b.sql", "b\n")
        c2 = try fixture.commit("Create b")
        try fixture.git("checkout", "-q", "-b", "feature")
        try fixture.write("migrations/c.sql", "c\n")
        c3 = try fixture.commit("Create c")
        try fixture.git("checkout", "-q", "main")
        try fixture.git("clone", "-q", "--bare", fixture.repo, fixture.root + "/origin.git", in: fixture.root)
        work = fixture.root + "/work"
        try fixture.git("clone", "-q", fixture.root + "/origin.git", work, in: fixture.root)
    }
}

@Suite struct ReferenceTests {
    @Test func resolvesBranchesTagsIdsAndExpressions() throws {
        let setup = try ClonedRepositories()
        let repository = try Repository.discover(from: setup.work)

        #expect(try repository.resolve("main") == setup.c2)
        #expect(try repository.resolve("origin/main") == setup.c2)
        #expect(try repository.resolve("origin/feature") == setup.c3)
        #expect(try repository.resolve("v1") == setup.c1)
        #expect(try repository.resolve(setup.c3.short) == setup.c3)
        #expect(try repository.resolve(setup.c3.hex) == setup.c3)
        #expect(try repository.resolve("HEAD~1") == setup.c1)
        #expect(try repository.resolve("HEAD") == setup.c2)
    }

    @Test func anUnknownRevisionIsNamedInTheError() throws {
        let setup = try ClonedRepositories()
        let repository = try Repository.discover(from: setup.work)

        let error = try #require(throws: GitError.self) { try repository.resolve("no-such-branch") }

        #expect(error.code == .notFound)
        #expect(error.message.contains("'no-such-branch'"))
        #expect(error.message.contains(setup.work))
        #expect(throws: GitError.self) { try repository.resolve("HEAD~9") }
        #expect(throws: GitError.self) { try repository.resolve("main^{tree}") }
        #expect(throws: GitError.self) { try repository.resolve("") }
    }

    @Test func readsACommit() throws {
        let setup = try ClonedRepositories()
        let repository = try Repository.discover(from: setup.work)

        let commit = try repository.commit(setup.c2)

        #expect(commit.id == setup.c2)
        #expect(commit.summary == "Create b")
        #expect(commit.authorName == "Ada Author")
        #expect(commit.authorEmail == "ada@example.com")
        #expect(commit.parents == [setup.c1])
        #expect(commit.time.timeIntervalSince1970 > 1_700_000_000)
        let unknown = try #require(ObjectID(hex: String(repeating: "ab", count: 20)))
        let error = try #require(throws: GitError.self) { try repository.commit(unknown) }
        #expect(error.code == .notFound)
        #expect(error.message.contains(unknown.hex))
    }

    @Test func defaultBranchOfOrigin() throws {
        let setup = try ClonedRepositories()
        let clone = try Repository.discover(from: setup.work)
        #expect(try clone.defaultBranchOfOrigin() == "origin/main")

        try setup.fixture.git("checkout", "-q", "-b", "topic", in: setup.work)
        #expect(try clone.defaultBranchOfOrigin() == "origin/main")

        let source = try Repository.discover(from: setup.fixture.repo)
        #expect(try source.defaultBranchOfOrigin() == "origin/HEAD")  // no origin: the name itself
    }

    @Test func referenceExistence() throws {
        let setup = try ClonedRepositories()
        let repository = try Repository.discover(from: setup.work)

        #expect(repository.referenceExists("origin/HEAD"))
        #expect(repository.referenceExists("origin/main"))
        #expect(repository.referenceExists("main"))
        #expect(repository.referenceExists("refs/heads/main"))
        #expect(repository.referenceExists("v1"))
        #expect(!repository.referenceExists("origin/nope"))
        #expect(!repository.referenceExists("feature"))
        #expect(!repository.referenceExists(""))
    }

    @Test func reachabilityAndBranchesContainingACommit() throws {
        let setup = try ClonedRepositories()
        let repository = try Repository.discover(from: setup.work)
        let unknown = try #require(ObjectID(hex: String(repeating: "cd", count: 20)))

        #expect(try repository.isReachable(setup.c1, from: setup.c3))
        #expect(try repository.isReachable(setup.c2, from: setup.c2))
        #expect(try !repository.isReachable(setup.c3, from: setup.c2))
        #expect(try !repository.isReachable(unknown, from: setup.c3))
        #expect(repository.contains(setup.c3))
        #expect(!repository.contains(unknown))

        #expect(try repository.branchesContaining(setup.c3) == ["origin/feature"])
        try setup.fixture.git("branch", "-q", "feature", "origin/feature", in: setup.work)
        #expect(try repository.branchesContaining(setup.c3) == ["feature", "origin/feature"])
        #expect(try repository.branchesContaining(setup.c1) == ["feature", "main", "origin/feature", "origin/main"])
        #expect(try repository.branchesContaining(unknown) == [])
    }

    @Test func mergeBaseOfTwoBranches() throws {
        let setup = try ClonedRepositories()
        let fixture = setup.fixture
        try fixture.write("migrations/d.sql", "d\n")
        let c4 = try fixture.commit("Create d on main")
        let repository = try Repository.discover(from: fixture.repo)

        #expect(try repository.mergeBase(c4, setup.c3) == setup.c2)
        #expect(try repository.mergeBase(setup.c3, c4) == setup.c2)
        #expect(try repository.mergeBase(setup.c2, setup.c3) == setup.c2)

        try fixture.git("checkout", "-q", "--orphan", "unrelated")
        try fixture.write("other.txt", "x\n")
        let orphan = try fixture.commit("Unrelated root")
        #expect(try repository.mergeBase(orphan, c4) == nil)

        let unknown = try #require(ObjectID(hex: String(repeating: "ef", count: 20)))
        let error = try #require(throws: GitError.self) { try repository.mergeBase(unknown, c4) }
        #expect(error.code == .notFound)
        #expect(error.message.contains(unknown.hex))
    }
}
