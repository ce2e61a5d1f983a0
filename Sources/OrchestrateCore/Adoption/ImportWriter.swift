import Foundation
import Migrations

/// Writes an `ImportPlan` as `migrations/<id>.sql` files: every file is rendered, parsed back and the whole set checked
/// as a graph before anything is written, and nothing is written when any file is already there.
public enum ImportWriter {
    /// The text of `revision`'s file: its message as the leading comment, its other comments, then the header and
    /// sections as `MigrationFile.render` writes them.
    public static func text(of revision: ImportedRevision) -> String {
        var text = ""
        if let message = messageLine(revision.message) { text += "-- \(message)\n" }
        for comment in revision.comments { text += "-- \(comment)\n" }
        return text
            + MigrationFile.render(
                parents: revision.parents, transactional: revision.transactional,
                up: revision.up, down: revision.down)
    }

    /// The message as one comment line that no parser reads as a header key or a marker: its first line, prefixed
    /// with `Message: ` when it holds a colon (which `history` drops again); nil when it is empty.
    static func messageLine(_ message: String?) -> String? {
        guard let line = message?.split(whereSeparator: \.isNewline).first?.trimmingCharacters(in: .whitespaces),
            !line.isEmpty
        else { return nil }
        let clean = String(line.unicodeScalars.filter { $0.properties.generalCategory != .control })
        return clean.contains(":") ? "Message: " + clean : clean
    }

    /// Checks `plan` and returns each file's project-relative path and text; throws, naming the revision and its
    /// source, when a file would not parse or the set is not a valid graph.
    public static func files(for plan: ImportPlan) throws(OrchestrateError) -> [(path: String, text: String)] {
        var files: [(path: String, text: String)] = []
        var nodes: [RevisionNode] = []
        for revision in plan.revisions {
            let path = "migrations/\(revision.id).sql"
            let text = text(of: revision)
            do {
                let parsed = try MigrationFile.parse(path: path, bytes: Array(text.utf8))
                nodes.append(RevisionNode(id: parsed.revision, parents: parsed.parents))
            } catch {
                throw .usage(
                    "import: \(revision.source) converts to a file that does not parse: \(error); nothing was written",
                    hint:
                        "fix the line in \(revision.source) (a comment such as `-- migrate:...` reads as a marker), or import the others and write this one by hand"
                )
            }
            files.append((path, text))
        }
        do {
            _ = try RevisionGraph(nodes)
        } catch {
            let explanation = error.explanation()
            throw .usage(
                "import: the revisions read from \(plan.tool.rawValue) do not form a valid graph: \(explanation.message); nothing was written",
                hint: explanation.fix)
        }
        return files
    }

    /// Writes `plan` under `root` (the project folder) and returns the report; `source` is the file or folder read.
    ///
    /// Refuses, writing nothing, when any of the files exists: the error names them all.
    public static func write(_ plan: ImportPlan, root: String, source: String) throws(OrchestrateError) -> ImportReport
    {
        guard !plan.revisions.isEmpty else {
            throw .usage(
                "import: no \(plan.tool.rawValue) migration found in \(source); nothing was written",
                hint: plan.skipped.isEmpty
                    ? "pass the folder (or, for alembic, the alembic.ini) that holds them"
                    : "not imported: " + plan.skipped.map { "\($0.source) (\($0.reason))" }.joined(separator: "; "))
        }
        let files = try files(for: plan)
        let fileManager = FileManager.default
        let existing = files.map(\.path).filter { fileManager.fileExists(atPath: root + "/" + $0) }
        if !existing.isEmpty {
            throw .usage(
                "import: \(existing.joined(separator: ", ")) already exist\(existing.count == 1 ? "s" : ""); import never overwrites a file, so nothing was written",
                hint: "move those files away (or import into a project whose migrations/ does not have them)")
        }
        var written: [String] = []
        do {
            try fileManager.createDirectory(atPath: root + "/migrations", withIntermediateDirectories: true)
            for file in files {
                try Data(file.text.utf8).write(
                    to: URL(fileURLWithPath: root + "/" + file.path), options: .withoutOverwriting)
                written.append(file.path)
            }
        } catch {
            throw .operation(
                "import: cannot write in \(root)/migrations: \(error.localizedDescription)",
                hint: written.isEmpty
                    ? nil
                    : "it wrote \(written.joined(separator: ", ")) before failing; remove them and run import again")
        }
        let graph = try? RevisionGraph(plan.revisions.map { RevisionNode(id: $0.id, parents: $0.parents) })
        return ImportReport(
            tool: plan.tool.rawValue, source: source,
            imported: plan.revisions.map {
                ImportReport.Imported(
                    revision: $0.id, file: "migrations/\($0.id).sql", source: $0.source, parents: $0.parents,
                    transactional: $0.transactional, reversible: $0.down != nil,
                    conversions: $0.conversions, toFillIn: $0.toFillIn)
            },
            notImported: plan.skipped, heads: graph?.heads ?? [])
    }
}
