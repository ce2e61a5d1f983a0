import Foundation
import Postgres
import TestSupport
import Testing

extension Tag {
    /// The fuzz and fault suite: `swift test --filter 'FuzzTests|FaultTests'`.
    @Tag static var fuzz: Self
}

/// Damaged projects through the real binary's `heads`, `graph`, `plan`, `doctor` and `check`: whatever the input,
/// no signal death, an exit code in 0...4, no hang (10 s), no Swift runtime crash message, no password printed, and
/// a refusal (exit 2) names a file or revision of the project. Seeded: a failure names the seed that reproduces it.
/// `scripts/fuzz.sh` runs the same idea on thousands of projects.
@Suite("fuzz", .tags(.fuzz))
struct FuzzTests {
    static let crashMarkers = [
        "Fatal error", "SIGILL", "SIGSEGV", "SIGTRAP", "Segmentation fault", "Illegal instruction",
        "Stack dump", "Current stack trace", "Swift runtime failure", "Unexpectedly found nil",
        "Index out of range", "Precondition failed", "Assertion failed",
    ]

    private static let setUp = Mutex<FuzzServer?>(nil)

    /// The role and database generated URLs point at, made once (idempotently: the fallback test server persists).
    static func server() throws -> FuzzServer {
        try setUp.withLock { cached in
            if let cached { return cached }
            let tcp = ProcessInfo.processInfo.environment["ORCHESTRATE_TEST_TCP_URL"]
            let port = tcp.flatMap { try? ConnInfo.parse($0).first { $0.keyword == "port" }?.value }.flatMap { Int($0) }
            var server = FuzzServer(port: port ?? 1, database: "orchestrate_fuzz")
            if port == nil { server.database = "nothing_listens" }
            try TestPostgres.query(
                "postgres",
                """
                DO $$ BEGIN CREATE ROLE \(server.role) LOGIN PASSWORD '\(fuzzPassword)';
                EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$
                """)
            if try TestPostgres.query("postgres", "SELECT 1 FROM pg_database WHERE datname = 'orchestrate_fuzz'")
                .isEmpty
            {
                _ = try? TestPostgres.query("postgres", "CREATE DATABASE orchestrate_fuzz OWNER \(server.role)")
            }
            cached = server
            return server
        }
    }

    /// The environment of every run: no PG* variable of ours, and PGHOSTADDR, so that whatever host name a damaged
    /// URL holds, libpq connects to 127.0.0.1 (host serves only for authentication): never a DNS lookup.
    static func environment(_ server: FuzzServer, home: String) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("PG") && !$0.key.hasPrefix("ORCHESTRATE_") && !$0.key.hasSuffix("DATABASE_URL")
        }
        environment.merge([
            "NO_COLOR": "1", "HOME": home, "PGHOSTADDR": "127.0.0.1", "PGPORT": String(server.port),
            "PGPASSFILE": "/nonexistent/pgpass", "PGSERVICEFILE": "/nonexistent/pg_service.conf",
            "PGSYSCONFDIR": "/nonexistent",
            "PGGSSENCMODE": "disable", "PGCONNECT_TIMEOUT": "3", "GIT_CONFIG_NOSYSTEM": "1",
        ]) { $1 }
        return environment
    }

    /// Writes `base` and commits it on `main`, then `damaged` on `feature`, so `check --base main` compares them.
    /// Without `git`, only `damaged` is written (and `check` is not run).
    static func materialize(base: FuzzProject, damaged: FuzzProject, git: Bool) throws -> String {
        let root = NSTemporaryDirectory() + "orchestrate-fuzz-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        do {
            try write(base: base, damaged: damaged, git: git, to: root)
        } catch {
            try? FileManager.default.removeItem(atPath: root)
            throw error
        }
        return root
    }

    private static func write(base: FuzzProject, damaged: FuzzProject, git: Bool, to root: String) throws {
        guard git else {
            return try damaged.write(to: root)
        }
        try base.write(to: root)
        try TestProject.git(["init", "-q"], in: root)
        try TestProject.git(["add", "-A"], in: root)
        try TestProject.git(["commit", "-q", "-m", "base"], in: root)
        try TestProject.git(["checkout", "-q", "-b", "feature"], in: root)
        for path in base.files.keys where damaged.files[path] == nil {
            try FileManager.default.removeItem(atPath: root + "/" + path)
        }
        try damaged.write(to: root)
        try TestProject.git(["add", "-A"], in: root)
        try TestProject.git(["commit", "-q", "--allow-empty", "-m", "damaged"], in: root)
    }

    /// What is wrong with one run, if anything.
    static func problems(_ run: TimedRun, names: [String]) -> [String] {
        var found: [String] = []
        switch run.ending {
        case .timedOut: return ["hang: \(run.ending)"]
        case .signaled: found.append("crash: \(run.ending)")
        case .exited(let code) where !(0...4).contains(code): found.append("exit code \(code) outside 0...4")
        case .exited(let code):
            if code == 2, !run.stderr.contains("Usage: "), !names.contains(where: { run.output.contains($0) }) {
                found.append("a refusal that names no file or revision of the project")
            }
            if code != 0, run.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                found.append("a failure without a word")
            }
        }
        if run.output.contains(fuzzPassword) { found.append("the password was printed") }
        if let marker = crashMarkers.first(where: { run.output.contains($0) }) {
            found.append("crash message `\(marker)`")
        }
        return found
    }

    /// Runs the five commands on the damaged project and checks every run; returns the runs.
    @discardableResult
    static func exercise(
        base: FuzzProject, damaged: FuzzProject, label: String, check: Bool = true,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [String: TimedRun] {
        let server = try server()
        let root = try materialize(base: base, damaged: damaged, git: check)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let environment = environment(server, home: root + "/.git")
        let target = damaged.environments.first ?? "dev"
        var runs: [String: TimedRun] = [:]
        var commands = [["heads"], ["graph"], ["plan", target, "--sql"], ["doctor"]]
        if check { commands.append(["check", "--base", "main"]) }
        for arguments in commands {
            let run = try TimedRun.run(arguments, in: root, environment: environment)
            runs[arguments[0]] = run
            let found = problems(run, names: damaged.names)
            #expect(
                found.isEmpty,
                """
                \(label): orchestrate \(arguments.joined(separator: " ")): \(found.joined(separator: "; ")) \
                (\(run.ending); damage: \(damaged.mutations.joined(separator: "; ")))
                \(run.output.prefix(2_000))
                """, sourceLocation: sourceLocation)
        }
        return runs
    }

    /// Three files a damage can hit: a migration, the environment file, `.env`.
    enum Target: String, CaseIterable, Sendable { case migration, environment, dotEnv }

    @Test("each damage to each kind of file", arguments: Mutation.allCases, Target.allCases)
    func eachDamage(mutation: Mutation, target: Target) throws {
        let seed = UInt64(Mutation.allCases.firstIndex(of: mutation)! * 10 + Target.allCases.firstIndex(of: target)!)
        var rng = SeededGenerator(seed: seed)
        let server = try Self.server()
        var base = FuzzProject.generate(using: &rng, server: server)
        // A sound base, so that what fails is the damage: one root, a chain, a dev environment that connects.
        base = Self.soundBase(base, server: server)
        var damaged = base
        let path =
            switch target {
            case .migration: "migrations/\(base.revisions.last!).sql"
            case .environment: "environments/dev.toml"
            case .dotEnv: ".env"
            }
        damaged.mutate(path, mutation, using: &rng)
        // `check` reads migrations from git only: environment files and .env do not concern it.
        let runs = try Self.exercise(
            base: base, damaged: damaged, label: "seed \(seed), \(mutation) in \(path)",
            check: target == .migration)

        // Bytes that cannot be text are refused when the file is read, naming it.
        if [.nul, .invalidUTF8].contains(mutation) {
            let command = target == .environment ? "plan" : "heads"
            let run = try #require(runs[command])
            #expect(run.ending == .exited(2), "\(mutation) in \(path): \(command): \(run.output)")
            #expect(run.stderr.contains(path), "\(mutation) in \(path): \(command): \(run.output)")
        }
        // Line endings and a BOM are not damage.
        if [.crlf, .bom].contains(mutation) {
            for command in ["heads", "graph", "plan"] {
                let run = try #require(runs[command])
                #expect(
                    run.ending == .exited(0) || server.port == 1 && command == "plan",
                    "\(mutation) in \(path): \(command): \(run.output)")
            }
        }
    }

    @Test(
        "random projects: parent graphs (cycles, missing parents, several roots), links, odd names, several damages",
        arguments: 0..<16)
    func randomProject(seed: Int) throws {
        var rng = SeededGenerator(seed: 1_000 + UInt64(seed))
        let base = FuzzProject.generate(using: &rng, server: try Self.server())
        var damaged = base
        let outside = NSTemporaryDirectory() + "orchestrate-fuzz-outside.sql"
        try? "-- migrate:up\nSELECT 1;\n".write(toFile: outside, atomically: true, encoding: .utf8)
        damaged.mutateRandomly(using: &rng, outside: outside)
        try Self.exercise(base: base, damaged: damaged, label: "seed \(1_000 + seed)")
    }

    @Test(
        "a malformed URL holding a password is refused by plan and doctor, naming the file, never the password",
        arguments: [
            "postgresq://u:\(fuzzPassword)@127.0.0.1/db", "user:\(fuzzPassword)@host/db",
            "postgresql://u:\(fuzzPassword)@[::1/db", "host=127.0.0.1 password='\(fuzzPassword) dbname=x",
            // Found by scripts/fuzz.sh: libpq parsed them, with the password in the database name or the port.
            "postgresql://postgresql://u:\(fuzzPassword)@127.0.0.1/db", "postgresql://u:\(fuzzPassword)",
            "postgresql://u:\(fuzzPassword)@127.0.0.1/db?connect_timeout=9223372036854775807",
        ])
    func malformedURL(url: String) throws {
        let server = try Self.server()
        var rng = SeededGenerator(seed: 7)
        var base = Self.soundBase(FuzzProject.generate(using: &rng, server: server), server: server)
        base.files["environments/dev.toml"] = .file(Array("database_url = \"\(url)\"\nconnect_retries = 0\n".utf8))
        let runs = try Self.exercise(base: base, damaged: base, label: url, check: false)
        for command in ["plan", "doctor"] {
            let run = try #require(runs[command])
            #expect(run.ending != .exited(0), "\(command): \(run.output)")
            #expect(run.output.contains("environments/dev.toml"), "\(command): \(run.output)")
        }
    }

    /// `project` reduced to a chain of its revisions and a `dev` environment whose URL reaches the server.
    static func soundBase(_ project: FuzzProject, server: FuzzServer) -> FuzzProject {
        var sound = project
        for (index, id) in project.revisions.enumerated() {
            let parent = index == 0 ? "" : "-- parent: \(project.revisions[index - 1])\n"
            sound.files["migrations/\(id).sql"] = .file(
                Array(
                    """
                    \(parent)-- migrate:up
                    CREATE TABLE t_\(index) (id int, note text DEFAULT 'x -- y');
                    -- migrate:down
                    DROP TABLE t_\(index);

                    """.utf8))
        }
        sound.files = sound.files.filter { !$0.key.hasPrefix("environments/") || $0.key == "environments/dev.toml" }
        sound.environments = ["dev"]
        let url =
            "postgresql://\(server.role):\(fuzzPassword)@127.0.0.1:\(server.port)/\(server.database)?connect_timeout=3"
        sound.files["environments/dev.toml"] = .file(
            Array(
                """
                # dev
                database_url = "${DEV_DATABASE_URL}"
                connect_retries = 0
                lock_timeout = "2s"

                """.utf8))
        sound.files[".env"] = .file(Array("# local\nexport DEV_DATABASE_URL=\"\(url)\"\nOTHER='1' # x\n".utf8))
        return sound
    }
}
