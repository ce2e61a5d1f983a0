/// The differ's phases for tables, their columns, constraints and indexes.
extension SchemaDiff {
    /// Tables kept (not dropped, not created again) in both models.
    var keptTables: [String] {
        old.tables.keys.filter { new.tables[$0] != nil && !droppedTables.contains($0) }.sorted()
    }

    /// Drops foreign keys (`foreignKeys`) or other constraints that go or change. A dropped table's foreign keys
    /// to another dropped table are dropped first, so tables go in any order.
    mutating func dropConstraints(foreignKeys: Bool) {
        for key in old.tables.keys.sorted() {
            guard let table = old.tables[key] else { continue }
            let target = droppedTables.contains(key) ? nil : new.tables[key]
            for name in table.constraints.keys.sorted() {
                guard let constraint = table.constraints[name], (constraint.kind == .foreignKey) == foreignKeys
                else { continue }
                if target == nil {
                    // The table goes: only a foreign key to another table that goes is in the way.
                    guard foreignKeys, let referenced = constraint.referencedTable, referenced != key,
                        droppedTables.contains(referenced)
                    else { continue }
                } else if let next = target?.constraints[name], Self.same(next, constraint),
                    !recreatedForeignKeys.contains("\(key).\(name)")
                {
                    continue
                }
                add(
                    "constraint \(key).\(name)", .drop, ["ALTER TABLE \(key) DROP CONSTRAINT \(name);"],
                    note: recreatedForeignKeys.contains("\(key).\(name)")
                        ? "created again below: the table it references changes" : nil)
            }
        }
    }

    /// Creates constraints that are new, changed, or on created tables; foreign keys after all others.
    mutating func createConstraints(foreignKeys: Bool) {
        let order: [SchemaModel.Constraint.Kind] = [.primaryKey, .unique, .exclusion, .check, .foreignKey]
        for key in new.tables.keys.sorted() {
            guard let table = new.tables[key] else { continue }
            let previous = createdTables.contains(key) ? nil : old.tables[key]
            let names = table.constraints.keys.sorted {
                let a = order.firstIndex(of: table.constraints[$0]!.kind)!
                let b = order.firstIndex(of: table.constraints[$1]!.kind)!
                return a != b ? a < b : $0 < $1
            }
            for name in names {
                guard let constraint = table.constraints[name], (constraint.kind == .foreignKey) == foreignKeys
                else { continue }
                if let before = previous?.constraints[name], Self.same(before, constraint),
                    !recreatedForeignKeys.contains("\(key).\(name)")
                {
                    continue
                }
                add(
                    "constraint \(key).\(name)", .create,
                    ["ALTER TABLE \(key) ADD CONSTRAINT \(name) \(constraint.definition);"])
            }
        }
    }

    /// Drops indexes that go or change (those of dropped tables and views go with them).
    mutating func dropIndexes() {
        for key in old.indexes.keys.sorted() {
            guard let index = old.indexes[key] else { continue }
            if droppedTables.contains(index.table) || droppedViews.contains(index.table) { continue }
            if let next = new.indexes[key], next.definition == index.definition, next.valid == index.valid,
                next.table == index.table
            {
                continue
            }
            add("index \(key)", .drop, ["DROP INDEX \(key);"])
        }
    }

    /// Creates indexes that are new, changed, or on created tables and views.
    mutating func createIndexes() {
        for key in new.indexes.keys.sorted() {
            guard let index = new.indexes[key] else { continue }
            let relationCreated = createdTables.contains(index.table) || createdViews.contains(index.table)
            if !relationCreated, let before = old.indexes[key], before.definition == index.definition,
                before.valid == index.valid, before.table == index.table
            {
                continue
            }
            add(
                "index \(key)", .create, ["\(index.definition);"],
                note: index.valid
                    ? nil : "invalid where it comes from (a failed CREATE INDEX CONCURRENTLY): created valid here")
        }
    }

    /// Drops the columns of kept tables that go (a partition's columns go with its partitioned table's).
    mutating func dropColumns() {
        for key in keptTables {
            guard let table = old.tables[key], let target = new.tables[key] else { continue }
            let added = target.columns.contains { column in
                !column.inherited && table.column(column.name) == nil
            }
            for column in table.columns where !column.inherited && target.column(column.name) == nil {
                add(
                    "column \(key).\(column.name)", .drop, ["ALTER TABLE \(key) DROP COLUMN \(column.name);"],
                    destroysData: true,
                    note: added ? "renames are not guessed: a dropped and an added column" : nil)
            }
        }
    }

    /// Drops the tables that go, partitions before their partitioned tables.
    mutating func dropTables() {
        let created = Set(new.tables.keys).subtracting(old.tables.keys)
        let ordered = Self.dependencyOrder(droppedTables) { key in
            // A partition is dropped before its parent: order parents after children by listing children as
            // dependencies.
            old.tables.values.filter { $0.partitionOf == key }.map(\.qualifiedName)
        }
        for key in ordered {
            let recreated = new.tables[key] != nil
            let note: String?
            if recreated, old.tables[key]?.partitionKey != new.tables[key]?.partitionKey {
                note = "PostgreSQL cannot change a table's partitioning in place: it is dropped and created again"
            } else if recreated {
                note =
                    "a partition whose bound changes, or whose partitioned table is created again, is dropped and "
                    + "created again"
            } else if !created.isEmpty {
                note = "renames are not guessed: a dropped and an added table"
            } else {
                note = nil
            }
            add("table \(key)", .drop, ["DROP TABLE \(key);"], destroysData: true, note: note)
        }
    }

    /// Creates tables, partitioned tables before their partitions.
    mutating func createTables() {
        let dropped = Set(old.tables.keys).subtracting(new.tables.keys)
        let ordered = Self.dependencyOrder(createdTables) { key in
            new.tables[key]?.partitionOf.map { [$0] } ?? []
        }
        for key in ordered {
            guard let table = new.tables[key] else { continue }
            let kind = table.unlogged ? "CREATE UNLOGGED TABLE" : "CREATE TABLE"
            var statement: String
            if let parent = table.partitionOf {
                statement = "\(kind) \(key) PARTITION OF \(parent) \(table.partitionBound ?? "DEFAULT")"
            } else {
                let columns = table.columns.filter { !$0.inherited }.map { "    " + SchemaSQL.columnDefinition($0) }
                statement =
                    columns.isEmpty ? "\(kind) \(key) ()" : "\(kind) \(key) (\n\(columns.joined(separator: ",\n"))\n)"
            }
            if let partitionKey = table.partitionKey { statement += " PARTITION BY \(partitionKey)" }
            var sql = [statement + ";"]
            if table.rowSecurity { sql.append("ALTER TABLE \(key) ENABLE ROW LEVEL SECURITY;") }
            if table.forceRowSecurity { sql.append("ALTER TABLE \(key) FORCE ROW LEVEL SECURITY;") }
            let isNew = old.tables[key] == nil
            add(
                "table \(key)", .create, sql,
                note: isNew && !dropped.isEmpty ? "renames are not guessed: a dropped and an added table" : nil)
        }
    }

    /// Alters kept tables: added and changed columns, logging, row security.
    mutating func alterTables() {
        for key in keptTables {
            guard let table = old.tables[key], let target = new.tables[key] else { continue }
            let dropped = table.columns.contains { column in
                !column.inherited && target.column(column.name) == nil
            }
            for column in target.columns where !column.inherited {
                if let before = table.column(column.name) {
                    alterColumn(key, from: before, to: column)
                } else {
                    var notes: [String] = []
                    if dropped { notes.append("renames are not guessed: a dropped and an added column") }
                    if column.notNull, column.defaultExpression == nil, column.identity == nil,
                        column.generated == nil
                    {
                        notes.append("NOT NULL without a default fails on a table that has rows")
                    }
                    add(
                        "column \(key).\(column.name)", .create,
                        ["ALTER TABLE \(key) ADD COLUMN \(SchemaSQL.columnDefinition(column));"],
                        note: notes.isEmpty ? nil : notes.joined(separator: "; "))
                }
            }
            var sql: [String] = []
            if table.unlogged != target.unlogged {
                sql.append("ALTER TABLE \(key) SET \(target.unlogged ? "UNLOGGED" : "LOGGED");")
            }
            if table.rowSecurity != target.rowSecurity {
                sql.append("ALTER TABLE \(key) \(target.rowSecurity ? "ENABLE" : "DISABLE") ROW LEVEL SECURITY;")
            }
            if table.forceRowSecurity != target.forceRowSecurity {
                sql.append("ALTER TABLE \(key) \(target.forceRowSecurity ? "FORCE" : "NO FORCE") ROW LEVEL SECURITY;")
            }
            if !sql.isEmpty { add("table \(key)", .alter, sql) }
        }
    }

    /// One column's changes, in the order PostgreSQL accepts them.
    mutating func alterColumn(_ table: String, from before: SchemaModel.Column, to after: SchemaModel.Column) {
        let object = "column \(table).\(after.name)"
        let alter = "ALTER TABLE \(table) ALTER COLUMN \(after.name)"
        if let generated = after.generated, generated != before.generated {
            // PostgreSQL cannot change a generation expression in place, nor make a column generated.
            add(
                object, .alter,
                [
                    "ALTER TABLE \(table) DROP COLUMN \(after.name);",
                    "ALTER TABLE \(table) ADD COLUMN \(SchemaSQL.columnDefinition(after));",
                ], destroysData: before.generated == nil,
                note: "PostgreSQL cannot change a generated column's expression in place: "
                    + "the column is dropped and added again")
            return
        }
        var current = before
        var sql: [String] = []
        var destroys = false
        var note: String?
        if current.generated != nil, after.generated == nil {
            sql.append("\(alter) DROP EXPRESSION;")
            current.generated = nil
            current.defaultExpression = nil
        }
        let enumRecreated = usesRecreatedEnum(before.type) && before.type == after.type
        if (current.type != after.type || current.collation != after.collation) && !enumRecreated {
            if current.defaultExpression != nil {
                sql.append("\(alter) DROP DEFAULT;")
                current.defaultExpression = nil
            }
            let collate = after.collation.map { " COLLATE \($0)" } ?? ""
            sql.append("\(alter) TYPE \(after.type)\(collate) USING \(after.name)::\(after.type);")
            if current.type != after.type, !Self.widens(from: current.type, to: after.type) {
                destroys = true
                note = "a type change from \(current.type) to \(after.type) can lose data or fail on existing rows"
            }
        }
        if current.identity != after.identity {
            if let identity = after.identity {
                if current.defaultExpression != nil {
                    sql.append("\(alter) DROP DEFAULT;")
                    current.defaultExpression = nil
                }
                if !current.notNull {
                    sql.append("\(alter) SET NOT NULL;")
                    current.notNull = true
                }
                if current.identity == nil {
                    sql.append("\(alter) ADD GENERATED \(identity.rawValue) AS IDENTITY;")
                } else {
                    sql.append("\(alter) SET GENERATED \(identity.rawValue);")
                }
            } else {
                sql.append("\(alter) DROP IDENTITY;")
            }
        }
        if current.defaultExpression != after.defaultExpression {
            if let value = after.defaultExpression {
                sql.append("\(alter) SET DEFAULT \(value);")
            } else {
                sql.append("\(alter) DROP DEFAULT;")
            }
        }
        if current.notNull != after.notNull {
            sql.append("\(alter) \(after.notNull ? "SET" : "DROP") NOT NULL;")
        }
        if !sql.isEmpty { add(object, .alter, sql, destroysData: destroys, note: note) }
    }

    /// True when every value of type `from` fits in type `to` unchanged (integers to wider integers or numeric,
    /// longer or unbounded strings, anything to text).
    static func widens(from: String, to: String) -> Bool {
        if to == "text" { return true }
        let integers = ["smallint", "integer", "bigint"]
        if let a = integers.firstIndex(of: from) {
            if let b = integers.firstIndex(of: to) { return b >= a }
            return to == "numeric" || (from != "bigint" && to == "double precision")
        }
        if from == "real", to == "double precision" { return true }
        func bounded(_ type: String, _ name: String) -> Int?? {
            if type == name { return .some(nil) }
            guard type.hasPrefix(name + "("), type.hasSuffix(")"),
                let length = Int(type.dropFirst(name.count + 1).dropLast())
            else { return nil }
            return .some(length)
        }
        if let a = bounded(from, "character varying") ?? (from == "text" ? .some(nil) : nil),
            let b = bounded(to, "character varying")
        {
            guard let limit = b else { return true }
            guard let length = a else { return false }
            return limit >= length
        }
        if from.hasPrefix("numeric("), to == "numeric" { return true }
        if from.hasPrefix("numeric("), to.hasPrefix("numeric(") {
            let a = from.dropFirst(8).dropLast().split(separator: ",").compactMap { Int($0) }
            let b = to.dropFirst(8).dropLast().split(separator: ",").compactMap { Int($0) }
            if a.count == 2, b.count == 2 { return b[1] == a[1] && b[0] >= a[0] }
        }
        return false
    }
}
