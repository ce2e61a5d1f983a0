import Postgres

extension Orchestrator {
    /// Opens `name`'s session for an audited ledger edit (`repair`, `baseline`), which writes ledger rows with a
    /// reason rather than running revisions: refuses an empty `reason` (`why` says what it must explain), reads git
    /// provenance as a writing run does, then takes the environment lock. Returns the reason trimmed.
    func openAuditedEdit(
        _ name: String, command: String, reason: String,
        why: String
    ) throws(OrchestrateError) -> (reason: String, session: EnvironmentSession) {
        let environment = try project.environment(name)
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else {
            throw .usage("\(command) needs a --reason that says \(why) (it goes into the event log)")
        }
        let provenance = try GitProvenance.current(
            projectRoot: project.root, environment: environment,
            isFirstStage: project.pipeline?.isFirstStage(name) ?? true, progress: progress)
        let session = try EnvironmentSession.open(
            environment, projectRoot: project.root, command: "\(command) \(name)",
            actor: actor, provenance: provenance, interruptions: interruptions,
            slot: connectionSlot, progress: progress)
        return (reason, session)
    }

    /// Runs an audited edit's `statements` (its rows and its event) in one transaction on the work connection; on
    /// failure records a `failed` event for `action` and throws, saying `what` could not be done and that nothing was
    /// changed.
    func commitAuditedEdit(
        _ statements: [SQLCommand], session: EnvironmentSession, action: RunAction, revision: String?,
        what: String
    ) throws(OrchestrateError) {
        let work = try session.work()
        do throws(TransactionError<PostgresError>) {
            try work.withTransaction { () throws(PostgresError) in
                for statement in statements { try statement.run(on: work) }
            }
        } catch {
            session.recordQuietly(action: action, revision: revision, outcome: .failed, message: error.summary)
            var failure = OrchestrateError.operation(
                "environment `\(session.environment.name)`: cannot \(what): \(error.summary); nothing was changed")
            failure.detail = error.postgresError?.detail
            throw failure
        }
    }

    /// Opens a session on `scratch` as environment `name` (`verify`, `baseline`), after refusing a database given by
    /// URL (`option`) that is not empty.
    func openScratchSession(
        _ scratch: ScratchDatabase, name: String, option: String
    ) throws(OrchestrateError) -> EnvironmentSession {
        let environment = scratch.environment(name: name)
        if !scratch.created, scratch.sandbox == nil {
            try requireEmpty(scratch, environment, command: name, option: option)
        }
        return try EnvironmentSession.open(
            environment, projectRoot: project.root, command: name,
            actor: actor, provenance: nil, interruptions: interruptions,
            slot: connectionSlot, progress: progress)
    }
}
