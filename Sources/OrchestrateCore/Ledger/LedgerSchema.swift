import Postgres

/// One column of a ledger table: its name, its DDL, and the layout version that added it.
///
/// The column is the single source of what the DDL creates (`LedgerTable.create`, `LedgerMigrations`), what a read
/// selects (`LedgerTable.selectList`) and how a write binds it (`LedgerTable.insert`, `update`).
struct LedgerColumn: Sendable, Hashable {
    /// The column name, a plain lowercase SQL identifier.
    let name: String
    /// Its type and constraints, as in `CREATE TABLE`: `text NOT NULL`, `timestamptz NOT NULL DEFAULT now()`.
    let definition: String
    /// The ledger layout version that added it (a later one is added by `ALTER TABLE … ADD COLUMN` in that step).
    let since: Int

    /// The type, the first word of the definition: `text`, `text[]`, `boolean`, `bigint`, ...
    let type: String
    /// The cast a bound value needs so that the server does not have to infer its type (`$3::boolean`); nil for text.
    let cast: String?

    /// Makes a column; its type and cast are worked out once here (a value is bound per column per revision applied).
    init(_ name: String, _ definition: String, since: Int = 1) {
        self.name = name
        self.definition = definition
        self.since = since
        let type = String(definition.utf8.prefix { $0 != UInt8(ascii: " ") })!
        self.type = type
        self.cast = type == "text" ? nil : type
    }

    /// How a read selects it, named after the column: timestamps as UTC ISO 8601 text, a `text[]` joined by commas.
    var selected: String {
        switch type {
        case "timestamptz": return "\(Ledger.isoTime(name)) AS \(name)"
        case "text[]": return "array_to_string(\(name), ',') AS \(name)"
        default: return name
        }
    }
}

/// A ledger table: its name, the layout version that created it, and its columns in order.
struct LedgerTable: Sendable {
    let name: String
    let since: Int
    let columns: [LedgerColumn]

    init(_ name: String, since: Int = 1, _ columns: [LedgerColumn]) {
        self.name = name
        self.since = since
        self.columns = columns
    }

    /// The qualified name in `schema` (quoted).
    func qualified(_ schema: String) -> String {
        "\(schema).\(name)"
    }

    /// `CREATE TABLE` with the columns the table was created with (those of a later version are added by their
    /// own step); `separator` goes between the columns (a newline and an indent in a script, a space in a remedy).
    func create(schema: String, separator: String = "\n    ") -> String {
        let definitions = columns.filter { $0.since <= since }.map { "\($0.name) \($0.definition)" }
        let closing = separator.hasPrefix("\n") ? "\n" : ""
        return
            "CREATE TABLE \(qualified(schema)) (\(separator)\(definitions.joined(separator: ",\(separator)"))\(closing));"
    }

    /// The `ALTER TABLE … ADD COLUMN` statements of the columns added in layout `version` after the table existed.
    func addedColumns(in version: Int, schema: String) -> [String] {
        guard version > since else { return [] }
        return columns.filter { $0.since == version }.map {
            "ALTER TABLE \(qualified(schema)) ADD COLUMN IF NOT EXISTS \($0.name) \($0.definition);"
        }
    }

    /// The SELECT list of every column but `omitted`, each named after its column (see `LedgerColumn.selected`).
    func selectList(omitting omitted: Set<LedgerColumn> = []) -> String {
        columns.filter { !omitted.contains($0) }.map(\.selected).joined(separator: ", ")
    }

    /// `INSERT INTO table (columns) VALUES (placeholders)`, binding `values` in order; a column left out takes its
    /// default.
    func insert(schema: String, _ values: [(LedgerColumn, SQLValue)], builder: inout SQLCommand.Builder) -> String {
        let list = values.map { check($0.0).name }.joined(separator: ", ")
        let placeholders = values.map { $0.1.sql(for: $0.0, builder: &builder) }.joined(separator: ", ")
        return "INSERT INTO \(qualified(schema)) (\(list)) VALUES (\(placeholders))"
    }

    /// `INSERT INTO table (columns) SELECT values FROM source`: for an insert that takes a value from a CTE.
    func insert(
        schema: String, _ values: [(LedgerColumn, SQLValue)], from source: String,
        builder: inout SQLCommand.Builder
    ) -> String {
        let list = values.map { check($0.0).name }.joined(separator: ", ")
        let selected = values.map { $0.1.sql(for: $0.0, builder: &builder) }.joined(separator: ", ")
        return "INSERT INTO \(qualified(schema)) (\(list)) SELECT \(selected) FROM \(source)"
    }

    /// `UPDATE table SET … WHERE key = value`.
    func update(
        schema: String, set values: [(LedgerColumn, SQLValue)], where key: LedgerColumn, equals value: SQLParameter,
        builder: inout SQLCommand.Builder
    ) -> String {
        let assignments = values.map { "\(check($0.0).name) = \($0.1.sql(for: $0.0, builder: &builder))" }
        return
            "UPDATE \(qualified(schema)) SET \(assignments.joined(separator: ", ")) WHERE \(check(key).name) = \(builder.bind(value))"
    }

    /// `column`, after checking (in debug builds: the tests) that it belongs to this table. The check compares every
    /// column's strings, and an insert runs per revision applied: too dear for release builds.
    private func check(_ column: LedgerColumn) -> LedgerColumn {
        assert(columns.contains { $0.name == column.name }, "\(column.name) is not a column of \(name)")
        return column
    }
}

/// A value written to a ledger column: bound as a parameter (cast to the column's type), or an SQL expression.
enum SQLValue {
    case bound(SQLParameter)
    /// An SQL expression written as it is (`clock_timestamp()`, a CTE's column): never user data.
    case expression(String)

    /// The bound value; nil for an expression.
    var parameter: SQLParameter? {
        if case .bound(let parameter) = self { return parameter }
        return nil
    }

    func sql(for column: LedgerColumn, builder: inout SQLCommand.Builder) -> String {
        switch self {
        case .bound(let parameter): return builder.bind(parameter, as: column.cast)
        case .expression(let text): return text
        }
    }
}

/// The ledger's tables, each with its one column list. Adding a column: add it here with `since:` the new layout
/// version, raise `LedgerMigrations.currentVersion`, and read or write it where it is used.
enum LedgerSchema {
    /// The layout version: one row.
    static let meta = LedgerTable(
        "ledger_meta",
        [
            LedgerColumn("singleton", "boolean PRIMARY KEY DEFAULT true CHECK (singleton)"),
            LedgerColumn("version", "integer NOT NULL"),
            LedgerColumn("created_at", "timestamptz NOT NULL DEFAULT now()"),
            LedgerColumn("upgraded_at", "timestamptz NOT NULL DEFAULT now()"),
        ] + LedgerDerived.columns)

    /// The tables in creation order.
    static let tables: [LedgerTable] = [meta, RevisionsTable.table, EventsTable.table, FreezesTable.table]
}
