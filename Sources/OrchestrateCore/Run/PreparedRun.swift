import Migrations

/// How a writing run groups its revisions into transactions.
public struct RunOptions: Sendable, Hashable {
    /// All revisions of the run in one transaction: all land or none (`--single-transaction`). The environment's
    /// `transaction = "all"` turns it on as well.
    public var singleTransaction: Bool
    /// Apply only the first this many revisions of the plan (Alembic's `upgrade +N`); nil for all of them. A prefix of
    /// the plan's topological order is always closed under "parent of", so the environment stays consistent.
    public var steps: Int?

    /// Makes options; by default each revision runs in a transaction of its own, and the whole plan runs.
    public init(singleTransaction: Bool = false, steps: Int? = nil) {
        self.singleTransaction = singleTransaction
        self.steps = steps
    }
}

/// A writing run decided before anything runs: the plan and, for each revision, what it runs. The run executes it and
/// `plan` prints it, so what is reviewed is what runs.
struct PreparedRun {
    /// One revision of the plan.
    enum Item {
        /// Apply a migration file (`promotedFrom`: the source stage of a promote).
        case apply(MigrationFile, promotedFrom: String?)
        /// Revert an applied revision with the down SQL its ledger recorded.
        case revert(AppliedRevision, down: String, displayPath: String)

        var revision: String {
            switch self {
            case .apply(let file, _): return file.revision
            case .revert(let row, _, _): return row.revision
            }
        }

        var path: String {
            switch self {
            case .apply(let file, _): return file.path
            case .revert(_, _, let displayPath): return displayPath
            }
        }

        var transactional: Bool {
            switch self {
            case .apply(let file, _): return file.transactional
            case .revert(let row, _, _): return row.transactional
            }
        }

        /// The steps this revision sends: the same for the executor and for `plan --sql`.
        func steps(ownTransaction: Bool) -> [RunStep] {
            switch self {
            case .apply(let file, let promotedFrom):
                return RevisionSteps.apply(file, promotedFrom: promotedFrom, ownTransaction: ownTransaction)
            case .revert(let row, let down, _):
                return RevisionSteps.revert(
                    revision: row.revision, down: down, transactional: row.transactional,
                    ownTransaction: ownTransaction)
            }
        }
    }

    /// `upgrade`, `promote` or `downgrade`.
    var action: RunAction
    var environment: EnvironmentConfig
    /// The source stage of a promote.
    var source: String?
    var plan: Plan
    var items: [Item]
    /// Whether every revision runs in one transaction.
    var singleTransaction: Bool

    /// Makes a prepared run, refusing a single transaction over a non-transactional revision before anything runs.
    init(
        action: RunAction, environment: EnvironmentConfig, source: String?, plan: Plan, items: [Item],
        options: RunOptions
    ) throws(OrchestrateError) {
        self.action = action
        self.environment = environment
        self.source = source
        self.plan = plan
        self.items = items
        let single = options.singleTransaction || environment.transactionMode == .all
        self.singleTransaction = single
        if single, items.count > 0, let loose = items.first(where: { !$0.transactional }) {
            let why =
                options.singleTransaction ? "--single-transaction" : "transaction = \"all\" in \(environment.path)"
            throw .usage(
                "\(why) runs the whole \(action) in one transaction, but revision \(loose.revision) (\(loose.path)) is non-transactional (`-- transaction: false`) and cannot run inside one; nothing was run",
                hint:
                    "run without \(options.singleTransaction ? "--single-transaction" : "transaction = \"all\"") (each revision in its own transaction), or split the run with --to so that revision \(loose.revision) runs in a run of its own"
            )
        }
        var problems: [Preflight.Problem] = []
        for item in items {
            switch item {
            case .apply(let file, _):
                problems += Preflight.problems(applying: [file])
            case .revert(let row, let down, let displayPath):
                problems += Preflight.problems(
                    reverting: row.revision, down: down, transactional: row.transactional,
                    path: displayPath, firstLine: 1)
            }
        }
        if let refusal = Preflight.refusal(problems) { throw refusal }
    }

    /// The message of the run's "started" event.
    var startedMessage: String {
        let listed = Listing.items(plan.revisions, limit: 20, counted: false)
        return "\(plan.revisions.count) revision(s)\(singleTransaction ? " in one transaction" : ""): \(listed)"
    }
}

extension Preflight {
    /// The error that refuses a run with `problems` before anything runs (nil when there are none): every problem on
    /// its own line with its way out.
    static func refusal(_ problems: [Problem]) -> OrchestrateError? {
        guard let first = problems.first else { return nil }
        if problems.count == 1 {
            return .usage(first.description + "; nothing was run", hint: first.fix)
        }
        var fixes: [String] = []
        for problem in problems where !fixes.contains(problem.fix) { fixes.append(problem.fix) }
        return .usage(
            "\(problems.count) problems found before anything ran; nothing was run:\n"
                + problems.map { "  " + $0.description }.joined(separator: "\n"),
            hint: fixes.joined(separator: "\n"))
    }
}
