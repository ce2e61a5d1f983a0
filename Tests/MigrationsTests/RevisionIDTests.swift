import Foundation
import Testing

@testable import Migrations

@Suite("RevisionID")
struct RevisionIDTests {
    @Test("valid ids", arguments: ["a", "0", "20261120120000_create_users", "V12__x", "ae1f3b", "a.b-c_d", "A-"])
    func valid(id: String) {
        #expect(RevisionID.isValid(id))
    }

    @Test("invalid ids", arguments: ["", "_a", "-a", ".a", "a b", "a/b", "é", "a\n", "a;b", "a,b", "a:b"])
    func invalid(id: String) {
        #expect(!RevisionID.isValid(id))
    }

    @Test("make uses the UTC timestamp and a slug")
    func make() {
        let date = Date(timeIntervalSince1970: 1_795_176_000)  // 2026-11-20 12:00:00 UTC
        #expect(RevisionID.make(date: date, message: "Create users") == "20261120120000_create_users")
        #expect(
            RevisionID.make(date: date, message: "  Add index on users(email)!! ")
                == "20261120120000_add_index_on_users_email")
        #expect(RevisionID.make(date: date, message: "Café crème") == "20261120120000_cafe_creme")
        #expect(RevisionID.make(date: date, message: "--- !!! ---") == "20261120120000")
        #expect(RevisionID.isValid(RevisionID.make(date: date, message: "Ünïcödé & “quotes”")))
    }

    @Test("timestamps across leap days, epoch and fractions of a second")
    func timestamps() {
        #expect(RevisionID.make(date: Date(timeIntervalSince1970: 1_709_251_199.9), message: "x") == "20240229235959_x")
        #expect(RevisionID.make(date: Date(timeIntervalSince1970: 946_684_800), message: "x") == "20000101000000_x")
        #expect(RevisionID.make(date: Date(timeIntervalSince1970: -1), message: "x") == "19691231235959_x")
    }

    @Test("the slug is cut to 50 characters without a trailing underscore")
    func longSlug() {
        let date = Date(timeIntervalSince1970: 0)
        let id = RevisionID.make(date: date, message: String(repeating: "word ", count: 40))
        let slug = id.dropFirst("19700101000000_".count)
        #expect(id.hasPrefix("19700101000000_"))
        #expect(slug.count <= 50)
        #expect(!slug.hasSuffix("_"))
        #expect(RevisionID.slug(String(repeating: "a", count: 49) + " bc") == String(repeating: "a", count: 49))
    }
}
