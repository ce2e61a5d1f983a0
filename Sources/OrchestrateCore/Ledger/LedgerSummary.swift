import Postgres

/// What `status` needs of one fleet target's ledger, read from one row of `ledger_meta` (whose derived columns the
/// ledger's triggers keep, see `LedgerDerived`) and the freeze, so that its cost does not grow with the history: the
/// version, the digest of the rows, the unfinished rows, the newest applied one, how the last run ended, the freeze,
/// and whether the environment lock is held. Two ledgers with the same `digest` record the same revisions with the same
/// parents, checksums and states, so the rows themselves are read once per digest, not per target.
struct LedgerSummary: Sendable, Hashable {
    /// The layout version; nil when `ledger_meta` has no row (the ledger is then damaged: read it in full).
    var version: Int?
    /// `ledger_meta.revisions_digest`.
    var digest: String
    /// `doctor`'s check of the derived columns (see `Ledger.derivedProblem`), when it asked for it.
    var derivedProblem: LedgerDerived.Problem?
    /// The rows not fully applied (non-transactional revisions caught between statements), in revision order.
    var unfinished: [Unfinished]
    /// When the newest applied revision was applied (UTC, ISO 8601).
    var lastAppliedAt: String?
    /// The active freeze.
    var freeze: Freeze?
    /// Whether a session holds the environment lock now.
    var lockHeld: Bool
    /// The last upgrade, promote or downgrade that ended (succeeded, failed or interrupted).
    var lastRun: LastRun?

    /// A revision row caught between statements.
    struct Unfinished: Sendable, Hashable {
        var revision: String
        var state: AppliedRevision.State
        var statementsDone: Int
        var statementsTotal: Int
    }

    /// How the last run ended.
    struct LastRun: Sendable, Hashable {
        var action: RunAction
        var outcome: EventOutcome
        var at: String
        var message: String?
    }
}

extension Ledger {
    /// The ledger's summary in one round trip (see `LedgerSummary`); `lockKey` is the environment lock's key. With
    /// `verify` (`doctor`), the derived columns are also compared with the rows and the event log, which reads them.
    ///
    /// - Throws: `undefinedTable` when a ledger table is missing (no ledger yet, or a damaged one), `undefinedColumn`
    ///   for a ledger of a layout before 4 (a reading command does not upgrade it): read it with `layout()` then.
    func summary(lockKey: Int64, verify: Bool = false) throws(PostgresError) -> LedgerSummary {
        let d = LedgerDerived.self
        // `doctor` compares the derived columns with the rows; a status read trusts them.
        let verification = verify ? LedgerDerived.health(schema: quoted) : nil
        let verified = verification.map { "\($0.matches) AS derived_matches, \($0.kept) AS derived_kept," } ?? ""
        let result = try connection.query(
            """
            SELECT m.version, m.\(d.digest.name)::text AS digest, m.\(d.unfinished.name) AS unfinished,
                   \(Ledger.isoTime("m.\(d.lastAppliedAt.name)")) AS last_applied_at,
                   -- A shared try of the lock, released when the statement ends: it fails only while a run holds
                   -- the lock, and costs far less than reading pg_locks (every lock of every backend).
                   NOT pg_try_advisory_xact_lock_shared($1::bigint) AS lock_held, \(verified)
                   \(FreezesTable.selectList(alias: "f", prefix: "freeze_")),
                   m.\(d.lastRunAction.name) AS run_action, m.\(d.lastRunOutcome.name) AS run_outcome,
                   \(Ledger.isoTime("m.\(d.lastRunAt.name)")) AS run_at, m.\(d.lastRunMessage.name) AS run_message
            FROM (SELECT) one
            LEFT JOIN \(table(LedgerSchema.meta)) m ON true
            LEFT JOIN \(table(FreezesTable.table)) f ON true
            """, [.text(String(lockKey))])
        let row = result.records[0]
        let unfinished = RevisionsTable.splitParents(row["unfinished"]).compactMap {
            item -> LedgerSummary.Unfinished? in
            let parts = item.split(separator: " ")
            guard parts.count == 4, let state = AppliedRevision.State(rawValue: String(parts[1])) else { return nil }
            return LedgerSummary.Unfinished(
                revision: String(parts[0]), state: state, statementsDone: Int(parts[2]) ?? 0,
                statementsTotal: Int(parts[3]) ?? 0)
        }
        let freeze = FreezesTable.decode(row, prefix: "freeze_")
        let lastRun = row["run_outcome"].map { outcome in
            LedgerSummary.LastRun(
                action: RunAction(rawValue: row["run_action"] ?? ""), outcome: EventOutcome(rawValue: outcome),
                at: row["run_at"] ?? "", message: row["run_message"])
        }
        let derivedProblem =
            verify
            ? LedgerDerived.problem(
                matches: row.boolean("derived_matches") ?? false, kept: row.boolean("derived_kept") ?? false,
                schema: quoted) : nil
        return LedgerSummary(
            version: row.integer("version"), digest: row["digest"] ?? "", derivedProblem: derivedProblem,
            unfinished: unfinished, lastAppliedAt: row["last_applied_at"], freeze: freeze,
            lockHeld: row.boolean("lock_held") ?? false, lastRun: lastRun)
    }
}
