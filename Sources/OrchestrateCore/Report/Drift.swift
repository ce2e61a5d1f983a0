/// Where a replayed schema came from: a scratch database, or the cache of an earlier replay.
public struct ReplaySource: Sendable, Codable, Equatable {
    /// True when the schema was read from the cache and nothing was replayed.
    public var cached: Bool
    /// The cache entry, relative to the project (`.orchestrate/cache/schema-<key>.json`); nil when it could not be
    /// written.
    public var cacheFile: String?
    /// The scratch database the revisions ran on, without secrets; nil when the cache was used.
    public var scratch: String?
    /// What a `--scratch-url` database keeps afterwards; nil for a throwaway database (dropped) or the cache.
    public var leftBehind: String?
    /// How many revisions were replayed (or would have been, for a cached schema).
    public var revisions: Int

    public init(
        cached: Bool, cacheFile: String?, scratch: String?, leftBehind: String? = nil, revisions: Int
    ) {
        self.cached = cached
        self.cacheFile = cacheFile
        self.scratch = scratch
        self.leftBehind = leftBehind
        self.revisions = revisions
    }
}

/// What `orchestrate diff ENV` found: ENV's live schema against the schema its applied revisions produce.
///
/// `changes` turn the live schema into the expected one: what to run on ENV to bring it back to what its revisions
/// say. A change that drops an object means the object exists only in ENV; one that creates it means ENV lacks it.
public struct DriftReport: Sendable, Codable {
    /// The environment.
    public var environment: String
    /// Its database, without secrets.
    public var database: String
    /// The revisions its ledger records as applied, in application order: what was replayed.
    public var applied: [String]
    /// Where the expected schema came from.
    public var replay: ReplaySource
    /// True when the live schema differs from the expected one.
    public var drifted: Bool
    /// The objects that differ, sorted (one object may need several changes).
    public var objects: [String]
    /// The reconciling changes, in the order to run them.
    public var changes: [SchemaChange]
    /// How many changes destroy data.
    public var destructiveChanges: Int

    init(environment: String, database: String, applied: [String], replay: ReplaySource, changes: [SchemaChange]) {
        self.environment = environment
        self.database = database
        self.applied = applied
        self.replay = replay
        self.changes = changes
        self.drifted = !changes.isEmpty
        self.objects = Set(changes.map(\.object)).sorted()
        self.destructiveChanges = changes.filter(\.destroysData).count
    }

    /// The one-line summary `status --drift` shows.
    public var summary: SchemaDriftSummary {
        drifted
            ? SchemaDriftSummary(environment: environment, state: .drift, objects: objects)
            : SchemaDriftSummary(environment: environment, state: .none)
    }
}

/// `status --drift`'s one line about an environment's schema.
public struct SchemaDriftSummary: Sendable, Codable, Equatable, CustomStringConvertible {
    /// What is known.
    public enum State: String, Sendable, Codable {
        /// The live schema is what the applied revisions produce.
        case none
        /// It is not.
        case drift
        /// It cannot be told (see `cause`).
        case unknown
    }

    public var environment: String
    public var state: State
    /// The objects that differ (for `drift`), sorted.
    public var objects: [String]
    /// Why it cannot be told (for `unknown`).
    public var cause: String?

    public init(environment: String, state: State, objects: [String] = [], cause: String? = nil) {
        self.environment = environment
        self.state = state
        self.objects = objects
        self.cause = cause
    }

    /// `schema drift: 2 objects differ (run orchestrate diff staging)`, `no schema drift`, `unknown: <cause>`.
    public var description: String {
        switch state {
        case .none:
            return "no schema drift"
        case .drift:
            let count = objects.count == 1 ? "1 object differs" : "\(objects.count) objects differ"
            return "schema drift: \(count) (run orchestrate diff \(environment))"
        case .unknown:
            return "unknown: " + (cause ?? "not read")
        }
    }
}
