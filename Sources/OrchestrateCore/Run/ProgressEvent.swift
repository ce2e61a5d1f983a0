import Migrations

/// What a running command reports while it works; the command line renders these on stderr.
public enum ProgressEvent: Sendable {
    /// Something worth knowing that needs no action.
    case notice(String)
    /// Something that may need attention but does not stop the run.
    case warning(String)
    /// Waiting for the environment lock, held by `holder` (nil when unknown).
    case waitingForLock(environment: String, holder: LockHolder?, waitedSeconds: Double)
    /// A revision is about to run.
    case revisionStarted(environment: String, revision: String, direction: Plan.Direction)
    /// A revision finished. `committed` is false inside a single-transaction run, where nothing is committed until
    /// `transactionCommitted` (and everything is rolled back if the run then fails).
    case revisionFinished(
        environment: String, revision: String, direction: Plan.Direction, milliseconds: Int, committed: Bool)
    /// The single transaction of a run committed `count` revisions.
    case transactionCommitted(environment: String, count: Int)
    /// A revision is retried after a lock timeout.
    case retrying(environment: String, revision: String, attempt: Int, of: Int, reason: String)
    /// A target of a fleet finished (done, unchanged, failed…), with the fleet's counts so far.
    case targetFinished(FleetProgress)
}

/// Receives progress events. Must be cheap: it is called on the working thread.
public typealias ProgressHandler = @Sendable (ProgressEvent) -> Void
