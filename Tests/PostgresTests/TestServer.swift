import Foundation
import Postgres
import TestSupport

/// The PostgreSQL server the integration tests use: `ORCHESTRATE_TEST_DATABASE_URL` when set (a superuser conninfo
/// on the `postgres` database, as `scripts/test.sh` exports), else the throwaway cluster TestSupport starts.
func testServerConninfo() throws -> String {
    try TestPostgres.serverConninfo()
}

/// Creates a uniquely named scratch database, runs `body` with its conninfo, and drops the database afterwards
/// (best effort: a failed drop is ignored, `WITH (FORCE)` ends leftover sessions).
func withScratchDatabase<T>(_ body: (_ conninfo: String) throws -> T) throws -> T {
    let server = try testServerConninfo()
    let name = "orch_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    let admin = try Connection(conninfo: server, applicationName: "orchestrate-tests")
    try admin.execute("CREATE DATABASE \(try admin.quoteIdentifier(name))")
    defer {
        _ = try? admin.execute("DROP DATABASE IF EXISTS \(try admin.quoteIdentifier(name)) WITH (FORCE)")
        admin.close()
    }
    return try body(scratchConninfo(server, database: name))
}

/// `server`'s conninfo pointed at `database`.
func scratchConninfo(_ server: String, database: String) throws -> String {
    let pairs = try ConnInfo.parse(server).filter { $0.keyword != "dbname" }
    return ConnInfo.format(pairs + [(keyword: "dbname", value: database)])
}
