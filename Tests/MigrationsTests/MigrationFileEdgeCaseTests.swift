import Testing

@testable import Migrations

/// Parses `bytes` as `migrations/<name>`.
private func parse(bytes: [UInt8], name: String = "r2.sql") throws(MigrationError) -> MigrationFile {
    try MigrationFile.parse(path: "migrations/\(name)", bytes: bytes)
}

private func parse(_ text: String, name: String = "r2.sql") throws(MigrationError) -> MigrationFile {
    try parse(bytes: Array(text.utf8), name: name)
}

/// The error parsing `bytes` as `path` throws, or `nil` when it parses.
private func parseError(bytes: [UInt8], path: String = "migrations/r2.sql") -> MigrationError? {
    do {
        _ = try MigrationFile.parse(path: path, bytes: bytes)
        return nil
    } catch {
        return error
    }
}

/// Expects parsing `text` to fail with exactly `description` (`path:line: message`).
private func expectFailure(
    _ text: String, _ description: String, path: String = "migrations/r2.sql",
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
    expectFailure(bytes: Array(text.utf8), description, path: path, sourceLocation: sourceLocation)
}

private func expectFailure(
    bytes: [UInt8], _ description: String, path: String = "migrations/r2.sql",
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
    guard let error = parseError(bytes: bytes, path: path) else {
        Issue.record("expected the error \"\(description)\"", sourceLocation: sourceLocation)
        return
    }
    #expect(error.description == description, sourceLocation: sourceLocation)
}

/// `text` with every LF turned into CR LF.
private func crlf(_ text: String) -> [UInt8] {
    text.utf8.flatMap { $0 == 0x0A ? [0x0D, 0x0A] : [$0] }
}

/// The exact messages and lines of the parser on the edges of the format: line endings, white space, Unicode, invalid
/// UTF-8, long files. Each expectation is what the parser has always answered, so that a faster parser answers the same.
@Suite("MigrationFile edge cases")
struct MigrationFileEdgeCaseTests {
    // MARK: - Line endings and white space

    @Test("CRLF files give the same file as LF, line numbers included")
    func crlfEverywhere() throws {
        let text =
            "-- Adds t\n-- parent: r1,  r0\n-- transaction: false\n\n--  migrate:up \nSELECT 1;\n\n"
            + "-- migrate:down\t\nSELECT 2;\n"
        let fromLF = try parse(text)
        let fromCRLF = try parse(bytes: crlf(text))
        #expect(fromCRLF == fromLF)
        #expect(fromCRLF.parents == ["r1", "r0"])
        #expect(!fromCRLF.transactional)
        #expect(fromCRLF.up == "SELECT 1;\n\n")
        #expect(fromCRLF.upStartLine == 6)
        #expect(fromCRLF.down == "SELECT 2;\n")
        #expect(fromCRLF.downStartLine == 9)
        expectFailure(
            bytes: crlf("-- parent: a\n-- parent: b\n-- migrate:up\n"),
            "migrations/r2.sql:2: a second '-- parent:' line (the first is on line 1): expected one line; a merge "
                + "revision lists all its parents on it, '-- parent: A, B'")
    }

    @Test("a lone CR is kept in the text and is white space around markers and header lines")
    func loneCR() throws {
        let file = try parse("-- parent: r1\r\n\r-- migrate:up\r\n\rSELECT 1;\r\n-- migrate:down\r")
        #expect(file.parents == ["r1"])
        #expect(file.up == "\rSELECT 1;\n")
        #expect(file.upStartLine == 3)
        #expect(file.down == "")
        #expect(file.downStartLine == 5)
        let crInValue = try parse(bytes: Array("-- parent: r1\r\r\n-- migrate:up\n".utf8))
        #expect(crInValue.parents == ["r1"])
    }

    @Test("a BOM is dropped before the first line")
    func bom() throws {
        let file = try parse(bytes: [0xEF, 0xBB, 0xBF] + Array("-- parent: r1\n-- migrate:up\nSELECT 1;\n".utf8))
        #expect(file.parents == ["r1"])
        #expect(file.up == "SELECT 1;\n")
        #expect(file.upStartLine == 3)
        // Only a leading BOM: elsewhere it is text, and before '--' it makes the line SQL.
        expectFailure(
            bytes: Array("-- parent: r1\n".utf8) + [0xEF, 0xBB, 0xBF] + Array("-- note\n-- migrate:up\n".utf8),
            "migrations/r2.sql:2: expected header comments or '-- migrate:up' before SQL: the header only holds "
                + "'-- key: value' lines and comments; add a '-- migrate:up' line above the first statement")
    }

    @Test("markers with spaces, tabs, vertical tabs and form feeds around them")
    func spacedMarkers() throws {
        for up in [
            "-- migrate:up   ", "\t-- migrate:up\t", "--\tmigrate:up", "--migrate:up",
            "\u{0B}\u{0C} --  migrate:up \u{0C}",
        ] {
            let file = try parse(up + "\nSELECT 1;\n \t-- migrate:down \t\nSELECT 2;")
            #expect(file.up == "SELECT 1;\n", "\(up)")
            #expect(file.down == "SELECT 2;", "\(up)")
            #expect(file.upStartLine == 2)
            #expect(file.downStartLine == 4)
        }
    }

    @Test("comments that only resemble markers are SQL, or malformed markers")
    func markerLookalikes() throws {
        let up = try parse("-- migrate:up\n--- migrate:up\n- - migrate:down\n-- migrate\n-- migrates: x\n").up
        #expect(up == "--- migrate:up\n- - migrate:down\n-- migrate\n-- migrates: x\n")
        let malformed =
            "expected '-- migrate:up' or '-- migrate:down' alone on the line (options such as "
            + "'transaction:false' go in the header as '-- transaction: false')"
        expectFailure(
            "-- migrate:up\n  -- MIGRATE :\tup  \n",
            "migrations/r2.sql:2: malformed marker '-- MIGRATE :\tup': \(malformed)")
        expectFailure("-- migrate:up\n--migrate:\n", "migrations/r2.sql:2: malformed marker '--migrate:': \(malformed)")
        expectFailure(
            "-- migrate:up\n-- migrate:upgrade\n",
            "migrations/r2.sql:2: malformed marker '-- migrate:upgrade': \(malformed)")
        expectFailure(
            "-- parent: r1\n-- migrate:dwon\n", "migrations/r2.sql:2: malformed marker '-- migrate:dwon': \(malformed)")
    }

    @Test("a file without a final newline")
    func noFinalNewline() throws {
        let upOnly = try parse("-- migrate:up")
        #expect(upOnly.up == "")
        #expect(upOnly.upStartLine == 2)
        let lastLine = try parse("-- migrate:up\nSELECT 1;")
        #expect(lastLine.up == "SELECT 1;")
        let downLast = try parse("-- migrate:up\nSELECT 1;\n-- migrate:down")
        #expect(downLast.up == "SELECT 1;\n")
        #expect(downLast.down == "")
        #expect(downLast.downStartLine == 4)
        let empty = try parse("-- migrate:up\n-- migrate:down\n")
        #expect(empty.up == "")
        #expect(empty.down == "")
        #expect(empty.upStartLine == 2)
        #expect(empty.downStartLine == 3)
        expectFailure(
            "-- parent: r1",
            "migrations/r2.sql:1: expected a '-- migrate:up' line: put the header ('-- parent: ...') "
                + "first, then a line '-- migrate:up', the up SQL, and optionally '-- migrate:down' with the down SQL")
    }

    // MARK: - Header keys

    @Test("header keys with and without spaces, in any position of the header")
    func headerKeySpacing() throws {
        let file = try parse(
            "\n \t-- transaction:false\t\n--parent:a ,b,\tc\n-- transaction_mode is a comment\n-- migrate:up\n")
        #expect(file.parents == ["a", "b", "c"])
        #expect(!file.transactional)
        #expect(file.upStartLine == 6)
    }

    @Test("exact header error messages")
    func headerMessages() {
        expectFailure(
            "-- parent: a\n-- Transaction : false\n-- migrate:up\n",
            "migrations/r2.sql:2: '-- Transaction : false' looks like the 'transaction:' header key but is not one: "
                + "write it in lowercase with the colon right after the key, '-- transaction: ...'")
        expectFailure(
            "--\tPARENT\t:a\n-- migrate:up\n",
            "migrations/r2.sql:1: '--\tPARENT\t:a' looks like the 'parent:' header key but is not one: write it in "
                + "lowercase with the colon right after the key, '-- parent: ...'")
        expectFailure(
            "-- parent: a,  ,b\n-- migrate:up\n",
            "migrations/r2.sql:1: empty revision id in '-- parent: a,  ,b': expected ids separated by single commas, "
                + "e.g. '-- parent: A, B'")
        expectFailure(
            "-- parent: a, b;c\n-- migrate:up\n",
            "migrations/r2.sql:1: invalid parent id 'b;c': ids match [A-Za-z0-9][A-Za-z0-9_.-]* (the parent's file "
                + "name without '.sql'); separate several parents with commas")
        expectFailure(
            "-- parent:  \t\n-- migrate:up\n",
            "migrations/r2.sql:1: '-- parent:' has no revision id: expected '-- parent: ID' (or 'ID1, ID2' for a "
                + "merge); the root revision has no parent line at all")
        expectFailure(
            "-- parent: a\n-- x_y-z: 1\n-- migrate:up\n",
            "migrations/r2.sql:2: unknown header key 'x_y-z' (known keys: parent, transaction): fix the key, or if "
                + "this is a free-form comment, reword it so that it does not look like '-- key: value' (e.g. "
                + "capitalise the first word)")
        expectFailure(
            "-- transaction: off \n-- migrate:up\n",
            "migrations/r2.sql:1: invalid value 'off' for '-- transaction:': expected 'true' or 'false' ('false' "
                + "runs the revision outside a transaction, e.g. for CREATE INDEX CONCURRENTLY)")
        expectFailure(
            "-- transaction: true\n-- transaction: true\n-- migrate:up\n",
            "migrations/r2.sql:2: a second '-- transaction:' line (the first is on line 1): remove one of them")
        expectFailure(
            "-- parent: a, a\n-- migrate:up\n",
            "migrations/r2.sql:1: parent 'a' is listed twice in '-- parent:': list each parent once")
    }

    @Test("the first problem in line order wins when there is an up marker")
    func errorOrder() {
        // A header error before a malformed marker before the up marker.
        expectFailure(
            "-- note: x\n-- migrate: up\n-- migrate:up\n",
            "migrations/r2.sql:1: unknown header key 'note' (known keys: parent, transaction): fix the key, or if "
                + "this is a free-form comment, reword it so that it does not look like '-- key: value' (e.g. "
                + "capitalise the first word)")
        // A down marker before a header error.
        expectFailure(
            "-- migrate:down\nSELECT 2;\n-- migrate:up\n",
            "migrations/r2.sql:1: '-- migrate:down' comes before '-- migrate:up' (line 3): expected the up section "
                + "first; move the down section after the up section")
        // A malformed marker before a down marker before the up marker.
        expectFailure(
            "-- migrate :up\n-- migrate:down\n-- migrate:up\n",
            "migrations/r2.sql:1: malformed marker '-- migrate :up': expected '-- migrate:up' or '-- migrate:down' "
                + "alone on the line (options such as 'transaction:false' go in the header as '-- transaction: false')")
        // The second up marker comes before the malformed marker after it.
        expectFailure(
            "-- migrate:up\n-- migrate:up\n-- migrate:x\n",
            "migrations/r2.sql:2: a second '-- migrate:up' line (the first is on line 1): a migration has exactly one "
                + "up section; remove this line or move this SQL into another revision")
    }

    @Test("without an up marker: a malformed marker first, then a down marker, then the missing up marker")
    func errorOrderWithoutUp() {
        expectFailure(
            "SELECT 1;\n-- migrate:down\n-- migrate: up\n",
            "migrations/r2.sql:3: malformed marker '-- migrate: up': expected '-- migrate:up' or '-- migrate:down' "
                + "alone on the line (options such as 'transaction:false' go in the header as '-- transaction: false')")
        expectFailure(
            "-- note: x\nSELECT 1;\n-- migrate:down\n-- migrate:down\n",
            "migrations/r2.sql:3: found '-- migrate:down' but no '-- migrate:up' line: expected a '-- migrate:up' line "
                + "before the up SQL, and '-- migrate:down' after it")
        expectFailure(
            "-- note: x\nSELECT 1;\n",
            "migrations/r2.sql:1: expected a '-- migrate:up' line: put the header ('-- parent: ...') first, then a "
                + "line '-- migrate:up', the up SQL, and optionally '-- migrate:down' with the down SQL")
    }

    // MARK: - Unicode

    @Test("non-ASCII header comments are comments; non-ASCII keys and values are errors quoting them")
    func nonASCIIHeader() throws {
        let file = try parse(
            "-- Ajoute la table « clients » : été\n-- clé: valeur\n  -- Ünïcode: x  \n-- parent: r1\n-- migrate:up\n"
                + "-- Crée la table\nSELECT 'é';\n-- migrate:down\n-- Supprime\n")
        #expect(file.parents == ["r1"])
        #expect(file.up == "-- Crée la table\nSELECT 'é';\n")
        #expect(file.down == "-- Supprime\n")
        expectFailure(
            "-- parent: café\n-- migrate:up\n",
            "migrations/r2.sql:1: invalid parent id 'café': ids match [A-Za-z0-9][A-Za-z0-9_.-]* (the parent's file "
                + "name without '.sql'); separate several parents with commas")
        expectFailure(
            "-- parent: a,\u{A0}b\n-- migrate:up\n",
            "migrations/r2.sql:1: invalid parent id '\u{A0}b': ids match [A-Za-z0-9][A-Za-z0-9_.-]* (the parent's "
                + "file name without '.sql'); separate several parents with commas")
        expectFailure(
            "-- transaction: vrai é \n-- migrate:up\n",
            "migrations/r2.sql:1: invalid value 'vrai é' for '-- transaction:': expected 'true' or 'false' ('false' "
                + "runs the revision outside a transaction, e.g. for CREATE INDEX CONCURRENTLY)")
        expectFailure(
            " -- Parent: é \n-- migrate:up\n",
            "migrations/r2.sql:1: '-- Parent: é' looks like the 'parent:' header key but is not one: write it in "
                + "lowercase with the colon right after the key, '-- parent: ...'")
        // `caf` is followed by `é`, not by a colon: a comment.
        #expect(try parse("-- café: x\n-- migrate:up\n").parents == [])
        expectFailure(
            "SELECT 'é';\n-- migrate:up\n",
            "migrations/r2.sql:1: expected header comments or '-- migrate:up' before SQL: the header only holds "
                + "'-- key: value' lines and comments; add a '-- migrate:up' line above the first statement")
    }

    @Test("a combining mark joins the ASCII character before it, as Swift's Characters do")
    func combiningMarks() throws {
        // `:\u{301}` is not a colon: a comment, not a parent key.
        let comment = try parse("-- parent:\u{301} a\n-- migrate:up\n")
        #expect(comment.parents == [])
        // `-\u{301}` is not a dash: the line is SQL.
        expectFailure(
            "--\u{301} parent: a\n-- migrate:up\n",
            "migrations/r2.sql:1: expected header comments or '-- migrate:up' before SQL: the header only holds "
                + "'-- key: value' lines and comments; add a '-- migrate:up' line above the first statement")
        // Not a malformed marker: the colon carries a mark.
        let body = try parse("-- migrate:up\n-- migrate:\u{301}down\n-- migrate:down\n")
        #expect(body.up == "-- migrate:\u{301}down\n")
        #expect(body.down == "")
        // `-\u{301}` after `-` is no second dash: a comment, not a malformed marker.
        #expect(try parse("-- migrate:up\n--\u{301} migrate:down\n").up == "--\u{301} migrate:down\n")
    }

    @Test("a non-ASCII line never is a marker, but can be a malformed one")
    func nonASCIIMarkers() {
        let malformed =
            "expected '-- migrate:up' or '-- migrate:down' alone on the line (options such as "
            + "'transaction:false' go in the header as '-- transaction: false')"
        expectFailure(
            "-- migrate:up\u{A0}\nSELECT 1;\n",
            "migrations/r2.sql:1: malformed marker '-- migrate:up\u{A0}': \(malformed)")
        expectFailure(
            "-- migrate:up\nSELECT 1;\n -- Migrate: à l'envers \n",
            "migrations/r2.sql:3: malformed marker '-- Migrate: à l'envers': \(malformed)")
        expectFailure(
            "-- migrate:up\nSELECT 1;\n -- migrate : défaire\t\n",
            "migrations/r2.sql:3: malformed marker '-- migrate : défaire': \(malformed)")
    }

    // MARK: - Invalid UTF-8

    @Test(
        "invalid UTF-8: the byte offset and line of the first bad byte, before any other error",
        arguments: [
            // (bytes, byte offset (1-based), line)
            (Array("-- migrate:up\nSELECT '".utf8) + [0xC3, 0x28] + Array("';\n".utf8), 23, 2),
            (Array("-- é\n-- migrate:up\nSELECT 'é".utf8) + [0xE2, 0x82], 31, 3),
            ([0xC0, 0x80] + Array("\n-- migrate:up\n".utf8), 1, 1),
            (Array("-- migrate:up\n\n\n".utf8) + [0xED, 0xA0, 0x80], 17, 4),
            (Array("-- migrate:up\n-- migrate:down\nSELECT '😀".utf8) + [0xF0, 0x9F, 0x98], 43, 3),
            (Array("SELECT 1;\n".utf8) + [0x80], 11, 2),
            ([0xF5, 0x80, 0x80, 0x80], 1, 1),
        ] as [([UInt8], Int, Int)])
    func invalidUTF8(bytes: [UInt8], offset: Int, line: Int) {
        let error = parseError(bytes: bytes)
        #expect(
            error?.description
                == "migrations/r2.sql:\(line): the file is not valid UTF-8 (byte \(offset) of the file); save it with "
                + "UTF-8 encoding")
    }

    @Test("invalid UTF-8 after a BOM and CRLF: the offset counts the normalised bytes")
    func invalidUTF8Normalised() {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("-- a\r\n-- b\r\n".utf8) + [0xFF]
        #expect(
            parseError(bytes: bytes)?.description
                == "migrations/r2.sql:3: the file is not valid UTF-8 (byte 11 of the file); save it with UTF-8 encoding"
        )
    }

    @Test(
        "a NUL byte is refused when parsing, with its line and offset, in any section",
        arguments: [
            // (bytes, byte offset (1-based), line)
            (Array("-- migrate:up\nSELECT 1;".utf8) + [0] + Array("\n".utf8), 24, 2),
            ([0] + Array("-- migrate:up\n".utf8), 1, 1),
            (Array("-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT '".utf8) + [0] + Array("';\n".utf8), 49, 4),
            // A UTF-16LE file: its first byte after the BOM-less 'S' is NUL.
            (Array("S".utf8) + [0] + Array("E".utf8) + [0], 2, 1),
        ] as [([UInt8], Int, Int)])
    func nulByte(bytes: [UInt8], offset: Int, line: Int) {
        let expected =
            "migrations/r2.sql:\(line): the file holds a NUL byte (byte \(offset) of the file), which PostgreSQL "
            + "cannot run; remove it (a file saved as UTF-16 is full of them: save it as UTF-8)"
        #expect(parseError(bytes: bytes)?.description == expected)
        #expect(throws: MigrationError.self) { try MigrationFile.parseNode(path: "migrations/r2.sql", bytes: bytes) }
    }

    @Test("invalid UTF-8 before a NUL byte is reported first, and a NUL byte before invalid UTF-8")
    func nulAndInvalidUTF8() {
        #expect(
            parseError(bytes: Array("-- migrate:up\n".utf8) + [0xFF, 0])?.description.contains("not valid UTF-8")
                == true)
        #expect(
            parseError(bytes: Array("-- migrate:up\n".utf8) + [0, 0xFF])?.description.contains("NUL byte (byte 15")
                == true)
    }

    // MARK: - Long files

    @Test("a long file: sections and line numbers far from the start")
    func longFile() throws {
        let statements = String(repeating: "INSERT INTO t VALUES (1); -- a comment\n  -- another one\n", count: 5_000)
        let text = "-- parent: r1\n-- migrate:up\n" + statements + "-- migrate:down\n" + statements
        let file = try parse(text)
        #expect(file.up == statements)
        #expect(file.down == statements)
        #expect(file.upStartLine == 3)
        #expect(file.downStartLine == 10_004)
        expectFailure(
            text + "-- migrate:up\n",
            "migrations/r2.sql:20004: a second '-- migrate:up' line (the first is on line 2): a migration has exactly "
                + "one up section; remove this line or move this SQL into another revision")
        let longLine = String(repeating: "x", count: 100_000)
        let wide = try parse("-- " + longLine + "\n-- migrate:up\nSELECT '\(longLine)';")
        #expect(wide.up == "SELECT '\(longLine)';")
    }

    // MARK: - File names

    @Test("file names: the last path component, on Characters")
    func fileNames() throws {
        let text = "-- migrate:up\n"
        #expect(try parse(text, name: "josé/r2.sql").revision == "r2")
        #expect(try MigrationFile.parse(path: "r2.sql", bytes: Array(text.utf8)).revision == "r2")
        #expect(try MigrationFile.parse(path: "/abs/dir/V1.2-x_y.sql", bytes: Array(text.utf8)).revision == "V1.2-x_y")
        expectFailure(
            text, "é/r2.txt: expected a file name of the form '<revision>.sql'; rename 'r2.txt' to end in '.sql'",
            path: "é/r2.txt")
        expectFailure(
            text, "dir/: expected a file name of the form '<revision>.sql'; rename '' to end in '.sql'", path: "dir/")
        let invalid =
            "(the file name without '.sql'): ids must match [A-Za-z0-9][A-Za-z0-9_.-]*, i.e. start with a "
            + "letter or digit and use only letters, digits, '_', '.' and '-'; rename the file (and the '-- parent:' "
            + "lines that name it)"
        expectFailure(text, "a/b c.sql: invalid revision id 'b c' \(invalid)", path: "a/b c.sql")
        expectFailure(text, "a/.sql: invalid revision id '' \(invalid)", path: "a/.sql")
        expectFailure(text, "a/r2é.sql: invalid revision id 'r2é' \(invalid)", path: "a/r2é.sql")
        // A mark after the slash, or a prepended sign before it, joins the slash to its neighbour.
        expectFailure(
            text, "dir/\u{301}r2.sql: invalid revision id 'dir/\u{301}r2' \(invalid)", path: "dir/\u{301}r2.sql")
        expectFailure(
            text, "d\u{600}/r2.sql: invalid revision id 'd\u{600}/r2' \(invalid)", path: "d\u{600}/r2.sql")
    }
}

@Suite("MigrationFile.parseNode")
struct MigrationFileParseNodeTests {
    @Test("the same revision and parents as parse, and the same errors, word for word")
    func sameAsParse() throws {
        let texts = [
            "-- parent: r1, r0\n-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n",
            "-- migrate:up\n",
            "-- parent: r1\r\n-- migrate:up\r\n",
            "-- parent: a,,b\n-- migrate:up\n",
            "-- parent: café\n-- migrate:up\n",
            "-- migrate:up\n-- migrate:up\n",
            "SELECT 1;\n",
            "-- note: x\n-- migrate:up\n",
        ]
        for (index, text) in texts.enumerated() {
            for path in ["migrations/r\(index).sql", "migrations/bad id.sql", "migrations/r.txt"] {
                let bytes = Array(text.utf8)
                let parsed = Result { () throws(MigrationError) in try MigrationFile.parse(path: path, bytes: bytes) }
                let node = Result { () throws(MigrationError) in try MigrationFile.parseNode(path: path, bytes: bytes) }
                switch (parsed, node) {
                case (.success(let file), .success(let node)):
                    #expect(node == RevisionNode(id: file.revision, parents: file.parents), "\(path): \(text)")
                case (.failure(let fileError), .failure(let nodeError)):
                    #expect(nodeError == fileError, "\(path): \(text)")
                default:
                    Issue.record("parse and parseNode disagree on \(path): \(text)")
                }
            }
        }
        let invalid: [UInt8] = Array("-- migrate:up\n".utf8) + [0xFF]
        #expect(throws: MigrationError.self) { try MigrationFile.parseNode(path: "r.sql", bytes: invalid) }
    }
}
