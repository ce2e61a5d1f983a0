/// Pure decisions: which revisions `upgrade`, `promote` and `downgrade` run, and in which order.
///
/// An environment's state is the set of revisions applied to it, always closed under "parent of"; every
/// plan starts from such a set and leaves one. Revisions are applied in `RevisionGraph.topologicalOrder`
/// and reverted in the reverse of it, so every machine runs the same plan. Every check runs before a plan
/// is returned: a refused plan runs nothing. Each function is linear in the size of the graph.
public enum Planner {
    /// The plan that applies `target` and its ancestors not yet in `applied`, in `graph.topologicalOrder`.
    ///
    /// `graph` is built from the migration files. `.head` needs exactly one head (else `.graph(.multipleHeads)`);
    /// `.base`, an already applied target and `.head` of an empty graph give an empty plan. Applied ids unknown to
    /// the graph (orphans) are ignored. `applied` is checked for closure first (`.notClosed`).
    public static func upgrade(graph: RevisionGraph, applied: Set<String>, to target: Target) throws(PlanError) -> Plan
    {
        let appliedMask = graph.mask(of: applied)
        try requireClosed(graph: graph, appliedMask)
        guard let targetIndex = try upgradeTarget(target, in: graph) else {
            return Plan(direction: .up, revisions: [])
        }
        let wanted = graph.selfAndAncestorsMask(of: targetIndex)
        return Plan(direction: .up, revisions: graph.idsInTopologicalOrder { wanted[$0] && !appliedMask[$0] })
    }

    /// The plan that applies what the source stage runs (`sourceApplied`) and this environment lacks.
    ///
    /// `.head` takes everything the source runs; `.revision(r)` only `r` and its ancestors, and `r` must run in
    /// the source (else `.notInSource`); `.base` gives an empty plan. Every source revision must be in `graph`
    /// (else `.unknownToFiles`, listing them). `applied` must be closed, and so must the state the plan leaves (a
    /// gap in the source's own history is reported as `.notClosed`). Order: `graph.topologicalOrder`.
    public static func promote(
        graph: RevisionGraph, applied: Set<String>, sourceApplied: Set<String>, to target: Target
    ) throws(PlanError) -> Plan {
        let unknown = sourceApplied.filter { !graph.contains($0) }
        if !unknown.isEmpty {
            throw .unknownToFiles(unknown.sorted())
        }
        let appliedMask = graph.mask(of: applied)
        try requireClosed(graph: graph, appliedMask)
        var wanted = graph.mask(of: sourceApplied)
        switch target {
        case .base:
            return Plan(direction: .up, revisions: [])
        case .head:
            break
        case .revision(let spec):
            let revision = try resolve(spec, in: graph)
            guard sourceApplied.contains(revision), let index = graph.index(of: revision) else {
                throw .notInSource(revision)
            }
            let ancestry = graph.selfAndAncestorsMask(of: index)
            for position in wanted.indices {
                wanted[position] = wanted[position] && ancestry[position]
            }
        }
        let after = zip(appliedMask, wanted).map { $0 || $1 }
        try requireClosed(graph: graph, after)
        return Plan(direction: .up, revisions: graph.idsInTopologicalOrder { wanted[$0] && !appliedMask[$0] })
    }

    /// The plan that reverts every applied revision that is not `r` or an ancestor of `r` (`.base`: all of them).
    ///
    /// `graph` is built from the LEDGER (applied revisions and their recorded parents). Revisions are reverted
    /// newest first (reverse topological order). If any of them is in `irreversible`, `.irreversible` lists those
    /// in plan order. `.head` is `.downgradeNeedsTarget`. A revision spec is resolved against `graph` (so prefixes match applied
    /// revisions); one the graph does not know, or that is not in `applied`, is `.targetNotApplied`. Applied ids
    /// the graph does not know are left alone.
    public static func downgrade(
        graph: RevisionGraph, applied: Set<String>, to target: Target, irreversible: Set<String>
    ) throws(PlanError) -> Plan {
        let appliedMask = graph.mask(of: applied)
        try requireClosed(graph: graph, appliedMask)
        let keep: [Bool]
        switch target {
        case .head:
            throw .downgradeNeedsTarget
        case .base:
            keep = [Bool](repeating: false, count: graph.count)
        case .revision(let spec):
            let revision: String
            do {
                revision = try graph.resolve(spec)
            } catch .unknownRevision {
                throw .targetNotApplied(spec)
            } catch {
                throw .graph(error)
            }
            guard let index = graph.index(of: revision), appliedMask[index] else {
                throw .targetNotApplied(revision)
            }
            keep = graph.selfAndAncestorsMask(of: index)
        }
        let revert = graph.idsInTopologicalOrder { appliedMask[$0] && !keep[$0] }
        return try downPlan(revert.reversed(), irreversible: irreversible)
    }

    /// The plan that reverts the last `steps` applied revisions of the topological order, newest first.
    ///
    /// A suffix of the order is closed under descendants, so the state left is closed. `graph` is built from the
    /// ledger; irreversible revisions are refused as in `downgrade(graph:applied:to:irreversible:)`. `steps` must be between 1 and the number of applied revisions the graph knows, else `.invalidSteps`.
    public static func downgrade(
        graph: RevisionGraph, applied: Set<String>, steps: Int, irreversible: Set<String>
    ) throws(PlanError) -> Plan {
        let appliedMask = graph.mask(of: applied)
        try requireClosed(graph: graph, appliedMask)
        let ordered = graph.idsInTopologicalOrder { appliedMask[$0] }
        guard steps >= 1, steps <= ordered.count else {
            throw .invalidSteps(steps)
        }
        return try downPlan(ordered.suffix(steps).reversed(), irreversible: irreversible)
    }

    // MARK: - Helpers

    /// The index of an upgrade target; `nil` for `.base` and for `.head` of an empty graph.
    private static func upgradeTarget(_ target: Target, in graph: RevisionGraph) throws(PlanError) -> Int? {
        switch target {
        case .base:
            return nil
        case .head:
            let heads = graph.heads
            if heads.count > 1 {
                throw .graph(.multipleHeads(heads))
            }
            return heads.first.flatMap(graph.index(of:))
        case .revision(let spec):
            return graph.index(of: try resolve(spec, in: graph))
        }
    }

    private static func downPlan(_ revisions: [String], irreversible: Set<String>) throws(PlanError) -> Plan {
        let refused = irreversible.isEmpty ? [] : revisions.filter(irreversible.contains)
        if !refused.isEmpty {
            throw .irreversible(refused)
        }
        return Plan(direction: .down, revisions: revisions)
    }

    private static func resolve(_ spec: String, in graph: RevisionGraph) throws(PlanError) -> String {
        do {
            return try graph.resolve(spec)
        } catch {
            throw .graph(error)
        }
    }

    private static func requireClosed(graph: RevisionGraph, _ mask: [Bool]) throws(PlanError) {
        if let gap = graph.gaps(in: mask, firstOnly: true).first {
            throw .notClosed(revision: gap.revision, missingParent: gap.missingParent)
        }
    }
}
