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
    /// Where Ctrl-C and SIGTERM come from: the command line passes `.process`; the default never interrupts.
    public let interruptions: Interruptions

    /// What this orchestrator (and the ones it makes for a fleet's targets) read from git once for all of them.
    let memo: RunMemo

    /// Makes an orchestrator for `project`.
    public convenience init(
        project: Project, actor: Actor = .current(), interruptions: Interruptions = .never,
        progress: @escaping ProgressHandler
    ) {
        self.init(project: project, actor: actor, interruptions: interruptions, memo: RunMemo(), progress: progress)
    }

    /// A fleet worker's connection, kept between its targets (nil outside a fleet run): every session this
    /// orchestrator opens takes it and gives it back.
    let connectionSlot: ConnectionSlot?

    init(
        project: Project, actor: Actor, interruptions: Interruptions, memo: RunMemo,
        connectionSlot: ConnectionSlot? = nil, progress: @escaping ProgressHandler
    ) {
        self.project = project
        self.actor = actor
        self.interruptions = interruptions
        self.memo = memo
        self.connectionSlot = connectionSlot
        self.progress = progress
    }

    // MARK: - upgrade

    /// Applies migration files to a first-stage environment, up to `target` (default: the single head).
    public func upgrade(
        _ name: String, to target: Target = .head,
        options: RunOptions = RunOptions()
    ) throws(OrchestrateError) -> RunReport {
        let context = try upgradeContext(name, to: target)
        return try locked(context.environment, action: .upgrade, isFirstStage: true) {
            (applied) throws(OrchestrateError) in
            try prepareUpgrade(context, applied: applied, options: options)
        }
    }

    /// The shell of every applying run: the locked session, the decision over what the environment runs (`prepare`;
    /// a refusal it throws is recorded in the event log, with its revision when it names one), the git provenance,
    /// then the execution.
    func locked(
        _ environment: EnvironmentConfig, action: RunAction, isFirstStage: Bool,
        prepare: ([AppliedRevision]) throws(OrchestrateError) -> PreparedRun
    ) throws(OrchestrateError) -> RunReport {
        let session = try EnvironmentSession.open(
            environment, projectRoot: project.root, command: "\(action) \(environment.name)",
            actor: actor, provenance: nil, interruptions: interruptions,
            slot: connectionSlot, progress: progress)
        defer { session.close() }
        let prepared: PreparedRun
        do throws(OrchestrateError) {
            let applied = try readApplied(session)
            try refuseForeign(session, recorded: applied.count)
            prepared = try prepare(applied)
        } catch {
            recordRefusal(session, action: action, error)
            throw error
        }
        try readProvenance(session, prepared, isFirstStage: isFirstStage)
        return try execute(session: session, prepared)
    }

    /// Reads the git provenance into the session once the plan turns out not to be empty: a run that writes nothing
    /// records nothing, so it needs neither git (whose start-up alone costs ~10 ms) nor a clean tree. A refusal (a
    /// later stage with uncommitted changes, no repository) is written to the event log.
    private func readProvenance(
        _ session: EnvironmentSession, _ prepared: PreparedRun,
        isFirstStage: Bool
    ) throws(OrchestrateError) {
        guard !prepared.plan.isEmpty else { return }
        do {
            // The same for every target of a fleet: HEAD does not move during a run.
            session.run.git = try memo.provenance(isFirstStage: isFirstStage) { () throws(OrchestrateError) in
                try GitProvenance.current(
                    projectRoot: project.root, environment: session.environment,
                    isFirstStage: isFirstStage, progress: progress)
            }
        } catch {
            recordRefusal(session, action: prepared.action, error)
            throw error
        }
    }

    /// What `upgrade` knows before it touches the database.
    struct UpgradeContext: Sendable {
        var environment: EnvironmentConfig
        var migrations: MigrationSet
        var target: Target
    }

    func upgradeContext(_ name: String, to target: Target) throws(OrchestrateError) -> UpgradeContext {
        let environment = try project.environment(name)
        let pipeline = try project.validPipeline()
        if let source = pipeline.source(of: name) {
            throw .usage(
                "environment `\(name)` promotes from `\(source)`: it takes revisions only from there",
                hint:
                    "run `orchestrate promote \(name)`; `upgrade` is for first stages (\(pipeline.order.filter(pipeline.isFirstStage).joined(separator: ", ")))"
            )
        }
        let migrations = try project.loadMigrations()
        if case .head = target, migrations.graph.heads.count > 1 {
            throw planError(.graph(.multipleHeads(migrations.graph.heads)), environment: name)
        }
        return UpgradeContext(
            environment: environment, migrations: migrations,
            target: try resolve(target, in: migrations.graph, environment: name))
    }

    /// The shell around `RunDecision.upgrade`: shows its warnings, then asks git whether the plan's files may come
    /// to this environment (the branch gate).
    func prepareUpgrade(
        _ context: UpgradeContext, applied: [AppliedRevision],
        options: RunOptions
    ) throws(OrchestrateError) -> PreparedRun {
        let decided = try RunDecision.upgrade(
            environment: context.environment, migrations: context.migrations,
            target: context.target, applied: applied, options: options)
        for warning in decided.warnings { progress(.warning(warning)) }
        try gate(decided.prepared)
        return decided.prepared
    }

    /// The branch gate of a prepared run: git's facts about its files, judged by `BranchGate.decide`.
    private func gate(_ prepared: PreparedRun) throws(OrchestrateError) {
        let files = prepared.items.compactMap { item -> MigrationFile? in
            if case .apply(let file, _) = item { return file } else { return nil }
        }
        guard prepared.environment.branch != nil, !files.isEmpty else { return }
        let facts = try BranchGate.facts(files: files, environment: prepared.environment, projectRoot: project.root)
        try BranchGate.decide(files: files, environment: prepared.environment, facts: facts)
    }

    // MARK: - promote

    /// Applies to `name` what its source stage runs and it lacks (only `target` and its ancestors with `--to`).
    public func promote(
        _ name: String, to target: Target = .head,
        options: RunOptions = RunOptions()
    ) throws(OrchestrateError) -> RunReport {
        let context = try promoteContext(name, to: target)
        return try locked(context.environment, action: .promote, isFirstStage: false) {
            (applied) throws(OrchestrateError) in
            try preparePromote(context, applied: applied, options: options)
        }
    }

    /// What `promote` knows before it touches the target: the source stage's state and the resolved target.
    struct PromoteContext: Sendable {
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
            throw .usage(
                "environment `\(name)` is a first stage: it has no `promotes_from`",
                hint: "run `orchestrate upgrade \(name)` to apply migration files to it")
        }
        let source = try project.environment(sourceName)
        let migrations = try project.loadMigrations()
        let fleetSource: FleetSourceState? =
            source.isFleet
            ? try fleetSourceRunning(source, command: "promote \(name)", width: environment.fleet?.parallel) : nil
        let sourceApplied: [AppliedRevision]
        if let fleetSource {
            sourceApplied = fleetSource.running
        } else {
            sourceApplied = try readOnly(source, command: "promote \(name)") {
                (ledger: Ledger?) throws(OrchestrateError) -> [AppliedRevision] in
                guard let ledger else { return [AppliedRevision]() }
                let rows: [AppliedRevision]
                do throws(PostgresError) { rows = try ledger.appliedRevisions() } catch {
                    throw ledger.failure(error, environment: source)
                }
                try refuseDamaged(rows, ledger: ledger, environment: sourceName)
                return rows
            }
        }
        let sourceRunning = sourceApplied.filter { $0.state == .applied }
        for row in sourceApplied where row.state != .applied {
            progress(
                .warning(
                    "`\(sourceName)` has revision \(row.revision) \(row.state == .running ? "interrupted" : "half-reverted"); it is not promoted"
                ))
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
        if let fleetSource, case .revision(let revision) = resolvedTarget {
            try fleetSource.refuseMissing(revision, source: sourceName, destination: name)
        }
        return PromoteContext(
            environment: environment, sourceName: sourceName, migrations: migrations,
            sourceRunning: sourceRunning, target: resolvedTarget)
    }

    /// The shell around `RunDecision.promote`, then the branch gate.
    func preparePromote(
        _ context: PromoteContext, applied: [AppliedRevision],
        options: RunOptions
    ) throws(OrchestrateError) -> PreparedRun {
        let prepared = try RunDecision.promote(
            environment: context.environment, sourceName: context.sourceName,
            migrations: context.migrations, sourceRunning: context.sourceRunning,
            target: context.target, applied: applied, options: options,
            isFirstStage: { self.project.pipeline?.isFirstStage($0) ?? false })
        try gate(prepared)
        return prepared
    }

    // MARK: - downgrade

    /// Reverts, newest first, what `name` runs beyond `target` (or its last `steps` revisions), with the down SQL
    /// recorded in its ledger. Irreversible revisions are refused before anything runs.
    public func downgrade(
        _ name: String, to target: Target?, steps: Int?,
        options: RunOptions = RunOptions()
    ) throws(OrchestrateError) -> RunReport {
        let environment = try project.environment(name)
        guard (target == nil) != (steps == nil) else {
            throw .usage("downgrade needs exactly one of --to REV (or base) and --steps N")
        }
        let session = try EnvironmentSession.open(
            environment, projectRoot: project.root, command: "downgrade \(name)",
            actor: actor, provenance: nil, interruptions: interruptions,
            slot: connectionSlot, progress: progress)
        defer { session.close() }
        let prepared: PreparedRun
        do throws(OrchestrateError) {
            prepared = try prepareDowngrade(
                environment, applied: try readApplied(session), ledger: session.ledger,
                to: target, steps: steps, options: options)
        } catch {
            recordRefusal(session, action: .downgrade, error)
            throw error
        }
        try readProvenance(session, prepared, isFirstStage: project.pipeline?.isFirstStage(name) ?? true)
        return try execute(session: session, prepared)
    }

    /// The shell around `RunDecision.downgrade`: it reads the down SQL the ledger recorded for the plan, and the
    /// migration files only to explain a target that exists but is not applied.
    func prepareDowngrade(
        _ environment: EnvironmentConfig, applied: [AppliedRevision], ledger: Ledger?, to target: Target?,
        steps: Int?, options: RunOptions
    ) throws(OrchestrateError) -> PreparedRun {
        let plan = try RunDecision.downgradePlan(
            environment: environment, applied: applied, to: target, steps: steps,
            fileGraph: { (try? self.project.loadMigrations())?.graph })
        var sql: [String: (up: String, down: String?)] = [:]
        if let ledger {
            do throws(PostgresError) { sql = try ledger.sql(of: plan.revisions) } catch {
                throw ledger.failure(error, environment: environment)
            }
        }
        return try RunDecision.downgrade(
            environment: environment, plan: plan, applied: applied,
            downSQL: sql.mapValues(\.down), options: options)
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
                steps = try executor.batch(count: prepared.items.count) {
                    (inner: RevisionExecutor) throws(OrchestrateError) -> [RunReport.Step] in
                    try Self.run(prepared.items, on: inner)
                }
            } else {
                steps = try Self.run(prepared.items, on: executor)
            }
            session.recordQuietly(
                action: action, outcome: .succeeded, message: "\(steps.count) revision(s)",
                durationMilliseconds: elapsed(since: started))
            return RunReport(environment: name, action: action, steps: steps, gitCommit: session.run.git?.commit)
        } catch {
            session.recordQuietly(
                action: action, outcome: error.category == .interrupted ? .interrupted : .failed,
                message: String(error.message.prefix(2000)), durationMilliseconds: elapsed(since: started))
            throw error
        }
    }

    private static func run(
        _ items: [PreparedRun.Item], on executor: RevisionExecutor
    ) throws(OrchestrateError) -> [RunReport.Step] {
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
                error.message +=
                    "\n\(steps.count) revision(s) before it were \(verb) by this run and stay \(verb): \(steps.map(\.revision).joined(separator: ", "))"
            }
            throw error
        }
        return steps
    }

    /// Refuses a run on a database another tool manages while orchestrate's ledger records nothing: its first
    /// `CREATE TABLE` would fail on a table that exists; `baseline` records the position first.
    func refuseForeign(_ session: EnvironmentSession, recorded: Int) throws(OrchestrateError) {
        let name = session.environment.name
        guard
            let foreign = try unadoptedForeignLedger(on: session.lockConnection, environment: name, recorded: recorded)
        else { return }
        throw .policy(
            "environment `\(name)` is \(foreign.notice(environment: name)); nothing was run",
            hint: "baseline records what the database already runs; then upgrade or promote apply the rest")
    }

    /// Another tool's ledger in the database while orchestrate's records nothing (`recorded` rows): what
    /// `refuseForeign` refuses a run for, and `plan` reports as a blocker.
    func unadoptedForeignLedger(
        on connection: Connection, environment name: String, recorded: Int
    ) throws(OrchestrateError) -> ForeignLedger? {
        do throws(PostgresError) {
            return try ForeignLedgers.unadopted(on: connection, recorded: recorded)
        } catch {
            throw .operation("environment `\(name)`: cannot read the other tools' tables", error)
        }
    }

    /// The rows of the session's ledger; refuses a damaged ledger. A ledger whose digest an earlier target of the
    /// run had is not read again: the digest covers every column a run decides by (`RevisionsTable.digested`).
    func readApplied(_ session: EnvironmentSession) throws(OrchestrateError) -> [AppliedRevision] {
        if let digest = session.digest, let rows = memo.rows(digest: digest) { return rows }
        let rows: [AppliedRevision]
        // The session ensured the ledger: it is at the current layout.
        do throws(PostgresError) {
            rows = try session.ledger.appliedRevisions(knownVersion: Ledger.currentVersion)
        } catch {
            throw session.ledger.failure(error, environment: session.environment)
        }
        try refuseDamaged(rows, ledger: session.ledger, environment: session.environment.name)
        if let digest = session.digest { memo.keep(rows, digest: digest) }
        return rows
    }

    /// Refuses a damaged ledger (see `LedgerHealth`), before anything runs. The files are read only then, for the
    /// exact SQL of the way out.
    func refuseDamaged(
        _ rows: [AppliedRevision], ledger: Ledger, environment: String,
        versionRow: LedgerHealth.VersionRow = .present
    ) throws(OrchestrateError) {
        guard !LedgerHealth.damage(rows: rows, versionRow: versionRow, schema: ledger.schema).isEmpty else { return }
        let fileParents = (try? project.loadMigrations())?.files.mapValues(\.parents) ?? [:]
        throw LedgerHealth.refusal(
            LedgerHealth.damage(
                rows: rows, versionRow: versionRow, schema: ledger.schema,
                fileParents: fileParents), environment: environment)
    }

    func refuseInterrupted(_ applied: [AppliedRevision], environment: String) throws(OrchestrateError) {
        try RunDecision.refuseInterrupted(applied, environment: environment)
    }

    /// The graph of what an environment's ledger records (for downgrades and orphans).
    func ledgerGraph(_ applied: [AppliedRevision], environment: String) throws(OrchestrateError) -> RevisionGraph {
        try RunDecision.ledgerGraph(applied, environment: environment)
    }

    func resolve(_ target: Target, in graph: RevisionGraph, environment: String) throws(OrchestrateError) -> Target {
        guard case .revision(let spec) = target else { return target }
        do throws(GraphError) { return .revision(try graph.resolve(spec)) } catch {
            throw planError(.graph(error), environment: environment)
        }
    }

    /// Opens a read-only connection to `environment` and hands its ledger (nil when there is none) to `body`.
    func readOnly<T>(
        _ environment: EnvironmentConfig, command: String,
        _ body: (Ledger?) throws(OrchestrateError) -> T
    ) throws(OrchestrateError) -> T {
        let (connection, ledger) = try EnvironmentDatabase.openLedgerForReading(
            environment, projectRoot: project.root, applicationName: "orchestrate \(command) (read)",
            interruptions: interruptions, progress: progress)
        defer { connection.close() }
        let layout: Ledger.Layout
        do throws(PostgresError) { layout = try ledger.layout() } catch {
            throw ledger.failure(error, environment: environment)
        }
        switch layout {
        case .absent: return try body(nil)
        case .installed: return try body(ledger)
        case .versionLost(let versionRow):
            try refuseDamaged(
                (try? ledger.appliedRevisions()) ?? [], ledger: ledger, environment: environment.name,
                versionRow: versionRow)
            return try body(ledger)
        }
    }

    /// A planner error as the user should see it.
    func planError(_ error: PlanError, environment: String, source: String? = nil) -> OrchestrateError {
        RunDecision.planError(
            error, environment: environment, source: source,
            sourceIsFirstStage: source.map { project.pipeline?.isFirstStage($0) ?? false } ?? false)
    }
}
