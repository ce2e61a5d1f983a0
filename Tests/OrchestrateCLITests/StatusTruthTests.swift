import Foundation
import TestSupport
import Testing

/// `status` never guesses: what it cannot know it says it does not know, with the cause.
@Suite("status tells the truth")
struct StatusTruthTests {
    /// dev (reachable, two revisions applied), staging (promotes from dev), production (promotes from staging).
    static func pipeline(staging: String) throws -> TestProject {
        let project = try TestProject()
        try project.environment("dev")
        try project.write("environments/staging.toml", staging)
        try project.environment("production", promotesFrom: "staging")
        try project.migration("001_users", parent: nil, up: "CREATE TABLE users (id int);", down: "DROP TABLE users;")
        try project.migration("002_email", parent: "001_users", up: "ALTER TABLE users ADD COLUMN email text;")
        try project.gitInitAndCommit()
        let upgrade = try project.run(["upgrade", "dev"])
        #expect(upgrade.exitCode == 0, "\(upgrade.output)")
        return project
    }

    @Test("an unreachable source stage: the later stage's pending list is unknown, with the cause, and status exits 3")
    func unreachableSource() throws {
        let project = try Self.pipeline(
            staging: """
                database_url = "host=/tmp/orchestrate-no-such-socket-dir port=1 dbname=staging user=x"
                promotes_from = "dev"
                connect_retries = 0

                """)
        defer { project.cleanUp() }
        let status = try project.run(["status", "production"])
        #expect(status.exitCode == 3, "\(status.output)")
        #expect(!status.stdout.contains("pending  none"), "\(status.stdout)")
        #expect(status.stdout.contains("pending  unknown: staging could not be read"), "\(status.stdout)")

        let json = try project.run(["status", "--json"])
        #expect(json.exitCode == 3)
        let all = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(all.map { $0["name"] as? String } == ["dev", "staging", "production"], "pipeline order")
        let production = try #require(all.last)
        #expect(production["pendingKnown"] as? Bool == false)
        #expect((production["sourceError"] as? String)?.isEmpty == false)
        #expect(all.first?["pendingKnown"] as? Bool == true)
    }

    @Test("a source stage whose file does not load keeps its place in the pipeline, and the cause is named")
    func brokenSource() throws {
        let project = try Self.pipeline(
            staging: """
                database_url = "${STAGING_DATABASE_URL}"
                promotes_from = "dev"

                """)
        defer { project.cleanUp() }
        let status = try project.run(["status"])
        #expect(status.exitCode == 3, "\(status.output)")
        #expect(!status.output.contains("which is not an environment"), "\(status.output)")
        let lines = status.stdout.split(separator: "\n").map(String.init)
        let titles = lines.filter { !$0.hasPrefix(" ") && !$0.isEmpty }
        #expect(titles.count == 3)
        #expect(titles[0].hasPrefix("dev") && titles[0].contains("(first stage)"))
        #expect(titles[1].hasPrefix("staging") && titles[1].contains("(promotes from dev)"), "\(titles)")
        #expect(titles[2].hasPrefix("production") && titles[2].contains("(promotes from staging)"))
        #expect(status.stdout.contains("STAGING_DATABASE_URL"), "the cause is named: \(status.stdout)")
        #expect(status.stdout.contains("pending  unknown: staging could not be read"))

        // Every command that needs staging names the cause.
        let promote = try project.run(["promote", "production"])
        #expect(promote.exitCode == 2, "\(promote.output)")
        #expect(promote.stderr.contains("STAGING_DATABASE_URL"), "\(promote.stderr)")
        #expect(!promote.stderr.contains("which is not an environment"))
    }

    @Test("a source stage whose TOML does not even parse: its place is unknown, not 'first stage'")
    func unparsableSource() throws {
        let project = try Self.pipeline(staging: "database_url = \"x\npromotes_from = \n")
        defer { project.cleanUp() }
        let status = try project.run(["status"])
        #expect(status.exitCode == 3, "\(status.output)")
        let staging = status.stdout.split(separator: "\n").first { $0.hasPrefix("staging") }
        #expect(staging?.contains("(place in the pipeline unknown)") == true, "\(status.stdout)")
        #expect(staging?.contains("first stage") == false)
        #expect(status.stdout.contains("pending  unknown: staging could not be read"), "\(status.stdout)")
    }

    @Test("an interrupted non-transactional revision is shown next to where the environment stands, not instead")
    func interruptedPosition() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.environment("dev")
        try project.migration("001_users", parent: nil, up: "CREATE TABLE users (id int);")
        try project.migration("002_email", parent: "001_users", up: "ALTER TABLE users ADD COLUMN email text;")
        try project.migration(
            "003_index", parent: "002_email",
            up: "CREATE INDEX CONCURRENTLY users_id ON users (id);\nCREATE INDEX CONCURRENTLY nope ON missing (id);",
            header: "-- transaction: false\n")
        try project.gitInitAndCommit()
        let upgrade = try project.run(["upgrade", "dev"])
        #expect(upgrade.exitCode == 3, "\(upgrade.output)")
        let status = try project.run(["status", "dev"])
        #expect(
            status.stdout.contains("at       002_email (2 applied), then 003_index interrupted while applying"),
            "\(status.stdout)")
        #expect(!status.stdout.contains("at       base"))
        let json = try project.run(["status", "dev", "--json"])
        let dev = try #require(
            (try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])?.first)
        #expect(dev["headsApplied"] as? [String] == ["002_email"])
        #expect((dev["interrupted"] as? [[String: Any]])?.first?["revision"] as? String == "003_index")
    }
}
