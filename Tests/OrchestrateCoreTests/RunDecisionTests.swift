import Foundation
import Migrations
import Testing

@testable import OrchestrateCore

/// The writing commands' decisions from literal values: no file, git or database.
@Suite("run decisions (pure)")
struct RunDecisionTests {
    static func environment(_ name: String = "dev", branch: String? = nil) -> EnvironmentConfig {
        EnvironmentConfig(
            name: name, path: "environments/\(name).toml", databaseURL: "sandbox:\(name)", promotesFrom: nil,
            branch: branch, isProtected: false, lockTimeout: .seconds(60), ddlLockTimeout: .seconds(5),
            ddlLockRetries: 3, statementTimeout: .seconds(0), connectRetries: 3, ledgerSchema: "orchestrate",
            transactionMode: .revision)
    }

    static func file(
        _ id: String, parent: String?, up: String = "SELECT 1;", down: String? = "SELECT 1;",
        header: String = ""
    ) throws -> MigrationFile {
        var text = (parent.map { "-- parent: \($0)\n" } ?? "") + header + "-- migrate:up\n\(up)\n"
        if let down { text += "-- migrate:down\n\(down)\n" }
        return try MigrationFile.parse(path: "migrations/\(id).sql", bytes: Array(text.utf8))
    }

    static func set(_ files: [MigrationFile]) throws -> MigrationSet { try MigrationSet(files: files) }

    /// The refusal `body` throws, nil when it does not.
    static func refusal(_ body: () throws -> Void) -> OrchestrateError? {
        do {
            try body()
            return nil
        } catch let error as OrchestrateError {
            return error
        } catch {
            return nil
        }
    }

    static func row(
        _ file: MigrationFile, checksum: String? = nil, state: AppliedRevision.State = .applied
    ) -> AppliedRevision {
        AppliedRevision(
            revision: file.revision, parents: file.parents, checksum: checksum ?? file.checksum,
            transactional: file.transactional, state: state, statementsDone: state == .applied ? nil : 1,
            statementsTotal: state == .applied ? nil : 3, appliedAt: "2026-01-01T00:00:00Z", databaseUser: "app",
            osUser: nil, host: nil, gitCommit: nil, gitBranch: nil, gitDirty: nil, durationMilliseconds: nil,
            promotedFrom: nil, isReversible: file.down != nil)
    }

    @Test("upgrade plans what the environment lacks, --steps keeps a prefix, an edit after apply is a warning")
    func upgrade() throws {
        let a = try Self.file("a", parent: nil), b = try Self.file("b", parent: "a"),
            c = try Self.file("c", parent: "b")
        let migrations = try Self.set([a, b, c])
        let decided = try RunDecision.upgrade(
            environment: Self.environment(), migrations: migrations, target: .head,
            applied: [Self.row(a, checksum: "0000")], options: RunOptions(steps: 1))
        #expect(decided.prepared.plan.revisions == ["b"])
        #expect(decided.warnings.count == 1)
        #expect(decided.warnings[0].contains("migrations/a.sql was edited after it was applied to `dev`"))
    }

    @Test(
        "upgrade refuses an interrupted revision, a pre-flight problem, and a single transaction over a loose revision")
    func upgradeRefusals() throws {
        let a = try Self.file("a", parent: nil)
        let b = try Self.file("b", parent: "a", up: "CREATE INDEX CONCURRENTLY i ON t (id);")
        let loose = try Self.file(
            "b", parent: "a", up: "CREATE INDEX CONCURRENTLY i ON t (id);", header: "-- transaction: false\n")
        #expect(throws: OrchestrateError.self) {
            _ = try RunDecision.upgrade(
                environment: Self.environment(), migrations: try Self.set([a]), target: .head,
                applied: [Self.row(a, state: .running)], options: RunOptions())
        }
        let error = try #require(
            Self.refusal {
                _ = try RunDecision.upgrade(
                    environment: Self.environment(), migrations: try Self.set([a, b]), target: .head,
                    applied: [], options: RunOptions())
            }, "expected the pre-flight to refuse")
        #expect(
            error.message.contains(
                "migrations/b.sql:3: `CREATE INDEX CONCURRENTLY` cannot run inside a transaction block"))
        let error2 = try #require(
            Self.refusal {
                _ = try RunDecision.upgrade(
                    environment: Self.environment(), migrations: try Self.set([a, loose]), target: .head,
                    applied: [], options: RunOptions(singleTransaction: true))
            }, "expected the single transaction to be refused")
        #expect(error2.message.contains("--single-transaction"))
        #expect(error2.category == .usage)
    }

    @Test("promote takes only what the source runs, and refuses a file edited since the source ran it, naming it")
    func promote() throws {
        let a = try Self.file("a", parent: nil), b = try Self.file("b", parent: "a"),
            c = try Self.file("c", parent: "b")
        let migrations = try Self.set([a, b, c])
        let prepared = try RunDecision.promote(
            environment: Self.environment("staging"), sourceName: "dev",
            migrations: migrations, sourceRunning: [Self.row(a), Self.row(b)],
            target: .head, applied: [Self.row(a)], options: RunOptions())
        #expect(prepared.plan.revisions == ["b"])
        let error = try #require(
            Self.refusal {
                _ = try RunDecision.promote(
                    environment: Self.environment("staging"), sourceName: "dev", migrations: migrations,
                    sourceRunning: [Self.row(a), Self.row(b, checksum: "ffff")], target: .head,
                    applied: [Self.row(a)], options: RunOptions())
            }, "expected the edited file to be refused")
        #expect(error.category == .policy)
        #expect(error.revision == "b", "the refusal event names the revision")
        #expect(error.message.contains("migrations/b.sql differs from what `dev` ran"))
        let error2 = try #require(
            Self.refusal {
                _ = try RunDecision.promote(
                    environment: Self.environment("staging"), sourceName: "dev", migrations: migrations,
                    sourceRunning: [Self.row(a)], target: .revision("c"), applied: [],
                    options: RunOptions(), isFirstStage: { _ in true })
            }, "expected c to be refused: dev does not run it")
        #expect(error2.message.contains("revision c does not run in `dev`"))
        #expect(error2.hint?.contains("`orchestrate upgrade dev --to c`") == true)
    }

    @Test(
        "downgrade plans from the ledger's own graph, refuses irreversible revisions, and reverts with the recorded SQL"
    )
    func downgrade() throws {
        let a = try Self.file("a", parent: nil, down: nil), b = try Self.file("b", parent: "a"),
            c = try Self.file("c", parent: "b")
        let applied = [Self.row(a), Self.row(b), Self.row(c)]
        let plan = try RunDecision.downgradePlan(
            environment: Self.environment(), applied: applied, to: .revision("a"), steps: nil)
        #expect(plan.revisions == ["c", "b"])
        let prepared = try RunDecision.downgrade(
            environment: Self.environment(), plan: plan, applied: applied,
            downSQL: ["c": "DROP TABLE c;", "b": "DROP TABLE b;"], options: RunOptions())
        #expect(prepared.items.map(\.revision) == ["c", "b"])
        #expect(throws: OrchestrateError.self) {
            _ = try RunDecision.downgradePlan(environment: Self.environment(), applied: applied, to: .base, steps: nil)
        }
        let graph = try Self.set([a, b, c, try Self.file("d", parent: "c")]).graph
        let error = try #require(
            Self.refusal {
                _ = try RunDecision.downgradePlan(
                    environment: Self.environment(), applied: applied, to: .revision("d"), steps: nil,
                    fileGraph: { graph })
            }, "expected d to be refused: it is not applied")
        #expect(error.message.contains("revision d is not applied to `dev`"))
    }

    @Test("the branch gate judges git's facts: not committed, added off the branch, on the branch")
    func branchGate() throws {
        let a = try Self.file("a", parent: nil), b = try Self.file("b", parent: "a")
        let environment = Self.environment("production", branch: "main")
        try BranchGate.decide(files: [a, b], environment: environment, facts: ["migrations/a.sql": .onBranch])
        #expect(throws: OrchestrateError.self) {
            try BranchGate.decide(files: [a, b], environment: environment, facts: ["migrations/b.sql": .notCommitted])
        }
        let error = try #require(
            Self.refusal {
                try BranchGate.decide(
                    files: [b], environment: environment,
                    facts: ["migrations/b.sql": .addedOffBranch(commit: "abc1234", summary: "Add b")])
            }, "expected b to be refused")
        #expect(error.message.contains("added in commit abc1234 (Add b), which is not on branch `main`"))
        // Without a branch, no fact matters.
        try BranchGate.decide(files: [b], environment: Self.environment(), facts: ["migrations/b.sql": .notCommitted])
    }
}
