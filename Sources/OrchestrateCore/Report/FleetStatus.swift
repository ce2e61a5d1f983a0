import Migrations

/// What `status` knows about a fleet (DESIGN §7): every selected target, and the aggregate over them.
public struct FleetStatus: Sendable, Codable {
    /// What `status` knows about one target.
    public struct Target: Sendable, Codable {
        /// The target's name.
        public var name: String
        /// The tenant's schema, nil for a whole database.
        public var schema: String?
        /// Whether the target answered.
        public var reachable: Bool
        /// Why not, when it did not.
        public var error: String?
        /// The ledger layout version, nil when there is no ledger yet (or its version is lost).
        public var ledgerVersion: Int?
        /// How many revisions are fully applied.
        public var appliedCount: Int
        /// Applied revisions none of whose children are applied: where the target stands (empty: nothing applied).
        public var headsApplied: [String]
        /// What the next `upgrade` (first stage) or `promote` would apply, in order; meaningless unless
        /// `pendingKnown`.
        public var pending: [String]
        /// Whether `pending` is known: false when the target, its ledger or the source stage could not be read.
        public var pendingKnown: Bool
        /// Revisions the target runs that the source stage does not run on every target (later stages).
        public var aheadOfSource: [String]
        /// Revisions whose file changed after they were applied here.
        public var drift: [String]
        /// Revisions applied here that have no file at HEAD.
        public var orphans: [String]
        /// Non-transactional revisions caught between statements.
        public var interrupted: [EnvironmentStatus.Interrupted]
        /// Who holds the target's lock now.
        public var lock: LockHolder?
        /// The target's freeze.
        public var freeze: Freeze?
        /// The last upgrade, promote or downgrade, when it failed or was interrupted (a later success clears it).
        public var failedRun: FailedRun?
        /// Damage to the target's ledger, each with its way out.
        public var damage: [LedgerDamage]
        /// When the newest applied revision was applied (UTC, ISO 8601).
        public var lastAppliedAt: String?
        /// Another tool manages the target and its ledger records nothing yet.
        public var foreignLedger: String?

        /// A target that could not be read.
        static func unreachable(_ target: FleetTarget, error: String) -> Target {
            Target(
                name: target.name, schema: target.schema, reachable: false, error: error, ledgerVersion: nil,
                appliedCount: 0, headsApplied: [], pending: [], pendingKnown: false, aheadOfSource: [], drift: [],
                orphans: [], interrupted: [], lock: nil, freeze: nil, failedRun: nil, damage: [], lastAppliedAt: nil,
                foreignLedger: nil)
        }
    }

    /// A run that ended badly on a target.
    public struct FailedRun: Sendable, Codable, Hashable {
        /// upgrade, promote or downgrade.
        public var action: String
        /// failed or interrupted.
        public var outcome: String
        /// When (UTC, ISO 8601).
        public var at: String
        /// The error it recorded, when it did.
        public var message: String?
    }

    /// Targets that stand at the same place: the same heads, the same number of revisions pending.
    public struct Position: Sendable, Codable, Hashable {
        /// Where they stand (empty: nothing applied).
        public var headsApplied: [String]
        /// How many targets.
        public var targets: Int
        /// How many revisions each would take next; nil when unknown.
        public var pending: Int?
    }

    /// A revision edited after it was applied, and on how many targets.
    public struct DriftedRevision: Sendable, Codable {
        /// The revision, its file and the commits that changed it.
        public var drift: EnvironmentStatus.Drift
        /// How many targets recorded the old checksum.
        public var targets: Int
    }

    /// How many targets are in each condition (a target can be in several).
    public struct Counts: Sendable, Codable, Hashable {
        public var selected = 0
        public var reachable = 0
        public var unreachable = 0
        /// Targets whose pending list is unknown (unreachable ones included).
        public var pendingUnknown = 0
        /// Targets with something pending.
        public var behind = 0
        /// Targets whose last run failed or was interrupted.
        public var failed = 0
        /// Targets whose lock a run holds now.
        public var locked = 0
        public var frozen = 0
        /// Targets with a revision edited after it was applied.
        public var drift = 0
        /// Targets with a revision caught between statements.
        public var interrupted = 0
        public var damaged = 0
        /// Targets whose ledger does not exist yet.
        public var noLedger = 0
    }

    /// How many targets the fleet has (the selection may show fewer).
    public var size: Int
    /// The selection (`--target a, b` or `--shard 1/4`), nil for every target.
    public var selection: String?
    /// The counts over the selected targets.
    public var counts: Counts
    /// The places the reachable targets stand at, the most common first.
    public var positions: [Position]
    /// The revisions edited after apply, over all targets.
    public var drift: [DriftedRevision]
    /// Every selected target, in the fleet's order.
    public var targets: [Target]

    /// The status of `targets` (of a fleet of `size`), with the aggregate worked out from them.
    init(size: Int, selection: String?, targets: [Target], drift: [DriftedRevision]) {
        self.size = size
        self.selection = selection
        self.targets = targets
        self.drift = drift
        self.counts = Self.counts(targets)
        self.positions = Self.positions(targets)
    }

    static func counts(_ targets: [Target]) -> Counts {
        var counts = Counts()
        counts.selected = targets.count
        for target in targets {
            if target.reachable { counts.reachable += 1 } else { counts.unreachable += 1 }
            if !target.pendingKnown {
                counts.pendingUnknown += 1
            } else if !target.pending.isEmpty {
                counts.behind += 1
            }
            if target.failedRun != nil { counts.failed += 1 }
            if target.lock != nil { counts.locked += 1 }
            if target.freeze != nil { counts.frozen += 1 }
            if !target.drift.isEmpty { counts.drift += 1 }
            if !target.interrupted.isEmpty { counts.interrupted += 1 }
            if !target.damage.isEmpty { counts.damaged += 1 }
            if target.reachable, target.ledgerVersion == nil, target.damage.isEmpty { counts.noLedger += 1 }
        }
        return counts
    }

    /// The reachable targets grouped by where they stand, the most common first (ties: fewer pending first).
    static func positions(_ targets: [Target]) -> [Position] {
        var order: [Position] = []
        var index: [Position: Int] = [:]
        for target in targets where target.reachable {
            let key = Position(
                headsApplied: target.headsApplied, targets: 0,
                pending: target.pendingKnown ? target.pending.count : nil)
            if let at = index[key] {
                order[at].targets += 1
            } else {
                index[key] = order.count
                var first = key
                first.targets = 1
                order.append(first)
            }
        }
        return order.enumerated().sorted { left, right in
            if left.element.targets != right.element.targets { return left.element.targets > right.element.targets }
            return left.offset < right.offset
        }.map(\.element)
    }

    /// "998 at r0042, 2 at r0041 (1 pending); 0 failed, 0 locked, 0 frozen, 0 unreachable": the aggregate in one line
    /// (revision ids as `status` shows them; a count of targets with a problem is always shown, even when zero).
    public var summaryLine: String {
        var parts: [String] = []
        for position in positions {
            let at = position.headsApplied.isEmpty ? "base" : position.headsApplied.joined(separator: "+")
            var text = "\(Self.format(position.targets)) at \(at)"
            switch position.pending {
            case nil: text += " (pending unknown)"
            case 0?: break
            case let count?: text += " (\(count) pending)"
            }
            parts.append(text)
        }
        let selected = selection == nil ? "" : " selected of \(Self.format(size))"
        var line = "\(Self.format(counts.selected)) target\(counts.selected == 1 ? "" : "s")\(selected)"
        line += parts.isEmpty ? "" : ": " + parts.joined(separator: ", ")
        var problems = [
            "\(Self.format(counts.failed)) failed", "\(Self.format(counts.locked)) locked",
            "\(Self.format(counts.frozen)) frozen", "\(Self.format(counts.unreachable)) unreachable",
        ]
        if counts.drift > 0 { problems.append("\(Self.format(counts.drift)) with drift") }
        if counts.interrupted > 0 { problems.append("\(Self.format(counts.interrupted)) interrupted") }
        if counts.damaged > 0 { problems.append("\(Self.format(counts.damaged)) damaged") }
        return line + "; " + problems.joined(separator: ", ")
    }

    /// 1,000 with a thousands separator (the same on every machine, whatever its locale).
    public static func format(_ number: Int) -> String {
        let digits = String(number.magnitude)
        var grouped = ""
        for (offset, character) in digits.enumerated() {
            if offset > 0, (digits.count - offset) % 3 == 0 { grouped.append(",") }
            grouped.append(character)
        }
        return (number < 0 ? "-" : "") + grouped
    }
}

extension FleetStatus.Target {
    /// The target as `describe` saw its ledger (`status`, the rows of its digest group or its own), with what is
    /// its own: the freeze, the lock holder, the unfinished rows and the last failed run.
    init(
        _ target: FleetTarget, described status: EnvironmentStatus, summary: LedgerSummary?, lock: LockHolder?
    ) {
        self.init(
            name: target.name, schema: target.schema, reachable: status.reachable, error: status.error,
            ledgerVersion: status.ledgerVersion, appliedCount: status.appliedCount,
            headsApplied: status.headsApplied, pending: status.pending, pendingKnown: status.pendingKnown,
            aheadOfSource: status.aheadOfSource, drift: status.drift.map(\.revision),
            orphans: status.orphans.map(\.revision), interrupted: status.interrupted, lock: lock ?? status.lock,
            freeze: status.freeze, failedRun: nil, damage: status.damage, lastAppliedAt: status.lastChange?.appliedAt,
            foreignLedger: status.foreignLedger)
        guard let summary else { return }
        freeze = summary.freeze
        lastAppliedAt = summary.lastAppliedAt
        interrupted = summary.unfinished.map {
            EnvironmentStatus.Interrupted(
                revision: $0.revision,
                state: $0.state == .running ? "interrupted while applying" : "interrupted while reverting",
                statementsDone: $0.statementsDone, statementsTotal: $0.statementsTotal, runInProgress: lock != nil)
        }
        if let run = summary.lastRun, run.outcome == .failed || run.outcome == .interrupted {
            failedRun = FleetStatus.FailedRun(
                action: run.action.rawValue, outcome: run.outcome.rawValue, at: run.at, message: run.message)
        }
    }
}
