/// Why a plan was refused; nothing has run when one of these is thrown.
public enum PlanError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Resolving the target failed (unknown or ambiguous revision), or `head` has several heads.
    case graph(GraphError)
    /// Revisions the plan would revert that have no down section, in plan order.
    case irreversible([String])
    /// The applied set has `revision` but not its parent `missingParent`: the environment's state is not
    /// closed under "parent of" (or, for `promote`, would not be after the plan).
    case notClosed(revision: String, missingParent: String)
    /// `promote --to REV` where REV does not run in the source stage.
    case notInSource(String)
    /// The source stage runs these revisions (sorted), but there is no migration file for them.
    case unknownToFiles([String])
    /// `downgrade --to REV` where REV is not applied to the environment.
    case targetNotApplied(String)
    /// `--steps N` with N below 1 or above the number of applied revisions.
    case invalidSteps(Int)
    /// `downgrade` was asked to go to `head`, which is not a downgrade target.
    case downgradeNeedsTarget

    /// What was refused, why, and what to do next.
    public var description: String {
        switch self {
        case .graph(let error):
            return error.description
        case .irreversible(let revisions):
            return "refusing to revert \(Listing.items(revisions)): "
                + (revisions.count == 1 ? "it has" : "they have")
                + " no '-- migrate:down' section (irreversible); nothing was run. Choose a target after "
                + (revisions.count == 1 ? "it" : "them") + ", or restore the schema by hand"
        case .notClosed(let revision, let missingParent):
            return "revision '\(revision)' is applied but its parent '\(missingParent)' is not: the environment's "
                + "history has a gap; nothing was run. Inspect it with `orchestrate status` and settle it with "
                + "`orchestrate repair`"
        case .notInSource(let revision):
            return "revision '\(revision)' does not run in the source stage: promote only takes what the source "
                + "already runs; upgrade or promote the source stage first, or pick an older --to revision"
        case .unknownToFiles(let revisions):
            return "the source stage runs \(Listing.items(revisions)), which "
                + (revisions.count == 1 ? "has" : "have")
                + " no migration file here: update this checkout (git pull) to the branch that has "
                + (revisions.count == 1 ? "it" : "them") + " before promoting"
        case .targetNotApplied(let revision):
            return "revision '\(revision)' is not applied to this environment, so there is nothing to go back "
                + "to; `orchestrate status` lists what it runs (use --to base to revert everything)"
        case .invalidSteps(let steps):
            return "invalid --steps \(steps): expected a number from 1 to the number of applied revisions"
        case .downgradeNeedsTarget:
            return "downgrade needs a target below head: --to REV, --to base, or --steps N"
        }
    }
}
