import Testing

@testable import Migrations

/// The texts of the statements in `sql`.
private func texts(_ sql: String) -> [String] {
    SQLSplitter.split(sql).map(\.text)
}

@Suite("SQLSplitter")
struct SQLSplitterTests {
    @Test("splits on top-level semicolons, trims, and records offsets and lines")
    func basic() {
        let statements = SQLSplitter.split("CREATE TABLE a (id int);\n  CREATE TABLE b (id int) ;\n")
        #expect(
            statements == [
                SQLStatement(text: "CREATE TABLE a (id int)", offset: 0, line: 1),
                SQLStatement(text: "CREATE TABLE b (id int)", offset: 27, line: 2),
            ])
    }

    @Test("a last statement without a semicolon is kept")
    func noTrailingSemicolon() {
        #expect(texts("SELECT 1;\nSELECT 2") == ["SELECT 1", "SELECT 2"])
        #expect(texts("SELECT 1") == ["SELECT 1"])
    }

    @Test("empty and comment-only statements are dropped")
    func dropsEmpty() {
        #expect(texts("") == [])
        #expect(texts(" \n\t ") == [])
        #expect(texts(";;\n ; ") == [])
        #expect(texts("-- only a comment;\n;\n/* c; */;\n-- trailing") == [])
        #expect(texts("SELECT 1; -- done\n") == ["SELECT 1"])
    }

    @Test("single-quoted strings with '' escapes")
    func quotedStrings() {
        #expect(
            texts("INSERT INTO t VALUES ('it''s; fine');SELECT 2;") == [
                "INSERT INTO t VALUES ('it''s; fine')", "SELECT 2",
            ])
        #expect(texts("SELECT '';SELECT ''''';'") == ["SELECT ''", "SELECT ''''';'"])
        // Without E, a backslash is an ordinary character (standard_conforming_strings = on).
        #expect(texts(#"SELECT 'a\';SELECT 4;"#) == [#"SELECT 'a\'"#, "SELECT 4"])
    }

    @Test("E'' strings with backslash escapes")
    func escapeStrings() {
        #expect(texts(#"SELECT E'\'; still a string';SELECT 2;"#) == [#"SELECT E'\'; still a string'"#, "SELECT 2"])
        #expect(texts(#"SELECT e'a\\';SELECT 3;"#) == [#"SELECT e'a\\'"#, "SELECT 3"])
        #expect(texts(#"SELECT E'x''; y';SELECT 5"#) == [#"SELECT E'x''; y'"#, "SELECT 5"])
        // `namE` is a word: the quote after it starts an ordinary string.
        #expect(texts(#"SELECT 1 AS namE, 'a\';SELECT 6"#) == [#"SELECT 1 AS namE, 'a\'"#, "SELECT 6"])
    }

    @Test("double-quoted identifiers")
    func quotedIdentifiers() {
        #expect(
            texts(#"CREATE TABLE "a;b" ("x""y;" int);SELECT 1;"#) == [#"CREATE TABLE "a;b" ("x""y;" int)"#, "SELECT 1"])
    }

    @Test("dollar quotes, nested with different tags")
    func dollarQuotes() {
        let sql = """
            CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $fn$
            BEGIN
              EXECUTE $q$SELECT 1; SELECT 2$q$;
              RETURN $$;$$;
            END;
            $fn$;
            SELECT $a1$;$a1$;
            """
        let statements = SQLSplitter.split(sql)
        #expect(statements.count == 2)
        #expect(statements.first?.text.hasSuffix("END;\n$fn$") == true)
        #expect(statements.last == SQLStatement(text: "SELECT $a1$;$a1$", offset: 127, line: 7))
    }

    @Test("$1 is a parameter, and $ inside words is part of the word")
    func parameters() {
        #expect(
            texts("PREPARE p(int) AS SELECT $1 + $2;\nEXECUTE p(1);") == [
                "PREPARE p(int) AS SELECT $1 + $2", "EXECUTE p(1)",
            ])
        #expect(texts("SELECT 1 AS x$$;SELECT 2;") == ["SELECT 1 AS x$$", "SELECT 2"])
        #expect(texts("CREATE TABLE t (a$b int);SELECT $1$;") == ["CREATE TABLE t (a$b int)", "SELECT $1$"])
    }

    @Test("nested block comments with semicolons inside")
    func blockComments() {
        let statements = SQLSplitter.split("/* outer /* inner; */ still; */ SELECT 1; SELECT /* ; */ 2;")
        #expect(statements.map(\.text) == ["/* outer /* inner; */ still; */ SELECT 1", "SELECT /* ; */ 2"])
        #expect(statements.map(\.offset) == [0, 42])
    }

    @Test("line comments with semicolons")
    func lineComments() {
        #expect(
            texts("SELECT 1 -- not here;\n + 1;\nSELECT 2; -- nor; here\n") == [
                "SELECT 1 -- not here;\n + 1", "SELECT 2",
            ])
        #expect(texts("SELECT 1 - -1;") == ["SELECT 1 - -1"])
    }

    @Test("BEGIN ATOMIC bodies of SQL-standard functions and procedures")
    func beginAtomic() {
        let sql = """
            CREATE FUNCTION add(a int, b int) RETURNS int
            LANGUAGE SQL
            BEGIN ATOMIC
              SELECT CASE WHEN a > 0 THEN a + b ELSE b END;
              SELECT (CASE WHEN b > 0 THEN 1 END);
            END;
            create or replace procedure p()
            begin atomic
              insert into t values (1);
            end;
            SELECT 3;
            """
        let statements = SQLSplitter.split(sql)
        #expect(statements.map(\.line) == [1, 7, 11])
        #expect(statements.first?.text.hasSuffix("SELECT (CASE WHEN b > 0 THEN 1 END);\nEND") == true)
        #expect(statements.dropFirst().first?.text.hasPrefix("create or replace procedure p()") == true)
        #expect(statements.last?.text == "SELECT 3")
    }

    @Test("transaction BEGIN and other BEGINs are ordinary words")
    func plainBegin() {
        #expect(texts("BEGIN;\nSELECT 1;\nCOMMIT;") == ["BEGIN", "SELECT 1", "COMMIT"])
        #expect(
            texts("CREATE TABLE begin_log (begin int);\nSELECT 1;") == [
                "CREATE TABLE begin_log (begin int)", "SELECT 1",
            ])
    }

    @Test("semicolons inside parentheses do not split (CREATE RULE ... DO (...; ...))")
    func parentheses() {
        let sql =
            "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));SELECT 1;"
        #expect(texts(sql).count == 2)
    }

    @Test("CREATE INDEX CONCURRENTLY lines, with their line numbers")
    func concurrently() {
        let sql = """
            -- indexes for the users table
            CREATE INDEX CONCURRENTLY users_email ON users (email);

            CREATE INDEX CONCURRENTLY users_login
                ON users (last_login);
            """
        let statements = SQLSplitter.split(sql)
        #expect(
            statements.map(\.text) == [
                "-- indexes for the users table\nCREATE INDEX CONCURRENTLY users_email ON users (email)",
                "CREATE INDEX CONCURRENTLY users_login\n    ON users (last_login)",
            ])
        #expect(statements.map(\.line) == [1, 4])
    }

    @Test("offsets count Unicode scalars; lines count newlines, even inside strings and comments")
    func positions() {
        let decomposed = "SELECT 'e\u{301}';\nSELECT 2;"
        #expect(SQLSplitter.split(decomposed).last == SQLStatement(text: "SELECT 2", offset: 13, line: 2))
        let multiline = "SELECT 'a\nb';\n/* x\ny */ SELECT $$\n$$;\n\n  SELECT 3;"
        #expect(SQLSplitter.split(multiline).map(\.line) == [1, 3, 7])
        #expect(SQLSplitter.split(multiline).last?.offset == 41)
    }

    @Test("an unterminated string or comment runs to the end")
    func unterminated() {
        #expect(texts("SELECT 'abc;\nSELECT 2;") == ["SELECT 'abc;\nSELECT 2;"])
        #expect(texts("SELECT 1; /* open; SELECT 2;") == ["SELECT 1"])
        #expect(texts("SELECT $x$ ; ") == ["SELECT $x$ ;"])
    }
}

@Suite("SourceLocation")
struct SourceLocationTests {
    @Test("positions map to 1-based lines and columns")
    func basic() {
        let text = "SELECT 1;\nSELEC 2;"
        #expect(Migrations.SourceLocation.lineAndColumn(ofCharacterPosition: 1, in: text) == (1, 1))
        #expect(Migrations.SourceLocation.lineAndColumn(ofCharacterPosition: 8, in: text) == (1, 8))
        #expect(Migrations.SourceLocation.lineAndColumn(ofCharacterPosition: 10, in: text) == (1, 10))
        #expect(Migrations.SourceLocation.lineAndColumn(ofCharacterPosition: 11, in: text) == (2, 1))
        #expect(Migrations.SourceLocation.lineAndColumn(ofCharacterPosition: 13, in: text) == (2, 3))
    }

    @Test("positions count Unicode scalars, like PostgreSQL")
    func scalars() {
        #expect(Migrations.SourceLocation.lineAndColumn(ofCharacterPosition: 13, in: "SELECT 'é';\nSELEC") == (2, 1))
        #expect(
            Migrations.SourceLocation.lineAndColumn(ofCharacterPosition: 14, in: "SELECT 'e\u{301}';\nSELEC") == (2, 1))
        #expect(Migrations.SourceLocation.lineAndColumn(ofCharacterPosition: 4, in: "👍🏽 x") == (1, 4))
    }

    @Test("out-of-range positions are clamped")
    func clamped() {
        #expect(Migrations.SourceLocation.lineAndColumn(ofCharacterPosition: 0, in: "ab") == (1, 1))
        #expect(Migrations.SourceLocation.lineAndColumn(ofCharacterPosition: -5, in: "ab") == (1, 1))
        #expect(Migrations.SourceLocation.lineAndColumn(ofCharacterPosition: 100, in: "ab\ncd") == (2, 3))
        #expect(Migrations.SourceLocation.lineAndColumn(ofCharacterPosition: 3, in: "") == (1, 1))
    }

    @Test("a position in a split statement maps to the file line")
    func throughSplitter() throws {
        let text = "-- parent: r1\n-- migrate:up\nCREATE TABLE a ();\n\nCREATE TABL b ();\n"
        let file = try MigrationFile.parse(path: "r2.sql", bytes: Array(text.utf8))
        let statement = try #require(SQLSplitter.split(file.up).last)
        // PostgreSQL reports `syntax error at or near "TABL"` at position 8 of the statement.
        let (line, column) = Migrations.SourceLocation.lineAndColumn(ofCharacterPosition: 8, in: statement.text)
        #expect(file.upStartLine + statement.line - 1 + line - 1 == 5)
        #expect(column == 8)
    }

    @Test("codeLine skips the comments a statement keeps in front of it, nested block comments included")
    func codeLine() {
        let statements = SQLSplitter.split(
            "SELECT 1; -- trailing\n-- why\n/* more\n  /* nested */ */\n\n  ALTER TABLE t ADD x int;\nSELECT 2;")
        #expect(statements.map(\.line) == [1, 1, 7])
        #expect(statements.map(\.codeLine) == [1, 6, 7])
        #expect(SQLSplitter.split("\n/* a */ SELECT /* b\n */ 1").first?.codeLine == 2)
    }
}
