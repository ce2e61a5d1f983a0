import Foundation
import Migrations
import Postgres

/// What `plan` was asked about.
public enum PlanRequest: Sendable, Equatable {
    /// What `upgrade` (a first stage) or `promote` (a later stage) would run to reach the target.
    case forward(Target)
    /// What `downgrade --to REV` (or `--steps N`) would revert.
    case downgrade(to: Target?, steps: Int?)
}

/// What a writing command would run, as `plan` reports it.
public struct PlanReport: Sendable, Codable {
    /// One revision the run would apply or revert, in order.
    public struct Step: Sendable, Codable {
        /// The revision id.
        public var revision: String
        /// `up` or `down` (the same strings in `--json`).
        public var direction: Plan.Direction
        /// The migration file, or where the ledger keeps the down SQL.
        public var path: String
        /// Whether it runs in a transaction (with its ledger row).
        public var transactional: Bool
        /// For a non-transactional revision: how many statements run, each in autocommit.
        public var statements: Int?
    }
    /// The environment.
    public var environment: String
    /// `upgrade`, `promote` or `downgrade`.
    public var action: String
    /// The source stage of a promote.
    public var source: String?
    /// Whether every revision would run in one transaction.
    public var singleTransaction: Bool
    /// Whether the ledger exists (the run creates it otherwise).
    public var ledgerExists: Bool
    /// The revisions, in the order they would run.
    public var steps: [Step]
    /// Why the run would be refused right now (frozen, uncommitted changes), although the plan itself is valid.
    public var blockers: [String]
    /// The script, with `--sql`.
    public var sql: String?
}

extension Orchestrator {
    /// What `upgrade`, `promote` or `downgrade` would run on `name`, decided by the same code as the run from the
    /// environment's current state. Reads the target database and writes nothing to it, not even the ledger.
    /// Refuses what the run would refuse (interrupted revisions, irreversible revisions, unknown targets…) with the
    /// same errors; conditions that only block the run for now (a freeze, uncommitted files) are `blockers`.
    ///
    /// With `ledger: false`, the script is the reviewer's view (`ReviewScript`): the revisions' SQL only.
    public func plan(
        _ name: String, _ request: PlanRequest, options: RunOptions = RunOptions(),
        sql wantsSQL: Bool = false, ledger withLedger: Bool = true
    ) throws(OrchestrateError) -> PlanReport {
        try plan(name, request, options: options, sql: wantsSQL, ledger: withLedger, contexts: nil)
    }

    /// `plan`, with the upgrade or promote context computed already (a fleet computes it once for all targets; its
    /// environment is replaced by this orchestrator's own).
    func plan(
        _ name: String, _ request: PlanRequest, options: RunOptions, sql wantsSQL: Bool, ledger withLedger: Bool,
        contexts: (upgrade: UpgradeContext?, promote: PromoteContext?)?
    ) throws(OrchestrateError) -> PlanReport {
        let environment = try project.environment(name)
        let pipeline = try project.validPipeline()
        var blockers: [String] = []
        // The run reads git only when it has something to do: a dirty tree blocks a run with work, not a no-op.
        var gitBlockers: [String] = []
        let isFirstStage = pipeline.isFirstStage(name)
        var provenance: Provenance?
        do {
            provenance = try GitProvenance.current(
                projectRoot: project.root, environment: environment,
                isFirstStage: isFirstStage, progress: { _ in })
        } catch {
            gitBlockers.append(error.message)
            provenance = try? GitProvenance.current(
                projectRoot: project.root, environment: environment,
                isFirstStage: true, progress: { _ in })
        }
        let upgradeContext: UpgradeContext?
        let promoteContext: PromoteContext?
        let action: String
        switch request {
        case .forward(let target):
            if let contexts {
                upgradeContext = contexts.upgrade.map { context in
                    var own = context
                    own.environment = environment
                    return own
                }
                promoteContext = contexts.promote.map { context in
                    var own = context
                    own.environment = environment
                    return own
                }
            } else if isFirstStage {
                upgradeContext = try self.upgradeContext(name, to: target)
                promoteContext = nil
            } else {
                upgradeContext = nil
                promoteContext = try self.promoteContext(name, to: target)
            }
            action = isFirstStage ? "upgrade" : "promote"
        case .downgrade(let target, let steps):
            guard (target == nil) != (steps == nil) else {
                throw .usage("a downgrade plan needs exactly one of --to REV (or base) and --steps N")
            }
            upgradeContext = nil
            promoteContext = nil
            action = "downgrade"
        }

        let (connection, ledger) = try EnvironmentDatabase.openLedgerForReading(
            environment, projectRoot: project.root, applicationName: "orchestrate plan \(name) (read)",
            interruptions: interruptions, progress: progress)
        defer { connection.close() }
        // Belt and braces: nothing below writes, and the server refuses if something ever tried.
        _ = try? connection.execute("SET default_transaction_read_only = on")
        let layout: Ledger.Layout
        var installed: Int?
        var applied: [AppliedRevision] = []
        do throws(PostgresError) {
            layout = try ledger.layout()
            if case .installed(let version) = layout { installed = version }
            if layout != .absent { applied = try ledger.appliedRevisions() }
            if installed != nil, let freeze = try ledger.freeze() {
                blockers.append("environment `\(name)` is \(freeze.summary)")
            }
        } catch {
            throw ledger.failure(error, environment: environment)
        }
        // The run would refuse a damaged ledger: so does its plan.
        if case .versionLost(let versionRow) = layout {
            try refuseDamaged(applied, ledger: ledger, environment: name, versionRow: versionRow)
        }
        try refuseDamaged(applied, ledger: ledger, environment: name)
        if case .forward = request,
            let foreign = try unadoptedForeignLedger(on: connection, environment: name, recorded: applied.count)
        {
            blockers.append("environment `\(name)` is \(foreign.notice(environment: name))")
        }

        let prepared: PreparedRun
        switch request {
        case .forward:
            if let upgradeContext {
                prepared = try prepareUpgrade(upgradeContext, applied: applied, options: options)
            } else if let promoteContext {
                prepared = try preparePromote(promoteContext, applied: applied, options: options)
            } else {
                throw .operation("no plan was prepared")
            }
        case .downgrade(let target, let steps):
            prepared = try prepareDowngrade(
                environment, applied: applied, ledger: installed == nil ? nil : ledger,
                to: target, steps: steps, options: options)
        }

        if !prepared.plan.isEmpty { blockers += gitBlockers }

        var script: String?
        if wantsSQL, !withLedger {
            let items = prepared.items.map { item -> ReviewScript.Item in
                switch item {
                case .apply(let file, _):
                    return ReviewScript.Item(
                        revision: file.revision, path: file.path, sql: file.up, transactional: file.transactional)
                case .revert(let row, let down, let displayPath):
                    return ReviewScript.Item(
                        revision: row.revision, path: displayPath, sql: down, transactional: row.transactional)
                }
            }
            let what = prepared.source.map { "\(action) `\(name)` from `\($0)`" } ?? "\(action) `\(name)`"
            script = ReviewScript.render(
                items, title: what, up: prepared.plan.direction == .up,
                singleTransaction: prepared.singleTransaction)
        } else if wantsSQL {
            let run = RunContext(
                id: UUID().uuidString.lowercased(), environment: name, command: "\(action) \(name)",
                actor: actor, git: provenance, lockPID: nil)
            do throws(PostgresError) {
                script = try RunScript(
                    prepared: prepared, run: run, ledger: ledger, installedLedgerVersion: installed,
                    serverVersion: connection.serverVersionNumber,
                    database: EnvironmentDatabase.display(environment)
                ).render()
            } catch {
                throw .operation("environment `\(name)`: cannot render the script", error)
            }
        }
        let steps = prepared.items.map { item in
            PlanReport.Step(
                revision: item.revision, direction: prepared.plan.direction, path: item.path,
                transactional: item.transactional,
                statements: item.transactional
                    ? nil
                    : item.steps(ownTransaction: true).filter {
                        if case .statement = $0 { return true } else { return false }
                    }.count)
        }
        return PlanReport(
            environment: name, action: action, source: prepared.source,
            singleTransaction: prepared.singleTransaction, ledgerExists: installed != nil, steps: steps,
            blockers: blockers, sql: script)
    }
}
