import Foundation
import Migrations
import Testing

@testable import OrchestrateCore

/// `orchestrate import alembic` from literal Alembic output (as Alembic 1.20 prints it): no Python, no database.
@Suite("import: alembic output")
struct ImportAlembicTests {
    static let upgrade = """
        BEGIN;

        CREATE TABLE alembic_version (
            version_num VARCHAR(32) NOT NULL, 
            CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
        );

        -- Running upgrade  -> a1

        CREATE TABLE users (
            id SERIAL NOT NULL, 
            email TEXT, 
            PRIMARY KEY (id)
        );

        INSERT INTO alembic_version (version_num) VALUES ('a1') RETURNING alembic_version.version_num;

        -- Running upgrade  -> b1

        CREATE TABLE other (id int);

        INSERT INTO alembic_version (version_num) VALUES ('b1') RETURNING alembic_version.version_num;

        -- Running upgrade a1, b1 -> m1

        DELETE FROM alembic_version WHERE alembic_version.version_num = 'a1';

        UPDATE alembic_version SET version_num='m1' WHERE alembic_version.version_num = 'b1';

        -- Running upgrade m1 -> d1

        ALTER TABLE users ADD COLUMN note TEXT;

        COMMIT;

        CREATE INDEX CONCURRENTLY users_email ON users (email);

        BEGIN;

        UPDATE alembic_version SET version_num='d1' WHERE alembic_version.version_num = 'm1';

        COMMIT;

        """

    static let downgrade = """
        BEGIN;

        -- Running downgrade d1 -> m1

        COMMIT;

        DROP INDEX CONCURRENTLY users_email;

        BEGIN;

        ALTER TABLE users DROP COLUMN note;

        UPDATE alembic_version SET version_num='m1' WHERE alembic_version.version_num = 'd1';

        -- Running downgrade m1 -> a1, b1

        INSERT INTO alembic_version (version_num) VALUES ('b1') RETURNING alembic_version.version_num;

        UPDATE alembic_version SET version_num='a1' WHERE alembic_version.version_num = 'm1';

        -- Running downgrade a1 -> 

        DROP TABLE users;

        DELETE FROM alembic_version WHERE alembic_version.version_num = 'a1';

        -- Running downgrade b1 -> 

        DROP TABLE other;

        DELETE FROM alembic_version WHERE alembic_version.version_num = 'b1';

        COMMIT;

        """

    @Test("sections split at Alembic's Running lines, bookkeeping removed, an autocommit block detected")
    func sections() {
        let up = AlembicOfflineSQL.sections(Self.upgrade, direction: .upgrade)
        #expect(Set(up.keys) == ["a1", "b1", "m1", "d1"])
        #expect(up["b1"] == .init(sql: "CREATE TABLE other (id int);\n", autocommit: false))
        #expect(up["m1"]?.sql == "")
        #expect(up["a1"]?.sql.hasPrefix("CREATE TABLE users (") == true)
        #expect(up["a1"]?.sql.contains("alembic_version") == false)
        #expect(
            up["d1"]
                == .init(
                    sql:
                        "ALTER TABLE users ADD COLUMN note TEXT;\n\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n",
                    autocommit: true))
        let down = AlembicOfflineSQL.sections(Self.downgrade, direction: .downgrade)
        #expect(
            down["d1"]
                == .init(
                    sql: "DROP INDEX CONCURRENTLY users_email;\n\nALTER TABLE users DROP COLUMN note;\n",
                    autocommit: true))
        #expect(down["a1"] == .init(sql: "DROP TABLE users;\n", autocommit: false))
        #expect(down["m1"]?.sql == "")
    }

    @Test("a transaction per migration (COMMIT then BEGIN with nothing between) is no autocommit block")
    func transactionPerMigration() {
        let output =
            "-- Running upgrade  -> a1\n\nCREATE TABLE t (id int);\n\nINSERT INTO alembic_version (version_num) VALUES ('a1');\n\nCOMMIT;\n\nBEGIN;\n\n-- Running upgrade a1 -> b1\n\nSELECT 1;\n\nCOMMIT;\n"
        let sections = AlembicOfflineSQL.sections(output, direction: .upgrade)
        #expect(sections["a1"] == .init(sql: "CREATE TABLE t (id int);\n", autocommit: false))
        #expect(sections["b1"] == .init(sql: "SELECT 1;\n", autocommit: false))
    }

    @Test(
        "the graph keeps merges, several bases, depends_on as a parent and branch labels; a failed revision refuses to apply"
    )
    func plan() throws {
        let json = """
            [{"revision": "a1", "down": [], "depends_on": [], "branch_labels": [], "message": "create users", "path": "/p/versions/a1.py"},
             {"revision": "b1", "down": [], "depends_on": [], "branch_labels": ["other"], "message": "branch b", "path": "/p/versions/b1.py"},
             {"revision": "m1", "down": ["a1", "b1"], "depends_on": [], "branch_labels": [], "message": "merge: both", "path": "/p/versions/m1.py"},
             {"revision": "d1", "down": ["m1"], "depends_on": ["b1"], "branch_labels": [], "message": "with dep", "path": "/p/versions/d1.py"},
             {"revision": "e1", "down": ["d1"], "depends_on": [], "branch_labels": [], "message": "data", "path": "/p/versions/e1.py"}]
            """
        let revisions = try AlembicImport.revisions(fromJSON: json)
        var up = AlembicOfflineSQL.sections(Self.upgrade, direction: .upgrade).mapValues {
            Result<AlembicOfflineSQL.Section, AlembicImport.AlembicFailure>.success($0)
        }
        up["e1"] = .failure(.init(message: "AttributeError: 'NoneType' object has no attribute 'fetchall'"))
        let down = AlembicOfflineSQL.sections(Self.downgrade, direction: .downgrade).mapValues {
            Result<AlembicOfflineSQL.Section, AlembicImport.AlembicFailure>.success($0)
        }
        let plan = AlembicImport.plan(revisions, offline: .init(up: up, down: down))
        var files: [String: MigrationFile] = [:]
        var texts: [String: String] = [:]
        for (path, text) in try ImportWriter.files(for: plan) {
            let file = try MigrationFile.parse(path: path, bytes: Array(text.utf8))
            files[file.revision] = file
            texts[file.revision] = text
        }
        #expect(files["a1"]?.parents == [])
        #expect(files["b1"]?.parents == [])
        #expect(files["m1"]?.parents == ["a1", "b1"])
        #expect(files["d1"]?.parents == ["m1"])  // b1 is already below m1: no extra edge
        #expect(plan.revisions[3].conversions.contains { $0.contains("already below its parents") })
        #expect(files["d1"]?.transactional == false)
        #expect(files["m1"]?.isUnwritten == false)
        #expect(texts["m1"]?.hasPrefix("-- Message: merge: both\n") == true)
        #expect(texts["b1"]?.contains("-- Alembic branch labels: other\n") == true)
        #expect(files["e1"]?.isUnwritten == true)
        #expect(files["e1"]?.down == nil)
        #expect(plan.revisions.last?.toFillIn?.contains("fetchall") == true)
        #expect(Preflight.problems(applying: ["a1", "b1", "m1", "d1"].compactMap { files[$0] }).isEmpty)
    }

    @Test("depends_on a revision outside the parents' line becomes a parent")
    func dependsOn() throws {
        let revisions = [
            AlembicImport.Revision(revision: "a1", down: [], dependsOn: [], branchLabels: [], message: "a", path: ""),
            AlembicImport.Revision(revision: "b1", down: [], dependsOn: [], branchLabels: [], message: "b", path: ""),
            AlembicImport.Revision(
                revision: "c1", down: ["a1"], dependsOn: ["b1"], branchLabels: [], message: "c", path: ""),
        ]
        let section = Result<AlembicOfflineSQL.Section, AlembicImport.AlembicFailure>.success(
            .init(sql: "SELECT 1;\n", autocommit: false))
        let plan = AlembicImport.plan(
            revisions,
            offline: .init(
                up: ["a1": section, "b1": section, "c1": section],
                down: ["a1": section, "b1": section, "c1": section]))
        #expect(plan.revisions[2].parents == ["a1", "b1"])
        #expect(ImportWriter.text(of: plan.revisions[2]).contains("-- Alembic depends_on: b1"))
    }
}
