import Postgres
import Testing

@Suite("Connection: quoting identifiers and literals")
struct QuotingTests {
    static let nastyNames = [
        "plain", "Mixed Case", #"we"ird"#, #""""#, "semi;colon -- DROP TABLE x", "select", "Ünïcödé 🐘", " ", "a.b",
        #"back\slash"#,
    ]

    @Test("quoteIdentifier round-trips names through the server", arguments: nastyNames)
    func identifiers(name: String) throws {
        let connection = try Connection(conninfo: try testServerConninfo())
        let quoted = try connection.quoteIdentifier(name)
        #expect(quoted.hasPrefix("\"") && quoted.hasSuffix("\""))
        #expect(try connection.execute("SELECT 1 AS \(quoted)").columns == [name])
        try connection.execute("CREATE TEMP TABLE \(quoted) (\(quoted) int)")
        let found = try connection.query(
            "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum = 1",
            ["pg_temp.\(quoted)"])
        #expect(found[0, "attname"] == name)
    }

    @Test(
        "quoteLiteral round-trips values through the server",
        arguments: [
            "", "it's", #"back\slash"#, #"both ' and \ and \'"#, "$$dollar$$", "naïve 🐘", "line\nbreak\ttab", "E'x'",
        ])
    func literals(value: String) throws {
        let connection = try Connection(conninfo: try testServerConninfo())
        let quoted = try connection.quoteLiteral(value)
        #expect(try connection.execute("SELECT \(quoted) AS v")[0, "v"] == value)
    }

    @Test("quoting a NUL character or on a closed connection is a usage error")
    func quotingErrors() throws {
        let connection = try Connection(conninfo: try testServerConninfo())
        #expect(try connection.quoteIdentifier("my schema") == #""my schema""#)
        #expect(try connection.quoteLiteral("it's") == "'it''s'")
        let nul = try #require(throws: PostgresError.self) { try connection.quoteLiteral("a\0b") }
        #expect(nul.kind == .usage)
        connection.close()
        let closed = try #require(throws: PostgresError.self) { try connection.quoteIdentifier("x") }
        #expect(closed.kind == .usage)
    }
}
