import Postgres
import Testing

@Suite("Connection: which statement of a text failed, and whether the server is still there")
struct StatementCountTests {
    @Test("an error of a multi-statement execute counts the statements that ran before it; empty ones do not count")
    func statementsCompleted() throws {
        let connection = try Connection(conninfo: try testServerConninfo())
        let error = try #require(throws: PostgresError.self) {
            try connection.execute("SELECT 1;; -- nothing\n;\n/* nothing */; SELECT 2; SELECT 1/0; SELECT 3")
        }
        #expect(error.sqlState?.rawValue == "22012")
        #expect(error.position == nil)
        #expect(error.statementsCompleted == 2)

        let first = try #require(throws: PostgresError.self) {
            try connection.execute("ALTER TABLE missing_table ADD COLUMN x int")
        }
        #expect(first.statementsCompleted == 0)
        #expect(first.position == nil)

        // A transaction opened in the same text counts as a statement; the server rolled nothing forward.
        let inBlock = try #require(throws: PostgresError.self) {
            try connection.execute("BEGIN; CREATE TEMP TABLE x (id int); DO $$ BEGIN PERFORM 1/0; END $$")
        }
        #expect(inBlock.statementsCompleted == 2)
        #expect(connection.transactionStatus == .inError)
        try connection.execute("ROLLBACK")

        // A syntax error stops the whole text before anything runs: nothing completed, and the position says where.
        let syntax = try #require(throws: PostgresError.self) { try connection.execute("SELECT 1; SELEC 2") }
        #expect(syntax.statementsCompleted == 0)
        #expect(syntax.position == 11)

        // The last result is returned, as with PQexec; parameters never count.
        #expect(try connection.execute("SELECT 1 AS a; SELECT 2 AS b")[0, "b"] == "2")
        let parameters = try #require(throws: PostgresError.self) { try connection.query("SELECT 1/$1::int", ["0"]) }
        #expect(parameters.statementsCompleted == nil)
    }

    @Test("checkAlive sees a session the server ended, without a round trip, and is true for a healthy one")
    func checkAlive() throws {
        let server = try testServerConninfo()
        let victim = try Connection(conninfo: server)
        let admin = try Connection(conninfo: server)
        #expect(victim.checkAlive())
        #expect(try victim.query("SELECT 1 AS one")[0, "one"] == "1")
        #expect(victim.checkAlive())
        let terminated = try admin.query(
            "SELECT pg_terminate_backend($1::int, 5000) AS done", [.integer(Int(victim.backendPID))])
        #expect(terminated[0, "done"] == "t")
        #expect(!victim.checkAlive())
        #expect(!victim.isOpen)
        victim.close()
        #expect(!victim.checkAlive())
    }
}
