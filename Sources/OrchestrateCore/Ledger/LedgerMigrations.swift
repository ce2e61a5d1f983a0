/// The ledger's layout versions and the steps between them (DESIGN §5: versioned so that later releases upgrade it).
///
/// A step's DDL is the tables created and the columns added in that version (from `LedgerSchema`), then what
/// `extra(_:schema:)` adds by hand (triggers, indexes). The runner (`script`) writes the version row after each step,
/// so a step never writes it itself. Every step can run again on a ledger that already has it.
enum LedgerMigrations {
    /// The newest ledger layout this build knows.
    ///
    /// 1: the tables, and a row trigger refusing UPDATE and DELETE on `events`.
    /// 2: a statement trigger refusing TRUNCATE on `events` too (a row trigger never sees a TRUNCATE).
    /// 3: `revisions.baselined`, set on the rows `baseline` records.
    /// 4: `ledger_meta` carries the digest of the revisions, the unfinished ones, the newest applied one and the last
    ///    run's end, kept by triggers (`LedgerDerived`): a fleet target is read in one row of one table, whatever the
    ///    length of its history.
    static let currentVersion = 4

    /// The DDL that takes the ledger in `schema` (quoted) from `version - 1` to `version`, without its version row.
    static func step(_ version: Int, schema s: String) -> String {
        precondition(version >= 1 && version <= currentVersion, "no ledger migration to version \(version)")
        var statements: [String] = version == 1 ? ["CREATE SCHEMA IF NOT EXISTS \(s);"] : []
        for table in LedgerSchema.tables {
            if table.since == version { statements.append(table.create(schema: s)) }
            statements += table.addedColumns(in: version, schema: s)
        }
        if let extra = extra(version, schema: s) { statements.append(extra) }
        return statements.joined(separator: "\n")
    }

    /// What step `version` does beyond creating tables and adding columns.
    private static func extra(_ version: Int, schema s: String) -> String? {
        switch version {
        case 1:
            return """
                CREATE INDEX events_lock_pid ON \(s).events (lock_pid, id);
                CREATE FUNCTION \(s).events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION 'the orchestrate event log is append-only';
                END
                $$;
                CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON \(s).events
                    FOR EACH ROW EXECUTE FUNCTION \(s).events_append_only();
                """
        case 2:
            // Idempotent: it reinstates a trigger someone dropped, and a ledger whose version row was lost can be
            // told "version 1" and brought up to date again.
            return """
                CREATE OR REPLACE FUNCTION \(s).events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION 'the orchestrate event log %.events is append-only: % is refused', TG_TABLE_SCHEMA, TG_OP
                        USING ERRCODE = 'insufficient_privilege',
                              HINT = 'the event log records what happened to this environment; orchestrate only ever appends to it';
                END
                $$;
                DROP TRIGGER IF EXISTS events_append_only ON \(s).events;
                CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON \(s).events
                    FOR EACH ROW EXECUTE FUNCTION \(s).events_append_only();
                DROP TRIGGER IF EXISTS events_append_only_truncate ON \(s).events;
                CREATE TRIGGER events_append_only_truncate BEFORE TRUNCATE ON \(s).events
                    FOR EACH STATEMENT EXECUTE FUNCTION \(s).events_append_only();
                """
        case 4:
            return LedgerDerived.install(schema: s)
        default:
            return nil
        }
    }

    /// Records that the ledger in `schema` (quoted) is at `version`: the runner's write after each step.
    static func versionRow(_ version: Int, schema s: String) -> String {
        let meta = LedgerSchema.meta.qualified(s)
        let row =
            "INSERT INTO \(meta) (version) VALUES (\(version)) ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version, upgraded_at = now();"
        // From version 4 the row carries the digest of the revisions: computed afresh whenever the row is written, so
        // that a row written again (a lost version row restored) never keeps a digest of other rows.
        guard version >= LedgerDerived.digest.since else { return row }
        return row + "\n" + LedgerDerived.recomputation(schema: s)
    }

    /// The steps from `installed` (0: no ledger) to `target`, each followed by its version row: what a writing run
    /// sends in one transaction, and what `plan --sql` prints.
    static func script(from installed: Int, to target: Int = currentVersion, schema: String) -> String {
        guard installed < target else { return "" }
        return ((installed + 1)...target).map { step($0, schema: schema) + "\n" + versionRow($0, schema: schema) }
            .joined(separator: "\n")
    }
}
