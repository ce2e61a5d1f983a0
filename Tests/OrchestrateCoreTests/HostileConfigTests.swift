import Foundation
import Testing

@testable import OrchestrateCore

/// Environment files written to hurt: numbers out of any range, durations that only look like numbers, secrets in the
/// wrong key, URLs libpq cannot parse. Each is refused with the file, line and key, and never quotes the value.
@Suite("hostile environment files")
struct HostileConfigTests {
    let empty = VariableExpander(environment: [:], dotEnv: [:])

    func failure(_ text: String) -> OrchestrateError? {
        do {
            _ = try EnvironmentConfig.parse(name: "dev", path: "environments/dev.toml", text: text, expander: empty)
        } catch {
            return error
        }
        return nil
    }

    @Test(
        "numbers out of range are refused with file, line, key and the allowed range",
        arguments: [
            (
                "lock_timeout = 9223372036854775807",
                "`lock_timeout` is out of range: it must be from 0 to 24h (86400 seconds)"
            ),
            ("lock_timeout = \"1e300s\"", "`lock_timeout` is not a duration"),
            ("lock_timeout = \"99999999999999999999999h\"", "`lock_timeout` is out of range: it must be from 0 to 24h"),
            ("ddl_lock_timeout = \"9223372036854775807s\"", "`ddl_lock_timeout` is out of range"),
            ("statement_timeout = \"25h\"", "`statement_timeout` is out of range"),
            ("statement_timeout = 86401", "`statement_timeout` is out of range"),
            ("lock_timeout = -1", "`lock_timeout` is out of range"),
            (
                "connect_retries = 9223372036854775807",
                "`connect_retries` is out of range: it must be a whole number from 0 to 100"
            ),
            ("ddl_lock_retries = 101", "`ddl_lock_retries` is out of range: it must be a whole number from 0 to 100"),
            ("connect_retries = -1", "`connect_retries` is out of range"),
            ("connect_retries = 1.5", "`connect_retries` must be a whole number from 0 to 100, not a"),
        ])
    func outOfRange(line: String, expected: String) {
        let error = failure("database_url = 'app'\n\(line)\n")
        #expect(error?.category == .usage)
        #expect(error?.message.hasPrefix("environments/dev.toml:2: ") == true, "\(String(describing: error?.message))")
        #expect(error?.message.contains(expected) == true, "\(String(describing: error?.message))")
    }

    @Test("the largest values allowed are accepted")
    func largestAccepted() throws {
        let config = try EnvironmentConfig.parse(
            name: "dev", path: "d",
            text: """
                database_url = 'app'
                lock_timeout = 86400
                ddl_lock_timeout = "24h"
                statement_timeout = "1440m"
                connect_retries = 100
                ddl_lock_retries = 0
                """, expander: empty)
        #expect(config.lockTimeout.milliseconds == 86_400_000)
        #expect(config.ddlLockTimeout.milliseconds == 86_400_000)
        #expect(config.statementTimeout.milliseconds == 86_400_000)
        #expect(config.connectRetries == 100)
    }

    @Test("durations parse strictly: digits, an optional fraction, then a unit")
    func strictDurations() {
        for text in [
            "0x10", "1e3", "1e3s", "inf", "nan", "infs", "+5s", "-5s", "5 s", ".5s", "5.s", "5sec", "5S", "", "s",
            "１s", "5ms5", "0x10s", "1_000s",
        ] {
            #expect(TimeSpan(parsing: text) == nil, "\(text) was accepted")
        }
        #expect(TimeSpan(parsing: "9223372036854775807s") == nil)
        #expect(TimeSpan(parsing: "99999999999999999999") == nil)
        #expect(TimeSpan(parsing: " 5s ")?.milliseconds == 5000)
        #expect(TimeSpan(parsing: "0.25s")?.milliseconds == 250)
        #expect(TimeSpan(parsing: "1.5m")?.milliseconds == 90_000)
        #expect(TimeSpan(parsing: "250ms")?.milliseconds == 250)
        #expect(TimeSpan(parsing: "007")?.milliseconds == 7000)
    }

    @Test(
        "a secret pasted into another key is never quoted in the error",
        arguments: [
            "statement_timeout = 'hunter2-S3cret'",
            "lock_timeout = 'hunter2-S3cret'",
            "transaction = 'hunter2-S3cret'",
            "database_url = 'postgresq://deploy:hunter2-S3cret@db.example/app'",
            "database_url = 'deploy:hunter2-S3cret@db.example/app'",
            "database_url = 'postgresql+psycopg2//deploy:hunter2-S3cret@db.example/app'",
            "database_url = 'sandbox:hunter2-S3cret-hunter2-S3cret-hunter2-S3cret-hunter2-S3cret-0123456789'",
        ])
    func secretsNotQuoted(line: String) {
        let text = line.hasPrefix("database_url") ? "\n\(line)\n" : "database_url = 'app'\n\(line)\n"
        let error = failure(text)
        #expect(error != nil)
        #expect(error?.message.hasPrefix("environments/dev.toml:2: `") == true, "\(String(describing: error?.message))")
        #expect(error?.message.contains("S3cret") == false, "\(String(describing: error?.message))")
        #expect(error?.hint?.contains("S3cret") != true)
    }

    @Test("a promotes_from holding a secret names no environment and is not quoted")
    func promotesFromNotQuoted() throws {
        let dev = try EnvironmentConfig.parse(
            name: "dev", path: "environments/dev.toml", text: "database_url = 'a'",
            expander: empty)
        let staging = try EnvironmentConfig.parse(
            name: "staging", path: "environments/staging.toml",
            text: "database_url = 'a'\npromotes_from = 'hunter2-S3cret'", expander: empty)
        do {
            _ = try Pipeline([dev, staging])
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains("environments/staging.toml: `promotes_from`"))
            #expect(!error.message.contains("S3cret") && error.hint?.contains("S3cret") != true)
            #expect(error.hint?.contains("dev") == true)
        }
    }

    @Test("SQLAlchemy URLs are accepted as written; a plain database name still is one")
    func sqlAlchemyURLs() throws {
        for url in [
            "postgresql+psycopg2://deploy:pw@db.example:5433/app?sslmode=require",
            "postgresql+asyncpg://deploy@db.example/app", "postgres+pg8000://db.example/app",
            "postgres://deploy@db.example/app", "app", "host=db.example dbname=app",
        ] {
            let config = try EnvironmentConfig.parse(
                name: "dev", path: "d", text: "database_url = '\(url)'", expander: empty)
            #expect(config.databaseURL == url)
        }
    }

    @Test("a new revision's message becomes comment lines only, whatever it holds")
    func messageComment() {
        #expect(Authoring.comment("add orders") == "-- add orders\n")
        #expect(
            Authoring.comment("a\nDROP TABLE t;\r\nmigrate:down\r-- migrate:up\u{0}x\u{85}y\n\n")
                == "-- a\n-- DROP TABLE t;\n-- Message: migrate:down\n-- -- migrate:up x\n-- y\n")
        #expect(Authoring.comment("a\n\nb") == "-- a\n--\n-- b\n")
    }
}
