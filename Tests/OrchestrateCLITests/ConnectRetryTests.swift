import Foundation
import OrchestrateCore
import Postgres
import TestSupport
import Testing

/// Connecting retries what may pass (a server starting, a serverless database waking up) with bounded backoff,
/// reporting each attempt, and gives up at once on what will not (authentication).
@Suite("connect retries")
struct ConnectRetryTests {
    @Test("a server that comes up late is waited for, each attempt reported")
    func lateServer() throws {
        let directory = "/tmp/orchestrate-late-" + UUID().uuidString.prefix(8).lowercased()
        let sandbox = Sandbox(directory: directory)
        try sandbox.start()
        try sandbox.stop()
        defer {
            try? sandbox.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.write(
            "environments/dev.toml",
            "database_url = \"\(sandbox.conninfo(database: "postgres"))\"\nconnect_retries = 6\n")
        try project.migration("001_late", parent: nil, up: "CREATE TABLE late (id int);", down: "DROP TABLE late;")
        try project.gitInitAndCommit()

        let run = try BackgroundRun(project, ["upgrade", "dev"])
        #expect(waitUntil(timeout: 20) { run.stderrSoFar.contains("cannot connect yet") }, "\(run.stderrSoFar)")
        try sandbox.start()
        let result = run.wait()
        #expect(result.exitCode == 0, "\(result.output)")
        #expect(result.stderr.contains("environment `dev`: cannot connect yet"))
        #expect(result.stderr.contains("attempt 2 of 7 in 0.5s"))
        #expect(result.stdout.contains("dev: applied 1 revision(s)"))
    }

    @Test("retries are bounded: a server that never comes is given up on after connect_retries attempts")
    func boundedRetries() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.write(
            "environments/dev.toml",
            "database_url = \"host=/tmp/orchestrate-no-server-here port=5999 dbname=app\"\nconnect_retries = 2\n")
        try project.migration("001_a", parent: nil, up: "SELECT 1;")
        let started = Date()
        let result = try project.run(["upgrade", "dev"])
        #expect(result.exitCode == 3, "\(result.output)")
        #expect(result.stderr.contains("attempt 2 of 3 in 0.5s"))
        #expect(result.stderr.contains("attempt 3 of 3 in 1.0s"))
        #expect(!result.stderr.contains("attempt 4"))
        #expect(result.stderr.contains("cannot connect to host=/tmp/orchestrate-no-server-here"))
        #expect(Date().timeIntervalSince(started) < 6)
    }

    @Test("an authentication failure is not retried")
    func authenticationIsNotRetried() throws {
        var pairs = try ConnInfo.parse(try TestPostgres.serverConninfo()).filter { $0.keyword != "user" }
        pairs.append((keyword: "user", value: "no_such_role_for_orchestrate"))
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.write(
            "environments/dev.toml", "database_url = \"\(ConnInfo.format(pairs))\"\nconnect_retries = 5\n")
        try project.migration("001_a", parent: nil, up: "SELECT 1;")
        let started = Date()
        let result = try project.run(["upgrade", "dev"])
        #expect(result.exitCode == 3, "\(result.output)")
        #expect(result.stderr.contains("no_such_role_for_orchestrate"))
        #expect(!result.stderr.contains("cannot connect yet"))
        #expect(result.stderr.contains("check the user and password"))
        #expect(Date().timeIntervalSince(started) < 3)
    }
}
