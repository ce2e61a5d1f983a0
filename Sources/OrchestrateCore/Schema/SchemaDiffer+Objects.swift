/// The differ's phases for everything but tables: schemas, extensions, types, sequences, functions, views,
/// triggers, policies, comments.
extension SchemaDiff {
    // MARK: - Schemas and extensions

    mutating func createSchemas() {
        for name in new.schemas.keys.sorted() where old.schemas[name] == nil {
            add("schema \(name)", .create, ["CREATE SCHEMA \(name);"])
        }
    }

    mutating func dropSchemas() {
        for name in old.schemas.keys.sorted() where new.schemas[name] == nil {
            add("schema \(name)", .drop, ["DROP SCHEMA \(name);"])
        }
    }

    mutating func createExtensions() {
        for name in new.extensions.keys.sorted() {
            guard let wanted = new.extensions[name] else { continue }
            guard let existing = old.extensions[name] else {
                add(
                    "extension \(name)", .create,
                    [
                        "CREATE EXTENSION \(name) WITH SCHEMA \(wanted.schema) VERSION \(SchemaSQL.literal(wanted.version));"
                    ])
                continue
            }
            var sql: [String] = []
            if existing.version != wanted.version {
                sql.append("ALTER EXTENSION \(name) UPDATE TO \(SchemaSQL.literal(wanted.version));")
            }
            if existing.schema != wanted.schema { sql.append("ALTER EXTENSION \(name) SET SCHEMA \(wanted.schema);") }
            if !sql.isEmpty { add("extension \(name)", .alter, sql) }
        }
    }

    mutating func dropExtensions() {
        for name in old.extensions.keys.sorted() where new.extensions[name] == nil {
            add("extension \(name)", .drop, ["DROP EXTENSION \(name);"])
        }
    }

    // MARK: - Types

    mutating func createEnums() {
        for key in new.enums.keys.sorted() {
            guard let type = new.enums[key] else { continue }
            let create = "CREATE TYPE \(key) AS ENUM (\(type.values.map(SchemaSQL.literal).joined(separator: ", ")));"
            guard let existing = old.enums[key] else {
                add("enum \(key)", .create, [create])
                continue
            }
            if existing.values == type.values { continue }
            if let added = Self.appendedValues(from: existing.values, to: type.values) {
                let sql = added.map { value, index in
                    let position: String
                    if index > 0 {
                        position = " AFTER \(SchemaSQL.literal(type.values[index - 1]))"
                    } else if let first = existing.values.first {
                        position = " BEFORE \(SchemaSQL.literal(first))"
                    } else {
                        position = ""
                    }
                    return "ALTER TYPE \(key) ADD VALUE \(SchemaSQL.literal(value))\(position);"
                }
                add(
                    "enum \(key)", .alter, sql,
                    note: "a value added by ALTER TYPE cannot be used in the same transaction")
                continue
            }
            // Values removed or reordered: a new type, the columns converted through text, the old one dropped later.
            var sql = ["ALTER TYPE \(key) RENAME TO \(Self.oldName(of: type.name));", create]
            for tableKey in keptTables {
                guard let table = new.tables[tableKey], let before = old.tables[tableKey] else { continue }
                for column in table.columns where !column.inherited {
                    guard let previous = before.column(column.name), previous.type == column.type,
                        column.type == key || column.type == key + "[]"
                    else { continue }
                    let alter = "ALTER TABLE \(tableKey) ALTER COLUMN \(column.name)"
                    let via = column.type.hasSuffix("[]") ? "text[]" : "text"
                    if previous.defaultExpression != nil { sql.append("\(alter) DROP DEFAULT;") }
                    sql.append("\(alter) TYPE \(column.type) USING \(column.name)::\(via)::\(column.type);")
                    if let value = column.defaultExpression { sql.append("\(alter) SET DEFAULT \(value);") }
                }
            }
            let removed = existing.values.filter { !type.values.contains($0) }
            add(
                "enum \(key)", .alter, sql, destroysData: !removed.isEmpty,
                note: removed.isEmpty
                    ? "PostgreSQL cannot reorder enum values: the type is created anew and its columns converted"
                    : "PostgreSQL cannot remove enum values (\(removed.map(SchemaSQL.literal).joined(separator: ", "))): "
                        + "the type is created anew and its columns converted; rows holding a removed value make "
                        + "the conversion fail")
        }
    }

    /// The name an enum created again has while its columns are converted.
    static func oldName(of name: String) -> String {
        SchemaSQL.quoted(SchemaSQL.unquoted(name) + "__orchestrate_old")
    }

    mutating func createDomains() {
        for key in new.domains.keys.sorted() {
            guard let domain = new.domains[key] else { continue }
            guard let existing = old.domains[key], !recreatedDomains.contains(key) else {
                var create = "CREATE DOMAIN \(key) AS \(domain.baseType)"
                if let collation = domain.collation { create += " COLLATE \(collation)" }
                if let value = domain.defaultExpression { create += " DEFAULT \(value)" }
                if domain.notNull { create += " NOT NULL" }
                for name in domain.constraints.keys.sorted() {
                    create += " CONSTRAINT \(name) \(domain.constraints[name] ?? "")"
                }
                add(
                    "domain \(key)", .create, [create + ";"],
                    note: recreatedDomains.contains(key) ? "its base type or collation changed" : nil)
                continue
            }
            var sql: [String] = []
            if existing.defaultExpression != domain.defaultExpression {
                sql.append(
                    domain.defaultExpression.map { "ALTER DOMAIN \(key) SET DEFAULT \($0);" }
                        ?? "ALTER DOMAIN \(key) DROP DEFAULT;")
            }
            if existing.notNull != domain.notNull {
                sql.append("ALTER DOMAIN \(key) \(domain.notNull ? "SET" : "DROP") NOT NULL;")
            }
            for name in existing.constraints.keys.sorted() where domain.constraints[name] != existing.constraints[name]
            {
                sql.append("ALTER DOMAIN \(key) DROP CONSTRAINT \(name);")
            }
            for name in domain.constraints.keys.sorted() where domain.constraints[name] != existing.constraints[name] {
                sql.append("ALTER DOMAIN \(key) ADD CONSTRAINT \(name) \(domain.constraints[name] ?? "");")
            }
            if !sql.isEmpty { add("domain \(key)", .alter, sql) }
        }
    }

    mutating func createCompositeTypes() {
        for key in new.compositeTypes.keys.sorted() {
            guard let type = new.compositeTypes[key] else { continue }
            func attribute(_ attribute: SchemaModel.CompositeType.Attribute) -> String {
                "\(attribute.name) \(attribute.type)" + (attribute.collation.map { " COLLATE \($0)" } ?? "")
            }
            guard let existing = old.compositeTypes[key] else {
                add(
                    "type \(key)", .create,
                    ["CREATE TYPE \(key) AS (\(type.attributes.map(attribute).joined(separator: ", ")));"])
                continue
            }
            var sql: [String] = []
            var destroys = false
            for before in existing.attributes where !type.attributes.contains(where: { $0.name == before.name }) {
                sql.append("ALTER TYPE \(key) DROP ATTRIBUTE \(before.name);")
                destroys = true
            }
            for after in type.attributes {
                if let before = existing.attributes.first(where: { $0.name == after.name }) {
                    if before != after {
                        let collate = after.collation.map { " COLLATE \($0)" } ?? ""
                        sql.append("ALTER TYPE \(key) ALTER ATTRIBUTE \(after.name) TYPE \(after.type)\(collate);")
                    }
                } else {
                    sql.append("ALTER TYPE \(key) ADD ATTRIBUTE \(attribute(after));")
                }
            }
            if !sql.isEmpty { add("type \(key)", .alter, sql, destroysData: destroys) }
        }
    }

    /// Drops domains whose base type changes, before they are created again.
    mutating func dropRecreatedTypes() {
        for key in recreatedDomains.sorted() {
            add(
                "domain \(key)", .drop, ["DROP DOMAIN \(key);"],
                note: "PostgreSQL cannot change a domain's base type or collation: it is dropped and created again, "
                    + "which fails while a column uses it")
        }
    }

    /// Drops types nothing uses any more: removed composite types, domains and enums, and the old copies of enums
    /// created again.
    mutating func dropTypes() {
        for key in old.compositeTypes.keys.sorted() where new.compositeTypes[key] == nil {
            add("type \(key)", .drop, ["DROP TYPE \(key);"])
        }
        for key in old.domains.keys.sorted() where new.domains[key] == nil {
            add("domain \(key)", .drop, ["DROP DOMAIN \(key);"])
        }
        for key in old.enums.keys.sorted() {
            guard let type = old.enums[key] else { continue }
            if new.enums[key] == nil {
                add("enum \(key)", .drop, ["DROP TYPE \(key);"])
            } else if recreatedEnums.contains(key) {
                add(
                    "enum \(key)", .alter, ["DROP TYPE \(type.schema).\(Self.oldName(of: type.name));"],
                    note: "the old copy, now that its columns are converted")
            }
        }
    }

    // MARK: - Sequences

    static func sequenceParameters(_ sequence: SchemaModel.SequenceDefinition) -> String {
        "AS \(sequence.type) INCREMENT BY \(sequence.increment) MINVALUE \(sequence.minValue) "
            + "MAXVALUE \(sequence.maxValue) START WITH \(sequence.start) CACHE \(sequence.cache) "
            + (sequence.cycle ? "CYCLE" : "NO CYCLE")
    }

    mutating func createSequences() {
        for key in new.sequences.keys.sorted() {
            guard let sequence = new.sequences[key] else { continue }
            guard let existing = old.sequences[key] else {
                add("sequence \(key)", .create, ["CREATE SEQUENCE \(key) \(Self.sequenceParameters(sequence));"])
                continue
            }
            var a = existing, b = sequence
            (a.ownedBy, a.comment, b.ownedBy, b.comment) = (nil, nil, nil, nil)
            if a != b {
                // A narrower range may not hold the sequence's current value, which the model does not know.
                let narrower = sequence.minValue > existing.minValue || sequence.maxValue < existing.maxValue
                add(
                    "sequence \(key)", .alter,
                    ["ALTER SEQUENCE \(key) \(Self.sequenceParameters(sequence))\(narrower ? " RESTART" : "");"],
                    destroysData: narrower,
                    note: narrower
                        ? "its range narrows: it restarts at its start value, and may hand out values already used"
                        : nil)
            }
        }
    }

    /// A sequence whose owning column changes is released first: dropping its old column would drop it too.
    mutating func releaseSequenceOwnership() {
        for key in old.sequences.keys.sorted() {
            guard let owner = old.sequences[key]?.ownedBy, let next = new.sequences[key], next.ownedBy != owner
            else { continue }
            add("sequence \(key)", .alter, ["ALTER SEQUENCE \(key) OWNED BY NONE;"])
        }
    }

    mutating func setSequenceOwnership() {
        for key in new.sequences.keys.sorted() {
            guard let owner = new.sequences[key]?.ownedBy else { continue }
            let existing = old.sequences[key]
            let ownerRecreated = createdTables.contains(SchemaSQL.tableOf(column: owner))
            if existing?.ownedBy == owner && !ownerRecreated { continue }
            add("sequence \(key)", .alter, ["ALTER SEQUENCE \(key) OWNED BY \(owner);"])
        }
    }

    /// Drops sequences that go (`IF EXISTS`: a sequence owned by a dropped table or column went with it).
    mutating func dropSequences() {
        for key in old.sequences.keys.sorted() where new.sequences[key] == nil {
            add("sequence \(key)", .drop, ["DROP SEQUENCE IF EXISTS \(key);"])
        }
    }

    // MARK: - Functions

    static func functionKey(_ function: SchemaModel.Function) -> String {
        "\(function.isProcedure ? "procedure" : "function") \(function.signature)"
    }

    /// Drops functions that go: `beforeTables`, those with `BEGIN ATOMIC` bodies (they depend on tables) and those
    /// created again (before they are); otherwise, once nothing uses them, the others.
    mutating func dropFunctions(beforeTables: Bool) {
        for key in droppedFunctions.sorted() {
            guard let function = old.functions[key] else { continue }
            let early = function.atomicBody || recreatedFunctions.contains(key)
            guard early == beforeTables else { continue }
            add(
                Self.functionKey(function), .drop,
                ["DROP \(function.isProcedure ? "PROCEDURE" : "FUNCTION") \(function.signature);"],
                note: recreatedFunctions.contains(key)
                    ? "PostgreSQL cannot change a function's result type in place: it is dropped and created again"
                    : nil)
        }
    }

    /// Creates or replaces functions: ordinary ones before tables, those with `BEGIN ATOMIC` bodies (`atomic`)
    /// after views.
    mutating func createFunctions(atomic: Bool) {
        for key in new.functions.keys.sorted() {
            guard let function = new.functions[key], function.atomicBody == atomic else { continue }
            let existing = old.functions[key]
            if let existing, existing.definition == function.definition, !recreatedFunctions.contains(key) {
                continue
            }
            var sql = ["\(function.definition);"]
            if function.sqlBody {
                // As pg_dump does: the body may name tables that are created later.
                sql = ["SET check_function_bodies = false;"] + sql + ["RESET check_function_bodies;"]
            }
            let replaced = existing != nil && !recreatedFunctions.contains(key)
            add(Self.functionKey(function), replaced ? .alter : .create, sql)
        }
    }

    // MARK: - Views

    mutating func dropViews() {
        // Dependents first: the reverse of the creation order.
        let ordered = Self.dependencyOrder(droppedViews) { key in old.views[key].map { Array($0.readsRelations) } ?? []
        }
        for key in ordered.reversed() {
            guard let view = old.views[key] else { continue }
            let kind = view.materialized ? "MATERIALIZED VIEW" : "VIEW"
            let kept = new.views[key] != nil
            add(
                Self.viewKey(view), .drop, ["DROP \(kind) \(key);"],
                note: kept ? "created again below: it or what it reads changes" : nil)
        }
    }

    mutating func createViews() {
        let ordered = Self.dependencyOrder(createdViews) { key in new.views[key].map { Array($0.readsRelations) } ?? []
        }
        for key in ordered {
            guard let view = new.views[key] else { continue }
            var query = view.definition
            while query.last == ";" || query.last?.isWhitespace == true { query.removeLast() }
            let options = view.options.isEmpty ? "" : " WITH (\(view.options.joined(separator: ", ")))"
            let statement =
                view.materialized
                ? "CREATE MATERIALIZED VIEW \(key)\(options) AS\n\(query)\n\(view.populated ? "WITH DATA" : "WITH NO DATA");"
                : "CREATE VIEW \(key)\(options) AS\n\(query);"
            add(Self.viewKey(view), .create, [statement])
        }
    }

    static func viewKey(_ view: SchemaModel.View) -> String {
        "\(view.materialized ? "materialized view" : "view") \(view.qualifiedName)"
    }

    // MARK: - Triggers and policies

    /// True when the relation `key` is dropped (its triggers and policies go with it).
    func relationDropped(_ key: String) -> Bool { droppedTables.contains(key) || droppedViews.contains(key) }

    /// True when the relation `key` is created (its triggers and policies come with it).
    func relationCreated(_ key: String) -> Bool { createdTables.contains(key) || createdViews.contains(key) }

    /// True when trigger `key` must be dropped and created again.
    func triggerRecreated(_ key: String) -> Bool {
        guard let before = old.triggers[key], let after = new.triggers[key] else { return false }
        return before.definition != after.definition || droppedFunctions.contains(before.function)
    }

    mutating func dropTriggersAndPolicies() {
        for key in old.triggers.keys.sorted() {
            guard let trigger = old.triggers[key], !relationDropped(trigger.qualifiedTable) else { continue }
            if new.triggers[key] != nil && !triggerRecreated(key) { continue }
            add("trigger \(key)", .drop, ["DROP TRIGGER \(trigger.name) ON \(trigger.qualifiedTable);"])
        }
        for key in old.policies.keys.sorted() {
            guard let policy = old.policies[key], !relationDropped(policy.qualifiedTable) else { continue }
            if new.policies[key] == policy { continue }
            add("policy \(key)", .drop, ["DROP POLICY \(policy.name) ON \(policy.qualifiedTable);"])
        }
    }

    mutating func createTriggers() {
        for key in new.triggers.keys.sorted() {
            guard let trigger = new.triggers[key] else { continue }
            let disable = "ALTER TABLE \(trigger.qualifiedTable) DISABLE TRIGGER \(trigger.name);"
            if let existing = old.triggers[key], !relationCreated(trigger.qualifiedTable), !triggerRecreated(key) {
                if existing.enabled != trigger.enabled {
                    add(
                        "trigger \(key)", .alter,
                        [
                            trigger.enabled
                                ? "ALTER TABLE \(trigger.qualifiedTable) ENABLE TRIGGER \(trigger.name);" : disable
                        ])
                }
                continue
            }
            add("trigger \(key)", .create, ["\(trigger.definition);"] + (trigger.enabled ? [] : [disable]))
        }
    }

    mutating func createPolicies() {
        for key in new.policies.keys.sorted() {
            guard let policy = new.policies[key] else { continue }
            if old.policies[key] == policy, !relationCreated(policy.qualifiedTable) { continue }
            var statement =
                "CREATE POLICY \(policy.name) ON \(policy.qualifiedTable) AS "
                + "\(policy.permissive ? "PERMISSIVE" : "RESTRICTIVE") FOR \(policy.command) "
                + "TO \(policy.roles.joined(separator: ", "))"
            if let using = policy.using { statement += " USING (\(using))" }
            if let check = policy.check { statement += " WITH CHECK (\(check))" }
            add("policy \(key)", .create, [statement + ";"])
        }
    }
}
