/// The session settings of a writing run, as SET statements: one definition for the run and for `plan --sql`.
enum SessionSettings {
    /// The work connection: `ddl_lock_timeout` as PostgreSQL's lock_timeout, `statement_timeout`, and (PostgreSQL 14
    /// and later) a check every second that the client is still there, so that a statement of a killed run is
    /// aborted, and its locks released, instead of running to its end.
    static func work(_ environment: EnvironmentConfig, serverVersion: Int) -> [String] {
        var settings = [
            "SET lock_timeout = '\(environment.ddlLockTimeout.postgresValue)'",
            "SET statement_timeout = '\(environment.statementTimeout.postgresValue)'",
        ]
        if serverVersion >= 140000 {
            settings.append("SET client_connection_check_interval = '1s'")
        }
        return settings
    }

    /// The lock connection: TCP keepalives, so that the server notices a client host that vanished (and frees the
    /// lock) within a minute rather than after the operating system's two hours. Ignored on Unix sockets.
    static let lockConnection = [
        "SET tcp_keepalives_idle = 30", "SET tcp_keepalives_interval = 10", "SET tcp_keepalives_count = 3",
    ]
}
