import Testing

@testable import Migrations

/// `rebase` rewrites the value of the `-- parent:` line and nothing else.
@Suite("parent line rewrite")
struct ParentLineTests {
    @Test("only the parent value changes; BOM, CRLF, spacing, comments and SQL stay byte for byte")
    func keepsEverythingElse() throws {
        let original =
            "\u{FEFF}-- Adds the orders table\r\n--   parent:\t old_parent  \r\n-- transaction: false\r\n-- migrate:up\r\nCREATE INDEX CONCURRENTLY i ON t (a);\r\n-- parent: not_a_header\r\n-- migrate:down\r\nDROP INDEX i;\r\n"
        let rewritten = try #require(MigrationFile.replacingParents(in: Array(original.utf8), with: ["new_parent"]))
        let expected =
            "\u{FEFF}-- Adds the orders table\r\n--   parent:\t new_parent  \r\n-- transaction: false\r\n-- migrate:up\r\nCREATE INDEX CONCURRENTLY i ON t (a);\r\n-- parent: not_a_header\r\n-- migrate:down\r\nDROP INDEX i;\r\n"
        #expect(String(decoding: rewritten, as: UTF8.self) == expected)
        let parsed = try MigrationFile.parse(path: "migrations/x.sql", bytes: rewritten)
        #expect(parsed.parents == ["new_parent"])
        #expect(parsed.transactional == false)
        #expect(parsed.up == "CREATE INDEX CONCURRENTLY i ON t (a);\n-- parent: not_a_header\n")
    }

    @Test("a merge's parents become one, or one becomes several; a file without a newline at the end keeps that")
    func parentCounts() throws {
        let merge = "-- parent: a, b\n-- migrate:up\nSELECT 1;"
        let one = try #require(MigrationFile.replacingParents(in: Array(merge.utf8), with: ["c"]))
        #expect(String(decoding: one, as: UTF8.self) == "-- parent: c\n-- migrate:up\nSELECT 1;")
        let two = try #require(
            MigrationFile.replacingParents(in: Array("-- parent:a\n-- migrate:up\n".utf8), with: ["x", "y"]))
        #expect(String(decoding: two, as: UTF8.self) == "-- parent:x, y\n-- migrate:up\n")
    }

    @Test("a root (no parent line before -- migrate:up) and an empty parent list give nil")
    func nothingToRewrite() {
        #expect(
            MigrationFile.replacingParents(in: Array("-- migrate:up\n-- parent: a\nSELECT 1;\n".utf8), with: ["b"])
                == nil)
        #expect(MigrationFile.replacingParents(in: Array("-- parent: a\n-- migrate:up\n".utf8), with: []) == nil)
        #expect(MigrationFile.replacingParents(in: [], with: ["b"]) == nil)
    }
}
