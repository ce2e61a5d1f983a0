import Foundation
import Postgres
import TestSupport
import Testing

/// Input written to hurt, through the real binary: huge numbers, mistyped URLs holding a password, messages that try
/// to become SQL, NUL bytes, links out of the project, files that cannot be read. Each is refused with the file, the
/// line or key and the way out; nothing is applied and no secret is printed.
@Suite("hostile input")
struct HostileInputTests {
    /// A project with a valid root revision and `environments/dev.toml` holding `text` (no database needed).
    static func offlineProject(environment text: String = "database_url = \"sandbox:unused\"\n") throws -> TestProject {
        let project = try TestProject()
        try project.write("environments/dev.toml", text)
        try project.migration("001_root", parent: nil, up: "CREATE TABLE t (id int);", down: "DROP TABLE t;")
        return project
    }

    static func expect(
        _ result: TestProject.RunResult, code: Int32, contains fragments: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(result.exitCode == code, "\(result.output)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(
                result.stderr.contains(fragment), "missing `\(fragment)` in: \(result.stderr)",
                sourceLocation: sourceLocation)
        }
    }

    // MARK: - Numbers

    @Test(
        "huge numbers in an environment file are refused, not a crash; commands that do not need it still work",
        arguments: [
            (
                "lock_timeout = 9223372036854775807",
                "environments/dev.toml:2: `lock_timeout` is out of range: it must be from 0 to 24h"
            ),
            ("lock_timeout = \"1e300s\"", "environments/dev.toml:2: `lock_timeout` is not a duration"),
            (
                "statement_timeout = \"9223372036854775807h\"",
                "environments/dev.toml:2: `statement_timeout` is out of range"
            ),
            (
                "connect_retries = 9223372036854775807",
                "environments/dev.toml:2: `connect_retries` is out of range: it must be a whole number from 0 to 100"
            ),
            ("ddl_lock_retries = 9223372036854775807", "environments/dev.toml:2: `ddl_lock_retries` is out of range"),
        ])
    func hugeNumbers(line: String, message: String) throws {
        let project = try Self.offlineProject(environment: "database_url = \"sandbox:unused\"\n\(line)\n")
        defer { project.cleanUp() }
        let heads = try project.run(["heads"])
        #expect(heads.exitCode == 0, "\(heads.output)")
        #expect(heads.stdout.contains("001_root"))
        Self.expect(try project.run(["upgrade", "dev"]), code: 2, contains: [message])
        Self.expect(try project.run(["plan", "dev"]), code: 2, contains: [message])
    }

    // MARK: - URLs and secrets

    @Test(
        "a URL libpq cannot parse is never printed nor sent: every command names the file and key only",
        arguments: [
            "postgresq://deploy:Hunter2Secret@127.0.0.1:1/app",
            "deploy:Hunter2Secret@127.0.0.1/app",
            "mysql://deploy:Hunter2Secret@127.0.0.1/app",
            "postgresql+psycopg2//deploy:Hunter2Secret@127.0.0.1/app",
        ])
    func unparseableURL(url: String) throws {
        let project = try Self.offlineProject(environment: "\ndatabase_url = \"\(url)\"\n")
        defer { project.cleanUp() }
        for arguments in [
            ["upgrade", "dev"], ["status"], ["status", "dev", "--json"], ["doctor"], ["plan", "dev"],
            ["audit", "dev"], ["graph"],
        ] {
            let result = try project.run(arguments)
            #expect(!result.output.contains("Hunter2Secret"), "\(arguments): \(result.output)")
            #expect(!result.output.contains("127.0.0.1"), "\(arguments): \(result.output)")
            if arguments != ["graph"] {
                #expect(result.exitCode != 0, "\(arguments): \(result.output)")
                #expect(
                    result.output.contains(
                        "environments/dev.toml:2: `database_url` is not a connection string libpq can parse"),
                    "\(arguments): \(result.output)")
            }
        }
    }

    @Test("a secret pasted into another key is not printed by any command")
    func secretInAnotherKey() throws {
        let project = try Self.offlineProject(
            environment: """
                database_url = "sandbox:unused"
                statement_timeout = "Hunter2Secret"
                """)
        defer { project.cleanUp() }
        for arguments in [["upgrade", "dev"], ["status"], ["doctor"]] {
            let result = try project.run(arguments)
            #expect(result.exitCode != 0)
            #expect(
                result.output.contains("environments/dev.toml:2: `statement_timeout` is not a duration"),
                "\(result.output)")
            #expect(!result.output.contains("Hunter2Secret"), "\(arguments): \(result.output)")
        }
    }

    @Test("SQLAlchemy's postgresql+DRIVER:// URL serves orchestrate too")
    func sqlAlchemyURL() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let database = try project.environment("dev")
        let pairs = try ConnInfo.parse(try TestPostgres.conninfo(database: database))
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let query = pairs.filter { $0.keyword != "dbname" }
            .map { "\($0.keyword)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.value)" }
            .joined(separator: "&")
        try project.write("environments/dev.toml", "database_url = \"postgresql+psycopg2:///\(database)?\(query)\"\n")
        try project.migration("001_root", parent: nil, up: "CREATE TABLE t (id int);", down: "DROP TABLE t;")
        let result = try project.run(["upgrade", "dev"])
        #expect(result.exitCode == 0, "\(result.output)")
        #expect(try TestPostgres.query(database, "SELECT count(*) FROM orchestrate.revisions")[0][0] == "1")
        let status = try project.run(["status", "dev"])
        #expect(status.exitCode == 0, "\(status.output)")
        #expect(status.output.contains("dbname=\(database)"), "\(status.output)")
    }

    @Test("connect_timeout beyond libpq's int range is refused, not a crash (found by the fuzz suite)")
    func hugeConnectTimeout() throws {
        let project = try Self.offlineProject(
            environment: "database_url = \"postgresql://u@127.0.0.1:1/db?connect_timeout=9223372036854775807\"\n")
        defer { project.cleanUp() }
        let graph = try project.run(["graph"])
        #expect(graph.exitCode == 0, "\(graph.output)")
        Self.expect(
            try project.run(["plan", "dev"]), code: 2,
            contains: [
                "environments/dev.toml: `database_url` is not a valid connection string",
                "invalid integer value \"9223372036854775807\" for connection option \"connect_timeout\"",
            ])
    }

    // MARK: - new MESSAGE

    @Test("a multi-line message is written as inert comments: no SQL, no marker, no NUL")
    func newMessageInjection() throws {
        let project = try Self.offlineProject()
        defer { project.cleanUp() }
        let message = "add x\nDROP TABLE users;\r-- migrate:down\n  Migrate : up\u{2028}DELETE FROM t;\u{1B}\u{0C}"
        let result = try project.run(["new", message])
        #expect(result.exitCode == 0, "\(result.output)")
        let path = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let name = path.dropFirst("migrations/".count).dropLast(".sql".count)
        #expect(
            path.hasPrefix("migrations/") && path.hasSuffix(".sql")
                && name.contains("_add_x_drop_table_users_migrate_down")
                && name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }, "\(path)")
        let text = try project.read(path)
        #expect(
            text == """
                -- parent: 001_root
                -- migrate:up
                -- add x
                -- DROP TABLE users;
                -- -- migrate:down
                -- Message: Migrate : up
                -- DELETE FROM t;
                -- migrate:down


                """, "\(text)")
        // The file parses, and its up section has no statement: upgrade refuses it as fresh from `new`.
        let heads = try project.run(["heads"])
        #expect(
            heads.exitCode == 0 && heads.stdout.contains(String(path.dropFirst("migrations/".count).dropLast(4))),
            "\(heads.output)")
        Self.expect(try project.run(["upgrade", "dev"]), code: 2, contains: ["no statement"])
    }

    // MARK: - Bytes and files

    @Test("a NUL byte in a migration is refused by every command that reads it, with file, line and byte")
    func nulByte() throws {
        let project = try Self.offlineProject()
        defer { project.cleanUp() }
        let bytes = Array("-- parent: 001_root\n-- migrate:up\nSELECT 1;".utf8) + [0] + Array("\n".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: project.root + "/migrations/002_nul.sql"))
        let expected = "migrations/002_nul.sql:3: the file holds a NUL byte (byte 44 of the file)"
        Self.expect(try project.run(["heads"]), code: 2, contains: [expected])
        Self.expect(try project.run(["upgrade", "dev"]), code: 2, contains: [expected])
        let doctor = try project.run(["doctor"])
        #expect(doctor.exitCode != 0 && doctor.output.contains(expected), "\(doctor.output)")
    }

    @Test("*.SQL and *.Sql files are refused with the way out, not silently ignored")
    func upperCaseExtension() throws {
        let project = try Self.offlineProject()
        defer { project.cleanUp() }
        try project.write("migrations/002_next.SQL", "-- parent: 001_root\n-- migrate:up\nSELECT 1;\n")
        Self.expect(
            try project.run(["heads"]), code: 2,
            contains: [
                "migrations/002_next.SQL: a migration's extension must be `.sql` in lower case",
                "rename it to migrations/002_next.sql",
            ])
        try project.remove("migrations/002_next.SQL")
        try project.write("migrations/002_next.Sql", "-- parent: 001_root\n-- migrate:up\nSELECT 1;\n")
        Self.expect(try project.run(["new", "x"]), code: 2, contains: ["rename it to migrations/002_next.sql"])
    }

    @Test("unreadable files give the real reason: a directory named x.sql or x.toml, invalid UTF-8 with line and byte")
    func unreadableReasons() throws {
        let project = try Self.offlineProject()
        defer { project.cleanUp() }
        try FileManager.default.createDirectory(
            atPath: project.root + "/migrations/002_dir.sql", withIntermediateDirectories: true)
        Self.expect(
            try project.run(["heads"]), code: 2, contains: ["migrations/002_dir.sql: is a directory, not a file"])
        try project.remove("migrations/002_dir.sql")

        try FileManager.default.createDirectory(
            atPath: project.root + "/environments/qa.toml", withIntermediateDirectories: true)
        Self.expect(
            try project.run(["upgrade", "qa"]), code: 2, contains: ["environments/qa.toml: is a directory, not a file"])
        try project.remove("environments/qa.toml")

        try Data(Array("database_url = \"sandbox:x\"\nbranch = \"".utf8) + [0xFF] + Array("\"\n".utf8))
            .write(to: URL(fileURLWithPath: project.root + "/environments/qa.toml"))
        Self.expect(
            try project.run(["upgrade", "qa"]), code: 2,
            contains: ["environments/qa.toml:2: not valid UTF-8 (byte 38 of the file)"])
        try project.remove("environments/qa.toml")

        try Data(Array("A=1\nB=".utf8) + [0xC3]).write(to: URL(fileURLWithPath: project.root + "/.env"))
        Self.expect(try project.run(["heads"]), code: 2, contains: [".env:2: not valid UTF-8 (byte 7 of the file)"])
        try project.remove(".env")

        if geteuid() != 0 {
            try project.write("migrations/002_secret.sql", "-- parent: 001_root\n-- migrate:up\nSELECT 1;\n")
            chmod(project.root + "/migrations/002_secret.sql", 0)
            Self.expect(
                try project.run(["heads"]), code: 2,
                contains: ["migrations/002_secret.sql: cannot be read: Permission denied"])
        }
    }

    @Test("an environment file named -x.toml is refused with a clear error naming the file")
    func dashEnvironmentName() throws {
        let project = try Self.offlineProject()
        defer { project.cleanUp() }
        try project.write("environments/-x.toml", "database_url = \"sandbox:x\"\n")
        let doctor = try project.run(["doctor"])
        #expect(
            doctor.output.contains("environments/-x.toml: `-x` cannot be an environment name: it starts with `-`"),
            "\(doctor.output)")
        Self.expect(
            try project.run(["upgrade", "--", "-x"]), code: 2,
            contains: ["environments/-x.toml: `-x` cannot be an environment name"])
        #expect(try project.run(["heads"]).exitCode == 0)
    }

    @Test("a NUL byte in an environment file or .env is refused with line and byte (found by the fuzz suite)")
    func nulInEnvironmentFiles() throws {
        let project = try Self.offlineProject()
        defer { project.cleanUp() }
        // The TOML parser reads a C string: what followed the NUL, here `protected = true`, vanished silently.
        try Data(Array("database_url = \"sandbox:unused\"\n".utf8) + [0] + Array("\nprotected = true\n".utf8))
            .write(to: URL(fileURLWithPath: project.root + "/environments/dev.toml"))
        Self.expect(
            try project.run(["plan", "dev"]), code: 2,
            contains: ["environments/dev.toml:2: the file holds a NUL byte (byte 33 of the file)"])
        try project.write("environments/dev.toml", "database_url = \"sandbox:unused\"\n")
        try Data(Array("A=1".utf8) + [0] + Array("\n".utf8)).write(to: URL(fileURLWithPath: project.root + "/.env"))
        Self.expect(
            try project.run(["heads"]), code: 2, contains: [".env:1: the file holds a NUL byte (byte 4 of the file)"])
    }

    @Test("a damaged ${VAR:-default} reference is refused without quoting its default (found by the fuzz suite)")
    func damagedReferenceHidesDefault() throws {
        let project = try Self.offlineProject(
            environment: "database_url = \"${DEV_DATAB\u{FFFD}ASE_URL:-postgresql://d:Hunter2Secret@127.0.0.1:1/x}\"\n")
        defer { project.cleanUp() }
        for arguments in [["plan", "dev"], ["doctor"], ["status"]] {
            let run = try project.run(arguments)
            #expect(run.exitCode != 0, "\(arguments): \(run.output)")
            #expect(
                run.output.contains(
                    "environments/dev.toml:1: key `database_url`: a `${…}` in the value does not start with a variable name"
                ),
                "\(arguments): \(run.output)")
            #expect(!run.output.contains("Hunter2Secret"), "\(arguments): \(run.output)")
        }
    }

    @Test(".env: a BOM is ignored; a damaged line is refused without quoting it (found by the fuzz suite)")
    func dotEnvBOMAndDamagedLines() throws {
        let project = try Self.offlineProject(environment: "database_url = \"${DEV_URL}\"\n")
        defer { project.cleanUp() }
        try Data([0xEF, 0xBB, 0xBF] + Array("# settings\nDEV_URL=sandbox:unused\n".utf8))
            .write(to: URL(fileURLWithPath: project.root + "/.env"))
        let heads = try project.run(["heads"])
        #expect(heads.exitCode == 0, "\(heads.output)")
        // A line cut in the middle of a URL: neither its start nor its end is printed.
        try project.write(
            ".env",
            "DEV_URL=postgresql://u:Hunter2Secret@127.0.0.1/db\nDEV_DATAr:Hunter2Secret@127.0.0.1/x?a=b\nu:Hunter2Secret@h\n"
        )
        Self.expect(
            try project.run(["heads"]), code: 2, contains: [".env:2: the name before `=` is not a valid variable name"])
        try project.write(".env", "DEV_URL=postgresql://u:Hunter2Secret@127.0.0.1/db\nu:Hunter2Secret@h\n")
        let result = try project.run(["doctor"])
        #expect(result.output.contains(".env:2: expected KEY=value or a # comment"), "\(result.output)")
        for arguments in [["heads"], ["doctor"], ["plan", "dev"]] {
            let run = try project.run(arguments)
            #expect(!run.output.contains("Hunter2Secret"), "\(arguments): \(run.output)")
        }
    }

    // MARK: - Links

    @Test("a migration linked outside the project is refused by the commands that read the disk, and by check")
    func linkOutsideProject() throws {
        let project = try CheckTests.makeRepository()
        defer { project.cleanUp() }
        let outside = NSTemporaryDirectory() + "orchestrate-outside-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: outside) }
        try "-- parent: 002_users\n-- migrate:up\nCREATE TABLE linked (id int);\n"
            .write(toFile: outside + "/003_linked.sql", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(
            atPath: project.root + "/migrations/003_linked.sql",
            withDestinationPath: outside + "/003_linked.sql")
        let refusal = "migrations/003_linked.sql: is a symbolic link leading outside the project"
        Self.expect(try project.run(["heads"]), code: 2, contains: [refusal, "cp --remove-destination"])
        Self.expect(try project.run(["upgrade", "dev"]), code: 2, contains: [refusal])

        try project.git("checkout", "-q", "-b", "feature")
        try CheckTests.commit(project, "Link a migration")
        let check = try project.run(["check", "--base", "main"])
        #expect(check.exitCode == 2, "\(check.output)")
        #expect(
            check.stderr.contains(
                "migrations/003_linked.sql: is a symbolic link to \(outside)/003_linked.sql, outside the project, not a migration file"
            ),
            "\(check.output)")
        #expect(!check.output.contains("migrate:up"), "a link is not reported as a parse error: \(check.output)")

        // A link inside the project is a file of the project for the commands that read the disk.
        try project.remove("migrations/003_linked.sql")
        try project.write(
            "shared/003_linked.sql", "-- parent: 002_users\n-- migrate:up\nCREATE TABLE linked (id int);\n")
        try FileManager.default.createSymbolicLink(
            atPath: project.root + "/migrations/003_linked.sql",
            withDestinationPath: "../shared/003_linked.sql")
        let heads = try project.run(["heads"])
        #expect(heads.exitCode == 0 && heads.stdout.contains("003_linked"), "\(heads.output)")
    }

    @Test("an environment file linked outside the project is refused, naming it")
    func environmentLinkOutsideProject() throws {
        let project = try Self.offlineProject()
        defer { project.cleanUp() }
        let outside = NSTemporaryDirectory() + "orchestrate-outside-" + UUID().uuidString.prefix(8) + ".toml"
        try "database_url = \"sandbox:x\"\n".write(toFile: outside, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: outside) }
        try FileManager.default.createSymbolicLink(
            atPath: project.root + "/environments/qa.toml", withDestinationPath: outside)
        Self.expect(
            try project.run(["upgrade", "qa"]), code: 2,
            contains: ["environments/qa.toml: is a symbolic link leading outside the project"])
    }
}
