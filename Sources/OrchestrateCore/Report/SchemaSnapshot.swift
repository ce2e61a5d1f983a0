import Postgres

/// A database's schema as its catalog describes it: every user object, keyed by kind and qualified name, with a
/// definition to compare.
///
/// Covered: schemas, tables (with partitioning and row security), columns (type, nullability, default, identity,
/// generation, collation), constraints, indexes (with validity), views and materialized views (their query),
/// functions and procedures (their full definition), triggers, sequences (their parameters), enum and domain types,
/// composite types, policies and extensions. Left out: system schemas, objects that belong to an extension, the
/// schemas named by the caller (the ledger), owners, grants, comments, statistics and data. Column order is left out
/// too: a column dropped by a down section and added back by its up section lands last, which is not a defect.
public struct SchemaSnapshot: Sendable, Equatable, Codable {
    /// Object key, such as `table public.users` or `column public.users.email`, to its definition.
    public var objects: [String: String]

    /// Makes a snapshot from explicit objects (tests, and patches of snapshots).
    public init(objects: [String: String]) {
        self.objects = objects
    }

    /// What changed from `self` (before) to `after`, sorted by object key.
    public func differences(to after: SchemaSnapshot) -> [SchemaDifference] {
        var result: [SchemaDifference] = []
        for key in Set(objects.keys).union(after.objects.keys).sorted() {
            let old = objects[key], new = after.objects[key]
            switch (old, new) {
            case (nil, let added?): result.append(SchemaDifference(object: key, before: nil, after: added))
            case (let removed?, nil): result.append(SchemaDifference(object: key, before: removed, after: nil))
            case (let a?, let b?) where a != b: result.append(SchemaDifference(object: key, before: a, after: b))
            default: break
            }
        }
        return result
    }

    /// `self` with `changes` applied: each changed object takes its `after` definition (or goes, when nil).
    ///
    /// Used to predict a state from a known change: if an up section took the schema from A to B, its down section
    /// run on any state S should give `S.applying(B.differences(to: A))`, whatever other drift S carries.
    public func applying(_ changes: [SchemaDifference]) -> SchemaSnapshot {
        var copy = objects
        for change in changes { copy[change.object] = change.after }
        return SchemaSnapshot(objects: copy)
    }

    /// Reads the snapshot of the connection's database, leaving out `excludedSchemas`.
    static func read(from connection: Connection, excludedSchemas: [String]) throws(PostgresError) -> SchemaSnapshot {
        let excluded = SQLParameter.textArray(excludedSchemas)
        var objects: [String: String] = [:]
        for query in queries {
            for row in try connection.query(query, [excluded]).rows {
                guard let key = row[0] else { continue }
                objects[key] = row.count > 1 ? (row[1] ?? "") : ""
            }
        }
        return SchemaSnapshot(objects: objects)
    }

    /// A user schema: not a system one, not excluded (`$1`).
    private static func userSchema(_ column: String) -> String {
        "\(column) NOT IN ('pg_catalog', 'information_schema') AND \(column) NOT LIKE 'pg\\_toast%' "
            + "AND \(column) NOT LIKE 'pg\\_temp\\_%' AND \(column) <> ALL($1::text[])"
    }

    /// Not created by an extension.
    private static func notFromExtension(_ catalog: String, _ oid: String) -> String {
        "NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = '\(catalog)'::regclass AND d.objid = \(oid) AND d.deptype = 'e')"
    }

    /// One query per kind of object, each returning (key, definition) and taking the excluded schemas as `$1`.
    private static let queries: [String] = [
        // Schemas.
        """
        SELECT 'schema ' || quote_ident(n.nspname), '' FROM pg_namespace n
        WHERE \(userSchema("n.nspname")) AND \(notFromExtension("pg_namespace", "n.oid"))
        """,
        // Tables, views, materialized views, foreign tables, composite types.
        """
        SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
                   WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' ELSE 'composite type' END
               || ' ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname),
               concat_ws('; ',
                   CASE c.relpersistence WHEN 'u' THEN 'unlogged' END,
                   CASE WHEN c.relkind = 'p' THEN 'partitioned by ' || pg_get_partkeydef(c.oid) END,
                   CASE WHEN c.relispartition THEN 'partition ' || pg_get_expr(c.relpartbound, c.oid) END,
                   CASE WHEN c.relrowsecurity THEN 'row level security' END,
                   CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c') AND \(userSchema("n.nspname"))
          AND \(notFromExtension("pg_class", "c.oid"))
        """,
        // Columns.
        """
        SELECT 'column ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || '.' || quote_ident(a.attname),
               concat_ws(' ', format_type(a.atttypid, a.atttypmod),
                   CASE WHEN a.attnotnull THEN 'NOT NULL' END,
                   CASE WHEN ad.adbin IS NOT NULL AND a.attgenerated = 's'
                        THEN 'GENERATED ALWAYS AS (' || pg_get_expr(ad.adbin, ad.adrelid) || ') STORED'
                        WHEN ad.adbin IS NOT NULL THEN 'DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid) END,
                   CASE a.attidentity WHEN 'a' THEN 'GENERATED ALWAYS AS IDENTITY'
                                      WHEN 'd' THEN 'GENERATED BY DEFAULT AS IDENTITY' END,
                   CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                        THEN 'COLLATE ' || quote_ident(co.collname) END)
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
        LEFT JOIN pg_collation co ON co.oid = a.attcollation
        WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
          AND \(userSchema("n.nspname")) AND \(notFromExtension("pg_class", "c.oid"))
        """,
        // Constraints of tables and domains.
        """
        SELECT 'constraint ' || quote_ident(n.nspname) || '.' || quote_ident(coalesce(c.relname, t.typname)) || '.'
                   || quote_ident(con.conname),
               pg_get_constraintdef(con.oid)
        FROM pg_constraint con
        JOIN pg_namespace n ON n.oid = con.connamespace
        LEFT JOIN pg_class c ON c.oid = con.conrelid
        LEFT JOIN pg_type t ON t.oid = con.contypid
        WHERE \(userSchema("n.nspname")) AND (c.oid IS NULL OR \(notFromExtension("pg_class", "c.oid")))
        """,
        // Indexes.
        """
        SELECT 'index ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname),
               pg_get_indexdef(i.indexrelid) || CASE WHEN NOT i.indisvalid THEN ' (INVALID)' ELSE '' END
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE \(userSchema("n.nspname")) AND \(notFromExtension("pg_class", "i.indrelid"))
        """,
        // Sequences.
        """
        SELECT 'sequence ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname),
               concat_ws(' ', format_type(s.seqtypid, NULL), 'start', s.seqstart, 'increment', s.seqincrement,
                   'min', s.seqmin, 'max', s.seqmax, 'cache', s.seqcache, CASE WHEN s.seqcycle THEN 'cycle' END,
                   (SELECT 'owned by ' || quote_ident(oc.relname) || '.' || quote_ident(oa.attname)
                    FROM pg_depend d JOIN pg_class oc ON oc.oid = d.refobjid
                    JOIN pg_attribute oa ON oa.attrelid = d.refobjid AND oa.attnum = d.refobjsubid
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
                      AND d.deptype IN ('a', 'i') LIMIT 1))
        FROM pg_sequence s
        JOIN pg_class c ON c.oid = s.seqrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE \(userSchema("n.nspname")) AND \(notFromExtension("pg_class", "c.oid"))
        """,
        // Functions, procedures and aggregates.
        """
        SELECT CASE p.prokind WHEN 'p' THEN 'procedure ' WHEN 'a' THEN 'aggregate ' ELSE 'function ' END
                   || quote_ident(n.nspname) || '.' || quote_ident(p.proname)
                   || '(' || pg_get_function_identity_arguments(p.oid) || ')',
               CASE WHEN p.prokind = 'a' THEN 'returns ' || format_type(p.prorettype, NULL)
                    ELSE pg_get_functiondef(p.oid) END
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE \(userSchema("n.nspname")) AND \(notFromExtension("pg_proc", "p.oid"))
        """,
        // Triggers.
        """
        SELECT 'trigger ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || '.' || quote_ident(tg.tgname),
               pg_get_triggerdef(tg.oid)
        FROM pg_trigger tg
        JOIN pg_class c ON c.oid = tg.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT tg.tgisinternal AND \(userSchema("n.nspname")) AND \(notFromExtension("pg_class", "c.oid"))
        """,
        // Enum and domain types.
        """
        SELECT CASE t.typtype WHEN 'e' THEN 'enum ' ELSE 'domain ' END
                   || quote_ident(n.nspname) || '.' || quote_ident(t.typname),
               CASE WHEN t.typtype = 'e'
                    THEN (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                          FROM pg_enum e WHERE e.enumtypid = t.oid)
                    ELSE concat_ws(' ', format_type(t.typbasetype, t.typtypmod),
                                   CASE WHEN t.typnotnull THEN 'NOT NULL' END,
                                   'DEFAULT ' || t.typdefault) END
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE t.typtype IN ('e', 'd') AND \(userSchema("n.nspname")) AND \(notFromExtension("pg_type", "t.oid"))
        """,
        // Row security policies.
        """
        SELECT 'policy ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || '.' || quote_ident(pol.polname),
               concat_ws(' ', CASE WHEN pol.polpermissive THEN 'permissive' ELSE 'restrictive' END, pol.polcmd,
                   'to', (SELECT string_agg(CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r)::text END, ',' ORDER BY 1)
                          FROM unnest(pol.polroles) r),
                   'using', pg_get_expr(pol.polqual, pol.polrelid), 'check', pg_get_expr(pol.polwithcheck, pol.polrelid))
        FROM pg_policy pol
        JOIN pg_class c ON c.oid = pol.polrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE \(userSchema("n.nspname"))
        """,
        // Extensions (their objects are left out above).
        """
        SELECT 'extension ' || quote_ident(x.extname), 'version ' || x.extversion || ' in ' || x.extnamespace::regnamespace::text
        FROM pg_extension x WHERE x.extname <> 'plpgsql' AND $1::text[] IS NOT NULL
        """,
    ]
}

/// One object that differs between two snapshots.
public struct SchemaDifference: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The object key, such as `table public.users`.
    public var object: String
    /// Its definition before; nil when it did not exist.
    public var before: String?
    /// Its definition after; nil when it does not exist any more.
    public var after: String?

    /// Makes a difference.
    public init(object: String, before: String?, after: String?) {
        self.object = object
        self.before = before
        self.after = after
    }

    /// `+ table public.x`, `- index public.y`, or `~ column public.t.c: integer -> bigint`.
    public var description: String {
        switch (before, after) {
        case (nil, _): return "+ \(object)"
        case (_, nil): return "- \(object)"
        case (let a?, let b?): return "~ \(object): \(a) -> \(b)"
        }
    }
}
