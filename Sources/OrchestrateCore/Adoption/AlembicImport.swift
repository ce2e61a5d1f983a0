import Foundation
import Migrations

/// `orchestrate import alembic`: the revision graph and every revision's SQL, both asked of the project's own Alembic.
///
/// - The graph comes from Alembic's `ScriptDirectory` (a few lines of Python run by the interpreter of the `alembic`
///   command, printing JSON), so `down_revision` tuples, several bases, `depends_on` and branch labels are read as
///   Alembic reads them, and no revision's Python is parsed here. Loading the script directory runs no `env.py`.
/// - The SQL comes from Alembic's offline mode, as `alembic upgrade A:B --sql` prints it: one
///   `alembic upgrade heads --sql` and one `alembic downgrade heads:base --sql` for the whole graph, split at
///   Alembic's `-- Running upgrade P -> R` lines. When a whole run fails (a revision needs a connection), each
///   revision is asked for on its own (`upgrade P:R --sql`, `downgrade R:P --sql`, from its first parent; a merge's
///   range also covers its other parents' lines, and only its own section is kept), so one failing revision does not
///   hold back the others. A revision whose up SQL cannot be produced is written with an empty up section, which
///   refuses to apply until it is filled in.
public enum AlembicImport {
    /// One revision as Alembic's `ScriptDirectory` knows it.
    public struct Revision: Sendable, Decodable, Equatable {
        /// The revision id.
        public var revision: String
        /// `down_revision`, as a list (a merge has several; a base none).
        public var down: [String]
        /// `depends_on`, resolved to revision ids.
        public var dependsOn: [String]
        /// The branch labels declared in this revision's file.
        public var branchLabels: [String]
        /// The message (the docstring's first line).
        public var message: String
        /// The revision's file.
        public var path: String

        enum CodingKeys: String, CodingKey {
            case revision, down, dependsOn = "depends_on", branchLabels = "branch_labels", message, path
        }
    }

    /// The Python that prints the graph as JSON, bases first; argument 1 is the ini file.
    static let graphScript = """
        import json, sys
        from alembic.config import Config
        from alembic.script import ScriptDirectory
        script = ScriptDirectory.from_config(Config(sys.argv[1]))
        def listed(value):
            return [] if value is None else [value] if isinstance(value, str) else list(value)
        out = []
        for rev in reversed(list(script.walk_revisions("base", "heads"))):
            labels = getattr(rev, "_orig_branch_labels", rev.branch_labels) or ()
            out.append({"revision": rev.revision, "down": listed(rev.down_revision),
                        "depends_on": [script.get_revision(d).revision for d in listed(rev.dependencies)],
                        "branch_labels": sorted(labels), "message": rev.doc or "", "path": rev.path or ""})
        sys.stdout.write(json.dumps(out))
        """

    /// Reads the graph printed by `graphScript`.
    public static func revisions(fromJSON json: String) throws(OrchestrateError) -> [Revision] {
        do {
            return try JSONDecoder().decode([Revision].self, from: Data(json.utf8))
        } catch {
            throw .operation("import alembic: cannot read the revision graph Alembic printed: \(error)")
        }
    }

    /// The output of Alembic's offline runs, or why it could not be produced.
    public struct OfflineOutput: Sendable {
        /// Each revision's up section, or the error that kept Alembic from producing it.
        public var up: [String: Result<AlembicOfflineSQL.Section, AlembicFailure>]
        /// Each revision's down section, or the error.
        public var down: [String: Result<AlembicOfflineSQL.Section, AlembicFailure>]

        /// Makes an output.
        public init(
            up: [String: Result<AlembicOfflineSQL.Section, AlembicFailure>],
            down: [String: Result<AlembicOfflineSQL.Section, AlembicFailure>]
        ) {
            self.up = up
            self.down = down
        }
    }

    /// Why Alembic could not produce a revision's offline SQL: the last line of its error.
    public struct AlembicFailure: Error, Sendable, Equatable {
        /// The error, one line.
        public var message: String
    }

    /// The plan for `revisions` (bases first) with their offline SQL: pure, so tests feed it literal output.
    public static func plan(_ revisions: [Revision], offline: OfflineOutput) -> ImportPlan {
        var plan = ImportPlan(tool: .alembic)
        var taken = Set<String>()
        var ids: [String: String] = [:]
        var idNotes: [String: String] = [:]
        for revision in revisions {
            let (id, note) = ForeignSQL.id(for: revision.revision, taken: &taken)
            ids[revision.revision] = id
            idNotes[revision.revision] = note
        }
        // Ancestors by id, bases first as `revisions` comes: a dependency already below a parent adds no edge.
        var ancestors: [String: Set<String>] = [:]
        for revision in revisions {
            let id = ids[revision.revision] ?? revision.revision
            var parents = revision.down.map { ids[$0] ?? $0 }
            let below = parents.reduce(into: Set<String>()) {
                $0.formUnion(ancestors[$1] ?? []); $0.insert($1)
            }
            var imported = ImportedRevision(
                id: id, source: revision.path.isEmpty ? revision.revision : revision.path,
                message: revision.message, up: "")
            if let note = idNotes[revision.revision] { imported.conversions.append(note) }
            let implied = revision.dependsOn.map { ids[$0] ?? $0 }.filter { below.contains($0) }
            if !implied.isEmpty {
                imported.conversions.append(
                    "depends_on \(implied.joined(separator: ", ")) is already below its parents: no extra parent")
            }
            let dependencies = revision.dependsOn.map { ids[$0] ?? $0 }.filter { !below.contains($0) }
            if !dependencies.isEmpty {
                parents += dependencies
                imported.comments.append(
                    "Alembic depends_on: \(dependencies.joined(separator: ", ")) (parents here, so they are applied first)"
                )
                imported.conversions.append("depends_on \(dependencies.joined(separator: ", ")) became a parent")
            }
            if !revision.branchLabels.isEmpty {
                imported.comments.append("Alembic branch labels: \(revision.branchLabels.joined(separator: ", "))")
            }
            imported.parents = parents
            ancestors[id] = parents.reduce(into: below) {
                $0.formUnion(ancestors[$1] ?? []); $0.insert($1)
            }
            switch offline.up[revision.revision] {
            case .success(let section)?:
                imported.up = section.sql
                if section.autocommit {
                    imported.transactional = false
                    imported.conversions.append(
                        "autocommit_block() in upgrade(): written with `-- transaction: false` (the whole revision runs statement by statement, in autocommit)"
                    )
                }
                if parents.count < 2, ForeignSQL.hasNoStatement(section.sql) {
                    ForeignSQL.holdBack(
                        &imported,
                        because:
                            "its upgrade() emits no SQL in Alembic's offline mode (a data migration in Python, or one that skips offline mode)"
                    )
                }
            case .failure(let failure)?:
                ForeignSQL.holdBack(
                    &imported, because: "Alembic could not produce its upgrade SQL offline (\(failure.message))")
            case nil:
                ForeignSQL.holdBack(&imported, because: "Alembic's offline upgrade printed no section for it")
            }
            switch offline.down[revision.revision] {
            case .success(let section)?:
                imported.down = section.sql
                if section.autocommit, imported.transactional {
                    imported.transactional = false
                    imported.conversions.append(
                        "autocommit_block() in downgrade(): written with `-- transaction: false` (the whole revision runs statement by statement, in autocommit)"
                    )
                }
            case .failure(let failure)?:
                imported.conversions.append(
                    "no down section: Alembic could not produce its downgrade SQL offline (\(failure.message)); the revision is irreversible until one is written"
                )
            case nil:
                imported.conversions.append(
                    "no down section: Alembic's offline downgrade printed no section for it; the revision is irreversible until one is written"
                )
            }
            plan.revisions.append(imported)
        }
        return plan
    }

    // MARK: - Running Alembic

    /// Where Alembic is and how to run it.
    public struct Setup: Sendable {
        /// The `alembic` command (a path, or a name looked up on `PATH`).
        public var command: String
        /// The ini file passed with `-c`.
        public var ini: String
        /// The folder Alembic runs in (the ini's folder, where its users run it).
        public var directory: String
        /// The process environment (env.py may read `sqlalchemy.url` from it).
        public var environment: [String: String]
        /// A temporary ini written for a script folder given without one, removed afterwards.
        var temporaryIni: String?
    }

    /// The setup for `path` (an `alembic.ini`, a folder holding one, or a script folder holding `env.py`).
    public static func setup(
        path: String, command: String, environment: [String: String]
    ) throws(OrchestrateError) -> Setup {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .usage(
                "import alembic: \(path) does not exist",
                hint:
                    "pass the project's alembic.ini (default ./alembic.ini) or its script folder (the one holding env.py)"
            )
        }
        if !isDirectory.boolValue {
            return Setup(
                command: command, ini: path, directory: (path as NSString).deletingLastPathComponent,
                environment: environment)
        }
        if fileManager.fileExists(atPath: path + "/alembic.ini") {
            return Setup(command: command, ini: path + "/alembic.ini", directory: path, environment: environment)
        }
        guard fileManager.fileExists(atPath: path + "/env.py") else {
            throw .usage(
                "import alembic: \(path) holds neither alembic.ini nor env.py",
                hint: "pass the project's alembic.ini or its script folder (the one holding env.py)")
        }
        let parent = (path as NSString).deletingLastPathComponent
        if fileManager.fileExists(atPath: parent + "/alembic.ini") {
            return Setup(command: command, ini: parent + "/alembic.ini", directory: parent, environment: environment)
        }
        let ini = NSTemporaryDirectory() + "orchestrate-import-\(getpid())-alembic.ini"
        let text = """
            [alembic]
            script_location = \(path)

            [loggers]
            keys = root

            [handlers]
            keys =

            [formatters]
            keys =

            [logger_root]
            level = WARN
            handlers =

            """
        guard fileManager.createFile(atPath: ini, contents: Data(text.utf8)) else {
            throw .operation("import alembic: cannot write \(ini)")
        }
        return Setup(command: command, ini: ini, directory: parent, environment: environment, temporaryIni: ini)
    }

    /// Runs Alembic for `setup` and returns the plan.
    public static func plan(_ setup: Setup) throws(OrchestrateError) -> ImportPlan {
        defer { if let ini = setup.temporaryIni { unlink(ini) } }
        let python = try interpreter(of: setup.command, environment: setup.environment)
        let graph = try ChildProcess.run(
            python, ["-c", graphScript, setup.ini], environment: setup.environment,
            directory: setup.directory)
        guard graph.status == 0 else {
            throw .operation(
                "import alembic: Alembic could not read the revisions of \(setup.ini): \(lastLine(graph.stderr))",
                hint: "`\(setup.command) -c \(setup.ini) history` shows the same error")
        }
        var revisions = try revisions(fromJSON: graph.stdout)
        let prefix = setup.directory.hasSuffix("/") ? setup.directory : setup.directory + "/"
        for index in revisions.indices where revisions[index].path.hasPrefix(prefix) {
            revisions[index].path.removeFirst(prefix.count)
        }
        return plan(revisions, offline: try offlineOutput(revisions, setup: setup))
    }

    /// Every revision's offline SQL: two runs for the whole graph, then one run per revision that they did not cover.
    static func offlineOutput(_ revisions: [Revision], setup: Setup) throws(OrchestrateError) -> OfflineOutput {
        var output = OfflineOutput(up: [:], down: [:])
        let whole: [(AlembicOfflineSQL.Direction, String)] = [(.upgrade, "heads"), (.downgrade, "heads:base")]
        for (direction, range) in whole {
            let run = try alembic(setup, [direction.rawValue, range, "--sql"])
            guard run.status == 0 else { continue }
            for (revision, section) in AlembicOfflineSQL.sections(run.stdout, direction: direction) {
                if direction == .upgrade {
                    output.up[revision] = .success(section)
                } else {
                    output.down[revision] = .success(section)
                }
            }
        }
        for revision in revisions {
            let from = (revision.down + revision.dependsOn).first ?? "base"
            if output.up[revision.revision] == nil {
                output.up[revision.revision] = try single(
                    setup, .upgrade, "\(from):\(revision.revision)", revision.revision)
            }
            if output.down[revision.revision] == nil {
                output.down[revision.revision] = try single(
                    setup, .downgrade, "\(revision.revision):\(from)", revision.revision)
            }
        }
        return output
    }

    /// One revision's section from an offline run over `range`.
    static func single(
        _ setup: Setup, _ direction: AlembicOfflineSQL.Direction, _ range: String,
        _ revision: String
    ) throws(OrchestrateError) -> Result<AlembicOfflineSQL.Section, AlembicFailure> {
        let run = try alembic(setup, [direction.rawValue, range, "--sql"])
        guard run.status == 0 else { return .failure(AlembicFailure(message: lastLine(run.stderr))) }
        guard let section = AlembicOfflineSQL.sections(run.stdout, direction: direction)[revision] else {
            return .failure(
                AlembicFailure(message: "`alembic \(direction.rawValue) \(range) --sql` printed no section for it"))
        }
        return .success(section)
    }

    static func alembic(_ setup: Setup, _ arguments: [String]) throws(OrchestrateError) -> ChildProcess.Outcome {
        try ChildProcess.run(
            setup.command, ["-c", setup.ini] + arguments, environment: setup.environment,
            directory: setup.directory)
    }

    /// The Python interpreter that runs `command`: its `#!` line when that names a Python, else the `python3` next to
    /// it, else `python3` on `PATH`.
    static func interpreter(of command: String, environment: [String: String]) throws(OrchestrateError) -> String {
        guard let path = resolve(command, environment: environment) else {
            throw .usage(
                "import alembic: cannot find `\(command)`",
                hint:
                    "install Alembic (pip install alembic) in the project's environment, or pass --alembic PATH (such as .venv/bin/alembic)"
            )
        }
        if let handle = FileHandle(forReadingAtPath: path) {
            defer { try? handle.close() }
            let head = String(decoding: handle.readData(ofLength: 512), as: UTF8.self)
            if head.hasPrefix("#!"), let line = head.split(separator: "\n").first {
                let words = line.dropFirst(2).split(separator: " ").map(String.init)
                if let first = words.first, (first as NSString).lastPathComponent.hasPrefix("python") { return first }
                if words.count == 2, words[0].hasSuffix("/env"), words[1].hasPrefix("python") { return words[1] }
            }
        }
        let sibling = (path as NSString).deletingLastPathComponent + "/python3"
        return FileManager.default.isExecutableFile(atPath: sibling) ? sibling : "python3"
    }

    /// `command` as an executable path: itself when it holds a `/`, else looked up on `PATH`.
    static func resolve(_ command: String, environment: [String: String]) -> String? {
        if command.contains("/") { return FileManager.default.isExecutableFile(atPath: command) ? command : nil }
        for directory in (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(command)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    static func lastLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "no output"
    }
}
