import Dispatch
import Postgres
import Testing

@Suite("Connection: cancellation and lost connections")
struct CancellationTests {
    @Test("a Canceller stops SELECT pg_sleep(30) from another thread within a second")
    func cancelFromAnotherThread() throws {
        let connection = try Connection(conninfo: try testServerConninfo())
        let canceller = try #require(connection.makeCanceller())
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(300)) {
            canceller.cancel()
        }
        let started = ContinuousClock.now
        let error = try #require(throws: PostgresError.self) { try connection.execute("SELECT pg_sleep(30)") }
        let elapsed = started.duration(to: .now)
        #expect(error.kind == .query)
        #expect(error.sqlState == .queryCanceled)
        #expect(elapsed < .milliseconds(1300))
        #expect(connection.isOpen)
        #expect(connection.transactionStatus == .idle)
        #expect(try connection.query("SELECT 1 AS one")[0, "one"] == "1")
    }

    @Test("cancelling when nothing runs is harmless")
    func cancelIdle() throws {
        let connection = try Connection(conninfo: try testServerConninfo())
        let canceller = try #require(connection.makeCanceller())
        #expect(canceller.cancel())
        try canceller.requestCancellation()
        #expect(try connection.query("SELECT 2 AS two")[0, "two"] == "2")
    }

    @Test("pg_terminate_backend on our session makes the next statement .connectionLost")
    func terminatedBackend() throws {
        let server = try testServerConninfo()
        let victim = try Connection(conninfo: server)
        let admin = try Connection(conninfo: server)
        let terminated = try admin.query(
            "SELECT pg_terminate_backend($1::int, 5000) AS done", [.integer(Int(victim.backendPID))])
        #expect(terminated[0, "done"] == "t")
        let error = try #require(throws: PostgresError.self) { try victim.execute("SELECT 1") }
        #expect(error.kind == .connectionLost)
        #expect(error.sqlState == .adminShutdown)
        #expect(error.message.contains("terminating connection"))
        #expect(!victim.isOpen)
        #expect(victim.makeCanceller() == nil)
        let again = try #require(throws: PostgresError.self) { try victim.query("SELECT $1::int", ["1"]) }
        #expect(again.kind == .connectionLost)
    }

    @Test("a session that terminates itself gets .connectionLost with 57P01")
    func terminateSelf() throws {
        let connection = try Connection(conninfo: try testServerConninfo())
        let error = try #require(throws: PostgresError.self) {
            try connection.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        }
        #expect(error.kind == .connectionLost)
        #expect(error.sqlState == .adminShutdown)
        #expect(error.description.hasPrefix("lost the connection to PostgreSQL"))
        #expect(!connection.isOpen)
    }

    @Test("a lost connection's error does not quote the statement")
    func lostConnectionHidesSQL() throws {
        let connection = try Connection(conninfo: try testServerConninfo())
        let error = try #require(throws: PostgresError.self) {
            try connection.execute(
                """
                DO $$ BEGIN
                  PERFORM pg_terminate_backend(pg_backend_pid()) /* marker_sql_text */;
                  PERFORM pg_sleep(1) /* marker_sql_text */;
                END $$
                """)
        }
        #expect(error.kind == .connectionLost)
        #expect(error.sqlState == .adminShutdown)
        #expect(!error.description.contains("marker_sql_text"))
        #expect(!error.message.contains("marker_sql_text"))
    }
}
