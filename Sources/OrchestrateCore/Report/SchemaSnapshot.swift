import Postgres

/// A database's schema flattened to one definition per object, keyed by kind and qualified name: what `verify` and
/// `baseline` compare and list. A view of `SchemaModel`, the one reader of the catalog.
///
/// Covered: what the model covers (see `SchemaModel`) but comments, which verify and baseline do not compare, and
/// column order: a column dropped by a down section and added back by its up section lands last, which is not a
/// defect. Indexes that a constraint owns are part of the constraint.
public struct SchemaSnapshot: Sendable, Equatable, Codable {
    /// Object key, such as `table public.users` or `column public.users.email`, to its definition.
    public var objects: [String: String]

    /// Makes a snapshot from explicit objects (tests, and patches of snapshots).
    public init(objects: [String: String]) {
        self.objects = objects
    }

    /// The snapshot of a model.
    public init(_ model: SchemaModel) {
        var objects = model.unsupported
        for name in model.schemas.keys { objects["schema \(name)"] = "" }
        for (name, ext) in model.extensions { objects["extension \(name)"] = "version \(ext.version) in \(ext.schema)" }
        for (key, type) in model.enums {
            objects["enum \(key)"] = type.values.map(SchemaSQL.literal).joined(separator: ", ")
        }
        for (key, domain) in model.domains {
            objects["domain \(key)"] = [
                domain.baseType, domain.collation.map { "COLLATE \($0)" }, domain.notNull ? "NOT NULL" : nil,
                domain.defaultExpression.map { "DEFAULT \($0)" },
            ].compactMap { $0 }.joined(separator: " ")
            for (name, definition) in domain.constraints { objects["constraint \(key).\(name)"] = definition }
        }
        for (key, type) in model.compositeTypes {
            objects["composite type \(key)"] = ""
            for attribute in type.attributes {
                objects["column \(key).\(attribute.name)"] =
                    attribute.type + (attribute.collation.map { " COLLATE \($0)" } ?? "")
            }
        }
        for (key, sequence) in model.sequences {
            objects["sequence \(key)"] = [
                sequence.type, "start", "\(sequence.start)", "increment", "\(sequence.increment)", "min",
                "\(sequence.minValue)", "max", "\(sequence.maxValue)", "cache", "\(sequence.cache)",
                sequence.cycle ? "cycle" : nil, sequence.ownedBy.map { "owned by \($0)" },
            ].compactMap { $0 }.joined(separator: " ")
        }
        for (key, table) in model.tables {
            objects["table \(key)"] = [
                table.unlogged ? "unlogged" : nil, table.partitionKey.map { "partitioned by \($0)" },
                table.partitionBound.map { "partition of \(table.partitionOf ?? "?") \($0)" },
                table.rowSecurity ? "row level security" : nil, table.forceRowSecurity ? "forced" : nil,
            ].compactMap { $0 }.joined(separator: "; ")
            for column in table.columns {
                objects["column \(key).\(column.name)"] = Self.definition(of: column)
            }
            for (name, constraint) in table.constraints { objects["constraint \(key).\(name)"] = constraint.definition }
        }
        for (key, index) in model.indexes {
            objects["index \(key)"] = index.definition + (index.valid ? "" : " (INVALID)")
        }
        for (key, view) in model.views {
            objects["\(view.materialized ? "materialized view" : "view") \(key)"] =
                ([view.definition] + view.options).joined(separator: "; ")
        }
        for function in model.functions.values {
            objects["\(function.isProcedure ? "procedure" : "function") \(function.signature)"] = function.definition
        }
        for (key, trigger) in model.triggers {
            objects["trigger \(key)"] = trigger.definition + (trigger.enabled ? "" : " (DISABLED)")
        }
        for (key, policy) in model.policies {
            objects["policy \(key)"] = [
                policy.permissive ? "permissive" : "restrictive", policy.command, "to",
                policy.roles.joined(separator: ","), policy.using.map { "using \($0)" },
                policy.check.map { "check \($0)" },
            ].compactMap { $0 }.joined(separator: " ")
        }
        self.objects = objects
    }

    /// A column as one line: `text NOT NULL DEFAULT 'x'::text`.
    static func definition(of column: SchemaModel.Column) -> String {
        [
            column.type, column.notNull ? "NOT NULL" : nil,
            column.generated.map { "GENERATED ALWAYS AS (\($0)) STORED" },
            column.defaultExpression.map { "DEFAULT \($0)" },
            column.identity.map { "GENERATED \($0.rawValue) AS IDENTITY" }, column.collation.map { "COLLATE \($0)" },
        ].compactMap { $0 }.joined(separator: " ")
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
        SchemaSnapshot(try SchemaModel.read(from: connection, excludedSchemas: excludedSchemas))
    }
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
