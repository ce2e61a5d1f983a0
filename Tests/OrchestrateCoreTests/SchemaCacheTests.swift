import Foundation
import Migrations
import Testing

@testable import OrchestrateCore

/// The replayed-schema cache, the drift summary and the text of a generated revision: pure, no database.
@Suite("schema cache and drift wording")
struct SchemaCacheTests {
    static func file(_ id: String, up: String, checksum: String = "c", transactional: Bool = true) -> MigrationFile {
        MigrationFile(
            revision: id, path: "migrations/\(id).sql", parents: [], transactional: transactional, up: up, down: nil,
            upStartLine: 2, downStartLine: nil, checksum: checksum)
    }

    @Test("the key follows what would run: revisions, order, checksums, transaction modes and up SQL, not paths")
    func key() {
        let a = Self.file("001", up: "CREATE TABLE a (id int);")
        let b = Self.file("002", up: "CREATE TABLE b (id int);")
        let base = SchemaCache.key(of: [a, b])
        #expect(base == SchemaCache.key(of: [a, b]))
        #expect(base.count == 64)
        var moved = a
        moved.path = "staging's ledger (revision 001)"
        #expect(SchemaCache.key(of: [moved, b]) == base)
        #expect(SchemaCache.key(of: [b, a]) != base)
        #expect(SchemaCache.key(of: [a]) != base)
        #expect(SchemaCache.key(of: []) != base)
        var edited = a
        edited.up = "CREATE TABLE a (id bigint);"
        #expect(SchemaCache.key(of: [edited, b]) != base)
        var checksum = a
        checksum.checksum = "d"
        #expect(SchemaCache.key(of: [checksum, b]) != base)
        var mode = a
        mode.transactional = false
        #expect(SchemaCache.key(of: [mode, b]) != base)
    }

    @Test("store and load: a hit, a miss, and entries that cannot be trusted are unusable with the reason")
    func storeAndLoad() throws {
        let root = NSTemporaryDirectory() + "schema-cache-" + UUID().uuidString.prefix(8)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cache = SchemaCache(projectRoot: root)
        let key = SchemaCache.key(of: [Self.file("001", up: "CREATE TABLE a (id int);")])
        guard case .miss = cache.load(key: key) else {
            Issue.record("expected a miss")
            return
        }
        var model = SchemaModel()
        model.schemas["public"] = .init(name: "public")
        model.tables["public.a"] = .init(schema: "public", name: "a", columns: [.init(name: "id", type: "integer")])
        #expect(cache.store(model, key: key, revisions: ["001"]) == nil)
        #expect(cache.path(key: key).hasSuffix("/.orchestrate/cache/schema-\(key.prefix(32)).json"))
        guard case .hit(let loaded) = cache.load(key: key) else {
            Issue.record("expected a hit")
            return
        }
        #expect(loaded == model)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: cache.directory) == ["schema-\(key.prefix(32)).json"])

        let good = try String(contentsOfFile: cache.path(key: key), encoding: .utf8)
        for (text, reason) in [
            ("", "not valid JSON"), ("{\"format\":1,", "not valid JSON"),
            ("{\"format\":2,\"key\":\"\(key)\"}", "its format is 2, not 1"),
            ("{\"key\":\"\(key)\"}", "its format is missing"),
            ("{\"format\":1,\"key\":\"other\"}", "its key does not match"),
            ("{\"format\":1,\"key\":\"\(key)\",\"model\":7}", "its schema cannot be decoded"),
            (good.replacingOccurrences(of: "\"tables\"", with: "\"tablez\""), "its schema cannot be decoded"),
        ] {
            try text.write(toFile: cache.path(key: key), atomically: true, encoding: .utf8)
            guard case .unusable(let why) = cache.load(key: key) else {
                Issue.record("expected \(text) to be unusable")
                continue
            }
            #expect(why.contains(reason), "\(text): \(why)")
        }
    }

    @Test("the cache keeps the most recently written entries only")
    func pruned() throws {
        let root = NSTemporaryDirectory() + "schema-cache-" + UUID().uuidString.prefix(8)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cache = SchemaCache(projectRoot: root)
        var keys: [String] = []
        for index in 0..<(SchemaCache.keptEntries + 3) {
            let key = SchemaCache.key(of: [Self.file("\(index)", up: "SELECT \(index);")])
            keys.append(key)
            #expect(cache.store(SchemaModel(), key: key, revisions: ["\(index)"]) == nil)
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: cache.directory)
        #expect(left.count == SchemaCache.keptEntries)
        guard case .hit = cache.load(key: keys.last ?? "") else {
            Issue.record("the newest entry was removed")
            return
        }
        guard case .miss = cache.load(key: keys.first ?? "") else {
            Issue.record("the oldest entry was kept")
            return
        }
    }

    @Test("status --drift's line: none, drift with the count and the command, unknown with its cause")
    func summaryWording() {
        #expect(SchemaDriftSummary(environment: "staging", state: .none).description == "no schema drift")
        #expect(
            SchemaDriftSummary(environment: "staging", state: .drift, objects: ["a", "b"]).description
                == "schema drift: 2 objects differ (run orchestrate diff staging)")
        #expect(
            SchemaDriftSummary(environment: "qa", state: .drift, objects: ["a"]).description
                == "schema drift: 1 object differs (run orchestrate diff qa)")
        #expect(
            SchemaDriftSummary(environment: "qa", state: .unknown, cause: "cannot connect").description
                == "unknown: cannot connect")
        let report = DriftReport(
            environment: "qa", database: "db", applied: [],
            replay: ReplaySource(cached: true, cacheFile: nil, scratch: nil, revisions: 0),
            changes: [
                SchemaChange(
                    object: "column public.t.c", action: .drop, sql: ["ALTER TABLE public.t DROP COLUMN c;"],
                    destroysData: true),
                SchemaChange(object: "column public.t.c", action: .create, sql: ["ALTER TABLE public.t ADD c int;"]),
            ])
        #expect(report.drifted && report.objects == ["column public.t.c"] && report.destructiveChanges == 1)
        #expect(report.summary.description == "schema drift: 1 object differs (run orchestrate diff qa)")
    }

    @Test(
        "a generated revision: each change under its comment, DESTROYS DATA, notes and what cannot be generated as comments"
    )
    func generatedSections() throws {
        let changes = [
            SchemaChange(object: "table public.posts", action: .create, sql: ["CREATE TABLE public.posts (id int);"]),
            SchemaChange(
                object: "column public.users.email", action: .drop,
                sql: ["ALTER TABLE public.users DROP COLUMN email;"], destroysData: true,
                note: "renames are not guessed:\nmigrate:down a dropped and an added column"),
            SchemaChange(object: "aggregate public.total(integer)", action: .create, sql: []),
        ]
        let (up, down) = Authoring.autogeneratedSections(
            message: "add posts", source: "schema.sql", up: changes, down: [])
        #expect(
            up.hasPrefix(
                "-- add posts\n-- Generated by orchestrate new from schema.sql: 3 change(s), 1 destroying data."))
        #expect(up.contains("-- creates table public.posts\nCREATE TABLE public.posts (id int);\n"))
        #expect(
            up.contains(
                "-- drops column public.users.email\n-- DESTROYS DATA: drops column public.users.email\n-- note: renames are not guessed:\n-- Message: migrate:down a dropped and an added column\nALTER TABLE public.users DROP COLUMN email;\n"
            ), "\(up)")
        #expect(up.contains("-- NOT GENERATED: orchestrate cannot write SQL for this object; write it by hand\n"))
        #expect(down == "")
        // What is rendered parses back to the same sections.
        let text = MigrationFile.render(parents: ["001"], transactional: true, up: up, down: down)
        let parsed = try MigrationFile.parse(path: "migrations/002_x.sql", bytes: Array(text.utf8))
        #expect(parsed.up == up && parsed.down == down)
    }

    @Test("other tools' tables, and what hangs on them, are left out of a model; a table merely named alike is kept")
    func foreignTablesLeftOut() {
        var model = SchemaModel()
        model.tables["public.alembic_version"] = .init(schema: "public", name: "alembic_version")
        model.tables["public.alembic_version_notes"] = .init(schema: "public", name: "alembic_version_notes")
        model.tables["app.flyway_schema_history"] = .init(schema: "app", name: "flyway_schema_history")
        model.indexes["public.alembic_version_idx"] = .init(
            schema: "public", name: "alembic_version_idx", table: "public.alembic_version", definition: "CREATE INDEX")
        model.sequences["public.alembic_version_id_seq"] = .init(
            schema: "public", name: "alembic_version_id_seq", ownedBy: "public.alembic_version.id")
        let kept = model.removingForeignTables([
            ForeignLedger(tool: .alembic, table: "alembic_version", versions: ["abc"]),
            ForeignLedger(tool: .flyway, table: "app.flyway_schema_history", versions: ["1"]),
        ])
        #expect(Set(kept.tables.keys) == ["public.alembic_version_notes"])
        #expect(kept.indexes.isEmpty && kept.sequences.isEmpty)
        #expect(model.removingForeignTables([]) == model)
    }
}
