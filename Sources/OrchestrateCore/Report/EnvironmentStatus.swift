import Migrations

/// What `status` knows about one environment.
public struct EnvironmentStatus: Sendable, Codable {
    /// A revision whose file changed after it was applied here.
    public struct Drift: Sendable, Codable {
        public var revision: String
        public var path: String
        public var recordedChecksum: String
        public var fileChecksum: String
        /// The commits that changed the file since the commit recorded at apply (newest first), when git knows.
        public var commits: [CommitSummary]
    }
    /// A revision applied here that has no file at HEAD.
    public struct Orphan: Sendable, Codable {
        public var revision: String
        public var gitCommit: String?
        /// Branches whose history contains that commit; empty when it is on none (abandoned or rebased away).
        public var branches: [String]
        /// Whether git knows the commit at all.
        public var commitKnown: Bool
    }
    /// A non-transactional revision caught between statements.
    public struct Interrupted: Sendable, Codable {
        public var revision: String
        public var state: String
        public var statementsDone: Int
        public var statementsTotal: Int
        /// True when a run holds the lock now (so it may still be running rather than interrupted).
        public var runInProgress: Bool
    }
    /// The newest applied revision.
    public struct LastChange: Sendable, Codable {
        public var revision: String
        public var appliedAt: String
        public var by: String
        public var gitCommit: String?
        public var promotedFrom: String?
    }

    public var name: String
    /// The database, without secrets.
    public var database: String
    /// The source stage, nil for a first stage.
    public var promotesFrom: String?
    public var isProtected: Bool
    public var branch: String?
    /// Whether the database answered.
    public var reachable: Bool
    /// Why not, when it did not (or why the config is unusable).
    public var error: String?
    public var serverVersion: String?
    /// The ledger layout version, nil when there is no ledger yet.
    public var ledgerVersion: Int?
    public var appliedCount: Int
    /// Applied revisions none of whose children are applied.
    public var headsApplied: [String]
    /// What the next `upgrade` (first stage) or `promote` would apply, in order; empty and meaningless when
    /// `sourceError` is set (then it is unknown).
    public var pending: [String]
    /// Revisions applied here that the source stage does not run (later stages).
    public var aheadOfSource: [String]
    public var lastChange: LastChange?
    public var lock: LockHolder?
    public var freeze: Freeze?
    public var drift: [Drift]
    public var orphans: [Orphan]
    public var interrupted: [Interrupted]
    /// Whether the files have several heads, so `upgrade` to head would be refused (first stages).
    public var multipleHeads: [String]
    /// Why the source stage could not be read (a later stage): `pending` and `aheadOfSource` are then unknown.
    public var sourceError: String?
    /// Whether `pending` is known: false when this environment or its source stage could not be read.
    public var pendingKnown: Bool = true
    /// Damage to the ledger (rows deleted, duplicated or edited by hand), each with its way out: `pending` is then
    /// unknown, and writing commands refuse the environment.
    public var damage: [LedgerDamage] = []
    /// Whether this environment's place in the pipeline is known: false for a broken file whose `promotes_from`
    /// could not be read (then `promotesFrom` is nil without meaning "first stage").
    public var placeKnown: Bool = true
    /// How many of the applied revisions `baseline` recorded (ran by another tool or by hand, not by orchestrate).
    public var baselinedCount: Int = 0
    /// Another tool manages the database and orchestrate's ledger records nothing yet: what to do about it.
    public var foreignLedger: String? = nil
    /// For a fleet (DESIGN §7): every selected target and the aggregate. The fields above that describe one database
    /// are then empty, except `pending` (what the next run would apply on at least one target, in order),
    /// `pendingKnown` (false when any target's is unknown) and `sourceError`.
    public var fleet: FleetStatus? = nil
    /// The schema compared with what the applied revisions produce (`status --drift`); nil when not asked.
    public var schemaDrift: SchemaDriftSummary? = nil

    /// An environment that could not be inspected (`environment` is nil when its file does not load).
    static func unreachable(
        _ environment: EnvironmentConfig?, name: String, promotesFrom: String?, placeKnown: Bool,
        error: String
    ) -> EnvironmentStatus {
        var status = EnvironmentStatus(
            name: name, database: environment.map(EnvironmentDatabase.display) ?? "?", promotesFrom: promotesFrom,
            isProtected: environment?.isProtected ?? false, branch: environment?.branch, reachable: false, error: error,
            serverVersion: nil, ledgerVersion: nil, appliedCount: 0, headsApplied: [], pending: [], aheadOfSource: [],
            lastChange: nil, lock: nil, freeze: nil, drift: [], orphans: [], interrupted: [], multipleHeads: [],
            sourceError: nil)
        status.placeKnown = placeKnown
        status.pendingKnown = false
        return status
    }
}

/// A commit, as reports name it.
public struct CommitSummary: Sendable, Codable, Hashable {
    public var sha: String
    public var shortSHA: String
    public var summary: String
    public var author: String
    public var time: String

    /// `abc1234 "summary" (Name <email>)`: how every message names a commit.
    public var line: String { "\(shortSHA) \"\(summary)\" (\(author))" }
}
