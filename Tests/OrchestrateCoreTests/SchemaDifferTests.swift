import Foundation
import Postgres
import TestSupport
import Testing

@testable import OrchestrateCore

/// The differ from literal models (ordering, destructive marking, notes), and what the catalog reader sees.
@Suite("schema differ")
struct SchemaDifferTests {
    typealias Model = SchemaModel

    static func table(_ name: String, _ columns: [Model.Column], constraints: [Model.Constraint] = []) -> Model.Table {
        Model.Table(
            schema: "public", name: name, columns: columns,
            constraints: Dictionary(uniqueKeysWithValues: constraints.map { ($0.name, $0) }))
    }

    static func model(
        tables: [Model.Table] = [], views: [Model.View] = [], enums: [Model.EnumType] = [],
        schemas: [String] = ["public"]
    ) -> Model {
        var model = Model()
        for name in schemas { model.schemas[name] = .init(name: name) }
        for table in tables { model.tables[table.qualifiedName] = table }
        for view in views { model.views[view.qualifiedName] = view }
        for type in enums { model.enums[type.qualifiedName] = type }
        return model
    }

    static let id = Model.Column(name: "id", type: "integer", notNull: true)

    @Test("equal models (column order aside) give no change")
    func noChange() {
        let a = Self.model(tables: [Self.table("t", [Self.id, .init(name: "b", type: "text")])])
        var b = a
        b.tables["public.t"]?.columns.reverse()
        #expect(SchemaDiffer.changes(from: a, to: a).isEmpty)
        #expect(SchemaDiffer.changes(from: a, to: b).isEmpty)
        #expect(a.normalized() == b.normalized())
    }

    @Test("types before the tables that use them; foreign keys after every table, dropped before tables")
    func creationOrder() {
        let mood = Model.EnumType(schema: "public", name: "mood", values: ["a", "b"])
        let parent = Self.table(
            "parent", [Self.id],
            constraints: [.init(name: "parent_pkey", kind: .primaryKey, definition: "PRIMARY KEY (id)")])
        let child = Self.table(
            "child", [Self.id, .init(name: "parent_id", type: "integer"), .init(name: "m", type: "public.mood")],
            constraints: [
                .init(
                    name: "child_parent_id_fkey", kind: .foreignKey,
                    definition: "FOREIGN KEY (parent_id) REFERENCES public.parent(id)", referencedTable: "public.parent"
                )
            ])
        let empty = Self.model()
        let full = Self.model(tables: [child, parent], enums: [mood])
        let up = SchemaDiffer.changes(from: empty, to: full).map(\.object)
        #expect(
            up == [
                "enum public.mood", "table public.child", "table public.parent", "constraint public.parent.parent_pkey",
                "constraint public.child.child_parent_id_fkey",
            ])
        let down = SchemaDiffer.changes(from: full, to: empty)
        #expect(
            down.map(\.object) == [
                "constraint public.child.child_parent_id_fkey", "table public.child", "table public.parent",
                "enum public.mood",
            ])
        #expect(down.filter(\.destroysData).map(\.object) == ["table public.child", "table public.parent"])
        #expect(down[0].sql == ["ALTER TABLE public.child DROP CONSTRAINT child_parent_id_fkey;"])
        #expect(up.count == 5 && SchemaDiffer.changes(from: full, to: full).isEmpty)
    }

    @Test("destructive marking: dropped columns and narrowing types; widening is safe; renames are not guessed")
    func destructive() {
        let a = Self.model(tables: [
            Self.table(
                "t",
                [
                    Self.id, .init(name: "old_name", type: "text"), .init(name: "n", type: "bigint"),
                    .init(name: "s", type: "character varying(20)"), .init(name: "w", type: "integer"),
                ])
        ])
        let b = Self.model(tables: [
            Self.table(
                "t",
                [
                    Self.id, .init(name: "new_name", type: "text"), .init(name: "n", type: "integer"),
                    .init(name: "s", type: "character varying(40)"), .init(name: "w", type: "bigint"),
                ])
        ])
        let changes = SchemaDiffer.changes(from: a, to: b)
        let byObject = Dictionary(changes.map { ($0.object + " " + $0.action.rawValue, $0) }) { x, _ in x }
        let dropped = byObject["column public.t.old_name drop"]
        #expect(dropped?.destroysData == true)
        #expect(dropped?.note == "renames are not guessed: a dropped and an added column")
        #expect(
            byObject["column public.t.new_name create"]?.note
                == "renames are not guessed: a dropped and an added column")
        #expect(byObject["column public.t.n alter"]?.destroysData == true)
        #expect(
            byObject["column public.t.n alter"]?.sql == [
                "ALTER TABLE public.t ALTER COLUMN n TYPE integer USING n::integer;"
            ])
        #expect(byObject["column public.t.s alter"]?.destroysData == false)
        #expect(byObject["column public.t.w alter"]?.destroysData == false)
        // The drop comes before the add.
        #expect(
            changes.firstIndex { $0.object == "column public.t.old_name" }!
                < changes.firstIndex { $0.object == "column public.t.new_name" }!)
        #expect(changes.allSatisfy { change in change.sql.allSatisfy { $0.hasSuffix(";") } })
    }

    @Test("a view reading a column whose type changes is dropped before and created after; its readers too")
    func viewsRecreated() {
        let a = Self.model(
            tables: [Self.table("t", [Self.id, .init(name: "b", type: "integer")])],
            views: [
                .init(
                    schema: "public", name: "v", definition: " SELECT t.b FROM public.t;",
                    dependsOnRelations: ["public.t"], dependsOnColumns: ["public.t.b"]),
                // Named before `v`, and reading it by column only: the order comes from what it reads.
                .init(
                    schema: "public", name: "a_reads_v", definition: " SELECT v.b FROM public.v;",
                    dependsOnColumns: ["public.v.b"]),
                .init(
                    schema: "public", name: "other", definition: " SELECT t.id FROM public.t;",
                    dependsOnRelations: ["public.t"], dependsOnColumns: ["public.t.id"]),
            ])
        var b = a
        b.tables["public.t"]?.columns[1].type = "bigint"
        let changes = SchemaDiffer.changes(from: a, to: b)
        #expect(
            changes.map { "\($0.action.rawValue) \($0.object)" } == [
                "drop view public.a_reads_v", "drop view public.v", "alter column public.t.b", "create view public.v",
                "create view public.a_reads_v",
            ])
        #expect(changes[3].sql == ["CREATE VIEW public.v AS\n SELECT t.b FROM public.t;"])
    }

    @Test("enums: appended values are added in place; a removed value recreates the type with a note")
    func enums() {
        let column = Model.Column(name: "m", type: "public.mood", defaultExpression: "'a'::public.mood")
        let a = Self.model(
            tables: [Self.table("t", [column])],
            enums: [.init(schema: "public", name: "mood", values: ["a", "c"])])
        var added = a
        added.enums["public.mood"]?.values = ["z", "a", "b", "c", "d"]
        #expect(
            SchemaDiffer.changes(from: a, to: added).flatMap(\.sql) == [
                "ALTER TYPE public.mood ADD VALUE 'z' BEFORE 'a';", "ALTER TYPE public.mood ADD VALUE 'b' AFTER 'a';",
                "ALTER TYPE public.mood ADD VALUE 'd' AFTER 'c';",
            ])
        var removed = a
        removed.enums["public.mood"]?.values = ["a"]
        let changes = SchemaDiffer.changes(from: a, to: removed)
        #expect(changes.first?.destroysData == true)
        #expect(changes.first?.note?.contains("cannot remove enum values ('c')") == true)
        #expect(
            changes.flatMap(\.sql) == [
                "ALTER TYPE public.mood RENAME TO \"mood__orchestrate_old\";",
                "CREATE TYPE public.mood AS ENUM ('a');",
                "ALTER TABLE public.t ALTER COLUMN m DROP DEFAULT;",
                "ALTER TABLE public.t ALTER COLUMN m TYPE public.mood USING m::text::public.mood;",
                "ALTER TABLE public.t ALTER COLUMN m SET DEFAULT 'a'::public.mood;",
                "DROP TYPE public.\"mood__orchestrate_old\";",
            ])
    }

    @Test("an object the differ writes no DDL for is still reported, with no statement and a note")
    func unsupported() {
        var a = Self.model()
        a.unsupported["aggregate public.total(integer)"] = "returns bigint"
        var b = Self.model()
        b.unsupported["aggregate public.total(integer)"] = "returns numeric"
        b.unsupported["foreign table public.remote"] = "server s"
        let changes = SchemaDiffer.changes(from: a, to: b)
        #expect(
            changes.map { "\($0.action.rawValue) \($0.object)" } == [
                "alter aggregate public.total(integer)", "create foreign table public.remote",
            ])
        #expect(changes.allSatisfy { $0.sql.isEmpty && $0.note?.contains("write it by hand") == true })
        #expect(SchemaDiffer.changes(from: b, to: Self.model()).map(\.action) == [.drop, .drop])
    }

    @Test("type widening rules")
    func widening() {
        #expect(SchemaDiff.widens(from: "integer", to: "bigint"))
        #expect(!SchemaDiff.widens(from: "bigint", to: "integer"))
        #expect(SchemaDiff.widens(from: "character varying(10)", to: "character varying(11)"))
        #expect(!SchemaDiff.widens(from: "character varying(10)", to: "character varying(9)"))
        #expect(SchemaDiff.widens(from: "character varying(10)", to: "text"))
        #expect(!SchemaDiff.widens(from: "text", to: "character varying(10)"))
        #expect(SchemaDiff.widens(from: "numeric(8,2)", to: "numeric(10,2)"))
        #expect(!SchemaDiff.widens(from: "numeric(8,2)", to: "numeric(8,1)"))
        #expect(!SchemaDiff.widens(from: "timestamp with time zone", to: "date"))
    }

    @Test("the catalog reader: view dependencies, ownership, identity sequences, partitions, search_path kept")
    func readsCatalog() throws {
        let database = try TestPostgres.createDatabase(prefix: "t_model")
        defer { TestPostgres.dropDatabase(database.name) }
        let connection = try Connection(conninfo: database.conninfo)
        defer { connection.close() }
        try connection.execute(
            """
            CREATE SCHEMA app;
            CREATE TABLE app.t (id serial, n int GENERATED ALWAYS AS IDENTITY, b text COLLATE "C");
            CREATE FUNCTION app.f(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1';
            CREATE VIEW app.v AS SELECT id, app.f(n) FROM app.t;
            CREATE TABLE app.p (at date) PARTITION BY RANGE (at);
            CREATE TABLE app.p1 PARTITION OF app.p FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            CREATE EXTENSION citext;
            CREATE SCHEMA ledger;
            CREATE TABLE ledger.rows (x int);
            SET search_path = app, public;
            """)
        let model = try SchemaModel.read(from: connection, excludedSchemas: ["ledger"])
        #expect(try connection.query("SHOW search_path").rows.first?[0] == "app, public")
        #expect(model.views["app.v"]?.dependsOnColumns == ["app.t.id", "app.t.n"])
        #expect(model.views["app.v"]?.dependsOnRelations == [])
        #expect(model.views["app.v"]?.dependsOnFunctions == ["app.f(integer)"])
        #expect(model.sequences.keys.sorted() == ["app.t_id_seq"])
        #expect(model.sequences["app.t_id_seq"]?.ownedBy == "app.t.id")
        #expect(model.tables["app.t"]?.column("id")?.defaultExpression == "nextval('app.t_id_seq'::regclass)")
        #expect(model.tables["app.t"]?.column("n")?.identity == .always)
        #expect(model.tables["app.t"]?.column("b")?.collation == "\"C\"")
        #expect(model.tables["app.p"]?.partitionKey == "RANGE (at)")
        #expect(model.tables["app.p1"]?.partitionOf == "app.p")
        #expect(model.tables["app.p1"]?.columns.map(\.inherited) == [true])
        #expect(model.extensions["citext"]?.schema == "public")
        // citext's own functions and types belong to the extension, not to the model.
        #expect(!model.functions.keys.contains { $0.contains("citext") })
        #expect(model.schemas["ledger"] == nil && model.tables["ledger.rows"] == nil)
        // Read twice, the same model.
        #expect(try SchemaModel.read(from: connection, excludedSchemas: ["ledger"]) == model)
    }
}
