import Foundation
import Migrations

/// The migration files of a project, parsed, with their validated revision graph.
public struct MigrationSet: Sendable {
    /// Parsed files by revision id.
    public var files: [String: MigrationFile]
    /// The graph over the files.
    public var graph: RevisionGraph

    /// Builds a set from parsed files, validating the graph; errors name the files involved and, when
    /// `parentLine` can tell, the line of the `-- parent:` header at fault.
    public init(files: [MigrationFile], parentLine: (MigrationFile) -> Int? = { _ in nil }) throws(OrchestrateError) {
        var byID: [String: MigrationFile] = [:]
        for file in files {
            if let existing = byID[file.revision] {
                throw .usage(
                    "duplicate revision `\(file.revision)`: \(existing.path) and \(file.path)",
                    hint: "rename one of the files")
            }
            byID[file.revision] = file
        }
        self.files = byID
        do {
            self.graph = try RevisionGraph(files.map { RevisionNode(id: $0.revision, parents: $0.parents) })
        } catch {
            throw MigrationSet.describe(error, files: byID, parentLine: parentLine)
        }
    }

    /// Reads every `*.sql` file directly in `directory`. A missing folder is an empty set.
    public static func load(directory: String, displayPrefix: String) throws(OrchestrateError) -> MigrationSet {
        let fileManager = FileManager.default
        guard fileManager.fileExists(atPath: directory) else { return try MigrationSet(files: []) }
        let names: [String]
        do {
            names = try fileManager.contentsOfDirectory(atPath: directory)
        } catch {
            throw .usage("\(displayPrefix): cannot be listed: \(error.localizedDescription)")
        }
        var files: [MigrationFile] = []
        files.reserveCapacity(names.count)
        let root = (directory as NSString).deletingLastPathComponent
        for name in names.sorted() where try isMigrationFileName(name, displayPrefix: displayPrefix) {
            let bytes = try ProjectFile.read(directory + "/" + name, display: displayPrefix + name, root: root)
            do {
                files.append(try MigrationFile.parse(path: displayPrefix + name, bytes: bytes))
            } catch {
                throw .usage(error.description)
            }
        }
        // Only a graph error asks for a line: the files at fault are read again then, not every file every time.
        return try MigrationSet(files: files) { file in
            guard
                let bytes = try? ProjectFile.read(
                    directory + "/" + file.revision + ".sql", display: file.path, root: root)
            else { return nil }
            return MigrationFile.headerLine(ofKey: "parent", in: bytes)?.number
        }
    }

    /// True for `*.sql`; throws for `*.SQL`, `*.Sql`…, which would otherwise be silently left out.
    static func isMigrationFileName(_ name: String, displayPrefix: String) throws(OrchestrateError) -> Bool {
        if name.hasSuffix(".sql") { return true }
        guard name.count > 4, name.suffix(4).lowercased() == ".sql" else { return false }
        throw .usage(
            "\(displayPrefix)\(name): a migration's extension must be `.sql` in lower case; this file would be ignored",
            hint: "rename it to \(displayPrefix)\(name.dropLast(4)).sql (git mv, so git sees the rename)")
    }

    /// A graph error with the files (and `-- parent:` lines) that explain it, in its one wording.
    static func describe(
        _ error: GraphError, files: [String: MigrationFile],
        parentLine: (MigrationFile) -> Int? = { _ in nil }
    ) -> OrchestrateError {
        let (message, fix) = error.explanation { id in
            guard let file = files[id] else { return (path: "migrations/\(id).sql", line: nil) }
            return (path: file.path, line: parentLine(file))
        }
        return .usage(message, hint: fix)
    }
}
