import Foundation

/// `orchestrate init`: a new project's folders and files, never overwriting anything.
public enum Scaffold {
    /// What `init` wrote, project-relative, in the order written; and the `.gitignore` lines it added.
    public struct Result: Sendable, Codable {
        public var root: String
        public var written: [String]
        public var gitignoreAdded: [String]
    }

    /// The files `init` writes, with their text.
    static let files: [(path: String, text: String)] = [
        (
            "environments/dev.toml",
            """
            # The first stage: `orchestrate upgrade dev` applies migrations/ here.
            # sandbox:dev is a database on the project's own throwaway PostgreSQL (started on first use, under
            # .orchestrate/); set DEV_DATABASE_URL in .env to use a database of your own.
            database_url = "${DEV_DATABASE_URL:-sandbox:dev}"

            """
        ),
        (
            "environments/staging.toml",
            """
            # `orchestrate promote staging` applies here exactly what dev runs.
            database_url = "${STAGING_DATABASE_URL:-sandbox:staging}"
            promotes_from = "dev"

            """
        ),
        (
            "environments/production.toml",
            """
            # `orchestrate promote production --yes` applies here exactly what staging runs.
            # No default: production is never the sandbox. Set PRODUCTION_DATABASE_URL (in CI's secrets, or .env).
            database_url = "${PRODUCTION_DATABASE_URL}"
            promotes_from = "staging"
            protected = true
            # branch = "main"   # only revisions added on this branch may be promoted here

            """
        ),
        ("migrations/.gitkeep", ""),
        (
            ".env.example",
            """
            # Copy to .env (which git ignores) and fill in. Any libpq URI or key=value string works as it is, e.g.
            # postgresql://user:password@host/db?sslmode=require&channel_binding=require
            # SQLAlchemy's postgresql+asyncpg:// and postgresql+psycopg2:// are accepted too (the +driver is dropped).
            # DEV_DATABASE_URL=
            # STAGING_DATABASE_URL=
            PRODUCTION_DATABASE_URL=

            """
        ),
    ]

    /// The lines `init` makes sure `.gitignore` has.
    static let ignored = [".orchestrate/", ".env"]

    /// Writes a new project at `root`. Refuses, writing nothing, when any file it would write exists.
    public static func initialize(at root: String) throws(OrchestrateError) -> Result {
        let fileManager = FileManager.default
        let existing = files.map(\.path).filter { fileManager.fileExists(atPath: root + "/" + $0) }
        if !existing.isEmpty {
            throw .usage(
                "\(root) already has \(existing.joined(separator: ", ")); init never overwrites a file, so nothing was written",
                hint: "run init in a new folder, or move those files away first")
        }
        var written: [String] = []
        do {
            for (path, text) in files {
                let url = URL(fileURLWithPath: root + "/" + path)
                try fileManager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(text.utf8).write(to: url, options: .withoutOverwriting)
                written.append(path)
            }
        } catch {
            throw .operation(
                "init: cannot write in \(root): \(error.localizedDescription)",
                hint: written.isEmpty ? nil : "it wrote \(written.joined(separator: ", ")) before failing")
        }
        let gitignore = root + "/.gitignore"
        let current = (try? String(contentsOfFile: gitignore, encoding: .utf8)) ?? ""
        let lines = Set(current.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) })
        let missing = ignored.filter { !lines.contains($0) && !lines.contains("/" + $0) }
        if !missing.isEmpty {
            let text =
                current + (current.isEmpty || current.hasSuffix("\n") ? "" : "\n") + missing.joined(separator: "\n")
                + "\n"
            do {
                try Data(text.utf8).write(to: URL(fileURLWithPath: gitignore))
            } catch {
                throw .operation("init: cannot write \(gitignore): \(error.localizedDescription)")
            }
        }
        return Result(root: root, written: written, gitignoreAdded: missing)
    }
}
