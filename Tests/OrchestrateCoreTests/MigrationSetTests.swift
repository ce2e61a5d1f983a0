import Foundation
import Migrations
import Testing

@testable import OrchestrateCore

@Suite("migration set")
struct MigrationSetTests {
    func file(_ path: String, _ text: String) throws -> MigrationFile {
        try MigrationFile.parse(path: path, bytes: Array(text.utf8))
    }

    @Test("duplicate revision ids name both files")
    func duplicates() throws {
        let a = try file("migrations/001_a.sql", "-- migrate:up\nSELECT 1;\n")
        let b = try file("imported/001_a.sql", "-- migrate:up\nSELECT 2;\n")
        do {
            _ = try MigrationSet(files: [a, b])
            Issue.record("expected an error")
        } catch {
            #expect(error.category == .usage)
            #expect(error.message.contains("duplicate revision `001_a`"))
            #expect(error.message.contains("migrations/001_a.sql") && error.message.contains("imported/001_a.sql"))
        }
    }

    @Test("graph errors name the files and the fix")
    func graphErrors() throws {
        let root = try file("migrations/001.sql", "-- migrate:up\nSELECT 1;\n")
        let orphan = try file("migrations/002.sql", "-- parent: 000\n-- migrate:up\nSELECT 1;\n")
        do {
            _ = try MigrationSet(files: [root, orphan])
            Issue.record("expected an error")
        } catch {
            #expect(error.message == "migrations/002.sql: parent `000` does not exist")
            #expect(error.hint?.contains("-- parent:") == true)
        }
        // Several roots are valid (Alembic's several bases).
        let second = try file("migrations/003.sql", "-- migrate:up\nSELECT 1;\n")
        let merge = try file("migrations/004.sql", "-- parent: 001, 003\n-- migrate:up\n")
        let set = try MigrationSet(files: [root, second, merge])
        #expect(set.graph.roots == ["001", "003"])
        #expect(set.graph.heads == ["004"])
    }

    @Test("loading a folder: non-.sql files are ignored, a missing folder is empty, parse errors keep file:line")
    func loading() throws {
        let directory = NSTemporaryDirectory() + "orch-migrations-" + UUID().uuidString.prefix(6)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try MigrationSet.load(directory: directory + "/nope", displayPrefix: "migrations/").files.isEmpty)
        try "-- migrate:up\nSELECT 1;\n".write(toFile: directory + "/001.sql", atomically: true, encoding: .utf8)
        try "notes".write(toFile: directory + "/README.md", atomically: true, encoding: .utf8)
        let set = try MigrationSet.load(directory: directory, displayPrefix: "migrations/")
        #expect(set.files.keys.sorted() == ["001"])
        try "-- parent: 001\n-- migrate:up\nSELECT 1;\n-- migrate:down\n-- migrate:down\n".write(
            toFile: directory + "/002.sql", atomically: true, encoding: .utf8)
        do {
            _ = try MigrationSet.load(directory: directory, displayPrefix: "migrations/")
            Issue.record("expected an error")
        } catch {
            #expect(error.message.hasPrefix("migrations/002.sql:5:"))
        }
    }
}
