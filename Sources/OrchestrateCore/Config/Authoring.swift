import Foundation
import Migrations

/// Writing migration files: `new` (and, with the git issue, `merge` and `rebase`).
public enum Authoring {
    /// Writes `migrations/<YYYYMMDDHHMMSS_slug>.sql` on top of the single head; returns its project-relative path.
    public static func newRevision(in project: Project, message: String, transactional: Bool = true,
                                   date: Date = Date()) throws(OrchestrateError) -> String {
        let migrations = try project.loadMigrations()
        let heads = migrations.graph.heads
        guard heads.count <= 1 else {
            throw .usage("migrations/ has \(heads.count) heads (\(heads.joined(separator: ", "))): a new revision needs a single parent",
                         hint: "`orchestrate merge` joins them first")
        }
        var id = RevisionID.make(date: date, message: message)
        var bump = 1
        while migrations.files[id] != nil || FileManager.default.fileExists(atPath: project.migrationsDirectory + "/\(id).sql") {
            id = RevisionID.make(date: date.addingTimeInterval(Double(bump)), message: message)
            bump += 1
        }
        let text = MigrationFile.render(parents: heads, transactional: transactional,
                                        up: "-- \(message)\n", down: "\n")
        return try write(text, revision: id, project: project)
    }

    /// Writes a file into `migrations/`, refusing to overwrite.
    static func write(_ text: String, revision: String, project: Project) throws(OrchestrateError) -> String {
        let fileManager = FileManager.default
        do {
            try fileManager.createDirectory(atPath: project.migrationsDirectory, withIntermediateDirectories: true)
        } catch {
            throw .operation("cannot create migrations/: \(error.localizedDescription)")
        }
        let path = project.migrationsDirectory + "/\(revision).sql"
        guard !fileManager.fileExists(atPath: path) else {
            throw .usage("migrations/\(revision).sql already exists")
        }
        guard fileManager.createFile(atPath: path, contents: Data(text.utf8)) else {
            throw .operation("cannot write migrations/\(revision).sql")
        }
        return "migrations/\(revision).sql"
    }
}
