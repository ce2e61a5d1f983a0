import Foundation
import Testing

@testable import OrchestrateCore

@Suite("config")
struct ConfigTests {
    let empty = VariableExpander(environment: [:], dotEnv: [:])

    @Test("dotenv: export, quotes, comments, escapes, multi-line values")
    func dotEnv() throws {
        let values = try DotEnv.parse(
            """
            # comment
            export A=plain value # trailing comment
            B='single # not a comment'
            C="line1\\nline2 \\"quoted\\""
            D="spans
            two lines"
            E=
              F = spaced

            """, path: ".env")
        #expect(values["A"] == "plain value")
        #expect(values["B"] == "single # not a comment")
        #expect(values["C"] == "line1\nline2 \"quoted\"")
        #expect(values["D"] == "spans\ntwo lines")
        #expect(values["E"] == "")
        #expect(values["F"] == "spaced")
        #expect(throws: OrchestrateError.self) { try DotEnv.parse("JUSTAWORD\n", path: ".env") }
        do {
            _ = try DotEnv.parse("A=1\nB=\"unterminated\n", path: ".env")
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains(".env:2"))
        }
    }

    @Test("${VAR} and ${VAR:-default}: process environment first, then .env; missing names the variable")
    func expansion() throws {
        let expander = VariableExpander(
            environment: ["HOST": "db.prod", "EMPTY": ""], dotEnv: ["HOST": "ignored", "USER": "deploy"])
        #expect(
            try expander.expand("postgresql://${USER}@${HOST}/app", file: "f", key: "k")
                == "postgresql://deploy@db.prod/app")
        #expect(try expander.expand("${MISSING:-sandbox:app}", file: "f", key: "k") == "sandbox:app")
        #expect(try expander.expand("${EMPTY:-fallback}", file: "f", key: "k") == "fallback")
        #expect(try expander.expand("cost $$5 and $HOME", file: "f", key: "k") == "cost $5 and $HOME")
        do {
            _ = try expander.expand("${NOT_SET}", file: "environments/dev.toml:3", key: "database_url")
            Issue.record("expected an error")
        } catch {
            #expect(error.category == .usage)
            #expect(error.message.contains("environments/dev.toml:3"))
            #expect(error.message.contains("NOT_SET"))
            #expect(error.hint?.contains(".env") == true)
        }
        #expect(throws: OrchestrateError.self) { try expander.expand("${UNTERMINATED", file: "f", key: "k") }
        #expect(throws: OrchestrateError.self) { try expander.expand("${bad name}", file: "f", key: "k") }
    }

    @Test("environment files: defaults, every key, strict keys and types with file:line")
    func environmentFile() throws {
        let config = try EnvironmentConfig.parse(
            name: "staging", path: "environments/staging.toml",
            text: """
                database_url = "host=/tmp port=5432"
                promotes_from = "dev"
                branch = "main"
                protected = true
                lock_timeout = "2m"
                ddl_lock_timeout = "500ms"
                ddl_lock_retries = 7
                statement_timeout = 30
                ledger_schema = "ops"
                transaction = "all"
                """, expander: empty)
        #expect(config.promotesFrom == "dev")
        #expect(config.branch == "main")
        #expect(config.isProtected)
        #expect(config.lockTimeout.milliseconds == 120_000)
        #expect(config.ddlLockTimeout.milliseconds == 500)
        #expect(config.ddlLockRetries == 7)
        #expect(config.statementTimeout.milliseconds == 30_000)
        #expect(config.ledgerSchema == "ops")
        #expect(config.transactionMode == .all)

        let minimal = try EnvironmentConfig.parse(name: "dev", path: "d", text: "database_url = 'x'", expander: empty)
        #expect(minimal.promotesFrom == nil && !minimal.isProtected && minimal.ledgerSchema == "orchestrate")
        #expect(minimal.lockTimeout.milliseconds == 60_000 && minimal.ddlLockTimeout.milliseconds == 5000)

        func failure(_ text: String) -> OrchestrateError? {
            do {
                _ = try EnvironmentConfig.parse(name: "dev", path: "environments/dev.toml", text: text, expander: empty)
            } catch {
                return error
            }
            return nil
        }
        let unknown = failure("database_url = 'x'\n\nprotcted = true\n")
        #expect(unknown?.message == "environments/dev.toml:3: unknown key `protcted`")
        #expect(unknown?.hint?.contains("did you mean `protected`") == true)
        #expect(
            failure("database_url = 'x'\nlock_timeout = true\n")?.message.contains(
                "environments/dev.toml:2: `lock_timeout` must be a duration") == true)
        #expect(failure("database_url = 42\n")?.message.contains("`database_url` must be a string") == true)
        #expect(failure("promotes_from = 'x'\n")?.message.contains("missing required key `database_url`") == true)
        #expect(
            failure("database_url = 'x'\ntransaction = 'sometimes'\n")?.message.contains("environments/dev.toml:2")
                == true)
        #expect(failure("database_url = 'x'\n[extra]\na = 1\n")?.message.contains("unknown table [extra]") == true)
        #expect(failure("database_url = 'x\n")?.message.hasPrefix("environments/dev.toml:1:") == true)
        #expect(
            failure("database_url = 'x'\npromotes_from = 'dev'\n")?.message.contains("cannot promote from itself")
                == true)
    }

    @Test("durations")
    func durations() {
        #expect(TimeSpan(parsing: "1.5s")?.milliseconds == 1500)
        #expect(TimeSpan(parsing: "1h")?.milliseconds == 3_600_000)
        #expect(TimeSpan(parsing: "10")?.milliseconds == 10_000)
        #expect(TimeSpan(parsing: "-1s") == nil)
        #expect(TimeSpan(parsing: "5 parsecs") == nil)
        #expect(TimeSpan(milliseconds: 120_000).description == "2m")
    }

    func environment(_ name: String, from source: String?) -> EnvironmentConfig {
        EnvironmentConfig(
            name: name, path: "environments/\(name).toml", databaseURL: "x", promotesFrom: source, branch: nil,
            isProtected: false, lockTimeout: .seconds(1), ddlLockTimeout: .seconds(1), ddlLockRetries: 0,
            statementTimeout: .seconds(0), connectRetries: 0, ledgerSchema: "orchestrate", transactionMode: .revision)
    }

    @Test("pipeline: order, first stages, unknown source, cycles")
    func pipeline() throws {
        let pipeline = try Pipeline([
            environment("production", from: "staging"), environment("dev", from: nil),
            environment("staging", from: "dev"), environment("qa", from: "dev"),
        ])
        #expect(pipeline.order == ["dev", "qa", "staging", "production"])
        #expect(pipeline.isFirstStage("dev") && !pipeline.isFirstStage("staging"))
        #expect(pipeline.targets(of: "dev") == ["qa", "staging"])
        #expect(throws: OrchestrateError.self) { try Pipeline([environment("staging", from: "nope")]) }
        do {
            _ = try Pipeline([environment("a", from: "b"), environment("b", from: "a")])
            Issue.record("expected a cycle")
        } catch {
            #expect(error.message.contains("cycle: a -> b -> a"))
        }
    }

    @Test("the project root is found by walking up; errors say how to fix it")
    func projectRoot() throws {
        let root = NSTemporaryDirectory() + "orch-root-" + UUID().uuidString.prefix(6)
        try FileManager.default.createDirectory(atPath: root + "/environments", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/a/b/c", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let resolvedRoot = URL(fileURLWithPath: root).standardizedFileURL.path
        #expect(try Project.locateRoot(from: root + "/a/b/c", explicit: nil) == resolvedRoot)
        #expect(try Project.locateRoot(from: "/", explicit: root) == resolvedRoot)
        #expect(throws: OrchestrateError.self) { try Project.locateRoot(from: root + "/a", explicit: "b") }
    }
}
