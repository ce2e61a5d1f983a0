/// Turns one schema into another: the ordered statements that make a database whose model is `from` have the model
/// `to`. Pure: it compares two `SchemaModel` values; the reverse is `changes(from: to, to: from)`.
///
/// The order, by phase: what depends on what is going away is dropped first (triggers, policies, views, functions
/// with `BEGIN ATOMIC` bodies, foreign keys, then other constraints, indexes, columns, tables); then schemas,
/// extensions, types, sequences, functions and tables are created or altered; then what nothing uses any more goes
/// (sequences, functions, types, extensions, schemas); then sequence ownership, constraints (foreign keys last),
/// views in dependency order, indexes (a materialized view's need it), atomic functions, triggers, policies and
/// comments. A view (or materialized
/// view) that reads a column whose type changes, or a dropped column, table, view or function, is dropped and
/// created again.
///
/// What PostgreSQL cannot do in place is written as a recreate and said in the change's `note`: a partitioning
/// change drops and creates the table; an enum that loses or reorders values is renamed, created anew, its columns
/// converted through `text` and the old type dropped (rows holding a removed value make the conversion fail); a
/// generated column's new expression drops and adds the column; a function whose result type changes is dropped and
/// created; a domain's base type change drops and creates the domain (which fails while a column uses it).
/// Renames are never guessed: a dropped and an added table or column are shown as such, with a note.
public enum SchemaDiffer {
    /// The statements that turn `old` into `new`, in dependency order; empty when the schemas match (column order
    /// aside).
    public static func changes(from old: SchemaModel, to new: SchemaModel) -> [SchemaChange] {
        var diff = SchemaDiff(old: old, new: new)
        diff.run()
        return diff.changes
    }
}

/// One diff being worked out: the two models, what each phase decided, and the changes so far.
struct SchemaDiff {
    let old: SchemaModel
    let new: SchemaModel
    var changes: [SchemaChange] = []
    /// Where the change that created an object is in `changes`, by object key: its comment joins it.
    var createdAt: [String: Int] = [:]

    /// Tables of `old` that go (dropped, or dropped to be created again).
    var droppedTables: Set<String> = []
    /// Tables of `new` to create (new ones and those created again).
    var createdTables: Set<String> = []
    /// Old columns (`schema.table.column`) that views cannot keep reading: dropped, or their type changes.
    var changedColumns: Set<String> = []
    /// Views of `old` to drop, and views of `new` to create.
    var droppedViews: Set<String> = []
    var createdViews: Set<String> = []
    /// Functions of `old` to drop (removed, or dropped to be created again) and those created again.
    var droppedFunctions: Set<String> = []
    var recreatedFunctions: Set<String> = []
    /// Enums that lose or reorder values: renamed, created anew, and the old one dropped.
    var recreatedEnums: Set<String> = []
    /// Domains whose base type changes: dropped and created again.
    var recreatedDomains: Set<String> = []
    /// Foreign keys (`schema.table.name`) dropped to be created again, because what they reference changes.
    var recreatedForeignKeys: Set<String> = []

    init(old: SchemaModel, new: SchemaModel) {
        self.old = old
        self.new = new
    }

    mutating func run() {
        decideTables()
        decideFunctionsAndTypes()
        decideColumns()
        decideViews()
        decideForeignKeys()

        // Drop what depends on what changes.
        dropTriggersAndPolicies()
        dropViews()
        dropFunctions(beforeTables: true)
        releaseSequenceOwnership()
        dropConstraints(foreignKeys: true)
        dropConstraints(foreignKeys: false)
        dropIndexes()
        dropColumns()
        dropTables()
        dropRecreatedTypes()

        // Create and alter.
        createSchemas()
        createExtensions()
        createEnums()
        createDomains()
        createCompositeTypes()
        createSequences()
        createFunctions(atomic: false)
        createTables()
        alterTables()

        // Drop what nothing uses any more.
        dropSequences()
        dropFunctions(beforeTables: false)
        dropTypes()
        dropExtensions()
        dropSchemas()

        // What hangs on tables and views.
        setSequenceOwnership()
        createConstraints(foreignKeys: false)
        createConstraints(foreignKeys: true)
        createViews()
        createIndexes()
        createFunctions(atomic: true)
        createTriggers()
        createPolicies()
        setComments()
        reportUnsupported()
    }

    /// Objects the model sees but cannot write DDL for (aggregates, foreign tables): a change with no statement and
    /// a note, so that a difference is never silent.
    mutating func reportUnsupported() {
        for key in Set(old.unsupported.keys).union(new.unsupported.keys).sorted() {
            let before = old.unsupported[key], after = new.unsupported[key]
            guard before != after else { continue }
            let action: SchemaChange.Action = before == nil ? .create : after == nil ? .drop : .alter
            add(key, action, [], note: "orchestrate writes no DDL for this kind of object: write it by hand")
        }
    }

    // MARK: - Recording

    mutating func add(
        _ object: String, _ action: SchemaChange.Action, _ sql: [String], destroysData: Bool = false,
        note: String? = nil
    ) {
        if action == .create { createdAt[object] = changes.count }
        changes.append(SchemaChange(object: object, action: action, sql: sql, destroysData: destroysData, note: note))
    }

    /// A comment on `target` (`TABLE public.users`): for an object just created (`created`), joined to the change
    /// that created `attachTo` when there is one; for a kept object, a change of its own when it differs from
    /// `before`.
    mutating func addComment(
        _ object: String, attachTo: String? = nil, target: String, _ comment: String?, before: String?,
        created: Bool
    ) {
        if created {
            guard let comment else { return }
            if let index = createdAt[attachTo ?? object] {
                changes[index].sql.append(SchemaSQL.comment(on: target, comment))
            } else {
                add(object, .alter, [SchemaSQL.comment(on: target, comment)], note: "comment")
            }
        } else if comment != before {
            add(object, .alter, [SchemaSQL.comment(on: target, comment)], note: "comment")
        }
    }

    // MARK: - Decisions made before any statement

    /// Which tables go and which are created: partitioning cannot change in place, and a partition goes with its
    /// partitioned table.
    mutating func decideTables() {
        for (key, table) in old.tables {
            guard let target = new.tables[key] else {
                droppedTables.insert(key)
                continue
            }
            if table.partitionKey != target.partitionKey || table.partitionOf != target.partitionOf
                || table.partitionBound != target.partitionBound
            {
                droppedTables.insert(key)
            }
        }
        var grew = true
        while grew {
            grew = false
            for (key, table) in old.tables where !droppedTables.contains(key) {
                if let parent = table.partitionOf, droppedTables.contains(parent) {
                    droppedTables.insert(key)
                    grew = true
                }
            }
        }
        for key in new.tables.keys where old.tables[key] == nil || droppedTables.contains(key) {
            createdTables.insert(key)
        }
    }

    /// Functions dropped (removed, or their result or kind changes), enums and domains created again.
    mutating func decideFunctionsAndTypes() {
        for (key, function) in old.functions {
            guard let target = new.functions[key] else {
                droppedFunctions.insert(key)
                continue
            }
            if function.result != target.result || function.isProcedure != target.isProcedure {
                droppedFunctions.insert(key)
                recreatedFunctions.insert(key)
            }
        }
        for (key, type) in old.enums {
            guard let target = new.enums[key], target.values != type.values else { continue }
            if Self.appendedValues(from: type.values, to: target.values) == nil { recreatedEnums.insert(key) }
        }
        for (key, domain) in old.domains {
            guard let target = new.domains[key] else { continue }
            if domain.baseType != target.baseType || domain.collation != target.collation {
                recreatedDomains.insert(key)
            }
        }
    }

    /// The values `new` adds to `old` with their positions, when `old` is `new` with values taken out (in order);
    /// nil when values are removed or reordered.
    static func appendedValues(from old: [String], to new: [String]) -> [(value: String, index: Int)]? {
        var remaining = old[...]
        var added: [(value: String, index: Int)] = []
        for (index, value) in new.enumerated() {
            if remaining.first == value {
                remaining = remaining.dropFirst()
            } else if old.contains(value) {
                return nil
            } else {
                added.append((value, index))
            }
        }
        return remaining.isEmpty ? added : nil
    }

    /// Columns that views reading them cannot survive.
    mutating func decideColumns() {
        for (key, table) in old.tables {
            let target = droppedTables.contains(key) ? nil : new.tables[key]
            for column in table.columns {
                let columnKey = "\(key).\(column.name)"
                guard let target, let next = target.column(column.name) else {
                    changedColumns.insert(columnKey)
                    continue
                }
                if column.type != next.type || column.collation != next.collation
                    || (next.generated != nil && next.generated != column.generated)
                    || usesRecreatedEnum(column.type)
                {
                    changedColumns.insert(columnKey)
                }
            }
        }
    }

    /// True when `type` is a recreated enum or an array of one.
    func usesRecreatedEnum(_ type: String) -> Bool {
        let base = type.hasSuffix("[]") ? String(type.dropLast(2)) : type
        return recreatedEnums.contains(base)
    }

    /// Views dropped (removed, changed, or reading something that changes) and created (new, or dropped and kept).
    mutating func decideViews() {
        for (key, view) in old.views {
            guard let target = new.views[key] else {
                droppedViews.insert(key)
                continue
            }
            var a = view, b = target
            a.comment = nil
            b.comment = nil
            if a != b { droppedViews.insert(key) }
        }
        var grew = true
        while grew {
            grew = false
            for (key, view) in old.views where !droppedViews.contains(key) {
                let reads =
                    view.dependsOnColumns.contains { changedColumns.contains($0) }
                    || view.readsRelations.contains { droppedTables.contains($0) || droppedViews.contains($0) }
                    || view.dependsOnFunctions.contains { droppedFunctions.contains($0) }
                if reads {
                    droppedViews.insert(key)
                    grew = true
                }
            }
        }
        for key in new.views.keys where old.views[key] == nil || droppedViews.contains(key) {
            createdViews.insert(key)
        }
    }

    /// Foreign keys kept by name but dropped and created again, because the table they reference goes, or loses a
    /// key or an index it may rely on.
    mutating func decideForeignKeys() {
        var shaken: Set<String> = droppedTables
        for (key, table) in old.tables where !droppedTables.contains(key) {
            let target = new.tables[key]
            for (name, constraint) in table.constraints where constraint.kind != .foreignKey {
                if target?.constraints[name].map({ Self.same($0, constraint) }) != true { shaken.insert(key) }
            }
        }
        for (_, index) in old.indexes where new.indexes[index.qualifiedName]?.definition != index.definition {
            shaken.insert(index.table)
        }
        for (key, table) in old.tables where !droppedTables.contains(key) {
            guard let target = new.tables[key] else { continue }
            for (name, constraint) in table.constraints where constraint.kind == .foreignKey {
                guard let next = target.constraints[name], Self.same(next, constraint) else { continue }
                if let referenced = constraint.referencedTable, shaken.contains(referenced) {
                    recreatedForeignKeys.insert("\(key).\(name)")
                }
            }
        }
    }

    /// Two constraints alike but for their comments.
    static func same(_ a: SchemaModel.Constraint, _ b: SchemaModel.Constraint) -> Bool {
        a.kind == b.kind && a.definition == b.definition && a.referencedTable == b.referencedTable
    }

    /// Two relation keys in dependency order: `dependencies` of each key, among `keys`, before it.
    static func dependencyOrder(_ keys: Set<String>, dependencies: (String) -> [String]) -> [String] {
        var ordered: [String] = []
        var state: [String: Bool] = [:]  // false: visiting, true: done
        func visit(_ key: String) {
            if state[key] != nil { return }
            state[key] = false
            for dependency in dependencies(key).sorted() where keys.contains(dependency) { visit(dependency) }
            state[key] = true
            ordered.append(key)
        }
        for key in keys.sorted() { visit(key) }
        return ordered
    }
}
