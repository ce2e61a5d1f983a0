import Foundation
import OrchestrateCore
import Postgres

/// The PostgreSQL server tests talk to: `ORCHESTRATE_TEST_DATABASE_URL` (a superuser conninfo on the `postgres`
/// database, as `scripts/test.sh` and `.ci/run` export), else a throwaway cluster that the first test starts in
/// `/tmp/orchestrate-tests-<uid>` with the product's own sandbox code.
public enum TestPostgres {
    private static let cached = Mutex<String?>(nil)

    /// The server's admin conninfo.
    public static func serverConninfo() throws -> String {
        try cached.withLock { value in
            if let value { return value }
            if let url = ProcessInfo.processInfo.environment["ORCHESTRATE_TEST_DATABASE_URL"], !url.isEmpty {
                value = url
                return url
            }
            let sandbox = Sandbox(directory: "/tmp/orchestrate-tests-\(getuid())")
            try sandbox.start()
            let conninfo = sandbox.conninfo(database: "postgres")
            value = conninfo
            return conninfo
        }
    }

    /// The conninfo of database `name` on the test server.
    public static func conninfo(database name: String) throws -> String {
        var pairs = try ConnInfo.parse(try serverConninfo()).filter { $0.keyword != "dbname" }
        pairs.append((keyword: "dbname", value: name))
        return ConnInfo.format(pairs)
    }

    /// Creates an empty database with a unique name and returns its name and conninfo.
    public static func createDatabase(prefix: String = "t") throws -> (name: String, conninfo: String) {
        let name = "\(prefix)_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
        let admin = try Connection(conninfo: try serverConninfo(), applicationName: "orchestrate tests")
        defer { admin.close() }
        try admin.execute("CREATE DATABASE \(try admin.quoteIdentifier(name))")
        return (name, try conninfo(database: name))
    }

    /// Drops a database made by `createDatabase`, disconnecting whoever is still connected.
    public static func dropDatabase(_ name: String) {
        guard let admin = try? Connection(conninfo: try serverConninfo(), applicationName: "orchestrate tests") else {
            return
        }
        defer { admin.close() }
        _ = try? admin.execute("DROP DATABASE IF EXISTS \(try admin.quoteIdentifier(name)) WITH (FORCE)")
    }

    /// Runs `sql` on database `name` and returns the rows.
    @discardableResult
    public static func query(_ name: String, _ sql: String, _ parameters: [SQLParameter] = []) throws -> [[String?]] {
        let connection = try Connection(conninfo: try conninfo(database: name), applicationName: "orchestrate tests")
        defer { connection.close() }
        return try connection.query(sql, parameters).rows.map { Array($0) }
    }

    /// Runs one or more `;`-separated statements on database `name` (a script, a transaction block).
    public static func execute(_ name: String, _ sql: String) throws {
        let connection = try Connection(conninfo: try conninfo(database: name), applicationName: "orchestrate tests")
        defer { connection.close() }
        _ = try connection.execute(sql)
    }
}

/// A minimal mutex over a value (Synchronization's Mutex needs newer platforms on macOS).
public final class Mutex<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    public init(_ value: Value) { self.value = value }

    public func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
