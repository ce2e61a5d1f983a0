import Foundation

/// `orchestrate import TOOL [PATH]`: finds the other tool's files, converts them and writes `migrations/`.
public enum ForeignImport {
    /// Where each tool keeps its migrations by default (the first that exists is read).
    static func defaultPaths(_ tool: ForeignTool) -> [String] {
        switch tool {
        case .alembic: return ["alembic.ini"]
        case .flyway: return ["sql", "db/migration", "src/main/resources/db/migration"]
        case .dbmate, .golangMigrate, .goose: return ["db/migrations"]
        }
    }

    /// Reads `path` (relative to `directory`; nil for the tool's default), converts it and writes the files under
    /// `root`'s `migrations/`; `alembic` is the Alembic command for `.alembic`.
    public static func run(
        _ tool: ForeignTool, path: String?, directory: String, root: String, alembic: String,
        environment: [String: String]
    ) throws(OrchestrateError) -> ImportReport {
        let source = try locate(tool, path: path, directory: directory)
        if absolute(source, in: "/") == absolute(root + "/migrations", in: "/") {
            throw .usage(
                "import \(tool.rawValue): \(source) is the folder import writes to; nothing was written",
                hint:
                    "move the \(tool.rawValue) files to a folder of their own first (git mv migrations db/migrations), then run orchestrate import \(tool.rawValue) db/migrations"
            )
        }
        let plan: ImportPlan
        switch tool {
        case .alembic:
            let command = alembic.contains("/") ? absolute(alembic, in: directory) : alembic
            plan = try AlembicImport.plan(AlembicImport.setup(path: source, command: command, environment: environment))
        case .flyway:
            plan = FlywayImport.plan(try files(in: source, recursive: true))
        case .dbmate:
            plan = DbmateImport.plan(try files(in: source, recursive: false))
        case .golangMigrate:
            plan = GolangMigrateImport.plan(try files(in: source, recursive: false))
        case .goose:
            plan = GooseImport.plan(try files(in: source, recursive: false))
        }
        return try ImportWriter.write(plan, root: root, source: source)
    }

    /// The absolute file or folder to read.
    static func locate(_ tool: ForeignTool, path: String?, directory: String) throws(OrchestrateError) -> String {
        if let path {
            let resolved = absolute(path, in: directory)
            guard FileManager.default.fileExists(atPath: resolved) else {
                throw .usage("import \(tool.rawValue): \(path) does not exist")
            }
            return resolved
        }
        let candidates = defaultPaths(tool)
        for candidate in candidates where FileManager.default.fileExists(atPath: directory + "/" + candidate) {
            return directory + "/" + candidate
        }
        throw .usage(
            "import \(tool.rawValue): no \(candidates.joined(separator: " or ")) in \(directory)",
            hint:
                "pass the \(tool == .alembic ? "alembic.ini (or the script folder)" : "folder holding the migrations"): orchestrate import \(tool.rawValue) PATH"
        )
    }

    static func absolute(_ path: String, in directory: String) -> String {
        URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: directory)).standardizedFileURL.path
    }

    /// The files of `folder` (below it too when `recursive`), paths relative to it, hidden files left out.
    static func files(in folder: String, recursive: Bool) throws(OrchestrateError) -> [ForeignFile] {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .usage("import: \(folder) is not a folder", hint: "pass the folder that holds the migrations")
        }
        var names: [String] = []
        do {
            if recursive {
                names = fileManager.subpaths(atPath: folder) ?? []
            } else {
                names = try fileManager.contentsOfDirectory(atPath: folder)
            }
        } catch {
            throw .operation("import: cannot list \(folder): \(error.localizedDescription)")
        }
        var files: [ForeignFile] = []
        for name in names.sorted() where !name.split(separator: "/").contains(where: { $0.hasPrefix(".") }) {
            let path = folder + "/" + name
            guard fileManager.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                continue
            }
            guard let data = fileManager.contents(atPath: path) else {
                throw .operation("import: cannot read \(path)")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw .usage("import: \(path) is not UTF-8 text", hint: "convert it to UTF-8 first")
            }
            files.append(ForeignFile(path: name, text: text.replacingOccurrences(of: "\r\n", with: "\n")))
        }
        return files
    }
}
