import Foundation
import Postgres
import TestSupport
import Testing

@testable import OrchestrateCore

/// The catalog snapshot behind `verify`: a pure diff, patches of snapshots, and what a real catalog yields.
@Suite("schema snapshot")
struct SchemaSnapshotTests {
    @Test("differences: added, removed and changed objects, sorted by key")
    func differences() {
        let before = SchemaSnapshot(objects: [
            "table public.a": "", "column public.a.id": "integer", "index public.a_id": "CREATE INDEX a_id",
        ])
        let after = SchemaSnapshot(objects: [
            "table public.a": "", "column public.a.id": "bigint", "table public.b": "",
        ])
        let diff = before.differences(to: after)
        #expect(
            diff.map(\.description) == [
                "~ column public.a.id: integer -> bigint",
                "- index public.a_id",
                "+ table public.b",
            ])
        #expect(before.differences(to: before).isEmpty)
        #expect(after.differences(to: before).count == 3)
    }

    @Test("applying a change predicts the state after it, whatever else the state carries")
    func applying() {
        let a = SchemaSnapshot(objects: ["table public.t": ""])
        let b = SchemaSnapshot(objects: ["table public.t": "", "column public.t.x": "integer", "table public.u": ""])
        // Undoing a→b on a state that also carries unrelated drift keeps the drift and removes what a→b added.
        let drifted = SchemaSnapshot(objects: b.objects.merging(["table public.drift": ""]) { x, _ in x })
        let predicted = drifted.applying(b.differences(to: a))
        #expect(predicted == SchemaSnapshot(objects: ["table public.t": "", "table public.drift": ""]))
        #expect(a.applying(a.differences(to: b)) == b)
        #expect(b.applying([]) == b)
    }

    @Test("a step is not blamed for objects that had drifted before it")
    func attribution() {
        let clean = SchemaSnapshot(objects: ["table public.users": "", "index public.users_pkey": "pk"])
        // An earlier faulty down section left `index public.stray` behind; this step's table drop took it along.
        let before = SchemaSnapshot(objects: clean.objects.merging(["index public.stray": "x"]) { a, _ in a })
        let differences = [
            SchemaDifference(object: "index public.stray", before: "x", after: nil),
            SchemaDifference(object: "table public.extra", before: nil, after: ""),
        ]
        #expect(Orchestrator.attributable(differences, drift: clean, before).map(\.object) == ["table public.extra"])
        #expect(Orchestrator.attributable(differences, drift: before, before).count == 2)
    }

    @Test("a real catalog: tables, columns, defaults, constraints, indexes, views, functions, sequences, types")
    func readsCatalog() throws {
        let database = try TestPostgres.createDatabase(prefix: "t_snapshot")
        defer { TestPostgres.dropDatabase(database.name) }
        let connection = try Connection(conninfo: database.conninfo)
        defer { connection.close() }
        try connection.execute(
            """
            CREATE SCHEMA app;
            CREATE TYPE app.mood AS ENUM ('sad', 'ok');
            CREATE TABLE app.users (id serial PRIMARY KEY, name text NOT NULL DEFAULT 'x', mood app.mood,
                                    CONSTRAINT name_len CHECK (length(name) < 100));
            CREATE INDEX users_name ON app.users (name);
            CREATE VIEW app.names AS SELECT name FROM app.users;
            CREATE FUNCTION app.one() RETURNS int LANGUAGE sql AS 'SELECT 1';
            CREATE SCHEMA ledger;
            CREATE TABLE ledger.hidden (id int);
            """)
        let snapshot = try SchemaSnapshot.read(from: connection, excludedSchemas: ["ledger"])
        let objects = snapshot.objects
        #expect(objects["table app.users"] != nil)
        #expect(objects["column app.users.name"] == "text NOT NULL DEFAULT 'x'::text")
        #expect(objects["column app.users.id"]?.contains("nextval('app.users_id_seq'::regclass)") == true)
        #expect(objects["constraint app.users.name_len"] == "CHECK ((length(name) < 100))")
        #expect(objects["constraint app.users.users_pkey"] == "PRIMARY KEY (id)")
        #expect(objects["index app.users_name"] == "CREATE INDEX users_name ON app.users USING btree (name)")
        #expect(objects["view app.names"]?.contains("SELECT users.name") == true)
        #expect(objects["function app.one()"]?.contains("SELECT 1") == true)
        #expect(objects["sequence app.users_id_seq"]?.contains("owned by app.users.id") == true)
        #expect(objects["enum app.mood"] == "'sad', 'ok'")
        #expect(objects["schema app"] != nil)
        #expect(!objects.keys.contains { $0.contains("ledger") })
        #expect(!objects.keys.contains { $0.contains("pg_catalog") })

        try connection.execute("ALTER TABLE app.users ALTER COLUMN name DROP DEFAULT")
        let changed = try SchemaSnapshot.read(from: connection, excludedSchemas: ["ledger"])
        #expect(
            snapshot.differences(to: changed).map(\.description) == [
                "~ column app.users.name: text NOT NULL DEFAULT 'x'::text -> text NOT NULL"
            ])
    }

    @Test("ledger array literals: quotes and backslashes escaped, read back by PostgreSQL as written")
    func arrayLiterals() throws {
        let values = ["001_root", "b\\c", "d\"e", "grüße", ""]
        #expect(SQLParameter.arrayLiteral(values) == #"{"001_root","b\\c","d\"e","grüße",""}"#)
        #expect(SQLParameter.arrayLiteral([]) == "{}")
        let connection = try Connection(conninfo: try TestPostgres.conninfo(database: "postgres"))
        defer { connection.close() }
        let back = try connection.query("SELECT unnest($1::text[])", [.textArray(values)])
        #expect(back.rows.map { $0[0] } == values)
    }

    @Test("script rendering: parameters inlined outside quotes, statements terminated outside comments")
    func scriptPieces() throws {
        let command = SQLCommand(
            sql: "UPDATE t SET a = $1, b = $2::int, c = '$1', d = \"$2\" WHERE e = $10",
            parameters: ["it's", nil, nil, nil, nil, nil, nil, nil, nil, "ten"])
        let quote = { (value: String) throws(PostgresError) -> String in
            "'" + value.replacingOccurrences(of: "'", with: "''") + "'"
        }
        #expect(
            try command.inlined(quote: quote)
                == "UPDATE t SET a = 'it''s', b = NULL::int, c = '$1', d = \"$2\" WHERE e = 'ten'")
        // `$n` next to identifiers, past the count, in nested quotes; multi-byte text around them.
        let edges = SQLCommand(sql: "SELECT a$1, $3, $12, 'x''$1', \"é$1\", é $1, ($2)", parameters: ["v", nil])
        #expect(try edges.inlined(quote: quote) == "SELECT a$1, $3, $12, 'x''$1', \"é$1\", é 'v', (NULL)")
        #expect(RunScript.terminated("SELECT 1;\n-- done\n") == "SELECT 1;\n-- done")
        #expect(RunScript.terminated("SELECT 1 -- no semicolon") == "SELECT 1 -- no semicolon\n;")
        #expect(RunScript.terminated("SELECT ';'") == "SELECT ';'\n;")
        #expect(RunScript.terminated("  \n") == "")
    }
}
