import Foundation
import OrchestrateCore

/// A user's project in a temporary folder: environments, migrations, an optional git repository, and a way to run
/// the real `orchestrate` binary in it.
public final class TestProject: @unchecked Sendable {
    /// The project folder (world-readable, so a sandbox server running as `postgres` can use it).
    public let root: String
    /// Databases created for this project's environments, dropped by `cleanUp()`.
    public private(set) var databases: [String] = []

    /// Makes an empty project folder with `environments/` and `migrations/`.
    public init() throws {
        root = NSTemporaryDirectory() + "orchestrate-test-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(
            atPath: root + "/environments", withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o755])
        try FileManager.default.createDirectory(
            atPath: root + "/migrations", withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o755])
        chmod(root, 0o755)
    }

    /// Writes `text` to `relativePath` (creating folders).
    public func write(_ relativePath: String, _ text: String) throws {
        let path = root + "/" + relativePath
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Reads a file of the project.
    public func read(_ relativePath: String) throws -> String {
        try String(contentsOfFile: root + "/" + relativePath, encoding: .utf8)
    }

    /// Removes a file of the project.
    public func remove(_ relativePath: String) throws {
        try FileManager.default.removeItem(atPath: root + "/" + relativePath)
    }

    /// Writes a migration file `migrations/<id>.sql`.
    public func migration(_ id: String, parent: String?, up: String, down: String? = nil, header: String = "") throws {
        var text = parent.map { "-- parent: \($0)\n" } ?? ""
        text += header
        text += "-- migrate:up\n\(up)\n"
        if let down { text += "-- migrate:down\n\(down)\n" }
        try write("migrations/\(id).sql", text)
    }

    /// Creates a fresh database on the test server and writes `environments/<name>.toml` pointing at it.
    @discardableResult
    public func environment(_ name: String, promotesFrom: String? = nil, extra: String = "") throws -> String {
        let database = try TestPostgres.createDatabase(prefix: "t_\(name.prefix(10))")
        databases.append(database.name)
        var text = "database_url = \"\(database.conninfo)\"\n"
        if let promotesFrom { text += "promotes_from = \"\(promotesFrom)\"\n" }
        text += extra
        try write("environments/\(name).toml", text)
        return database.name
    }

    /// The result of running the CLI.
    public struct RunResult: Sendable {
        public var exitCode: Int32
        public var stdout: String
        public var stderr: String
        /// Both streams, for assertions that do not care where a line went.
        public var output: String { stdout + stderr }
    }

    /// Runs the built `orchestrate` binary with `arguments` in the project folder (or `directory` below it).
    @discardableResult
    public func run(
        _ arguments: [String], in directory: String? = nil, environment: [String: String] = [:],
        stdin: String? = nil
    ) throws -> RunResult {
        try TestProject.runOrchestrate(
            arguments, directory: directory.map { root + "/" + $0 } ?? root,
            environment: environment, stdin: stdin)
    }

    /// Runs the built `orchestrate` binary anywhere (posix_spawn + waitpid, output through files: a sandbox server
    /// started by the run outlives it and must not hold any pipe of ours open).
    public static func runOrchestrate(
        _ arguments: [String], directory: String, environment: [String: String] = [:],
        stdin: String? = nil
    ) throws -> RunResult {
        var variables: [String: String?] = ["NO_COLOR": "1"]
        for (key, value) in environment { variables[key] = value }
        return try runProgram(try binaryPath(), arguments, environment: variables, directory: directory, stdin: stdin)
    }

    /// The one way tests run a program: posix_spawn with output through files (nothing a daemon it starts keeps open
    /// can hold the test), the caller's environment plus `environment`, and a time limit after which the program is
    /// killed and the test fails instead of hanging.
    /// A nil value in `environment` removes that variable.
    public static func runProgram(
        _ executable: String, _ arguments: [String], environment: [String: String?] = [:],
        directory: String = "/", stdin: String? = nil, timeout: Double = 120
    ) throws -> RunResult {
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        let outcome = try ChildProcess.run(
            executable, arguments, environment: env, directory: directory, stdin: stdin,
            timeout: timeout)
        return RunResult(exitCode: outcome.status, stdout: outcome.stdout, stderr: outcome.stderr)
    }

    /// The `orchestrate` executable next to the test bundle (or `ORCHESTRATE_BIN`).
    public static func binaryPath() throws -> String {
        if let explicit = ProcessInfo.processInfo.environment["ORCHESTRATE_BIN"] { return explicit }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("orchestrate").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        let fallback = FileManager.default.currentDirectoryPath + "/.build/debug/orchestrate"
        if FileManager.default.isExecutableFile(atPath: fallback) { return fallback }
        throw TestSupportError("cannot find the orchestrate binary; build it (swift build) or set ORCHESTRATE_BIN")
    }

    /// Runs `git` in the project with a fixed identity, failing the test on a non-zero exit.
    @discardableResult
    public func git(_ arguments: String...) throws -> String {
        try TestProject.git(arguments, in: root)
    }

    /// Runs `git` in `directory` with a fixed identity.
    @discardableResult
    public static func git(_ arguments: [String], in directory: String) throws -> String {
        try runGit(
            arguments, in: directory,
            environment: [
                "GIT_AUTHOR_NAME": "Test Author", "GIT_AUTHOR_EMAIL": "author@example.com",
                "GIT_COMMITTER_NAME": "Test Author", "GIT_COMMITTER_EMAIL": "author@example.com",
                "HOME": NSTemporaryDirectory(),
            ]
        ).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The one way tests run git: no system config, main as the default branch, no autocrlf or signing, the given
    /// identity and dates (`environment`), `stdin` as input; a failure throws with git's message. Returns stdout.
    public static func runGit(
        _ arguments: [String], in directory: String, environment: [String: String],
        stdin: String? = nil
    ) throws -> String {
        var variables: [String: String?] = [:]
        for key in ProcessInfo.processInfo.environment.keys where key.hasPrefix("GIT_") { variables[key] = .some(nil) }
        for (key, value) in environment { variables[key] = value }
        variables["GIT_CONFIG_NOSYSTEM"] = "1"
        let result = try runProgram(
            "/usr/bin/git",
            ["-c", "init.defaultBranch=main", "-c", "core.autocrlf=false", "-c", "commit.gpgsign=false"] + arguments,
            environment: variables, directory: directory, stdin: stdin)
        guard result.exitCode == 0 else {
            throw TestSupportError("git \(arguments.joined(separator: " ")) failed: \(result.stderr)")
        }
        return result.stdout
    }

    /// Initialises a repository and commits everything.
    public func gitInitAndCommit(_ message: String = "initial") throws {
        try git("init", "-q")
        try git("add", "-A")
        try git("commit", "-q", "-m", message)
    }

    /// Drops the project's databases and removes its folder.
    public func cleanUp() {
        for database in databases { TestPostgres.dropDatabase(database) }
        try? FileManager.default.removeItem(atPath: root)
    }
}

/// A failure in test setup.
public struct TestSupportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
