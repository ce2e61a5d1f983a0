import Foundation
import Migrations
import Postgres

/// The writing commands: upgrade, promote, downgrade, freeze and thaw, repair.
///
/// Each run loads what it needs, decides with the pure planner before anything runs, then takes the environment lock
/// and executes. Every outcome, failures included, lands in the event log.
public final class Orchestrator: Sendable {
    /// The project.
    public let project: Project
    /// Who runs.
    public let actor: Actor
    /// Where progress goes.
    public let progress: ProgressHandler

    /// Makes an orchestrator for `project`.
    public init(project: Project, actor: Actor = .current(), progress: @escaping ProgressHandler) {
        self.project = project
        self.actor = actor
        self.progress = progress
    }

    // MARK: - upgrade

    /// Applies migration files to a first-stage environment, up to `target` (default: the single head).
    public func upgrade(_ name: String, to target: Target = .head,
                        options: RunOptions = RunOptions()) throws(OrchestrateError) -> RunReport {
        let context = try upgradeContext(name, to: target)
        return try locked(context.environment, action: .upgrade, isFirstStage: true) { (applied, _) throws(OrchestrateError) in
            try prepareUpgrade(context, applied: applied, options: options)
        }
    }

    /// The shell of every applying run: the locked session, the decision over what the environment runs (`prepare`,
    /// which may record a refusal with its revision through its second argument; any other refusal is recorded
    /// here), the git provenance, then the execution.
    private func locked(
        _ environment: EnvironmentConfig, action: RunAction, isFirstStage: Bool,
        prepare: ([AppliedRevision], (String?, EventOutcome, String) -> Void) throws(OrchestrateError) -> PreparedRun
    ) throws(OrchestrateError) -> RunReport {
        let session = try EnvironmentSession.open(environment, projectRoot: project.root, command: "\(action) \(environment.name)",
                                                  actor: actor, provenance: nil, progress: progress)
        defer { session.close() }
        var recorded = false
        let prepared: PreparedRun
        do throws(OrchestrateError) {
            prepared = try prepare(try readApplied(session)) { revision, outcome, message in
                recorded = true
                recordRefusal(session, action: action, revision: revision, outcome: outcome, message: message)
            }
        } catch {
            if !recorded { recordRefusal(session, action: action, error) }
            throw error
        }
        try readProvenance(session, prepared, isFirstStage: isFirstStage)
        return try execute(session: session, prepared)
    }

    /// Reads the git provenance into the session once the plan turns out not to be empty: a run that writes nothing
    /// records nothing, so it needs neither git (whose start-up alone costs ~10 ms) nor a clean tree. A refusal (a
    /// later stage with uncommitted changes, no repository) is written to the event log.
    private func readProvenance(_ session: EnvironmentSession, _ prepared: PreparedRun,
                                isFirstStage: Bool) throws(OrchestrateError) {
        guard !prepared.plan.isEmpty else { return }
        do {
            session.run.git = try GitProvenance.current(projectRoot: project.root, environment: session.environment,
                                                        isFirstStage: isFirstStage, progress: progress)
        } catch {
            recordRefusal(session, action: prepared.action, error)
            throw error
        }
    }

    /// What `upgrade` knows before it touches the database.
    struct UpgradeContext {
        var environment: EnvironmentConfig
        var migrations: MigrationSet
        var target: Target
    }

    func upgradeContext(_ name: String, to target: Target) throws(OrchestrateError) -> UpgradeContext {
        let environment = try project.environment(name)
        let pipeline = try project.validPipeline()
        if let source = pipeline.source(of: name) {
            throw .usage("environment `\(name)` promotes from `\(source)`: it takes revisions only from there",
                         hint: "run `orchestrate promote \(name)`; `upgrade` is for first stages (\(pipeline.order.filter(pipeline.isFirstStage).joined(separator: ", ")))")
        }
        let migrations = try project.loadMigrations()
        if case .head = target, migrations.graph.heads.count > 1 {
            throw planError(.graph(.multipleHeads(migrations.graph.heads)), environment: name)
        }
        return UpgradeContext(environment: environment, migrations: migrations,
                              target: try resolve(target, in: migrations.graph, environment: name))
    }

    /// Decides an upgrade from what the environment runs; refuses anything that must not run.
    func prepareUpgrade(_ context: UpgradeContext, applied: [AppliedRevision],
                        options: RunOptions) throws(OrchestrateError) -> PreparedRun {
        let name = context.environment.name
        let migrations = context.migrations
        try refuseInterrupted(applied, environment: name)
        let plan: Plan
        do throws(PlanError) {
            plan = try Planner.upgrade(graph: migrations.graph, applied: Set(applied.map(\.revision)), to: context.target)
                .first(options.steps)
        } catch {
            throw planError(error, environment: name)
        }
        for row in applied {
            if let file = migrations.files[row.revision], file.checksum != row.checksum {
                progress(.warning("\(file.path) was edited after it was applied to `\(name)` (checksum \(row.checksum.prefix(12)) -> \(file.checksum.prefix(12))); later stages will refuse it until `orchestrate repair \(name) \(row.revision) --reason TEXT` or the edit is reverted"))
            }
        }
        let files = plan.revisions.compactMap { migrations.files[$0] }
        try BranchGate.check(files: files, environment: context.environment, projectRoot: project.root)
        return try PreparedRun(action: .upgrade, environment: context.environment, source: nil, plan: plan,
                               items: files.map { .apply($0, promotedFrom: nil) }, options: options)
    }

    // MARK: - promote

    /// Applies to `name` what its source stage runs and it lacks (only `target` and its ancestors with `--to`).
    public func promote(_ name: String, to target: Target = .head,
                        options: RunOptions = RunOptions()) throws(OrchestrateError) -> RunReport {
        let context = try promoteContext(name, to: target)
        return try locked(context.environment, action: .promote, isFirstStage: false) { (applied, refused) throws(OrchestrateError) in
            try preparePromote(context, applied: applied, options: options, refused: refused)
        }
    }

    /// What `promote` knows before it touches the target: the source stage's state and the resolved target.
    struct PromoteContext {
        var environment: EnvironmentConfig
        var sourceName: String
        var migrations: MigrationSet
        var sourceRunning: [AppliedRevision]
        var target: Target
    }

    func promoteContext(_ name: String, to target: Target) throws(OrchestrateError) -> PromoteContext {
        let environment = try project.environment(name)
        let pipeline = try project.validPipeline()
        guard let sourceName = pipeline.source(of: name) else {
            throw .usage("environment `\(name)` is a first stage: it has no `promotes_from`",
                         hint: "run `orchestrate upgrade \(name)` to apply migration files to it")
        }
        let source = try project.environment(sourceName)
        let migrations = try project.loadMigrations()
        let sourceApplied = try readOnly(source, command: "promote \(name)") { (ledger: Ledger?) throws(OrchestrateError) -> [AppliedRevision] in
            guard let ledger else { return [AppliedRevision]() }
            let rows: [AppliedRevision]
            do throws(PostgresError) { rows = try ledger.appliedRevisions() } catch {
                throw ledger.failure(error, environment: source)
            }
            try refuseDamaged(rows, ledger: ledger, environment: sourceName)
            return rows
        }
        let sourceRunning = sourceApplied.filter { $0.state == .applied }
        for row in sourceApplied where row.state != .applied {
            progress(.warning("`\(sourceName)` has revision \(row.revision) \(row.state == .running ? "interrupted" : "half-reverted"); it is not promoted"))
        }
        let resolvedTarget: Target
        switch target {
        case .revision(let spec):
            let graph = try ledgerGraph(sourceRunning, environment: sourceName)
            do throws(GraphError) {
                resolvedTarget = .revision(try migrations.graph.resolve(spec))
            } catch {
                do throws(GraphError) { resolvedTarget = .revision(try graph.resolve(spec)) } catch {
                    throw planError(.graph(error), environment: sourceName)
                }
            }
        default:
            resolvedTarget = target
        }
        return PromoteContext(environment: environment, sourceName: sourceName, migrations: migrations,
                              sourceRunning: sourceRunning, target: resolvedTarget)
    }

    /// Decides a promote; `refused(revision, outcome, message)` records a refusal of one revision (an edited file)
    /// where there is an event log, and the caller records any other.
    func preparePromote(_ context: PromoteContext, applied: [AppliedRevision], options: RunOptions,
                        refused: (String?, EventOutcome, String) -> Void = { _, _, _ in }) throws(OrchestrateError) -> PreparedRun {
        let name = context.environment.name
        let sourceName = context.sourceName
        let migrations = context.migrations
        try refuseInterrupted(applied, environment: name)
        let plan: Plan
        do throws(PlanError) {
            plan = try Planner.promote(graph: migrations.graph, applied: Set(applied.map(\.revision)),
                                       sourceApplied: Set(context.sourceRunning.map(\.revision)), to: context.target)
        } catch {
            throw planError(error, environment: name, source: sourceName)
        }
        let sourceByID = Dictionary(context.sourceRunning.map { ($0.revision, $0) }, uniquingKeysWith: { a, _ in a })
        var files: [MigrationFile] = []
        for revision in plan.revisions {
            guard let file = migrations.files[revision], let row = sourceByID[revision] else { continue }
            if file.checksum != row.checksum {
                refused(revision, .refused, "file edited after it was applied to \(sourceName)")
                throw .policy(
                    "\(file.path) differs from what `\(sourceName)` ran (checksum \(row.checksum.prefix(12)) there, \(file.checksum.prefix(12)) in the file): revision \(revision) was edited after it was applied, so promoting it would not promote what was tested",
                    hint: "restore the file as `\(sourceName)` ran it, or, if the edit is harmless, `orchestrate repair \(sourceName) \(revision) --reason TEXT` to accept it there first")
            }
            files.append(file)
        }
        try BranchGate.check(files: files, environment: context.environment, projectRoot: project.root)
        return try PreparedRun(action: .promote, environment: context.environment, source: sourceName, plan: plan,
                               items: files.map { .apply($0, promotedFrom: sourceName) }, options: options)
    }

    // MARK: - downgrade

    /// Reverts, newest first, what `name` runs beyond `target` (or its last `steps` revisions), with the down SQL
    /// recorded in its ledger. Irreversible revisions are refused before anything runs.
    public func downgrade(_ name: String, to target: Target?, steps: Int?,
                          options: RunOptions = RunOptions()) throws(OrchestrateError) -> RunReport {
        let environment = try project.environment(name)
        guard (target == nil) != (steps == nil) else {
            throw .usage("downgrade needs exactly one of --to REV (or base) and --steps N")
        }
        let session = try EnvironmentSession.open(environment, projectRoot: project.root, command: "downgrade \(name)",
                                                  actor: actor, provenance: nil, progress: progress)
        defer { session.close() }
        let prepared: PreparedRun
        do throws(OrchestrateError) {
            prepared = try prepareDowngrade(environment, applied: try readApplied(session), ledger: session.ledger,
                                            to: target, steps: steps, options: options)
        } catch {
            recordRefusal(session, action: .downgrade, error)
            throw error
        }
        try readProvenance(session, prepared, isFirstStage: project.pipeline?.isFirstStage(name) ?? true)
        return try execute(session: session, prepared)
    }

    /// Decides a downgrade from the ledger (its graph, and the down SQL it recorded).
    func prepareDowngrade(_ environment: EnvironmentConfig, applied: [AppliedRevision], ledger: Ledger?, to target: Target?,
                          steps: Int?, options: RunOptions) throws(OrchestrateError) -> PreparedRun {
        let name = environment.name
        try refuseInterrupted(applied, environment: name)
        let graph = try ledgerGraph(applied, environment: name)
        let appliedIDs = Set(applied.map(\.revision))
        let irreversible = Set(applied.filter { !$0.isReversible }.map(\.revision))
        let plan: Plan
        do throws(PlanError) {
            if let steps {
                plan = try Planner.downgrade(graph: graph, applied: appliedIDs, steps: steps, irreversible: irreversible)
            } else {
                var resolved = target ?? .base
                if case .revision(let spec) = resolved {
                    do throws(GraphError) { resolved = .revision(try graph.resolve(spec)) } catch {
                        if let files = try? project.loadMigrations(), let id = try? files.graph.resolve(spec) {
                            throw PlanError.targetNotApplied(id)
                        }
                        throw PlanError.graph(error)
                    }
                }
                plan = try Planner.downgrade(graph: graph, applied: appliedIDs, to: resolved, irreversible: irreversible)
            }
        } catch {
            throw planError(error, environment: name)
        }
        var sql: [String: (up: String, down: String?)] = [:]
        if let ledger {
            do throws(PostgresError) { sql = try ledger.sql(of: plan.revisions) } catch {
                throw ledger.failure(error, environment: environment)
            }
        }
        let rows = Dictionary(applied.map { ($0.revision, $0) }, uniquingKeysWith: { a, _ in a })
        let items: [PreparedRun.Item] = plan.revisions.compactMap { revision in
            guard let row = rows[revision], let down = sql[revision]?.down else { return nil }
            return .revert(row, down: down, displayPath: "\(name) ledger: \(revision) (down)")
        }
        return try PreparedRun(action: .downgrade, environment: environment, source: nil, plan: plan, items: items,
                               options: options)
    }

    // MARK: - freeze, thaw

    /// Freezes `name`: every writing command refuses it until `unlock`.
    public func freeze(_ name: String, reason: String) throws(OrchestrateError) {
        let environment = try project.environment(name)
        guard !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw .usage("lock needs a --reason that says why the environment is frozen")
        }
        let provenance = try? GitProvenance.current(projectRoot: project.root, environment: environment, isFirstStage: true,
                                                    progress: { _ in })
        let session = try EnvironmentSession.open(environment, projectRoot: project.root, command: "lock \(name)", actor: actor,
                                                  provenance: provenance ?? nil, checkFreeze: false, progress: progress)
        defer { session.close() }
        let existing: Freeze?
        do throws(PostgresError) { existing = try session.ledger.freeze() } catch {
            throw session.ledger.failure(error, environment: environment)
        }
        if let existing {
            recordRefusal(session, action: .lock, outcome: .refused, message: "already \(existing.summary)")
            throw .locked("environment `\(name)` is already \(existing.summary)",
                          hint: "`orchestrate unlock \(name)` first to change the reason")
        }
        // The freeze and its event commit together, or neither does.
        try session.ledgerTransaction(
            session.ledger.freezeInsert(run: session.run, reason: reason),
            session.ledger.eventInsert(NewEvent(run: session.run, action: .lock, outcome: .frozen, message: reason)),
            failure: "cannot freeze")
    }

    /// Thaws `name`. Returns the freeze that was lifted, or nil when it was not frozen.
    @discardableResult
    public func thaw(_ name: String) throws(OrchestrateError) -> Freeze? {
        let environment = try project.environment(name)
        let session = try EnvironmentSession.open(environment, projectRoot: project.root, command: "unlock \(name)", actor: actor,
                                                  provenance: nil, checkFreeze: false, progress: progress)
        defer { session.close() }
        let existing: Freeze?
        do throws(PostgresError) { existing = try session.ledger.freeze() } catch {
            throw session.ledger.failure(error, environment: environment)
        }
        guard let existing else { return nil }
        // The thaw and its event commit together, or neither does.
        try session.ledgerTransaction(
            session.ledger.freezeDelete(),
            session.ledger.eventInsert(NewEvent(run: session.run, action: .unlock, outcome: .thawed,
                                                message: "was: \(existing.reason)")),
            failure: "cannot unlock")
        return existing
    }

    // MARK: - Shared steps

    /// Runs a prepared plan on a locked session: a "started" event, the revisions (in one transaction when asked),
    /// then "succeeded", "failed" or "interrupted".
    private func execute(session: EnvironmentSession, _ prepared: PreparedRun) throws(OrchestrateError) -> RunReport {
        let name = session.environment.name
        let action = prepared.action
        let started = DispatchTime.now()
        if prepared.plan.isEmpty {
            progress(.notice("environment `\(name)`: nothing to do"))
            return RunReport(environment: name, action: action, steps: [], gitCommit: session.run.git?.commit)
        }
        try session.record(action: action, outcome: .started, message: prepared.startedMessage)
        do {
            let executor = RevisionExecutor(session: session, action: action)
            let steps: [RunReport.Step]
            if prepared.singleTransaction {
                steps = try executor.batch(count: prepared.items.count) { (inner: RevisionExecutor) throws(OrchestrateError) -> [RunReport.Step] in
                    try Self.run(prepared.items, on: inner)
                }
            } else {
                steps = try Self.run(prepared.items, on: executor)
            }
            session.recordQuietly(action: action, outcome: .succeeded, message: "\(steps.count) revision(s)",
                                  durationMilliseconds: elapsed(since: started))
            return RunReport(environment: name, action: action, steps: steps, gitCommit: session.run.git?.commit)
        } catch {
            session.recordQuietly(action: action, outcome: error.category == .interrupted ? .interrupted : .failed,
                                  message: String(error.message.prefix(2000)), durationMilliseconds: elapsed(since: started))
            throw error
        }
    }

    private static func run(_ items: [PreparedRun.Item], on executor: RevisionExecutor) throws(OrchestrateError) -> [RunReport.Step] {
        var steps: [RunReport.Step] = []
        do throws(OrchestrateError) {
            for item in items {
                switch item {
                case .apply(let file, let promotedFrom):
                    let ms = try executor.apply(file, promotedFrom: promotedFrom)
                    steps.append(.init(revision: file.revision, direction: .up, milliseconds: ms))
                case .revert(let row, let down, let displayPath):
                    let ms = try executor.revert(row, down: down, displayPath: displayPath)
                    steps.append(.init(revision: row.revision, direction: .down, milliseconds: ms))
                }
            }
        } catch var error {
            // Each revision committed on its own: say which ones this run completed before it stopped.
            if !steps.isEmpty, !executor.insideBatch {
                let verb = steps[0].direction == .up ? "applied" : "reverted"
                error.message += "\n\(steps.count) revision(s) before it were \(verb) by this run and stay \(verb): \(steps.map(\.revision).joined(separator: ", "))"
            }
            throw error
        }
        return steps
    }

    /// The rows of the session's ledger; refuses a damaged ledger.
    func readApplied(_ session: EnvironmentSession) throws(OrchestrateError) -> [AppliedRevision] {
        let rows: [AppliedRevision]
        do throws(PostgresError) { rows = try session.ledger.appliedRevisions() } catch {
            throw session.ledger.failure(error, environment: session.environment)
        }
        try refuseDamaged(rows, ledger: session.ledger, environment: session.environment.name)
        return rows
    }

    /// Refuses a damaged ledger (see `LedgerHealth`), before anything runs. The files are read only then, for the
    /// exact SQL of the way out.
    func refuseDamaged(_ rows: [AppliedRevision], ledger: Ledger, environment: String,
                       versionRow: LedgerHealth.VersionRow = .present) throws(OrchestrateError) {
        guard !LedgerHealth.damage(rows: rows, versionRow: versionRow, schema: ledger.schema).isEmpty else { return }
        let fileParents = (try? project.loadMigrations())?.files.mapValues(\.parents) ?? [:]
        throw LedgerHealth.refusal(LedgerHealth.damage(rows: rows, versionRow: versionRow, schema: ledger.schema,
                                                       fileParents: fileParents), environment: environment)
    }

    func refuseInterrupted(_ applied: [AppliedRevision], environment: String) throws(OrchestrateError) {
        guard let row = applied.first(where: { $0.state != .applied }) else { return }
        let phase = row.state == .running ? "applying" : "reverting"
        throw .policy(
            "environment `\(environment)`: revision \(row.revision) was interrupted while \(phase), at statement \((row.statementsDone ?? 0) + 1) of \(row.statementsTotal ?? 0) (non-transactional)",
            hint: "check the database, then `orchestrate repair \(environment) \(row.revision) --applied|--reverted --reason TEXT`")
    }

    /// The graph of what an environment's ledger records (for downgrades and orphans).
    func ledgerGraph(_ applied: [AppliedRevision], environment: String) throws(OrchestrateError) -> RevisionGraph {
        do throws(GraphError) {
            return try RevisionGraph(applied.map { RevisionNode(id: $0.revision, parents: $0.parents) })
        } catch {
            throw .operation("environment `\(environment)`: the ledger is inconsistent: \(error.description)",
                             hint: "inspect \(environment)'s ledger (`orchestrate audit \(environment)`)")
        }
    }

    func resolve(_ target: Target, in graph: RevisionGraph, environment: String) throws(OrchestrateError) -> Target {
        guard case .revision(let spec) = target else { return target }
        do throws(GraphError) { return .revision(try graph.resolve(spec)) } catch { throw planError(.graph(error), environment: environment) }
    }

    /// Opens a read-only connection to `environment` and hands its ledger (nil when there is none) to `body`.
    func readOnly<T>(_ environment: EnvironmentConfig, command: String,
                     _ body: (Ledger?) throws(OrchestrateError) -> T) throws(OrchestrateError) -> T {
        let conninfo = try EnvironmentDatabase.conninfo(for: environment, projectRoot: project.root, progress: progress)
        let connection = try EnvironmentDatabase.connectForReading(environment, conninfo: conninfo,
                                                                   applicationName: "orchestrate \(command) (read)",
                                                                   progress: progress)
        defer { connection.close() }
        let ledger: Ledger
        do throws(PostgresError) {
            ledger = try Ledger(connection: connection, schema: environment.ledgerSchema)
        } catch {
            throw .operation("environment `\(environment.name)`: \(error.description)")
        }
        let layout: Ledger.Layout
        do throws(PostgresError) { layout = try ledger.layout() } catch {
            throw ledger.failure(error, environment: environment)
        }
        switch layout {
        case .absent: return try body(nil)
        case .installed: return try body(ledger)
        case .versionLost(let versionRow):
            try refuseDamaged((try? ledger.appliedRevisions()) ?? [], ledger: ledger, environment: environment.name,
                              versionRow: versionRow)
            return try body(ledger)
        }
    }

    /// A planner error as the user should see it.
    func planError(_ error: PlanError, environment: String, source: String? = nil) -> OrchestrateError {
        switch error {
        case .graph(.multipleHeads(let heads)):
            return .usage("migrations/ has \(heads.count) heads (\(Listing.items(heads))); upgrading to `head` needs exactly one",
                          hint: GraphError.multipleHeads(heads).explanation().fix + "; `--to REV` picks one for this run")
        case .graph(let graphError):
            let (message, fix) = graphError.explanation()
            return .usage(message, hint: fix)
        case .irreversible(let revisions):
            return .policy("cannot downgrade `\(environment)`: \(revisions.joined(separator: ", ")) \(revisions.count == 1 ? "has" : "have") no `-- migrate:down` section (irreversible); nothing was run",
                           hint: "downgrade to a revision above it, or write a new revision that undoes the change")
        case .notInSource(let revision):
            let sourceIsFirst = source.map { project.pipeline?.isFirstStage($0) ?? false } ?? false
            return .policy("revision \(revision) does not run in `\(source ?? "the source stage")`, so it cannot be promoted to `\(environment)`: promote takes only what the source stage already runs; nothing was run",
                           hint: "`orchestrate \(sourceIsFirst ? "upgrade" : "promote") \(source ?? "SOURCE") --to \(revision)` first, or pick a revision it runs (`orchestrate status \(source ?? "")`)")
        case .unknownToFiles(let revisions):
            return .policy("`\(source ?? "the source stage")` runs \(revisions.joined(separator: ", ")), which \(revisions.count == 1 ? "has" : "have") no file in migrations/; nothing was run",
                           hint: "check out the branch that has the file(s), or downgrade them in `\(source ?? "the source")`")
        case .targetNotApplied(let revision):
            return .usage("revision \(revision) is not applied to `\(environment)`, so it cannot be a downgrade target",
                          hint: "`orchestrate status \(environment)` shows what it runs")
        default:
            return .usage("environment `\(environment)`: \(error.description)")
        }
    }
}
