import Postgres

extension EnvironmentSession {
    /// Runs `statements` on the lock connection in one transaction: a ledger change and its event commit together,
    /// or neither does. `failure` names what could not be done ("cannot freeze").
    func ledgerTransaction(_ statements: (sql: String, parameters: [String?])...,
                           failure: String) throws(OrchestrateError) {
        let connection = lockConnection
        do throws(PostgresError) {
            try connection.execute("BEGIN")
            for statement in statements { try connection.query(statement.sql, statement.parameters) }
            try connection.execute("COMMIT")
        } catch {
            if connection.isOpen, connection.transactionStatus != .idle { _ = try? connection.execute("ROLLBACK") }
            throw .operation("environment `\(environment.name)`: \(failure): \(error.description); nothing was changed")
        }
    }
}
