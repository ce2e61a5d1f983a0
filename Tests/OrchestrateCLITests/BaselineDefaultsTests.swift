import Foundation
import TestSupport
import Testing

/// What `baseline` does when the user gives it nothing more: the project's sandbox as its scratch database, and, on a
/// protected environment, the typed confirmation on a terminal.
@Suite("baseline defaults", .serialized)
struct BaselineDefaultsTests {
    /// A project with two chained revisions whose tables already exist in dev, as another tool left them.
    static func adoptedProject(extra: String = "") throws -> (TestProject, String) {
        let project = try TestProject()
        let database = try project.environment("dev", extra: extra)
        try project.migration("001_a", parent: nil, up: "CREATE TABLE a (id int);", down: "DROP TABLE a;")
        try project.migration("002_b", parent: "001_a", up: "CREATE TABLE b (id int);", down: "DROP TABLE b;")
        try project.gitInitAndCommit()
        try TestPostgres.execute(database, "CREATE TABLE a (id int); CREATE TABLE b (id int)")
        return (project, database)
    }

    @Test("without --scratch-url, baseline compares on a throwaway database of the project's sandbox, then stops it")
    func sandboxScratch() throws {
        let (project, database) = try Self.adoptedProject()
        defer {
            _ = try? project.run(["sandbox", "stop"])
            project.cleanUp()
        }
        let result = try project.run(["baseline", "dev", "--to", "002_b", "--reason", "adopt"])
        #expect(result.exitCode == 0, "\(result.output)")
        #expect(result.stderr.contains("started the sandbox PostgreSQL"), "\(result.output)")
        #expect(result.stderr.contains("baseline stops it again"), "\(result.output)")
        #expect(!result.output.contains("NOTICE"), "creating the ledger prints no notices: \(result.output)")
        #expect(
            try TestPostgres.query(database, "SELECT count(*) FROM orchestrate.revisions WHERE baselined")[0][0] == "2")
        // baseline started the sandbox, so it stopped it again.
        let status = try project.run(["sandbox", "status"])
        #expect(!status.stdout.contains("running on"), "\(status.output)")
    }

    @Test(
        "a protected environment's baseline asks for its name on a terminal: another answer runs nothing, the name runs"
    )
    func protectedConfirmation() throws {
        let (project, database) = try Self.adoptedProject(extra: "protected = true\n")
        defer { project.cleanUp() }
        let scratch = try TestPostgres.createDatabase(prefix: "t_baseline")
        defer { TestPostgres.dropDatabase(scratch.name) }
        let binary = try TestProject.binaryPath()
        let command = [
            binary, "baseline", "dev", "--to", "002_b", "--reason", "adopt", "--scratch-url", scratch.conninfo,
        ]
        .map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")

        // `script` gives the run a terminal on stdin and stderr, fed from our stdin.
        func confirm(_ answer: String) throws -> TestProject.RunResult {
            try TestProject.runProgram(
                "/usr/bin/script", ["-qec", command, "/dev/null"], environment: ["NO_COLOR": "1"],
                directory: project.root, stdin: answer + "\n", timeout: 60)
        }
        let wrong = try confirm("production")
        #expect(wrong.exitCode == 1, "\(wrong.output)")
        #expect(wrong.output.contains("`dev` is protected. Type its name to baseline"), "\(wrong.output)")
        #expect(wrong.output.contains("not confirmed; nothing was run"), "\(wrong.output)")
        #expect(try TestPostgres.query(database, "SELECT to_regclass('orchestrate.revisions') IS NULL")[0][0] == "t")

        let right = try confirm("dev")
        #expect(right.exitCode == 0, "\(right.output)")
        #expect(
            try TestPostgres.query(database, "SELECT count(*) FROM orchestrate.revisions WHERE baselined")[0][0] == "2")
    }
}
