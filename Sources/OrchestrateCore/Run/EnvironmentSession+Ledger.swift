import Postgres

extension EnvironmentSession {
    /// Runs `commands` on the lock connection in one transaction: a ledger change and its event commit together,
    /// or neither does. `failure` names what could not be done ("cannot freeze").
    func ledgerTransaction(_ commands: SQLCommand..., failure: String) throws(OrchestrateError) {
        let connection = lockConnection
        do throws(TransactionError<PostgresError>) {
            try connection.withTransaction { () throws(PostgresError) in
                for command in commands { try command.run(on: connection) }
            }
        } catch {
            var failed = OrchestrateError.operation(
                "environment `\(environment.name)`: \(failure): \(error.summary); nothing was changed")
            failed.detail = error.postgresError?.detail
            throw failed
        }
    }
}
