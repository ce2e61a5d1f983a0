import Foundation
import Postgres

#if canImport(Glibc)
    import Glibc
#endif

/// The project's throwaway PostgreSQL cluster (`orchestrate sandbox`), behind `sandbox:NAME` URLs.
///
/// It lives in `ROOT/.orchestrate/sandbox/` (ignored by git), listens only on a Unix socket in a private folder on a
/// port derived from the project path, and runs with `fsync=off`: it is for development and tests, never for data
/// that matters. PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user through
/// `runuser`, with its folders owned by that user.
public struct Sandbox: Sendable {
    /// The folder holding the cluster's data, socket folder and log.
    public var directory: String
    /// The port that names the socket file.
    public var port: Int

    /// The sandbox of the project at `projectRoot`.
    public init(projectRoot: String) {
        self.init(directory: projectRoot + "/.orchestrate/sandbox")
    }

    /// A sandbox in an arbitrary folder (tests and benchmarks use their own).
    public init(directory: String) {
        self.directory = directory
        self.port = 20_000 + Int(stableHash(directory) % 20_000)
    }

    /// The data directory.
    public var dataDirectory: String { directory + "/data" }
    /// The server log.
    public var logFile: String { directory + "/server.log" }

    /// The folder of the socket: inside the sandbox when the socket path fits the 107-byte limit, else a short
    /// folder under /tmp named after a hash of the sandbox path.
    public var socketDirectory: String {
        let local = directory + "/run"
        if (local + "/.s.PGSQL.\(port)").utf8.count < 100 { return local }
        return "/tmp/orchestrate-\(String(stableHash(directory), radix: 16).prefix(12))"
    }

    /// The conninfo of database `name` on the sandbox (no password: the sandbox trusts local connections).
    public func conninfo(database name: String) -> String {
        ConnInfo.format([("host", socketDirectory), ("port", String(port)), ("user", "postgres"), ("dbname", name)])
    }

    /// Whether the server is running (its socket accepts connections).
    public func isRunning() -> Bool {
        guard FileManager.default.fileExists(atPath: socketDirectory + "/.s.PGSQL.\(port)") else { return false }
        guard
            let connection = try? Connection(
                conninfo: conninfo(database: "postgres"), applicationName: "orchestrate sandbox",
                defaultConnectTimeout: 2)
        else { return false }
        connection.close()
        return true
    }

    /// What `start` did.
    public enum StartOutcome: Sendable { case alreadyRunning, started, initializedAndStarted }

    /// Creates the cluster if needed and starts it; safe to call from several processes at once.
    @discardableResult
    public func start() throws(OrchestrateError) -> StartOutcome {
        if isRunning() { return .alreadyRunning }
        let fileManager = FileManager.default
        do {
            try fileManager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .operation("sandbox: cannot create \(directory): \(error.localizedDescription)")
        }
        // The cluster's files never belong in git, whatever the project's own .gitignore says.
        let parent = (directory as NSString).deletingLastPathComponent
        if (parent as NSString).lastPathComponent == ".orchestrate",
            !fileManager.fileExists(atPath: parent + "/.gitignore")
        {
            _ = fileManager.createFile(
                atPath: parent + "/.gitignore",
                contents: Data("# Written by orchestrate: the sandbox's files stay out of git.\n*\n".utf8))
        }
        let lock = try FileLock(path: directory + "/.lock")
        defer { lock.release() }
        if isRunning() { return .alreadyRunning }

        let binaries = try PostgresBinaries.locate()
        let runAs = try ServerUser.current()
        var initialized = false
        if !fileManager.fileExists(atPath: dataDirectory + "/PG_VERSION") {
            try? fileManager.removeItem(atPath: dataDirectory)
            try makeDirectory(dataDirectory, owner: runAs, mode: 0o700)
            try run(
                binaries.initdb,
                [
                    "-D", dataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                    "--locale=C", "--no-sync", "--no-instructions",
                ],
                as: runAs, what: "initdb")
            initialized = true
        }
        try makeDirectory(socketDirectory, owner: runAs, mode: 0o755)
        try? fileManager.removeItem(atPath: logFile)
        _ = fileManager.createFile(atPath: logFile, contents: nil)
        if let uid = runAs.uid { _ = chown(logFile, uid, runAs.gid ?? gid_t(UInt32.max)) }
        let options =
            "-c listen_addresses='' -k \(socketDirectory) -p \(port) -c fsync=off -c synchronous_commit=off "
            + "-c full_page_writes=off -c max_connections=200"
        try run(
            binaries.pgCtl, ["-D", dataDirectory, "-l", logFile, "-w", "-t", "60", "-o", options, "start"],
            as: runAs, what: "pg_ctl start", logHint: logFile)
        return initialized ? .initializedAndStarted : .started
    }

    /// Stops the server if it runs; the data stays for the next start.
    public func stop() throws(OrchestrateError) {
        guard FileManager.default.fileExists(atPath: dataDirectory + "/postmaster.pid") else { return }
        let binaries = try PostgresBinaries.locate()
        try run(
            binaries.pgCtl, ["-D", dataDirectory, "-m", "fast", "-w", "stop"], as: try ServerUser.current(),
            what: "pg_ctl stop")
    }

    /// Creates database `name` unless it exists (several processes may race; the loser's "already exists" is fine).
    public func ensureDatabase(_ name: String) throws(OrchestrateError) {
        let connection: Connection
        do {
            connection = try Connection(
                conninfo: conninfo(database: "postgres"), applicationName: "orchestrate sandbox")
        } catch {
            throw .operation("sandbox: cannot connect", error, hint: "run `orchestrate sandbox status`")
        }
        defer { connection.close() }
        do {
            let existing = try connection.query("SELECT 1 FROM pg_database WHERE datname = $1", [.text(name)])
            if existing.count > 0 { return }
            try connection.execute("CREATE DATABASE \(try connection.quoteIdentifier(name))")
        } catch let error where error.sqlState == .duplicateDatabase || error.sqlState == .uniqueViolation {
            return
        } catch {
            throw .operation("sandbox: cannot create database `\(name)`", error)
        }
    }

    // MARK: - Processes

    private func run(
        _ executable: String, _ arguments: [String], as user: ServerUser, what: String,
        logHint: String? = nil
    ) throws(OrchestrateError) {
        var environment = ProcessInfo.processInfo.environment
        environment["LC_ALL"] = "C"
        let outcome: ChildProcess.Outcome
        if let name = user.name {
            outcome = try ChildProcess.run(
                "/usr/sbin/runuser", ["-u", name, "--", executable] + arguments, environment: environment)
        } else {
            outcome = try ChildProcess.run(executable, arguments, environment: environment)
        }
        guard outcome.status == 0 else {
            let text = outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
            var hint = "see the output above"
            if let logHint { hint = "the server log is \(logHint)" }
            throw .operation("sandbox: \(what) failed (exit \(outcome.status)):\n\(text)", hint: hint)
        }
    }

    private func makeDirectory(_ path: String, owner: ServerUser, mode: Int) throws(OrchestrateError) {
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true,
                attributes: [.posixPermissions: mode])
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        } catch {
            throw .operation("sandbox: cannot create \(path): \(error.localizedDescription)")
        }
        if let uid = owner.uid, chown(path, uid, owner.gid ?? gid_t(UInt32.max)) != 0 {
            throw .operation(
                "sandbox: cannot give \(path) to user \(owner.name ?? "?"): \(String(cString: strerror(errno)))")
        }
    }
}

/// Who runs the server: the current user, or `postgres` when we are root (PostgreSQL refuses root).
struct ServerUser {
    var name: String?
    var uid: uid_t?
    var gid: gid_t?

    static func current() throws(OrchestrateError) -> ServerUser {
        guard geteuid() == 0 else { return ServerUser(name: nil, uid: nil, gid: nil) }
        guard let entry = getpwnam("postgres") else {
            throw .operation(
                "sandbox: running as root, and there is no `postgres` user to run the server as",
                hint: "install PostgreSQL (apt-get install postgresql), which creates it, or run as a normal user")
        }
        return ServerUser(name: "postgres", uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
    }
}

/// Where `initdb` and `pg_ctl` are.
struct PostgresBinaries {
    var initdb: String
    var pgCtl: String

    /// `ORCHESTRATE_PG_BINDIR`, else the newest `/usr/lib/postgresql/N/bin`, else `PATH`.
    static func locate() throws(OrchestrateError) -> PostgresBinaries {
        let fileManager = FileManager.default
        var candidates: [String] = []
        if let explicit = ProcessInfo.processInfo.environment["ORCHESTRATE_PG_BINDIR"] { candidates.append(explicit) }
        if let versions = try? fileManager.contentsOfDirectory(atPath: "/usr/lib/postgresql") {
            for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
                candidates.append("/usr/lib/postgresql/\(version)/bin")
            }
        }
        candidates += (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(
            String.init)
        for directory in candidates
        where fileManager.isExecutableFile(atPath: directory + "/initdb")
            && fileManager.isExecutableFile(atPath: directory + "/pg_ctl")
        {
            return PostgresBinaries(initdb: directory + "/initdb", pgCtl: directory + "/pg_ctl")
        }
        throw .operation(
            "sandbox: PostgreSQL server binaries (initdb, pg_ctl) not found",
            hint: "apt-get install postgresql, or set ORCHESTRATE_PG_BINDIR to the folder holding initdb")
    }
}

/// An exclusive advisory file lock (flock), released on `release()`.
final class FileLock: Sendable {
    private let descriptor: Int32

    init(path: String) throws(OrchestrateError) {
        let descriptor = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw .operation("cannot open lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX) == 0 else {
            close(descriptor)
            throw .operation("cannot lock \(path): \(String(cString: strerror(errno)))")
        }
        self.descriptor = descriptor
    }

    func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}

/// FNV-1a, 64 bits: stable across runs and machines (Swift's `hashValue` is seeded per process).
func stableHash(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
        hash ^= UInt64(byte)
        hash = hash &* 0x100_0000_01b3
    }
    return hash
}
