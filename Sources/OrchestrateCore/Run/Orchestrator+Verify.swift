import Foundation
import Migrations
import Postgres

/// A step of `verify`'s round trip; the JSON value is the raw value.
public enum VerifyPhase: String, Sendable, Codable {
    case up
    case down
    case upAgain = "up again"
}

/// How `verify` checks; the JSON value is the raw value.
public enum VerifyMode: String, Sendable, Codable {
    /// Up, down, up again.
    case roundTrip = "round trip"
    /// Every revision applies; nothing is reverted.
    case upOnly = "up only"
}

/// What `verify` found.
public struct VerifyReport: Sendable, Codable {
    /// One step of the round trip.
    public struct Check: Sendable, Codable {
        /// `up`, `down` or `up again`.
        public var phase: VerifyPhase
        /// The revision whose section ran.
        public var revision: String
        /// Whether the step ran and left the schema it should.
        public var ok: Bool
        /// What went wrong, when something did.
        public var problem: String?
        /// The schema left compared with the schema expected: `+` left behind, `-` missing, `~` different.
        public var differences: [SchemaDifference]
    }
    /// The scratch database, for display.
    public var database: String
    /// Whether verify created the database (and dropped it afterwards).
    public var createdScratchDatabase: Bool
    /// The revisions, in the order they were applied.
    public var revisions: [String]
    /// The steps, in the order they ran.
    public var checks: [Check]
    /// The revision without a down section that ended the way down, if any (the revisions below it are not
    /// round-tripped).
    public var stoppedAtIrreversible: String?
    /// `round trip` (up, down, up again) or `up only` (every revision applies; the schema after each is recorded).
    public var mode: VerifyMode
    /// The revisions whose down section ran and whose up section ran again, both checked.
    public var roundTripped: [String]
    /// The revisions in range that were not round-tripped (an irreversible revision on the way down, the revisions
    /// below it, or a step that failed first). In `up only` mode, every revision.
    public var notRoundTripped: [String]
    /// The schema objects after the last up step (`table public.users`, ...), sorted.
    public var schema: [String]
    /// What verify left in a `--url` database: nil when it was left as it was found.
    public var leftBehind: String?

    /// How many steps failed.
    public var problemCount: Int { checks.filter { !$0.ok }.count }

    /// Whether everything asked for was checked and passed: no failed step and, in round-trip mode, every revision
    /// in range round-tripped.
    public var passed: Bool { problemCount == 0 && (mode == .upOnly || notRoundTripped.isEmpty) }
}

extension Orchestrator {
    /// Applies every revision up to `target` to a scratch database, reverts them all newest first with their down
    /// sections, and applies them again, comparing catalog snapshots at each step: a down section must undo exactly
    /// what its up section did, and an up section run again must do what it did the first time. Each difference, and
    /// each section that fails, is reported against its revision.
    ///
    /// The scratch database is a new database on the project's sandbox (dropped afterwards; a sandbox verify had to
    /// start is stopped again), or `url`, which must hold no table, view, function or type of its own yet (verify's own
    /// ledger is ignored) and is left as it was found when every revision could be reverted. It runs through the same
    /// executor as `upgrade`.
    ///
    /// With `upOnly`, for projects without down sections: every revision is applied and the schema after each is
    /// recorded; nothing is reverted.
    public func verify(
        to target: Target = .head, url: String? = nil, upOnly: Bool = false
    ) throws(OrchestrateError) -> VerifyReport {
        let migrations = try project.loadMigrations()
        if case .head = target, migrations.graph.heads.count > 1 {
            throw planError(.graph(.multipleHeads(migrations.graph.heads)), environment: "verify")
        }
        let resolved = try resolve(target, in: migrations.graph, environment: "verify")
        let plan: Plan
        do throws(PlanError) {
            plan = try Planner.upgrade(graph: migrations.graph, applied: [], to: resolved)
        } catch {
            throw planError(error, environment: "verify")
        }
        let files = plan.revisions.compactMap { migrations.files[$0] }
        var problems = Preflight.problems(applying: files)
        for file in files {
            if let down = file.down {
                problems += Preflight.problems(
                    reverting: file.revision, down: down, transactional: file.transactional,
                    path: file.path, firstLine: file.downStartLine ?? 1)
            }
        }
        if let refusal = Preflight.refusal(problems) { throw refusal }

        let scratch = try ScratchDatabase.open(for: "verify", url: url, projectRoot: project.root, progress: progress)
        defer { scratch.release(progress: progress) }
        let session = try openScratchSession(scratch, name: "verify", option: "--url")
        defer { session.close() }
        let environment = session.environment
        let executor = RevisionExecutor(session: session, action: .verify)
        func snapshot() throws(OrchestrateError) -> SchemaSnapshot {
            let work = try session.work()
            do throws(PostgresError) {
                return try SchemaSnapshot.read(from: work, excludedSchemas: [environment.ledgerSchema])
            } catch {
                throw .operation("verify: cannot read the catalog of \(scratch.display)", error)
            }
        }

        var report = VerifyReport(
            database: scratch.display, createdScratchDatabase: scratch.created,
            revisions: plan.revisions, checks: [], stoppedAtIrreversible: nil,
            mode: upOnly ? .upOnly : .roundTrip, roundTripped: [],
            notRoundTripped: plan.revisions, schema: [], leftBehind: nil)
        if url != nil {
            report.leftBehind = "the revisions verify applied, and its ledger (schema \(environment.ledgerSchema))"
        }
        // Pass 1: up, remembering the schema after each revision.
        var states = [try snapshot()]
        for file in files {
            do {
                try executor.apply(file, promotedFrom: nil)
            } catch {
                if error.category == .interrupted { throw error }
                report.checks.append(
                    .init(
                        phase: .up, revision: file.revision, ok: false,
                        problem: "the up section failed: \(error.message)", differences: []))
                return report
            }
            states.append(try snapshot())
            report.checks.append(.init(phase: .up, revision: file.revision, ok: true, problem: nil, differences: []))
        }
        report.schema = states.last.map { $0.objects.keys.sorted() } ?? []
        if upOnly { return report }

        // Down, newest first: each down section must undo exactly what its up section did.
        let rows: [String: AppliedRevision]
        do throws(PostgresError) {
            rows = Dictionary(
                try session.ledger.appliedRevisions().map { ($0.revision, $0) }, uniquingKeysWith: { a, _ in a })
        } catch {
            throw .operation("verify: cannot read the ledger", error)
        }
        var reverted: [Int] = []
        for index in files.indices.reversed() {
            let file = files[index]
            guard let down = file.down, let row = rows[file.revision] else {
                report.stoppedAtIrreversible = file.revision
                break
            }
            let before = try snapshot()
            do {
                try executor.revert(row, down: down, displayPath: "\(file.path) (down)")
            } catch {
                if error.category == .interrupted { throw error }
                report.checks.append(
                    .init(
                        phase: .down, revision: file.revision, ok: false,
                        problem: "the down section failed: \(error.message)", differences: []))
                return report
            }
            let expected = before.applying(states[index + 1].differences(to: states[index]))
            let differences = Self.attributable(
                expected.differences(to: try snapshot()), drift: states[index + 1], before)
            report.checks.append(
                .init(
                    phase: .down, revision: file.revision, ok: differences.isEmpty,
                    problem: differences.isEmpty ? nil : "its down section does not undo what its up section did",
                    differences: differences))
            reverted.append(index)
        }

        // Up again: each up section must do what it did the first time.
        for index in reverted.reversed() {
            let file = files[index]
            let before = try snapshot()
            do {
                try executor.apply(file, promotedFrom: nil)
            } catch {
                if error.category == .interrupted { throw error }
                report.checks.append(
                    .init(
                        phase: .upAgain, revision: file.revision, ok: false,
                        problem: "the up section failed after its down section ran: \(error.message)",
                        differences: []))
                return report
            }
            let expected = before.applying(states[index].differences(to: states[index + 1]))
            let differences = Self.attributable(expected.differences(to: try snapshot()), drift: states[index], before)
            report.checks.append(
                .init(
                    phase: .upAgain, revision: file.revision, ok: differences.isEmpty,
                    problem: differences.isEmpty
                        ? nil : "applied again after its down section, it gives a different schema than the first time",
                    differences: differences))
            report.roundTripped.append(file.revision)
        }
        let done = Set(report.roundTripped)
        report.notRoundTripped = plan.revisions.filter { !done.contains($0) }

        // A `--url` database is left as it was found when every revision can be reverted again.
        if url != nil, report.notRoundTripped.isEmpty, report.problemCount == 0 {
            try restore(
                files: files, executor: executor, session: session, ledgerSchema: environment.ledgerSchema,
                display: scratch.display)
            report.leftBehind = nil
        }
        return report
    }

    /// Reverts every revision of `files` again, newest first, and drops verify's own ledger: the `--url` database is
    /// then as verify found it.
    private func restore(
        files: [MigrationFile], executor: RevisionExecutor, session: EnvironmentSession,
        ledgerSchema: String, display: String
    ) throws(OrchestrateError) {
        let rows: [String: AppliedRevision]
        do throws(PostgresError) {
            rows = Dictionary(
                try session.ledger.appliedRevisions().map { ($0.revision, $0) }, uniquingKeysWith: { a, _ in a })
        } catch {
            throw .operation("verify: cannot read the ledger", error)
        }
        for file in files.reversed() {
            guard let down = file.down, let row = rows[file.revision] else { continue }
            try executor.revert(row, down: down, displayPath: "\(file.path) (down)")
        }
        let work = try session.work()
        do throws(PostgresError) {
            try work.execute("DROP SCHEMA IF EXISTS \(try work.quoteIdentifier(ledgerSchema)) CASCADE")
        } catch {
            throw .operation("verify: cannot drop its ledger (schema \(ledgerSchema)) in \(display)", error)
        }
    }

    /// The differences a step is to blame for: objects that had already drifted before it (left behind or removed by
    /// an earlier faulty step, compared with the clean state `clean`) are that step's fault, not this one's, even
    /// when this step drops them along with their table.
    static func attributable(
        _ differences: [SchemaDifference], drift clean: SchemaSnapshot,
        _ before: SchemaSnapshot
    ) -> [SchemaDifference] {
        let drifted = Set(clean.differences(to: before).map(\.object))
        return differences.filter { !drifted.contains($0.object) }
    }

    /// Refuses a `--url` database that already holds objects of its own: verify would change them.
    /// Refuses a scratch database given with `option` that holds objects of its own (its ledger aside).
    func requireEmpty(
        _ scratch: ScratchDatabase, _ environment: EnvironmentConfig, command: String,
        option: String
    ) throws(OrchestrateError) {
        let connection = try EnvironmentDatabase.connect(
            environment, conninfo: scratch.conninfo,
            applicationName: "orchestrate \(command) (read)", interruptions: interruptions, progress: progress)
        defer { connection.close() }
        let existing: SchemaSnapshot
        do throws(PostgresError) {
            existing = try SchemaSnapshot.read(from: connection, excludedSchemas: [environment.ledgerSchema])
        } catch {
            throw .operation("\(command): cannot read the catalog of \(scratch.display)", error)
        }
        let objects = existing.objects.keys.filter { $0 != "schema public" }.sorted()
        if !objects.isEmpty {
            throw .usage(
                "\(command) needs an empty scratch database, and \(scratch.display) holds \(objects.count) object(s): \(Listing.items(objects, limit: 5, counted: false)); nothing was run",
                hint:
                    "give \(option) a new, empty database, or leave \(option) out to use a throwaway database on the sandbox"
            )
        }
    }
}

/// The database `verify` (or `baseline`, …) works in: a new one on the project's sandbox, or the one given by URL.
struct ScratchDatabase {
    /// The command that uses it (`verify`), for its messages and the scratch database's name.
    var command: String
    var conninfo: String
    var display: String
    /// True when the command created it on the sandbox (it is dropped afterwards).
    var created: Bool
    var sandbox: Sandbox?
    var name: String?
    /// True when the command had to start the sandbox (it is stopped again afterwards).
    var startedSandbox = false

    static func open(
        for command: String, url: String?, projectRoot: String, progress: ProgressHandler
    ) throws(OrchestrateError) -> ScratchDatabase {
        if let url {
            return ScratchDatabase(
                command: command, conninfo: url, display: ConnInfo.redacted(url), created: false, sandbox: nil,
                name: nil)
        }
        let sandbox = Sandbox(projectRoot: projectRoot)
        var started = true
        switch try sandbox.start() {
        case .alreadyRunning: started = false
        case .started:
            progress(.notice("started the sandbox PostgreSQL (\(sandbox.directory)); \(command) stops it again"))
        case .initializedAndStarted:
            progress(
                .notice("created and started the sandbox PostgreSQL (\(sandbox.directory)); \(command) stops it again"))
        }
        var scratch = ScratchDatabase(
            command: command, conninfo: "", display: "", created: false, sandbox: sandbox, name: nil,
            startedSandbox: started)
        let name = "orchestrate_\(command)_" + UUID().uuidString.prefix(8).lowercased()
        do {
            try sandbox.ensureDatabase(name)
        } catch {
            scratch.release(progress: progress)
            throw error
        }
        scratch.conninfo = sandbox.conninfo(database: name)
        scratch.display = "sandbox:\(name)"
        scratch.created = true
        scratch.name = name
        return scratch
    }

    /// The configuration of an environment named `name` in this database: its ledger in `orchestrate` when the
    /// database is a throwaway one, in `orchestrate_<name>` in a database given by URL.
    func environment(name: String) -> EnvironmentConfig {
        EnvironmentConfig(
            name: name, path: name, databaseURL: conninfo, promotesFrom: nil, branch: nil, isProtected: false,
            lockTimeout: .seconds(10), ddlLockTimeout: .seconds(10), ddlLockRetries: 0, statementTimeout: .seconds(0),
            connectRetries: 2, ledgerSchema: created ? "orchestrate" : "orchestrate_\(name)", transactionMode: .revision
        )
    }

    /// Drops the database the command created, and stops the sandbox when it started it; does nothing for a URL.
    func release(progress: ProgressHandler) {
        drop(progress: progress)
        guard startedSandbox, let sandbox else { return }
        do {
            try sandbox.stop()
        } catch {
            progress(.warning("\(command): cannot stop the sandbox it started: \(error.message)"))
        }
    }

    /// Drops the database the command created; does nothing for a URL.
    private func drop(progress: ProgressHandler) {
        guard created, let sandbox, let name else { return }
        do {
            let admin = try Connection(
                conninfo: sandbox.conninfo(database: "postgres"), applicationName: "orchestrate \(command)")
            defer { admin.close() }
            try admin.execute("DROP DATABASE IF EXISTS \(try admin.quoteIdentifier(name)) WITH (FORCE)")
        } catch {
            progress(.warning("\(command): cannot drop the scratch database \(name) on the sandbox: \(error)"))
        }
    }
}
