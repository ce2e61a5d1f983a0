/// What `ledger_meta` carries about the other tables from layout 4 on, kept by triggers so that a fleet reads one row
/// per target whatever the length of its history: the digest of the `revisions` rows, the rows not fully applied,
/// when the newest applied revision was applied, and how the last run ended. Each is derived: the rows and the event
/// log stay the record, and every write of the version row recomputes these from them.
enum LedgerDerived {
    static let digest = LedgerColumn("revisions_digest", "numeric NOT NULL DEFAULT 0", since: 4)
    /// `revision state statements_done statements_total` of each row not fully applied, comma-separated, in revision
    /// order; NULL when there is none.
    static let unfinished = LedgerColumn("unfinished", "text", since: 4)
    static let lastAppliedAt = LedgerColumn("last_applied_at", "timestamptz", since: 4)
    static let lastRunAction = LedgerColumn("last_run_action", "text", since: 4)
    static let lastRunOutcome = LedgerColumn("last_run_outcome", "text", since: 4)
    static let lastRunAt = LedgerColumn("last_run_at", "timestamptz", since: 4)
    static let lastRunMessage = LedgerColumn("last_run_message", "text", since: 4)
    static let columns = [digest, unfinished, lastAppliedAt, lastRunAction, lastRunOutcome, lastRunAt, lastRunMessage]
    private static let lastRun = [lastRunAction, lastRunOutcome, lastRunAt, lastRunMessage]

    /// The columns of `revisions` a run decides by (the plan, the damage checks, the interrupted rows, a downgrade's
    /// way back): two ledgers whose rows agree on these are the same to every decision, whenever and by whom their
    /// rows were written. A column added here needs a layout step that replaces `revision_digest` and recomputes.
    static let digested: [LedgerColumn] = [
        RevisionsTable.revision, RevisionsTable.parents, RevisionsTable.checksum, RevisionsTable.state,
        RevisionsTable.transactional, RevisionsTable.statementsDone, RevisionsTable.statementsTotal,
        RevisionsTable.baselined,
    ]

    /// The runs whose end `last_run_*` records: the event of an `upgrade`, `promote` or `downgrade` that succeeded,
    /// failed or was interrupted.
    static let runActions = [RunAction.upgrade, .promote, .downgrade].map(\.rawValue)
    static let runEnds = [EventOutcome.succeeded, .failed, .interrupted].map(\.rawValue)

    /// The triggers, each firing `ALWAYS` (a session with `session_replication_role = replica`, as some restore and
    /// replication tools set, fires them too); only an explicit `ALTER TABLE … DISABLE TRIGGER` stops them.
    static let triggers: [(table: LedgerTable, name: String)] = [
        (RevisionsTable.table, "revisions_derived"), (RevisionsTable.table, "revisions_derived_truncate"),
        (EventsTable.table, "events_last_run"),
    ]

    /// `digest` is the sum, modulo 2^64, of a 60-bit hash (SHA-256, which FIPS servers allow) of each row's
    /// `digested` columns and whether it has a down section. A sum can be kept row by row (a write adds the new row's
    /// hash and takes the old one's away), does not depend on the order rows were written in, and, unlike an
    /// exclusive or, does not lose two equal rows. `last_applied_at` follows applied rows with `greatest` and is
    /// recomputed only when its row goes; `unfinished` only when a row that is or was unfinished changes: a revision
    /// applied costs one update of `ledger_meta` and no query of `revisions`, whatever its length. TRUNCATE resets
    /// them.
    static func install(schema s: String) -> String {
        let revisions = RevisionsTable.table.qualified(s), events = EventsTable.table.qualified(s)
        let meta = LedgerSchema.meta.qualified(s)
        let state = RevisionsTable.state.name, appliedAt = RevisionsTable.appliedAt.name
        return """
            CREATE OR REPLACE FUNCTION \(s).revision_digest(r \(revisions)) RETURNS numeric
                LANGUAGE sql IMMUTABLE AS $$ SELECT \(rowHash("r")) $$;
            CREATE OR REPLACE FUNCTION \(s).revisions_derived() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                change numeric := 0;
                newest timestamptz;
                listed text;
                newest_recomputed boolean := false;
                listed_recomputed boolean := false;
            BEGIN
                IF TG_OP = 'TRUNCATE' THEN
                    UPDATE \(meta) SET \(digest.name) = 0, \(unfinished.name) = NULL, \(lastAppliedAt.name) = NULL;
                    RETURN NULL;
                END IF;
                -- The common write, a revision applied in one transaction: one statement, the hash written out (a
                -- call of revision_digest with the row costs as much again).
                IF TG_OP = 'INSERT' AND NEW.\(state) = 'applied' THEN
                    UPDATE \(meta) SET \(digest.name) = mod(\(digest.name) + \(rowHash("NEW")), \(modulus)),
                        \(lastAppliedAt.name) = greatest(\(lastAppliedAt.name), NEW.\(appliedAt));
                    RETURN NULL;
                END IF;
                IF TG_OP IN ('INSERT', 'UPDATE') THEN change := change + \(s).revision_digest(NEW); END IF;
                IF TG_OP IN ('UPDATE', 'DELETE') THEN change := change - \(s).revision_digest(OLD); END IF;
                -- The common write, a revision applied, costs no query of the table: the newest applied time follows
                -- it with greatest. An applied row that goes, stops being applied or moves back in time, and a row
                -- that is or was unfinished, are rare: those recompute, planned afresh (EXECUTE) so that the indexes
                -- serve them however large the table has grown since the session's first write.
                IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.\(state) = 'applied'
                    AND (TG_OP = 'DELETE' OR NEW.\(state) <> 'applied' OR NEW.\(appliedAt) < OLD.\(appliedAt)) THEN
                    EXECUTE \(LedgerHealth.quoteLiteral("SELECT " + lastAppliedExpression(schema: s))) INTO newest;
                    newest_recomputed := true;
                END IF;
                IF (TG_OP IN ('INSERT', 'UPDATE') AND NEW.\(state) <> 'applied')
                    OR (TG_OP IN ('UPDATE', 'DELETE') AND OLD.\(state) <> 'applied') THEN
                    EXECUTE \(LedgerHealth.quoteLiteral("SELECT " + unfinishedExpression(schema: s))) INTO listed;
                    listed_recomputed := true;
                END IF;
                UPDATE \(meta) SET
                    \(digest.name) = mod(\(digest.name) + change + \(modulus), \(modulus)),
                    \(unfinished.name) = CASE WHEN listed_recomputed THEN listed ELSE \(unfinished.name) END,
                    \(lastAppliedAt.name) = CASE
                        WHEN newest_recomputed THEN newest
                        WHEN TG_OP IN ('INSERT', 'UPDATE') AND NEW.\(state) = 'applied'
                            THEN greatest(\(lastAppliedAt.name), NEW.\(appliedAt))
                        ELSE \(lastAppliedAt.name) END;
                RETURN NULL;
            END
            $$;
            CREATE OR REPLACE FUNCTION \(s).events_last_run() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE \(meta) SET (\(lastRun.map(\.name).joined(separator: ", "))) =
                    (NEW.\(EventsTable.action.name), NEW.\(EventsTable.outcome.name), NEW.\(EventsTable.at.name),
                     NEW.\(EventsTable.message.name));
                RETURN NULL;
            END
            $$;
            DROP TRIGGER IF EXISTS revisions_derived ON \(revisions);
            CREATE TRIGGER revisions_derived AFTER INSERT OR UPDATE OR DELETE ON \(revisions)
                FOR EACH ROW EXECUTE FUNCTION \(s).revisions_derived();
            DROP TRIGGER IF EXISTS revisions_derived_truncate ON \(revisions);
            CREATE TRIGGER revisions_derived_truncate AFTER TRUNCATE ON \(revisions)
                FOR EACH STATEMENT EXECUTE FUNCTION \(s).revisions_derived();
            DROP TRIGGER IF EXISTS events_last_run ON \(events);
            CREATE TRIGGER events_last_run AFTER INSERT ON \(events) FOR EACH ROW
                WHEN (NEW.\(EventsTable.action.name) IN (\(list(runActions)))
                      AND NEW.\(EventsTable.outcome.name) IN (\(list(runEnds))))
                EXECUTE FUNCTION \(s).events_last_run();
            \(enableStatements(schema: s).joined(separator: "\n"))
            CREATE INDEX IF NOT EXISTS revisions_applied_at ON \(revisions) (\(RevisionsTable.appliedAt.name));
            CREATE INDEX IF NOT EXISTS revisions_unfinished ON \(revisions) (\(RevisionsTable.revision.name))
                WHERE \(state) <> 'applied';
            """
    }

    /// The 60-bit hash of the `revisions` row `r` (a row variable: `r`, `NEW`, `OLD`): SHA-256 of its `digested`
    /// columns and whether it has a down section, `|`-separated (`format` writes NULL as nothing), as a numeric.
    private static func rowHash(_ r: String) -> String {
        let fields =
            digested.map { column in
                column.type == "text[]" ? "array_to_string(\(r).\(column.name), ',')" : "\(r).\(column.name)"
            } + ["\(r).\(RevisionsTable.downSQL.name) IS NOT NULL"]
        let format = Array(repeating: "%s", count: fields.count).joined(separator: "|")
        return
            "('x' || left(encode(sha256(convert_to(format('\(format)', \(fields.joined(separator: ", "))), 'UTF8')), 'hex'), 15))::bit(60)::bigint::numeric"
    }

    /// The statement that computes every derived column afresh: when the layout step installs the triggers, and
    /// whenever the version row is written (so that a row written again never keeps values of other rows).
    static func recomputation(schema s: String) -> String {
        let names = columns.map(\.name).joined(separator: ", ")
        return "UPDATE \(LedgerSchema.meta.qualified(s)) SET (\(names)) = (SELECT \(computed(schema: s)));"
    }

    /// The derived columns computed from the rows and the event log, as a select list in `columns` order.
    private static func computed(schema s: String) -> String {
        let events = EventsTable.table.qualified(s)
        let lastRunColumns = [EventsTable.action, EventsTable.outcome, EventsTable.at, EventsTable.message]
        let lastRunValues = lastRunColumns.map { column in
            """
            (SELECT \(column.name) FROM \(events) WHERE \(EventsTable.action.name) IN (\(list(runActions)))
                AND \(EventsTable.outcome.name) IN (\(list(runEnds))) ORDER BY \(EventsTable.id.name) DESC LIMIT 1)
            """
        }
        return
            ([
                "(SELECT mod(coalesce(sum(\(s).revision_digest(r)), 0), \(modulus)) FROM \(RevisionsTable.table.qualified(s)) r)",
                unfinishedExpression(schema: s), lastAppliedExpression(schema: s),
            ] + lastRunValues).joined(separator: ",\n    ")
    }

    /// What `doctor` compares: true when every derived column matches the rows and the event log, and every
    /// trigger is enabled. Reads every row: a check for `doctor`, not for a run.
    static func health(schema s: String) -> (matches: String, kept: String) {
        let matches = "(\(columns.map(\.name).joined(separator: ", "))) IS NOT DISTINCT FROM (\(computed(schema: s)))"
        let checks = triggers.map { trigger in
            "(tgrelid = to_regclass(\(LedgerHealth.quoteLiteral(trigger.table.qualified(s)))) AND tgname = '\(trigger.name)')"
        }
        let kept =
            "((SELECT count(*) FROM pg_trigger WHERE (\(checks.joined(separator: " OR "))) AND tgenabled IN ('A', 'O')) = \(triggers.count))"
        return (matches, kept)
    }

    /// What a DBA runs to mend the derived columns of the ledger in `schema` (quoted): enable the triggers (when
    /// `enable`), then recompute.
    static func remedy(schema s: String, enable: Bool) -> String {
        let statements =
            (enable ? enableStatements(schema: s) : []) + [recomputation(schema: s)]
        return statements.joined(separator: " ").split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    /// Derived columns that do not match the rows, or whose triggers are disabled: what `doctor` says, and the way out.
    struct Problem: Sendable, Hashable {
        var problem: String
        var remedy: String
    }

    /// The problem `doctor` reports when the derived columns do not `match` the rows or their triggers are not
    /// `kept` (enabled); nil when both hold.
    static func problem(matches: Bool, kept: Bool, schema s: String) -> Problem? {
        guard !matches || !kept else { return nil }
        let meta = LedgerSchema.meta.qualified(s)
        let problem =
            kept
            ? "the digest and summary columns of \(meta) do not match the revisions and events (they were written while their triggers were disabled)"
            : "the triggers that keep the digest and summary columns of \(meta) are disabled"
                + (matches ? "" : ", and the columns no longer match the revisions and events")
        return Problem(
            problem: problem + ", so `status` and fleet runs may describe or plan this ledger from another's rows",
            remedy: "a DBA runs `\(remedy(schema: s, enable: !kept))`")
    }

    /// The statements that make every trigger fire `ALWAYS`.
    private static func enableStatements(schema s: String) -> [String] {
        triggers.map { "ALTER TABLE \($0.table.qualified(s)) ENABLE ALWAYS TRIGGER \($0.name);" }
    }

    private static func unfinishedExpression(schema s: String) -> String {
        let r = RevisionsTable.self
        return """
            (SELECT string_agg(\(r.revision.name) || ' ' || \(r.state.name) || ' ' || coalesce(\(r.statementsDone.name), 0) || ' '
                || coalesce(\(r.statementsTotal.name), 0), ',' ORDER BY \(r.revision.name))
             FROM \(r.table.qualified(s)) WHERE \(r.state.name) <> 'applied')
            """
    }

    private static func lastAppliedExpression(schema s: String) -> String {
        let r = RevisionsTable.self
        return
            "(SELECT max(\(r.appliedAt.name)) FROM \(r.table.qualified(s)) WHERE \(r.state.name) = 'applied')"
    }

    private static func list(_ values: [String]) -> String {
        values.map(LedgerHealth.quoteLiteral).joined(separator: ", ")
    }

    /// 2^64.
    private static let modulus = "18446744073709551616"
}
