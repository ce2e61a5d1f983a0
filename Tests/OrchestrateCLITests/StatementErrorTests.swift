import Foundation
import TestSupport
import Testing

/// A failing revision names the statement that failed, `file:line` and "statement k of n", even when PostgreSQL gives
/// no position; a non-transactional revision says exactly what is committed.
@Suite("statement errors")
struct StatementErrorTests {
    /// 30 statements over 60 lines, each after a comment line; statement 17 is `failing`. Returns the section and the
    /// line, counted from 1 in the section, where statement 17 starts.
    static func longSection(
        failing: String, statement: (Int) -> String = { "CREATE TABLE t\($0) (id int)" }
    )
        -> (sql: String, line: Int)
    {
        var lines: [String] = []
        var failingLine = 0
        for index in 1...30 {
            lines.append("-- step \(index)")
            if index == 17 {
                failingLine = lines.count + 1
                lines.append(failing + ";")
            } else {
                lines.append(statement(index) + ";")
            }
        }
        return (lines.joined(separator: "\n"), failingLine)
    }

    @Test("PostgreSQL's DETAIL, which can quote row data, is shown on the terminal but not written to the event log")
    func detailStaysOffTheLedger() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev")
        try project.migration(
            "001_dup", parent: nil,
            up: """
                CREATE TABLE people (email text PRIMARY KEY);
                INSERT INTO people VALUES ('secret@example.com'), ('secret@example.com');
                """, down: "DROP TABLE people;")
        try project.gitInitAndCommit()
        let result = try project.run(["upgrade", "dev"])
        #expect(result.exitCode == 3, "\(result.output)")
        #expect(result.stderr.contains("DETAIL: Key (email)=(secret@example.com) already exists."), "\(result.stderr)")
        let messages = try TestPostgres.query(dev, "SELECT coalesce(message, '') FROM orchestrate.events").map {
            $0[0] ?? ""
        }
        #expect(messages.contains { $0.contains("duplicate key value") }, "\(messages)")
        #expect(!messages.contains { $0.contains("secret@example.com") }, "\(messages)")
    }

    @Test("transactional: the 17th of 30 statements fails without a position; the error names its line")
    func transactionalNoPosition() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev")
        let (up, line) = Self.longSection(failing: "ALTER TABLE missing_table ADD COLUMN x int")
        try project.migration("001_long", parent: nil, up: up, down: "SELECT 1;")
        try project.gitInitAndCommit()
        let result = try project.run(["upgrade", "dev"])
        #expect(result.exitCode == 3, "\(result.output)")
        // The file: `-- migrate:up` on line 1, the section from line 2.
        #expect(
            result.stderr.contains(
                "revision 001_long failed (up) at migrations/001_long.sql:\(line + 1): relation \"missing_table\" does not exist"
            ),
            "\(result.stderr)")
        #expect(result.stderr.contains("in statement 17 of 30"))
        #expect(
            try project.read("migrations/001_long.sql").split(separator: "\n", omittingEmptySubsequences: false)[line]
                == "ALTER TABLE missing_table ADD COLUMN x int;")
        #expect(try TestPostgres.query(dev, "SELECT to_regclass('public.t1') IS NULL") == [["t"]])
    }

    @Test("non-transactional: the 17th of 30 statements fails; the error names its line and what is committed")
    func nonTransactionalNoPosition() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev")
        let (up, line) = Self.longSection(failing: "SELECT 1/0")
        try project.migration("001_long", parent: nil, up: up, down: "SELECT 1;", header: "-- transaction: false\n")
        try project.gitInitAndCommit()
        let result = try project.run(["upgrade", "dev"])
        #expect(result.exitCode == 3, "\(result.output)")
        // `-- transaction: false` on line 1, `-- migrate:up` on line 2, the section from line 3.
        #expect(
            result.stderr.contains(
                "revision 001_long failed (up) at migrations/001_long.sql:\(line + 2): division by zero"),
            "\(result.stderr)")
        #expect(result.stderr.contains("in statement 17 of 30 (non-transactional revision)"))
        #expect(result.stderr.contains("statements 1 to 16 of 30 are committed, statements 17 to 30 not"))
        #expect(
            try TestPostgres.query(
                dev, "SELECT to_regclass('public.t16') IS NOT NULL, to_regclass('public.t18') IS NULL") == [["t", "t"]])
    }

    @Test(
        "down section: the 17th of 30 statements fails without a position; the error names its line in the ledger's copy"
    )
    func downNoPosition() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev")
        let (down, line) = Self.longSection(failing: "SELECT 1/0", statement: { "DROP TABLE IF EXISTS t\($0)" })
        try project.migration("001_long", parent: nil, up: "CREATE TABLE t1 (id int);", down: down)
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        let stored = try #require(
            try TestPostgres.query(dev, "SELECT down_sql FROM orchestrate.revisions").first?.first ?? nil)
        let storedLine =
            try #require(
                stored.split(separator: "\n", omittingEmptySubsequences: false)
                    .firstIndex { $0 == "SELECT 1/0;" }) + 1
        #expect(storedLine == line)
        let result = try project.run(["downgrade", "dev", "--to", "base"])
        #expect(result.exitCode == 3, "\(result.output)")
        #expect(
            result.stderr.contains(
                "revision 001_long failed (down) at dev ledger: 001_long (down):\(storedLine): division by zero"),
            "\(result.stderr)")
        #expect(result.stderr.contains("in statement 17 of 30"))
        #expect(try TestPostgres.query(dev, "SELECT to_regclass('public.t1') IS NOT NULL") == [["t"]])
    }

    /// A section, the statement that fails in it (k of n), and the line of the section it starts on.
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var sql: String
        var statement: String
        var line: String
        var testDescription: String { name }
    }

    static let tricky: [Case] = [
        Case(
            name: "empty statements and comment-only chunks",
            sql: "SELECT 1;;\n-- only a comment\n;\n/* a block */;\nSELECT 2;\n;\nSELECT 1/0;\nSELECT 3;",
            statement: "statement 3 of 4", line: "7"),
        Case(
            name: "semicolons inside dollar quotes and strings",
            sql:
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; SELECT 2 $body$;\nSELECT 'a;b', $$;$$;\nSELECT f() / 0;\nSELECT 4;",
            statement: "statement 3 of 4", line: "3"),
        Case(
            name: "a DO block failing inside",
            sql: "CREATE TABLE a (id int);\nDO $$\nBEGIN\n  PERFORM 1;\n  PERFORM 1/0;\nEND\n$$;\nSELECT 1;",
            statement: "statement 2 of 3", line: "2"),
        Case(
            name: "comments before the failing statement",
            sql: "SELECT 1; -- trailing\n-- why\n/* more\n   /* nested */ */\nALTER TABLE missing ADD COLUMN x int;",
            statement: "statement 2 of 2", line: "5"),
        Case(
            name: "a BEGIN ATOMIC function body",
            sql:
                "CREATE FUNCTION g() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n  SELECT 2;\nEND;\nSELECT 1/0;",
            statement: "statement 2 of 2", line: "6"),
        Case(
            name: "a position from the server is still used",
            sql: "SELECT 1;\nSELECT 2;\n  SELECT nosuchcolumn FROM pg_class;",
            statement: "statement 3 of 3", line: "3:10"),
    ]

    @Test("the failing statement is found on tricky input", arguments: tricky)
    func trickyInput(_ example: Case) throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.environment("dev")
        try project.migration("001_tricky", parent: nil, up: example.sql, down: "SELECT 1;")
        try project.gitInitAndCommit()
        let result = try project.run(["upgrade", "dev"])
        #expect(result.exitCode == 3, "\(result.output)")
        // The section starts on line 2 of the file.
        let parts = example.line.split(separator: ":")
        let fileLine = Int(parts[0])! + 1
        let location = "migrations/001_tricky.sql:\(fileLine)" + (parts.count > 1 ? ":\(parts[1])" : "") + ": "
        #expect(result.stderr.contains("failed (up) at \(location)"), "\(result.stderr)")
        #expect(result.stderr.contains("in \(example.statement)\n"), "\(result.stderr)")
    }

    @Test(
        "non-transactional: the progress row cannot be updated after statement 1 committed; the error says so, and its advice works"
    )
    func progressUpdateFails() throws {
        let project = try TestProject()
        defer { project.cleanUp() }
        let dev = try project.environment("dev")
        try project.migration("001_base", parent: nil, up: "CREATE TABLE base (id int);", down: "DROP TABLE base;")
        try project.gitInitAndCommit()
        #expect(try project.run(["upgrade", "dev"]).exitCode == 0)
        try project.migration(
            "002_nt", parent: "001_base",
            up: "CREATE TABLE a1 (id int);\nCREATE TABLE a2 (id int);\nCREATE TABLE a3 (id int);",
            down: "DROP TABLE a3;\nDROP TABLE a2;\nDROP TABLE a1;", header: "-- transaction: false\n")
        try project.git("add", "-A")
        try project.git("commit", "-q", "-m", "002")
        // The ledger refuses to record statement 1 of 002_nt as done.
        try TestPostgres.query(
            dev,
            """
            CREATE FUNCTION public.refuse_progress() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'progress refused'; END $$
            """)
        try TestPostgres.query(
            dev,
            """
            CREATE TRIGGER refuse BEFORE UPDATE OF statements_done ON orchestrate.revisions FOR EACH ROW
            WHEN (NEW.revision = '002_nt' AND NEW.statements_done = 1) EXECUTE FUNCTION public.refuse_progress()
            """)

        let failed = try project.run(["upgrade", "dev"])
        #expect(failed.exitCode == 3, "\(failed.output)")
        #expect(failed.stderr.contains("progress refused"))
        #expect(
            failed.stderr.contains(
                "the ledger could not record the progress: statement 1 of 3 ran and is committed, but the ledger still says 0 of 3 done"
            ),
            "\(failed.stderr)")
        #expect(failed.stderr.contains("statement 1 of 3 is committed, statements 2 to 3 not"))
        #expect(!failed.stderr.contains("1 to 0"))
        #expect(
            try TestPostgres.query(dev, "SELECT to_regclass('public.a1') IS NOT NULL, to_regclass('public.a2') IS NULL")
                == [["t", "t"]])

        // The advice: undo statement 1, then `repair --reverted`; the next run applies the revision from the start.
        try TestPostgres.query(dev, "DROP TRIGGER refuse ON orchestrate.revisions")
        try TestPostgres.query(dev, "DROP TABLE a1")
        let repair = try project.run(["repair", "dev", "002_nt", "--reverted", "--reason", "undid statement 1"])
        #expect(repair.exitCode == 0, "\(repair.output)")
        let next = try project.run(["upgrade", "dev"])
        #expect(next.exitCode == 0, "\(next.output)")
        #expect(
            try TestPostgres.query(
                dev, "SELECT state, statements_done FROM orchestrate.revisions WHERE revision = '002_nt'") == [
                    ["applied", "3"]
                ])
    }
}
