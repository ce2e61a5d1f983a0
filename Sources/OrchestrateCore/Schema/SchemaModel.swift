/// One database's schema as its catalog describes it: the value `SchemaDiffer` compares and turns into DDL.
///
/// Every name is held as PostgreSQL's `quote_ident` writes it (`users`, `"Users"`), and every qualified name and key
/// is those names joined by dots (`public.users`, `public.users.email`), so names go into SQL as they are.
/// Definitions are the catalog's own text (`pg_get_constraintdef`, `pg_get_indexdef`, `pg_get_viewdef`,
/// `pg_get_functiondef`, `pg_get_triggerdef`, `pg_get_expr`, `format_type`), read with `search_path` set to
/// `pg_catalog` so that every user object in them is schema-qualified.
///
/// Covered: schemas, extensions, enums, domains (with their constraints), composite types, sequences (and the column
/// that owns them), tables (columns with type, default, nullability, identity, generated expression, collation;
/// partitioning; unlogged; row security), constraints (primary key, unique, check, foreign key, exclusion), indexes,
/// views and materialized views (with the relations, columns and functions they depend on), functions and
/// procedures, triggers, row security policies and comments. Left out: system schemas, the schemas named by the
/// caller (the ledger), objects that belong to an extension, owners, grants, statistics, identity sequences'
/// parameters, column order (see `normalized()`) and data. Aggregates and foreign tables are read into `unsupported`
/// so that a difference in them is seen, but the differ writes no DDL for them.
public struct SchemaModel: Sendable, Hashable, Codable {
    /// Schemas by name.
    public var schemas: [String: Schema] = [:]
    /// Extensions by name (plpgsql, present everywhere, is left out).
    public var extensions: [String: Extension] = [:]
    /// Enum types by qualified name.
    public var enums: [String: EnumType] = [:]
    /// Domains by qualified name.
    public var domains: [String: Domain] = [:]
    /// Composite types (`CREATE TYPE … AS (…)`) by qualified name.
    public var compositeTypes: [String: CompositeType] = [:]
    /// Sequences by qualified name (identity columns' own sequences are left out: the column makes them).
    public var sequences: [String: SequenceDefinition] = [:]
    /// Tables, partitioned tables and partitions by qualified name.
    public var tables: [String: Table] = [:]
    /// Views and materialized views by qualified name.
    public var views: [String: View] = [:]
    /// Functions and procedures by `schema.name(identity arguments)`.
    public var functions: [String: Function] = [:]
    /// Indexes that no constraint owns, by qualified index name.
    public var indexes: [String: Index] = [:]
    /// Triggers by `schema.table.trigger`.
    public var triggers: [String: Trigger] = [:]
    /// Row security policies by `schema.table.policy`.
    public var policies: [String: Policy] = [:]
    /// Objects the model sees but the differ cannot write DDL for (aggregates, foreign tables): key, such as
    /// `aggregate public.total(integer)`, to a definition to compare.
    public var unsupported: [String: String] = [:]

    /// Makes an empty model (tests build literal models from it).
    public init() {}

    /// The model with each table's columns in name order: two databases that reached the same schema by different
    /// paths (a column dropped and added again lands last) compare equal. PostgreSQL cannot reorder columns, so the
    /// differ ignores column order too.
    public func normalized() -> SchemaModel {
        var copy = self
        for key in copy.tables.keys {
            copy.tables[key]?.columns.sort { $0.name < $1.name }
        }
        return copy
    }
}

extension SchemaModel {
    /// A schema.
    public struct Schema: Sendable, Hashable, Codable {
        public var name: String
        public var comment: String?

        public init(name: String, comment: String? = nil) {
            self.name = name
            self.comment = comment
        }
    }

    /// An installed extension (its own objects are not in the model).
    public struct Extension: Sendable, Hashable, Codable {
        public var name: String
        public var version: String
        /// The schema it was installed in.
        public var schema: String
        public var comment: String?

        public init(name: String, version: String, schema: String, comment: String? = nil) {
            self.name = name
            self.version = version
            self.schema = schema
            self.comment = comment
        }
    }

    /// An enum type and its values in order.
    public struct EnumType: Sendable, Hashable, Codable {
        public var schema: String
        public var name: String
        /// The labels, unquoted, in sort order.
        public var values: [String]
        public var comment: String?

        public init(schema: String, name: String, values: [String], comment: String? = nil) {
            self.schema = schema
            self.name = name
            self.values = values
            self.comment = comment
        }

        public var qualifiedName: String { "\(schema).\(name)" }
    }

    /// A domain over a base type.
    public struct Domain: Sendable, Hashable, Codable {
        public var schema: String
        public var name: String
        /// `format_type` of the base type, such as `text` or `numeric(10,2)`.
        public var baseType: String
        public var notNull: Bool
        public var defaultExpression: String?
        /// A collation other than the base type's, quoted.
        public var collation: String?
        /// Check constraints by name to `pg_get_constraintdef`.
        public var constraints: [String: String]
        public var comment: String?

        public init(
            schema: String, name: String, baseType: String, notNull: Bool = false, defaultExpression: String? = nil,
            collation: String? = nil, constraints: [String: String] = [:], comment: String? = nil
        ) {
            self.schema = schema
            self.name = name
            self.baseType = baseType
            self.notNull = notNull
            self.defaultExpression = defaultExpression
            self.collation = collation
            self.constraints = constraints
            self.comment = comment
        }

        public var qualifiedName: String { "\(schema).\(name)" }
    }

    /// A composite type's attributes in order.
    public struct CompositeType: Sendable, Hashable, Codable {
        public var schema: String
        public var name: String
        public var attributes: [Attribute]
        public var comment: String?

        /// One attribute: name, `format_type`, and a collation other than the type's default.
        public struct Attribute: Sendable, Hashable, Codable {
            public var name: String
            public var type: String
            public var collation: String?

            public init(name: String, type: String, collation: String? = nil) {
                self.name = name
                self.type = type
                self.collation = collation
            }
        }

        public init(schema: String, name: String, attributes: [Attribute], comment: String? = nil) {
            self.schema = schema
            self.name = name
            self.attributes = attributes
            self.comment = comment
        }

        public var qualifiedName: String { "\(schema).\(name)" }
    }

    /// A sequence's parameters and the column that owns it.
    public struct SequenceDefinition: Sendable, Hashable, Codable {
        public var schema: String
        public var name: String
        /// `smallint`, `integer` or `bigint`.
        public var type: String
        public var start: Int64
        public var increment: Int64
        public var minValue: Int64
        public var maxValue: Int64
        public var cache: Int64
        public var cycle: Bool
        /// `schema.table.column` of the owning column (`OWNED BY`, as `serial` sets it), nil when none.
        public var ownedBy: String?
        public var comment: String?

        public init(
            schema: String, name: String, type: String = "bigint", start: Int64 = 1, increment: Int64 = 1,
            minValue: Int64 = 1, maxValue: Int64 = Int64.max, cache: Int64 = 1, cycle: Bool = false,
            ownedBy: String? = nil, comment: String? = nil
        ) {
            self.schema = schema
            self.name = name
            self.type = type
            self.start = start
            self.increment = increment
            self.minValue = minValue
            self.maxValue = maxValue
            self.cache = cache
            self.cycle = cycle
            self.ownedBy = ownedBy
            self.comment = comment
        }

        public var qualifiedName: String { "\(schema).\(name)" }
    }

    /// A table (plain, partitioned, or a partition).
    public struct Table: Sendable, Hashable, Codable {
        public var schema: String
        public var name: String
        /// The columns in the table's order (see `SchemaModel.normalized()`).
        public var columns: [Column]
        /// Constraints declared on this table (not those a partition inherits), by name.
        public var constraints: [String: Constraint]
        /// `pg_get_partkeydef` of a partitioned table, such as `RANGE (created_at)`.
        public var partitionKey: String?
        /// The qualified name of the partitioned table this one is a partition of.
        public var partitionOf: String?
        /// The partition bound, such as `FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')` or `DEFAULT`.
        public var partitionBound: String?
        public var unlogged: Bool
        public var rowSecurity: Bool
        public var forceRowSecurity: Bool
        public var comment: String?

        public init(
            schema: String, name: String, columns: [Column] = [], constraints: [String: Constraint] = [:],
            partitionKey: String? = nil, partitionOf: String? = nil, partitionBound: String? = nil,
            unlogged: Bool = false, rowSecurity: Bool = false, forceRowSecurity: Bool = false, comment: String? = nil
        ) {
            self.schema = schema
            self.name = name
            self.columns = columns
            self.constraints = constraints
            self.partitionKey = partitionKey
            self.partitionOf = partitionOf
            self.partitionBound = partitionBound
            self.unlogged = unlogged
            self.rowSecurity = rowSecurity
            self.forceRowSecurity = forceRowSecurity
            self.comment = comment
        }

        public var qualifiedName: String { "\(schema).\(name)" }

        /// The column named `name`, if any.
        public func column(_ name: String) -> Column? { columns.first { $0.name == name } }
    }

    /// A table's column.
    public struct Column: Sendable, Hashable, Codable {
        /// How an identity column generates its values.
        public enum Identity: String, Sendable, Hashable, Codable {
            case always = "ALWAYS"
            case byDefault = "BY DEFAULT"
        }

        public var name: String
        /// `format_type`, such as `character varying(20)`, `public.mood[]`.
        public var type: String
        public var notNull: Bool
        /// `pg_get_expr` of the default (not of a generated column).
        public var defaultExpression: String?
        public var identity: Identity?
        /// The expression of a `GENERATED ALWAYS AS (…) STORED` column.
        public var generated: String?
        /// A collation other than the type's default, quoted (such as `"C"`).
        public var collation: String?
        /// True for a column a partition has from its partitioned table (it is not written for the partition).
        public var inherited: Bool
        public var comment: String?

        public init(
            name: String, type: String, notNull: Bool = false, defaultExpression: String? = nil,
            identity: Identity? = nil, generated: String? = nil, collation: String? = nil, inherited: Bool = false,
            comment: String? = nil
        ) {
            self.name = name
            self.type = type
            self.notNull = notNull
            self.defaultExpression = defaultExpression
            self.identity = identity
            self.generated = generated
            self.collation = collation
            self.inherited = inherited
            self.comment = comment
        }
    }

    /// A table constraint.
    public struct Constraint: Sendable, Hashable, Codable {
        /// The kind of constraint.
        public enum Kind: String, Sendable, Hashable, Codable {
            case primaryKey = "primary key"
            case unique
            case check
            case foreignKey = "foreign key"
            case exclusion
        }

        public var name: String
        public var kind: Kind
        /// `pg_get_constraintdef`, such as `FOREIGN KEY (team_id) REFERENCES public.teams(id) ON DELETE CASCADE
        /// DEFERRABLE`.
        public var definition: String
        /// The qualified name of the table a foreign key references.
        public var referencedTable: String?
        public var comment: String?

        public init(
            name: String, kind: Kind, definition: String, referencedTable: String? = nil, comment: String? = nil
        ) {
            self.name = name
            self.kind = kind
            self.definition = definition
            self.referencedTable = referencedTable
            self.comment = comment
        }
    }

    /// An index that no constraint owns.
    public struct Index: Sendable, Hashable, Codable {
        public var schema: String
        public var name: String
        /// The qualified name of its table or materialized view.
        public var table: String
        /// `pg_get_indexdef`, such as `CREATE UNIQUE INDEX users_email ON public.users USING btree (lower(email))
        /// WHERE (deleted_at IS NULL)`.
        public var definition: String
        /// False for an index a failed `CREATE INDEX CONCURRENTLY` left behind.
        public var valid: Bool
        public var comment: String?

        public init(
            schema: String, name: String, table: String, definition: String, valid: Bool = true, comment: String? = nil
        ) {
            self.schema = schema
            self.name = name
            self.table = table
            self.definition = definition
            self.valid = valid
            self.comment = comment
        }

        public var qualifiedName: String { "\(schema).\(name)" }
    }

    /// A view or materialized view, and what it depends on.
    public struct View: Sendable, Hashable, Codable {
        public var schema: String
        public var name: String
        public var materialized: Bool
        /// `pg_get_viewdef`: the query.
        public var definition: String
        /// `reloptions`, such as `security_barrier=true`, `check_option=cascaded`.
        public var options: [String]
        /// False for a materialized view created `WITH NO DATA` and not refreshed since.
        public var populated: Bool = true
        /// Qualified names of the tables and views its query reads.
        public var dependsOnRelations: [String]
        /// `schema.table.column` of each column its query reads.
        public var dependsOnColumns: [String]
        /// Keys of the functions its query calls.
        public var dependsOnFunctions: [String]
        public var comment: String?

        public init(
            schema: String, name: String, materialized: Bool = false, definition: String, options: [String] = [],
            dependsOnRelations: [String] = [], dependsOnColumns: [String] = [], dependsOnFunctions: [String] = [],
            comment: String? = nil
        ) {
            self.schema = schema
            self.name = name
            self.materialized = materialized
            self.definition = definition
            self.options = options
            self.dependsOnRelations = dependsOnRelations
            self.dependsOnColumns = dependsOnColumns
            self.dependsOnFunctions = dependsOnFunctions
            self.comment = comment
        }

        public var qualifiedName: String { "\(schema).\(name)" }

        /// Every table and view its query reads, whole or by column.
        public var readsRelations: Set<String> {
            Set(dependsOnRelations).union(dependsOnColumns.map(SchemaSQL.tableOf(column:)))
        }
    }

    /// A function or procedure.
    public struct Function: Sendable, Hashable, Codable {
        public var schema: String
        public var name: String
        /// `pg_get_function_identity_arguments`, such as `a integer, b text`.
        public var identityArguments: String
        public var isProcedure: Bool
        /// `pg_get_functiondef`: a complete `CREATE OR REPLACE FUNCTION` statement, without the final `;`.
        public var definition: String
        /// `pg_get_function_result` (nil for a procedure): a different result needs a drop and a create.
        public var result: String?
        /// True for a SQL-standard body (`BEGIN ATOMIC … END`), which depends on the tables it names and is created
        /// after them.
        public var atomicBody: Bool
        /// True for `LANGUAGE sql` with a string body, which PostgreSQL checks against the catalog when it is created
        /// unless `check_function_bodies` is off.
        public var sqlBody: Bool
        public var comment: String?

        public init(
            schema: String, name: String, identityArguments: String = "", isProcedure: Bool = false,
            definition: String, result: String? = nil, atomicBody: Bool = false, sqlBody: Bool = false,
            comment: String? = nil
        ) {
            self.schema = schema
            self.name = name
            self.identityArguments = identityArguments
            self.isProcedure = isProcedure
            self.definition = definition
            self.result = result
            self.atomicBody = atomicBody
            self.sqlBody = sqlBody
            self.comment = comment
        }

        /// `schema.name(identity arguments)`: its key in `SchemaModel.functions`, and how DROP names it.
        public var signature: String { "\(schema).\(name)(\(identityArguments))" }
    }

    /// A trigger on a table or view.
    public struct Trigger: Sendable, Hashable, Codable {
        public var schema: String
        public var table: String
        public var name: String
        /// `pg_get_triggerdef`: a complete `CREATE TRIGGER` statement without the final `;`.
        public var definition: String
        /// The key of the function it executes.
        public var function: String
        /// False for a trigger disabled with `ALTER TABLE … DISABLE TRIGGER`.
        public var enabled: Bool
        public var comment: String?

        public init(
            schema: String, table: String, name: String, definition: String, function: String, enabled: Bool = true,
            comment: String? = nil
        ) {
            self.schema = schema
            self.table = table
            self.name = name
            self.definition = definition
            self.function = function
            self.enabled = enabled
            self.comment = comment
        }

        /// The qualified name of its table.
        public var qualifiedTable: String { "\(schema).\(table)" }
    }

    /// A row security policy.
    public struct Policy: Sendable, Hashable, Codable {
        public var schema: String
        public var table: String
        public var name: String
        public var permissive: Bool
        /// `ALL`, `SELECT`, `INSERT`, `UPDATE` or `DELETE`.
        public var command: String
        /// Role names, quoted, or `public`.
        public var roles: [String]
        public var using: String?
        public var check: String?

        public init(
            schema: String, table: String, name: String, permissive: Bool = true, command: String = "ALL",
            roles: [String] = ["public"], using: String? = nil, check: String? = nil
        ) {
            self.schema = schema
            self.table = table
            self.name = name
            self.permissive = permissive
            self.command = command
            self.roles = roles
            self.using = using
            self.check = check
        }

        /// The qualified name of its table.
        public var qualifiedTable: String { "\(schema).\(table)" }
    }
}
