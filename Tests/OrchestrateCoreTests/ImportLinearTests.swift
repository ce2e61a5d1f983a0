import Foundation
import Migrations
import Testing

@testable import OrchestrateCore

/// `orchestrate import` of the linear tools, from literal files: no disk, no database.
@Suite("import: flyway, dbmate, golang-migrate, goose")
struct ImportLinearTests {
    /// Renders and parses every revision of `plan`, as the writer does, and returns the files by id.
    func written(_ plan: ImportPlan) throws -> [String: MigrationFile] {
        var files: [String: MigrationFile] = [:]
        for (path, text) in try ImportWriter.files(for: plan) {
            let file = try MigrationFile.parse(path: path, bytes: Array(text.utf8))
            files[file.revision] = file
        }
        return files
    }

    @Test(
        "flyway: version order compares parts as numbers, U files become down sections, CONCURRENTLY runs outside a transaction"
    )
    func flyway() throws {
        let plan = FlywayImport.plan([
            ForeignFile(path: "V1.10__later.sql", text: "CREATE TABLE later (id int);\n"),
            ForeignFile(path: "V1.9__earlier.sql", text: "CREATE TABLE earlier (id int);\n"),
            ForeignFile(path: "V1__init.sql", text: "CREATE TABLE users (id int, email text);\n"),
            ForeignFile(path: "U1__init.sql", text: "DROP TABLE users;\n"),
            ForeignFile(path: "V2_1__index.sql", text: "CREATE INDEX CONCURRENTLY users_email ON users (email);\n"),
            ForeignFile(path: "R__views.sql", text: "CREATE OR REPLACE VIEW v AS SELECT 1;\n"),
            ForeignFile(path: "V3__tenant.sql", text: "CREATE SCHEMA ${tenant};\n"),
            ForeignFile(path: "db/V4__Backfill.java", text: "class V4__Backfill {}\n"),
        ])
        #expect(plan.revisions.map(\.id) == ["V1__init", "V1.9__earlier", "V1.10__later", "V2_1__index", "V3__tenant"])
        #expect(
            plan.revisions.map(\.parents) == [[], ["V1__init"], ["V1.9__earlier"], ["V1.10__later"], ["V2_1__index"]])
        let files = try written(plan)
        #expect(files["V1__init"]?.down == "DROP TABLE users;\n")
        #expect(files["V1.9__earlier"]?.down == nil)
        #expect(files["V2_1__index"]?.transactional == false)
        #expect(files["V1__init"]?.transactional == true)
        #expect(plan.revisions[3].conversions.contains { $0.contains("CREATE INDEX CONCURRENTLY") })
        // A placeholder is not replaced by orchestrate: the revision refuses to apply until filled in.
        #expect(files["V3__tenant"]?.isUnwritten == true)
        #expect(files["V3__tenant"]?.up.contains("-- CREATE SCHEMA ${tenant};") == true)
        #expect(plan.revisions[4].toFillIn?.contains("${tenant}") == true)
        #expect(Set(plan.skipped.map(\.source)) == ["R__views.sql", "db/V4__Backfill.java"])
        #expect(plan.skipped.first { $0.source == "R__views.sql" }?.reason.contains("repeatable") == true)
        #expect(plan.skipped.first { $0.source == "db/V4__Backfill.java" }?.reason.contains("Java") == true)
        // The message is the description.
        #expect(ImportWriter.text(of: plan.revisions[0]).hasPrefix("-- init\n-- migrate:up\n"))
    }

    @Test(
        "flyway: an equal version is skipped, a file name that is no id is sanitized and said so, conf files say executeInTransaction"
    )
    func flywayEdges() throws {
        let plan = FlywayImport.plan([
            ForeignFile(path: "V1__a b.sql", text: "SELECT 1;\n"),
            ForeignFile(path: "V1.0__same.sql", text: "SELECT 2;\n"),
            ForeignFile(path: "V2__vacuum.sql", text: "VACUUM;\n"),
            ForeignFile(path: "V3__conf.sql", text: "SELECT 3;\n"),
            ForeignFile(path: "V3__conf.sql.conf", text: "executeInTransaction=false\n"),
            ForeignFile(path: "U9__orphan.sql", text: "SELECT 4;\n"),
        ])
        #expect(plan.revisions.map(\.id) == ["V1.0__same", "V2__vacuum", "V3__conf"])
        #expect(plan.skipped.contains { $0.reason.contains("same version") })
        #expect(plan.skipped.contains { $0.source == "U9__orphan.sql" })
        let files = try written(plan)
        #expect(files["V2__vacuum"]?.transactional == false)
        #expect(files["V3__conf"]?.transactional == false)
        let sanitized = FlywayImport.plan([ForeignFile(path: "V1__a b.sql", text: "SELECT 1;\n")])
        #expect(sanitized.revisions.map(\.id) == ["V1__a_b"])
        #expect(sanitized.revisions[0].conversions.contains { $0.contains("not a valid orchestrate id") })
    }

    @Test("dbmate: sections by marker, transaction:false on the marker becomes the header key")
    func dbmate() throws {
        let plan = DbmateImport.plan([
            ForeignFile(
                path: "20230102000000_index.sql",
                text: """
                    -- migrate:up transaction:false
                    CREATE INDEX CONCURRENTLY users_email ON users (email);

                    -- migrate:down
                    DROP INDEX users_email;

                    """),
            ForeignFile(
                path: "20230101000000_create_users.sql",
                text: """
                    -- migrate:up
                    CREATE TABLE users (id int, email text);

                    -- migrate:down
                    DROP TABLE users;

                    """),
            ForeignFile(path: "schema.sql", text: "CREATE TABLE x ();\n"),
        ])
        #expect(plan.revisions.map(\.id) == ["20230101000000_create_users", "20230102000000_index"])
        let files = try written(plan)
        #expect(files["20230101000000_create_users"]?.up == "CREATE TABLE users (id int, email text);\n")
        #expect(files["20230101000000_create_users"]?.down == "DROP TABLE users;\n")
        #expect(files["20230102000000_index"]?.transactional == false)
        #expect(files["20230102000000_index"]?.parents == ["20230101000000_create_users"])
        #expect(plan.skipped.map(\.source) == ["schema.sql"])
    }

    @Test("golang-migrate: up and down pairs in numeric order; an explicit BEGIN/COMMIT is removed")
    func golangMigrate() throws {
        let plan = GolangMigrateImport.plan([
            ForeignFile(path: "10_orders.up.sql", text: "BEGIN;\nCREATE TABLE orders (id int);\nCOMMIT;\n"),
            ForeignFile(path: "10_orders.down.sql", text: "DROP TABLE orders;\n"),
            ForeignFile(path: "2_users.up.sql", text: "CREATE TABLE users (id int);\n"),
            ForeignFile(path: "2_users.down.sql", text: "DROP TABLE users;\n"),
            ForeignFile(path: "3_gone.down.sql", text: "SELECT 1;\n"),
        ])
        #expect(plan.revisions.map(\.id) == ["2_users", "10_orders"])
        let files = try written(plan)
        #expect(files["10_orders"]?.up == "CREATE TABLE orders (id int);\n")
        #expect(files["10_orders"]?.down == "DROP TABLE orders;\n")
        #expect(files["10_orders"]?.parents == ["2_users"])
        #expect(plan.skipped.map(\.source) == ["3_gone.down.sql"])
        #expect(Preflight.problems(applying: Array(files.values)).isEmpty)
    }

    @Test("goose: annotations read and removed, NO TRANSACTION, Go migrations not imported")
    func goose() throws {
        let plan = GooseImport.plan([
            ForeignFile(
                path: "00001_create_users.sql",
                text: """
                    -- +goose Up
                    -- +goose StatementBegin
                    CREATE FUNCTION touch() RETURNS trigger AS $$
                    BEGIN
                      NEW.updated_at = now();
                      RETURN NEW;
                    END;
                    $$ LANGUAGE plpgsql;
                    -- +goose StatementEnd
                    CREATE TABLE users (id int, email text);

                    -- +goose Down
                    DROP TABLE users;
                    DROP FUNCTION touch();

                    """),
            ForeignFile(
                path: "00002_index.sql",
                text: """
                    -- +goose NO TRANSACTION
                    -- +goose Up
                    CREATE INDEX CONCURRENTLY users_email ON users (email);
                    -- +goose Down
                    DROP INDEX CONCURRENTLY users_email;

                    """),
            ForeignFile(path: "00003_backfill.go", text: "package migrations\n"),
        ])
        #expect(plan.revisions.map(\.id) == ["00001_create_users", "00002_index"])
        let files = try written(plan)
        let first = try #require(files["00001_create_users"])
        #expect(!first.up.contains("goose"))
        #expect(first.up.hasPrefix("CREATE FUNCTION touch()"))
        #expect(SQLSplitter.split(first.up).count == 2)
        #expect(first.down == "DROP TABLE users;\nDROP FUNCTION touch();\n")
        #expect(files["00002_index"]?.transactional == false)
        #expect(plan.skipped.map(\.source) == ["00003_backfill.go"])
        #expect(plan.revisions[0].conversions.contains { $0.contains("StatementBegin") })
    }

    @Test("a message with a colon cannot read as a header key")
    func messageWithColon() throws {
        var revision = ImportedRevision(id: "a1", source: "a1.py", message: "parent: fix users", up: "SELECT 1;\n")
        revision.parents = []
        let text = ImportWriter.text(of: revision)
        #expect(text.hasPrefix("-- Message: parent: fix users\n"))
        #expect(try MigrationFile.parse(path: "migrations/a1.sql", bytes: Array(text.utf8)).parents == [])
    }

    @Test("version order: 1.10 after 1.9, 1.0 equals 1, leading zeros ignored")
    func versions() {
        #expect(LinearImport.precedes(["1", "9"], ["1", "10"]))
        #expect(!LinearImport.precedes(["1", "10"], ["1", "9"]))
        #expect(LinearImport.normalized(["1", "0"]) == LinearImport.normalized(["1"]))
        #expect(LinearImport.precedes(["002"], ["10"]))
    }
}
