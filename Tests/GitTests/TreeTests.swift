import Foundation
import Git
import Testing

@Suite struct TreeTests {
    /// A migration long enough for rename detection to judge similarity.
    private static let longMigration = (1...30).map { "-- line \($0) of a long migration\n" }.joined()

    @Test func listsFilesAndReadsTheirBytes() throws {
        let fixture = try GitFixture()
        try fixture.write("migrations/a.sql", "A\r\n")
        try fixture.write("migrations/b.sql", "\u{FEFF}B\n")
        try fixture.write("migrations/nested/ignored.sql", "nested\n")
        try fixture.write("README.md", "readme\n")
        let commit = try fixture.commit("first")
        let repository = try Repository.discover(from: fixture.repo)

        let files = try repository.files(in: commit, directory: "migrations")

        #expect(files.map(\.path) == ["migrations/a.sql", "migrations/b.sql"])
        #expect(try repository.blobContents(files[0].blob) == Array("A\r\n".utf8))
        #expect(try repository.blobContents(files[1].blob) == Array("\u{FEFF}B\n".utf8))
        #expect(try repository.files(in: commit, directory: "migrations/") == files)
        #expect(try repository.files(in: commit, directory: "nowhere") == [])
        #expect(try repository.files(in: commit, directory: "README.md") == [])
        #expect(try repository.files(in: commit, directory: "").map(\.path) == ["README.md"])
        #expect(
            try repository.files(in: commit, directory: "migrations/nested").map(\.path) == [
                "migrations/nested/ignored.sql"
            ])
    }

    @Test func diffReportsModifiedAddedDeletedAndRenamedFiles() throws {
        let fixture = try GitFixture()
        try fixture.write("migrations/a.sql", "A\n")
        try fixture.write("migrations/b.sql", "B\n")
        try fixture.write("migrations/c.sql", Self.longMigration)
        try fixture.write("README.md", "readme\n")
        let before = try fixture.commit("first")
        try fixture.write("migrations/a.sql", "A edited\n")
        try fixture.write("migrations/d.sql", "D\n")
        try fixture.git("rm", "-q", "migrations/b.sql")
        try fixture.git("mv", "migrations/c.sql", "migrations/e.sql")
        try fixture.write("migrations/e.sql", Self.longMigration + "-- one more line\n")
        try fixture.write("README.md", "readme edited\n")
        let after = try fixture.commit("second")
        let repository = try Repository.discover(from: fixture.repo)
        let blobs = try blobsByPath(repository, before)
        let newBlobs = try blobsByPath(repository, after)

        let changes = try repository.diff(from: before, to: after, directory: "migrations", detectRenames: true)

        #expect(
            Set(changes) == [
                FileChange(
                    kind: .modified, oldPath: "migrations/a.sql", newPath: "migrations/a.sql",
                    oldBlob: blobs["migrations/a.sql"], newBlob: newBlobs["migrations/a.sql"]),
                FileChange(
                    kind: .deleted, oldPath: "migrations/b.sql", newPath: nil,
                    oldBlob: blobs["migrations/b.sql"], newBlob: nil),
                FileChange(
                    kind: .renamed, oldPath: "migrations/c.sql", newPath: "migrations/e.sql",
                    oldBlob: blobs["migrations/c.sql"], newBlob: newBlobs["migrations/e.sql"]),
                FileChange(
                    kind: .added, oldPath: nil, newPath: "migrations/d.sql",
                    oldBlob: nil, newBlob: newBlobs["migrations/d.sql"]),
            ])
        #expect(changes.count == 4)

        let withoutRenames = try repository.diff(from: before, to: after, directory: "migrations", detectRenames: false)
        #expect(withoutRenames.filter { $0.kind == .renamed }.isEmpty)
        #expect(withoutRenames.contains { $0.kind == .deleted && $0.oldPath == "migrations/c.sql" })
        #expect(withoutRenames.contains { $0.kind == .added && $0.newPath == "migrations/e.sql" })
    }

    @Test func diffOfAnUnchangedFolderIsEmpty() throws {
        let fixture = try GitFixture()
        try fixture.write("migrations/a.sql", "A\n")
        let first = try fixture.commit("first")
        try fixture.write("README.md", "readme\n")
        let second = try fixture.commit("outside migrations")
        let repository = try Repository.discover(from: fixture.repo)

        #expect(try repository.diff(from: first, to: second, directory: "migrations", detectRenames: true) == [])
        #expect(try repository.diff(from: second, to: second, directory: "migrations", detectRenames: true) == [])
        #expect(try repository.diff(from: first, to: second, directory: "nowhere", detectRenames: true) == [])
        let fromNothing = try repository.diff(from: nil, to: first, directory: "migrations", detectRenames: true)
        #expect(fromNothing.map(\.kind) == [.added])
        #expect(fromNothing.map(\.newPath) == ["migrations/a.sql"])
    }

    @Test func aLineEndingOnlyChangeIsAModificationWithDifferentBlobs() throws {
        let fixture = try GitFixture()
        try fixture.write("migrations/a.sql", "A\nB\n")
        let first = try fixture.commit("LF")
        try fixture.write("migrations/a.sql", "A\r\nB\r\n")
        let second = try fixture.commit("CRLF")
        let repository = try Repository.discover(from: fixture.repo)

        let changes = try repository.diff(from: first, to: second, directory: "migrations", detectRenames: true)

        let change = try #require(changes.first)
        #expect(changes.count == 1)
        #expect(change.kind == .modified)
        #expect(try repository.blobContents(#require(change.oldBlob)) == Array("A\nB\n".utf8))
        #expect(try repository.blobContents(#require(change.newBlob)) == Array("A\r\nB\r\n".utf8))
    }

    private func blobsByPath(_ repository: Repository, _ commit: ObjectID) throws -> [String: ObjectID] {
        Dictionary(
            uniqueKeysWithValues: try repository.files(in: commit, directory: "migrations").map { ($0.path, $0.blob) })
    }
}
