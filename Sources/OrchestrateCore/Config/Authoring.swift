import Foundation
import Migrations

/// Writing migration files: `new`, `merge` and `rebase` (see `Authoring+Rebase.swift`).
public enum Authoring {
    /// Writes `migrations/<YYYYMMDDHHMMSS_slug>.sql` on top of the single head; returns its project-relative path.
    public static func newRevision(
        in project: Project, message: String, transactional: Bool = true,
        date: Date = Date()
    ) throws(OrchestrateError) -> String {
        let migrations = try project.loadMigrations()
        let heads = try singleHead(migrations)
        let id = freshID(date: date, message: message, migrations: migrations, project: project)
        let text = MigrationFile.render(
            parents: heads, transactional: transactional,
            up: comment(message), down: "\n")
        return try write(text, revision: id, project: project)
    }

    /// The head a new revision goes on (none for the first revision); refuses several heads.
    static func singleHead(_ migrations: MigrationSet) throws(OrchestrateError) -> [String] {
        let heads = migrations.graph.heads
        guard heads.count <= 1 else {
            throw .usage(
                "migrations/ has \(heads.count) heads (\(heads.joined(separator: ", "))): a new revision needs a single parent",
                hint: "`orchestrate merge` joins them first")
        }
        return heads
    }

    /// `message` as inert SQL comment lines, one per line of the message, each ending in `\n`.
    ///
    /// A line break of any kind (LF, CR, U+2028…) starts a new comment line, other control characters (NUL, form
    /// feed, escape…) become spaces, and a line that would read as a marker (`migrate:down`, `Migrate: up`) is
    /// written after `Message: `, so that no part of a message can become SQL, a marker or a NUL byte.
    static func comment(_ message: String) -> String {
        var lines = message.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map { line in
            String(
                String.UnicodeScalarView(
                    line.unicodeScalars.map { scalar in
                        scalar.properties.generalCategory == .control && scalar != "\t" ? " " : scalar
                    })
            ).trimmingWhitespace()
        }
        while lines.first?.isEmpty == true { lines.removeFirst() }
        while lines.last?.isEmpty == true { lines.removeLast() }
        return lines.map { line in
            if line.isEmpty { return "--\n" }
            let letters = line.unicodeScalars.prefix(7).map { Character($0).lowercased() }.joined()
            return letters == "migrate" ? "-- Message: \(line)\n" : "-- \(line)\n"
        }.joined()
    }

    /// Writes a merge revision whose parents are the current heads (two or more); returns its project-relative path
    /// and its parents.
    ///
    /// The merge has no SQL of its own (a comment in the up section says where to put reconciling SQL if the two
    /// lines of history need it) and an empty down section, so it applies and reverts as a no-op.
    public static func mergeRevision(
        in project: Project, message: String? = nil,
        date: Date = Date()
    ) throws(OrchestrateError) -> (path: String, parents: [String]) {
        let migrations = try project.loadMigrations()
        let heads = migrations.graph.heads
        guard heads.count > 1 else {
            if let head = heads.first {
                throw .usage(
                    "migrations/ has a single head (\(head)): there is nothing to merge",
                    hint: "`orchestrate new MESSAGE` writes the next revision on top of it")
            }
            throw .usage("migrations/ has no revision: there is nothing to merge")
        }
        let text = message?.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty == false ? message! : "merge heads"
        let id = freshID(date: date, message: text, migrations: migrations, project: project)
        let body = MigrationFile.render(
            parents: heads, transactional: true,
            up:
                "-- Merges \(heads.joined(separator: " and ")). Add SQL here only if these lines of history need reconciling.\n",
            down: "")
        return (try write(body, revision: id, project: project), heads)
    }

    /// A `YYYYMMDDHHMMSS_slug` id that no file uses, moving the timestamp on by a second while it is taken.
    static func freshID(date: Date, message: String, migrations: MigrationSet, project: Project) -> String {
        var id = RevisionID.make(date: date, message: message)
        var bump = 1
        while migrations.files[id] != nil
            || FileManager.default.fileExists(atPath: project.migrationsDirectory + "/\(id).sql")
        {
            id = RevisionID.make(date: date.addingTimeInterval(Double(bump)), message: message)
            bump += 1
        }
        return id
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
