import Testing

@testable import Migrations

/// Parses `text` as `migrations/<name>`.
private func parse(_ text: String, name: String = "r2.sql") throws(MigrationError) -> MigrationFile {
    try MigrationFile.parse(path: "migrations/\(name)", bytes: Array(text.utf8))
}

/// The error parsing `bytes` throws, or `nil` when it parses.
private func parseError(bytes: [UInt8], name: String = "r2.sql") -> MigrationError? {
    do {
        _ = try MigrationFile.parse(path: "migrations/\(name)", bytes: bytes)
        return nil
    } catch {
        return error
    }
}

private func parseError(_ text: String, name: String = "r2.sql") -> MigrationError? {
    parseError(bytes: Array(text.utf8), name: name)
}

/// Expects parsing `text` to fail on `line` with a message containing `fragment`.
private func expectError(
    _ text: String, line: Int?, _ fragment: String, name: String = "r2.sql",
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
    guard let error = parseError(text, name: name) else {
        Issue.record("expected an error containing \"\(fragment)\"", sourceLocation: sourceLocation)
        return
    }
    #expect(error.line == line, "\(error)", sourceLocation: sourceLocation)
    #expect(error.message.contains(fragment), "\(error)", sourceLocation: sourceLocation)
    #expect(error.path == "migrations/\(name)", sourceLocation: sourceLocation)
}

@Suite("MigrationFile parsing")
struct MigrationFileParsingTests {
    @Test("the example from the design parses into its parts")
    func designExample() throws {
        let text = """
            -- parent: 20261120120000_create_users
            -- migrate:up
            ALTER TABLE users ADD COLUMN last_login timestamptz;
            -- migrate:down
            ALTER TABLE users DROP COLUMN last_login;

            """
        let file = try parse(text, name: "20261121090000_add_last_login.sql")
        #expect(file.revision == "20261121090000_add_last_login")
        #expect(file.path == "migrations/20261121090000_add_last_login.sql")
        #expect(file.parents == ["20261120120000_create_users"])
        #expect(file.transactional)
        #expect(file.up == "ALTER TABLE users ADD COLUMN last_login timestamptz;\n")
        #expect(file.down == "ALTER TABLE users DROP COLUMN last_login;\n")
        #expect(file.upStartLine == 3)
        #expect(file.downStartLine == 5)
        #expect(file.isReversible)
        #expect(file.checksum == Checksum.sha256Hex(normalizing: Array(text.utf8)))
    }

    @Test("a root has no parents; sections keep their text exactly")
    func rootAndExactSections() throws {
        let text = "-- migrate:up\n\n  CREATE TABLE a ();  \n\n-- migrate:down\n\tDROP TABLE a;"
        let file = try parse(text)
        #expect(file.parents == [])
        #expect(file.up == "\n  CREATE TABLE a ();  \n\n")
        #expect(file.down == "\tDROP TABLE a;")
        #expect(file.upStartLine == 2)
        #expect(file.downStartLine == 6)
    }

    @Test("a merge names several parents in order, with or without spaces")
    func mergeParents() throws {
        let file = try parse("-- parent: b_rev,a_rev ,  c.rev-1\n-- migrate:up\nSELECT 1;\n")
        #expect(file.parents == ["b_rev", "a_rev", "c.rev-1"])
    }

    @Test("transaction: false and true")
    func transactionKey() throws {
        let off = try parse("-- transaction: false\n-- migrate:up\nCREATE INDEX CONCURRENTLY i ON t (c);\n")
        #expect(!off.transactional)
        let on = try parse("-- transaction:true\n-- migrate:up\nSELECT 1;\n")
        #expect(on.transactional)
    }

    @Test("no down section means irreversible; an empty down section is reversible")
    func reversibility() throws {
        let irreversible = try parse("-- migrate:up\nDROP TABLE t;\n")
        #expect(irreversible.down == nil)
        #expect(irreversible.downStartLine == nil)
        #expect(!irreversible.isReversible)

        let emptyDown = try parse("-- migrate:up\nSELECT 1;\n-- migrate:down\n")
        #expect(emptyDown.down == "")
        #expect(emptyDown.downStartLine == 4)
        #expect(emptyDown.isReversible)

        let commentDown = try parse("-- migrate:up\nSELECT 1;\n-- migrate:down\n-- nothing to undo\n")
        #expect(commentDown.down == "-- nothing to undo\n")
    }

    @Test("header comments, blank lines and spaced markers are accepted")
    func headerComments() throws {
        let text = """

            -- Adds a column
            -- TODO: backfill later
            -- adds a column: not a key, because of the space before the colon
            --- parent: a triple dash is a plain comment
            ----------
              -- parent: r1

            --migrate:up
            SELECT 1;
              --   migrate:down\t
            SELECT 2;
            """
        let file = try parse(text)
        #expect(file.parents == ["r1"])
        #expect(file.up == "SELECT 1;\n")
        #expect(file.down == "SELECT 2;")
        #expect(file.upStartLine == 10)
        #expect(file.downStartLine == 12)
    }

    @Test("marker-like text after the up marker is only checked for markers")
    func bodyIsNotHeader() throws {
        let file = try parse("-- migrate:up\n-- note: this is SQL now\nSELECT 1;\n")
        #expect(file.up == "-- note: this is SQL now\nSELECT 1;\n")
    }

    @Test("BOM and CRLF are normalised before parsing")
    func bomAndCRLF() throws {
        let lf = "-- parent: r1\n-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n"
        var crlf: [UInt8] = [0xEF, 0xBB, 0xBF]
        for byte in lf.utf8 {
            if byte == 0x0A {
                crlf.append(0x0D)
            }
            crlf.append(byte)
        }
        let fromLF = try MigrationFile.parse(path: "r2.sql", bytes: Array(lf.utf8))
        let fromCRLF = try MigrationFile.parse(path: "r2.sql", bytes: crlf)
        #expect(fromLF == fromCRLF)
        #expect(fromCRLF.up == "SELECT 1;\n")
    }

    @Test("the revision comes from the last path component")
    func revisionFromPath() throws {
        let text = "-- migrate:up\nSELECT 1;\n"
        #expect(try MigrationFile.parse(path: "a/b/V12__init.sql", bytes: Array(text.utf8)).revision == "V12__init")
        #expect(try MigrationFile.parse(path: "ae1f.sql", bytes: Array(text.utf8)).revision == "ae1f")
    }
}

@Suite("MigrationFile errors")
struct MigrationFileErrorTests {
    @Test("missing up marker")
    func missingUp() {
        expectError("CREATE TABLE a ();\n", line: 1, "expected a '-- migrate:up' line")
        expectError("-- parent: r1\n", line: 1, "expected a '-- migrate:up' line")
        expectError("", line: 1, "expected a '-- migrate:up' line")
        expectError("-- parent: r1\nSELECT 1;\n-- migrate:down\nSELECT 2;\n", line: 3, "no '-- migrate:up' line")
    }

    @Test("SQL before the up marker")
    func sqlBeforeUp() {
        expectError(
            "-- parent: r1\nCREATE TABLE a ();\n-- migrate:up\nSELECT 1;\n", line: 2,
            "expected header comments or '-- migrate:up' before SQL")
        expectError("/* header */\n-- migrate:up\nSELECT 1;\n", line: 1, "expected header comments")
    }

    @Test("down before up")
    func downBeforeUp() {
        expectError(
            "-- migrate:down\nSELECT 2;\n-- migrate:up\nSELECT 1;\n", line: 1,
            "'-- migrate:down' comes before '-- migrate:up' (line 3)")
    }

    @Test("duplicate markers")
    func duplicateMarkers() {
        expectError(
            "-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;\n", line: 3,
            "a second '-- migrate:up' line (the first is on line 1)")
        expectError(
            "-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n-- migrate:up\n", line: 5,
            "a second '-- migrate:up' line")
        expectError(
            "-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n-- migrate:down\nSELECT 3;\n", line: 5,
            "a second '-- migrate:down' line (the first is on line 3)")
    }

    @Test("malformed markers are errors, not comments")
    func malformedMarkers() {
        expectError(
            "-- migrate:up\nSELECT 1;\n-- migrate: down\nSELECT 2;\n", line: 3, "malformed marker '-- migrate: down'")
        expectError("-- migrate:up transaction:false\nSELECT 1;\n", line: 1, "malformed marker")
        expectError("-- Migrate:Up\nSELECT 1;\n", line: 1, "expected '-- migrate:up' or '-- migrate:down'")
    }

    @Test("an empty up section parses, and says so")
    func emptyUp() throws {
        #expect(try parse("-- migrate:up\n").hasEmptyUp)
        #expect(try parse("-- parent: r1\n-- migrate:up\n\n  \n-- migrate:down\nSELECT 1;\n").hasEmptyUp)
        #expect(try parse("-- migrate:up\n-- just a comment\n/* and /* nested */ block */\n").hasEmptyUp)
        #expect(try !parse("-- migrate:up\nSELECT 1;\n").hasEmptyUp)
        #expect(try !parse("-- migrate:up\n/* a */ -- b\n  x\n").hasEmptyUp)
        #expect(try !parse("-- migrate:up\n- 1\n").hasEmptyUp)
        #expect(try !parse("-- migrate:up\n/ 2\n").hasEmptyUp)
        #expect(try parse("-- migrate:up\n;\n/* /* nested; */ still comment */ ;\n-- x\n").hasEmptyUp)
    }

    @Test("unknown header key")
    func unknownKey() {
        expectError(
            "-- parent: r1\n-- transactional: false\n-- migrate:up\nSELECT 1;\n", line: 2,
            "unknown header key 'transactional' (known keys: parent, transaction)")
        expectError("-- note: keep this\n-- migrate:up\nSELECT 1;\n", line: 1, "does not look like '-- key: value'")
        expectError("-- re-run: x\n-- migrate:up\nSELECT 1;\n", line: 1, "unknown header key 're-run'")
    }

    @Test("known keys in the wrong case or with a space before the colon are not ignored")
    func misspelledKnownKeys() {
        expectError("-- Parent: r1\n-- migrate:up\nSELECT 1;\n", line: 1, "looks like the 'parent:' header key")
        expectError("-- parent : r1\n-- migrate:up\nSELECT 1;\n", line: 1, "'-- parent: ...'")
        expectError("-- TRANSACTION: false\n-- migrate:up\nSELECT 1;\n", line: 1, "'transaction:' header key")
    }

    @Test("bad transaction value")
    func badTransaction() {
        expectError(
            "-- transaction: no\n-- migrate:up\nSELECT 1;\n", line: 1,
            "invalid value 'no' for '-- transaction:': expected 'true' or 'false'")
        expectError("-- transaction: False\n-- migrate:up\nSELECT 1;\n", line: 1, "invalid value 'False'")
        expectError("-- transaction:\n-- migrate:up\nSELECT 1;\n", line: 1, "invalid value ''")
    }

    @Test("a second transaction line")
    func duplicateTransaction() {
        expectError(
            "-- transaction: false\n\n-- transaction: false\n-- migrate:up\nSELECT 1;\n", line: 3,
            "a second '-- transaction:' line (the first is on line 1)")
    }

    @Test("a second parent line")
    func duplicateParentLine() {
        expectError(
            "-- parent: a\n-- parent: b\n-- migrate:up\nSELECT 1;\n", line: 2,
            "a second '-- parent:' line (the first is on line 1)")
    }

    @Test("invalid, empty and duplicate parent ids")
    func badParents() {
        expectError("-- parent:\n-- migrate:up\nSELECT 1;\n", line: 1, "'-- parent:' has no revision id")
        expectError("-- parent: a,,b\n-- migrate:up\nSELECT 1;\n", line: 1, "empty revision id")
        expectError("-- parent: a,\n-- migrate:up\nSELECT 1;\n", line: 1, "empty revision id")
        expectError("-- parent: a b\n-- migrate:up\nSELECT 1;\n", line: 1, "invalid parent id 'a b'")
        expectError("-- parent: _a\n-- migrate:up\nSELECT 1;\n", line: 1, "invalid parent id '_a'")
        expectError("-- parent: b, a, b\n-- migrate:up\nSELECT 1;\n", line: 1, "parent 'b' is listed twice")
    }

    @Test("invalid UTF-8 names the line")
    func invalidUTF8() {
        let bytes = Array("-- migrate:up\nSELECT '".utf8) + [0xC3, 0x28] + Array("';\n".utf8)
        let error = parseError(bytes: bytes)
        #expect(error?.line == 2)
        #expect(error?.message.contains("not valid UTF-8") == true)
        let lone = parseError(bytes: [0xFF])
        #expect(lone?.line == 1)
    }

    @Test("invalid revision id from the file name")
    func invalidFileName() {
        expectError("-- migrate:up\nSELECT 1;\n", line: nil, "invalid revision id '-bad'", name: "-bad.sql")
        expectError("-- migrate:up\nSELECT 1;\n", line: nil, "invalid revision id 'a b'", name: "a b.sql")
        expectError("-- migrate:up\nSELECT 1;\n", line: nil, "invalid revision id ''", name: ".sql")
        expectError("-- migrate:up\nSELECT 1;\n", line: nil, "expected a file name of the form", name: "r2.txt")
    }

    @Test("the file name is checked before the contents")
    func fileNameFirst() {
        expectError("garbage", line: nil, "invalid revision id", name: "é.sql")
    }

    @Test("description is path:line: message, or path: message")
    func description() {
        let withLine = MigrationError(path: "migrations/a.sql", line: 3, message: "bad")
        #expect(withLine.description == "migrations/a.sql:3: bad")
        let withoutLine = MigrationError(path: "migrations/a.sql", line: nil, message: "bad")
        #expect(withoutLine.description == "migrations/a.sql: bad")
    }
}

@Suite("MigrationFile.render")
struct MigrationFileRenderTests {
    @Test("renders the canonical format")
    func canonical() {
        let text = MigrationFile.render(
            parents: ["a", "b"], transactional: false, up: "CREATE INDEX CONCURRENTLY i ON t (c);",
            down: "DROP INDEX CONCURRENTLY i;\n")
        #expect(
            text == """
                -- parent: a, b
                -- transaction: false
                -- migrate:up
                CREATE INDEX CONCURRENTLY i ON t (c);
                -- migrate:down
                DROP INDEX CONCURRENTLY i;

                """)
    }

    @Test("a root without down has neither parent nor down line")
    func rootIrreversible() {
        #expect(
            MigrationFile.render(parents: [], transactional: true, up: "SELECT 1;\n", down: nil)
                == "-- migrate:up\nSELECT 1;\n")
    }

    @Test("render then parse round-trips")
    func roundTrip() throws {
        let text = MigrationFile.render(
            parents: ["r1", "r0"], transactional: false, up: "SELECT 1;\n", down: "SELECT 2;\n")
        let file = try parse(text)
        #expect(file.parents == ["r1", "r0"])
        #expect(!file.transactional)
        #expect(file.up == "SELECT 1;\n")
        #expect(file.down == "SELECT 2;\n")
    }
}
