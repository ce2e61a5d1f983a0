import Foundation
import Postgres
import Testing

@Suite("Connection: connecting, session facts, failures")
struct ConnectionTests {
    @Test("connects with a key=value conninfo and reports the session")
    func keyValueConninfo() throws {
        let connection = try Connection(conninfo: try testServerConninfo())
        #expect(connection.isOpen)
        #expect(connection.backendPID > 0)
        #expect(connection.serverVersionNumber >= 150000)
        #expect(connection.transactionStatus == .idle)
        let facts = try connection.query(
            "SELECT current_user AS u, current_database() AS d, pg_backend_pid()::text AS p")
        #expect(connection.user == facts[0, "u"])
        #expect(connection.database == facts[0, "d"])
        #expect(String(connection.backendPID) == facts[0, "p"])
        #expect(!connection.host.isEmpty)
        #expect(!connection.port.isEmpty)
        #expect(connection.parameterStatus("client_encoding") == "UTF8")
        #expect(connection.parameterStatus("server_version")?.hasPrefix("15") == true)
    }

    @Test("connects with a URI whose query parameters libpq reads unchanged")
    func uriConninfo() throws {
        let uri = try testServerURI(query: "sslmode=disable&application_name=x")
        let connection = try Connection(conninfo: uri)
        #expect(try connection.query("SHOW application_name")[0, "application_name"] == "x")
        #expect(connection.parameters.contains { $0.keyword == "sslmode" && $0.value == "disable" })
        #expect(try connection.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")[0, "ssl"] == "f")
    }

    @Test("applicationName shows in pg_stat_activity and overrides the string's application_name")
    func applicationName() throws {
        let server = try testServerConninfo()
        let name = "orch-test-\(UUID().uuidString.prefix(8))"
        let connection = try Connection(
            conninfo: try testServerConninfo(adding: [("application_name", "from-string")]), applicationName: name)
        let observer = try Connection(conninfo: server)
        let row = try observer.query(
            "SELECT application_name FROM pg_stat_activity WHERE pid = $1::int", [.integer(Int(connection.backendPID))])
        #expect(row[0, "application_name"] == name)
        #expect(connection.parameterStatus("application_name") == name)
    }

    @Test("connect_timeout defaults to defaultConnectTimeout")
    func defaultConnectTimeout() throws {
        let connection = try Connection(conninfo: try testServerConninfo(), defaultConnectTimeout: 7)
        #expect(parameter("connect_timeout", of: connection) == "7")
    }

    @Test("defaultConnectTimeout 0 leaves connect_timeout unset (wait as long as libpq does)")
    func noDefaultConnectTimeout() throws {
        let connection = try Connection(conninfo: try testServerConninfo(), defaultConnectTimeout: 0)
        #expect(parameter("connect_timeout", of: connection) == nil)
    }

    @Test("a connect_timeout in the conninfo wins over the default (key=value and URI)")
    func userConnectTimeoutWins() throws {
        let keyValue = try Connection(
            conninfo: try testServerConninfo(adding: [("connect_timeout", "3")]), defaultConnectTimeout: 7)
        #expect(parameter("connect_timeout", of: keyValue) == "3")
        let uri = try Connection(conninfo: try testServerURI(query: "connect_timeout=3"), defaultConnectTimeout: 7)
        #expect(parameter("connect_timeout", of: uri) == "3")
    }

    @Test("PGCONNECT_TIMEOUT wins over the default")
    func environmentConnectTimeoutWins() async throws {
        // In a child process: setenv would race with the other tests' connections.
        await #expect(processExitsWith: .success) {
            setenv("PGCONNECT_TIMEOUT", "4", 1)
            let connection = try Connection(conninfo: try testServerConninfo(), defaultConnectTimeout: 7)
            guard parameter("connect_timeout", of: connection) == "4" else { exit(1) }
        }
    }

    #if os(Linux)
        @Test("failed connections release their sockets (PQfinish after a failed connect)")
        func failedConnectsDoNotLeak() async throws {
            // In a child process, so that the other tests' sockets do not disturb the count.
            await #expect(processExitsWith: .success) {
                func openDescriptors() throws -> Int {
                    try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
                }
                let missing = try scratchConninfo(try testServerConninfo(), database: "orch_missing_database")
                _ = try? Connection(conninfo: missing)
                let before = try openDescriptors()
                for _ in 0..<30 {
                    _ = try? Connection(conninfo: missing)
                    _ = try? Connection(conninfo: "host=127.0.0.1 port=1")
                }
                guard try openDescriptors() == before else { exit(1) }
            }
        }
    #endif

    @Test("close() ends the session; later calls are usage errors")
    func close() throws {
        let connection = try Connection(conninfo: try testServerConninfo())
        connection.close()
        connection.close()
        #expect(!connection.isOpen)
        #expect(connection.backendPID == 0)
        #expect(connection.transactionStatus == .unknown)
        #expect(connection.makeCanceller() == nil)
        let error = try #require(throws: PostgresError.self) { try connection.execute("SELECT 1") }
        #expect(error.kind == .usage)
    }

    @Test("an unreachable socket directory is a transient .connection error without the password")
    func missingSocketDirectory() throws {
        let secret = "Pw-\(UUID().uuidString)"
        let conninfo =
            "host=/nonexistent/orch-\(UUID().uuidString.prefix(8)) port=5499 user=postgres password=\(secret)"
        let error = try #require(throws: PostgresError.self) { try Connection(conninfo: conninfo) }
        #expect(error.kind == .connection)
        #expect(error.sqlState == nil)
        #expect(error.isTransientConnectFailure)
        #expect(error.message.contains("/nonexistent/orch-"))
        expectNoSecret(secret, in: error)
    }

    @Test("a refused TCP port is a transient .connection error")
    func refusedPort() throws {
        let error = try #require(throws: PostgresError.self) {
            try Connection(conninfo: "host=127.0.0.1 port=1 user=postgres dbname=postgres connect_timeout=3")
        }
        #expect(error.kind == .connection)
        #expect(error.isTransientConnectFailure)
        #expect(error.message.contains("127.0.0.1"))
    }

    @Test("an unknown database carries 3D000, is not transient, and hides the password")
    func unknownDatabase() throws {
        let secret = "Pw-\(UUID().uuidString)"
        let conninfo =
            try scratchConninfo(try testServerConninfo(), database: "orch_missing_\(UUID().uuidString.prefix(8))")
            + " password='\(secret)'"
        let error = try #require(throws: PostgresError.self) { try Connection(conninfo: conninfo) }
        #expect(error.kind == .connection)
        #expect(error.sqlState == .invalidCatalogName)
        #expect(error.severity == "FATAL")
        #expect(!error.isTransientConnectFailure)
        #expect(error.message.contains("does not exist"))
        #expect(!error.message.contains("3D000:"))
        #expect(!error.message.contains("LOCATION"))
        expectNoSecret(secret, in: error)
    }

    @Test("a URI's percent-encoded password never appears in the error, decoded or not")
    func uriPasswordHidden() throws {
        let server = try ConnInfo.parse(try testServerConninfo())
        let host = server.first { $0.keyword == "host" }?.value ?? "/tmp"
        let port = server.first { $0.keyword == "port" }?.value ?? "5432"
        let encodedHost = host.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? host
        let uri = "postgresql://postgres:S3cr%40tPassw0rd@/orch_missing_db?host=\(encodedHost)&port=\(port)"
        let error = try #require(throws: PostgresError.self) { try Connection(conninfo: uri) }
        #expect(error.sqlState == .invalidCatalogName)
        expectNoSecret("S3cr@tPassw0rd", in: error)
        expectNoSecret("S3cr%40tPassw0rd", in: error)
    }

    @Test("an unknown role is an authorization failure (28000), not transient")
    func unknownRole() throws {
        let pairs = try ConnInfo.parse(try testServerConninfo()).filter { $0.keyword != "user" }
        let conninfo = ConnInfo.format(pairs + [(keyword: "user", value: "orch_missing_role")])
        let error = try #require(throws: PostgresError.self) { try Connection(conninfo: conninfo) }
        #expect(error.kind == .connection)
        #expect(error.sqlState == .invalidAuthorizationSpecification)
        #expect(error.sqlState?.sqlClass == "28")
        #expect(!error.isTransientConnectFailure)
    }

    @Test("a role at its connection limit gets 53300, a transient failure")
    func tooManyConnections() throws {
        let server = try testServerConninfo()
        let admin = try Connection(conninfo: server)
        let role = "orch_limited_\(UUID().uuidString.prefix(8).lowercased())"
        try admin.execute("CREATE ROLE \(try admin.quoteIdentifier(role)) LOGIN CONNECTION LIMIT 0")
        defer { _ = try? admin.execute("DROP ROLE IF EXISTS \(try admin.quoteIdentifier(role))") }
        let pairs = try ConnInfo.parse(server).filter { $0.keyword != "user" }
        let error = try #require(throws: PostgresError.self) {
            try Connection(conninfo: ConnInfo.format(pairs + [(keyword: "user", value: role)]))
        }
        #expect(error.sqlState == .tooManyConnections)
        #expect(error.isTransientConnectFailure)
    }

    @Test("a malformed conninfo is .invalidConnectionString and does not echo the password")
    func malformedConninfo() throws {
        let error = try #require(throws: PostgresError.self) {
            try Connection(conninfo: "host=/tmp password=Hunter2Secret bogus")
        }
        #expect(error.kind == .invalidConnectionString)
        expectNoSecret("Hunter2Secret", in: error)
        let nul = try #require(throws: PostgresError.self) { try Connection(conninfo: "host=/tmp\0 dbname=x") }
        #expect(nul.kind == .usage)
        let timeout = try #require(throws: PostgresError.self) {
            try Connection(conninfo: try testServerConninfo(adding: [("connect_timeout", "soon")]))
        }
        #expect(timeout.kind == .invalidConnectionString)
    }

    @Test("connect_timeout bounds a server that accepts but never answers")
    func connectTimeoutExpires() throws {
        // A listening socket that nobody accepts from: the kernel completes the handshake, then silence.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(listener >= 0)
        defer { Foundation.close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(bound == 0)
        try #require(listen(listener, 8) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        let port = UInt16(bigEndian: address.sin_port)

        let started = ContinuousClock.now
        let error = try #require(throws: PostgresError.self) {
            try Connection(
                conninfo: "host=127.0.0.1 port=\(port) user=postgres sslmode=disable", defaultConnectTimeout: 2)
        }
        let elapsed = started.duration(to: .now)
        #expect(error.kind == .connection)
        #expect(error.message.contains("timeout expired"))
        #expect(error.isTransientConnectFailure)
        #expect(elapsed >= .milliseconds(1900) && elapsed < .seconds(5))
    }
}

/// The test server as a key=value conninfo with `pairs` added (later pairs win in libpq).
func testServerConninfo(adding pairs: [(keyword: String, value: String)]) throws -> String {
    ConnInfo.format(try ConnInfo.parse(try testServerConninfo()) + pairs)
}

/// The value libpq reports for `keyword` on a live connection (PQconninfo).
func parameter(_ keyword: String, of connection: Connection) -> String? {
    connection.parameters.first { $0.keyword == keyword }?.value
}

/// The test server as a `postgresql://` URI with `query` appended.
func testServerURI(query: String) throws -> String {
    let pairs = try ConnInfo.parse(try testServerConninfo())
    func value(_ keyword: String) -> String? { pairs.first { $0.keyword == keyword }?.value }
    func encode(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text }
    var userInfo = value("user").map(encode) ?? ""
    if let password = value("password") {
        userInfo += ":" + encode(password)
    }
    var parameters: [String] = []
    if let host = value("host") {
        parameters.append("host=" + encode(host))
    }
    if let port = value("port") {
        parameters.append("port=" + encode(port))
    }
    parameters.append(query)
    let database = encode(value("dbname") ?? "postgres")
    return "postgresql://\(userInfo.isEmpty ? "" : userInfo + "@")/\(database)?" + parameters.joined(separator: "&")
}

/// Checks that `secret` appears nowhere a caller might print.
func expectNoSecret(_ secret: String, in error: PostgresError, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(!error.description.contains(secret), sourceLocation: sourceLocation)
    #expect(!error.message.contains(secret), sourceLocation: sourceLocation)
    #expect(!String(describing: error).contains(secret), sourceLocation: sourceLocation)
    #expect(!"\(error.detail ?? "") \(error.hint ?? "")".contains(secret), sourceLocation: sourceLocation)
}
