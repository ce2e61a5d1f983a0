import Foundation
import OrchestrateCore
import Postgres
import TestSupport
import Testing

/// A real PgBouncer in transaction mode in front of the test server: `doctor` and the runs detect it.
@Suite("pooler", .serialized)
struct PoolerTests {
    static let binary = "/usr/sbin/pgbouncer"

    /// Starts PgBouncer on 127.0.0.1 in transaction mode for the test server's databases; returns its port and folder.
    static func startPgBouncer() throws -> (port: Int, directory: String) {
        let pairs = try ConnInfo.parse(try TestPostgres.serverConninfo())
        let host = pairs.first { $0.keyword == "host" }?.value ?? "/tmp"
        let serverPort = pairs.first { $0.keyword == "port" }?.value ?? "5432"
        let directory = NSTemporaryDirectory() + "orch-pgbouncer-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let port = 30_000 + Int.random(in: 0..<20_000)
        try """
        [databases]
        * = host=\(host) port=\(serverPort) user=postgres
        [pgbouncer]
        listen_addr = 127.0.0.1
        listen_port = \(port)
        unix_socket_dir =
        auth_type = trust
        auth_file = \(directory)/users.txt
        pool_mode = transaction
        logfile = \(directory)/pgbouncer.log
        pidfile = \(directory)/pgbouncer.pid
        ignore_startup_parameters = extra_float_digits,application_name,options

        """.write(toFile: directory + "/pgbouncer.ini", atomically: true, encoding: .utf8)
        try "\"postgres\" \"\"\n".write(toFile: directory + "/users.txt", atomically: true, encoding: .utf8)
        var command = [binary, "-d", directory + "/pgbouncer.ini"]
        if geteuid() == 0 {
            // PgBouncer refuses to run as root.
            _ = try ChildProcessForTests.run("/usr/bin/chown", ["-R", "postgres", directory])
            command = ["/usr/sbin/runuser", "-u", "postgres", "--"] + command
        }
        let started = try ChildProcessForTests.run(command[0], Array(command.dropFirst()))
        #expect(started.status == 0, "\(started.output)")
        // Wait until it accepts connections (bounded).
        for _ in 0..<50 {
            if (try? Connection(
                conninfo: "host=127.0.0.1 port=\(port) dbname=postgres user=postgres",
                applicationName: "pooler test", defaultConnectTimeout: 2))?.close() != nil
            {
                break
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return (port, directory)
    }

    static func stop(_ directory: String) {
        if let pid = try? String(contentsOfFile: directory + "/pgbouncer.pid", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines), let number = Int32(pid)
        {
            kill(number, SIGKILL)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test(
        "doctor and upgrade detect a transaction-mode pooler and say what to use instead",
        .enabled(
            if: FileManager.default.isExecutableFile(atPath: binary), "needs PgBouncer (apt-get install pgbouncer)"),
        .timeLimit(.minutes(1)))
    func transactionModePooler() throws {
        let pooler = try Self.startPgBouncer()
        defer { Self.stop(pooler.directory) }
        let database = try TestPostgres.createDatabase(prefix: "t_pooled")
        defer { TestPostgres.dropDatabase(database.name) }
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.write("environments/dev.toml", "database_url = \"${DEV_DATABASE_URL}\"\nconnect_retries = 0\n")
        try project.write(
            ".env", "DEV_DATABASE_URL=\"host=127.0.0.1 port=\(pooler.port) dbname=\(database.name) user=postgres\"\n")
        try project.migration("001", parent: nil, up: "CREATE TABLE a (id int);")
        try project.gitInitAndCommit()

        let doctor = try project.run(["doctor"])
        #expect(doctor.exitCode == 1, "\(doctor.output)")
        #expect(
            doctor.stdout.contains("FAIL  database dev: environment `dev`: the connection goes through a pooler"),
            "\(doctor.stdout)")
        #expect(doctor.stdout.contains("at the database directly, or at a pooler in session mode"))
        #expect(doctor.stdout.contains("ok    .env: read \(project.root)/.env (1 variable(s))"), "\(doctor.stdout)")

        let upgrade = try project.run(["upgrade", "dev"])
        #expect(upgrade.exitCode == 2, "\(upgrade.output)")
        #expect(upgrade.stderr.contains("goes through a pooler"))
        #expect(upgrade.stderr.contains("DEV_DATABASE_URL (used by database_url in environments/dev.toml)"))
        #expect(
            try TestPostgres.query(database.name, "SELECT count(*) FROM pg_tables WHERE tablename = 'a'") == [["0"]])
    }

    @Test(".env is read from the project root, else the nearest one above it inside the repository; doctor names it")
    func dotEnvLookup() throws {
        let repository = try TestProject()
        defer { repository.cleanUp() }
        let database = try TestPostgres.createDatabase(prefix: "t_dotenv")
        defer { TestPostgres.dropDatabase(database.name) }
        try repository.git("init", "-q")
        // The repository's .env at the top; the project in backend/.
        try repository.write(".env", "DEV_DATABASE_URL=\"\(database.conninfo)\"\n")
        try repository.write("backend/environments/dev.toml", "database_url = \"${DEV_DATABASE_URL}\"\n")
        try repository.write("backend/migrations/001.sql", "-- migrate:up\nCREATE TABLE a (id int);\n")
        let backend = repository.root + "/backend"
        let doctor = try TestProject.runOrchestrate(["doctor"], directory: backend)
        #expect(doctor.stdout.contains("ok    .env: read \(repository.root)/.env"), "\(doctor.output)")
        let upgrade = try TestProject.runOrchestrate(["upgrade", "dev"], directory: backend)
        #expect(upgrade.exitCode == 0, "\(upgrade.output)")

        // The project's own .env wins over the one above it.
        try repository.write("backend/.env", "DEV_DATABASE_URL=\"host=/nonexistent-dir port=1 dbname=x\"\n")
        let own = try TestProject.runOrchestrate(["doctor"], directory: backend)
        #expect(own.stdout.contains("ok    .env: read \(backend)/.env"), "\(own.output)")

        // None at all: doctor says where it looked.
        try repository.remove(".env")
        try repository.remove("backend/.env")
        let none = try TestProject.runOrchestrate(["doctor"], directory: backend)
        #expect(none.stdout.contains(".env: none found (looked in \(backend), \(repository.root))"), "\(none.output)")
    }
}

/// Runs a helper program for a test and waits for it; output goes to files, so a daemon it leaves behind cannot hold
/// a pipe open.
enum ChildProcessForTests {
    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let result = try TestProject.runProgram(executable, arguments, timeout: 30)
        return (result.exitCode, result.output)
    }
}
