import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Unreachable databases: refused, timing out, wrong password. Each is exit 3 with the reason, and no password in
/// any output.
@Suite("connectivity")
struct ConnectivityTests {
    static func project(url: String, extra: String = "") throws -> TestProject {
        let project = try TestProject()
        try project.write("environments/dev.toml", "database_url = \"\(url)\"\nconnect_retries = 0\n" + extra)
        try project.migration("001_root", parent: nil, up: "SELECT 1;")
        return project
    }

    @Test("connection refused: exit 3, names the database without the password")
    func refused() throws {
        let project = try Self.project(url: "postgresql://deploy:Sup3r-Secret-PW@127.0.0.1:1/app?sslmode=disable")
        defer { project.cleanUp() }
        let result = try project.run(["upgrade", "dev"])
        #expect(result.exitCode == 3, "\(result.output)")
        #expect(result.stderr.contains("cannot connect"))
        #expect(result.stderr.contains("127.0.0.1"))
        #expect(result.stderr.contains("dbname=app"))
        #expect(!result.output.contains("Sup3r-Secret-PW"))
        let status = try project.run(["status"])
        #expect(status.exitCode == 3)
        #expect(status.stdout.contains("unreachable"))
        #expect(!status.output.contains("Sup3r-Secret-PW"))
        let doctor = try project.run(["doctor"])
        #expect(doctor.exitCode == 1)
        #expect(doctor.stdout.contains("FAIL  database dev"))
        #expect(!doctor.output.contains("Sup3r-Secret-PW"))
    }

    @Test("a server that never answers: connect_timeout, exit 3")
    func timeout() throws {
        // A loopback listener that accepts connections into its backlog and never speaks.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(listener >= 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) }
        }
        #expect(bound == 0)
        #expect(listen(listener, 16) == 0)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        let port = UInt16(bigEndian: address.sin_port)
        let project = try Self.project(
            url: "host=127.0.0.1 port=\(port) dbname=app user=x password=Hidden-PW-42 connect_timeout=2")
        defer { project.cleanUp() }
        let started = Date()
        let result = try project.run(["upgrade", "dev"])
        #expect(result.exitCode == 3, "\(result.output)")
        #expect(Date().timeIntervalSince(started) < 15)
        #expect(result.stderr.contains("cannot connect"))
        #expect(result.stderr.lowercased().contains("timeout") || result.stderr.contains("timed out"))
        #expect(!result.output.contains("Hidden-PW-42"))
    }

    @Test(
        "a wrong password: exit 3, a hint about credentials, the password never shown",
        .enabled(
            if: ProcessInfo.processInfo.environment["ORCHESTRATE_TEST_TCP_URL"] != nil,
            "needs the password-authenticated loopback listener that scripts/test.sh starts"))
    func badPassword() throws {
        let role = "orch_pw_\(UUID().uuidString.prefix(6).lowercased())"
        let admin = try TestPostgres.serverConninfo()
        _ = admin
        let scratch = try TestPostgres.createDatabase(prefix: "t_pw")
        defer { TestPostgres.dropDatabase(scratch.name) }
        try TestPostgres.query(scratch.name, "CREATE ROLE \(role) LOGIN PASSWORD 'right-secret-1'")
        defer { _ = try? TestPostgres.query(scratch.name, "DROP ROLE \(role)") }
        let tcp = ProcessInfo.processInfo.environment["ORCHESTRATE_TEST_TCP_URL"] ?? ""
        let project = try Self.project(url: "\(tcp) user=\(role) password=Wrong-Secret-77")
        defer { project.cleanUp() }
        let result = try project.run(["upgrade", "dev"])
        #expect(result.exitCode == 3, "\(result.output)")
        #expect(result.stderr.contains("password authentication failed"))
        #expect(result.stderr.contains("hint: check the user and password"))
        #expect(!result.output.contains("Wrong-Secret-77"))

        // The right password works, through the same conninfo handed to libpq as written.
        try project.write(
            "environments/dev.toml",
            "database_url = \"\(tcp) user=\(role) password=right-secret-1 dbname=\(scratch.name)\"\n")
        try TestPostgres.query(scratch.name, "GRANT CREATE ON DATABASE \(scratch.name) TO \(role)")
        let ok = try project.run(["upgrade", "dev"])
        #expect(ok.exitCode == 0, "\(ok.output)")
        #expect(!ok.output.contains("right-secret-1"))
    }

    @Test(
        "a wrong sslmode is answered about encryption, not passwords; the hint names the variable the URL came from",
        .enabled(
            if: ProcessInfo.processInfo.environment["ORCHESTRATE_TEST_TCP_URL"] != nil,
            "needs the loopback listener that scripts/test.sh starts"))
    func wrongSSLMode() throws {
        let tcp = ProcessInfo.processInfo.environment["ORCHESTRATE_TEST_TCP_URL"] ?? ""
        let project = try TestProject()
        defer { project.cleanUp() }
        try project.write("environments/dev.toml", "database_url = \"${DEV_DATABASE_URL}\"\nconnect_retries = 0\n")
        try project.write(".env", "DEV_DATABASE_URL=\"\(tcp) user=postgres password=Some-Secret-9 sslmode=require\"\n")
        try project.migration("001", parent: nil, up: "SELECT 1;")
        let result = try project.run(["upgrade", "dev"])
        #expect(result.exitCode == 3, "\(result.output)")
        #expect(result.stderr.contains("SSL"), "\(result.stderr)")
        #expect(result.stderr.contains("check sslmode"), "\(result.stderr)")
        #expect(!result.stderr.contains("check the user and password"))
        #expect(result.stderr.contains("DEV_DATABASE_URL (used by database_url in environments/dev.toml)"))
        #expect(!result.output.contains("Some-Secret-9"))
    }
}
