import Foundation
import Migrations
import Postgres

/// The writing commands on a fleet (DESIGN §7): each selected target is planned and run as a single database is,
/// with the configuration `EnvironmentConfig.forTarget` gives it (its own ledger and lock, one connection), by the
/// same code (`locked`, `prepareUpgrade`, `preparePromote`, `downgrade`, `freeze`, `thaw`, `repair`). What is the
/// same for every target (the migration files, the source stage's state) is read once.
extension Orchestrator {
    /// The fleet's targets, all of them and the selected ones.
    public func fleetTargets(
        _ name: String, selection: TargetSelection = .all
    ) throws(OrchestrateError) -> (environment: EnvironmentConfig, all: [FleetTarget], selected: [FleetTarget]) {
        let environment = try project.environment(name)
        guard environment.isFleet else {
            if !selection.isAll {
                throw .usage(
                    "environment `\(name)` is one database, not a fleet: --target and --shard select a fleet's targets",
                    hint: "drop --target/--shard, or add `targets` to \(environment.path)")
            }
            throw .usage("environment `\(name)` is not a fleet: it has no `targets` or `targets_query`")
        }
        let all = try FleetTargets.resolve(
            environment, projectRoot: project.root, interruptions: interruptions, progress: progress)
        return (environment, all, try selection.select(all, environment: name))
    }

    /// An orchestrator that sees `config` (one target's configuration) as its environment, and whose progress shows
    /// only what a fleet run needs per target: warnings, lock waits and retries, labelled `env/target`.
    func targetOrchestrator(_ config: EnvironmentConfig, slot: ConnectionSlot? = nil) -> Orchestrator {
        var project = self.project
        project.environments[config.name] = config
        let label = "\(config.name)/\(config.targetName ?? "?")"
        let outer = progress
        return Orchestrator(
            project: project, actor: actor, interruptions: interruptions, memo: memo, connectionSlot: slot,
            progress: { event in
                switch event {
                case .warning(let text): outer(.warning("\(label): \(text)"))
                case .waitingForLock(_, let holder, let waited):
                    outer(.waitingForLock(environment: label, holder: holder, waitedSeconds: waited))
                case .retrying(_, let revision, let attempt, let of, let reason):
                    outer(.retrying(environment: label, revision: revision, attempt: attempt, of: of, reason: reason))
                default: break
                }
            })
    }

    private func runner(_ environment: EnvironmentConfig) -> FleetRunner {
        FleetRunner(
            environment: environment, fleet: environment.fleet!, interruptions: interruptions, progress: progress)
    }

    private static func outcome(_ report: RunReport) -> FleetRunner.Outcome {
        FleetRunner.Outcome(changed: !report.steps.isEmpty, revisions: report.steps.map(\.revision))
    }

    // MARK: - upgrade, promote, downgrade

    /// `upgrade` on every selected target of the fleet `name`.
    public func upgradeFleet(
        _ name: String, to target: Target = .head, options: RunOptions = RunOptions(),
        selection: TargetSelection = .all
    ) throws(OrchestrateError) -> FleetReport {
        let context = try upgradeContext(name, to: target)
        let fleet = try fleetTargets(name, selection: selection)
        return applyOnFleet(fleet, context: context, action: .upgrade, isFirstStage: true) {
            (orchestrator, own, applied) throws(OrchestrateError) in
            try orchestrator.prepareUpgrade(own, applied: applied, options: options)
        }
    }

    /// `promote` on every selected target of the fleet `name`, from its source stage (one database or a fleet,
    /// whose targets must all run what is promoted), read once.
    public func promoteFleet(
        _ name: String, to target: Target = .head, options: RunOptions = RunOptions(),
        selection: TargetSelection = .all
    ) throws(OrchestrateError) -> FleetReport {
        // A bad selection is refused before the source is read.
        let fleet = try fleetTargets(name, selection: selection)
        let context = try promoteContext(name, to: target)
        return applyOnFleet(fleet, context: context, action: .promote, isFirstStage: false) {
            (orchestrator, own, applied) throws(OrchestrateError) in
            try orchestrator.preparePromote(own, applied: applied, options: options)
        }
    }

    /// An applying run (upgrade or promote) on every selected target: the context read once, given each target's
    /// configuration, and the single-database run (`locked` and `prepare`) on each.
    private func applyOnFleet<Context: FleetRunContext>(
        _ fleet: (environment: EnvironmentConfig, all: [FleetTarget], selected: [FleetTarget]), context: Context,
        action: RunAction, isFirstStage: Bool,
        prepare: @escaping @Sendable (Orchestrator, Context, [AppliedRevision]) throws(OrchestrateError) -> PreparedRun
    ) -> FleetReport {
        let (environment, all, selected) = fleet
        return runner(environment).run(selected, action: action.rawValue, fleetSize: all.count) {
            (fleetTarget, slot) throws(OrchestrateError) in
            var own = context
            own.environment = environment.forTarget(fleetTarget)
            let orchestrator = self.targetOrchestrator(own.environment, slot: slot)
            let report = try orchestrator.locked(own.environment, action: action, isFirstStage: isFirstStage) {
                (applied) throws(OrchestrateError) in
                try prepare(orchestrator, own, applied)
            }
            return Self.outcome(report)
        }
    }

    /// `downgrade` on every selected target of the fleet `name`, each with the down SQL its own ledger recorded.
    public func downgradeFleet(
        _ name: String, to target: Target?, steps: Int?, options: RunOptions = RunOptions(),
        selection: TargetSelection = .all
    ) throws(OrchestrateError) -> FleetReport {
        guard (target == nil) != (steps == nil) else {
            throw .usage("downgrade needs exactly one of --to REV (or base) and --steps N")
        }
        let (environment, all, selected) = try fleetTargets(name, selection: selection)
        return runner(environment).run(selected, action: "downgrade", fleetSize: all.count) {
            (fleetTarget, slot) throws(OrchestrateError) in
            let report = try self.targetOrchestrator(environment.forTarget(fleetTarget), slot: slot)
                .downgrade(name, to: target, steps: steps, options: options)
            return Self.outcome(report)
        }
    }

    // MARK: - lock, unlock, repair

    /// Freezes every selected target (`lock ENV --reason`); a target frozen already is reported locked.
    public func freezeFleet(
        _ name: String, reason: String, selection: TargetSelection = .all
    ) throws(OrchestrateError) -> FleetReport {
        guard !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw .usage("lock needs a --reason that says why the environment is frozen")
        }
        let (environment, all, selected) = try fleetTargets(name, selection: selection)
        return runner(environment).run(selected, action: "lock", fleetSize: all.count) {
            (fleetTarget, slot) throws(OrchestrateError) in
            try self.targetOrchestrator(environment.forTarget(fleetTarget), slot: slot).freeze(name, reason: reason)
            return FleetRunner.Outcome(changed: true, revisions: [])
        }
    }

    /// Thaws every selected target; one that was not frozen is unchanged.
    public func thawFleet(
        _ name: String, selection: TargetSelection = .all
    ) throws(OrchestrateError) -> FleetReport {
        let (environment, all, selected) = try fleetTargets(name, selection: selection)
        return runner(environment).run(selected, action: "unlock", fleetSize: all.count) {
            (fleetTarget, slot) throws(OrchestrateError) in
            let lifted = try self.targetOrchestrator(environment.forTarget(fleetTarget), slot: slot).thaw(name)
            return FleetRunner.Outcome(changed: lifted != nil, revisions: [])
        }
    }

    /// `repair` on the targets named with `--target` (a repair records a decision about one database: it needs
    /// the targets named, never a whole fleet or a shard).
    public func repairFleet(
        _ name: String, revision: String, reason: String, settlement: RepairSettlement?,
        selection: TargetSelection
    ) throws(OrchestrateError) -> FleetReport {
        guard !selection.names.isEmpty, selection.shard == nil else {
            throw .usage(
                "environment `\(name)` is a fleet: repair records a decision about one database, so it needs --target NAME",
                hint: "name the target(s) the repair is about: `orchestrate repair \(name) \(revision) --target NAME …`"
            )
        }
        let (environment, all, selected) = try fleetTargets(name, selection: selection)
        return runner(environment).run(selected, action: "repair", fleetSize: all.count) {
            (fleetTarget, slot) throws(OrchestrateError) in
            let report = try self.targetOrchestrator(environment.forTarget(fleetTarget), slot: slot).repair(
                name, revision: revision, reason: reason, settlement: settlement)
            return FleetRunner.Outcome(changed: report.outcome != .unchanged, revisions: [report.revision])
        }
    }

    // MARK: - the source of a promotion

    /// What a fleet runs as a source stage: the rows of the revisions every target runs (applied, with the same
    /// checksum), read `parallel` targets at a time. A target that cannot be read makes that unknown: refused, naming
    /// it. Revisions only some targets run are reported, and not promoted.
    func fleetSourceRunning(
        _ source: EnvironmentConfig, command: String, width: Int? = nil
    ) throws(OrchestrateError) -> FleetSourceState {
        let targets = try FleetTargets.resolve(
            source, projectRoot: project.root, interruptions: interruptions, progress: progress)
        let parallel = min(source.fleet?.parallel ?? 4, width ?? Int.max)
        let reads = FleetRunner.concurrentMap(targets, width: parallel) {
            (target) -> Result<[AppliedRevision], OrchestrateError> in
            let config = source.forTarget(target)
            do throws(OrchestrateError) {
                let rows = try self.targetOrchestrator(config).readOnly(config, command: command) {
                    (ledger: Ledger?) throws(OrchestrateError) -> [AppliedRevision] in
                    guard let ledger else { return [] }
                    let rows: [AppliedRevision]
                    do throws(PostgresError) { rows = try ledger.appliedRevisions() } catch {
                        throw ledger.failure(error, environment: config)
                    }
                    try self.refuseDamaged(rows, ledger: ledger, environment: source.name)
                    return rows
                }
                return .success(rows.filter { $0.state == .applied })
            } catch {
                return .failure(error)
            }
        }
        var unreadable: [(String, OrchestrateError)] = []
        for (target, read) in zip(targets, reads) {
            if case .failure(let error) = read { unreadable.append((target.name, error)) }
        }
        if let (first, error) = unreadable.first {
            let others = unreadable.dropFirst().prefix(4).map { "`\($0.0)`" }
            throw .operation(
                "`\(source.name)` is a fleet and its target `\(first)`\(others.isEmpty ? "" : " (and \(others.joined(separator: ", "))\(unreadable.count > 5 ? "…" : ""))") cannot be read, so what every target of `\(source.name)` runs is unknown; nothing was promoted: \(error.message)",
                hint:
                    "fix or remove that target in \(source.path) (a revision promoted must run on every target of the source), then rerun"
            )
        }
        return FleetSourceState(targets: targets.map(\.name), rows: reads.map { (try? $0.get()) ?? [] }) { warning in
            self.progress(.warning(warning))
        }
    }
}

/// What every target of a source fleet runs, and which targets lack the rest.
struct FleetSourceState {
    /// The rows (of the first target) of the revisions every target runs with the same checksum.
    var running: [AppliedRevision]
    /// For each revision some targets run and others do not: the targets that lack it.
    var missing: [String: [String]]

    init(targets: [String], rows: [[AppliedRevision]], warn: (String) -> Void) {
        var counts: [String: Int] = [:]
        var present: [String: Set<String>] = [:]
        for (target, targetRows) in zip(targets, rows) {
            for row in targetRows {
                counts[row.revision + "\u{0}" + row.checksum, default: 0] += 1
                present[row.revision, default: []].insert(target)
            }
        }
        running = (rows.first ?? []).filter { counts[$0.revision + "\u{0}" + $0.checksum] == targets.count }
        let common = Set(running.map(\.revision))
        var missing: [String: [String]] = [:]
        for (revision, have) in present where !common.contains(revision) {
            missing[revision] = targets.filter { !have.contains($0) }
        }
        self.missing = missing
        for revision in missing.keys.sorted() {
            let lacking = missing[revision] ?? []
            warn(
                lacking.isEmpty
                    ? "revision \(revision) runs with different checksums on the source's targets; it is not promoted"
                    : "revision \(revision) runs on \(targets.count - lacking.count) of \(targets.count) source targets (not on \(Self.names(lacking))); it is not promoted"
            )
        }
    }

    static func names(_ targets: [String]) -> String {
        targets.prefix(5).map { "`\($0)`" }.joined(separator: ", ")
            + (targets.count > 5 ? " and \(targets.count - 5) more" : "")
    }

    /// Refuses `--to REV` when some target of the source lacks it.
    func refuseMissing(_ revision: String, source: String, destination: String) throws(OrchestrateError) {
        guard let lacking = missing[revision] else { return }
        throw .policy(
            "revision \(revision) does not run on every target of `\(source)` (\(lacking.isEmpty ? "their checksums differ" : "not on \(Self.names(lacking))")): a revision that reached part of a stage has not been tested there; nothing was promoted to `\(destination)`",
            hint:
                "bring every target of `\(source)` to it first (rerun its upgrade or promote), or promote an earlier revision with --to"
        )
    }
}

extension FleetRunner {
    /// `body` over `items`, `width` at a time on their own threads, results in order.
    static func concurrentMap<T: Sendable>(
        _ items: [FleetTarget], width: Int, _ body: @escaping @Sendable (FleetTarget) -> T
    ) -> [T] {
        let box = ResultsBox<T>(count: items.count)
        let group = DispatchGroup()
        for _ in 0..<max(1, min(width, items.count)) {
            DispatchQueue.global().async(group: group) {
                while let index = box.take() { box.store(index, body(items[index])) }
            }
        }
        group.wait()
        return box.values()
    }
}

private final class ResultsBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [T?]
    private var next = 0

    init(count: Int) { results = Array(repeating: nil, count: count) }

    func take() -> Int? {
        lock.withLock {
            guard next < results.count else { return nil }
            defer { next += 1 }
            return next
        }
    }

    func store(_ index: Int, _ value: T) { lock.withLock { results[index] = value } }

    func values() -> [T] { lock.withLock { results.map { $0! } } }
}

/// What `plan` finds on each selected target of a fleet.
public struct FleetPlanReport: Sendable, Codable {
    /// One target's plan, or why it cannot be planned.
    public struct Entry: Sendable, Codable {
        /// The target's name.
        public var target: String
        /// Its plan, when it could be made.
        public var plan: PlanReport?
        /// Why not, otherwise.
        public var error: String?
        /// What to do about it.
        public var hint: String?
        var category: OrchestrateError.Category?

        init(
            target: String, plan: PlanReport? = nil, error: String? = nil, hint: String? = nil,
            category: OrchestrateError.Category? = nil
        ) {
            self.target = target
            self.plan = plan
            self.error = error
            self.hint = hint
            self.category = category
        }

        enum CodingKeys: String, CodingKey {
            case target, plan, error, hint
        }
    }

    /// The fleet environment.
    public var environment: String
    /// How many targets the environment has.
    public var fleetSize: Int
    /// The selected targets, in the fleet's order.
    public var targets: [Entry]

    /// The error `plan` exits with after printing: the class of the first target's error (the run would be refused
    /// the same way there), nil when every target could be planned.
    public var failure: OrchestrateError? {
        let failed = targets.filter { $0.error != nil }
        guard let first = failed.first else { return nil }
        return OrchestrateError(
            first.category ?? .operation,
            "\(environment): \(failed.count) of \(targets.count) target(s) cannot be planned (first: `\(first.target)`)",
            hint: first.hint)
    }
}

extension Orchestrator {
    /// `plan` on every selected target of a fleet, `parallel` at a time; the files and the source stage are read once.
    public func planFleet(
        _ name: String, _ request: PlanRequest, options: RunOptions = RunOptions(), sql: Bool = false,
        ledger: Bool = true, selection: TargetSelection = .all
    ) throws(OrchestrateError) -> FleetPlanReport {
        let (environment, all, selected) = try fleetTargets(name, selection: selection)
        let pipeline = try project.validPipeline()
        let contexts: (upgrade: UpgradeContext?, promote: PromoteContext?)?
        if case .forward(let target) = request {
            contexts =
                pipeline.isFirstStage(name)
                ? (try upgradeContext(name, to: target), nil) : (nil, try promoteContext(name, to: target))
        } else {
            contexts = nil
        }
        let entries = FleetRunner.concurrentMap(selected, width: environment.fleet?.parallel ?? 4) {
            (target) -> FleetPlanReport.Entry in
            do throws(OrchestrateError) {
                let plan = try self.targetOrchestrator(environment.forTarget(target)).plan(
                    name, request, options: options, sql: sql, ledger: ledger, contexts: contexts)
                return FleetPlanReport.Entry(target: target.name, plan: plan)
            } catch {
                return FleetPlanReport.Entry(
                    target: target.name, error: error.message, hint: error.hint, category: error.category)
            }
        }
        return FleetPlanReport(environment: name, fleetSize: all.count, targets: entries)
    }
}

/// What an applying run knows before it touches a database, with the environment each target replaces.
protocol FleetRunContext: Sendable {
    var environment: EnvironmentConfig { get set }
}

extension Orchestrator.UpgradeContext: FleetRunContext {}
extension Orchestrator.PromoteContext: FleetRunContext {}
