import Foundation
import Postgres

/// Reaching an environment's database: `sandbox:NAME` resolution, connection retries, and errors without secrets.
enum EnvironmentDatabase {
    /// The conninfo for `environment`; for `sandbox:NAME` the sandbox is started and the database created if needed.
    static func conninfo(
        for environment: EnvironmentConfig, projectRoot: String,
        progress: ProgressHandler
    ) throws(OrchestrateError) -> String {
        if environment.isFleet {
            // A fleet is many databases: only the fleet code, which runs each target with `forTarget`, connects.
            throw .usage(
                "environment `\(environment.name)` is a fleet of targets (\(environment.path)); this command runs on one database at a time",
                hint: "the fleet commands (upgrade, promote, downgrade, plan, lock, unlock, repair) run on every target"
            )
        }
        let url = environment.databaseURL
        guard url.hasPrefix("sandbox:") else { return url }
        let name = String(url.dropFirst("sandbox:".count))
        guard !name.isEmpty, name.utf8.count <= 63 else {
            throw .usage(
                "\(environment.path): `database_url`: expected sandbox:NAME with a database name of 1 to 63 bytes")
        }
        let sandbox = Sandbox(projectRoot: projectRoot)
        switch try sandbox.start() {
        case .alreadyRunning: break
        case .started: progress(.notice("started the sandbox PostgreSQL (\(sandbox.directory))"))
        case .initializedAndStarted:
            progress(.notice("created and started the sandbox PostgreSQL (\(sandbox.directory))"))
        }
        try sandbox.ensureDatabase(name)
        return sandbox.conninfo(database: name)
    }

    /// A display form of the environment's database, without secrets.
    static func display(_ environment: EnvironmentConfig) -> String {
        environment.databaseURL.hasPrefix("sandbox:")
            ? environment.databaseURL : ConnInfo.redacted(environment.databaseURL)
    }

    /// Connects, retrying transient failures (a server starting, a serverless database waking up) with backoff.
    static func connect(
        _ environment: EnvironmentConfig, conninfo: String, applicationName: String,
        retries: Int? = nil, interruptions: Interruptions, progress: @escaping ProgressHandler
    ) throws(OrchestrateError) -> Connection {
        let attempts = (retries ?? environment.connectRetries) + 1
        var delay = 0.5
        for attempt in 1...attempts {
            try interruptions.check("while connecting to `\(environment.name)`; nothing was run")
            let connection: Connection
            do throws(PostgresError) {
                let name = environment.name
                // Server notices (RAISE NOTICE in a migration, "… does not exist, skipping") are shown as progress,
                // the way psql shows them, instead of being lost or written to stderr by libpq.
                let label = environment.targetName.map { "\(name)/\($0)" } ?? name
                connection = try Connection(
                    conninfo: conninfo, applicationName: applicationName,
                    noticeHandler: { notice in
                        progress(.notice("\(label): \(notice.severity): \(notice.message)"))
                    })
            } catch let error {
                if error.isTransientConnectFailure, attempt < attempts {
                    progress(
                        .warning(
                            "environment `\(environment.name)`: cannot connect yet (\(error.message)); attempt \(attempt + 1) of \(attempts) in \(delay)s"
                        ))
                    let deadline = Date().addingTimeInterval(delay)
                    while Date() < deadline, interruptions.signal == nil {
                        Thread.sleep(forTimeInterval: min(0.05, max(0, deadline.timeIntervalSinceNow)))
                    }
                    delay = min(delay * 2, 8)
                    continue
                }
                throw connectionFailure(environment, error)
            }
            try applySessionSettings(environment, on: connection)
            return connection
        }
        throw .operation("environment `\(environment.name)`: cannot connect")
    }

    /// Applies `session_settings` (and a schema target's `search_path`) in one round trip, each value a parameter of
    /// `set_config`, so that no value can inject SQL. A setting the server refuses is an error naming it.
    static func applySessionSettings(
        _ environment: EnvironmentConfig, on connection: Connection
    ) throws(OrchestrateError) {
        let settings = environment.sessionSettings
        guard !settings.isEmpty else { return }
        let calls = settings.indices.map { "set_config($\($0 * 2 + 1), $\($0 * 2 + 2), false)" }
        do throws(PostgresError) {
            _ = try connection.query(
                "SELECT " + calls.joined(separator: ", "),
                settings.flatMap { [SQLParameter.text($0.name), .text($0.value)] })
        } catch {
            connection.close()
            let names = settings.map(\.name).filter { $0 != "search_path" }
            throw .usage(
                "\(environment.displayName): `session_settings` in \(environment.path) cannot be applied: \(error.summary)",
                hint: names.isEmpty
                    ? "check that the target's schema exists"
                    : "check the names and values of \(names.map { "`\($0)`" }.joined(separator: ", ")) (SHOW ALL lists the server's settings)"
            )
        }
    }

    /// The error for a failed connection: the database (without password), libpq's reason, and a hint that fits it.
    static func connectionFailure(_ environment: EnvironmentConfig, _ error: PostgresError) -> OrchestrateError {
        let origin = environment.databaseURLOrigin
        if error.kind == .invalidConnectionString {
            return .usage(
                "\(environment.path): `database_url` is not a valid connection string: \(error.message)",
                hint: "fix \(origin): use a URI (postgresql://user@host:5432/db?sslmode=require) or key=value pairs")
        }
        let message = error.message.lowercased()
        let hint: String
        if message.contains("ssl") || message.contains("encryption") || message.contains("channel binding")
            || message.contains("certificate")
        {
            // A hosted database that requires TLS, a server without it, or a missing root certificate: not a password.
            hint =
                "the server and the connection string disagree on encryption: check sslmode (require, verify-full…) "
                + "and channel_binding in \(origin)"
        } else if error.sqlState?.rawValue == "28P01" || message.contains("password") {
            hint = "check the user and password in \(origin) (or ~/.pgpass, PGPASSWORD)"
        } else if error.sqlState?.rawValue.hasPrefix("28") == true {
            hint =
                "check the user and password in \(origin); if they are right, the server's pg_hba.conf does not "
                + "accept this user, database or client address"
        } else if error.sqlState == .invalidCatalogName {
            hint = "create the database, or fix its name in \(origin)"
        } else {
            hint = "check \(origin), and that the server is up"
        }
        return .operation(
            "\(environment.displayName): cannot connect to \(display(environment)): \(error.message)", hint: hint
        )
    }
}
