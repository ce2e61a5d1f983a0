import Postgres

/// What `status` needs of one fleet target's ledger, read in one statement whose cost does not grow with the history:
/// the version, the digest of the rows (kept in `ledger_meta` by a trigger, see `RevisionsTable.digestTrigger`), the
/// unfinished rows and the newest applied one (both through an index), the freeze, whether the environment lock is
/// held, and how the last run ended. Two ledgers with the same `digest` record the same revisions with the same
/// parents, checksums and states, so the rows themselves are read once per digest, not per target.
struct LedgerSummary: Sendable, Hashable {
    /// The layout version; nil when `ledger_meta` has no row (the ledger is then damaged: read it in full).
    var version: Int?
    /// `ledger_meta.revisions_digest`.
    var digest: String
    /// Whether the triggers that keep `digest` are enabled; when they are not, the digest is not trusted and the
    /// target's rows are read.
    var digestKept: Bool
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
    /// The ledger's summary in one round trip (see `LedgerSummary`); `lockKey` is the environment lock's key.
    ///
    /// - Throws: `undefinedTable` when a ledger table is missing (no ledger yet, or a damaged one), `undefinedColumn`
    ///   for a ledger of a layout before 4 (a reading command does not upgrade it): read it with `layout()` then.
    func summary(lockKey: Int64) throws(PostgresError) -> LedgerSummary {
        let revisions = table(RevisionsTable.table), meta = table(LedgerSchema.meta)
        let events = table(EventsTable.table)
        let runActions = [RunAction.upgrade, .promote, .downgrade].map(\.rawValue)
        let runEnds = [EventOutcome.succeeded, .failed, .interrupted].map(\.rawValue)
        let result = try connection.query(
            """
            SELECT m.version, m.\(LedgerSchema.revisionsDigest.name)::text AS digest,
                   \(RevisionsTable.digestKept(tableParameter: "$4")) AS digest_kept,
                   (SELECT string_agg(revision || ' ' || state || ' ' || coalesce(statements_done, 0) || ' '
                                      || coalesce(statements_total, 0), ',' ORDER BY revision)
                    FROM \(revisions) WHERE state <> 'applied') AS unfinished,
                   (SELECT \(Ledger.isoTime("max(applied_at)")) FROM \(revisions) WHERE state = 'applied')
                       AS last_applied_at,
                   -- A shared try of the lock, released when the statement ends: it fails only while a run holds
                   -- the lock, and costs far less than reading pg_locks (every lock of every backend).
                   NOT pg_try_advisory_xact_lock_shared($1::bigint) AS lock_held,
                   \(FreezesTable.selectList(alias: "f", prefix: "freeze_")),
                   e.action AS run_action, e.outcome AS run_outcome, \(Ledger.isoTime("e.at")) AS run_at,
                   e.message AS run_message
            FROM (SELECT) one
            LEFT JOIN \(meta) m ON true
            LEFT JOIN \(table(FreezesTable.table)) f ON true
            LEFT JOIN LATERAL (SELECT action, outcome, at, message FROM \(events)
                               WHERE action = ANY($2::text[]) AND outcome = ANY($3::text[])
                               ORDER BY id DESC LIMIT 1) e ON true
            """,
            [
                .text(String(lockKey)), .textArray(runActions),
                .textArray(runEnds), .text(revisions),
            ])
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
        return LedgerSummary(
            version: row.integer("version"), digest: row["digest"] ?? "",
            digestKept: row.boolean("digest_kept") ?? false, unfinished: unfinished,
            lastAppliedAt: row["last_applied_at"], freeze: freeze, lockHeld: row.boolean("lock_held") ?? false,
            lastRun: lastRun)
    }
}
