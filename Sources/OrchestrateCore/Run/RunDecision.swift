import Migrations

/// The decisions of the writing commands, as pure functions: the migration set, the ledger rows, the source stage's
/// rows and the options in; a prepared run (with the warnings to show) or a refusal out. No file, git or database is
/// read here: `Orchestrator` reads them, calls these, and executes. Tests call these with literal values.
enum RunDecision {
    /// A prepared run and what to warn about on the way.
    struct Decided {
        var prepared: PreparedRun
        var warnings: [String]
    }

    /// `upgrade`: apply what the first stage lacks on the way to `target`.
    static func upgrade(
        environment: EnvironmentConfig, migrations: MigrationSet, target: Target, applied: [AppliedRevision],
        options: RunOptions
    ) throws(OrchestrateError) -> Decided {
        let name = environment.name
        try refuseInterrupted(applied, environment: name)
        let plan: Plan
        do throws(PlanError) {
            plan = try Planner.upgrade(graph: migrations.graph, applied: Set(applied.map(\.revision)), to: target)
                .first(options.steps)
        } catch {
            throw planError(error, environment: name)
        }
        var warnings: [String] = []
        for row in applied {
            if let file = migrations.files[row.revision], file.checksum != row.checksum {
                warnings.append(
                    "\(file.path) was edited after it was applied to `\(name)` (checksum \(row.checksum.prefix(12)) -> \(file.checksum.prefix(12))); later stages will refuse it until `orchestrate repair \(name) \(row.revision) --reason TEXT` or the edit is reverted"
                )
            }
        }
        let files = plan.revisions.compactMap { migrations.files[$0] }
        let prepared = try PreparedRun(
            action: .upgrade, environment: environment, source: nil, plan: plan,
            items: files.map { .apply($0, promotedFrom: nil) }, options: options)
        return Decided(prepared: prepared, warnings: warnings)
    }

    /// `promote`: apply what the source stage runs and this one lacks, each file exactly as the source ran it.
    static func promote(
        environment: EnvironmentConfig, sourceName: String, migrations: MigrationSet,
        sourceRunning: [AppliedRevision], target: Target, applied: [AppliedRevision], options: RunOptions,
        isFirstStage: (String) -> Bool = { _ in false }
    ) throws(OrchestrateError) -> PreparedRun {
        let name = environment.name
        try refuseInterrupted(applied, environment: name)
        let plan: Plan
        do throws(PlanError) {
            plan = try Planner.promote(
                graph: migrations.graph, applied: Set(applied.map(\.revision)),
                sourceApplied: Set(sourceRunning.map(\.revision)), to: target)
        } catch {
            throw planError(error, environment: name, source: sourceName, sourceIsFirstStage: isFirstStage(sourceName))
        }
        let sourceByID = Dictionary(sourceRunning.map { ($0.revision, $0) }, uniquingKeysWith: { a, _ in a })
        var files: [MigrationFile] = []
        for revision in plan.revisions {
            guard let file = migrations.files[revision], let row = sourceByID[revision] else { continue }
            if file.checksum != row.checksum {
                var refusal = OrchestrateError.policy(
                    "\(file.path) differs from what `\(sourceName)` ran (checksum \(row.checksum.prefix(12)) there, \(file.checksum.prefix(12)) in the file): revision \(revision) was edited after it was applied, so promoting it would not promote what was tested",
                    hint:
                        "restore the file as `\(sourceName)` ran it, or, if the edit is harmless, `orchestrate repair \(sourceName) \(revision) --reason TEXT` to accept it there first"
                )
                refusal.revision = revision
                throw refusal
            }
            files.append(file)
        }
        return try PreparedRun(
            action: .promote, environment: environment, source: sourceName, plan: plan,
            items: files.map { .apply($0, promotedFrom: sourceName) }, options: options)
    }

    /// `downgrade`'s plan, from the ledger's own graph. `fileGraph` is asked only to explain a target that the files
    /// know but the environment does not run.
    static func downgradePlan(
        environment: EnvironmentConfig, applied: [AppliedRevision], to target: Target?, steps: Int?,
        fileGraph: () -> RevisionGraph? = { nil }
    ) throws(OrchestrateError) -> Plan {
        let name = environment.name
        try refuseInterrupted(applied, environment: name)
        let graph = try ledgerGraph(applied, environment: name)
        let appliedIDs = Set(applied.map(\.revision))
        let irreversible = Set(applied.filter { !$0.isReversible }.map(\.revision))
        do throws(PlanError) {
            if let steps {
                return try Planner.downgrade(
                    graph: graph, applied: appliedIDs, steps: steps, irreversible: irreversible)
            }
            var resolved = target ?? .base
            if case .revision(let spec) = resolved {
                do throws(GraphError) { resolved = .revision(try graph.resolve(spec)) } catch {
                    if let files = fileGraph(), let id = try? files.resolve(spec) {
                        throw PlanError.targetNotApplied(id)
                    }
                    throw PlanError.graph(error)
                }
            }
            return try Planner.downgrade(graph: graph, applied: appliedIDs, to: resolved, irreversible: irreversible)
        } catch {
            throw planError(error, environment: name)
        }
    }

    /// `downgrade`: revert `plan` with the down SQL the ledger recorded (`downSQL`, by revision).
    static func downgrade(
        environment: EnvironmentConfig, plan: Plan, applied: [AppliedRevision],
        downSQL: [String: String?], options: RunOptions
    ) throws(OrchestrateError) -> PreparedRun {
        let rows = Dictionary(applied.map { ($0.revision, $0) }, uniquingKeysWith: { a, _ in a })
        let items: [PreparedRun.Item] = plan.revisions.compactMap { revision in
            guard let row = rows[revision], let down = downSQL[revision] ?? nil else { return nil }
            return .revert(row, down: down, displayPath: "\(environment.name) ledger: \(revision) (down)")
        }
        return try PreparedRun(
            action: .downgrade, environment: environment, source: nil, plan: plan, items: items,
            options: options)
    }

    /// Refuses an environment with a non-transactional revision caught between statements.
    static func refuseInterrupted(_ applied: [AppliedRevision], environment: String) throws(OrchestrateError) {
        guard let row = applied.first(where: { $0.state != .applied }) else { return }
        let phase = row.state == .running ? "applying" : "reverting"
        throw .policy(
            "environment `\(environment)`: revision \(row.revision) was interrupted while \(phase), at statement \((row.statementsDone ?? 0) + 1) of \(row.statementsTotal ?? 0) (non-transactional)",
            hint:
                "check the database, then `orchestrate repair \(environment) \(row.revision) --applied|--reverted --reason TEXT`"
        )
    }

    /// The graph of what an environment's ledger records (for downgrades and orphans).
    static func ledgerGraph(_ applied: [AppliedRevision], environment: String) throws(OrchestrateError) -> RevisionGraph
    {
        do throws(GraphError) {
            return try RevisionGraph(applied.map { RevisionNode(id: $0.revision, parents: $0.parents) })
        } catch {
            throw .operation(
                "environment `\(environment)`: the ledger is inconsistent: \(error.description)",
                hint: "inspect \(environment)'s ledger (`orchestrate audit \(environment)`)")
        }
    }

    /// A planner error as the user should see it.
    static func planError(
        _ error: PlanError, environment: String, source: String? = nil,
        sourceIsFirstStage: Bool = false
    ) -> OrchestrateError {
        switch error {
        case .graph(.multipleHeads(let heads)):
            return .usage(
                "migrations/ has \(heads.count) heads (\(Listing.items(heads))); upgrading to `head` needs exactly one",
                hint: GraphError.multipleHeads(heads).explanation().fix + "; `--to REV` picks one for this run")
        case .graph(let graphError):
            let (message, fix) = graphError.explanation()
            return .usage(message, hint: fix)
        case .irreversible(let revisions):
            return .policy(
                "cannot downgrade `\(environment)`: \(revisions.joined(separator: ", ")) \(revisions.count == 1 ? "has" : "have") no `-- migrate:down` section (irreversible); nothing was run",
                hint: "downgrade to a revision above it, or write a new revision that undoes the change")
        case .notInSource(let revision):
            let sourceIsFirst = sourceIsFirstStage
            return .policy(
                "revision \(revision) does not run in `\(source ?? "the source stage")`, so it cannot be promoted to `\(environment)`: promote takes only what the source stage already runs; nothing was run",
                hint:
                    "`orchestrate \(sourceIsFirst ? "upgrade" : "promote") \(source ?? "SOURCE") --to \(revision)` first, or pick a revision it runs (`orchestrate status \(source ?? "")`)"
            )
        case .unknownToFiles(let revisions):
            return .policy(
                "`\(source ?? "the source stage")` runs \(revisions.joined(separator: ", ")), which \(revisions.count == 1 ? "has" : "have") no file in migrations/; nothing was run",
                hint: "check out the branch that has the file(s), or downgrade them in `\(source ?? "the source")`")
        case .targetNotApplied(let revision):
            return .usage(
                "revision \(revision) is not applied to `\(environment)`, so it cannot be a downgrade target",
                hint: "`orchestrate status \(environment)` shows what it runs")
        default:
            return .usage("environment `\(environment)`: \(error.description)")
        }
    }
}
