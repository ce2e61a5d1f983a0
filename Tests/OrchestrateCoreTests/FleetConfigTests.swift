import Foundation
import Testing

@testable import OrchestrateCore

/// The fleet keys of an environment file, target selection and schema targets' ledgers: pure, no database.
@Suite("fleet config")
struct FleetConfigTests {
    let expander = VariableExpander(environment: ["TENANT_HOST": "db.internal"], dotEnv: [:])

    func parse(_ text: String) throws(OrchestrateError) -> EnvironmentConfig {
        try EnvironmentConfig.parse(name: "prod", path: "environments/prod.toml", text: text, expander: expander)
    }

    /// The error `text` gives; fails the test when it parses.
    func failure(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> OrchestrateError? {
        do {
            _ = try parse(text)
            Issue.record("expected an error", sourceLocation: sourceLocation)
            return nil
        } catch {
            #expect(error.category == .usage, sourceLocation: sourceLocation)
            return error
        }
    }

    @Test("targets: URLs named after their database, tables with name/url/schema, defaults")
    func targetsList() throws {
        let config = try parse(
            """
            targets = [
              "postgresql://deploy:s3cret@${TENANT_HOST}/tenant_a",
              { name = "b", url = "host=db.internal dbname=tenant_b" },
              { schema = "acme" },
            ]
            database_url = "postgresql://db.internal/shared"
            """)
        let fleet = try #require(config.fleet)
        #expect(fleet.parallel == 4 && fleet.canary == 0 && fleet.onError == .stop)
        guard case .list(let entries) = fleet.source else { Issue.record("not a list"); return }
        #expect(entries.map(\.name) == ["tenant_a", "b", "acme"])
        #expect(entries.map(\.schema) == [nil, nil, "acme"])
        #expect(entries[0].url == "postgresql://deploy:s3cret@db.internal/tenant_a")
        #expect(entries[2].url == nil)
        #expect(entries[1].origin == "environments/prod.toml:3: `targets` entry 2")
        // Nothing in a target's description or display form is secret.
        let target = FleetTarget(name: "tenant_a", conninfo: entries[0].url!, schema: nil)
        #expect(!"\(target)".contains("s3cret") && !target.display.contains("s3cret"))
    }

    @Test("targets without database_url; [[targets]] tables; parallel, canary, on_error")
    func optionalDatabaseURL() throws {
        let config = try parse(
            """
            parallel = 8
            canary = 2
            on_error = "continue"

            [[targets]]
            name = "eu"
            url = "postgresql://eu.example/app"

            [[targets]]
            name = "us"
            url = "postgresql://us.example/app"
            """)
        #expect(config.databaseURL.isEmpty)
        #expect(config.fleet?.parallel == 8 && config.fleet?.canary == 2 && config.fleet?.onError == .continue)
        let error = failure(
            """
            [[targets]]
            name = "eu"
            url = "postgresql://eu.example/app"

            [[targets]]
            name = "eu"
            url = "postgresql://us.example/app"
            """)
        #expect(error?.message.contains("environments/prod.toml:5: `targets` entry 2") == true)
        #expect(error?.message.contains("also the name of `targets` entry 1") == true)
    }

    @Test("every bad fleet key is an error naming the file, line, key or entry")
    func badFleetKeys() {
        let cases: [(String, String)] = [
            ("targets = []\n", "prod.toml:1: `targets` is empty"),
            ("targets = \"postgresql://h/a\"\n", "`targets` must be a array"),
            ("targets = [1]\n", "`targets` entry 1 must be a URL string or a"),
            ("targets = [\"postgresql://h/a\", \"postgresql://h2/a\"]\n", "the target name `a` is also the name"),
            (
                "targets = [\"postgresql://h/a\", { name = \"b\", url = \"postgresql://h/a\" }]\n",
                "is the same database as `a`"
            ),
            ("targets = [\"postgresql://h\"]\n", "its URL names no database that can be a target name"),
            ("targets = [\"postgresql://h/a b\"]\n", "its URL names no database that can be a target name"),
            ("targets = [\"postgresq://u:pw@h/a\"]\n", "`targets` entry 1 is not a connection string libpq can parse"),
            (
                "targets = [{ name = \"a\", url = \"postgresql://h/a\", shema = \"x\" }]\n",
                "entry 1: unknown key `shema`"
            ),
            ("targets = [{ name = \"a\" }]\n", "entry 1 has no `url`, and `database_url` is not set"),
            ("targets = [{ name = \"-a\", url = \"postgresql://h/a\" }]\n", "entry 1: `name` must be 1 to 63 bytes"),
            ("targets = [{ name = 3, url = \"postgresql://h/a\" }]\n", "entry 1: `name` must be a string"),
            ("database_url = \"postgresql://h/a\"\ntargets = [{ schema = \"pg_catalog\" }]\n", "names a system schema"),
            ("database_url = \"postgresql://h/a\"\ntargets = [{ schema = \"\" }]\n", "`schema` must be 1 to 63 bytes"),
            (
                "database_url = \"postgresql://h/a\"\ntargets = [{ schema = \"x\", name = \"a\" }, { schema = \"x\", name = \"b\" }]\n",
                "same database and schema as `a`"
            ),
            (
                "database_url = \"postgresql://h/a\"\ntargets = [{ schema = \"t\" }, { schema = \"orchestrate_t\" }]\n",
                "keeps its ledger in schema `orchestrate_t`, which is another target's schema"
            ),
            (
                "targets = [\"postgresql://h/a\"]\ntargets_query = \"SELECT 1\"\n",
                "prod.toml:2: `targets` and `targets_query` are both set"
            ),
            (
                "targets_query = \"SELECT name, url, schema FROM t\"\n",
                "`targets_query` runs on `database_url`, which is not set"
            ),
            ("database_url = \"postgresql://h/a\"\ntargets_query = \"  \"\n", "prod.toml:2: `targets_query` is empty"),
            ("database_url = \"postgresql://h/a\"\nparallel = 4\n", "prod.toml:2: `parallel` is for fleets"),
            (
                "targets = [\"postgresql://h/a\"]\nparallel = 0\n",
                "prod.toml:2: `parallel` must be a whole number from 1 to 64"
            ),
            ("targets = [\"postgresql://h/a\"]\nparallel = 65\n", "`parallel` must be a whole number from 1 to 64"),
            ("targets = [\"postgresql://h/a\"]\ncanary = -1\n", "`canary` is out of range"),
            (
                "targets = [\"postgresql://h/a\"]\non_error = \"ignore\"\n",
                "prod.toml:2: `on_error` must be \"stop\" or \"continue\""
            ),
            ("targets = [\"postgresql://h/a\"]\ntargetz = 1\n", "unknown key `targetz`"),
            ("promotes_from = \"dev\"\n", "missing required key `database_url`"),
        ]
        for (text, expected) in cases {
            let error = failure(text)
            #expect(error?.message.contains(expected) == true, "\(text) gave: \(error?.message ?? "nothing")")
            #expect(error?.description.contains("pw") != true)
        }
    }

    @Test("session_settings: dotted names, nested tables, numbers and booleans; bad names and reserved ones refused")
    func sessionSettings() throws {
        let config = try parse(
            """
            database_url = "postgresql://h/a"

            [session_settings]
            "citus.multi_shard_modify_mode" = "sequential"
            work_mem = "64MB"
            jit = false
            extra_float_digits = 2
            pg_trgm.similarity_threshold = 0.5
            """)
        #expect(
            config.sessionSettings.map { "\($0.name)=\($0.value)" } == [
                "citus.multi_shard_modify_mode=sequential", "extra_float_digits=2", "jit=off",
                "pg_trgm.similarity_threshold=0.5", "work_mem=64MB",
            ])
        let cases: [(String, String)] = [
            ("[session_settings]\n\"work mem\" = \"1\"\n", "`work mem` is not a PostgreSQL setting name"),
            ("[session_settings]\n\"x; DROP TABLE t\" = \"1\"\n", "is not a PostgreSQL setting name"),
            ("[session_settings]\nlock_timeout = \"1s\"\n", "`lock_timeout` is set by orchestrate itself"),
            ("[session_settings]\napplication_name = \"x\"\n", "`application_name` is set by orchestrate itself"),
            ("[session_settings]\nwork_mem = [1]\n", "`work_mem` must be a string, number or boolean"),
            ("session_settings = \"work_mem=1\"\n", "`session_settings` must be a table"),
        ]
        for (text, expected) in cases {
            let error = failure("database_url = \"postgresql://h/a\"\n" + text)
            #expect(error?.message.contains(expected) == true, "\(text) gave: \(error?.message ?? "nothing")")
            #expect(error?.message.contains("environments/prod.toml:") == true)
        }
    }

    @Test("a schema target's ledger: next to its schema, within 63 bytes, unique; its own lock")
    func schemaLedger() throws {
        #expect(FleetConfig.ledgerSchema(base: "orchestrate", tenantSchema: "tenant_7") == "orchestrate_tenant_7")
        let long = String(repeating: "t", count: 60)
        let a = FleetConfig.ledgerSchema(base: "orchestrate", tenantSchema: long + "a")
        let b = FleetConfig.ledgerSchema(base: "orchestrate", tenantSchema: long + "b")
        #expect(a.utf8.count <= 63 && b.utf8.count <= 63 && a != b)
        #expect(a == FleetConfig.ledgerSchema(base: "orchestrate", tenantSchema: long + "a"))
        let accented = FleetConfig.ledgerSchema(base: "orchestrate", tenantSchema: String(repeating: "é", count: 30))
        #expect(accented.utf8.count <= 63)
        let config = try parse("database_url = \"postgresql://h/app\"\ntargets = [{ schema = \"tenant_7\" }]\n")
        let target = FleetTarget(name: "tenant_7", conninfo: config.databaseURL, schema: "tenant_7")
        let one = config.forTarget(target)
        #expect(one.ledgerSchema == "orchestrate_tenant_7" && one.fleet == nil && one.singleConnection)
        #expect(one.sessionSettings.last == SessionSetting(name: "search_path", value: "\"tenant_7\""))
        #expect(EnvironmentLock.key(schema: one.ledgerSchema) != EnvironmentLock.key(schema: config.ledgerSchema))
        #expect(EnvironmentConfig.quotedIdentifier("we\"ird") == "\"we\"\"ird\"")
    }

    func targets(_ names: [String]) -> [FleetTarget] {
        names.map { FleetTarget(name: $0, conninfo: "postgresql://h/\($0)", schema: nil) }
    }

    @Test("--shard I/N: 0-based, a partition, stable when targets are added; out of range refused with the rule")
    func shards() throws {
        let fleet = targets((0..<200).map { "tenant_\($0)" })
        var seen: [String] = []
        for index in 0..<4 {
            let shard = try TargetSelection.Shard(parsing: "\(index)/4")
            let part = try TargetSelection(shard: shard).select(fleet, environment: "prod")
            #expect(part.count > 20, "shard \(index) has \(part.count)")
            seen += part.map(\.name)
        }
        #expect(seen.sorted() == fleet.map(\.name).sorted())
        // Adding targets moves none of the others.
        let bigger = targets((0..<300).map { "tenant_\($0)" })
        for index in 0..<4 {
            let shard = try TargetSelection.Shard(parsing: "\(index)/4")
            let before = try TargetSelection(shard: shard).select(fleet, environment: "prod").map(\.name)
            let after = try TargetSelection(shard: shard).select(bigger, environment: "prod").map(\.name)
            #expect(Array(after.prefix(before.count)) == before)
        }
        for bad in ["4/4", "-1/4", "1/0", "1", "a/b", "1/2/3", "0/10001"] {
            do {
                _ = try TargetSelection.Shard(parsing: bad)
                Issue.record("\(bad) was accepted")
            } catch {
                #expect(error.category == .usage)
                #expect(error.hint?.contains("0-based") == true)
            }
        }
    }

    @Test("--target: in the fleet's order; an unknown name lists the near names; not with --shard")
    func targetNames() throws {
        let fleet = targets(["tenant_1", "tenant_2", "tenant_10", "other"])
        let picked = try TargetSelection(names: ["tenant_10", "tenant_1"]).select(fleet, environment: "prod")
        #expect(picked.map(\.name) == ["tenant_1", "tenant_10"])
        do {
            _ = try TargetSelection(names: ["tenant_3"]).select(fleet, environment: "prod")
            Issue.record("accepted")
        } catch {
            #expect(error.message.contains("environment `prod` has no target `tenant_3`"))
            #expect(error.message.contains("`tenant_1`") && error.message.contains("`tenant_2`"))
            #expect(!error.message.contains("`other`"))
        }
        #expect(throws: OrchestrateError.self) {
            try TargetSelection(names: ["tenant_1"], shard: try .init(parsing: "0/2")).select(fleet, environment: "p")
        }
    }

    @Test("targets_query rows: NULL url is database_url, every bad row named")
    func queryRows() throws {
        let place = "environments/prod.toml:2: `targets_query`"
        let entries = try FleetTargets.entries(
            columns: ["name", "url", "schema"], rows: [["a", nil, "a"], ["b", "postgresql://h/b", nil]], place: place)
        #expect(entries.map(\.name) == ["a", "b"] && entries[0].url == nil && entries[1].schema == nil)
        let cases: [([String], [[String?]], String)] = [
            (["name", "url"], [["a", nil]], "returns no column `schema`"),
            (["name", "url", "schema"], [], "returns no rows"),
            (["name", "url", "schema"], [["a", nil, "a"], [nil, nil, "b"]], "row 2: `name` is NULL"),
            (["name", "url", "schema"], [["a b", nil, "a"]], "row 1: the name `a b` is not"),
            (
                ["name", "url", "schema"], [["a", "postgresq://u:pw@h/x", nil]],
                "row 1 (`a`): `url` is not a connection"
            ),
            (["name", "url", "schema"], [["a", nil, "pg_toast"]], "row 1 (`a`): `schema` names a system schema"),
        ]
        for (columns, rows, expected) in cases {
            do {
                _ = try FleetTargets.entries(columns: columns, rows: rows, place: place)
                Issue.record("accepted: \(expected)")
            } catch {
                #expect(error.message.contains(expected), "\(error.message)")
                #expect(!error.description.contains("pw"))
            }
        }
        let duplicate = try FleetTargets.entries(
            columns: ["name", "url", "schema"], rows: [["a", nil, "a"], ["a", nil, "b"]], place: place)
        #expect(throws: OrchestrateError.self) {
            try FleetConfig.checkUnique(duplicate, ledgerSchema: "orchestrate", path: "environments/prod.toml")
        }
    }

    static func row(_ revision: String, checksum: String = "c") -> AppliedRevision {
        AppliedRevision(
            revision: revision, parents: [], checksum: checksum, transactional: true, state: .applied,
            statementsDone: nil, statementsTotal: nil, appliedAt: "2026-01-01T00:00:00Z", databaseUser: "app",
            osUser: nil, host: nil, gitCommit: nil, gitBranch: nil, gitDirty: nil, durationMilliseconds: nil,
            promotedFrom: nil, isReversible: true)
    }

    @Test("a source fleet runs what every target runs with the same checksum; the rest is named and refused with --to")
    func sourceFleet() {
        var warnings: [String] = []
        let state = FleetSourceState(
            targets: ["s1", "s2", "s3"],
            rows: [
                [Self.row("a"), Self.row("b"), Self.row("c"), Self.row("d")],
                [Self.row("a"), Self.row("b"), Self.row("d", checksum: "other")],
                [Self.row("a"), Self.row("b"), Self.row("d")],
            ], warn: { warnings.append($0) })
        #expect(state.running.map(\.revision) == ["a", "b"])
        #expect(state.missing["c"] == ["s2", "s3"])
        #expect(state.missing["d"] == [])
        #expect(warnings.contains("revision c runs on 1 of 3 source targets (not on `s2`, `s3`); it is not promoted"))
        #expect(warnings.contains { $0.contains("revision d runs with different checksums") })
        #expect(throws: OrchestrateError.self) { try state.refuseMissing("c", source: "staging", destination: "prod") }
        #expect(throws: Never.self) { try state.refuseMissing("a", source: "staging", destination: "prod") }
        // A target with no ledger runs nothing: nothing is common.
        let empty = FleetSourceState(targets: ["s1", "s2"], rows: [[Self.row("a")], []], warn: { _ in })
        #expect(empty.running.isEmpty)
    }
}
