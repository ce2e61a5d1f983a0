import Foundation
import Git
import Testing

@Suite struct StatusTests {
    @Test func aCleanWorkTreeHasNoEntries() throws {
        let fixture = try GitFixture()
        try fixture.write("migrations/a.sql", "a\n")
        try fixture.write("environments/dev.toml", "x = 1\n")
        try fixture.commit("first")
        let repository = try Repository.discover(from: fixture.repo)

        #expect(try repository.status(under: ["migrations", "environments"]) == [])
        #expect(try repository.status(under: [""]) == [])
        #expect(try repository.status(under: []) == [])
    }

    @Test func reportsModifiedStagedAndUntrackedFilesUnderTheFolders() throws {
        let fixture = try GitFixture()
        try fixture.write("migrations/a.sql", "a\n")
        try fixture.write("migrations/c.sql", "c\n")
        try fixture.write("README.md", "readme\n")
        try fixture.write(".gitignore", "*.log\n")
        try fixture.commit("first")
        try fixture.write("migrations/a.sql", "a edited\n")  // unstaged
        try fixture.write("migrations/b.sql", "b\n")  // staged
        try fixture.git("add", "migrations/b.sql")
        try fixture.write("migrations/c.sql", "c staged\n")  // staged, then edited again
        try fixture.git("add", "migrations/c.sql")
        try fixture.write("migrations/c.sql", "c edited again\n")
        try fixture.write("migrations/new/d.sql", "d\n")  // untracked, in a new folder
        try fixture.write("migrations/debug.log", "ignored\n")  // ignored
        try fixture.write("environments/dev.toml", "x = 1\n")  // untracked
        try fixture.write("migrations-old/e.sql", "outside\n")  // a sibling folder with the same prefix
        try fixture.write("README.md", "readme edited\n")  // outside
        let repository = try Repository.discover(from: fixture.repo)

        let entries = try repository.status(under: ["migrations", "environments/"])

        #expect(
            entries == [
                StatusEntry(path: "environments/dev.toml", staged: false, unstaged: false, untracked: true),
                StatusEntry(path: "migrations/a.sql", staged: false, unstaged: true, untracked: false),
                StatusEntry(path: "migrations/b.sql", staged: true, unstaged: false, untracked: false),
                StatusEntry(path: "migrations/c.sql", staged: true, unstaged: true, untracked: false),
                StatusEntry(path: "migrations/new/d.sql", staged: false, unstaged: false, untracked: true),
            ])
        #expect(try repository.status(under: ["environments"]).map(\.path) == ["environments/dev.toml"])
    }

    @Test func reportsADeletedFile() throws {
        let fixture = try GitFixture()
        try fixture.write("migrations/a.sql", "a\n")
        try fixture.commit("first")
        try FileManager.default.removeItem(atPath: fixture.repo + "/migrations/a.sql")
        let repository = try Repository.discover(from: fixture.repo)

        #expect(
            try repository.status(under: ["migrations"]) == [
                StatusEntry(path: "migrations/a.sql", staged: false, unstaged: true, untracked: false)
            ])
    }
}
