import Foundation
import Postgres

extension SchemaModel {
    /// Reads the model of the connection's database, leaving out system schemas, `excludedSchemas` (the ledger) and
    /// objects that belong to an extension.
    ///
    /// Thirteen queries whatever the schema's size (one or two per kind of object, never one per table), with
    /// `search_path` set to `pg_catalog` meanwhile so that the catalog's definitions name every user object with its
    /// schema; the session's `search_path` is put back afterwards.
    static func read(from connection: Connection, excludedSchemas: [String]) throws(PostgresError) -> SchemaModel {
        let saved = try connection.query("SELECT current_setting('search_path') AS path").records.first?["path"]
        _ = try connection.query("SELECT set_config('search_path', 'pg_catalog', false)")
        defer {
            if let saved {
                _ = try? connection.query("SELECT set_config('search_path', $1, false)", [.text(saved)])
            }
        }
        let excluded = [SQLParameter.textArray(excludedSchemas)]
        func rows(_ sql: String) throws(PostgresError) -> [QueryResult.Record] {
            try connection.query(sql, excluded).records
        }
        var model = SchemaModel()
        for row in try rows(CatalogQueries.schemas) {
            let name = row["name"] ?? ""
            model.schemas[name] = Schema(name: name, comment: row["comment"])
        }
        for row in try rows(CatalogQueries.extensions) {
            let name = row["name"] ?? ""
            model.extensions[name] = Extension(
                name: name, version: row["version"] ?? "", schema: row["schema"] ?? "", comment: row["comment"])
        }
        readTypes(into: &model, try rows(CatalogQueries.types))
        for row in try rows(CatalogQueries.sequences) {
            let sequence = SequenceDefinition(
                schema: row["schema"] ?? "", name: row["name"] ?? "", type: row["type"] ?? "bigint",
                start: int64(row["start"]), increment: int64(row["increment"]), minValue: int64(row["min"]),
                maxValue: int64(row["max"]), cache: int64(row["cache"]), cycle: row.boolean("cycle") ?? false,
                ownedBy: row["owned_by"], comment: row["comment"])
            model.sequences[sequence.qualifiedName] = sequence
        }
        readRelations(into: &model, try rows(CatalogQueries.relations))
        for row in try rows(CatalogQueries.columns) {
            let table = "\(row["schema"] ?? "").\(row["table"] ?? "")"
            let column = Column(
                name: row["name"] ?? "", type: row["type"] ?? "", notNull: row.boolean("not_null") ?? false,
                defaultExpression: row["default_expression"],
                identity: row["identity"].flatMap { $0 == "a" ? .always : $0 == "d" ? .byDefault : nil },
                generated: row["generated"], collation: row["collation"], inherited: row.boolean("inherited") ?? false,
                comment: row["comment"])
            if model.tables[table] != nil {
                model.tables[table]?.columns.append(column)
            } else if let definition = model.unsupported["foreign table \(table)"] {
                model.unsupported["foreign table \(table)"] = definition + "; \(column.name) \(column.type)"
            }
        }
        for row in try rows(CatalogQueries.constraints) {
            let table = "\(row["schema"] ?? "").\(row["table"] ?? "")"
            let name = row["name"] ?? ""
            let kind: Constraint.Kind
            switch row["kind"] {
            case "p": kind = .primaryKey
            case "u": kind = .unique
            case "f": kind = .foreignKey
            case "x": kind = .exclusion
            default: kind = .check
            }
            model.tables[table]?.constraints[name] = Constraint(
                name: name, kind: kind, definition: row["definition"] ?? "", referencedTable: row["referenced"],
                comment: row["comment"])
        }
        for row in try rows(CatalogQueries.indexes) {
            let index = Index(
                schema: row["schema"] ?? "", name: row["name"] ?? "", table: row["table"] ?? "",
                definition: row["definition"] ?? "", valid: row.boolean("valid") ?? true, comment: row["comment"])
            model.indexes[index.qualifiedName] = index
        }
        for row in try rows(CatalogQueries.viewDependencies) {
            guard let view = row["view"], let target = row["target"], model.views[view] != nil else { continue }
            switch row["kind"] {
            case "relation": model.views[view]?.dependsOnRelations.append(target)
            case "column": model.views[view]?.dependsOnColumns.append(target)
            default: model.views[view]?.dependsOnFunctions.append(target)
            }
        }
        for row in try rows(CatalogQueries.functions) {
            let schema = row["schema"] ?? "", name = row["name"] ?? "", arguments = row["arguments"] ?? ""
            if row["kind"] == "a" {
                model.unsupported["aggregate \(schema).\(name)(\(arguments))"] = "returns \(row["result"] ?? "")"
                continue
            }
            let function = Function(
                schema: schema, name: name, identityArguments: arguments, isProcedure: row["kind"] == "p",
                definition: row["definition"] ?? "", result: row["result"], atomicBody: row.boolean("atomic") ?? false,
                sqlBody: row.boolean("sql_body") ?? false, comment: row["comment"])
            model.functions[function.signature] = function
        }
        for row in try rows(CatalogQueries.triggers) {
            let trigger = Trigger(
                schema: row["schema"] ?? "", table: row["table"] ?? "", name: row["name"] ?? "",
                definition: row["definition"] ?? "", function: row["function"] ?? "",
                enabled: row.boolean("enabled") ?? true, comment: row["comment"])
            model.triggers["\(trigger.qualifiedTable).\(trigger.name)"] = trigger
        }
        for row in try rows(CatalogQueries.policies) {
            let policy = Policy(
                schema: row["schema"] ?? "", table: row["table"] ?? "", name: row["name"] ?? "",
                permissive: row.boolean("permissive") ?? true, command: row["command"] ?? "ALL",
                roles: decode([String].self, row["roles"]) ?? ["public"], using: row["using_expression"],
                check: row["check_expression"])
            model.policies["\(policy.qualifiedTable).\(policy.name)"] = policy
        }
        for key in model.views.keys {
            model.views[key]?.dependsOnRelations.sort()
            model.views[key]?.dependsOnColumns.sort()
            model.views[key]?.dependsOnFunctions.sort()
        }
        return model
    }

    private static func readTypes(into model: inout SchemaModel, _ rows: [QueryResult.Record]) {
        for row in rows {
            let schema = row["schema"] ?? "", name = row["name"] ?? ""
            switch row["kind"] {
            case "e":
                let type = EnumType(
                    schema: schema, name: name, values: decode([String].self, row["labels"]) ?? [],
                    comment: row["comment"])
                model.enums[type.qualifiedName] = type
            case "d":
                let domain = Domain(
                    schema: schema, name: name, baseType: row["base_type"] ?? "",
                    notNull: row.boolean("not_null") ?? false, defaultExpression: row["default_expression"],
                    collation: row["collation"], constraints: decode([String: String].self, row["constraints"]) ?? [:],
                    comment: row["comment"])
                model.domains[domain.qualifiedName] = domain
            default:
                let type = CompositeType(
                    schema: schema, name: name,
                    attributes: decode([CompositeType.Attribute].self, row["attributes"]) ?? [],
                    comment: row["comment"])
                model.compositeTypes[type.qualifiedName] = type
            }
        }
    }

    private static func readRelations(into model: inout SchemaModel, _ rows: [QueryResult.Record]) {
        for row in rows {
            let schema = row["schema"] ?? "", name = row["name"] ?? ""
            switch row["kind"] {
            case "v", "m":
                var view = View(
                    schema: schema, name: name, materialized: row["kind"] == "m",
                    definition: row["view_definition"] ?? "",
                    options: decode([String].self, row["options"]) ?? [], comment: row["comment"])
                view.populated = row.boolean("populated") ?? true
                model.views[view.qualifiedName] = view
            case "f":
                model.unsupported["foreign table \(schema).\(name)"] = row["foreign_definition"] ?? ""
            default:
                let table = Table(
                    schema: schema, name: name, partitionKey: row["partition_key"], partitionOf: row["parent"],
                    partitionBound: row["partition_bound"], unlogged: row.boolean("unlogged") ?? false,
                    rowSecurity: row.boolean("row_security") ?? false,
                    forceRowSecurity: row.boolean("force_row_security") ?? false, comment: row["comment"])
                model.tables[table.qualifiedName] = table
            }
        }
    }

    private static func int64(_ text: String?) -> Int64 { text.flatMap { Int64($0) } ?? 0 }

    private static func decode<T: Decodable>(_ type: T.Type, _ json: String?) -> T? {
        guard let json else { return nil }
        return try? JSONDecoder().decode(type, from: Data(json.utf8))
    }
}

/// The catalog queries behind `SchemaModel.read`, each taking the excluded schemas as `$1` and naming its columns.
private enum CatalogQueries {
    /// A user schema: not a system one, not excluded (`$1`).
    static func userSchema(_ column: String) -> String {
        "\(column) NOT IN ('pg_catalog', 'information_schema') AND \(column) NOT LIKE 'pg\\_toast%' "
            + "AND \(column) NOT LIKE 'pg\\_temp\\_%' AND \(column) <> ALL($1::text[])"
    }

    /// Not created by an extension.
    static func notFromExtension(_ catalog: String, _ oid: String) -> String {
        "NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = '\(catalog)'::regclass AND d.objid = \(oid) "
            + "AND d.deptype = 'e')"
    }

    /// `schema.name` of a relation `c` in namespace `n`.
    static func qualified(_ n: String, _ c: String, _ column: String = "relname") -> String {
        "quote_ident(\(n).nspname) || '.' || quote_ident(\(c).\(column))"
    }

    /// A collation other than `typeCollation`, as text (`"C"`, `public.german`).
    static func collation(_ collation: String, differentFrom typeCollation: String) -> String {
        "CASE WHEN \(collation) <> 0 AND \(collation) <> \(typeCollation) THEN \(collation)::regcollation::text END"
    }

    static let schemas = """
        SELECT quote_ident(n.nspname) AS name, obj_description(n.oid, 'pg_namespace') AS comment
        FROM pg_namespace n
        WHERE \(userSchema("n.nspname")) AND \(notFromExtension("pg_namespace", "n.oid"))
        """

    static let extensions = """
        SELECT quote_ident(x.extname) AS name, x.extversion AS version, quote_ident(n.nspname) AS schema,
               obj_description(x.oid, 'pg_extension') AS comment
        FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace
        WHERE x.extname <> 'plpgsql' AND $1::text[] IS NOT NULL
        """

    static let types = """
        SELECT t.typtype AS kind, quote_ident(n.nspname) AS schema, quote_ident(t.typname) AS name,
               obj_description(t.oid, 'pg_type') AS comment,
               (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)::text
                   AS labels,
               CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base_type,
               t.typnotnull AS not_null, t.typdefault AS default_expression,
               CASE WHEN t.typtype = 'd' THEN \(collation("t.typcollation", differentFrom: "bt.typcollation")) END
                   AS collation,
               (SELECT json_object_agg(quote_ident(con.conname), pg_get_constraintdef(con.oid))
                FROM pg_constraint con WHERE con.contypid = t.oid AND con.contype = 'c')::text AS constraints,
               (SELECT json_agg(json_build_object('name', quote_ident(a.attname),
                           'type', format_type(a.atttypid, a.atttypmod),
                           'collation', \(collation("a.attcollation", differentFrom: "at.typcollation")))
                           ORDER BY a.attnum)
                FROM pg_attribute a JOIN pg_type at ON at.oid = a.atttypid
                WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped)::text AS attributes
        FROM pg_type t
        JOIN pg_namespace n ON n.oid = t.typnamespace
        LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
        WHERE (t.typtype IN ('e', 'd')
               OR (t.typtype = 'c' AND (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c'))
          AND \(userSchema("n.nspname")) AND \(notFromExtension("pg_type", "t.oid"))
        """

    static let sequences = """
        SELECT quote_ident(n.nspname) AS schema, quote_ident(c.relname) AS name,
               format_type(s.seqtypid, NULL) AS type, s.seqstart AS start, s.seqincrement AS increment,
               s.seqmin AS min, s.seqmax AS max, s.seqcache AS cache, s.seqcycle AS cycle,
               (SELECT \(qualified("on_", "oc")) || '.' || quote_ident(oa.attname)
                FROM pg_depend d JOIN pg_class oc ON oc.oid = d.refobjid
                JOIN pg_namespace on_ ON on_.oid = oc.relnamespace
                JOIN pg_attribute oa ON oa.attrelid = d.refobjid AND oa.attnum = d.refobjsubid
                WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
                  AND d.refobjsubid > 0 AND d.deptype = 'a' LIMIT 1) AS owned_by,
               obj_description(c.oid, 'pg_class') AS comment
        FROM pg_sequence s
        JOIN pg_class c ON c.oid = s.seqrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE \(userSchema("n.nspname")) AND \(notFromExtension("pg_class", "c.oid"))
          AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                          AND d.deptype = 'i')
        """

    static let relations = """
        SELECT c.relkind AS kind, quote_ident(n.nspname) AS schema, quote_ident(c.relname) AS name,
               c.relpersistence = 'u' AS unlogged, c.relrowsecurity AS row_security,
               c.relforcerowsecurity AS force_row_security,
               CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
               CASE WHEN c.relispartition THEN
                   (SELECT \(qualified("pn", "pc")) FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
                    JOIN pg_namespace pn ON pn.oid = pc.relnamespace WHERE i.inhrelid = c.oid LIMIT 1) END AS parent,
               CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS partition_bound,
               CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS view_definition,
               array_to_json(c.reloptions)::text AS options, c.relispopulated AS populated,
               CASE WHEN c.relkind = 'f' THEN
                   (SELECT 'server ' || quote_ident(s.srvname) || coalesce(' options ' || ft.ftoptions::text, '')
                    FROM pg_foreign_table ft JOIN pg_foreign_server s ON s.oid = ft.ftserver
                    WHERE ft.ftrelid = c.oid) END AS foreign_definition,
               obj_description(c.oid, 'pg_class') AS comment
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND \(userSchema("n.nspname"))
          AND \(notFromExtension("pg_class", "c.oid"))
        """

    static let columns = """
        SELECT quote_ident(n.nspname) AS schema, quote_ident(c.relname) AS table, quote_ident(a.attname) AS name,
               format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
               CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS default_expression,
               CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS generated,
               nullif(a.attidentity, '') AS identity,
               \(collation("a.attcollation", differentFrom: "t.typcollation")) AS collation,
               a.attinhcount > 0 AS inherited, col_description(c.oid, a.attnum) AS comment
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
        WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'f')
          AND \(userSchema("n.nspname")) AND \(notFromExtension("pg_class", "c.oid"))
        ORDER BY a.attrelid, a.attnum
        """

    static let constraints = """
        SELECT quote_ident(n.nspname) AS schema, quote_ident(c.relname) AS table, quote_ident(con.conname) AS name,
               con.contype AS kind, pg_get_constraintdef(con.oid) AS definition,
               CASE WHEN con.contype = 'f' THEN \(qualified("rn", "rc")) END AS referenced,
               obj_description(con.oid, 'pg_constraint') AS comment
        FROM pg_constraint con
        JOIN pg_class c ON c.oid = con.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_class rc ON rc.oid = con.confrelid
        LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
        WHERE con.contype IN ('p', 'u', 'c', 'f', 'x') AND con.conislocal AND con.conparentid = 0
          AND c.relkind IN ('r', 'p') AND \(userSchema("n.nspname")) AND \(notFromExtension("pg_class", "c.oid"))
        """

    static let indexes = """
        SELECT quote_ident(n.nspname) AS schema, quote_ident(ic.relname) AS name, \(qualified("tn", "tc")) AS table,
               pg_get_indexdef(i.indexrelid) AS definition, i.indisvalid AS valid,
               obj_description(ic.oid, 'pg_class') AS comment
        FROM pg_index i
        JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_namespace n ON n.oid = ic.relnamespace
        JOIN pg_class tc ON tc.oid = i.indrelid
        JOIN pg_namespace tn ON tn.oid = tc.relnamespace
        WHERE tc.relkind IN ('r', 'p', 'm') AND NOT ic.relispartition
          AND NOT EXISTS (SELECT FROM pg_constraint con WHERE con.conindid = i.indexrelid
                          AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x'))
          AND \(userSchema("n.nspname")) AND \(notFromExtension("pg_class", "tc.oid"))
        """

    /// What each view's rewrite rule depends on: relations, their columns, and functions (in user schemas).
    static let viewDependencies = """
        SELECT DISTINCT \(qualified("vn", "v")) AS view,
               CASE WHEN d.refclassid = 'pg_proc'::regclass THEN 'function'
                    WHEN d.refobjsubid = 0 THEN 'relation' ELSE 'column' END AS kind,
               CASE WHEN d.refclassid = 'pg_proc'::regclass THEN
                        quote_ident(pn.nspname) || '.' || quote_ident(p.proname)
                        || '(' || pg_get_function_identity_arguments(p.oid) || ')'
                    WHEN d.refobjsubid = 0 THEN \(qualified("rn", "rc"))
                    ELSE \(qualified("rn", "rc")) || '.' || quote_ident(ra.attname) END AS target
        FROM pg_rewrite r
        JOIN pg_class v ON v.oid = r.ev_class
        JOIN pg_namespace vn ON vn.oid = v.relnamespace
        JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.deptype = 'n'
        LEFT JOIN pg_class rc ON d.refclassid = 'pg_class'::regclass AND rc.oid = d.refobjid
        LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
        LEFT JOIN pg_attribute ra ON ra.attrelid = rc.oid AND ra.attnum = d.refobjsubid AND d.refobjsubid > 0
        LEFT JOIN pg_proc p ON d.refclassid = 'pg_proc'::regclass AND p.oid = d.refobjid
        LEFT JOIN pg_namespace pn ON pn.oid = p.pronamespace
        WHERE v.relkind IN ('v', 'm') AND \(userSchema("vn.nspname"))
          AND ((rc.oid IS NOT NULL AND rc.oid <> v.oid AND \(userSchema("rn.nspname")))
               OR (p.oid IS NOT NULL AND \(userSchema("pn.nspname"))))
        """

    static let functions = """
        SELECT quote_ident(n.nspname) AS schema, quote_ident(p.proname) AS name,
               pg_get_function_identity_arguments(p.oid) AS arguments, p.prokind AS kind,
               CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END AS definition,
               CASE WHEN p.prokind = 'a' THEN format_type(p.prorettype, NULL)
                    WHEN p.prokind <> 'p' THEN pg_get_function_result(p.oid) END AS result,
               p.prosqlbody IS NOT NULL AS atomic,
               l.lanname = 'sql' AND p.prosqlbody IS NULL AS sql_body,
               obj_description(p.oid, 'pg_proc') AS comment
        FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        JOIN pg_language l ON l.oid = p.prolang
        WHERE \(userSchema("n.nspname")) AND \(notFromExtension("pg_proc", "p.oid"))
        """

    static let triggers = """
        SELECT quote_ident(n.nspname) AS schema, quote_ident(c.relname) AS table, quote_ident(tg.tgname) AS name,
               pg_get_triggerdef(tg.oid) AS definition,
               quote_ident(pn.nspname) || '.' || quote_ident(p.proname)
                   || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS function,
               tg.tgenabled <> 'D' AS enabled, obj_description(tg.oid, 'pg_trigger') AS comment
        FROM pg_trigger tg
        JOIN pg_class c ON c.oid = tg.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_proc p ON p.oid = tg.tgfoid
        JOIN pg_namespace pn ON pn.oid = p.pronamespace
        WHERE NOT tg.tgisinternal AND tg.tgparentid = 0 AND \(userSchema("n.nspname"))
          AND \(notFromExtension("pg_class", "c.oid"))
        """

    static let policies = """
        SELECT quote_ident(n.nspname) AS schema, quote_ident(c.relname) AS table, quote_ident(pol.polname) AS name,
               pol.polpermissive AS permissive,
               CASE pol.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                               WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS command,
               (SELECT json_agg(role ORDER BY role) FROM
                   (SELECT CASE WHEN r = 0 THEN 'public' ELSE quote_ident(pg_get_userbyid(r)) END AS role
                    FROM unnest(pol.polroles) r) roles)::text AS roles,
               pg_get_expr(pol.polqual, pol.polrelid) AS using_expression,
               pg_get_expr(pol.polwithcheck, pol.polrelid) AS check_expression
        FROM pg_policy pol
        JOIN pg_class c ON c.oid = pol.polrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE \(userSchema("n.nspname"))
        """
}
